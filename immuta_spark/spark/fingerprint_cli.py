"""``immuta-spark-fingerprint``: compute and store the fingerprints of governed sources, from the shell.

A fingerprint (:mod:`immuta_spark.spark.fingerprint`) is computed with Spark, so this command
lives in the Spark layer, as ``immuta-spark-derive`` does (the core's ``immuta-spark`` never
imports pyspark). It starts Spark the way a notebook on this machine would, reads each source's
table raw (the machine's Spark identity must be able to), and stores the fingerprint as
``--user``, who must own the source or be a governor. Progress goes to a terminal's stderr.

    immuta-spark-fingerprint --catalog sqlite:///catalog.db --user gov Visits
    immuta-spark-fingerprint --catalog sqlite:///catalog.db --user gov --all --format json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from immuta_spark.cli_common import print_json
from immuta_spark.errors import ImmutaSparkError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="immuta-spark-fingerprint", description="fingerprint governed sources with Spark")
    p.add_argument("--catalog", required=True, help="the governance catalog's URL")
    p.add_argument("--user", required=True, help="who stores them (an owner of each source, or a governor)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("sources", metavar="SOURCE", nargs="*", default=[], help="a source's name")
    which.add_argument("--all", action="store_true", help="every source")
    p.add_argument("--format", choices=["text", "json"], default="text")
    return p


def main(argv: Sequence[str] | None = None, *, spark: Any = None, out: TextIO | None = None) -> int:
    """Run the command; ``spark`` is the SparkSession to read with (default: the builder's), for tests."""
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.spark.fingerprint import fingerprint_table, terminal_progress
    from immuta_spark.spark.templates import quoted_table

    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName("immuta-spark-fingerprint").enableHiveSupport().getOrCreate()
    done: dict[str, Any] = {}
    try:
        catalog = GovernanceCatalog.open(args.catalog, identity=args.user)
        snapshot = catalog.snapshot()
        names = sorted(snapshot.sources) if args.all else list(args.sources)
        for name in names:
            source = snapshot.sources.get(name)
            if source is None:
                raise ImmutaSparkError(f"there is no data source '{name}'; list them with `immuta-spark export`")
            progress = terminal_progress()
            progress(f"{name}: reading {source.table}")
            body = fingerprint_table(spark.table(quoted_table(source.table)), snapshot, source, progress=progress)
            catalog.store_fingerprint(name, body)
            done[name] = body
    except ImmutaSparkError as exc:
        print(f"immuta-spark-fingerprint: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        return print_json(out, done)
    for name, body in done.items():
        ks = ", ".join(f"{p}={k}" for p, k in body["k_anonymity"].items()) or "no k-anonymization"
        out.write(
            f"{name}: {body['rows']} rows, {len(body['columns'])} columns; k: {ks}; version {body['version'][:12]}\n"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
