"""Differential privacy's ledger: cached answers spend nothing, budgets hold under races, state outlives apply."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from immuta_spark import cli
from immuta_spark.catalog import DPTicket, GovernanceCatalog
from immuta_spark.engine import DPPlan
from immuta_spark.errors import (
    DifferentialPrivacyError,
    ImmutaSparkError,
    NotAuthorized,
    PrivacyBudgetExceeded,
    SourceNotFound,
)
from immuta_spark.schema import stamp
from immuta_spark.store import Store
from tests.unit.support import raw_rows, write

DOC = """\
version: 1
users:
  - {name: gov, permissions: [GOVERNANCE]}
  - {name: bob, groups: [Analysts]}
  - {name: carol}
  - {name: dave}
sources:
  - name: Rides
    table: db.rides
    owners: [carol]
    subscription: {anyone: {}}
    high_cardinality_column: id
    latency_tolerance: 600
    policies:
      - {name: rides-dp, type: differential_privacy, epsilon: 1, delta: 1.0e-7,
         budget: {epsilon: 3, period: 1h}}
  - name: Stops
    table: db.stops
    owners: [carol]
    subscription: {anyone: {}}
    policies:
      - {name: stops-dp, type: differential_privacy, epsilon: 0.5}
  - name: Plain
    table: db.plain
    subscription: {anyone: {}}
  - name: Payroll
    table: db.payroll
    owners: [carol]
    subscription: {individuals: [carol]}
    policies:
      - {name: payroll-dp, type: differential_privacy, epsilon: 0.5}
"""
KEY = "a" * 64


@pytest.fixture
def gov(tmp_path: Path, catalog_url: str) -> GovernanceCatalog:
    """A catalog holding DOC, acting as the governor."""
    cat = GovernanceCatalog.open(catalog_url, identity="gov", create=True)
    cat.apply(write(tmp_path, DOC), sql_checker=None)
    return cat


def as_user(cat: GovernanceCatalog, user: str) -> GovernanceCatalog:
    return GovernanceCatalog(cat.store, identity=user)


def dp_plan(cat: GovernanceCatalog, user: str, source: str) -> DPPlan:
    me = as_user(cat, user)
    found = me.plan(me.subject(), source).differential_privacy
    assert found is not None
    return found


def spends(cat: GovernanceCatalog) -> list[tuple[str, str, str, float, str]]:
    with cat.store.read() as conn:
        rows = cat.store.dp_spend_rows(conn)
    return [(r["user_name"], r["source"], r["policy"], r["epsilon"], r["status"]) for r in rows]


def answer(cat: GovernanceCatalog, user: str, key: str, text: str = '{"count": 41.7}') -> None:
    """One answered query: begin (must reserve) and finish."""
    ticket = cat.dp_begin(user=user, source="Rides", key=key, plan=dp_plan(cat, user, "Rides"), tolerance_seconds=600)
    assert ticket.cached is None and ticket.spend_id is not None
    cat.dp_finish(ticket, answer=text, tolerance_seconds=600)


def ago(seconds: float) -> str:
    return stamp(datetime.now(timezone.utc) - timedelta(seconds=seconds))


def past_spend(
    cat: GovernanceCatalog, age: float, *, epsilon: float = 1.0, status: str = "spent", source: str = "Rides"
) -> str:
    """A spend of bob's made ``age`` seconds ago, written through the store (windows tested without waiting)."""
    policy, at = {"Rides": "rides-dp", "Stops": "stops-dp"}[source], ago(age)
    with cat.store.write() as conn:
        cat.store.insert_dp_spend(
            conn, user="bob", source=source, policy=policy, epsilon=epsilon, delta=1e-7, key=KEY, status=status,
            spent_at=at,
        )  # fmt: skip
    return at


# --- answers and the cache -----------------------------------------------------------------


