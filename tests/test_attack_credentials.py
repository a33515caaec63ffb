"""Issue 12, credentials: the attacks a hostile client runs against API keys and
contexts, each of which worked before (commit 179e1ee).

- a context made from a key outlives the key (revoked, expired): kept for the
  session, or saved and set again later;
- an owner or admin mints keys for other members and acts as them (two
  approvals of one workflow step by one person);
- authenticating locks and writes the key row: a client that keeps its
  transaction open stalls every other request of its key and revocation;
  each failure opens a connection back to the server;
- the default context lasts for the session, which leaks through a pooler.

Real connections; every wait is bounded by lock_timeout.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN
from helpers import fn, one, raises, server_log_since, server_log_size, set_context, table, U

NOTES = table("notes", {"name": "title", "type": "text"})


def create_key(conn, user, scopes=("read",), spec=None):
    return one(conn, "select docpal.create_api_key('k', %s, %s::text[], %s)", U(user), list(scopes), Jsonb(spec or {}))


def context_of(conn):
    return conn.execute("select docpal.current_company(), docpal.current_user_id()").fetchone()


@pytest.fixture
def env(db, company):
    owner = set_context(db, company, company["owner"])
    fn(owner, "create_table", NOTES)
    fn(owner, "create_record", "notes", {"title": "a note"})
    return {**company, "conn": owner}


# --- 1. revocation and expiry end every context made from the key ------------------------------

def test_a_revoked_keys_session_context_stops_at_the_next_call(connect, env):
    key = create_key(env["conn"], env["owner"])
    client = connect(APP_LOGIN)
    one(client, "select docpal.authenticate(%s, is_local => false)", key["key"])
    assert fn(client, "query_table", "notes", {})["total"] == 1
    fn(env["conn"], "revoke_api_key", U(key["id"]))
    with raises("42501"):
        fn(client, "query_table", "notes", {})
    with raises("42501"):
        fn(client, "create_record", "notes", {"title": "after revocation"})


def test_a_saved_context_of_a_revoked_key_is_refused(connect, env):
    key = create_key(env["conn"], env["owner"], ["read", "create"])
    client = connect(APP_LOGIN, autocommit=False)
    one(client, "select docpal.authenticate(%s)", key["key"])  # to the end of this transaction
    saved = one(client, "select current_setting('docpal.context')")
    client.commit()
    fn(env["conn"], "revoke_api_key", U(key["id"]))
    client.execute("select set_config('docpal.context', %s, true)", (saved,))
    with raises("42501"):
        fn(client, "create_record", "notes", {"title": "replayed"})
    client.rollback()
    assert one(env["conn"], f"select count(*) from {env['schema']}.notes") == 1


def test_an_expired_keys_session_context_stops(db, connect, env):
    at = one(db, "select clock_timestamp() + interval '1 second'")
    key = create_key(env["conn"], env["owner"], spec={"expires_at": at.isoformat()})
    client = connect(APP_LOGIN)
    one(client, "select docpal.authenticate(%s, false)", key["key"])
    assert fn(client, "query_table", "notes", {})["total"] == 1
    while one(db, "select clock_timestamp() <= %s", at):
        time.sleep(0.1)
    with raises("42501"):
        fn(client, "query_table", "notes", {})


# --- 2. keys are minted for oneself only ------------------------------------------------------

WF = {"name": "expense_approval", "table": "expenses", "state_column": "status", "initial": "draft",
      "transitions": [{"name": "submit", "from": ["draft"], "to": "submitted"},
                      {"name": "approve", "from": ["submitted"], "to": "approved", "roles": ["approver"],
                       "approvals": 2}]}


def test_an_admin_cannot_mint_keys_to_approve_twice(db, connect, company):
    """The issue's attack: an admin mints keys for two approvers (and for the owner) and completes
    a two-approval transition alone."""
    owner = set_context(db, company, company["owner"])

    def user(name, role="member"):
        uid = one(db, "select docpal.create_user(%s, %s)", f"{name}-{company['slug']}@example.com", name)
        db.execute("select docpal.add_member(%s, %s, %s)", (company["id"], uid, role))
        return uid

    admin, bob, carol = user("admin", "admin"), user("bob"), user("carol")
    fn(owner, "create_table", table("expenses", {"name": "title", "type": "text"},
                                    {"name": "status", "type": "select", "options": ["draft", "submitted", "approved"]}))
    fn(owner, "create_role", "approver")
    for who in (bob, carol):
        fn(owner, "assign_role", U(who), "approver")
    fn(owner, "define_workflow", WF)
    rid = fn(owner, "create_record", "expenses", {"title": "Yacht"})["id"]
    one(owner, "select docpal.transition_record('expenses', %s, 'submit')", U(rid))
    admin_key = create_key(owner, admin, ["read", "create", "update", "delete"])["key"]  # a platform admin's doing

    attacker = connect(APP_LOGIN)
    one(attacker, "select docpal.authenticate(%s, false)", admin_key)
    minted, refused = [], []
    for victim in (bob, carol, company["owner"]):
        try:
            minted.append(create_key(attacker, victim, ["read", "create", "update", "delete"])["key"])
        except psycopg.Error as exc:
            refused.append(exc.sqlstate)
    for key in minted:  # what the attacker would do with them
        conn = connect(APP_LOGIN)
        one(conn, "select docpal.authenticate(%s, false)", key)
        try:
            one(conn, "select docpal.transition_record('expenses', %s, 'approve')", U(rid))
        except psycopg.Error:
            pass
    assert refused == ["42501"] * 3, f"keys minted for other members: {len(minted)}"
    assert one(db, f"select status from {company['schema']}.expenses where id = %s", U(rid)) == "submitted"
    # for itself, the admin may
    assert create_key(attacker, admin)["key"].startswith("dpk_")


# --- 3. authenticating is a read: no lock on the key, no connection per failure -----------------

def test_a_client_holding_its_transaction_stalls_neither_its_key_nor_revocation(connect, env):
    key = create_key(env["conn"], env["owner"], spec={"rate_limit_per_minute": 1000})
    holder = connect(APP_LOGIN, autocommit=False)
    one(holder, "select docpal.authenticate(%s)", key["key"])  # and keeps the transaction open
    try:
        other = connect(APP_LOGIN)
        other.execute("set lock_timeout = '1s'")
        assert one(other, "select docpal.authenticate(%s, false)", key["key"])["user_id"] == str(env["owner"])
        admin = set_context(connect(SERVICE_LOGIN), env, env["owner"])
        admin.execute("set lock_timeout = '1s'")
        fn(admin, "revoke_api_key", U(key["id"]))
    finally:
        holder.rollback()


def test_authenticating_with_a_used_key_writes_nothing(db, connect, env):
    key = create_key(env["conn"], env["owner"])
    one(connect(APP_LOGIN), "select docpal.authenticate(%s, false)", key["key"])  # sets last_used_at
    attempts = one(db, "select count(*) from docpal_private.auth_attempts")
    client = connect(APP_LOGIN, autocommit=False)
    for _ in range(5):
        one(client, "select docpal.authenticate(%s)", key["key"])
        assert one(client, "select pg_current_xact_id_if_assigned()") is None, "authenticate wrote a row"
        client.rollback()
    assert one(db, "select count(*) from docpal_private.auth_attempts") == attempts


def test_rate_limit_counters_are_unlogged(db, connect, env):
    key = create_key(env["conn"], env["owner"], spec={"rate_limit_per_minute": 100})
    one(connect(APP_LOGIN), "select docpal.authenticate(%s, false)", key["key"])
    counted = db.execute("""
        select c.relpersistence from pg_class c join pg_attribute a on a.attrelid = c.oid
          join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'docpal_private' and c.relkind = 'r' and a.attname = 'requests'""").fetchall()
    assert counted and all(p == "u" for (p,) in counted), counted


def sessions(db):
    db.execute("select pg_stat_clear_snapshot()")
    return one(db, "select sessions from pg_stat_database where datname = current_database()")


def test_a_failure_is_logged_without_opening_a_connection(db, connect, env):
    key = create_key(env["conn"], env["owner"])
    fn(env["conn"], "revoke_api_key", U(key["id"]))
    client = connect(APP_LOGIN)
    time.sleep(0.6)  # our own connections' session counts reach the statistics
    before, since = sessions(db), server_log_size(db)
    for bad in (key["key"], "dpk_" + "x" * 43, "not a key"):
        with raises("28000") as exc:
            one(client, "select docpal.authenticate(%s, false)", bad)
        assert bad not in str(exc.value)
    logged = [line for line in server_log_since(db, since).splitlines() if "docpal: failed authentication" in line]
    assert len(logged) == 3, logged
    assert key["id"] in logged[0] and "revoked" in logged[0]
    assert not any(key["key"][4:] in line or "x" * 43 in line for line in logged), "a key was logged"
    time.sleep(0.6)
    assert sessions(db) == before, "a failed authentication opened a connection"


# --- 4. the default context ends with the transaction -----------------------------------------

def test_the_default_context_does_not_outlive_its_transaction(connect, env):
    key = create_key(env["conn"], env["owner"])
    service = connect(SERVICE_LOGIN)
    service.execute("select docpal.set_context(%s, %s)", (env["id"], env["owner"]))
    assert context_of(service) == (None, None)
    client = connect(APP_LOGIN)
    one(client, "select docpal.authenticate(%s)", key["key"])
    assert context_of(client) == (None, None)
    with raises("42501"):
        fn(client, "query_table", "notes", {})


def test_named_defaults_are_transaction_scoped(db):
    defaults = dict(db.execute("""
        select p.proname, pg_get_function_arguments(p.oid) from pg_proc p
         where p.pronamespace = 'docpal'::regnamespace and p.proname in ('set_context', 'authenticate')""").fetchall())
    assert all("is_local boolean DEFAULT true" in args for args in defaults.values()), defaults
