"""Attacks on events and audit capture by hostile clients (issue 12), each written as the attack.

Notifications never block a write; each company's notifications go to a channel only its owners,
admins and the service role can name; event ids stay below 2^53; the outbox keeps events for the
retention period; no advisory lock can stall a consumer; internal switches cannot be set by a
client; audit images do not depend on the writer's session settings; event-rule values never
reach SQL as code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest

from conftest import APP_LOGIN, SERVICE_LOGIN
from helpers import fn, one, raises, set_context, table, U

NOTES = table("notes", {"name": "title", "type": "text"}, {"name": "ratio", "type": "float"},
              {"name": "span", "type": "text"})
TAGS = table("tags", {"name": "name", "type": "text"})
ITEMS = table("items", {"name": "name", "type": "text"},
              {"name": "tag_ids", "type": "relation_many", "target": "tags"})
EXPENSES = table("expenses", {"name": "title", "type": "text"},
                 {"name": "status", "type": "select", "options": ["draft", "submitted", "approved"]})
WF = {"name": "approval", "table": "expenses", "state_column": "status", "initial": "draft",
      "transitions": [{"name": "submit", "from": ["draft"], "to": "submitted"},
                      {"name": "approve", "from": ["submitted"], "to": "approved", "roles": ["owner"]}]}
ALL = ["read", "create", "update", "delete"]


def create(conn, slug, values):
    return fn(conn, "create_record", slug, values)


def poll(conn, consumer="c1", max=1000):
    return one(conn, "select docpal.poll_events(%s, %s)", consumer, max)


def ack(conn, consumer, last):
    conn.execute("select docpal.ack_events(%s, %s::bigint)", (consumer, last))


def heard(conn, timeout=1.0):
    return [(n.channel, n.payload) for n in conn.notifies(timeout=timeout)]


@pytest.fixture
def owner(service, company):
    return set_context(service, company, company["owner"])


@pytest.fixture
def notes(owner):
    fn(owner, "create_table", NOTES)
    return owner


def as_app(connect, service, company, user):
    """A docpal_app login authenticated with an API key of user (in company)."""
    keymaker = set_context(connect(SERVICE_LOGIN), company, company["owner"])  # the service, for any member
    key = one(keymaker, "select docpal.create_api_key('k', %s, %s::text[])", U(user), ALL)["key"]
    conn = connect(APP_LOGIN)
    conn.execute("select docpal.authenticate(%s, false)", (key,))
    return conn


@pytest.fixture
def threshold(db):
    """Sets the platform's notification threshold; puts the default back afterwards."""
    def _set(value):
        db.execute("insert into docpal_private.platform_settings (name, value) values ('notify_threshold', %s)"
                   " on conflict (name) do update set value = excluded.value", (value,))
    yield _set
    _set("0.5")


# --- 1. a flooded notification queue cannot stop writes -------------------------------------

def test_full_queue_skips_notifications_and_listeners_catch_up(notes, connect, db, company, threshold):
    """The attacker fills the queue (here: the threshold says it is full): writes still succeed,
    nothing is notified, the outbox holds every event and a consumer catches up from it."""
    channel = fn(notes, "event_channel")
    ear = connect()
    ear.execute(f'listen "{channel}"')
    ear.execute("listen docpal_events")
    threshold("0")
    assert one(db, "select docpal_private.notify_allowed()") is False
    ids = [create(notes, "notes", {"title": f"n{i}"})["id"] for i in range(3)]
    notes.execute("select docpal.update_record('notes', %s, '{\"title\": \"x\"}')", (U(ids[0]),))
    fn(notes, "create_records", "notes", [{"title": f"bulk{i}"} for i in range(150)])
    assert heard(ear) == []
    assert one(db, f'select count(*) from "{company["schema"]}"._events') == 3 + 1 + 150
    threshold("0.5")
    assert one(db, "select docpal_private.notify_allowed()") is True
    events = poll(notes)
    assert [e["record_id"] for e in events[:3]] == ids and len(events) == 154


# --- 2. notifications reach only the company's channel ---------------------------------------

def test_platform_channel_carries_only_empty_wakeups(notes, connect, company):
    """Any login (here a docpal_app one of no company) LISTENs to docpal_events: it learns that
    something changed, never what or where."""
    spy = connect(APP_LOGIN)
    spy.execute("listen docpal_events")
    rec = create(notes, "notes", {"title": "secret plan"})
    got = heard(spy)
    assert got and all(payload == "" for _, payload in got)
    assert rec["id"] not in json.dumps(got) and str(company["id"]) not in json.dumps(got)


