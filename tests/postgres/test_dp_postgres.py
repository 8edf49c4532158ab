"""Differential privacy's ledger on PostgreSQL (the catalog's production database).

The same tests as on SQLite (tests/unit/test_dp_ledger.py), run against a database of the
throwaway PostgreSQL server: schema v9's ``dp_answers`` and ``dp_spends`` (generated ids, times
compared bytewise whatever the database's collation), reservations serialised by the
advisory write lock, budgets, windows, refunds and the cache.
"""

from __future__ import annotations

from tests.unit.test_dp_ledger import (
    gov,
    test_a_finished_spend_cannot_be_refunded_or_finished_again,
    test_a_query_past_the_budget_is_refused_saying_when_it_fits_again,
    test_a_query_reserves_then_spends_and_its_answer_is_cached,
    test_a_refund_gives_the_epsilon_back,
    test_a_users_budget_lines_show_spending_and_what_is_left,
    test_an_answer_older_than_a_shrunk_tolerance_is_not_served,
    test_spending_older_than_the_period_no_longer_counts,
    test_the_identical_query_is_served_from_the_cache_and_spends_nothing,
    test_threads_racing_for_the_last_of_a_budget_never_exceed_it,
)

__all__ = [
    "gov",
    "test_a_finished_spend_cannot_be_refunded_or_finished_again",
    "test_a_query_past_the_budget_is_refused_saying_when_it_fits_again",
    "test_a_query_reserves_then_spends_and_its_answer_is_cached",
    "test_a_refund_gives_the_epsilon_back",
    "test_a_users_budget_lines_show_spending_and_what_is_left",
    "test_an_answer_older_than_a_shrunk_tolerance_is_not_served",
    "test_spending_older_than_the_period_no_longer_counts",
    "test_the_identical_query_is_served_from_the_cache_and_spends_nothing",
    "test_threads_racing_for_the_last_of_a_budget_never_exceed_it",
]
