"""Dependencies point inward: the core's source never names the Spark layer."""

from __future__ import annotations

import ast
from pathlib import Path

import immuta_spark

PACKAGE = Path(immuta_spark.__file__).resolve().parent
#: Outside the core: the Spark layer itself and the demo (which runs Spark on purpose).
NOT_CORE = (PACKAGE / "spark", PACKAGE / "demo.py")
SPARK_LAYER = "immuta_spark.spark"


def core_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if not any(p == n or n in p.parents for n in NOT_CORE))


def references(tree: ast.AST) -> list[str]:
    """Imports of the Spark layer, and code strings naming it (``import_module``, entry points)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == SPARK_LAYER or a.name.startswith(SPARK_LAYER + ".")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and (module == SPARK_LAYER or module.startswith(SPARK_LAYER + ".")):
                found.append(module)
            if node.level == 0 and module == "immuta_spark":
                found += [f"immuta_spark.{a.name}" for a in node.names if a.name == "spark"]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if SPARK_LAYER in node.value:
                found.append(repr(node.value))
        elif isinstance(node, ast.Attribute) and node.attr == "spark":
            if isinstance(node.value, ast.Name) and node.value.id == "immuta_spark":
                found.append("immuta_spark.spark")
    return found


def test_the_core_never_references_the_spark_layer() -> None:
    modules = core_modules()
    assert PACKAGE / "catalog" / "service.py" in modules and PACKAGE / "checkers.py" in modules
    offenders = {
        str(p.relative_to(PACKAGE)): refs for p in modules if (refs := references(ast.parse(p.read_text("utf-8"))))
    }
    assert offenders == {}


def test_the_check_sees_a_reference_hidden_in_an_import_module_call() -> None:
    tree = ast.parse('import importlib\nimportlib.import_module("immuta_spark.spark.sqlcheck")\n')
    assert references(tree) == ["'immuta_spark.spark.sqlcheck'"]
    assert references(ast.parse("from immuta_spark import spark\n")) == ["immuta_spark.spark"]
