"""Scheduled report runs, claim by claim: docpal.claim_due_report and docpal.run_claimed_report, and
the loop runner that commits each claim before its run (docpal.reports.run_due: `docpal reports
run-due`, the listener); contract section 11, docs/reports.md "Running the schedules".

Why: docpal.run_due_reports runs every due report in ONE statement. A report slow enough to
outlast the runner's statement_timeout cancels that statement (57014: no exception block catches
it), everything the call did is rolled back, the slow report stays first in line (the oldest due),
and every later call is cancelled the same way: no company's scheduled reports run again. The loop
runner claims a report (moving it to its next time, marking it "started, not finished") and
commits before running it, so a cancelled run loses only itself.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import psycopg
import pytest
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN
from docpal import reports
from helpers import fn, one, raises, set_context, table

ITEMS = table("items", {"name": "title", "type": "text"}, {"name": "n", "type": "integer"})
STARTED = "started, not finished"


def make_company(db, connect, name):
    """A company with an owner acting in it, and a table of two items: {id, schema, owner, conn}."""
    slug = f"{name.lower()}-{uuid.uuid4().hex[:8]}"
    cid = one(db, "select docpal.create_company(%s, %s)", slug, name)
    owner = one(db, "select docpal.create_user(%s, 'Owner')", f"owner-{slug}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
    co = {"id": cid, "slug": slug, "owner": owner, "schema": one(db, "select docpal.get_company(%s)->>'schema'", str(cid))}
    co["conn"] = set_context(connect(), co, owner)
    fn(co["conn"], "create_table", ITEMS)
    fn(co["conn"], "create_records", "items", [{"title": "a", "n": 1}, {"title": "b", "n": 2}])
    return co


def save(co, slug, spec=None, kind="query", schedule="0 * * * *"):
    return fn(co["conn"], "save_report", {"slug": slug, "table": "items", "kind": kind, "spec": spec or {},
                                          "schedule": schedule})


def set_due(db, co, slug, at):
    db.execute("update docpal_private.report_schedule set next_run_at = %s where company_id = %s and report = %s",
               (at, co["id"], slug))


def next_run(db, co, slug):
    return one(db, "select next_run_at from docpal_private.report_schedule where company_id = %s and report = %s",
               co["id"], slug)


def listed(co, slug):
    return next(r for r in fn(co["conn"], "list_reports") if r["slug"] == slug)


def snapshots(co, slug):
    return fn(co["conn"], "report_snapshots", slug)


def claim(conn, as_of=None):
    return one(conn, "select docpal.claim_due_report(%s)", as_of)


def run_claim(conn, claimed):
    return one(conn, "select docpal.run_claimed_report(%s)", Jsonb(claimed))


T0 = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.timezone.utc)  # a Monday, on the hour


@pytest.fixture
def a(db, connect):
    return make_company(db, connect, "Alpha")


@pytest.fixture
def b(db, connect):
    return make_company(db, connect, "Beta")


# --- the reviewer's reproduction: a report slower than the runner's statement_timeout -------------

def test_a_run_cancelled_by_statement_timeout_fails_alone(db, connect, a, b):
    """A's report is made slow (a heavy aggregate over many rows), B's is quick and due later. The
    runner's login has a statement_timeout shorter than A's run. run_due_reports in one statement
    is cancelled every time and keeps nothing; the loop runner fails A's run alone, runs B's, and
    A's report is at its next time, showing "started, not finished"."""
    db.execute("set session_replication_role = replica")  # a bulk load: no audit or event rows
    db.execute(f"insert into {a['schema']}.items (title, n) select md5(i::text), i from generate_series(1, 500000) i")
    db.execute("set session_replication_role = origin")
    db.execute(f"analyze {a['schema']}.items")
    heavy = {"metrics": {"titles": {"count_distinct": "title"}, "middle": {"percentile": ["n", 0.5]}}}
    save(a, "slow", heavy, kind="aggregate")
    save(b, "quick", {"columns": ["title"], "sort": ["title"]})
    started = time.monotonic()
    fn(a["conn"], "run_report", "slow")
    took = time.monotonic() - started
    limit_ms = max(int(took * 1000 / 4), 100)  # a quarter of the run's time (at least 100 ms)
    set_due(db, a, "slow", T0)
    set_due(db, b, "quick", T0 + dt.timedelta(minutes=1))
    clock = T0 + dt.timedelta(minutes=1)
    runner = connect(SERVICE_LOGIN)
    runner.execute(f"set statement_timeout = {limit_ms}")
    # the one-statement function: cancelled, nothing kept, and the same at every call
    for _ in range(2):
        with raises("57014"):
            one(runner, "select docpal.run_due_reports(%s)", clock)
        assert next_run(db, a, "slow") == T0 and snapshots(b, "quick") == []
    # the loop runner: A's run is cancelled (A is first: its report is the oldest due), B's runs
    assert reports.run_due(runner, clock.isoformat()) == {"ran": 1, "failed": 1}
    [snap] = snapshots(b, "quick")
    assert [r["title"] for r in snap["result"]["rows"]] == ["a", "b"]
    assert snapshots(a, "slow") == []
    assert next_run(db, a, "slow") == T0 + dt.timedelta(hours=1)  # moved by its claim, not due again now
    report = listed(a, "slow")
    assert report["last_error"]["message"] == STARTED and report["last_error"]["sqlstate"] is None
    assert dt.datetime.fromisoformat(report["last_error"]["at"]) == clock
    assert dt.datetime.fromisoformat(report["last_run_at"]) == clock
    assert listed(b, "quick")["last_error"] is None
    assert reports.run_due(runner, clock.isoformat()) == {"ran": 0, "failed": 0}


