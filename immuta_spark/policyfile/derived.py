"""A derived data source's ``derived`` entry: parents, entitlement, lineage (stored by the catalog only).

Derived sources are created at run time (:meth:`~immuta_spark.catalog.GovernanceCatalog.create_derived_source`)
and kept in the catalog in policy-as-code form; a policy file cannot declare one, since what a
derived source inherits rests on the checked lineage of the data that was written.
"""

from __future__ import annotations

from typing import Any

from immuta_spark.model import Derivation
from immuta_spark.policyfile.common import (
    IDENT,
    At,
    describe,
    expect_list,
    expect_mapping,
    expect_string,
    expect_strings,
)
from immuta_spark.policyfile.projects import parse_entitlement

__all__ = ["STORED", "parse_derivation"]

#: The file name the catalog reads its stored documents under (only there is ``derived`` read).
STORED = "<catalog>"

_KEYS = ("parents", "created_by", "project", "entitlement", "lineage", "purposes", "readers", "certified", "disabled")


def parse_derivation(value: Any, at: At) -> Derivation:
    """The ``derived`` entry of a stored source."""
    if at.file != STORED:
        at.fail(
            "a policy file cannot declare a derived data source: create it from its data in a governed session "
            "(session.create_derived_source), which checks its lineage"
        )
    m = expect_mapping(value, at, allowed=_KEYS, required=("parents", "created_by"))
    parents = expect_strings(m["parents"], at.key("parents"), what="a data source name")
    lineage: dict[str, tuple[tuple[str, str], ...]] = {}
    l_at = at.key("lineage")
    columns = m.get("lineage", {})
    if not isinstance(columns, dict):
        l_at.fail(f"expected a mapping of column name to parent columns, got {describe(columns)}")
    for column, origins in columns.items():
        c = expect_string(column, l_at, pattern=IDENT, what="a column name")
        pairs = []
        for i, pair in enumerate(expect_list(origins, l_at.key(c))):
            p_at = l_at.key(c).index(i)
            if not (isinstance(pair, list) and len(pair) == 2):
                p_at.fail(f"expected [parent source, parent column], got {describe(pair)}")
            parent = expect_string(pair[0], p_at.index(0), what="a data source name")
            pairs.append((parent, expect_string(pair[1], p_at.index(1), pattern=IDENT, what="a column name")))
        lineage[c] = tuple(pairs)
    project = m.get("project")
    disabled = m.get("disabled")
    return Derivation(
        parents=parents,
        created_by=expect_string(m["created_by"], at.key("created_by"), what="a user name"),
        project=None if project is None else expect_string(project, at.key("project"), what="a project name"),
        entitlement=parse_entitlement(m.get("entitlement", {}), at.key("entitlement")),
        lineage=lineage,
        purposes=expect_strings(m.get("purposes", []), at.key("purposes"), what="a purpose name"),
        readers=None if m.get("readers") is None else frozenset(expect_strings(m["readers"], at.key("readers"))),
        certified=m.get("certified", True) is True,
        disabled=None if disabled is None else expect_string(disabled, at.key("disabled"), what="a reason"),
    )
