"""``immuta-spark fingerprint ...``: commands an engine layer provides to the core's CLI.

Some commands must read tables (a fingerprint is computed with Spark), and the core never
imports an engine. An engine layer offers such a command through the entry point group
``immuta_spark.commands`` (declared in ``pyproject.toml``): each entry is named after its
command and loads a function ``(catalog, args, out) -> exit status``. The core adds the
command's arguments itself, so ``--help`` works without the engine, and loads the entry only
when the command runs; without the engine installed it says what to install.
"""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points
from typing import Any, TextIO

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import ImmutaSparkError

__all__ = [
    "ENGINE_COMMANDS",
    "ENTRY_POINT_GROUP",
    "add_engine_commands",
    "add_fingerprint_arguments",
    "run_engine_command",
]

#: The entry point group of engine commands.
ENTRY_POINT_GROUP = "immuta_spark.commands"
#: The commands the core knows an engine may provide.
ENGINE_COMMANDS = ("fingerprint",)


def add_engine_commands(sub: Any) -> None:
    """Add the engine commands and their arguments to the CLI's subparsers."""
    f = sub.add_parser(
        "fingerprint", help="compute and store the fingerprints of data sources, reading them with Spark"
    )
    add_fingerprint_arguments(f)


def add_fingerprint_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``fingerprint`` command's own arguments (also the standalone ``immuta-spark-fingerprint``'s)."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("sources", metavar="SOURCE", nargs="*", default=[], help="a data source's name")
    which.add_argument("--all", action="store_true", help="every data source")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run_engine_command(args: argparse.Namespace, cat: GovernanceCatalog, out: TextIO) -> int:
    """Run an engine command through its entry point (a clear error when no engine provides it)."""
    found = [p for p in entry_points(group=ENTRY_POINT_GROUP) if p.name == args.command]
    try:
        command = found[0].load() if found else None
    except ImportError as exc:  # the engine's own package (pyspark) is missing
        raise ImmutaSparkError(
            f"`immuta-spark {args.command}` needs the Spark layer, which could not be loaded ({exc}); "
            "install it with `pip install 'immuta-spark[spark]'`"
        ) from exc
    if command is None:
        raise ImmutaSparkError(
            f"`immuta-spark {args.command}` needs the Spark layer, which is not installed; "
            "install it with `pip install 'immuta-spark[spark]'`"
        )
    return int(command(cat, args, out))