def test_event_channel_is_for_owners_admins_and_the_service(notes, connect, service, company, db):
    channel = fn(notes, "event_channel")
    assert channel.startswith("docpal_") and len(channel.encode()) <= 63
    assert company["id"].hex not in channel and str(company["id"]) not in channel
    member_ctx = set_context(connect(SERVICE_LOGIN), company, company["member"])
    assert fn(member_ctx, "event_channel") == channel  # the service role, acting for a member
    member_app = as_app(connect, service, company, company["member"])
    with raises("42501"):
        fn(member_app, "event_channel")
    owner_app = as_app(connect, service, company, company["owner"])
    assert fn(owner_app, "event_channel") == channel
    with raises("42501"):
        fn(connect(APP_LOGIN), "event_channel")  # no context
    with raises("42501"):
        fn(connect(SERVICE_LOGIN), "event_channel")
    # the name is in no catalog a login can read
    assert one(db, "select count(*) from pg_proc where prosrc like '%%' || %s || '%%'", channel) == 0
    assert one(db, "select count(*) from pg_attrdef where pg_get_expr(adbin, adrelid) like '%%' || %s || '%%'",
               channel) == 0
    assert one(db, "select count(*) from pg_db_role_setting where array_to_string(setconfig, ',') like '%%' || %s || '%%'",
               channel) == 0


def test_a_company_channel_hears_only_its_company(notes, connect, db, service, company):
    other_id = fn(db, "create_company", "other-" + company["slug"][:40], "Other")
    other_owner = fn(db, "create_user", f"o-{other_id}@example.com", "O")
    fn(db, "add_member", other_id, other_owner, "owner")
    other = set_context(connect(SERVICE_LOGIN), {"id": other_id}, other_owner)
    fn(other, "create_table", NOTES)
    mine, theirs = fn(notes, "event_channel"), fn(other, "event_channel")
    assert mine != theirs
    ear = connect()
    ear.execute(f'listen "{mine}"')
    create(other, "notes", {"title": "theirs"})
    rec = create(notes, "notes", {"title": "mine"})
    got = heard(ear)
    assert [ch for ch, _ in got] == [mine]
    payload = json.loads(got[0][1])
    assert set(payload) == {"event_id", "company_id", "table", "record_id", "action", "version", "changed",
                            "user_id", "at"}
    assert (payload["record_id"], payload["company_id"]) == (rec["id"], str(company["id"]))


# --- 3. event ids below 2^53 -----------------------------------------------------------------

def test_event_ids_stay_below_2_53_for_company_numbers_past_8192(db, connect):
    db.execute("select setval(pg_get_serial_sequence('docpal_private.companies', 'number'), 9000)")
    cid = fn(db, "create_company", "big-number-co", "Big")
    assert one(db, "select number from docpal_private.companies where id = %s", cid) > 8192
    owner = fn(db, "create_user", "big-owner@example.com", "Big Owner")
    fn(db, "add_member", cid, owner, "owner")
    ctx = set_context(connect(SERVICE_LOGIN), {"id": cid}, owner)
    fn(ctx, "create_table", NOTES)
    create(ctx, "notes", {"title": "a"})
    [event] = poll(ctx, "js")
    assert event["event_id"] < 2 ** 53
    assert int(float(event["event_id"])) == event["event_id"]  # what a JavaScript client reads
    ack(ctx, "js", int(float(event["event_id"])))
    assert poll(ctx, "js") == []


# --- 5. no advisory lock can stall a consumer -----------------------------------------------

def test_advisory_locks_do_not_stall_a_consumer(notes, connect, company, dburl):
    create(notes, "notes", {"title": "a"})
    hostile = connect(APP_LOGIN, autocommit=False)
    # the keys docpal used to take: a new consumer's position, and a listener's turn
    hostile.execute("select pg_advisory_xact_lock(hashtextextended(%s || '|' || %s, 42))",
                    ("victim", str(company["id"])))
    hostile.execute("select pg_advisory_xact_lock(hashtextextended('docpal listen ' || %s, 0))", ("victim",))
    notes.execute("set lock_timeout = '3s'")
    assert [e["record_id"] for e in poll(notes, "victim")] != []
    env = {**os.environ, "DATABASE_URL": dburl.replace("://postgres@", f"://{SERVICE_LOGIN}@")}
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "docpal"), "listen", "--consumer", "victim", "--once"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    hostile.rollback()


# --- 6. internal switches are not settings a client can write --------------------------------

