"""Unmask requests and stored fingerprints on PostgreSQL (the catalog's production database).

The same tests as on SQLite (tests/unit/test_unmask_requests.py, test_fingerprint_apply.py),
run against a database of the throwaway PostgreSQL server: schema v8's ``unmask_requests``
(its generated ids) and the fingerprint rows.
"""

from __future__ import annotations

from tests.unit.test_fingerprint_apply import (
    test_a_fingerprinted_column_above_the_cutoff_refuses_the_apply_and_changes_nothing,
)
from tests.unit.test_unmask_requests import (
    catalog,
    test_an_approved_request_shows_that_one_value_to_its_requester_only,
    test_only_a_user_the_policy_exempts_decides_and_a_denial_reveals_nothing,
    test_requests_are_runtime_state_an_apply_keeps,
)

__all__ = [
    "catalog",
    "test_a_fingerprinted_column_above_the_cutoff_refuses_the_apply_and_changes_nothing",
    "test_an_approved_request_shows_that_one_value_to_its_requester_only",
    "test_only_a_user_the_policy_exempts_decides_and_a_denial_reveals_nothing",
    "test_requests_are_runtime_state_an_apply_keeps",
]
