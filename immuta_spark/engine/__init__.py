"""The policy engine: pure Python, no pyspark.

``compile_plan(snapshot, subject, source, schema)`` decides what one subject may see of one
data source and returns a :class:`Plan`: visibility, subscription, purpose checks, a masking
term per column (with the conflict losers and why they lost) and one row-filter predicate, all
in the expression tree of :mod:`immuta_spark.expr`. A plan is data: printable, comparable and
explainable; the Spark layer lowers it and never decides anything itself.

Modules: :mod:`.subjects` (who asks, the catalog snapshot), :mod:`.plan` (the result),
:mod:`.subscriptions` (visibility, subscriptions, purposes), :mod:`.masking` (columns),
:mod:`.rows` (row filters, differential privacy), :mod:`.index` (policies by what they target),
:mod:`.conflicts` (masking conflicts) and :mod:`.compiler` (all of it together).
"""

from __future__ import annotations

from immuta_spark.engine.compiler import compile_plan
from immuta_spark.engine.conflicts import rank_masking_policies
from immuta_spark.engine.masking import UNFINGERPRINTED_K
from immuta_spark.engine.plan import ColumnPlan, DPPlan, Override, Plan, RowPolicyApplied
from immuta_spark.engine.subjects import (
    Acknowledgement,
    MembershipState,
    Snapshot,
    Subject,
    SubscriptionState,
    make_subject,
    project_access_problem,
)
from immuta_spark.engine.subscriptions import subscription_requirements

__all__ = [
    "UNFINGERPRINTED_K",
    "Acknowledgement",
    "ColumnPlan",
    "DPPlan",
    "MembershipState",
    "Override",
    "Plan",
    "RowPolicyApplied",
    "Snapshot",
    "Subject",
    "SubscriptionState",
    "compile_plan",
    "make_subject",
    "project_access_problem",
    "rank_masking_policies",
    "subscription_requirements",
]
