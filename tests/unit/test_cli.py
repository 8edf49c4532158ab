"""``immuta-spark``: every command through ``main``, and the real console script."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import PolicyBindError
from tests.unit.conftest import CONF
from tests.unit.support import acknowledge, write

SMALL = """
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: bob, groups: [Analysts]}
  - {name: ann, groups: [Auditors]}
sources:
  - name: Claims
    table: db.claims
    owners: [gov]
    subscription: {approval: {approvers: [owner, {group: Auditors}]}}
    columns: {ssn: [PII]}
    dictionary: [{name: ssn, type: string}, {name: state, type: string}]
    policies:
      - {name: hash-ssn, type: masking, columns: {names: [ssn]}, mask: hash}
"""


def run(cat: GovernanceCatalog, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), catalog=cat, out=out)
    return code, out.getvalue()


def as_(cat: GovernanceCatalog, user: str) -> GovernanceCatalog:
    return GovernanceCatalog(cat.store, identity=user)


# --- apply and export -------------------------------------------------------------------------


def test_apply_prints_what_changed_and_a_second_apply_nothing(catalog_url: str, tmp_path: Path) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    file = write(tmp_path, SMALL)
    code, out = run(cat, "apply", str(file))
    assert code == 0
    assert out.splitlines()[0] == "changed: 5 added, 0 changed, 0 removed"
    assert "  + source:Claims" in out
    assert run(cat, "apply", str(file)) == (0, "no changes\n")


def test_apply_dry_run_changes_nothing_and_reports_json(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    before = catalog.export()
    code, out = run(catalog, "apply", str(write(tmp_path, SMALL)), "--dry-run", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["dry_run"] is True
    assert "source:Claims" in data["added"]
    assert "source:Medical Claims" in data["removed"]
    assert catalog.export() == before


def test_export_prints_the_catalog_as_a_file_that_applies_as_no_change(
    catalog: GovernanceCatalog, tmp_path: Path
) -> None:
    code, out = run(catalog, "export")
    assert code == 0
    assert out == catalog.export()
    target = tmp_path / "exported.yaml"
    assert run(catalog, "export", "-o", str(target)) == (0, "")
    assert target.read_text() == out
    assert run(catalog, "apply", str(target)) == (0, "no changes\n")


# --- explain -----------------------------------------------------------------------------------


def test_explain_json_has_the_stable_keys(catalog: GovernanceCatalog) -> None:
    code, out = run(catalog, "explain", "--source", "Medical Claims", "--user", "bob", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == [
        "source",
        "table",
        "user",
        "project",
        "visible",
        "subscribed",
        "denied_reason",
        "columns",
        "row_filters",
        "purposes_required",
        "equalized_as",
        "differential_privacy",
    ]
    assert data["columns"]["address"] == {
        "mask": "null",
        "construction": "NULL",
        "policy": "mask-address",
        "overridden": ["hash-pii"],
        "overridden_why": {"hash-pii": "less specific target than 'mask-address'"},
        "conditional": False,
        "type": "string",
    }
    assert data["row_filters"] == [{"policy": "office-rows", "kind": "match_attribute"}]


def test_explain_accepts_the_table_name_and_a_project(catalog: GovernanceCatalog) -> None:
    acknowledge(catalog, "bob", "Fraud Prevention")
    code, out = run(
        catalog, "explain", "--source", "claims.PATIENTS", "--user", "bob", "--project", "Fraud Prevention",
        "--format", "json",
    )  # fmt: skip
    data = json.loads(out)
    assert (code, data["source"], data["project"], data["purposes_required"]) == (
        0,
        "Patients",
        "Fraud Prevention",
        ["Research"],
    )


def test_explain_text_is_a_readable_table(catalog: GovernanceCatalog) -> None:
    code, out = run(catalog, "explain", "--source", "Medical Claims", "--user", "bob")
    assert code == 0
    lines = out.splitlines()
    assert lines[:4] == [
        "source:     Medical Claims (claims.medical)",
        "user:       bob",
        "visible:    yes",
        "subscribed: yes",
    ]
    header = next(i for i, line in enumerate(lines) if line.startswith("column"))
    assert lines[header].split() == ["column", "type", "mask", "policy", "overridden"]
    assert set(lines[header + 1]) <= {"-", " "}
    rows = {line.split()[0]: line for line in lines[header + 2 :] if line and not line.startswith("row filters")}
    assert rows["ssn"].split()[:4] == ["ssn", "string", "null", "null-ssn"]
    assert "hash-pii: less specific target than 'null-ssn'" in rows["ssn"]
    assert rows["amount"].split()[:5] == ["amount", "double", "round", "(conditional)", "round-amount"]
    assert "row filters: office-rows (match_attribute)" in out


def test_explain_text_of_a_dp_source_says_only_aggregates_are_answered(catalog: GovernanceCatalog) -> None:
    out = run(catalog, "explain", "--source", "Taxi Rides", "--user", "bob")[1]
    line = "differential privacy: rides-dp (epsilon 1.0; budget 10.0 per user in any 1d); "
    assert line + "only aggregate queries are answered" in out


def test_explain_text_for_an_invisible_source_stops_after_the_summary(catalog: GovernanceCatalog) -> None:
    out = run(catalog, "explain", "--source", "Payroll", "--user", "bob")[1]
    assert out.splitlines() == [
        "source:     Payroll (hr.payroll)",
        "user:       bob",
        "visible:    no",
        "subscribed: no",
        "denied:     not visible",
    ]


def test_explain_of_another_user_without_governance_exits_1(
    catalog: GovernanceCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(as_(catalog, "bob"), "explain", "--source", "Medical Claims", "--user", "carol")
    assert (code, out) == (1, "")
    assert "needs the GOVERNANCE permission" in capsys.readouterr().err


UNTYPED = """
version: 1
users: [{name: gov, permissions: [GOVERNANCE]}]
sources:
  - name: Claims
    table: db.claims
    owners: [gov]
    columns: {amount: [Money]}
    dictionary: [{name: amount}, {name: state, type: string}]
    policies:
      - {name: round-amount, type: masking, columns: {tagged: Money}, mask: {round: 100}}