def test_a_query_reserves_then_spends_and_its_answer_is_cached(gov: GovernanceCatalog) -> None:
    plan = dp_plan(gov, "bob", "Rides")
    ticket = gov.dp_begin(user="bob", source="Rides", key=KEY, plan=plan, tolerance_seconds=600)
    assert ticket == DPTicket(cached=None, spend_id=ticket.spend_id)
    assert spends(gov) == [("bob", "Rides", "rides-dp", 1.0, "reserved")]
    assert gov.dp_cached("Rides", KEY) is None
    gov.dp_finish(ticket, answer='{"count": 41.7}', tolerance_seconds=600)
    assert spends(gov) == [("bob", "Rides", "rides-dp", 1.0, "spent")]
    assert gov.dp_cached("Rides", KEY) == '{"count": 41.7}'
    (record,) = gov.audit(action="dp.spend")
    assert (record.user, record.sources, record.policies, record.outcome) == ("bob", ("Rides",), ("rides-dp",), "ok")
    assert record.detail == {
        "user": "bob",
        "source": "Rides",
        "policy": "rides-dp",
        "epsilon": 1.0,
        "delta": 1e-7,
        "query_key": KEY,
    }


def test_the_identical_query_is_served_from_the_cache_and_spends_nothing(gov: GovernanceCatalog) -> None:
    answer(gov, "bob", KEY)
    for _ in range(5):  # more than the budget of 3 would allow if they spent
        ticket = gov.dp_begin(
            user="bob", source="Rides", key=KEY, plan=dp_plan(gov, "bob", "Rides"), tolerance_seconds=600
        )
        assert ticket == DPTicket(cached='{"count": 41.7}', spend_id=None)
        gov.dp_audit_cached(user="bob", source="Rides", key=KEY)
    assert spends(gov) == [("bob", "Rides", "rides-dp", 1.0, "spent")]
    assert [(r.user, r.detail) for r in gov.audit(action="dp.cached")] == [("bob", {"query_key": KEY})] * 5
    assert len(gov.audit(action="dp.spend")) == 1


def test_another_query_key_is_another_answer(gov: GovernanceCatalog) -> None:
    answer(gov, "bob", "a" * 64, '{"n": 1}')
    answer(gov, "bob", "b" * 64, '{"n": 2}')
    assert (gov.dp_cached("Rides", "a" * 64), gov.dp_cached("Rides", "b" * 64)) == ('{"n": 1}', '{"n": 2}')
    assert gov.dp_cached("Stops", "a" * 64) is None
    assert [s[4] for s in spends(gov)] == ["spent", "spent"]


def test_an_expired_answer_is_not_served(gov: GovernanceCatalog) -> None:
    with gov.store.write() as conn:
        gov.store.insert_dp_answer(
            conn, source="Rides", key=KEY, answer="old", epsilon=1.0, created_at=ago(700), expires_at=ago(100)
        )
    assert gov.dp_cached("Rides", KEY) is None
    ticket = gov.dp_begin(user="bob", source="Rides", key=KEY, plan=dp_plan(gov, "bob", "Rides"), tolerance_seconds=600)
    assert ticket.cached is None and ticket.spend_id is not None
    gov.dp_finish(ticket, answer="new", tolerance_seconds=600)
    assert gov.dp_cached("Rides", KEY) == "new"
    assert [r[3] for r in raw_rows(gov.store.url, "dp_answers")] == ["new"]  # the expired one is gone


def test_an_answer_older_than_a_shrunk_tolerance_is_not_served(gov: GovernanceCatalog) -> None:
    with gov.store.write() as conn:
        gov.store.insert_dp_answer(
            conn, source="Rides", key=KEY, answer="old", epsilon=1.0, created_at=ago(120), expires_at=ago(-480)
        )
    plan = dp_plan(gov, "bob", "Rides")
    assert gov.dp_begin(user="bob", source="Rides", key=KEY, plan=plan, tolerance_seconds=600).cached == "old"
    assert gov.dp_begin(user="bob", source="Rides", key=KEY, plan=plan, tolerance_seconds=60).cached is None


