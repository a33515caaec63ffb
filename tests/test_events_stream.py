"""docpal.read_events: a client's own position in its company's events (the SQL
under GET /api/events, contract sections 7 and 12). Stateless and read-only:
the cursor carries the snapshots. What a user reads is what its grants, row
filters and API key scopes let it read; late commits are never skipped; other
companies' events never appear."""

from __future__ import annotations

import json
import uuid

import pytest
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN
from helpers import fn, one, raises, set_context, table, U

EVENT_KEYS = {"event_id", "company_id", "table", "record_id", "action", "version", "changed", "user_id", "at"}

NOTES = table("notes", {"name": "title", "type": "text"}, {"name": "secret", "type": "text"},
              {"name": "region", "type": "text"}, {"name": "amount", "type": "integer"})


# --- helpers -------------------------------------------------------------------

def read(conn, cursor=None, max=None):
    if max is None:
        return one(conn, "select docpal.read_events(%s)", cursor)
    return one(conn, "select docpal.read_events(%s, %s)", cursor, max)


def read_all(conn, cursor, max=100):
    """Every readable event after cursor, page by page: (events, cursors, last cursor)."""
    events, cursors = [], []
    for _ in range(1000):
        page = read(conn, cursor, max)
        assert len(page["events"]) == len(page["cursors"]) <= max
        events += page["events"]
        cursors += page["cursors"]
        cursor = page["cursor"]
        if not page["more"]:
            return events, cursors, cursor
    raise AssertionError("read_events never ended")


def create(conn, slug, data):
    return fn(conn, "create_record", slug, data)


def grant(conn, role, slug, actions, spec=None):
    conn.execute("select docpal.grant_permission(%s, %s, %s::text[], %s)", (role, slug, actions, Jsonb(spec or {})))


def writer(connect, company, user=None, autocommit=True):
    conn = connect(SERVICE_LOGIN, autocommit=autocommit)
    conn.execute("set statement_timeout = '10s'")
    if not autocommit:
        conn.commit()
    return set_context(conn, company, user or company["owner"])


def key_of(db, company, user, scopes, spec=None):
    with db.transaction():
        db.execute("select docpal.set_context(%s, %s)", (company["id"], company["owner"]))
        return one(db, "select docpal.create_api_key('stream', %s, %s, %s)", user, scopes, Jsonb(spec or {}))


def as_key(connect, key):
    """A docpal_app connection whose session context came from the key."""
    conn = connect(APP_LOGIN)
    conn.execute("select docpal.authenticate(%s, false)", (key,))
    return conn


@pytest.fixture
def ctx(service, company):
    set_context(service, company, company["owner"])
    fn(service, "create_table", NOTES)
    return service


@pytest.fixture
def member(connect, company, ctx):
    return writer(connect, company, company["member"])


# --- position ------------------------------------------------------------------

def test_a_null_cursor_starts_from_now(ctx):
    old = create(ctx, "notes", {"title": "old"})
    start = read(ctx)
    assert start["events"] == [] and start["cursors"] == [] and start["more"] is False
    assert start["cursor"].startswith("v1.")
    new = create(ctx, "notes", {"title": "new"})
    got = read(ctx, start["cursor"])
    assert [e["record_id"] for e in got["events"]] == [new["id"]]
    assert old["id"] not in json.dumps(got)
    [event] = got["events"]
    assert set(event) == EVENT_KEYS
    assert got["cursors"] == [got["cursor"]]
    assert read(ctx, got["cursor"])["events"] == []


def test_payload_is_the_notification_payload(ctx, company, connect):
    start = read(ctx)["cursor"]
    ear = connect()
    ear.execute(f'listen "{fn(ctx, "event_channel")}"')
    rec = create(ctx, "notes", {"title": "a", "amount": 1})
    fn(ctx, "update_record", "notes", U(rec["id"]), {"amount": 2})
    fn(ctx, "delete_record", "notes", U(rec["id"]))
    heard = [json.loads(n.payload) for n in ear.notifies(timeout=3, stop_after=3)]
    events = read(ctx, start)["events"]
    assert events == heard
    assert [e["action"] for e in events] == ["INSERT", "UPDATE", "DELETE"]
    assert events[0]["company_id"] == str(company["id"])


