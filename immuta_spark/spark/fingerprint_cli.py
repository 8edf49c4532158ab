"""``immuta-spark fingerprint``: compute and store the fingerprints of governed sources, from the shell.

A fingerprint (:mod:`immuta_spark.spark.fingerprint`) is computed with Spark, so this command
lives in the Spark layer, which offers it to the core's ``immuta-spark`` through the entry point
group ``immuta_spark.commands`` (:mod:`immuta_spark.cli_engine`; the core never imports pyspark).
It also runs on its own as ``immuta-spark-fingerprint``. It starts Spark the way a notebook on
this machine would, reads each source's table raw (the machine's Spark identity must be able
to), and stores the fingerprint as the authenticated user, or the user named with ``--as``
(``--user`` for the standalone form; acting for someone else needs IMPERSONATE), who must own
the source or be a governor. Progress goes to a terminal's stderr.

    immuta-spark --catalog sqlite:///catalog.db fingerprint Visits
    immuta-spark --catalog sqlite:///catalog.db --as gov fingerprint --all --format json
    immuta-spark-fingerprint --catalog sqlite:///catalog.db --user gov Visits
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.cli_common import print_json
from immuta_spark.cli_engine import add_fingerprint_arguments
from immuta_spark.errors import ImmutaSparkError

__all__ = ["command", "main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="immuta-spark-fingerprint", description="fingerprint governed sources with Spark")
    p.add_argument("--catalog", required=True, help="the governance catalog's URL")
    p.add_argument("--user", help="act as USER, an owner of each source or a governor (needs IMPERSONATE)")
    add_fingerprint_arguments(p)
    return p


def main(argv: Sequence[str] | None = None, *, spark: Any = None, out: TextIO | None = None) -> int:
    """Run the standalone command; ``spark`` is the SparkSession to read with (default: the builder's), for tests."""
    args = _parser().parse_args(argv)
    try:
        catalog = GovernanceCatalog.open(args.catalog, act_as=args.user)
        return command(catalog, args, out or sys.stdout, spark=spark)
    except ImmutaSparkError as exc:
        print(f"immuta-spark-fingerprint: {exc}", file=sys.stderr)
        return 2


def command(catalog: GovernanceCatalog, args: argparse.Namespace, out: TextIO, *, spark: Any = None) -> int:
    """Fingerprint ``args.sources`` (or ``args.all``) into ``catalog``; print them as ``args.format`` says."""
    from immuta_spark.spark.fingerprint import fingerprint_table, terminal_progress
    from immuta_spark.spark.templates import quoted_table

    snapshot = catalog.snapshot()
    names = sorted(snapshot.sources) if args.all else list(args.sources)
    missing = [name for name in names if name not in snapshot.sources]
    if missing:
        raise ImmutaSparkError(f"there is no data source '{missing[0]}'; list them with `immuta-spark export`")
    for name in names:  # before reading any table: a refusal stores nothing
        catalog.check_fingerprinter(name)
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName("immuta-spark-fingerprint").enableHiveSupport().getOrCreate()
    done: dict[str, Any] = {}
    for name in names:
        source = snapshot.sources[name]
        progress = terminal_progress()
        progress(f"{name}: reading {source.table}")
        body = fingerprint_table(spark.table(quoted_table(source.table)), snapshot, source, progress=progress)
        catalog.store_fingerprint(name, body)
        done[name] = body
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