def test_member_cannot_create_into_an_approved_state_by_faking_a_restore(owner, connect, service, company, db):
    fn(owner, "create_table", EXPENSES)
    fn(owner, "define_workflow", WF)
    one(owner, "select docpal.grant_permission('member', 'expenses', %s::text[])", ["read", "create"])
    member = as_app(connect, service, company, company["member"])
    member.execute("select set_config('docpal.audit_action', 'RESTORE', false)")
    with raises("23514"):
        create(member, "expenses", {"title": "pay me", "status": "approved"})
    # a forged signed-looking value bound to the right transaction is no better
    member.execute("begin")
    txid = one(member, "select pg_current_xact_id()::text")
    member.execute("select set_config('docpal.audit_action', %s, true)", (f"RESTORE|{txid}|{'ab' * 32}",))
    with raises("23514"):
        create(member, "expenses", {"title": "pay me", "status": "approved"})
    member.execute("rollback")
    member.execute("select set_config('docpal.audit_action', 'RESTORE', false)")
    rec = create(member, "expenses", {"title": "fine"})
    assert one(db, f'select action from "{company["schema"]}"._audit_log where record_id = %s', U(rec["id"])) == "INSERT"


def test_link_changes_stay_in_the_log_whatever_the_client_sets(owner, connect, service, company, db):
    fn(owner, "create_table", TAGS)
    fn(owner, "create_table", ITEMS)
    tag = create(owner, "tags", {"name": "t"})
    item = create(owner, "items", {"name": "i", "tag_ids": [tag["id"]]})
    owner.execute("select set_config('docpal.audit_links', 'off', false)")
    fn(owner, "delete_record", "tags", U(tag["id"]))  # the cascade unlinks the item
    owner.execute("select set_config('docpal.audit_links', '', false)")
    changes = one(db, f"""select count(*) from "{company["schema"]}"._audit_log
                           where record_id = %s and changed = array['tag_ids']""", U(item["id"]))
    assert changes == 2  # linked at creation, unlinked by the cascade


def test_a_plain_maintenance_setting_does_not_open_the_audit_log(notes, db, connect, company):
    create(notes, "notes", {"title": "a"})
    dba = connect(autocommit=False)  # a superuser, even
    dba.execute("set local docpal.audit_maintenance = on")
    with raises("42501"):
        dba.execute(f'delete from "{company["schema"]}"._audit_log')
    dba.rollback()


# --- 7. audit images do not depend on the writer's session settings --------------------------

def test_audit_image_ignores_hostile_session_settings(notes, db, company):
    notes.execute("set extra_float_digits = -15")
    notes.execute("set intervalstyle = 'sql_standard'")
    notes.execute("set datestyle = 'SQL, DMY'")
    notes.execute("set timezone = 'Pacific/Chatham'")
    rec = create(notes, "notes", {"title": "f", "ratio": 1.5})
    notes.execute("select docpal.update_record('notes', %s, '{\"ratio\": 2.25}')", (U(rec["id"]),))
    new, summary = db.execute(f"""select new, summary from "{company["schema"]}"._audit_log
                                   where record_id = %s order by id desc limit 1""", (U(rec["id"]),)).fetchone()
    assert new["ratio"] == 2.25 and summary == "ratio: 1.5 → 2.25"
    first = one(db, f'select new from "{company["schema"]}"._audit_log where record_id = %s order by id limit 1',
                U(rec["id"]))
    assert first["ratio"] == 1.5 and first["created_at"].endswith("+00:00")


# --- 8. event-rule values never become SQL ---------------------------------------------------

@pytest.mark.parametrize("nasty", ["$action", "a$$b", "it's", "back\\slash", "$capture$", "%s %I", "_t.title",
                                   "($1->0)", "'; drop table x; --"])
def test_event_rule_values_are_data(notes, nasty, db, company):
    fn(notes, "create_event_rule", {"table": "notes", "actions": ["INSERT", "UPDATE"],
                                    "when": {"title": {"eq": nasty}}, "workflow": "w", "task_queue": "q"})
    hit = create(notes, "notes", {"title": nasty})
    miss = create(notes, "notes", {"title": "plain"})
    events = {e["record_id"]: e.get("workflow") for e in poll(notes, "rules")}
    assert events[hit["id"]] == {"name": "w", "task_queue": "q"}
    assert events[miss["id"]] is None


# --- 4. retention is upkeep, run by `docpal maintain` ------------------------------------------

def test_docpal_maintain_runs_audit_and_event_upkeep(notes, dburl, company):
    create(notes, "notes", {"title": "a"})
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "docpal"), "maintain",
                           "--database-url", dburl, "--company", company["slug"]],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["part"] for line in lines] == ["audit", "events"]
    assert lines[1]["events_deleted"] == 0  # within the retention period
    assert len(poll(notes, "late-reader")) == 1
