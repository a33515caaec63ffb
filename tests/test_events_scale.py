"""Events at scale (issue 19): a poll without a context visits only the
companies that may have something new for the consumer.

Writers leave a hint per (transaction, company) in
docpal_private.event_hints (insert-only: no row two writers update); each
consumer that polls without a context reads the hints by snapshots
(docpal_private.event_sweep) into its list of due companies, and goes once
through every company when it is new to that. These tests check the
contract's guarantees on that path with real connections: a transaction
that commits late is never missed, two consumers each see everything,
nothing is lost when hints are cleaned or a sweep row expires, and an idle
company is not visited (counted with track_functions)."""

from __future__ import annotations

import pytest

from conftest import SERVICE_LOGIN
from helpers import fn, one, set_context

from test_events import NOTES, TAGS, ack, create, make_company, poll, replay, writer


def drain_all(conn, consumer):
    """Every event the consumer has pending, polled and acknowledged in batches."""
    got = []
    while True:
        events = poll(conn, consumer, 1000)
        if not events:
            return got
        ack(conn, consumer, events[-1]["event_id"])
        got += events


@pytest.fixture
def companies(db, connect):
    """Four companies with a notes table, each with a service connection acting as its owner."""
    out = []
    for _ in range(4):
        co = make_company(db, "scale")
        co["conn"] = writer(connect, co)
        fn(co["conn"], "create_table", TAGS)
        fn(co["conn"], "create_table", NOTES)
        out.append(co)
    return out


@pytest.fixture
def counted(db, dburl, connect):
    """A service connection without a context whose function calls are counted."""
    db.execute(f'alter database "{db.info.dbname}" set track_functions = \'all\'')
    return connect(SERVICE_LOGIN)


def visits(conn, consumer, max=1000):
    """(events, how many companies the poll visited), polled in a transaction that is then committed."""
    count = ("select coalesce(sum(calls), 0)::int from pg_stat_xact_user_functions"
             " where schemaname = 'docpal_private' and funcname = 'event_batch'")
    with conn.transaction():  # the counts also hold earlier transactions' not yet flushed: a difference
        before = one(conn, count)
        events = poll(conn, consumer, max)
        calls = one(conn, count) - before
    return events, calls


def hints(db, company=None):
    if company is None:
        return one(db, "select count(*)::int from docpal_private.event_hints")
    return one(db, "select count(*)::int from docpal_private.event_hints where company_schema = %s", company["schema"])


def test_one_hint_per_transaction_and_company(db, companies, connect):
    a, b = companies[:2]
    before = hints(db, a)
    w = writer(connect, a, autocommit=False)
    for i in range(3):
        create(w, "notes", {"title": f"n{i}"})
    w.commit()
    assert hints(db, a) == before + 1
    create(w, "notes", {"title": "later"})
    w.rollback()  # rolled back: no hint either
    assert hints(db, a) == before + 1
    assert hints(db, b) == 0  # schema changes write no events, hence no hint


def test_a_poll_visits_only_companies_with_something_new(companies, counted):
    first, rest = companies[0], companies[1:]
    for co in companies:
        create(co["conn"], "notes", {"title": "x"})
    # the consumer's first polls go through every company once
    assert len(drain_all(counted, "scale")) == len(companies)
    assert visits(counted, "scale") == ([], 0)  # nothing new: no company visited
    rec = create(first["conn"], "notes", {"title": "new"})
    events, calls = visits(counted, "scale")
    assert [e["record_id"] for e in events] == [rec["id"]] and calls == 1
    ack(counted, "scale", events[-1]["event_id"])
    # the batch that visit opened covers everything then committed: no visit more
    assert visits(counted, "scale") == ([], 0)
    for co in rest:  # the others were never visited again, and their events are all consumed
        assert poll(set_context(counted, co, co["owner"]), "scale") == []


def test_late_commit_in_an_idle_company_is_not_missed(companies, connect):
    """Two real writer connections: A takes the smaller id and commits after B's event was
    delivered and the consumer's sweep moved on."""
    svc = connect(SERVICE_LOGIN)
    x, y = companies[0], companies[1]
    drain_all(svc, "late")
    a = writer(connect, x, autocommit=False)
    rec_a = create(a, "notes", {"title": "A"})  # x's hint is not committed yet
    rec_b = create(y["conn"], "notes", {"title": "B"})
    events = poll(svc, "late")
    assert [e["record_id"] for e in events] == [rec_b["id"]]
    ack(svc, "late", events[-1]["event_id"])
    assert poll(svc, "late") == []
    rec_c = create(x["conn"], "notes", {"title": "C"})  # a later commit in x, before A's
    events = poll(svc, "late")
    assert [e["record_id"] for e in events] == [rec_c["id"]]
    c_id = events[0]["event_id"]
    ack(svc, "late", c_id)
    assert poll(svc, "late") == []
    a.commit()
    events = poll(svc, "late")
    assert [e["record_id"] for e in events] == [rec_a["id"]] and events[0]["event_id"] < c_id
    ack(svc, "late", events[-1]["event_id"])
    assert poll(svc, "late") == []