def test_paging_reads_everything_once_in_order(ctx):
    start = read(ctx)["cursor"]
    recs = fn(ctx, "create_records", "notes", [{"title": f"n{i}"} for i in range(7)])
    recs += [create(ctx, "notes", {"title": "last"})]
    events, cursors, end = read_all(ctx, start, max=3)
    assert [e["record_id"] for e in events] == [r["id"] for r in recs]
    assert len(set(cursors)) == len(cursors)
    assert read(ctx, end)["events"] == []
    # every event's cursor resumes just after it
    for i, cursor in enumerate(cursors):
        rest, _, _ = read_all(ctx, cursor, max=1000)
        assert [e["event_id"] for e in rest] == [e["event_id"] for e in events[i + 1:]], i


def test_max_pages_reads_with_more(ctx):
    start = read(ctx)["cursor"]
    fn(ctx, "create_records", "notes", [{"title": f"n{i}"} for i in range(3)])
    page = read(ctx, start, 2)
    assert len(page["events"]) == 2 and page["more"] is True
    page = read(ctx, page["cursor"], 2)
    assert len(page["events"]) == 1


def test_rolled_back_work_is_never_read(ctx, company, connect):
    start = read(ctx)["cursor"]
    a = writer(connect, company, autocommit=False)
    create(a, "notes", {"title": "rolled back"})
    a.rollback()
    kept = create(ctx, "notes", {"title": "kept"})
    events, _, _ = read_all(ctx, start)
    assert [e["record_id"] for e in events] == [kept["id"]]


def test_own_uncommitted_writes_are_not_read(ctx, company, connect):
    start = read(ctx)["cursor"]
    conn = writer(connect, company, autocommit=False)
    rec = create(conn, "notes", {"title": "mine"})
    page = read(conn, start)
    assert page["events"] == []
    conn.commit()
    events, _, _ = read_all(conn, page["cursor"])
    assert [e["record_id"] for e in events] == [rec["id"]], "the cursor read inside the writing transaction skipped it"


def test_late_commit_is_never_skipped(ctx, company, connect):
    reader = writer(connect, company)
    start = read(reader)["cursor"]
    a = writer(connect, company, autocommit=False)
    b = writer(connect, company)
    rec_a = create(a, "notes", {"title": "A"})  # takes the smaller id, commits later
    rec_b = create(b, "notes", {"title": "B"})
    got = read(reader, start)
    assert [e["record_id"] for e in got["events"]] == [rec_b["id"]], "the open transaction held B back"
    assert read(reader, got["cursor"])["events"] == []
    a.commit()
    late = read(reader, got["cursor"])
    assert [e["record_id"] for e in late["events"]] == [rec_a["id"]]
    assert late["events"][0]["event_id"] < got["events"][0]["event_id"]
    assert read(reader, late["cursor"])["events"] == []
    # B's own SSE id resumes without losing A either
    again, _, _ = read_all(reader, got["cursors"][0])
    assert [e["record_id"] for e in again] == [rec_a["id"]]


def test_late_commit_inside_a_paged_batch(ctx, company, connect):
    """A cursor in the middle of a batch (max reached) keeps the batch's
    snapshot: a transaction that commits meanwhile comes after the batch."""
    reader = writer(connect, company)
    start = read(reader)["cursor"]
    a = writer(connect, company, autocommit=False)
    rec_a = create(a, "notes", {"title": "A"})
    done = [create(ctx, "notes", {"title": f"B{i}"}) for i in range(3)]
    page = read(reader, start, 2)
    assert [e["record_id"] for e in page["events"]] == [r["id"] for r in done[:2]] and page["more"]
    a.commit()
    rest, _, _ = read_all(reader, page["cursor"])
    assert [e["record_id"] for e in rest] == [done[2]["id"], rec_a["id"]]


def test_a_bare_event_id_reads_the_later_events(ctx):
    recs = [create(ctx, "notes", {"title": f"n{i}"}) for i in range(3)]
    first = read(ctx, "0")
    ids = [e["event_id"] for e in first["events"]]
    assert [e["record_id"] for e in first["events"]] == [r["id"] for r in recs]
    later, _, end = read_all(ctx, str(ids[0]))
    assert [e["event_id"] for e in later] == ids[1:]
    newer = create(ctx, "notes", {"title": "newer"})
    assert [e["record_id"] for e in read(ctx, end)["events"]] == [newer["id"]]