def test_a_zero_tolerance_caches_nothing(gov: GovernanceCatalog) -> None:
    plan = dp_plan(gov, "bob", "Stops")
    ticket = gov.dp_begin(user="bob", source="Stops", key=KEY, plan=plan, tolerance_seconds=0)
    gov.dp_finish(ticket, answer="x", tolerance_seconds=0)
    assert gov.dp_cached("Stops", KEY) is None
    assert gov.dp_begin(user="bob", source="Stops", key=KEY, plan=plan, tolerance_seconds=0).spend_id is not None


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_a_bad_tolerance_is_refused_storing_nothing(gov: GovernanceCatalog, bad: object) -> None:
    plan = dp_plan(gov, "bob", "Rides")
    with pytest.raises(DifferentialPrivacyError, match="pass the source's latency_tolerance"):
        gov.dp_begin(user="bob", source="Rides", key=KEY, plan=plan, tolerance_seconds=bad)  # type: ignore[arg-type]
    assert spends(gov) == []


# --- budgets -------------------------------------------------------------------------------


def test_a_query_past_the_budget_is_refused_saying_when_it_fits_again(gov: GovernanceCatalog) -> None:
    for i in range(3):
        answer(gov, "bob", f"{i:064x}")
    with gov.store.read() as conn:
        first = gov.store.dp_spend_rows(conn)[0]["spent_at"]
    before = spends(gov)
    with pytest.raises(PrivacyBudgetExceeded) as info:
        gov.dp_begin(user="bob", source="Rides", key="f" * 64, plan=dp_plan(gov, "bob", "Rides"), tolerance_seconds=600)
    retry = stamp(datetime.fromisoformat(first) + timedelta(hours=1))
    assert str(info.value) == (
        "privacy budget exceeded: user 'bob' spent epsilon 3 on 'Rides' in the last 1h, and this query needs 1 "
        f"more, past the budget of 3 per 1h; try again after {retry}, or ask a governor to raise the budget in "
        "policy 'rides-dp'"
    )
    assert (info.value.user, info.value.source, info.value.retry_at) == ("bob", "Rides", retry)
    assert isinstance(info.value, DifferentialPrivacyError) and isinstance(info.value, ImmutaSparkError)
    assert spends(gov) == before
    (denied,) = gov.audit(action="dp.budget_exceeded")
    assert (denied.user, denied.outcome, denied.policies, denied.detail["retry_at"]) == (
        "bob",
        "denied",
        ("rides-dp",),
        retry,
    )


def test_budgets_are_per_user_and_per_source(gov: GovernanceCatalog) -> None:
    for i in range(3):
        answer(gov, "bob", f"{i:064x}")
    answer(gov, "dave", "d" * 64)  # dave's own budget
    stops = dp_plan(gov, "bob", "Stops")  # no budget on Stops
    for i in range(10):
        gov.dp_begin(user="bob", source="Stops", key=f"{i:064x}", plan=stops, tolerance_seconds=600)
    assert len(spends(gov)) == 14


def test_the_retry_time_is_when_enough_old_spending_has_left_the_period(gov: GovernanceCatalog) -> None:
    past_spend(gov, 3000, epsilon=0.25)
    second = past_spend(gov, 2000, epsilon=0.5)
    past_spend(gov, 1000, epsilon=2.0)
    # 2.75 spent, 1 more needs 0.75 to leave: the first spend alone is not enough, with the second it is.
    with pytest.raises(PrivacyBudgetExceeded) as info:
        gov.dp_begin(user="bob", source="Rides", key="f" * 64, plan=dp_plan(gov, "bob", "Rides"), tolerance_seconds=600)
    assert info.value.retry_at == stamp(datetime.fromisoformat(second) + timedelta(hours=1))
    assert "spent epsilon 2.75" in str(info.value)


def test_spending_older_than_the_period_no_longer_counts(gov: GovernanceCatalog) -> None:
    for age in (3700, 3650, 3601):  # all out of the 1h window
        past_spend(gov, age)
    past_spend(gov, 3500, status="reserved")  # in it, and a reservation counts
    plan = dp_plan(gov, "bob", "Rides")
    for i in range(2):
        gov.dp_begin(user="bob", source="Rides", key=f"{i:064x}", plan=plan, tolerance_seconds=600)
    with pytest.raises(PrivacyBudgetExceeded, match="spent epsilon 3 on 'Rides'"):
        gov.dp_begin(user="bob", source="Rides", key="f" * 64, plan=plan, tolerance_seconds=600)


