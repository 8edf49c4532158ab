"""Column lineage of a governed DataFrame: the governed sources it reads, and what each column comes from.

The JVM helper (``jvm/Lineage.java``, through ``PlanInspector.lineageDataset``) walks the
DataFrame's analyzed plan, after enforcement, in one py4j call. Every enforced subtree (the
``Project`` the analyzer rule put over a governed relation, stamped ``token:generation|source``)
counts as a read of its source, wherever it sits: the plan's children, expression subqueries
(``WHERE x IN (SELECT ... FROM governed)``), CTE definitions. For each output column it follows
the expression that computes the value down to the enforced subtrees' columns: an enforced
subtree's column ``c`` comes from ``(source, c)``, and what lies inside an enforced subtree (the
policy's masks and filters) is not followed. Filter conditions, join keys and sort keys select
rows and add nothing to a column; a node kind the walk does not model makes each of its new
columns depend on every column of its children (more lineage, never less).

Only the session's current rules count: a plan holding a subtree enforced under other rules (a
DataFrame made before the catalog changed, another session's enforcement) is refused with
:class:`~immuta_spark.spark.errors.EnforcementError` (fail closed), as is an answer of the JVM
this module cannot read.

>>> lineage = plan_lineage(session, df._jdf)                    # doctest: +SKIP
>>> lineage.sources                                             # doctest: +SKIP
frozenset({'Medical Claims'})
>>> dict(lineage.columns)["ssn_key"]                            # doctest: +SKIP
frozenset({('Medical Claims', 'ssn')})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from py4j.protocol import Py4JError
from pyspark.sql import DataFrame

from immuta_spark.spark.errors import EnforcementError
from immuta_spark.spark.jvm import helper, records, unescape

if TYPE_CHECKING:
    from immuta_spark.spark.enforce import Enforcer

__all__ = ["ColumnLineage", "Lineage", "analyzed_lineage", "parse", "plan_lineage"]

#: One column's lineage: the (source, source column) pairs its value is computed from.
ColumnLineage = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Lineage:
    """What a governed plan reads and what each of its output columns is computed from.

    ``sources``: the governed sources whose enforced subtrees appear anywhere in the plan.
    ``columns``: one ``(name, pairs)`` per output column, in the plan's order (names may repeat);
    ``pairs`` holds the ``(source, source column)`` the column's value is computed from, empty for
    a column of no governed source (a literal, ``spark.range``, an ungoverned table).
    """

    sources: frozenset[str]
    columns: tuple[tuple[str, ColumnLineage], ...]

    def column(self, name: str) -> ColumnLineage:
        """The lineage of the first output column called ``name``; raises ``KeyError`` if there is none."""
        for column, pairs in self.columns:
            if column == name:
                return pairs
        raise KeyError(name)


def plan_lineage(session_or_enforcer: Any, jdf: Any) -> Lineage:
    """The lineage of a governed DataFrame's analyzed plan, read under the session's current rules.

    ``session_or_enforcer`` is an :class:`~immuta_spark.spark.session.ImmutaSparkSession` (its
    lock is held for the call) or its :class:`~immuta_spark.spark.enforce.Enforcer`; ``jdf`` is
    the DataFrame's JVM Dataset (``df._jdf``; a pyspark DataFrame is accepted too). The catalog is
    checked for a new revision first, so "current" means the rules of the catalog now.

    Raises :class:`~immuta_spark.spark.errors.EnforcementError` when the plan holds a subtree
    enforced under other rules (build the DataFrame again), or when the JVM's answer cannot be
    read; the catalog's own errors (a deleted or replaced catalog) propagate as they are.
    """
    enforcer, lock = _enforcer_of(session_or_enforcer)
    # Not getattr(jdf, "_jdf"): on a py4j JavaObject every attribute name is a Java member.
    target = jdf._jdf if isinstance(jdf, DataFrame) else jdf
    if lock is None:
        return _lineage(enforcer, target)
    with lock:
        return _lineage(enforcer, target)


def analyzed_lineage(enforcer: Enforcer, jplan: Any) -> Lineage:
    """:func:`plan_lineage` of an analyzed JVM plan (a command's query, checked before the command runs)."""
    enforcer.snapshot()
    try:
        text = helper(enforcer.spark).lineage_lines(jplan, enforcer.stamp_prefix)
    except Py4JError as exc:
        raise EnforcementError(f"the lineage of the plan could not be computed, so none is given: {exc}") from None
    return parse(text)


def _enforcer_of(handle: Any) -> tuple[Enforcer, Any]:
    """The enforcer behind a governed session (with the session's lock), or the enforcer itself."""
    from immuta_spark.spark.enforce import Enforcer

    if isinstance(handle, Enforcer):
        return handle, None
    enforcer = getattr(handle, "_enforcer", None)
    if isinstance(enforcer, Enforcer):
        return enforcer, getattr(handle, "_lock", None)
    raise TypeError(f"plan_lineage needs a governed session or its Enforcer, not {type(handle).__name__}")


def _lineage(enforcer: Enforcer, jdf: Any) -> Lineage:
    enforcer.snapshot()  # a catalog revision since the last statement makes a new generation of rules
    prefix = enforcer.stamp_prefix
    try:
        text = helper(enforcer.spark).lineage_dataset_lines(jdf, prefix)
    except Py4JError as exc:
        raise EnforcementError(f"the lineage of the plan could not be computed, so none is given: {exc}") from None
    return parse(text)


def parse(text: str) -> Lineage:
    """A :class:`Lineage` from the helper's lines (see ``Lineage.describe`` in the Java source).

    Raises :class:`~immuta_spark.spark.errors.EnforcementError` on a stamp of other rules ("X") and
    on any line it cannot read.
    """
    sources: set[str] = set()
    columns: list[tuple[str, ColumnLineage]] = []
    for raw in records(text):
        kind, fields = raw[0], [unescape(f) for f in raw[1:]]
        if kind == "S" and len(fields) == 1:
            sources.add(fields[0])
        elif kind == "X" and len(fields) == 1:
            raise EnforcementError(
                "this DataFrame was enforced under other rules (the catalog or the project changed since, or it "
                "comes from another session); build it again through your governed session"
            )
        elif kind == "C" and len(fields) % 2 == 1:
            pairs = zip(fields[1::2], fields[2::2], strict=True)
            columns.append((fields[0], frozenset(pairs)))
        else:
            raise EnforcementError(f"the lineage of the plan could not be read (a {kind!r} line); none is given")
    return Lineage(sources=frozenset(sources), columns=tuple(columns))
