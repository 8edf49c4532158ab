"""Apply in bulk on PostgreSQL: executemany (batched inserts, pipelined updates) gives the same result."""

from __future__ import annotations

import pytest

from tests.unit.test_bulk_apply import check_bulk_apply


def test_apply_is_a_few_statements_keeps_runtime_state_and_a_failed_one_changes_nothing(
    catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_bulk_apply(catalog_url, monkeypatch)