def test_float_epsilons_that_add_up_to_the_budget_fit(gov: GovernanceCatalog, tmp_path: Path) -> None:
    gov.apply(write(tmp_path, DOC.replace("epsilon: 1, delta", "epsilon: 0.1, delta").replace(
        "epsilon: 3, period", "epsilon: 0.3, period")), sql_checker=None)  # fmt: skip
    plan = dp_plan(gov, "bob", "Rides")
    for i in range(3):  # 0.1 + 0.1 + 0.1 is 0.30000000000000004
        gov.dp_begin(user="bob", source="Rides", key=f"{i:064x}", plan=plan, tolerance_seconds=600)
    with pytest.raises(PrivacyBudgetExceeded):
        gov.dp_begin(user="bob", source="Rides", key="f" * 64, plan=plan, tolerance_seconds=600)


# --- refunds and finishing once ----------------------------------------------------------


def test_a_refund_gives_the_epsilon_back(gov: GovernanceCatalog) -> None:
    plan = dp_plan(gov, "bob", "Rides")
    tickets = [
        gov.dp_begin(user="bob", source="Rides", key=f"{i:064x}", plan=plan, tolerance_seconds=600) for i in range(3)
    ]
    with pytest.raises(PrivacyBudgetExceeded):
        gov.dp_begin(user="bob", source="Rides", key="f" * 64, plan=plan, tolerance_seconds=600)
    gov.dp_refund(tickets[1])
    gov.dp_refund(tickets[1])  # refunded already: nothing more to do
    assert [s[4] for s in spends(gov)] == ["reserved", "reserved"]
    assert gov.dp_begin(user="bob", source="Rides", key="f" * 64, plan=plan, tolerance_seconds=600).spend_id is not None
    assert gov.dp_cached("Rides", f"{1:064x}") is None
    assert [r.detail["epsilon"] for r in gov.audit(action="dp.refund")] == [1.0]


def test_a_finished_spend_cannot_be_refunded_or_finished_again(gov: GovernanceCatalog) -> None:
    ticket = gov.dp_begin(user="bob", source="Rides", key=KEY, plan=dp_plan(gov, "bob", "Rides"), tolerance_seconds=600)
    gov.dp_finish(ticket, answer="x", tolerance_seconds=600)
    with pytest.raises(DifferentialPrivacyError, match="it is spent already, not reserved"):
        gov.dp_refund(ticket)
    with pytest.raises(DifferentialPrivacyError, match="cannot finish privacy spend"):
        gov.dp_finish(ticket, answer="y", tolerance_seconds=600)
    assert spends(gov) == [("bob", "Rides", "rides-dp", 1.0, "spent")]
    assert gov.dp_cached("Rides", KEY) == "x"
    gov.dp_refund(DPTicket(cached="x", spend_id=None))  # a cached answer reserved nothing
    with pytest.raises(DifferentialPrivacyError, match="nothing to finish"):
        gov.dp_finish(DPTicket(cached="x", spend_id=None), answer="y", tolerance_seconds=600)


def test_a_refunded_spend_cannot_be_finished(gov: GovernanceCatalog) -> None:
    ticket = gov.dp_begin(user="bob", source="Rides", key=KEY, plan=dp_plan(gov, "bob", "Rides"), tolerance_seconds=600)
    gov.dp_refund(ticket)
    with pytest.raises(DifferentialPrivacyError, match=r"it is refunded, not reserved; .* begin the query again"):
        gov.dp_finish(ticket, answer="x", tolerance_seconds=600)
    assert (spends(gov), gov.dp_cached("Rides", KEY), gov.audit(action="dp.spend")) == ([], None, [])


# --- races ---------------------------------------------------------------------------------


def test_threads_racing_for_the_last_of_a_budget_never_exceed_it(gov: GovernanceCatalog) -> None:
    plan = dp_plan(gov, "bob", "Rides")
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def ask(i: int) -> None:
        mine = GovernanceCatalog(Store(gov.store.url), identity="gov")  # a connection pool of its own
        start.wait()
        try:
            mine.dp_begin(user="bob", source="Rides", key=f"{i:064x}", plan=plan, tolerance_seconds=600)
            outcomes.append("reserved")
        except PrivacyBudgetExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused"] * 5 + ["reserved"] * 3
    assert spends(gov) == [("bob", "Rides", "rides-dp", 1.0, "reserved")] * 3


