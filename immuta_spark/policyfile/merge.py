"""Several policy files (or directories of them) read as one document.

Teams keep their sources and policies in files of their own; ``apply`` takes them together.
Each file is a complete, strict document (``version: 1``); their lists are concatenated, in the
order the files are given (a directory's ``*.yaml``/``*.yml`` files sorted by path, its
subdirectories included). A name defined in two files, or ``settings`` in two files, is an
error naming both. Every error names the file and the path *in that file*, as if the file had
been read alone: the merged document's ``sources[12]`` is reported as ``teams/b.yaml:
sources[2]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from immuta_spark.checkers import RegexChecker, SqlChecker
from immuta_spark.errors import PolicyFileError
from immuta_spark.model import Governance
from immuta_spark.policyfile.common import At, expect_list, expect_mapping
from immuta_spark.policyfile.document import TOP_KEYS, load_file, parse_document
from immuta_spark.policyfile.strict import load_yaml, no_gc, read_file

__all__ = ["expand_paths", "load_files"]

#: The list sections, and what one of their entries is called in messages.
_LISTS = {
    "users": "user",
    "purposes": "purpose",
    "sources": "data source",
    "policies": "global policy",
    "projects": "project",
    "identity_providers": "identity provider",
}
#: A top-level entry named in a path or a message (not ``sources[3].policies[0]``'s local list).
_INDEXED = re.compile(r"(?<![.\]\w])(users|purposes|sources|policies|projects|identity_providers)\[(\d+)\]")


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """The policy files named by ``paths``: files as given, directories as their YAML files, sorted."""
    if not paths:
        raise PolicyFileError("<document>", "no policy file given; name one or more files or directories")
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            if not inside:
                raise PolicyFileError(
                    "<document>", "the directory holds no .yaml or .yml file; name a file instead", file=str(path)
                )
            found.extend(inside)
        else:
            found.append(path)
    seen: dict[Path, str] = {}
    for path in found:
        key = path.resolve()
        if key in seen:
            raise PolicyFileError("<document>", f"the file is named twice (also as {seen[key]})", file=str(path))
        seen[key] = str(path)
    return found


def load_files(
    paths: Sequence[str | Path],
    *,
    sql_checker: SqlChecker | None = None,
    regex_checker: RegexChecker | None = None,
) -> Governance:
    """Read, merge and validate the policy files named by ``paths`` (files or directories)."""
    files = expand_paths(paths)
    if len(files) == 1:
        return load_file(files[0], sql_checker=sql_checker, regex_checker=regex_checker)
    with no_gc():  # every file's values stay alive until the model is built: see no_gc
        try:
            return _load_merged(files, sql_checker, regex_checker)
        except PolicyFileError as exc:
            error = exc.with_traceback(None)  # its frames hold every value read: see load_text
    raise error


def _load_merged(files: list[Path], sql_checker: SqlChecker | None, regex_checker: RegexChecker | None) -> Governance:
    merged: dict[str, Any] = {"version": 1}
    origin: dict[str, list[tuple[str, int]]] = {key: [] for key in _LISTS}
    names: dict[tuple[str, str], tuple[str, int]] = {}
    settings_file: str | None = None
    for path in files:
        file = str(path)
        root = At("", file)
        data = load_yaml(read_file(path, file=file), file=file)
        doc = expect_mapping(data, root, allowed=TOP_KEYS, required=("version",))
        if doc["version"] != 1 or isinstance(doc["version"], bool):
            root.key("version").fail(f"unsupported version {doc['version']!r}; this release reads version 1")
        if doc.get("settings") is not None:
            if settings_file is not None:
                root.key("settings").fail(f"settings are also given in {settings_file}; give them in one file only")
            settings_file = file
            merged["settings"] = doc["settings"]
        for key, what in _LISTS.items():
            if doc.get(key) is None:
                continue
            items = expect_list(doc[key], root.key(key))
            for i, item in enumerate(items):
                name = item.get("name") if isinstance(item, dict) else None
                if isinstance(name, str):
                    other = names.get((key, name))
                    if other is not None and other[0] != file:
                        root.key(key).index(i).key("name").fail(
                            f"{what} {name!r} is also defined in {other[0]} at {key}[{other[1]}]; "
                            "define each name in one file only"
                        )
                    names.setdefault((key, name), (file, i))
                origin[key].append((file, i))
            merged.setdefault(key, []).extend(items)
    try:
        return parse_document(merged, sql_checker=sql_checker, regex_checker=regex_checker)
    except PolicyFileError as exc:
        raise _in_its_file(exc, origin, settings_file or str(files[0])) from None


def _in_its_file(exc: PolicyFileError, origin: dict[str, list[tuple[str, int]]], default: str) -> PolicyFileError:
    """The error of the merged document, told of the file it comes from and the path there."""
    first = _INDEXED.match(exc.path)
    path, file = exc.path, default
    if first is not None:
        file, index = origin[first.group(1)][int(first.group(2))]
        path = f"{first.group(1)}[{index}]{exc.path[first.end() :]}"

    def local(match: re.Match[str]) -> str:
        where, i = origin[match.group(1)][int(match.group(2))]
        text = f"{match.group(1)}[{i}]"
        return text if where == file else f"{text} of {where}"

    return PolicyFileError(path, _INDEXED.sub(local, exc.reason), file=file)