def test_the_loop_runner_stops_starting_reports_at_its_time_limit(db, connect, a):
    for slug in ("r1", "r2", "r3"):
        save(a, slug)
        set_due(db, a, slug, T0)
    svc = connect(SERVICE_LOGIN)
    assert reports.run_due(svc, T0.isoformat(), max_seconds=0) == {"ran": 1, "failed": 0, "more": True}
    assert reports.run_due(svc, T0.isoformat()) == {"ran": 2, "failed": 0}
    with pytest.raises(ValueError, match="autocommit"):
        reports.run_due(connect(SERVICE_LOGIN, autocommit=False), T0.isoformat())


# --- fairness ---------------------------------------------------------------------------------------

def test_companies_take_turns(db, connect, a, b):
    """A has 15 reports due, B one due later, C two due later still: each company gets one report
    before any gets a second, then they alternate."""
    c = make_company(db, connect, "Gamma")
    for i in range(15):
        save(a, f"a{i:02d}")
        set_due(db, a, f"a{i:02d}", T0 + dt.timedelta(seconds=i))
    save(b, "b0")
    set_due(db, b, "b0", T0 + dt.timedelta(minutes=5))
    for i in range(2):
        save(c, f"c{i}")
        set_due(db, c, f"c{i}", T0 + dt.timedelta(minutes=10, seconds=i))
    clock = T0 + dt.timedelta(minutes=30)
    svc = connect(SERVICE_LOGIN)
    names = {str(a["id"]): "A", str(b["id"]): "B", str(c["id"]): "C"}
    order = []
    while (got := claim(svc, clock)) is not None:
        order.append((names[got["company"]], got["report"]))
    assert [co for co, _ in order[:5]] == ["A", "B", "C", "A", "C"]
    assert [r for co, r in order if co == "A"] == [f"a{i:02d}" for i in range(15)]  # oldest due first
    assert len(order) == 18 and order[1] == ("B", "b0")


def test_a_company_with_a_backlog_later_joins_the_round_being_served(db, connect, a, b):
    """A's backlog is in line (turns 1..5) and two of it are served; then B gets three reports
    due: B's first goes first (B has none in line), then B's others alternate with A's from the
    turn being served, not ahead of A's whole line (nor behind it)."""
    for i in range(6):
        save(a, f"a{i}")
        set_due(db, a, f"a{i}", T0 + dt.timedelta(seconds=i))
    svc = connect(SERVICE_LOGIN)
    clock = T0 + dt.timedelta(minutes=30)
    assert [claim(svc, clock)["report"] for _ in range(3)] == ["a0", "a1", "a2"]  # A alone
    for i in range(3):
        save(b, f"b{i}")
        set_due(db, b, f"b{i}", T0 + dt.timedelta(minutes=10, seconds=i))
    order = []
    while (got := claim(svc, clock)) is not None:
        order.append(got["report"])
    assert order == ["b0", "a3", "b1", "a4", "b2", "a5"]


def test_a_company_served_last_waits_for_the_others_next_time_too(db, connect, a, b):
    """The line is kept across calls (report_schedule.turn): after A was served, B's report due
    later goes before A's next one."""
    for slug in ("x", "y"):
        save(a, slug)
        set_due(db, a, slug, T0)
    save(b, "z")
    set_due(db, b, "z", T0 + dt.timedelta(minutes=1))
    svc = connect(SERVICE_LOGIN)
    assert claim(svc, T0)["report"] in ("x", "y")  # B has nothing due yet
    assert claim(svc, T0 + dt.timedelta(minutes=2))["report"] == "z"


# --- the claim --------------------------------------------------------------------------------------

