"""Malformed policy files: a clear error naming the element's path, and nothing changed at all."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from immuta_spark import cli
from immuta_spark.catalog import GovernanceCatalog
from immuta_spark.errors import PolicyFileError
from tests.unit.conftest import CONF
from tests.unit.support import applied_catalog, catalog_state, write

# A valid document; each case below breaks one thing in it (or in a variant of it).
USERS = """\
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: bob, groups: [Analysts], attributes: {Office: [Ohio]}}
"""
PURPOSES = """\
purposes:
  - {name: Research, acknowledgement: "Research only."}
"""
SOURCE = """\
sources:
  - name: Claims
    table: db.claims
    owners: [gov]
    columns: {ssn: [PII.SSN]}
    event_time: day
    high_cardinality_column: id
    dictionary:
      - {name: id, type: bigint}
      - {name: ssn, type: string}
      - {name: state, type: string}
      - {name: amount, type: double}
      - {name: day, type: date}
"""
BASE = USERS + PURPOSES + SOURCE


def doc(*lines: str, base: str = BASE) -> str:
    """The base document followed by ``lines``."""
    return base + "\n".join(lines) + "\n"


def global_policy(body: str) -> str:
    """The base document with one global policy."""
    return doc("policies:", f"  - {body}")


def local_policy(body: str) -> str:
    """The base document with one local policy on Claims."""
    return doc("    policies:", f"      - {body}")


def extra_user(line: str) -> str:
    """The base document with one more user."""
    return USERS + f"  - {line}\n" + PURPOSES + SOURCE


def with_source_key(line: str) -> str:
    """The base document with one more key on the Claims source."""
    return doc(f"    {line}")


# (id, text, error path, message fragment)
CASES: list[tuple[str, str, str, str]] = [
    ("unclosed-flow-list", "version: 1\nusers: [\n", "line 3, column 1", "not valid YAML"),
    ("tab-indentation", "version: 1\nusers:\n\t- {name: a}\n", "line 3, column 1", "not valid YAML"),
    ("empty-file", "", "<document>", "expected a mapping, got nothing"),
    ("top-level-list", "- version: 1\n", "<document>", "expected a mapping, got list"),
    ("no-version", "users: []\n", "<document>", "missing required key 'version'"),
    ("version-2", "version: 2\n", "version", "unsupported version 2"),
    ("version-as-text", "version: '1'\n", "version", "unsupported version '1'"),
    ("unknown-top-level-key", "version: 1\nsourcez: []\n", "sourcez", "unknown key"),
    ("users-not-a-list", "version: 1\nusers: {name: a}\n", "users", "expected a list"),
    ("unknown-user-key", extra_user("{name: carol, role: admin}"), "users[2].role", "unknown key"),
    (
        "unknown-permission",
        extra_user("{name: carol, permissions: [READ, ROOT]}"),
        "users[2].permissions[0]",
        "unknown permission 'READ'",
    ),
    ("duplicate-user", extra_user("{name: bob}"), "users[2].name", "duplicate name 'bob'"),
    (
        "attribute-values-not-a-list",
        extra_user("{name: carol, attributes: {Office: Ohio}}"),
        "users[2].attributes.Office",
        "expected a list",
    ),
    (
        "settings-cutoff-zero",
        doc("settings: {k_anonymization_cardinality_cutoff: 0}"),
        "settings.k_anonymization_cardinality_cutoff",
        "must be at least 1",
    ),
    (
        "relative-workspace-root",
        doc("settings: {workspace_root: user/immuta}"),
        "settings.workspace_root",
        "absolute path",
    ),
    (
        "lease-cap-zero",
        doc("settings: {workspace_lease_max_seconds: 0}"),
        "settings.workspace_lease_max_seconds",
        "must be at least 1",
    ),
    (
        "governance-setting-not-boolean",
        doc("settings: {governance: {purpose_required: sometimes}}"),
        "settings.governance.purpose_required",
        "expected true or false",
    ),
    (
        "unknown-governance-setting",
        doc("settings: {governance: {purpose_optional: true}}"),
        "settings.governance.purpose_optional",
        "unknown key",
    ),
    (
        "purpose-with-empty-level",
        doc(base=BASE.replace("purposes:\n", "purposes:\n  - {name: Research..Customer}\n")),
        "purposes[0].name",
        "invalid dotted purpose name 'Research..Customer'",
    ),
    (
        "table-without-database",
        BASE.replace("table: db.claims", "table: claims"),
        "sources[0].table",
        "expected 'database.table'",
    ),
    (
        "two-sources-one-table",
        doc("  - {name: Claims again, table: DB.Claims}"),
        "sources[1].table",
        "already governed by sources[0]",
    ),
    ("duplicate-source", doc("  - {name: Claims, table: db.other}"), "sources[1].name", "duplicate name 'Claims'"),
    ("unknown-owner", BASE.replace("owners: [gov]", "owners: [ghost]"), "sources[0].owners[0]", "unknown user 'ghost'"),
    ("unknown-subscriber", with_source_key("subscribers: [bob, ghost]"), "sources[0].subscribers[1]", "unknown user"),
    ("unknown-source-key", with_source_key("sensitivity: high"), "sources[0].sensitivity", "unknown key"),
    (
        "tag-on-unknown-column",
        BASE.replace("columns: {ssn: [PII.SSN]}", "columns: {zip: [PII]}"),
        "sources[0].columns.zip",
        "unknown column 'zip'",
    ),
    (
        "event-time-unknown-column",
        BASE.replace("event_time: day", "event_time: created"),
        "sources[0].event_time",
        "unknown column 'created'",
    ),
    (
        "negative-latency",
        with_source_key("latency_tolerance: -1"),
        "sources[0].latency_tolerance",
        "must be at least 0",
    ),
    (
        "duplicate-dictionary-column",
        with_source_key("").replace("      - {name: day, type: date}", "      - {name: id, type: int}"),
        "sources[0].dictionary[4].name",
        "duplicate column 'id'",
    ),
    (
        "two-subscription-kinds",
        with_source_key("subscription: {anyone: {}, individuals: [bob]}"),
        "sources[0].subscription",
        "exactly one subscription kind",
    ),
    (
        "anyone-with-settings",
        with_source_key("subscription: {anyone: {approvers: [owner]}}"),
        "sources[0].subscription.anyone",
        "takes no settings",
    ),
    (
        "bad-approver",
        with_source_key("subscription: {approval: {approvers: [boss]}}"),
        "sources[0].subscription.approval.approvers[0]",
        "expected 'owner', 'governance' or {group: G}",
    ),
    (
        "duplicate-approver",
        with_source_key("subscription: {approval: {approvers: [owner, owner]}}"),
        "sources[0].subscription.approval.approvers",
        "duplicate approver",
    ),
    (
        "individuals-unknown-user",
        with_source_key("subscription: {individuals: [ghost]}"),
        "sources[0].subscription.individuals[0]",
        "unknown user 'ghost'",
    ),
    (
        "local-subscription-policy",
        local_policy("{name: s, type: subscription, anyone: {}}"),
        "sources[0].policies[0].type",
        "goes under its 'subscription' key",
    ),
    ("unknown-policy-type", global_policy("{name: p, type: redact}"), "policies[0].type", "unknown policy type"),
    ("policy-without-type", global_policy("{name: p, mask: hash}"), "policies[0]", "missing required key 'type'"),
    (
        "bad-regex",
        doc(
            "policies:",
            "  - {name: p0, type: masking, columns: {tagged: PII}, mask: hash}",
            "  - {name: p1, type: masking, columns: {tagged: PII}, mask: 'null'}",
            "  - {name: p2, type: masking, columns: {tagged: PII}, mask: {constant: X}}",
            "  - {name: p3, type: masking, columns: {tagged: PII}, mask: {regex: {pattern: '(\\d+', replacement: X}}}",
        ),
        "policies[3].mask.regex.pattern",
        "invalid regular expression",
    ),
    (
        "empty-regex",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: {regex: {pattern: '', replacement: X}}}"),
        "policies[0].mask.regex.pattern",
        "invalid regular expression: empty pattern",
    ),
    (
        "regex-replacement-missing-group",
        global_policy(
            "{name: p, type: masking, columns: {tagged: PII}, mask: {regex: {pattern: '(\\d+)$', replacement: '$2'}}}"
        ),
        "policies[0].mask.regex.replacement",
        "refers to a group the pattern does not have",
    ),
    (
        "regex-replacement-lone-dollar",
        global_policy(
            "{name: p, type: masking, columns: {tagged: PII}, mask: {regex: {pattern: '\\d+', replacement: 'US$'}}}"
        ),
        "policies[0].mask.regex.replacement",
        "'$' must be followed by a group number",
    ),
    (
        "regex-without-replacement",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: {regex: {pattern: x}}}"),
        "policies[0].mask.regex",
        "missing required key 'replacement'",
    ),
    (
        "unknown-mask",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: blur}"),
        "policies[0].mask",
        "unknown mask 'blur'",
    ),
    (
        "two-mask-kinds",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: {constant: X, round: 5}}"),
        "policies[0].mask",
        "exactly one mask kind",
    ),
    (
        "round-to-a-week",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: {round: week}}"),
        "policies[0].mask.round",
        "expected a positive number or one of hour, day, month, year",
    ),
    (
        "round-negative",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: {round: -5}}"),
        "policies[0].mask.round",
        "must be positive",
    ),
    (
        "k-of-one",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: {k_anonymize: 1}}"),
        "policies[0].mask.k_anonymize",
        "must be at least 2",
    ),
    (
        "constant-list",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: {constant: [a, b]}}"),
        "policies[0].mask.constant",
        "expected a single value",
    ),
    (
        "constant-not-a-number",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: {constant: .nan}}"),
        "policies[0].mask.constant",
        "expected a single value",
    ),
    (
        "masking-without-columns",
        global_policy("{name: p, type: masking, mask: hash}"),
        "policies[0]",
        "needs 'columns'",
    ),
    (
        "columns-tagged-and-named",
        global_policy("{name: p, type: masking, columns: {tagged: PII, names: [ssn]}, mask: hash}"),
        "policies[0].columns",
        "exactly one of 'tagged: TAG' and 'names: [...]'",
    ),
    (
        "local-mask-on-unknown-column",
        local_policy("{name: p, type: masking, columns: {names: [zip]}, mask: hash}"),
        "sources[0].policies[0].columns.names[0]",
        "unknown column 'zip'",
    ),
    (
        "rules-without-otherwise",
        global_policy(
            "{name: p, type: masking, columns: {tagged: PII}, rules: [{who: {groups: [A]}, mask: hash}, "
            "{who: {groups: [B]}, mask: 'null'}]}"
        ),
        "policies[0].rules[1]",
        "the last rule must be a blanket {otherwise: ...}",
    ),
    (
        "otherwise-not-last",
        global_policy(
            "{name: p, type: masking, columns: {tagged: PII}, rules: [{otherwise: {mask: hash}}, "
            "{who: {groups: [B]}, mask: 'null'}]}"
        ),
        "policies[0].rules[0]",
        "'otherwise' must be the last rule",
    ),
    (
        "only-otherwise",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, rules: [{otherwise: {mask: hash}}]}"),
        "policies[0].rules",
        "needs at least one {who: ...} rule",
    ),
    (
        "mask-beside-rules",
        global_policy(
            "{name: p, type: masking, columns: {tagged: PII}, mask: hash, "
            "rules: [{who: {groups: [A]}}, {otherwise: {mask: hash}}]}"
        ),
        "policies[0].mask",
        "put this inside each rule",
    ),
    (
        "except-and-rules",
        global_policy(
            "{name: p, type: masking, columns: {tagged: PII}, except: {groups: [A]}, "
            "rules: [{who: {groups: [A]}}, {otherwise: {mask: hash}}]}"
        ),
        "policies[0]",
        "give only one of 'for', 'except' and 'rules'",
    ),
    (
        "for-a-group",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: hash, for: {groups: [A]}}"),
        "policies[0].for",
        "'for' takes only 'everyone'",
    ),
    (
        "empty-condition",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: hash, except: {}}"),
        "policies[0].except",
        "an empty condition",
    ),
    (
        "unknown-condition-key",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: hash, except: {roles: [A]}}"),
        "policies[0].except.roles",
        "unknown key",
    ),
    (
        "condition-unknown-purpose",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: hash, except: {purposes: [Fraud]}}"),
        "policies[0].except.purposes[0]",
        "unknown purpose 'Fraud'",
    ),
    (
        "nested-condition-empty-group-list",
        global_policy(
            "{name: p, type: masking, columns: {tagged: PII}, mask: hash, "
            "except: {any: [{users: [bob]}, {groups: []}]}}"
        ),
        "policies[0].except.any[1].groups",
        "list at least one value",
    ),
    (
        "match-attribute-and-groups",
        global_policy("{name: p, type: row, match: {attribute: Office, groups: true, column: state}}"),
        "policies[0].match",
        "give exactly one of 'attribute: NAME' and 'groups: true'",
    ),
    (
        "match-groups-false",
        global_policy("{name: p, type: row, match: {groups: false, column: state}}"),
        "policies[0].match.groups",
        "write 'groups: true'",
    ),
    (
        "two-row-forms",
        global_policy("{name: p, type: row, where: 'a = 1', minimize: 10}"),
        "policies[0]",
        "give only one of: where, minimize",
    ),
    (
        "row-policy-without-form",
        global_policy("{name: p, type: row}"),
        "policies[0]",
        "a row policy needs one of: match, where, time_window, minimize",
    ),
    (
        "time-window-in-weeks",
        local_policy("{name: p, type: row, time_window: 4w}"),
        "sources[0].policies[0].time_window",
        "units m, h, d",
    ),
    (
        "time-window-without-event-time",
        BASE.replace("    event_time: day\n", "") + "    policies:\n      - {name: p, type: row, time_window: 30d}\n",
        "sources[0].policies[0].time_window",
        "needs the source's 'event_time' column",
    ),
    ("minimize-zero", global_policy("{name: p, type: row, minimize: 0}"), "policies[0].minimize", "above 0"),
    (
        "minimize-without-high-cardinality-column",
        BASE.replace("    high_cardinality_column: id\n", "")
        + "    policies:\n      - {name: p, type: row, minimize: 10}\n",
        "sources[0].policies[0].minimize",
        "needs the source's 'high_cardinality_column'",
    ),
    (
        "purpose-limit-unknown-purpose",
        global_policy("{name: p, type: purpose, purposes: [Marketing]}"),
        "policies[0].purposes[0]",
        "unknown purpose 'Marketing'",
    ),
    (
        "dp-epsilon-zero",
        global_policy("{name: p, type: differential_privacy, epsilon: 0}"),
        "policies[0].epsilon",
        "epsilon must be positive",
    ),
    (
        "dp-bounds-reversed",
        global_policy("{name: p, type: differential_privacy, epsilon: 1, bounds: {amount: [10, 1]}}"),
        "policies[0].bounds.amount",
        "low (10) must be below high (1)",
    ),
    (
        "scope-unknown-source",
        global_policy("{name: p, type: masking, sources: {names: [Claimz]}, columns: {tagged: PII}, mask: hash}"),
        "policies[0].sources.names[0]",
        "unknown data source 'Claimz'",
    ),
    (
        "restricted-without-owners",
        global_policy("{name: p, type: masking, owners: [], columns: {tagged: PII}, mask: hash}"),
        "policies[0].owners",
        "names at least one owner",
    ),
    (
        "restricted-unknown-owner",
        global_policy("{name: p, type: masking, owners: [ghost], columns: {tagged: PII}, mask: hash}"),
        "policies[0].owners[0]",
        "unknown user 'ghost'",
    ),
    (
        "priority-not-a-number",
        global_policy("{name: p, type: masking, columns: {tagged: PII}, mask: hash, priority: high}"),
        "policies[0].priority",
        "expected a whole number",
    ),
    (
        "duplicate-global-policy",
        doc(
            "policies:",
            "  - {name: p, type: masking, columns: {tagged: PII}, mask: hash}",
            "  - {name: p, type: row, where: 'state = 1'}",
        ),
        "policies[1].name",
        "duplicate name 'p' (also at policies[0])",
    ),
    (
        "duplicate-local-policy",
        doc(
            "    policies:",
            "      - {name: p, type: masking, columns: {names: [ssn]}, mask: hash}",
            "      - {name: p, type: row, where: 'state = 1'}",
        ),
        "sources[0].policies[1].name",
        "duplicate policy name 'p'",
    ),
    (
        "local-policy-named-like-a-global-one",
        doc(
            "    policies:",
            "      - {name: p, type: masking, columns: {names: [ssn]}, mask: hash}",
            "policies:",
            "  - {name: p, type: row, where: 'state = 1'}",
        ),
        "sources[0].policies[0].name",
        "also the name of global policies[0]",
    ),
    (
        "project-unknown-owner",
        doc("projects:", "  - {name: P, owner: ghost}"),
        "projects[0].owner",
        "unknown user 'ghost'",
    ),
    (
        "project-unknown-member",
        doc("projects:", "  - {name: P, owner: gov, members: [bob, mallory]}"),
        "projects[0].members[1]",
        "unknown user 'mallory'",
    ),
    (
        "project-unknown-purpose",
        doc("projects:", "  - {name: P, owner: gov, purposes: [Fraud]}"),
        "projects[0].purposes[0]",
        "unknown purpose 'Fraud'",
    ),
    (
        "project-unknown-source",
        doc("projects:", "  - {name: P, owner: gov, sources: [Payroll]}"),
        "projects[0].sources[0]",
        "unknown data source 'Payroll'",
    ),
    (
        "project-equalization-not-boolean",
        doc("projects:", "  - {name: P, owner: gov, equalization: maybe}"),
        "projects[0].equalization",
        "expected true or false",
    ),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[GovernanceCatalog, str]:
    """One catalog holding conf/governance.yaml for every case: each case checks it is left unchanged."""
    return applied_catalog(tmp_path_factory.mktemp("errors"), CONF)


def test_there_are_at_least_thirty_malformed_inputs() -> None:
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("text", "path", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_malformed_file_names_the_path_and_changes_nothing(
    shared: tuple[GovernanceCatalog, str], tmp_path: Path, text: str, path: str, fragment: str
) -> None:
    catalog, catalog_url = shared
    before = catalog_state(catalog, catalog_url)
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyFileError) as info:
        catalog.apply(file, sql_checker=None)
    assert info.value.path == path
    assert fragment in info.value.reason
    assert str(info.value).startswith(f"{file}: {path}: ")
    assert catalog_state(catalog, catalog_url) == before


CLI_CASES = [c for c in CASES if c[0] in {"unclosed-flow-list", "bad-regex", "project-unknown-member", "no-version"}]


@pytest.mark.parametrize(("text", "path", "fragment"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_apply_of_a_malformed_file_exits_1_and_says_nothing_was_changed(
    shared: tuple[GovernanceCatalog, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    path: str,
    fragment: str,
) -> None:
    catalog, catalog_url = shared
    before = catalog_state(catalog, catalog_url)
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    out = io.StringIO()
    assert cli.main(["apply", str(file)], catalog=catalog, out=out) == 1
    err = capsys.readouterr().err
    assert f"{path}: " in err
    assert fragment in err
    assert "nothing was changed" in err
    assert out.getvalue() == ""
    assert catalog_state(catalog, catalog_url) == before


def test_a_missing_file_is_a_policy_file_error(catalog: GovernanceCatalog, tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="cannot read the file"):
        catalog.apply(tmp_path / "absent.yaml", sql_checker=None)


def test_the_base_document_of_these_cases_is_itself_valid(tmp_path: Path, catalog_url: str) -> None:
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    result = cat.apply(write(tmp_path, BASE), sql_checker=None)
    assert "source:Claims" in result.added