_RACER = textwrap.dedent(
    """
    import sys
    from immuta_spark.catalog import GovernanceCatalog
    from immuta_spark.errors import PrivacyBudgetExceeded
    cat = GovernanceCatalog.open(sys.argv[1], identity="gov")
    me = GovernanceCatalog(cat.store, identity="bob")
    plan = me.plan(me.subject(), "Rides").differential_privacy
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(3):
        try:
            cat.dp_begin(user="bob", source="Rides", key=sys.argv[2] + str(i), plan=plan, tolerance_seconds=600)
            print("reserved", flush=True)
        except PrivacyBudgetExceeded:
            print("refused", flush=True)
    """
)


def test_processes_racing_on_one_catalog_file_never_exceed_the_budget(gov: GovernanceCatalog) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, gov.store.url, f"p{n}-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:  # let them go together
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    said = [line for p in procs for line in p.communicate(timeout=120)[0].split()]
    assert sorted(said) == ["refused"] * 6 + ["reserved"] * 3
    assert [s[4] for s in spends(gov)] == ["reserved"] * 3


# --- state outlives apply and restarts ------------------------------------------------------


def test_spending_and_answers_survive_a_reapply_and_a_reopen(gov: GovernanceCatalog, tmp_path: Path) -> None:
    answer(gov, "bob", KEY, "kept")
    ticket = gov.dp_begin(
        user="bob", source="Rides", key="b" * 64, plan=dp_plan(gov, "bob", "Rides"), tolerance_seconds=600
    )
    before = (raw_rows(gov.store.url, "dp_answers"), raw_rows(gov.store.url, "dp_spends"))
    changed = gov.apply(write(tmp_path, DOC + "  - name: Extra\n    table: db.extra\n"), sql_checker=None)
    assert changed.added == ("source:Extra",)
    assert gov.apply(write(tmp_path, DOC), sql_checker=None).removed == ("source:Extra",)
    assert (raw_rows(gov.store.url, "dp_answers"), raw_rows(gov.store.url, "dp_spends")) == before
    reopened = GovernanceCatalog.open(gov.store.url, identity="gov")
    assert reopened.dp_cached("Rides", KEY) == "kept"
    reopened.dp_finish(ticket, answer="later", tolerance_seconds=600)  # a reservation made before the restart
    (line,) = reopened.dp_budget("bob", "Rides")
    assert (line.spent, line.queries, line.reserved) == (2.0, 2, 0)


def test_a_version_8_catalog_is_migrated_to_the_dp_tables(catalog_url: str) -> None:
    old = Store(catalog_url, create=True, target_version=8)
    assert old.version() == 8
    with old.write() as conn:
        old.bump(conn)
    new = Store(catalog_url)
    assert (new.version(), new.revision()) == (10, 1)
    assert raw_rows(catalog_url, "dp_answers") == raw_rows(catalog_url, "dp_spends") == []
    indexes = {r[1] for r in raw_rows(catalog_url, "sqlite_master") if r[0] == "index"}
    assert {"dp_answers_key", "dp_spends_window"} <= indexes


# --- budget lines and who may read them ------------------------------------------------------


def test_a_users_budget_lines_show_spending_and_what_is_left(gov: GovernanceCatalog) -> None:
    answer(gov, "bob", "a" * 64)
    answer(gov, "bob", "b" * 64)
    gov.dp_begin(user="bob", source="Rides", key="c" * 64, plan=dp_plan(gov, "bob", "Rides"), tolerance_seconds=600)
    past_spend(gov, 7200)  # outside the hour: not counted
    past_spend(gov, 86400 * 30, epsilon=0.5, source="Stops")  # no budget on Stops: everything counts
    with gov.store.read() as conn:
        last = gov.store.dp_spend_rows(conn, user="bob", source="Rides")[-1]["spent_at"]
    rides, stops = as_user(gov, "bob").dp_budget("bob")
    assert rides.to_json() == {
        "source": "Rides",
        "policy": "rides-dp",
        "epsilon": 1.0,
        "budget": 3.0,
        "period": "1h",
        "spent": 3.0,
        "remaining": 0.0,
        "queries": 2,
        "reserved": 1,
        "last_spent_at": last,
    }
    assert (stops.source, stops.budget, stops.period, stops.remaining, stops.spent, stops.queries) == (
        "Stops",
        None,
        None,
        None,
        0.5,
        1,
    )
    assert [line.source for line in as_user(gov, "bob").dp_budget("bob", "Stops")] == ["Stops"]