def test_two_consumers_and_cleaned_hints(db, companies, connect):
    one_, two = connect(SERVICE_LOGIN), connect(SERVICE_LOGIN)
    drain_all(one_, "one")
    drain_all(two, "two")
    recs = [create(co["conn"], "notes", {"title": "n"})["id"] for co in companies]
    # "one" drains and cleans the hints it may: "two" has not read them, so they stay
    assert [e["record_id"] for e in drain_all(one_, "one")] == recs
    assert hints(db) >= len(companies)
    assert [e["record_id"] for e in drain_all(two, "two")] == recs
    drain_all(one_, "one")
    drain_all(two, "two")
    create(companies[0]["conn"], "notes", {"title": "m"})
    drain_all(one_, "one")
    drain_all(two, "two")  # both have read every hint now: the next sweep with news deletes them
    create(companies[0]["conn"], "notes", {"title": "o"})
    drain_all(one_, "one")
    assert hints(db) <= 2
    # a new consumer after the hints are gone still gets every event the outbox holds
    assert len(drain_all(connect(SERVICE_LOGIN), "three")) == len(companies) + 2


def test_expired_sweep_row_means_a_new_pass_and_nothing_lost(db, companies, connect):
    svc = connect(SERVICE_LOGIN)
    drain_all(svc, "idle")
    recs = [create(co["conn"], "notes", {"title": "n"})["id"] for co in companies]
    db.execute("update docpal_private.event_sweeps set updated_at = now() - interval '2 days' where consumer = 'idle'")
    one(svc, "select docpal.maintain_events()")
    assert one(db, "select count(*)::int from docpal_private.event_sweeps where consumer = 'idle'") == 0
    assert hints(db) == 0  # no consumer sweeps any more: nobody needs them
    assert [e["record_id"] for e in drain_all(svc, "idle")] == recs


def test_company_made_after_the_pass_and_replay_without_context(db, companies, connect):
    svc = connect(SERVICE_LOGIN)
    drain_all(svc, "later")
    co = make_company(db, "newer")
    conn = writer(connect, co)
    fn(conn, "create_table", TAGS)
    fn(conn, "create_table", NOTES)
    rec = create(conn, "notes", {"title": "first"})
    events = drain_all(svc, "later")
    assert [e["record_id"] for e in events] == [rec["id"]]
    # replay without a context: the settled company comes again
    replay(svc, "later", events[0]["event_id"])
    assert [e["record_id"] for e in drain_all(svc, "later")] == [rec["id"]]
    # and a replay to a point after everything: nothing, then the next event
    rec2 = create(conn, "notes", {"title": "second"})
    assert [e["record_id"] for e in drain_all(svc, "later")] == [rec2["id"]]


def test_second_worker_while_the_sweep_row_is_held(companies, connect):
    w1, w2 = connect(SERVICE_LOGIN, autocommit=False), connect(SERVICE_LOGIN)
    w1.execute("set statement_timeout = '5s'")
    w2.execute("set statement_timeout = '5s'")
    w1.commit()
    drain_all(w2, "pair")
    recs = [create(co["conn"], "notes", {"title": "n"})["id"] for co in companies[:2]]
    got1 = poll(w1, "pair", 1)  # holds the sweep row and the first company's batch
    assert [e["record_id"] for e in got1] == recs[:1]
    got2 = poll(w2, "pair")  # never waits: the second company, from what is due
    assert [e["record_id"] for e in got2] == recs[1:]
    ack(w2, "pair", got2[-1]["event_id"])
    ack(w1, "pair", got1[-1]["event_id"])
    w1.commit()
    assert drain_all(w2, "pair") == []


def test_kept_hints_are_never_scanned(db, companies, counted):
    """A consumer that stopped polling keeps hints (a day of them); another consumer's polls
    read none of those: no scan of event_hints, with nothing new or with news."""
    scans = ("select coalesce(sum(seq_scan), 0)::int from pg_stat_xact_user_tables"
             " where schemaname = 'docpal_private' and relname = 'event_hints'")
    for co in companies:
        create(co["conn"], "notes", {"title": "x"})
    drain_all(counted, "busy")
    drain_all(counted, "gone")
    # "gone" stops polling with an old snapshot: it holds every hint from xid 3 on
    db.execute("update docpal_private.event_sweeps set swept = '3:3:' where consumer = 'gone'")
    top = one(db, "select pg_snapshot_xmin(swept)::text::bigint from docpal_private.event_sweeps"
                  " where consumer = 'busy'")
    # 20,000 of them, all read by "busy" (below its snapshot's xmin): a table where a scan
    # would be the planner's choice only if the statements allowed no other
    db.execute("insert into docpal_private.event_hints select (3 + g %% greatest(%s::bigint - 3, 1))::text::xid8,"
               " 'kept_' || g from generate_series(1, 20000) g on conflict do nothing", (top,))
    db.execute("analyze docpal_private.event_hints")
    kept = hints(db)
    with counted.transaction():  # the counts also hold earlier transactions' not yet flushed
        before = one(counted, scans)
        assert poll(counted, "busy") == []
        assert one(counted, scans) == before
    rec = create(companies[0]["conn"], "notes", {"title": "new"})
    with counted.transaction():
        before = one(counted, scans)
        events = poll(counted, "busy")
        assert [e["record_id"] for e in events] == [rec["id"]]
        ack(counted, "busy", events[-1]["event_id"])
        assert one(counted, scans) == before
    assert hints(db) == kept + 1  # held by "gone": nothing deleted