def test_a_company_without_tables_reads_nothing(db, connect):
    cid = one(db, "select docpal.create_company(%s, 'Empty')", f"empty-{uuid.uuid4().hex[:8]}")
    owner = one(db, "select docpal.create_user(%s, 'O')", f"o-{uuid.uuid4().hex[:8]}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
    conn = writer(connect, {"id": cid, "owner": owner})
    start = read(conn)
    assert start["events"] == [] and read(conn, "5")["events"] == []
    fn(conn, "create_table", NOTES)
    rec = create(conn, "notes", {"title": "first"})
    assert [e["record_id"] for e in read(conn, start["cursor"])["events"]] == [rec["id"]]


def test_nothing_is_written(ctx, company, connect):
    """A read is read-only: it runs in a read-only transaction."""
    start = read(ctx)["cursor"]
    create(ctx, "notes", {"title": "x"})
    grant(ctx, "member", "notes", ["read"], {"row_filter": {"title": "x"}})
    conn = connect(SERVICE_LOGIN, autocommit=False)
    conn.execute("set transaction read only")
    conn.execute("select docpal.set_context(%s, %s)", (company["id"], company["member"]))
    assert len(read(conn, start)["events"]) == 1
    conn.rollback()


# --- what a user may read -----------------------------------------------------

def test_member_without_read_gets_nothing(ctx, member):
    start = read(member)["cursor"]
    create(ctx, "notes", {"title": "hidden"})
    events, _, _ = read_all(member, start)
    assert events == []
    grant(ctx, "member", "notes", ["read"])
    assert len(read_all(member, start)[0]) == 1, "readable once granted (judged when read)"


def test_row_filter_limits_the_events(ctx, member):
    grant(ctx, "member", "notes", ["read"], {"row_filter": {"region": "eu"}})
    start = read(member)["cursor"]
    eu = create(ctx, "notes", {"title": "eu", "region": "eu"})
    us = create(ctx, "notes", {"title": "us", "region": "us"})
    fn(ctx, "update_record", "notes", U(us["id"]), {"title": "us2"})
    fn(ctx, "update_record", "notes", U(eu["id"]), {"title": "eu2"})
    events, _, _ = read_all(member, start)
    assert [(e["record_id"], e["action"]) for e in events] == [(eu["id"], "INSERT"), (eu["id"], "UPDATE")]
    assert us["id"] not in json.dumps(events)


def test_deleted_record_needs_a_grant_without_row_filter(ctx, company, member):
    grant(ctx, "member", "notes", ["read"], {"row_filter": {"region": "eu"}})
    start = read(member)["cursor"]
    eu = create(ctx, "notes", {"title": "eu", "region": "eu"})
    fn(ctx, "delete_record", "notes", U(eu["id"]))
    events, _, _ = read_all(member, start)
    assert events == [], "a gone record matches no row filter"
    # a second grant (of another role of the member's): title on every row
    fn(ctx, "create_role", "titles")
    grant(ctx, "titles", "notes", ["read"], {"columns": ["title"]})
    ctx.execute("select docpal.assign_role(%s, 'titles')", (company["member"],))
    events, _, _ = read_all(member, start)
    assert [(e["action"], e["changed"]) for e in events] == [("INSERT", ["title"]), ("DELETE", ["title"])]
    fn(ctx, "restore_record", "notes", U(eu["id"]))
    events, _, _ = read_all(member, start)
    assert [e["action"] for e in events] == ["INSERT", "DELETE", "RESTORE"]
    assert events[0]["changed"] == ["title", "secret", "region", "amount"], "the eu grant covers the restored row"


def test_changed_keeps_readable_columns_only(ctx, member):
    grant(ctx, "member", "notes", ["read"], {"columns": ["title", "region"]})
    start = read(member)["cursor"]
    rec = create(ctx, "notes", {"title": "t", "secret": "s", "region": "eu"})
    fn(ctx, "update_record", "notes", U(rec["id"]), {"secret": "s2"})
    fn(ctx, "update_record", "notes", U(rec["id"]), {"secret": "s3", "title": "t2"})
    events, _, _ = read_all(member, start)
    assert [e["changed"] for e in events] == [["title", "region"], [], ["title"]]
    assert "secret" not in json.dumps(events)
    owner_events, _, _ = read_all(ctx, start)
    assert [e["changed"] for e in owner_events] == [["title", "secret", "region", "amount"], ["secret"],
                                                     ["title", "secret"]]


def test_workflow_only_for_readers_of_every_column(ctx, member):
    fn(ctx, "create_event_rule", {"table": "notes", "when": {"secret": "vip"}, "workflow": "vip-flow"})
    start = read(member)["cursor"]
    create(ctx, "notes", {"title": "t", "secret": "vip"})
    owner_events, _, _ = read_all(ctx, start)
    assert owner_events[0]["workflow"]["name"] == "vip-flow"
    grant(ctx, "member", "notes", ["read"], {"columns": ["title"]})
    [event] = read_all(member, start)[0]
    assert "workflow" not in event, "the rule tests a column the member may not read"
    grant(ctx, "member", "notes", ["read"])
    [event] = read_all(member, start)[0]
    assert event["workflow"]["name"] == "vip-flow"


def test_api_key_scopes(db, company, ctx, connect):
    grant(ctx, "member", "notes", ["read", "create"])
    writer_only = key_of(db, company, company["member"], ["create"])
    reader = key_of(db, company, company["member"], ["read"])
    start = read(ctx)["cursor"]
    rec = create(ctx, "notes", {"title": "x"})
    with raises("42501"):
        read(as_key(connect, writer_only["key"]), start)
    assert [e["record_id"] for e in read(as_key(connect, reader["key"]), start)["events"]] == [rec["id"]]


def test_revoked_key_is_refused_on_the_next_read(db, company, ctx, connect):
    made = key_of(db, company, company["owner"], ["read"])
    conn = as_key(connect, made["key"])
    start = read(conn)["cursor"]
    create(ctx, "notes", {"title": "x"})
    assert len(read(conn, start)["events"]) == 1
    fn(ctx, "revoke_api_key", U(made["id"]))
    with raises("42501"):
        read(conn, start)


def test_expired_key_is_refused(db, company, ctx, connect):
    made = key_of(db, company, company["owner"], ["read"], {"expires_at": "2100-01-01T00:00:00Z"})
    conn = as_key(connect, made["key"])
    start = read(conn)["cursor"]
    db.execute("update docpal_private.api_keys set expires_at = now() - interval '1 second' where id = %s",
               (made["id"],))
    with raises("42501"):
        read(conn, start)


def test_other_companies_events_never_appear(db, ctx, company, connect):
    slug = f"other-{uuid.uuid4().hex[:8]}"
    other = {"id": one(db, "select docpal.create_company(%s, 'Other')", slug),
             "owner": one(db, "select docpal.create_user(%s, 'O')", f"o-{slug}@example.com")}
    db.execute("select docpal.add_member(%s, %s, 'owner')", (other["id"], other["owner"]))
    theirs = writer(connect, other)
    fn(theirs, "create_table", NOTES)
    start = read(ctx)["cursor"]
    mine = create(ctx, "notes", {"title": "mine"})
    secret = create(theirs, "notes", {"title": "theirs"})
    for cursor in (start, "0"):
        events, _, _ = read_all(ctx, cursor)
        assert {e["company_id"] for e in events} == {str(company["id"])}
        assert mine["id"] in [e["record_id"] for e in events]
        assert secret["id"] not in json.dumps(events)
    # a cursor of the other company's reads gives none of its events either
    their_cursor = read(theirs)["cursor"]
    create(theirs, "notes", {"title": "theirs again"})
    assert all(e["company_id"] == str(company["id"]) for e in read_all(ctx, their_cursor)[0])


# --- boundaries -------------------------------------------------------------------

@pytest.mark.parametrize("max", [0, -1, 1001, None])
def test_max_out_of_range(ctx, max):
    with raises("22023"):
        one(ctx, "select docpal.read_events(null, %s)", max)


@pytest.mark.parametrize("cursor", ["", "x", "v2.0.1:0:", "v1.0.1:0", "v1.0.1:0:.1:0:.5", "v1.0.5:1:9",
                                    "v1.0.1:0:.2:0:.3.9", "12345678901234567", "-1", "1.5", "v1.0.1:0: ",
                                    "v1.99999999999999999.1:0:", "v1.0.99999999999999999999:0:",
                                    "v1.0.1:0:\n", "' or 1=1 --"])
def test_malformed_cursor_is_22023_without_echo(ctx, cursor):
    with raises("22023") as exc:
        read(ctx, cursor)
    d = exc.value.diag
    shown = " ".join(x for x in (d.message_primary, d.message_detail, d.message_hint) if x)
    assert cursor.strip() == "" or cursor not in shown


def test_long_cursor_is_54000(ctx):
    with raises("54000"):
        read(ctx, "v1.0.1:0:" + ",1" * 9000)
    with raises("54000"):
        read(ctx, "9" * 16001)


def test_no_context_is_42501(connect):
    for login in (SERVICE_LOGIN, APP_LOGIN):
        with raises("42501"):
            read(connect(login))


def test_forged_context_is_refused(ctx, company, connect):
    token = one(ctx, "select current_setting('docpal.context')")
    app = connect(APP_LOGIN)
    app.execute("select set_config('docpal.context', %s, false)", (token,))
    with raises("42501"):
        read(app, "0")


def test_suspended_company_is_42501(db, ctx, company):
    start = read(ctx)["cursor"]
    db.execute("select docpal.suspend_company(%s, 'test')", (company["id"],))
    with raises("42501"):
        read(ctx, start)