def test_claim_moves_the_report_and_marks_it_started(db, connect, a):
    save(a, "r", {"columns": ["title"]})
    set_due(db, a, "r", T0)
    svc = connect(SERVICE_LOGIN)
    assert claim(svc, T0 - dt.timedelta(seconds=1)) is None  # not due yet
    got = claim(svc, T0 + dt.timedelta(minutes=7))
    assert set(got) == {"company", "report", "due_at", "clock"}
    assert (got["company"], got["report"]) == (str(a["id"]), "r")
    assert dt.datetime.fromisoformat(got["due_at"]) == T0
    assert dt.datetime.fromisoformat(got["clock"]) == T0 + dt.timedelta(minutes=7)
    assert next_run(db, a, "r") == T0 + dt.timedelta(hours=1)
    report = listed(a, "r")
    assert report["last_error"]["message"] == STARTED
    assert claim(svc, T0 + dt.timedelta(minutes=7)) is None  # claimed once
    # its run: a snapshot, the mark cleared, the schedule untouched
    assert run_claim(svc, got) == {"ran": 1, "failed": 0}
    [snap] = snapshots(a, "r")
    assert dt.datetime.fromisoformat(snap["due_at"]) == T0
    assert dt.datetime.fromisoformat(snap["ran_at"]) == T0 + dt.timedelta(minutes=7)
    assert listed(a, "r")["last_error"] is None and next_run(db, a, "r") == T0 + dt.timedelta(hours=1)
    # a claim runs once
    assert run_claim(svc, got) == {"ran": 0, "failed": 0}
    assert len(snapshots(a, "r")) == 1


def test_claim_without_as_of_uses_now(db, connect, a):
    save(a, "r")
    db.execute("update docpal_private.report_schedule set next_run_at = now() - interval '1 minute'")
    svc = connect(SERVICE_LOGIN)
    assert claim(svc)["report"] == "r"
    assert next_run(db, a, "r") > one(db, "select now()")


def test_claim_with_a_context_is_that_companys_only(db, connect, a, b):
    save(a, "r")
    save(b, "r")
    set_due(db, a, "r", T0)
    set_due(db, b, "r", T0 - dt.timedelta(minutes=1))
    svc = connect(SERVICE_LOGIN)
    with svc.transaction():
        svc.execute("select docpal.set_context(%s, %s, true)", (a["id"], a["owner"]))
        got = claim(svc, T0)
        assert got["company"] == str(a["id"])
        assert claim(svc, T0) is None  # B's is not this context's
        assert run_claim(svc, got) == {"ran": 1, "failed": 0}
        with raises("42501"):  # a claim of another company under this context
            run_claim(svc, {**got, "company": str(b["id"])})
    assert claim(svc, T0)["company"] == str(b["id"])


def test_claim_passes_over_suspended_companies(db, connect, a, b):
    save(a, "r")
    save(b, "r")
    set_due(db, a, "r", T0 - dt.timedelta(minutes=1))
    set_due(db, b, "r", T0)
    db.execute("select docpal.suspend_company(%s, 'unpaid')", (a["id"],))
    svc = connect(SERVICE_LOGIN)
    assert claim(svc, T0)["company"] == str(b["id"])
    assert claim(svc, T0) is None and next_run(db, a, "r") == T0 - dt.timedelta(minutes=1)
    db.execute("select docpal.activate_company(%s)", (a["id"],))
    assert claim(svc, T0)["company"] == str(a["id"])


def test_a_claimed_report_replaced_or_dropped_before_its_run_is_not_run(db, connect, a):
    svc = connect(SERVICE_LOGIN)
    save(a, "r")
    set_due(db, a, "r", T0)
    got = claim(svc, T0)
    save(a, "r", {"columns": ["title"]})  # replaced: its mark is gone, its schedule is the new one's
    assert run_claim(svc, got) == {"ran": 0, "failed": 0}
    assert snapshots(a, "r") == [] and listed(a, "r")["last_error"] is None
    set_due(db, a, "r", T0)
    got = claim(svc, T0)
    one(a["conn"], "select docpal.drop_report('r')")
    assert run_claim(svc, got) == {"ran": 0, "failed": 0}
    # a company that is gone or suspended since the claim
    save(a, "s")
    set_due(db, a, "s", T0)
    got = claim(svc, T0)
    db.execute("select docpal.suspend_company(%s, 'unpaid')", (a["id"],))
    assert run_claim(svc, got) == {"ran": 0, "failed": 0}
    assert run_claim(svc, {**got, "company": str(uuid.uuid4())}) == {"ran": 0, "failed": 0}