def test_a_page_of_an_open_batch_reads_no_outbox_from_its_start(db, companies, counted):
    """The later pages of a batch (the outbox drain): an index range past what is
    acknowledged, never a scan of the outbox (which made a drain quadratic in its size)."""
    co = companies[0]
    drain_all(counted, "pages")
    db.execute(f"""insert into "{co['schema']}"._events ("table", record_id, action, version, changed)
                   select 'notes', gen_random_uuid(), 'INSERT', 1, '{{title}}' from generate_series(1, 5000)""")
    db.execute(f'analyze "{co["schema"]}"._events')
    scans = ("select coalesce(sum(seq_scan), 0)::int from pg_stat_xact_user_tables"
             " where schemaname = %s and relname = '_events'")
    seen = []
    for _ in range(3):
        with counted.transaction():  # the counts also hold earlier transactions' not yet flushed
            before = one(counted, scans, co["schema"])
            events = poll(counted, "pages", 1000)
            if seen:  # the batch opened in the first poll
                assert one(counted, scans, co["schema"]) == before
            ack(counted, "pages", events[-1]["event_id"])
        seen += events
    assert len(seen) == 3000 and [e["event_id"] for e in seen] == sorted(e["event_id"] for e in seen)


def test_a_poll_keeps_the_locks_of_a_bounded_number_of_visits(db, companies, counted):
    """A visit holds locks to the end of the poll's transaction: a visit that finds nothing
    gives them back, and a poll stops after event_pass_limit() visits that found events, so a
    new consumer's pass through every company goes on over several polls, none skipped, and
    an empty answer still means nothing is pending."""
    assert one(db, "select docpal_private.event_pass_limit()") == 1000
    db.execute("create or replace function docpal_private.event_pass_limit() returns integer"
               " language sql immutable set search_path = pg_catalog, pg_temp as 'select 2'")
    # outboxes without events: the pass visits them all and keeps no lock on any
    with counted.transaction():
        assert poll(counted, "empty-first") == []
        held = one(counted, "select count(*) from pg_locks l join pg_class c on c.oid = l.relation"
                            " where l.pid = pg_backend_pid() and c.relname ~ '^_events'")
    assert held == 0
    recs = [create(co["conn"], "notes", {"title": "before"})["id"] for co in companies]
    got, polls = [], 0
    while events := poll(counted, "capped", 1000):
        assert len({e["company_id"] for e in events}) <= 2
        ack(counted, "capped", events[-1]["event_id"])
        got += events
        polls += 1
        assert polls < 20
    assert [e["record_id"] for e in got] == recs and polls >= 2
    # the pass done, nothing is visited again; a later event comes at once
    assert visits(counted, "capped") == ([], 0)
    rec = create(companies[0]["conn"], "notes", {"title": "after"})
    events, calls = visits(counted, "capped")
    assert [e["record_id"] for e in events] == [rec["id"]] and calls == 1


def test_hint_trigger_is_on_every_outbox(db, companies):
    for co in companies:
        assert one(db, "select count(*)::int from pg_trigger where tgrelid = %s::regclass"
                       " and tgname = '_docpal_event_hint'", f'{co["schema"]}._events') == 1


def test_outbox_page_is_the_same_with_and_without_workflows(companies, connect):
    """The page of a batch is built two ways (docpal_private.event_batch): the same keys."""
    co = companies[0]
    svc = connect(SERVICE_LOGIN)
    drain_all(svc, "shape")
    create(co["conn"], "notes", {"title": "plain"})
    fn(co["conn"], "create_event_rule", {"table": "notes", "workflow": "wf", "when": {"title": "flow"}})
    create(co["conn"], "notes", {"title": "flow"})
    events = drain_all(svc, "shape")
    assert [sorted(e) for e in events] == [
        sorted(["event_id", "company_id", "table", "record_id", "action", "version", "changed", "user_id", "at"]),
        sorted(["event_id", "company_id", "table", "record_id", "action", "version", "changed", "user_id", "at",
                "workflow"])]
    assert events[1]["workflow"]["name"] == "wf"
    # the same page polled with a context, in one page of both shapes
    set_context(svc, co, co["owner"])
    replay(svc, "shape2", events[0]["event_id"])
    assert poll(svc, "shape2") == events

