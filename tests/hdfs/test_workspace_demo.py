"""The workspace half of ``make demo`` runs on a fresh cluster and shows what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from hdfs_workspace import demo


def test_the_workspace_demo_shows_a_write_under_the_project_and_refusals_after_switching_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(tmp_path / "demo") == 0
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("write bob-notes.csv") and line.endswith("done") for line in lines)
    assert any(line.startswith("read it back") and line.endswith("done") for line in lines)
    refused = [line for line in lines if "refused by the NameNode" in line]
    assert len(refused) == 2 and refused[0].startswith("read his own file")
    assert "audit: 1 grant, 1 revoke for bob" in out
    assert "source inspect scored/: 1 parquet file, columns claim_id bigint, score double (footers only)" in out
    assert "source create --type hdfs: 'Scored Claims' (" in out and "derives from Medical Claims" in out
