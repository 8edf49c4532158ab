"""``immuta-spark-derive``: create a derived data source from a SQL query, from the shell.

A derived source's lineage is its data's plan, so creating one needs Spark: this command (in
the Spark layer, unlike ``immuta-spark``, whose core never imports pyspark) starts a Spark
session the way a notebook on this machine would (``SparkSession.builder``, with the
machine's Spark and Hive configuration), wraps it as a governed session of ``--user`` on
``--catalog``, runs ``--sql`` under the user's current project and hands the result to
:meth:`~immuta_spark.spark.ImmutaSparkSession.create_derived_source`. Text or JSON output; a
refusal exits 2 with the catalog's message.

    immuta-spark-derive --catalog sqlite:///catalog.db --user bob --name "Data Source C" \\
        --parents "Data Source A" --parents "Data Source B" --table dv.c --certify \\
        --sql "SELECT a.id, a.address, sha2(b.ssn, 256) AS ssn_key FROM dv.a a JOIN dv.b b ON a.id = b.id"
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from immuta_spark.cli_common import print_json
from immuta_spark.cli_sources import render_derived
from immuta_spark.errors import ImmutaSparkError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="immuta-spark-derive",
        description="create a derived data source from a SQL query run in a governed session",
    )
    p.add_argument("--catalog", required=True, help="the governance catalog's URL")
    p.add_argument("--user", required=True, help="who creates it (acting under their current project)")
    p.add_argument("--name", required=True, help="the new data source's name")
    p.add_argument("--sql", required=True, help="the query whose result is the new source's data")
    p.add_argument("--parents", action="append", default=[], required=True, help="a parent source (repeat)")
    p.add_argument("--table", help="where the data is written (default: current database and the name as a word)")
    p.add_argument("--certify", action="store_true", help="certify that the data derives from the parents named")
    p.add_argument("--format", choices=["text", "json"], default="text")
    return p


def main(argv: Sequence[str] | None = None, *, spark: Any = None, out: TextIO | None = None) -> int:
    """Run the command; ``spark`` is the SparkSession to wrap (default: the builder's), for embedding and tests."""
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    from immuta_spark.spark import ImmutaSparkSession

    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName("immuta-spark-derive").enableHiveSupport().getOrCreate()
    try:
        session = ImmutaSparkSession.wrap(spark, catalog=args.catalog, user=args.user)
        record = session.create_derived_source(
            args.name, session.sql(args.sql), args.parents, certify=args.certify, table=args.table
        )
    except ImmutaSparkError as exc:
        print(f"immuta-spark-derive: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        return print_json(out, record.to_json())
    out.write(render_derived(record))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
