"""Change events: contract section 7 (events and workflows), /tmp/ev/SEMANTICS.md.
Black-box: the public functions, plain SQL on the tenant tables and on
`<schema>._events` (read as a DBA would), and LISTEN on the company's channel (event_channel()).
The CLI listener and approval workflows are tested elsewhere."""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from psycopg.types.json import Jsonb

from conftest import SERVICE_LOGIN
from helpers import fn, one, raises, set_context, table, U

EVENT_KEYS = {"event_id", "company_id", "table", "record_id", "action", "version", "changed", "user_id", "at"}
SUMMARY_KEYS = {"company_id", "first_event_id", "last_event_id", "count"}
TWO_32 = 2 ** 32

TAGS = table("tags", {"name": "name", "type": "text"})
NOTES = table("notes", {"name": "title", "type": "text"}, {"name": "n", "type": "integer"},
              {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
              {"name": "body", "type": "long_text"},
              {"name": "tag_id", "type": "relation", "target": "tags", "on_delete": "set_null"})
NOTE_DATA = ["amount", "body", "n", "tag_id", "title"]
ITEMS = table("items", {"name": "name", "type": "text"}, {"name": "tag_ids", "type": "relation_many", "target": "tags"})


# --- helpers -------------------------------------------------------------------

def create(conn, slug, data):
    return fn(conn, "create_record", slug, data)


def update(conn, slug, rid, patch):
    return one(conn, "select docpal.update_record(%s, %s, %s)", slug, U(rid), Jsonb(patch))


def delete(conn, slug, rid):
    return fn(conn, "delete_record", slug, U(rid))


def poll(conn, consumer="c1", max=None):
    if max is None:
        return one(conn, "select docpal.poll_events(%s)", consumer)
    return one(conn, "select docpal.poll_events(%s, %s)", consumer, max)


def ack(conn, consumer, last_event_id):
    conn.execute("select docpal.ack_events(%s, %s::bigint)", (consumer, last_event_id))


def replay(conn, consumer, from_event_id):
    conn.execute("select docpal.replay_events(%s, %s::bigint)", (consumer, from_event_id))


def drain(conn, consumer="c1", max=1000):
    """Poll and acknowledge everything pending; returns what came."""
    events = poll(conn, consumer, max)
    if events:
        ack(conn, consumer, events[-1]["event_id"])
    return events


def outbox(db, schema):
    """The outbox rows as a DBA reads them, in id order."""
    rows = db.execute(f"""select id, xid::text, at, "table", record_id::text, action, version, changed,
                                 user_id::text, workflow from "{schema}"._events order by id""")
    cols = [d.name for d in rows.description]
    return [dict(zip(cols, r)) for r in rows]


def audit(db, schema):
    rows = db.execute(f"""select "table", record_id::text, action, version, changed, user_id::text, at
                            from "{schema}"._audit_log order by id""")
    cols = [d.name for d in rows.description]
    return [dict(zip(cols, r)) for r in rows]


def listener(connect, ctx):
    """A connection listening on the company's own channel (event_channel(), asked with ctx's context)."""
    channel = fn(ctx, "event_channel")
    conn = connect()
    conn.execute(f'listen "{channel}"')
    return conn


def heard(conn, n=None, timeout=2.0):
    """The notification payloads (parsed) received within timeout, at most n."""
    return [json.loads(x.payload) for x in conn.notifies(timeout=timeout, stop_after=n)]


@contextmanager
def short_errors():
    """A database error fails the test with its SQLSTATE and first line only (the generated
    capture SQL of a wide table is pages long)."""
    failed = None
    try:
        yield
    except psycopg.Error as e:
        failed = f"{e.sqlstate}: {e.diag.message_primary}"
    if failed:
        raise pytest.fail.Exception(failed, pytrace=False) from None


def same_time(conn, a, b):
    return one(conn, "select %s::timestamptz = %s::timestamptz", str(a), str(b))


def make_company(db, slug_prefix="other"):
    slug = f"{slug_prefix}-{uuid.uuid4().hex[:8]}"
    cid = one(db, "select docpal.create_company(%s, 'Other Co')", slug)
    owner = one(db, "select docpal.create_user(%s, 'O')", f"o-{slug}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
    return {"id": cid, "slug": slug, "owner": owner,
            "schema": one(db, "select docpal.get_company(%s)->>'schema'", str(cid))}


def writer(connect, company, autocommit=True):
    """A service connection acting as the company's owner."""
    return set_context(timed(connect(SERVICE_LOGIN, autocommit=autocommit)), company, company["owner"])


def timed(conn):
    """A statement that waits on a lock fails (57014) instead of hanging the test."""
    conn.execute("set statement_timeout = '5s'")
    if not conn.autocommit:
        conn.commit()
    return conn


# --- fixtures ------------------------------------------------------------------

@pytest.fixture
def schema(company):
    return company["schema"]


@pytest.fixture
def ctx(service, company):
    """A docpal_service connection acting as the company's owner; tags, notes and items exist."""
    set_context(service, company, company["owner"])
    for spec in (TAGS, NOTES, ITEMS):
        fn(service, "create_table", spec)
    return service


@pytest.fixture
def svc(connect):
    """A docpal_service connection without a context: a platform-wide consumer."""
    return connect(SERVICE_LOGIN)


@pytest.fixture
def other(db, connect, ctx):
    """A second company (created after the first: a higher number) with a notes table,
    and a service connection acting as its owner."""
    co = make_company(db)
    conn = writer(connect, co)
    fn(conn, "create_table", TAGS)
    fn(conn, "create_table", NOTES)
    co["conn"] = conn
    return co


# --- the events of every action ------------------------------------------------------

def test_outbox_is_empty_after_schema_changes(ctx, db, schema, svc):
    assert outbox(db, schema) == []
    assert poll(ctx) == [] and poll(svc) == []


def test_insert_update_delete_payloads(ctx, company, db, schema):
    rec = create(ctx, "notes", {"title": "a", "n": 1, "amount": "5.00"})
    upd = update(ctx, "notes", rec["id"], {"n": 2})
    delete(ctx, "notes", rec["id"])
    events = poll(ctx)
    assert [e["action"] for e in events] == ["INSERT", "UPDATE", "DELETE"]
    for e in events:
        assert set(e) == EVENT_KEYS
        assert e["company_id"] == str(company["id"])
        assert e["table"] == "notes" and e["record_id"] == rec["id"]
        assert e["user_id"] == str(company["owner"])
        assert isinstance(e["event_id"], int) and e["event_id"] // TWO_32 >= 1
    ids = [e["event_id"] for e in events]
    assert ids == sorted(set(ids))
    ins, up, de = events
    assert ins["version"] == 1 and sorted(ins["changed"]) == NOTE_DATA
    assert up["version"] == 2 and up["changed"] == ["n"]
    assert de["version"] == 2 and sorted(de["changed"]) == NOTE_DATA  # the version before the delete
    assert same_time(ctx, ins["at"], rec["created_at"])
    assert same_time(ctx, up["at"], upd["updated_at"])
    # the outbox row holds the same, never the row's values
    rows = outbox(db, schema)
    assert [r["id"] for r in rows] == ids
    assert [(r["table"], r["record_id"], r["action"], r["version"], r["changed"], r["user_id"], r["workflow"])
            for r in rows] == [(e["table"], e["record_id"], e["action"], e["version"], e["changed"], e["user_id"], None)
                               for e in events]


def test_create_records_one_event_per_record(ctx):
    recs = fn(ctx, "create_records", "notes", [{"title": f"n{i}", "n": i} for i in range(4)])
    events = poll(ctx)
    assert [(e["action"], e["record_id"], e["version"]) for e in events] == [("INSERT", r["id"], 1) for r in recs]
    assert len({e["at"] for e in events}) == 1  # one transaction: one time


def test_rollback_and_restore_events(ctx):
    rec = create(ctx, "notes", {"title": "a", "n": 1})
    update(ctx, "notes", rec["id"], {"title": "b", "n": 2})
    one(ctx, "select docpal.rollback_record('notes', %s, 1, array['n'])", U(rec["id"]))
    delete(ctx, "notes", rec["id"])
    fn(ctx, "restore_record", "notes", U(rec["id"]))
    events = poll(ctx)
    assert [(e["action"], e["version"]) for e in events] == \
        [("INSERT", 1), ("UPDATE", 2), ("ROLLBACK", 3), ("DELETE", 3), ("RESTORE", 4)]
    assert sorted(events[1]["changed"]) == ["n", "title"]
    assert events[2]["changed"] == ["n"]
    assert all(e["record_id"] == rec["id"] for e in events)


def test_relation_many_link_change_is_an_update_event(ctx):
    t0, t1 = (create(ctx, "tags", {"name": f"t{i}"})["id"] for i in range(2))
    item = create(ctx, "items", {"name": "i"})
    drain(ctx)
    upd = update(ctx, "items", item["id"], {"tag_ids": [t0, t1]})
    [e] = poll(ctx)
    assert set(e) == EVENT_KEYS
    assert (e["table"], e["record_id"], e["action"], e["changed"], e["version"]) == \
        ("items", item["id"], "UPDATE", ["tag_ids"], upd["version"])
    ack(ctx, "c1", e["event_id"])
    update(ctx, "items", item["id"], {"tag_ids": [t1], "name": "j"})
    events = poll(ctx)
    assert sorted(c for e in events for c in e["changed"]) == ["name", "tag_ids"]
    assert {e["action"] for e in events} == {"UPDATE"}


def test_events_match_the_audit_log(ctx, db, schema):
    """One event per audit entry, with the entry's table, record, action, version, changed, user and time."""
    t = create(ctx, "tags", {"name": "t"})
    item = create(ctx, "items", {"name": "i", "tag_ids": [t["id"]]})
    rec = create(ctx, "notes", {"title": "a", "tag_id": t["id"]})
    update(ctx, "notes", rec["id"], {"amount": 3})
    delete(ctx, "tags", t["id"])  # set_null on notes.tag_id, unlinks items.tag_ids
    update(ctx, "items", item["id"], {"name": "j"})
    entries = audit(db, schema)
    events = poll(ctx)
    assert len(events) == len(entries) >= 7

    def key(x):
        return (x["table"], x["record_id"], x["action"], x["version"] or 0, sorted(x["changed"]), x["user_id"] or "")

    pairs = list(zip(sorted(events, key=key), sorted(entries, key=key)))
    assert [key(e) for e, _ in pairs] == [key(a) for _, a in pairs]
    assert all(same_time(ctx, e["at"], a["at"]) for e, a in pairs)


def test_no_op_updates_send_no_event(ctx, connect, db, schema):
    rec = create(ctx, "notes", {"title": "same", "n": 1})
    drain(ctx)
    ear = listener(connect, ctx)
    assert update(ctx, "notes", rec["id"], {"title": "same", "n": 1})["version"] == 1
    update(ctx, "notes", rec["id"], {})
    db.execute(f'update "{schema}".notes set title = title')
    db.execute(f'update "{schema}".notes set n = 1 where id = %s', (U(rec["id"]),))
    db.execute(f'update "{schema}".notes set n = 5 where false')
    assert poll(ctx) == []
    assert heard(ear, timeout=1) == []
    assert len(outbox(db, schema)) == 1  # the INSERT, kept for the retention period; nothing new


def test_plain_sql_events(ctx, company, db, schema, connect):
    rid = one(db, f'insert into "{schema}".notes (title, n) values (\'plain\', 1) returning id')
    db.execute(f'update "{schema}".notes set n = 2 where id = %s', (rid,))
    db.execute(f'delete from "{schema}".notes where id = %s', (rid,))
    events = poll(ctx)
    assert [(e["action"], e["version"]) for e in events] == [("INSERT", 1), ("UPDATE", 2), ("DELETE", 2)]
    assert all(set(e) == EVENT_KEYS and e["record_id"] == str(rid) and e["table"] == "notes"
               and e["user_id"] is None and e["company_id"] == str(company["id"]) for e in events)
    assert events[1]["changed"] == ["n"]
    ack(ctx, "c1", events[-1]["event_id"])
    # a superuser with a docpal context: the user is known
    dba = set_context(connect(), company, company["owner"])
    rid = one(dba, f'insert into "{schema}".notes (title) values (\'ctx\') returning id')
    [e] = poll(ctx)
    assert (e["record_id"], e["user_id"]) == (str(rid), str(company["owner"]))


def test_plain_sql_multi_row_and_truncate(ctx, db, schema, connect):
    ear = listener(connect, ctx)
    rids = [r[0] for r in db.execute(
        f'insert into "{schema}".notes (title, n) select \'b\' || i, i from generate_series(1, 5) i returning id')]
    db.execute(f'update "{schema}".notes set n = n + 10 where n <= 2')
    db.execute(f'truncate "{schema}".notes')
    events = poll(ctx)
    assert [e["action"] for e in events] == ["INSERT"] * 5 + ["UPDATE"] * 2 + ["DELETE"] * 5
    assert [e["record_id"] for e in events[:5]] == [str(r) for r in rids]
    assert sorted(e["record_id"] for e in events[7:]) == sorted(str(r) for r in rids)
    assert sorted((e["record_id"], e["version"]) for e in events[7:]) == \
        sorted([(str(r), 2) for r in rids[:2]] + [(str(r), 1) for r in rids[2:]])
    assert heard(ear, 12) == events


# --- NOTIFY ----------------------------------------------------------------------

def test_notifications_match_the_outbox(ctx, connect):
    ear = listener(connect, ctx)
    rec = create(ctx, "notes", {"title": "a"})
    update(ctx, "notes", rec["id"], {"title": "b"})
    delete(ctx, "notes", rec["id"])
    got = heard(ear, 3)
    assert got == poll(ctx)
    assert [n["action"] for n in got] == ["INSERT", "UPDATE", "DELETE"]
    assert all(set(n) == EVENT_KEYS for n in got)
    assert heard(ear, timeout=0.5) == []


def test_rolled_back_work_sends_and_keeps_nothing(ctx, company, connect, db, schema):
    ear = listener(connect, ctx)
    conn = writer(connect, company, autocommit=False)
    rec = create(conn, "notes", {"title": "gone"})
    update(conn, "notes", rec["id"], {"title": "gone again"})
    conn.rollback()
    plain = connect(autocommit=False)
    plain.execute(f'insert into "{schema}".notes (title) values (\'x\')')
    plain.rollback()
    assert heard(ear, timeout=1) == []
    assert outbox(db, schema) == []
    assert poll(ctx) == []


def test_nothing_visible_before_commit(ctx, company, connect, db, schema, svc):
    ear = listener(connect, ctx)
    conn = writer(connect, company, autocommit=False)
    rec = create(conn, "notes", {"title": "pending"})
    assert heard(ear, timeout=1) == []
    assert outbox(db, schema) == []
    assert poll(ctx) == [] and poll(svc, "c2") == []
    conn.commit()
    [n] = heard(ear, 1)
    assert n["record_id"] == rec["id"]
    assert poll(ctx) == [n] == poll(svc, "c2")


def test_a_poll_in_the_writing_transaction_does_not_hand_out_its_own_events(ctx, company, connect):
    # the writer's own transaction is not listed in its snapshot; once a younger one has committed,
    # its id is below the snapshot's xmax and would read as finished
    conn = writer(connect, company, autocommit=False)
    own = create(conn, "notes", {"title": "own"})
    other = create(ctx, "notes", {"title": "committed"})
    assert [e["record_id"] for e in poll(conn, "same-tx")] == [other["id"]]
    ack(conn, "same-tx", poll(conn, "same-tx")[-1]["event_id"])
    conn.commit()
    assert [e["record_id"] for e in poll(ctx, "same-tx")] == [own["id"]]


def test_big_statement_sends_one_summary(ctx, company, connect, db, schema):
    ear = listener(connect, ctx)
    recs = fn(ctx, "create_records", "notes", [{"title": f"n{i}"} for i in range(150)])
    got = heard(ear, timeout=1.5)
    rows = outbox(db, schema)
    assert len(rows) == 150
    assert got == [{"company_id": str(company["id"]), "first_event_id": rows[0]["id"],
                    "last_event_id": rows[-1]["id"], "count": 150}]
    assert set(got[0]) == SUMMARY_KEYS
    events = poll(ctx, "c1", 1000)
    assert [e["record_id"] for e in events] == [r["id"] for r in recs]
    assert [e["event_id"] for e in events] == [r["id"] for r in rows]


def test_notify_limit_is_per_statement(ctx, connect, db, schema, company):
    ear = listener(connect, ctx)
    db.execute(f'insert into "{schema}".notes (title) select \'a\' || i from generate_series(1, 100) i')
    got = heard(ear, timeout=1.5)
    assert len(got) == 100 and all(set(n) == EVENT_KEYS for n in got)  # 100 is not more than 100
    db.execute(f'update "{schema}".notes set n = 1 where title <> \'a1\'')  # 99 rows
    assert len(heard(ear, timeout=1.5)) == 99
    db.execute(f'insert into "{schema}".notes (title) select \'b\' || i from generate_series(1, 101) i')
    [summary] = heard(ear, timeout=1.5)
    assert summary["count"] == 101 and set(summary) == SUMMARY_KEYS
    assert summary["last_event_id"] - summary["first_event_id"] == 100
    # many small statements in one transaction: each notifies its own events
    conn = writer(connect, company, autocommit=False)
    fn(conn, "create_records", "notes", [{"title": f"c{i}"} for i in range(60)])
    fn(conn, "create_records", "notes", [{"title": f"d{i}"} for i in range(60)])
    conn.commit()
    got = heard(ear, timeout=1.5)
    assert len(got) == 120 and all(set(n) == EVENT_KEYS for n in got)
    # an UPDATE and a TRUNCATE of 321 rows: one summary each
    db.execute(f'update "{schema}".notes set n = 2')
    db.execute(f'truncate "{schema}".notes')
    got = heard(ear, timeout=1.5)
    assert [(n["count"], set(n)) for n in got] == [(321, SUMMARY_KEYS), (321, SUMMARY_KEYS)]
    assert len(outbox(db, schema)) == 100 + 99 + 101 + 120 + 321 + 321


def test_notify_limit_platform_setting_makes_it_per_row(ctx, connect, db, schema):
    ear = listener(connect, ctx)
    ctx.execute("set docpal.notify_limit = 1000")  # a session setting changes nothing (contract section 0)
    fn(ctx, "create_records", "notes", [{"title": f"s{i}"} for i in range(150)])
    [summary] = heard(ear, timeout=1.5)
    assert summary["count"] == 150
    fn(db, "set_platform_setting", "notify_limit", "1000")
    fn(ctx, "create_records", "notes", [{"title": f"n{i}"} for i in range(150)])
    got = heard(ear, timeout=1.5)
    assert len(got) == 150 and all(set(n) == EVENT_KEYS for n in got)
    assert [n["event_id"] for n in got] == [r["id"] for r in outbox(db, schema)][150:]
    fn(db, "set_platform_setting", "notify_limit", "2")
    fn(ctx, "create_records", "notes", [{"title": f"m{i}"} for i in range(3)])
    [summary] = heard(ear, timeout=1)
    assert summary["count"] == 3
    with raises("22023"):
        fn(db, "set_platform_setting", "notify_limit", "-1")


def test_huge_value_is_never_in_the_payload(ctx, connect):
    ear = listener(connect, ctx)
    big = "x" * 1_000_000
    rec = create(ctx, "notes", {"title": "big", "body": big})
    update(ctx, "notes", rec["id"], {"body": big + "y"})
    raw = [x.payload for x in ear.notifies(timeout=2, stop_after=2)]
    assert len(raw) == 2
    assert all(len(p.encode()) < 8000 and "xxxxxxxxxx" not in p for p in raw)
    assert [json.loads(p)["action"] for p in raw] == ["INSERT", "UPDATE"]
    assert json.loads(raw[1])["changed"] == ["body"]


WIDE_NAMES = [f"c{i:03d}_" + "x" * 55 for i in range(150)]  # 150 columns, 60-character names


@pytest.fixture
def wide(ctx):
    assert all(len(n) == 60 for n in WIDE_NAMES)
    fn(ctx, "create_table", table("wide", *({"name": n, "type": "text"} for n in WIDE_NAMES)))
    return ctx


def check_truncated(raw, action, rid):
    assert len(raw.encode()) < 8000
    n = json.loads(raw)
    assert set(n) == EVENT_KEYS | {"changed_truncated"}
    assert (n["action"], n["changed"], n["changed_truncated"], n["record_id"]) == (action, None, True, rid)


def test_payload_of_a_very_wide_insert_stays_under_8000_bytes(wide, connect, db, schema):
    ear = listener(connect, wide)
    rec = create(wide, "wide", {n: "a" for n in WIDE_NAMES})
    [raw] = [x.payload for x in ear.notifies(timeout=2, stop_after=1)]
    check_truncated(raw, "INSERT", rec["id"])
    [e] = poll(wide)
    assert sorted(e["changed"]) == WIDE_NAMES and "changed_truncated" not in e
    assert [sorted(r["changed"]) for r in outbox(db, schema)] == [WIDE_NAMES]


def test_payload_of_a_very_wide_update_stays_under_8000_bytes(wide, connect, db, schema):
    rec = create(wide, "wide", {n: "a" for n in WIDE_NAMES})
    drain(wide)
    ear = listener(connect, wide)
    with short_errors():
        update(wide, "wide", rec["id"], {n: "b" for n in WIDE_NAMES})
        db.execute(f'update "{schema}".wide set ' + ", ".join(f"{n} = 'c'" for n in WIDE_NAMES))
    raw = [x.payload for x in ear.notifies(timeout=2, stop_after=2)]
    assert len(raw) == 2
    for p in raw:
        check_truncated(p, "UPDATE", rec["id"])
    events = poll(wide)
    assert [sorted(e["changed"]) for e in events] == [WIDE_NAMES, WIDE_NAMES]
    assert [e["version"] for e in events] == [2, 3]
    # a narrow change of the same table is notified whole
    update(wide, "wide", rec["id"], {WIDE_NAMES[0]: "d"})
    [n] = heard(ear, 1)
    assert n["changed"] == [WIDE_NAMES[0]] and "changed_truncated" not in n


# --- ordering ----------------------------------------------------------------------

@pytest.mark.parametrize("scoped", [True, False], ids=["context", "no-context"])
def test_late_commit_is_never_skipped(ctx, company, connect, scoped):
    consumer = writer(connect, company) if scoped else connect(SERVICE_LOGIN)
    a = writer(connect, company, autocommit=False)
    b = writer(connect, company)
    rec_a = create(a, "notes", {"title": "A"})  # takes the smaller id, commits later
    rec_b = create(b, "notes", {"title": "B"})
    [eb] = poll(consumer)  # the open transaction does not hold B back
    assert eb["record_id"] == rec_b["id"]
    ack(consumer, "c1", eb["event_id"])
    assert poll(consumer) == []
    a.commit()
    [ea] = poll(consumer)
    assert ea["record_id"] == rec_a["id"] and ea["event_id"] < eb["event_id"]
    ack(consumer, "c1", ea["event_id"])
    assert poll(consumer) == []


def test_open_transaction_does_not_delay_later_commits(ctx, company, connect, svc):
    a = writer(connect, company, autocommit=False)
    create(a, "notes", {"title": "A"})
    b = writer(connect, company)
    got = []
    for i in range(3):
        rec = create(b, "notes", {"title": f"B{i}"})
        events = poll(svc)
        assert [e["record_id"] for e in events] == [rec["id"]]
        ack(svc, "c1", events[-1]["event_id"])
        got += events
    a.rollback()  # never committed: never delivered
    assert poll(svc) == []
    assert [e["event_id"] for e in got] == sorted(e["event_id"] for e in got)


# --- poll, ack, replay ------------------------------------------------------------

def test_at_least_once_until_acknowledged(ctx):
    recs = [create(ctx, "notes", {"title": f"n{i}"}) for i in range(3)]
    first = poll(ctx)
    assert [e["record_id"] for e in first] == [r["id"] for r in recs]
    assert poll(ctx) == first  # not acknowledged: the same again
    ack(ctx, "c1", first[-1]["event_id"])
    assert poll(ctx) == []
    ack(ctx, "c1", first[-1]["event_id"])  # already acknowledged: no-op
    ack(ctx, "c1", first[0]["event_id"])
    later = create(ctx, "notes", {"title": "later"})
    assert [e["record_id"] for e in poll(ctx)] == [later["id"]]


def test_partial_acks_and_max(ctx):
    recs = [create(ctx, "notes", {"title": f"n{i}"}) for i in range(5)]
    ids = [e["event_id"] for e in poll(ctx, "c1", 10)]
    assert [e["record_id"] for e in poll(ctx, "c1", 2)] == [r["id"] for r in recs[:2]]
    assert [e["event_id"] for e in poll(ctx, "c1", 2)] == ids[:2]
    ack(ctx, "c1", ids[0])
    assert [e["event_id"] for e in poll(ctx, "c1", 2)] == ids[1:3]
    ack(ctx, "c1", ids[2])
    assert [e["event_id"] for e in poll(ctx, "c1", 100)] == ids[3:]
    ack(ctx, "c1", ids[4])
    assert poll(ctx, "c1", 10000) == []


def test_ack_errors(ctx, company, other, svc):
    create(ctx, "notes", {"title": "n0"})
    create(ctx, "notes", {"title": "n1"})
    ids = [e["event_id"] for e in poll(ctx, "c1", 1)]
    create(ctx, "notes", {"title": "more"})
    everything = [e["event_id"] for e in poll(ctx, "c9", 10)]
    assert len(ids) == 1 and len(everything) == 3
    with raises("22023"):  # handed out to c1: only the first
        ack(ctx, "c1", everything[-1])
    theirs = create(other["conn"], "notes", {"title": "theirs"})
    [their_event] = poll(other["conn"])
    assert their_event["record_id"] == theirs["id"]
    with raises("22023"):  # an event of another company than the context's
        ack(ctx, "c1", their_event["event_id"])
    with raises("22023"):  # no such company
        ack(svc, "c1", 999_999 * TWO_32 + 1)
    with raises("22023"):
        ack(ctx, "c1", 0)
    with raises("22023"):
        ack(ctx, "c1", -5)
    # none of that moved anything
    assert [e["event_id"] for e in poll(ctx, "c1", 1)] == ids
    assert [e["event_id"] for e in poll(other["conn"])] == [their_event["event_id"]]


def test_ack_of_an_id_never_handed_out(ctx):
    """Committed but not yet polled: not handed out, 22023 (SEMANTICS: an id past what was handed out)."""
    create(ctx, "notes", {"title": "a"})
    assert len(drain(ctx)) == 1  # c1's batch is closed
    create(ctx, "notes", {"title": "b"})
    fresh = poll(ctx, "other-consumer")[-1]  # committed, never handed out to c1 (the outbox keeps "a" too)
    with raises("22023"):
        ack(ctx, "c1", fresh["event_id"])
    assert poll(ctx) == [fresh]  # still to come


def test_bad_consumer_names_and_max(ctx, svc):
    for name in ["", "-x", "_x", "a b", "a/b", "é", "x" * 101, None]:
        for conn in (ctx, svc):
            with raises("22023"):
                poll(conn, name)
            with raises("22023"):
                ack(conn, name, 1)
            with raises("22023"):
                replay(conn, name, 1)
    for bad in [0, -1, 10001]:
        with raises("22023"):
            poll(ctx, "c1", bad)
    with raises("22023"):
        one(ctx, "select docpal.poll_events('c1', null)")
    for good in ["a", "A9", "9a", "a_b.c:d-e", "x" * 100]:
        assert poll(ctx, good, 10000) == []
    assert poll(ctx, "c1", 1) == []


def test_replay_redelivers_from_an_earlier_id(ctx, other):
    recs = [create(ctx, "notes", {"title": f"n{i}"}) for i in range(5)]
    assert len(poll(ctx, "holder")) == 5  # a consumer that never acknowledges: the outbox keeps everything
    ids = [e["event_id"] for e in drain(ctx)]
    assert poll(ctx) == []
    replay(ctx, "c1", ids[1])
    again = poll(ctx)
    assert [e["event_id"] for e in again] == ids[1:]
    assert [e["record_id"] for e in again] == [r["id"] for r in recs[1:]]
    assert poll(ctx) == again  # still at least once
    ack(ctx, "c1", ids[3])
    assert [e["event_id"] for e in poll(ctx)] == ids[4:]
    ack(ctx, "c1", ids[4])
    later = create(ctx, "notes", {"title": "later"})
    assert [e["record_id"] for e in drain(ctx)] == [later["id"]]
    replay(ctx, "c1", ids[0])
    assert len(poll(ctx)) == 6
    create(other["conn"], "notes", {"title": "x"})
    [theirs] = poll(other["conn"])
    with raises("22023"):  # not an event of the company in context
        replay(ctx, "c1", theirs["event_id"])
    with raises("22023"):
        replay(ctx, "c1", 999_999 * TWO_32 + 1)


def test_replay_without_context(ctx, svc):
    [create(ctx, "notes", {"title": f"n{i}"}) for i in range(3)]
    poll(svc, "holder")
    ids = [e["event_id"] for e in drain(svc)]
    replay(svc, "c1", ids[2])
    assert [e["event_id"] for e in drain(svc)] == ids[2:]
    assert poll(svc) == []


def test_two_consumers_each_see_every_event(ctx, svc):
    # consumers exist (have polled once) before the events: retention waits for each of them
    assert poll(ctx, "one") == poll(ctx, "two") == poll(svc, "three") == []
    [create(ctx, "notes", {"title": f"n{i}"}) for i in range(3)]
    one_ = drain(ctx, "one")
    assert len(one_) == 3 and poll(ctx, "one") == []
    assert poll(ctx, "two") == one_
    assert poll(svc, "three") == one_
    rec = create(ctx, "notes", {"title": "new"})
    assert [e["record_id"] for e in drain(ctx, "one")] == [rec["id"]]
    assert poll(ctx, "two") == one_  # its batch, until acknowledged
    ack(ctx, "two", one_[-1]["event_id"])
    assert [e["record_id"] for e in drain(ctx, "two")] == [rec["id"]]
    assert drain(svc, "three") == one_
    assert [e["record_id"] for e in drain(svc, "three")] == [rec["id"]]


def test_context_scopes_the_company_without_context_every_company(ctx, company, other, svc):
    mine = [create(ctx, "notes", {"title": f"m{i}"})["id"] for i in range(2)]
    theirs = [create(other["conn"], "notes", {"title": f"t{i}"})["id"] for i in range(2)]
    mine.append(create(ctx, "notes", {"title": "m2"})["id"])
    scoped = poll(ctx, "scoped")
    assert [e["record_id"] for e in scoped] == mine
    assert {e["company_id"] for e in scoped} == {str(company["id"])}
    assert [e["record_id"] for e in poll(other["conn"], "scoped")] == theirs
    everything = poll(svc, "all")
    assert [e["record_id"] for e in everything] == mine + theirs  # company by company, in company order
    ids = [e["event_id"] for e in everything]
    assert ids == sorted(ids)
    assert {e["event_id"] // TWO_32 for e in everything[:3]} != {e["event_id"] // TWO_32 for e in everything[3:]}
    assert [e["record_id"] for e in poll(svc, "all", 4)] == mine + theirs[:1]
    ack(svc, "all", ids[-1])  # the last id acknowledges every company's batch
    assert poll(svc, "all") == []
    assert poll(ctx, "all") == [] and poll(other["conn"], "all") == []


def test_ack_without_context_of_a_middle_company(ctx, other, svc):
    mine = [create(ctx, "notes", {"title": f"m{i}"})["id"] for i in range(2)]
    theirs = [create(other["conn"], "notes", {"title": f"t{i}"})["id"] for i in range(2)]
    everything = poll(svc)
    ack(svc, "c1", everything[1]["event_id"])  # the last of the first company
    assert [e["record_id"] for e in poll(svc)] == theirs
    assert [e["record_id"] for e in poll(svc)] == theirs
    ack(svc, "c1", poll(svc)[0]["event_id"])
    assert [e["record_id"] for e in poll(svc)] == theirs[1:]
    assert len(mine) == 2


def test_event_ids_are_unique_across_companies(ctx, other, db, company):
    create(ctx, "notes", {"title": "a"})
    create(other["conn"], "notes", {"title": "b"})
    create(ctx, "notes", {"title": "c"})
    a, c = (r["id"] for r in outbox(db, company["schema"]))
    [b] = (r["id"] for r in outbox(db, other["schema"]))
    assert a < c < b
    assert a // TWO_32 == c // TWO_32 != b // TWO_32
    assert a % TWO_32 == 1 and b % TWO_32 == 1 and c % TWO_32 == 2


def test_app_role_cannot_consume(ctx, app):
    create(ctx, "notes", {"title": "a"})
    for sql in ("select docpal.poll_events('c1')", "select docpal.poll_events('c1', 10)",
                "select docpal.ack_events('c1', 1)", "select docpal.replay_events('c1', 1)"):
        with raises("42501"):
            app.execute(sql)
    assert len(poll(ctx)) == 1


def test_retention_outlives_acknowledgements(ctx, db, schema, company, svc):
    """The outbox keeps events for the retention period whatever was acknowledged (replay and a
    new consumer see them), then as long as an active consumer has not consumed them; only
    docpal.maintain_events removes them."""
    [create(ctx, "notes", {"title": f"n{i}"}) for i in range(3)]
    fast = drain(ctx, "fast")
    slow = poll(ctx, "slow")
    assert fast == slow and len(fast) == 3
    ack(ctx, "slow", slow[0]["event_id"])
    assert fn(svc, "maintain_events")["deleted"] == 0
    assert len(outbox(db, schema)) == 3  # everything acknowledged by "fast" is still there
    replay(ctx, "fast", fast[0]["event_id"])
    assert drain(ctx, "fast") == fast
    assert drain(ctx, "newcomer") == fast  # a new consumer starts at the oldest event held
    fn(db, "update_company", company["id"], {"settings": {"event_retention": "1 hour"}})
    db.execute(f"""update "{schema}"._events set at = at - interval '2 hours'""")
    assert fn(svc, "maintain_events")["deleted"] == 1  # "slow" still wants the other two
    db.execute("update docpal_private.event_consumers set updated_at = now() - interval '2 hours'"
               " where consumer = 'slow'")  # no longer active within the retention period
    assert fn(svc, "maintain_events") == {"deleted": 2, "companies": one(db, "select count(*) from docpal_private.companies"),
                                         "more": False}
    assert outbox(db, schema) == []
    rec = create(ctx, "notes", {"title": "later"})
    for c in ("fast", "slow", "newcomer"):
        assert [e["record_id"] for e in poll(ctx, c)] == [rec["id"]]


def test_nobody_consuming_keeps_everything(ctx, db, schema, other):
    [create(ctx, "notes", {"title": f"n{i}"}) for i in range(3)]
    drain(other["conn"], "c1")  # a consumer of another company only
    create(other["conn"], "notes", {"title": "x"})
    drain(other["conn"], "c1")
    assert len(outbox(db, schema)) == 3
    assert len(poll(ctx, "late")) == 3


# --- concurrent workers of one consumer -------------------------------------------

@pytest.fixture
def workers(connect, company, ctx):
    """Two workers of consumer c1 (service connections acting as the owner, autocommit off);
    the consumer already has its position (one empty poll)."""
    assert drain(ctx) == []
    return writer(connect, company, autocommit=False), writer(connect, company, autocommit=False)


def test_workers_of_one_consumer_do_not_share_a_batch(ctx, workers):
    w1, w2 = workers
    first = [create(ctx, "notes", {"title": f"n{i}"})["id"] for i in range(3)]
    batch = poll(w1)
    assert [e["record_id"] for e in batch] == first
    assert poll(w2) == []  # w1 holds the company
    w2.rollback()
    ack(w1, "c1", batch[-1]["event_id"])
    w1.commit()
    assert poll(w2) == []
    w2.commit()
    second = [create(ctx, "notes", {"title": f"m{i}"})["id"] for i in range(2)]
    got = poll(w2)
    assert [e["record_id"] for e in got] == second
    ack(w2, "c1", got[-1]["event_id"])
    w2.commit()
    assert poll(w1) == []
    w1.commit()


def test_crashed_worker_events_are_redelivered(ctx, workers, connect, company):
    w1, w2 = workers
    recs = [create(ctx, "notes", {"title": f"n{i}"})["id"] for i in range(2)]
    batch = poll(w1)
    ack(w1, "c1", batch[-1]["event_id"])
    w1.rollback()  # crashed before commit: the ack is gone
    again = poll(w2)
    assert [e["record_id"] for e in again] == recs and again == batch
    w2.close()  # crashed, connection lost
    w3 = writer(connect, company, autocommit=False)
    assert poll(w3) == batch
    ack(w3, "c1", batch[-1]["event_id"])
    w3.commit()
    assert poll(w1) == []


def test_worker_without_context_takes_other_companies(ctx, other, connect, svc):
    drain(svc)
    w1 = timed(connect(SERVICE_LOGIN, autocommit=False))
    w2 = timed(connect(SERVICE_LOGIN, autocommit=False))
    mine = [create(ctx, "notes", {"title": f"m{i}"})["id"] for i in range(3)]
    theirs = [create(other["conn"], "notes", {"title": f"t{i}"})["id"] for i in range(2)]
    b1 = poll(w1, "c1", 3)  # fills max with the first company: the second is not touched
    assert [e["record_id"] for e in b1] == mine
    b2 = poll(w2, "c1")
    assert [e["record_id"] for e in b2] == theirs
    ack(w2, "c1", b2[-1]["event_id"])
    w2.commit()
    ack(w1, "c1", b1[-1]["event_id"])
    w1.commit()
    assert poll(svc) == []


def test_ack_without_context_covers_only_its_own_poll(ctx, other, connect, svc):
    """Worker 1 holds the first company's batch, worker 2 takes the second company; worker 1's
    sink accepts only part of its batch and commits; worker 2's acknowledgement of its own poll
    must not cover worker 1's refused events."""
    drain(svc)
    poll(svc, "c1")  # the consumer has a position in both companies
    mine = [create(ctx, "notes", {"title": f"m{i}"})["id"] for i in range(4)]
    theirs = [create(other["conn"], "notes", {"title": f"t{i}"})["id"] for i in range(2)]
    w1 = timed(connect(SERVICE_LOGIN, autocommit=False))
    w2 = timed(connect(SERVICE_LOGIN, autocommit=False))
    b1 = poll(w1, "c1", 4)
    assert [e["record_id"] for e in b1] == mine
    b2 = poll(w2, "c1")
    assert [e["record_id"] for e in b2] == theirs
    ack(w1, "c1", b1[1]["event_id"])  # its sink took two of them
    w1.commit()
    ack(w2, "c1", b2[-1]["event_id"])
    w2.commit()
    assert [e["record_id"] for e in poll(svc, "c1")] == mine[2:]


def test_first_poll_of_a_new_consumer_by_two_workers(ctx, company, connect):
    """Two workers of a consumer that has no position yet: the second does not wait for the first."""
    rec = create(ctx, "notes", {"title": "a"})
    w1 = writer(connect, company, autocommit=False)
    w2 = writer(connect, company, autocommit=False)
    assert [e["record_id"] for e in poll(w1, "fresh")] == [rec["id"]]
    assert poll(w2, "fresh") == []
    w2.rollback()
    w1.rollback()


# --- event rules --------------------------------------------------------------------

RULE_KEYS = {"id", "table", "actions", "when", "workflow", "task_queue", "created_at"}


def rule(conn, spec):
    return fn(conn, "create_event_rule", spec)


def test_rule_with_actions_and_when(ctx, connect, db, schema):
    r = rule(ctx, {"table": "notes", "actions": ["INSERT", "UPDATE"], "when": {"amount": {"gt": 100}},
                   "workflow": "big-order", "task_queue": "orders"})
    assert set(r) == RULE_KEYS
    assert (r["table"], r["actions"], r["when"], r["workflow"], r["task_queue"]) == \
        ("notes", ["INSERT", "UPDATE"], {"amount": {"gt": 100}}, "big-order", "orders")
    uuid.UUID(r["id"])
    wf = {"name": "big-order", "task_queue": "orders"}
    ear = listener(connect, ctx)
    big = create(ctx, "notes", {"title": "big", "amount": 150})
    small = create(ctx, "notes", {"title": "small", "amount": 50})
    update(ctx, "notes", small["id"], {"amount": 200})  # the new row matches
    update(ctx, "notes", big["id"], {"amount": 10})  # the new row does not
    delete(ctx, "notes", small["id"])  # DELETE is not among the actions
    create(ctx, "notes", {"title": "null amount"})
    events = poll(ctx)
    notes = heard(ear, 6)
    assert notes == events
    assert [e.get("workflow") for e in events] == [wf, None, wf, None, None, None]
    assert all("workflow" not in e for e in events if e.get("workflow") is None)
    assert set(events[0]) == EVENT_KEYS | {"workflow"}
    assert [r["workflow"] for r in outbox(db, schema)] == [wf, None, wf, None, None, None]


def test_rule_actions_any_case_default_queue_and_old_row_for_delete(ctx):
    r = rule(ctx, {"table": "notes", "actions": ["delete", "Restore"], "when": {"title": "watched"},
                   "workflow": "audit-delete"})
    assert r["actions"] == ["DELETE", "RESTORE"] and r["task_queue"] == "docpal"
    wf = {"name": "audit-delete", "task_queue": "docpal"}
    watched = create(ctx, "notes", {"title": "watched"})
    plain = create(ctx, "notes", {"title": "plain"})
    delete(ctx, "notes", watched["id"])
    delete(ctx, "notes", plain["id"])
    fn(ctx, "restore_record", "notes", U(watched["id"]))
    events = poll(ctx)
    assert [(e["action"], e.get("workflow")) for e in events] == \
        [("INSERT", None), ("INSERT", None), ("DELETE", wf), ("DELETE", None), ("RESTORE", wf)]


def test_rule_without_actions_or_when_matches_everything(ctx, db, schema):
    r = rule(ctx, {"table": "notes", "workflow": "all"})
    assert r["actions"] == ["INSERT", "UPDATE", "DELETE", "ROLLBACK", "RESTORE"] and r["when"] is None
    rec = create(ctx, "notes", {"title": "a"})
    update(ctx, "notes", rec["id"], {"title": "b"})
    one(ctx, "select docpal.rollback_record('notes', %s, 1)", U(rec["id"]))
    delete(ctx, "notes", rec["id"])
    fn(ctx, "restore_record", "notes", U(rec["id"]))
    db.execute(f'insert into "{schema}".notes (title) values (\'plain sql\')')
    create(ctx, "tags", {"name": "other table"})
    events = poll(ctx)
    assert [e["action"] for e in events] == ["INSERT", "UPDATE", "ROLLBACK", "DELETE", "RESTORE", "INSERT", "INSERT"]
    assert [e.get("workflow") for e in events] == [{"name": "all", "task_queue": "docpal"}] * 6 + [None]


def test_first_matching_rule_wins(ctx):
    rule(ctx, {"table": "notes", "when": {"amount": {"gt": 100}}, "workflow": "first", "task_queue": "q1"})
    rule(ctx, {"table": "notes", "workflow": "second", "task_queue": "q2"})
    rule(ctx, {"table": "notes", "when": {"amount": {"gt": 1000}}, "workflow": "third"})
    create(ctx, "notes", {"amount": 5000})
    create(ctx, "notes", {"amount": 5})
    assert [e["workflow"]["name"] for e in poll(ctx)] == ["first", "second"]


def test_rule_filters_use_the_query_syntax(ctx):
    rule(ctx, {"table": "notes", "actions": ["INSERT"],
               "when": {"_or": [{"title": {"starts_with": "urgent"}}, {"n": {"in": [7, 8]}}], "amount": {"is_null": True}},
               "workflow": "w"})
    create(ctx, "notes", {"title": "urgent: x"})
    create(ctx, "notes", {"title": "later", "n": 8})
    create(ctx, "notes", {"title": "later", "n": 9})
    create(ctx, "notes", {"title": "urgent: y", "amount": 1})
    assert ["workflow" in e for e in poll(ctx)] == [True, True, False, False]


def test_rule_errors(ctx, company, connect):
    ok = {"table": "notes", "workflow": "w"}
    cases = [
        ([], "22023"), ("notes", "22023"), (None, "22023"),
        ({**ok, "extra": 1}, "22023"),
        ({"table": "notes"}, "22023"),
        ({**ok, "workflow": ""}, "22023"), ({**ok, "workflow": "  "}, "22023"), ({**ok, "workflow": 5}, "22023"),
        ({"workflow": "w"}, "22023"), ({**ok, "table": 5}, "22023"),
        ({**ok, "actions": []}, "22023"), ({**ok, "actions": "INSERT"}, "22023"),
        ({**ok, "actions": ["INSERT", "FOO"]}, "22023"), ({**ok, "actions": ["TRUNCATE"]}, "22023"),
        ({**ok, "task_queue": ""}, "22023"), ({**ok, "task_queue": 5}, "22023"),
        ({**ok, "when": {"amount": {"bogus": 1}}}, "22023"),
        ({**ok, "when": {"amount": "not a number"}}, "22023"),
        ({**ok, "when": {"tag_id.name": "x"}}, "22023"),  # a path through a relation
        ({**ok, "when": {"created_by.email": "x"}}, "22023"),  # ... to the user
        ({"table": "tags", "workflow": "w", "when": {"notes": {"_some": {"n": 1}}}}, "22023"),  # a list of records
        ({"table": "tags", "workflow": "w", "when": {"count(notes)": {"gt": 1}}}, "22023"),
        ({**ok, "table": "nope"}, "42P01"),
        ({**ok, "when": {"nope": 1}}, "42703"),
    ]
    for spec, code in cases:
        with raises(code):
            one(ctx, "select docpal.create_event_rule(%s)", None if spec is None else Jsonb(spec))
    member = set_context(connect(SERVICE_LOGIN), company, company["member"])
    with raises("42501"):
        rule(member, ok)
    with raises("42501"):
        fn(member, "drop_event_rule", uuid.uuid4())
    with raises("42501"):
        rule(connect(SERVICE_LOGIN), ok)  # no context
    assert fn(ctx, "list_event_rules") == []
    create(ctx, "notes", {"title": "a"})
    assert "workflow" not in poll(ctx)[0]


def test_list_and_drop_rules(ctx, company, connect):
    assert fn(ctx, "list_event_rules") == []
    a = rule(ctx, {"table": "notes", "when": {"n": 1}, "workflow": "a"})
    b = rule(ctx, {"table": "tags", "actions": ["insert"], "workflow": "b", "task_queue": "t"})
    listed = fn(ctx, "list_event_rules")
    assert [r["id"] for r in listed] == [a["id"], b["id"]]
    assert all(set(r) == RULE_KEYS for r in listed)
    assert [{k: r[k] for k in RULE_KEYS - {"created_at"}} for r in listed] == \
        [{k: r[k] for k in RULE_KEYS - {"created_at"}} for r in (a, b)]
    assert all(same_time(ctx, x["created_at"], y["created_at"]) for x, y in zip(listed, (a, b)))
    assert b["actions"] == ["INSERT"]
    member = set_context(connect(SERVICE_LOGIN), company, company["member"])
    assert [r["id"] for r in fn(member, "list_event_rules")] == [a["id"], b["id"]]
    create(ctx, "notes", {"n": 1})
    assert drain(ctx)[0]["workflow"] == {"name": "a", "task_queue": "docpal"}
    fn(ctx, "drop_event_rule", U(a["id"]))
    assert [r["id"] for r in fn(ctx, "list_event_rules")] == [b["id"]]
    create(ctx, "notes", {"n": 1})
    assert "workflow" not in drain(ctx)[0]
    with raises("P0002"):
        fn(ctx, "drop_event_rule", U(a["id"]))
    with raises("P0002"):
        fn(ctx, "drop_event_rule", uuid.uuid4())
    with raises("42501"):
        fn(connect(SERVICE_LOGIN), "list_event_rules")


def test_drop_table_removes_its_rules(ctx):
    keep = rule(ctx, {"table": "tags", "workflow": "k"})
    rule(ctx, {"table": "notes", "workflow": "gone"})
    fn(ctx, "drop_table", "notes")
    assert [r["id"] for r in fn(ctx, "list_event_rules")] == [keep["id"]]
    fn(ctx, "create_table", NOTES)
    create(ctx, "notes", {"title": "a"})
    create(ctx, "tags", {"name": "t"})
    assert [e.get("workflow") for e in poll(ctx)] == [None, {"name": "k", "task_queue": "docpal"}]


def test_column_change_under_a_rule(ctx):
    r = rule(ctx, {"table": "notes", "when": {"amount": {"gt": 100}}, "workflow": "w"})
    with raises("2BP01"):
        fn(ctx, "drop_column", "notes", "amount")
    assert "amount" in [c["name"] for c in fn(ctx, "describe_table", "notes")["columns"]]
    fn(ctx, "drop_column", "notes", "body")  # a column no rule reads
    create(ctx, "notes", {"amount": 500})
    assert drain(ctx)[0]["workflow"]["name"] == "w"  # the rule still works
    fn(ctx, "drop_event_rule", U(r["id"]))
    fn(ctx, "drop_column", "notes", "amount")
    assert "amount" not in [c["name"] for c in fn(ctx, "describe_table", "notes")["columns"]]
    create(ctx, "notes", {"title": "x"})
    assert "workflow" not in poll(ctx)[0]


# --- company setting ---------------------------------------------------------------

def test_company_setting_turns_events_off_and_on(ctx, company, db, schema, connect):
    t = create(ctx, "tags", {"name": "t"})
    item = create(ctx, "items", {"name": "i"})
    drain(ctx)
    kept = len(outbox(db, schema))
    fn(db, "update_company", company["id"], {"settings": {"events": False}})
    ear = listener(connect, ctx)
    rec = create(ctx, "notes", {"title": "quiet"})
    update(ctx, "notes", rec["id"], {"n": 1})
    update(ctx, "items", item["id"], {"tag_ids": [t["id"]]})
    db.execute(f'insert into "{schema}".notes (title) values (\'plain\')')
    delete(ctx, "notes", rec["id"])
    assert poll(ctx) == [] and len(outbox(db, schema)) == kept
    assert heard(ear, timeout=1) == []
    assert len(fn(ctx, "record_history", "notes", U(rec["id"]))) == 3  # audit goes on
    fn(db, "update_company", company["id"], {"settings": {"events": True}})
    rec = create(ctx, "notes", {"title": "loud"})
    update(ctx, "items", item["id"], {"tag_ids": []})
    events = poll(ctx)
    assert [(e["table"], e["action"]) for e in events] == [("notes", "INSERT"), ("items", "UPDATE")]
    assert heard(ear, 2) == events