def test_a_claimed_report_held_by_an_open_transaction_is_not_waited_for(db, connect, a):
    save(a, "r")
    set_due(db, a, "r", T0)
    svc = connect(SERVICE_LOGIN)
    svc.execute("set lock_timeout = '1s'")
    got = claim(svc, T0)
    holder = connect(autocommit=False)
    holder.execute(f"select 1 from {a['schema']}._reports where slug = 'r' for update")
    assert run_claim(svc, got) == {"ran": 0, "failed": 0}
    holder.rollback()
    assert run_claim(svc, got) == {"ran": 1, "failed": 0}


def test_a_failed_run_records_its_error(db, connect, a):
    member = one(db, "select docpal.create_user(%s, 'M')", f"m-{a['slug']}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'admin')", (a["id"], member))
    mconn = set_context(connect(), a, member)
    fn(mconn, "save_report", {"slug": "mine", "table": "items", "kind": "query", "schedule": "0 * * * *"})
    db.execute("select docpal.remove_member(%s, %s)", (a["id"], member))
    set_due(db, a, "mine", T0)
    svc = connect(SERVICE_LOGIN)
    assert run_claim(svc, claim(svc, T0)) == {"ran": 0, "failed": 1}
    err = listed(a, "mine")["last_error"]
    assert err["sqlstate"] == "42501" and err["message"] != STARTED


# --- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    [], "x", {}, {"company": None, "report": "r", "due_at": "2030-01-01", "clock": "2030-01-01"},
    {"report": "r", "due_at": "2030-01-01", "clock": "2030-01-01"},
    {"company": "not an id", "report": "r", "due_at": "2030-01-01", "clock": "2030-01-01"},
    {"company": str(uuid.uuid4()), "report": "r", "due_at": "soon", "clock": "2030-01-01"},
    {"company": str(uuid.uuid4()), "report": "r", "due_at": "2030-01-01", "clock": "2030-13-45"},
    {"company": str(uuid.uuid4()), "report": 5, "due_at": "2030-01-01", "clock": "2030-01-01"},
    {"company": str(uuid.uuid4()), "report": "r", "due_at": "2030-01-01", "clock": "2030-01-01", "extra": 1},
])
def test_a_malformed_claim_is_22023(db, connect, a, bad):
    save(a, "r")
    set_due(db, a, "r", T0)
    svc = connect(SERVICE_LOGIN)
    with raises("22023"):
        one(svc, "select docpal.run_claimed_report(%s)", Jsonb(bad))
    assert next_run(db, a, "r") == T0 and snapshots(a, "r") == []


def test_claim_and_run_are_not_for_clients(db, connect, a):
    save(a, "r")
    set_due(db, a, "r", T0)
    app = connect(APP_LOGIN)
    with raises("42501"):
        claim(app, T0)
    with raises("42501"):
        run_claim(app, {"company": str(a["id"]), "report": "r", "due_at": T0.isoformat(), "clock": T0.isoformat()})
    assert next_run(db, a, "r") == T0


def test_a_forged_context_is_42501(db, connect, a):
    svc = connect(SERVICE_LOGIN)
    svc.execute("select set_config('docpal.context', 'forged', false)")
    with raises("42501"):
        claim(svc, T0)
    with raises("42501"):
        run_claim(svc, {"company": str(a["id"]), "report": "r", "due_at": T0.isoformat(), "clock": T0.isoformat()})


# --- concurrency ------------------------------------------------------------------------------------

def test_two_concurrent_claimers_never_claim_the_same_report(db, connect, a, b):
    for co in (a, b):
        for i in range(12):
            save(co, f"r{i:02d}")
            set_due(db, co, f"r{i:02d}", T0 + dt.timedelta(seconds=i))
    claimers = [connect(SERVICE_LOGIN) for _ in range(2)]
    barrier = threading.Barrier(2)
    got: list[list[tuple]] = [[], []]
    errors = []

    def go(i):
        try:
            barrier.wait()
            while (c := claim(claimers[i], T0 + dt.timedelta(minutes=1))) is not None:
                got[i].append((c["company"], c["report"]))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    every = got[0] + got[1]
    assert len(every) == 24 and len(set(every)) == 24


def test_a_claim_held_open_is_skipped_not_waited_for(db, connect, a, b):
    save(a, "x")
    save(b, "y")
    set_due(db, a, "x", T0)
    set_due(db, b, "y", T0 + dt.timedelta(seconds=1))
    first = connect(SERVICE_LOGIN, autocommit=False)
    second = connect(SERVICE_LOGIN)
    second.execute("set lock_timeout = '1s'")
    assert claim(first, T0 + dt.timedelta(minutes=1))["report"] == "x"  # not committed yet
    assert claim(second, T0 + dt.timedelta(minutes=1))["report"] == "y"
    assert claim(second, T0 + dt.timedelta(minutes=1)) is None
    first.rollback()  # the claim undone: x is due again
    assert claim(second, T0 + dt.timedelta(minutes=1))["report"] == "x"