def test_a_source_without_dp_or_invisible_to_the_user_has_no_line(gov: GovernanceCatalog) -> None:
    assert [line.source for line in gov.dp_budget("bob")] == ["Rides", "Stops"]  # not Plain, not Payroll
    assert [line.source for line in gov.dp_budget("carol")] == ["Rides", "Stops", "Payroll"]
    assert gov.dp_budget("bob", "Plain") == []
    assert gov.dp_budget("bob", "Payroll") == []  # a governor knows it exists
    with pytest.raises(SourceNotFound):
        as_user(gov, "bob").dp_budget("bob", "Payroll")  # bob cannot tell it from a missing one
    with pytest.raises(SourceNotFound):
        gov.dp_budget("bob", "Nowhere")


def test_only_the_user_a_governor_or_the_sources_owner_may_read_a_budget(gov: GovernanceCatalog) -> None:
    answer(gov, "bob", KEY)
    assert [line.spent for line in as_user(gov, "carol").dp_budget("bob", "Rides")] == [1.0]  # carol owns Rides
    with pytest.raises(NotAuthorized, match=r"only that user, a governor \(GOVERNANCE\) or, for one source"):
        as_user(gov, "carol").dp_budget("bob")
    with pytest.raises(NotAuthorized, match="'dave' may not see the privacy budget of 'bob'"):
        as_user(gov, "dave").dp_budget("bob", "Rides")
    denied = gov.audit(action="dp.budget")
    assert [(r.user, r.outcome, r.sources, r.detail) for r in denied] == [
        ("carol", "denied", (), {"user": "bob"}),
        ("dave", "denied", ("Rides",), {"user": "bob"}),
    ]


# --- CLI ---------------------------------------------------------------------------------------


def run(cat: GovernanceCatalog, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), catalog=cat, out=out), out.getvalue()


def test_cli_dp_budget_prints_a_table(gov: GovernanceCatalog) -> None:
    answer(gov, "bob", KEY)
    code, out = run(gov, "dp", "budget", "--user", "bob")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "source",
        "policy",
        "epsilon/query",
        "budget",
        "spent",
        "remaining",
        "queries",
        "last",
        "spent",
    ]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split()[:9] == ["Rides", "rides-dp", "1", "3", "per", "1h", "1", "2", "1"]
    assert lines[3].split() == ["Stops", "stops-dp", "0.5", "-", "0", "-", "0", "-"]
    assert len(lines) == 4


def test_cli_dp_budget_json_for_one_source_and_by_default_for_yourself(gov: GovernanceCatalog) -> None:
    answer(gov, "bob", KEY)
    code, out = run(as_user(gov, "bob"), "dp", "budget", "--source", "Rides", "--json")
    assert code == 0
    (line,) = json.loads(out)
    assert (line["source"], line["spent"], line["remaining"], line["queries"]) == ("Rides", 1.0, 2.0, 1)
    assert json.loads(run(gov, "dp", "budget", "--user", "bob", "--format", "json")[1])[1]["source"] == "Stops"
    own = json.loads(run(gov, "dp", "budget", "--format", "json")[1])  # the governor's own: nothing spent
    assert [(line["source"], line["spent"]) for line in own][:2] == [("Rides", 0.0), ("Stops", 0.0)]


def test_cli_dp_budget_refused_exits_1_with_the_reason(
    gov: GovernanceCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(as_user(gov, "dave"), "dp", "budget", "--user", "bob")
    assert (code, out) == (1, "")
    assert "error: 'dave' may not see the privacy budget of 'bob'" in capsys.readouterr().err
