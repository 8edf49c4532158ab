"""``immuta-spark idp ...`` against a real directory: list, show, incremental syncs, a schedule through an outage."""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import pytest

from immuta_spark.cli import main
from immuta_spark.cli_idp import run_idp
from immuta_spark.idp.slapd_testing import start_slapd
from tests.ldap.conftest import Tree, corp_provider, make_catalog
from tests.ldap.test_idp_sync import PEOPLE


def run(cat: object, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), catalog=cat, out=out)  # type: ignore[arg-type]
    return code, out.getvalue()


def test_list_and_show_print_providers_and_their_facts(
    corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp.ldif(PEOPLE)
    cat = make_catalog(tmp_path, corp_provider(corp), monkeypatch)
    code, text = run(cat, "idp", "list", "--json")
    assert code == 0 and json.loads(text)[0]["synced_at"] is None
    assert run(cat, "idp", "sync", "--all")[0] == 0
    (listed,) = json.loads(run(cat, "idp", "list", "--json")[1])
    assert (listed["name"], listed["users"]) == ("corp", 3) and listed["synced_at"]
    facts = json.loads(run(cat, "idp", "show", "corp", "--json")[1])
    assert facts["bob"] == {"groups": ["Everyone"], "attributes": {"department": ["sales"], "manager": ["alice"]}}
    assert "sync-secret" not in run(cat, "idp", "list")[1]
    # Someone without USER_ADMIN may not read them.
    code, _ = run(cat, "--as", "bob", "idp", "show", "corp")
    assert code == 1


def test_an_incremental_sync_reads_only_what_changed(
    corp: Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corp.ldif(PEOPLE)
    cat = make_catalog(tmp_path, corp_provider(corp), monkeypatch)
    first = cat.sync_identity_provider("corp")
    assert (first.mode, first.entries_read) == ("full", 5)
    # modifyTimestamp counts whole seconds, so a read starts at the last second it saw (>=): entries
    # changed later in that second are never missed, and that second's entries are read once more.
    time.sleep(1.1)
    corp.modify(corp.user_dn("bob"), {"departmentNumber": [("replace", ["Ops"])]})
    second = cat.sync_identity_provider("corp")
    assert second.mode == "incremental"
    time.sleep(1.1)
    corp.modify(corp.user_dn("carol"), {"departmentNumber": [("add", ["Audit"])]})
    third = cat.sync_identity_provider("corp")
    assert (third.mode, third.entries_read) == ("incremental", 2)  # bob (the last second seen) and carol
    assert third.diff.attributes_added == (("carol", "department", "audit"),)
    assert second.diff.attributes_added == (("bob", "department", "ops"),)
    assert cat.sync_identity_provider("corp", full=True).diff.is_empty  # the incremental result was complete


def test_a_scheduled_sync_keeps_running_through_an_outage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suffix = "dc=sched,dc=example"
    ous = "".join(f"dn: ou={o},{suffix}\nobjectClass: organizationalUnit\nou: {o}\n\n" for o in ("people", "groups"))
    server = start_slapd(
        suffix=suffix, ldif=ous + f"dn: uid=u1,ou=people,{suffix}\nobjectClass: inetOrgPerson\ncn: u\nsn: u\nuid: u1\n"
    )
    try:
        cat = make_catalog(tmp_path, corp_provider(Tree(server, suffix)), monkeypatch)
        server.stop()
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            server.start()  # the directory comes back during the backoff

        args = argparse.Namespace(
            action="sync", name="corp", all=False, dry_run=False, force=False, full=False, every=900.0, format="json"
        )
        out = io.StringIO()
        assert run_idp(args, cat, out, sleep=sleep, runs=2) == 0
        assert slept == [1.0]  # backoff after the outage, not the whole interval
        (result,) = json.loads(out.getvalue())
        assert result["diff"]["users_added"] == ["u1"]
    finally:
        server.stop()
