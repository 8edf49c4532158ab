"""``session.create_derived_source``: write a governed DataFrame and register it as a derived data source.

The lineage comes from Spark, not from the user: the governed sources the DataFrame's analyzed
plan reads through enforcement, and for each column the parent columns its values are computed
from (:mod:`immuta_spark.spark.lineage`). The catalog checks the registration first
(:meth:`~immuta_spark.catalog.GovernanceCatalog.check_derived_source`), so a refusal writes
nothing; the data is then written with the governed writer (audited) and registered. Should the
registration fail after the write, the table is dropped again and its files deleted: an
unregistered copy of governed data must not stay behind.

The table is EXTERNAL, at ``<database location>/<table>``: a ``DROP TABLE`` (or a dropped
database) then never deletes a source's data by accident; deleting a derived source leaves its
table and files as they are. A directory already at that place is never written into (Spark
refuses the write, and nothing is registered).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame

from immuta_spark.catalog.derived import DerivedRecord
from immuta_spark.errors import ImmutaSparkError
from immuta_spark.spark.dataframe import GovernedDataFrame
from immuta_spark.spark.errors import EnforcementError
from immuta_spark.spark.internals import SessionInternals
from immuta_spark.spark.lineage import plan_lineage
from immuta_spark.spark.names import name_parts
from immuta_spark.spark.registration import refuse_unplain_names
from immuta_spark.spark.templates import quoted_table
from immuta_spark.spark.writers import GovernedWriter

__all__ = ["create_derived_source", "default_table"]


def default_table(database: str, name: str) -> str:
    """Where a derived source named ``name`` is written when no table is given: ``database.<name as a word>``."""
    word = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "derived"
    return f"{database}.{word if not word[0].isdigit() else '_' + word}"


def create_derived_source(
    session: SessionInternals,
    name: str,
    data: DataFrame | str,
    *,
    parents: Sequence[str],
    certify: bool = True,
    table: str | None = None,
) -> DerivedRecord:
    """See :meth:`immuta_spark.spark.ImmutaSparkSession.create_derived_source`."""
    with session._lock:
        df = session.table(data) if isinstance(data, str) else data
        if not isinstance(df, GovernedDataFrame) or df._governed is not session:
            raise EnforcementError(
                "a derived data source is made from a DataFrame of this governed session (session.sql, "
                "session.table, ...), whose plan says what it derives from; build it there"
            )
        enforcer = session._enforcer
        acting = enforcer.acting()
        with enforcer.statement():
            lineage = plan_lineage(session, df._jdf)
            target = table or default_table(session._spark.catalog.currentDatabase(), name)
            refuse_unplain_names([f.name for f in df.schema.fields], target)
            acting.check_derived_source(name, table=target, parents=parents, read=lineage.sources, certify=certify)
            location = _table_location(session, target)
            _refuse_taken(session, target, location)
            # The governed writer's checks and audit, without its registration: this one registers itself.
            GovernedWriter(df._shadow().write, session).option("path", location).saveAsTable(target)
        columns = [(f.name, f.dataType.simpleString()) for f in df.schema.fields]
        try:
            record = acting.create_derived_source(
                name,
                table=target,
                parents=parents,
                read=lineage.sources,
                lineage=dict(lineage.columns),
                columns=columns,
                certify=certify,
            )
        except ImmutaSparkError:
            _drop(session, target, location)
            raise
        enforcer.snapshot()
        return record


def _table_location(session: Any, table: str) -> str:
    """Where the external table ``database.name`` keeps its files: beneath its database's location."""
    database, name = name_parts(table)[-2:]
    root = str(session._spark.catalog.getDatabase(database).locationUri).rstrip("/")
    return f"{root}/{name.lower()}"


def _hadoop_path(session: Any, location: str) -> tuple[Any, Any]:
    """(file system, path) of ``location`` as Spark's Hadoop configuration resolves it."""
    spark = session._spark
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(location)
    return path.getFileSystem(spark._jsparkSession.sessionState().newHadoopConf()), path


def _refuse_taken(session: Any, table: str, location: str) -> None:
    fs, path = _hadoop_path(session, location)
    if fs.exists(path):
        raise EnforcementError(
            f"the files of table {table} would go to {location}, where a directory already exists (left by a "
            "dropped table?): a derived source never writes into existing data; move or delete that directory, "
            "or choose another table name (table=...)"
        )


def _drop(session: Any, table: str, location: str) -> None:
    """Drop a table written for a registration that then failed, and its files (it is external)."""
    session._spark.sql(f"DROP TABLE IF EXISTS {quoted_table(table)}")
    fs, path = _hadoop_path(session, location)
    fs.delete(path, True)
