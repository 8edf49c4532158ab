"""The governance catalog of the TPC-DS tables, as policy-as-code YAML.

Every one of the 24 tables is a governed data source owned by ``tpcds_owner`` with a
subscription open to everyone. A few realistic policies apply to :data:`RESTRICTED_USER`
(``clerk``, a store clerk in Tennessee and Georgia); every policy exempts the group
``Unrestricted``, so no mask or row policy applies to :data:`UNRESTRICTED_USER` (``analyst``).
"""

from __future__ import annotations

from tests.spark.tpcds.schema import DATABASE, TABLES

__all__ = [
    "MASKED_COLUMNS",
    "OWNER",
    "RESTRICTED_STATES",
    "RESTRICTED_USER",
    "ROW_FILTERED_STATES",
    "UNRESTRICTED_USER",
    "governance_yaml",
]

OWNER = "tpcds_owner"
#: Exempt from every policy: sees the tables exactly as plain Spark does.
UNRESTRICTED_USER = "analyst"
#: Every policy applies.
RESTRICTED_USER = "clerk"
#: The restricted user's State attribute: the stores (s_state) it sees.
RESTRICTED_STATES = ("TN", "GA")
#: Output column -> how its values look for the restricted user ("hash": 64 hex digits, "null": NULL).
MASKED_COLUMNS = {"c_last_name": "hash", "c_email_address": "hash", "ca_street_name": "null"}
#: Column -> the values the restricted user's row filters let through.
ROW_FILTERED_STATES = {"s_state": set(RESTRICTED_STATES)}

_EXEMPT = "except: {groups: [Unrestricted]}"
#: table -> its local policies (one YAML flow mapping each).
_POLICIES: dict[str, tuple[str, ...]] = {
    "customer": (
        "{name: hash-names, type: masking, columns: {names: [c_email_address, c_last_name]}, mask: hash, "
        f"{_EXEMPT}}}",
    ),
    "customer_address": (
        f'{{name: no-street, type: masking, columns: {{names: [ca_street_name]}}, mask: "null", {_EXEMPT}}}',
        f"{{name: not-california, type: row, where: \"ca_state <> 'CA'\", {_EXEMPT}}}",
    ),
    "store": (f"{{name: own-states, type: row, match: {{attribute: State, column: s_state}}, {_EXEMPT}}}",),
    "store_sales": (
        f"{{name: round-paid, type: masking, columns: {{names: [ss_net_paid]}}, mask: {{round: 10}}, {_EXEMPT}}}",
    ),
    "web_sales": (
        f"{{name: round-paid, type: masking, columns: {{names: [ws_net_paid]}}, mask: {{round: 10}}, {_EXEMPT}}}",
    ),
    "date_dim": (
        f"{{name: month-dates, type: masking, columns: {{names: [d_date]}}, mask: {{round: month}}, {_EXEMPT}}}",
    ),
}


def governance_yaml(identity: str, database: str = DATABASE) -> str:
    """The catalog's YAML; ``identity`` is the Spark JVM's user, which impersonates the others."""
    states = ", ".join(RESTRICTED_STATES)
    lines = [
        "version: 1",
        "users:",
        f"  - {{name: {identity}, permissions: [IMPERSONATE]}}",
        f"  - {{name: {OWNER}}}",
        f"  - {{name: {UNRESTRICTED_USER}, groups: [Unrestricted]}}",
        f"  - {{name: {RESTRICTED_USER}, groups: [Stores], attributes: {{State: [{states}]}}}}",
        "sources:",
    ]
    for table in TABLES:
        lines += [
            f"  - name: TPC-DS {table}",
            f"    table: {database}.{table}",
            f"    owners: [{OWNER}]",
            "    subscription: {anyone: {}}",
        ]
        policies = _POLICIES.get(table, ())
        if policies:
            lines.append("    policies:")
            lines += [f"      - {policy}" for policy in policies]
    return "\n".join(lines) + "\n"