"""


def test_apply_and_explain_work_without_spark_when_a_columns_type_is_unknown(catalog_url: str, tmp_path: Path) -> None:
    # Issue 8, deliverable 7: no dictionary type, no Spark; the type is shown as unknown.
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    assert run(cat, "apply", str(write(tmp_path, UNTYPED)))[0] == 0
    code, out = run(cat, "explain", "--source", "Claims")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("amount", "state"))}
    assert rows["amount"] == ["amount", "unknown", "round", "round-amount", "-"]
    assert rows["state"] == ["state", "string", "-", "-", "-"]
    code, out = run(cat, "explain", "--source", "Claims", "--format", "json")
    assert code == 0
    assert json.loads(out)["columns"]["amount"] == {
        "mask": "round",
        "construction": "rounded down to the step, or truncated to the time unit",
        "policy": "round-amount",
        "overridden": [],
        "overridden_why": {},
        "conditional": False,
        "type": None,
    }
    # Once the type is known (the Spark layer passes the table's schema), a mismatch fails closed.
    with pytest.raises(PolicyBindError, match=r"round mask on Claims\.amount: the column is string"):
        cat.explain("Claims", schema=[("amount", "string"), ("state", "string")])
    assert cat.explain("Claims", schema=[("amount", "decimal(10,2)"), ("state", "string")]).columns[0].type == (
        "decimal(10,2)"
    )


# --- subscriptions -------------------------------------------------------------------------------


def test_the_subscription_workflow_through_the_cli(catalog_url: str, tmp_path: Path) -> None:
    gov = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    gov.apply(write(tmp_path, SMALL), sql_checker=None)
    bob, ann = as_(gov, "bob"), as_(gov, "ann")
    code, out = run(bob, "subscription", "request", "--source", "Claims", "--reason", "audit", "--format", "json")
    assert code == 0
    assert json.loads(out)[0]["status"] == "requested"
    code, out = run(gov, "subscription", "approve", "--source", "Claims", "--user", "bob")
    assert code == 0
    assert out.splitlines()[0].split() == ["source", "user", "status", "approvals", "updated"]
    assert out.splitlines()[2].split()[:4] == ["Claims", "bob", "requested", "owner"]
    code, out = run(ann, "subscription", "approve", "--source", "Claims", "--user", "bob", "--format", "json")
    assert json.loads(out)[0]["status"] == "subscribed"
    assert json.loads(out)[0]["approvals"] == ["group:Auditors", "owner"]
    code, out = run(gov, "subscription", "revoke", "--source", "Claims", "--user", "bob", "--format", "json")
    assert json.loads(out)[0]["status"] == "revoked"
    code, out = run(gov, "subscription", "add", "--source", "Claims", "--user", "bob", "--format", "json")
    assert json.loads(out)[0]["status"] == "subscribed"
    run(ann, "subscription", "request", "--source", "Claims")
    code, out = run(gov, "subscription", "deny", "--source", "Claims", "--user", "ann", "--reason", "no")
    assert out.splitlines()[2].split()[:3] == ["Claims", "ann", "denied"]
    code, out = run(gov, "subscription", "list", "--format", "json")
    assert {(r["user"], r["status"]) for r in json.loads(out)} == {("bob", "subscribed"), ("ann", "denied")}
    code, out = run(bob, "subscription", "list", "--source", "Claims")
    assert [line.split()[1] for line in out.splitlines()[2:]] == ["bob"]


def test_a_refused_subscription_command_exits_1_with_the_reason(
    catalog_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gov = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    gov.apply(write(tmp_path, SMALL), sql_checker=None)
    run(as_(gov, "bob"), "subscription", "request", "--source", "Claims")
    assert run(as_(gov, "bob"), "subscription", "approve", "--source", "Claims", "--user", "bob") == (1, "")
    assert "error: you cannot decide your own request" in capsys.readouterr().err


# --- audit ---------------------------------------------------------------------------------------


@pytest.fixture
def audited(catalog: GovernanceCatalog) -> GovernanceCatalog:
    """The example catalog after a few audited operations."""
    catalog.explain("Medical Claims", user="bob")
    catalog.explain("Taxi Rides", user="carol", project=None)
    catalog.add_subscriber("Payroll", "bob")
    catalog.record(action="query", outcome="denied", user="dave", sources=["Patients"])
    return catalog


@pytest.mark.parametrize(
    ("filters", "actions"),
    [
        ([], ["apply", "explain", "explain", "subscription.add", "query"]),
        (["--action", "explain"], ["explain", "explain"]),
        (["--action", "subscription.*"], ["subscription.add"]),
        (["--action", "SUBSCRIPTION.*"], ["subscription.add"]),
        (["--action", "subscription_add"], []),
        (["--action", "*.add"], ["subscription.add"]),
        (["--user", "dave"], ["query"]),
        (["--outcome", "denied"], ["query"]),
        (["--source", "Payroll"], ["subscription.add"]),
        (["--source", "Medical Claims"], ["explain"]),
        (["--limit", "2"], ["subscription.add", "query"]),
        (["--since", "2000-01-01", "--until", "2000-01-02"], []),
        (["--since", "2000-01-01"], ["apply", "explain", "explain", "subscription.add", "query"]),
    ],
)
def test_audit_filters(audited: GovernanceCatalog, filters: list[str], actions: list[str]) -> None:
    code, out = run(audited, "audit", *filters, "--format", "json")
    assert code == 0
    assert [r["action"] for r in json.loads(out)] == actions


def test_audit_json_records_have_every_field(audited: GovernanceCatalog) -> None:
    record = json.loads(run(audited, "audit", "--action", "explain", "--limit", "1", "--format", "json")[1])[0]
    assert set(record) == {
        "id",
        "time",
        "user",
        "impersonator",
        "project",
        "purposes",
        "sources",
        "policies",
        "action",
        "outcome",
        "detail",
    }
    assert (record["user"], record["sources"], record["detail"]) == (
        "alice",
        ["Taxi Rides"],
        {"explained_user": "carol"},
    )


def test_audit_text_is_a_table(audited: GovernanceCatalog) -> None:
    lines = run(audited, "audit", "--user", "dave")[1].splitlines()
    assert lines[0].split() == ["time", "user", "action", "outcome", "sources", "policies"]
    assert lines[2].split()[1:] == ["dave", "query", "denied", "Patients"]


def test_acting_as_another_user_with_as(catalog: GovernanceCatalog) -> None:
    code, out = run(catalog, "--as", "bob", "explain", "--source", "Medical Claims", "--format", "json")
    assert (code, json.loads(out)["user"]) == (0, "bob")
    record = json.loads(run(catalog, "audit", "--action", "explain", "--format", "json")[1])[-1]
    assert (record["user"], record["impersonator"]) == ("bob", "alice")


def test_as_without_impersonate_exits_1(catalog: GovernanceCatalog, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(as_(catalog, "bob"), "--as", "alice", "audit") == (1, "")
    assert "needs the IMPERSONATE permission" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate"], ["explain"], ["subscription"], ["subscription", "approve", "--source", "S"]],
    ids=["nothing", "unknown-command", "explain-without-source", "subscription-without-action", "approve-no-user"],
)
def test_bad_usage_exits_2(catalog: GovernanceCatalog, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(catalog, *argv)
    assert info.value.code == 2


# --- the real console script ---------------------------------------------------------------------

SCRIPT = Path(sys.executable).with_name("immuta-spark")


def script(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "HADOOP_USER_NAME": "gov", **(env or {})}
    full.pop("IMMUTA_SPARK_AUTH", None)
    return subprocess.run([str(SCRIPT), *argv], capture_output=True, text=True, env=full, timeout=120, check=False)


def test_the_console_script_with_catalog_option(catalog_url: str, tmp_path: Path) -> None:
    env = {"IMMUTA_CATALOG_URL": "sqlite:////nonexistent-directory/never.db"}
    file = write(tmp_path, SMALL)
    applied = script("--catalog", catalog_url, "apply", str(file), env=env)
    assert (applied.returncode, applied.stderr) == (0, "")
    assert applied.stdout.startswith("changed: 5 added")
    explained = script("--catalog", catalog_url, "explain", "--source", "Claims", "--format", "json", env=env)
    assert json.loads(explained.stdout)["user"] == "gov"


def test_the_console_script_with_the_environment_variable_acts_as_hadoop_user_name(
    catalog_url: str, tmp_path: Path
) -> None:
    GovernanceCatalog.open(catalog_url, identity="gov", create=True).apply(write(tmp_path, SMALL), sql_checker=None)
    env = {"IMMUTA_CATALOG_URL": catalog_url, "HADOOP_USER_NAME": "bob"}
    refused = script("explain", "--source", "Claims", "--user", "ann", env=env)
    assert refused.returncode == 1
    assert "'bob' may not explain what 'ann' sees" in refused.stderr
    (record,) = GovernanceCatalog.open(catalog_url, identity="gov").audit(outcome="denied")
    assert record.user == "bob"


def test_the_console_script_reports_a_bad_file_and_changes_nothing(catalog_url: str, tmp_path: Path) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    cat.apply(write(tmp_path, SMALL), sql_checker=None)
    before = cat.export()
    bad = write(tmp_path, SMALL.replace("mask: hash", "mask: blur"), "bad.yaml")
    result = script("apply", str(bad), env={"IMMUTA_CATALOG_URL": catalog_url})
    assert result.returncode == 1
    assert f"{bad}: sources[0].policies[0].mask: unknown mask 'blur'" in result.stderr
    assert "nothing was changed" in result.stderr
    assert cat.export() == before


def test_the_example_configuration_applies_through_main(catalog_url: str) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="alice", create=True)
    assert run(cat, "apply", str(CONF))[0] == 0


# --- commands an engine provides --------------------------------------------------------------


@pytest.mark.parametrize("installed", [False, True], ids=["no entry point", "its package does not import"])
def test_fingerprint_without_the_spark_layer_says_what_to_install(
    catalog: GovernanceCatalog, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    from importlib.metadata import EntryPoint

    from immuta_spark import cli_engine

    broken = EntryPoint("fingerprint", "immuta_spark_no_such_engine.cli:command", cli_engine.ENTRY_POINT_GROUP)
    monkeypatch.setattr(cli_engine, "entry_points", lambda group: [broken] if installed else [])
    code, out = run(catalog, "fingerprint", "--all")
    assert (code, out) == (1, "")
    err = capsys.readouterr().err
    assert "`immuta-spark fingerprint` needs the Spark layer" in err and "pip install 'immuta-spark[spark]'" in err


def test_fingerprint_names_its_sources_or_all_but_not_both(catalog: GovernanceCatalog) -> None:
    with pytest.raises(SystemExit) as exc:
        run(catalog, "fingerprint", "Claims", "--all")
    assert exc.value.code == 2
