"""The governance catalog: policy as code in, snapshots and decisions out, every change audited.

>>> catalog = GovernanceCatalog.open("sqlite:///catalog.db")     # doctest: +SKIP
>>> catalog.apply("conf/governance.yaml")                        # doctest: +SKIP
>>> catalog.explain("Medical Claims", user="bob").to_json()      # doctest: +SKIP

Modules: :mod:`.base` (identity, snapshots, audit, secrets), :mod:`.subscriptions` (the
subscription workflow), :mod:`.service` (:class:`GovernanceCatalog`: apply, export, plan,
explain), :mod:`.context` (the project a user acts under), :mod:`.projects` (projects as
living entities, acknowledgements), :mod:`.coexist` (policy files beside runtime state),
:mod:`.entities` (the model as stored rows), :mod:`.dp` (differential privacy's cached answers
and budgets), :mod:`.dp_checks` (its checks on a source) and :mod:`.records` (results).
"""

from __future__ import annotations

from immuta_spark.catalog.base import default_catalog_url
from immuta_spark.catalog.dp import BudgetLine, DPTicket, PrivacyLedger
from immuta_spark.catalog.project_records import MemberRecord, ProjectRecord
from immuta_spark.catalog.records import ApplyResult, SubscriptionRecord
from immuta_spark.catalog.service import SOURCE_SECRETS, GovernanceCatalog

__all__ = [
    "SOURCE_SECRETS",
    "ApplyResult",
    "BudgetLine",
    "DPTicket",
    "GovernanceCatalog",
    "MemberRecord",
    "PrivacyLedger",
    "ProjectRecord",
    "SubscriptionRecord",
    "default_catalog_url",
]
