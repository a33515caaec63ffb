"""API keys: contract section 6, docs/reference.md "API keys".

create_api_key (a member for itself, a platform admin for anyone) /
revoke_api_key, and authenticate from an untrusted docpal_app login: the
context it sets, scopes narrowing the user's grants, the refusals (28000,
53400), and the server-log line every failed attempt leaves. Plain SQL as
superuser only to look at what is stored. The attacks of issue 12 are in
test_attack_credentials.py.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN
from helpers import expect_codes, fn, one, raises, server_log_since, server_log_size, set_context, table, U

KEY_SHAPE = re.compile(r"^dpk_[A-Za-z0-9_-]{43}$")
NOTES = table("notes", {"name": "title", "type": "text"}, {"name": "owner_id", "type": "user"})


# --- helpers -------------------------------------------------------------------------------

def create_key(conn, user, scopes, spec=None, name="test key"):
    if spec is None:
        return one(conn, "select docpal.create_api_key(%s, %s, %s::text[])", name, U(user), scopes)
    return one(conn, "select docpal.create_api_key(%s, %s, %s::text[], %s)", name, U(user), scopes, Jsonb(spec))


def authenticate(conn, key, is_local=False):
    """authenticate(key, is_local); these tests keep a session-long context unless they say otherwise."""
    return one(conn, "select docpal.authenticate(%s, %s)", key, is_local)


def context_of(conn):
    return conn.execute("select docpal.current_company(), docpal.current_user_id()").fetchone()


def failures_logged(db, since):
    """The failed-authentication lines the server log got after offset `since`."""
    return [line for line in server_log_since(db, since).splitlines() if "docpal: failed authentication" in line]


def last_used(db, key_id):
    return one(db, "select last_used_at from docpal_private.api_key_use where key_id = %s", U(key_id))


def settle_minute(db, margin=8):
    """Wait for a fresh minute when the current one ends within `margin` seconds
    (the rate limit counts requests in the current minute)."""
    second = float(one(db, "select extract(second from clock_timestamp())"))
    if second > 60 - margin:
        time.sleep(60 - second + 0.2)


@pytest.fixture
def env(db, company):
    """Owner context on db, a notes table with a note each for owner and member,
    an admin, and a user who is no member."""
    owner = set_context(db, company, company["owner"])
    admin = one(db, "select docpal.create_user(%s, 'Admin')", f"admin-{company['slug']}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'admin')", (company["id"], admin))
    outsider = one(db, "select docpal.create_user(%s, 'Out')", f"out-{company['slug']}@example.com")
    fn(owner, "create_table", NOTES)
    fn(owner, "create_record", "notes", {"title": "owner's", "owner_id": str(company["owner"])})
    fn(owner, "create_record", "notes", {"title": "member's", "owner_id": str(company["member"])})
    return {**company, "conn": owner, "admin": admin, "outsider": outsider}


# --- create_api_key ----------------------------------------------------------------------

def test_create_api_key_shape(env):
    res = create_key(env["conn"], env["member"], ["read"])
    assert set(res) == {"id", "key"}
    uuid.UUID(res["id"])
    assert KEY_SHAPE.match(res["key"]), res["key"]
    other = create_key(env["conn"], env["member"], ["read"])
    assert other["id"] != res["id"] and other["key"] != res["key"]
    # a platform admin's connection (here a superuser's) creates keys for any member, with a spec
    admin = set_context(env["conn"], env, env["admin"])
    res = create_key(admin, env["owner"], ["read", "create", "update", "delete"],
                     {"expires_at": "2999-01-01T00:00:00Z", "rate_limit_per_minute": 100})
    assert KEY_SHAPE.match(res["key"])


def test_key_is_stored_only_as_its_sha256(db, env):
    res = create_key(env["conn"], env["owner"], ["read"], name="stored")
    key = res["key"]
    secret = key[len("dpk_"):]
    # no table of any schema holds the key or its random part
    tables = db.execute("""
        select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
           and n.nspname not like 'pg_toast%'""").fetchall()
    leaks = [t for (t,) in tables
             if one(db, f"select count(*) from {t} x where strpos(x::text, %s) > 0", secret[:20]) > 0]
    assert leaks == [], f"the key's random part is stored in {leaks}"
    # its SHA-256 is (natural reading: as bytea or hex text, both show the hex digits)
    digest = one(db, "select encode(sha256(convert_to(%s, 'UTF8')), 'hex')", key)
    row = one(db, "select x::text from docpal_private.api_keys x where id = %s", U(res["id"]))
    assert digest in row.lower()


def test_create_api_key_validation(db, env):
    o = env["conn"]
    past = one(db, "select (clock_timestamp() - interval '1 minute')::text")
    expect_codes([
        ("no scopes", lambda: create_key(o, env["member"], [])),
        ("unknown scope", lambda: create_key(o, env["member"], ["write"])),
        ("unknown among good", lambda: create_key(o, env["member"], ["read", "admin"])),
        ("scope case", lambda: create_key(o, env["member"], ["READ"])),
        ("expires in the past", lambda: create_key(o, env["member"], ["read"], {"expires_at": past})),
        ("rate limit 0", lambda: create_key(o, env["member"], ["read"], {"rate_limit_per_minute": 0})),
        ("rate limit negative", lambda: create_key(o, env["member"], ["read"], {"rate_limit_per_minute": -5})),
        ("rate limit fraction", lambda: create_key(o, env["member"], ["read"], {"rate_limit_per_minute": 1.5})),
        ("rate limit boolean", lambda: create_key(o, env["member"], ["read"], {"rate_limit_per_minute": True})),
        ("unknown spec key", lambda: create_key(o, env["member"], ["read"], {"ip": "10.0.0.1"})),
    ], "22023")
    # a malformed timestamp: 22023, or 22007/22008 as PostgreSQL says for dates
    expect_codes([("bad expires_at", lambda: create_key(o, env["member"], ["read"], {"expires_at": "someday"}))],
                 "22023", "22007", "22008")
    expect_codes([
        ("outsider", lambda: create_key(o, env["outsider"], ["read"])),
        ("unknown user", lambda: create_key(o, uuid.uuid4(), ["read"])),
    ], "23503")
    assert one(db, "select count(*) from docpal_private.api_keys") == 0


def as_client(conn):
    """A superuser session dropped to docpal_app, keeping its context: a client, no platform admin."""
    conn.execute("set role docpal_app")
    return conn


def test_members_create_keys_for_themselves_only(connect, env):
    member = as_client(set_context(connect(), env, env["member"]))
    assert KEY_SHAPE.match(create_key(member, env["member"], ["read"])["key"])
    owner = as_client(set_context(connect(), env, env["owner"]))
    expect_codes([
        ("member for the owner", lambda: create_key(member, env["owner"], ["read"])),
        ("owner for the member", lambda: create_key(owner, env["member"], ["read"])),
        ("owner for the admin", lambda: create_key(owner, env["admin"], ["read"])),
    ], "42501")
    with raises("42501"):  # no context
        create_key(connect(), env["member"], ["read"])


# --- revoke_api_key ------------------------------------------------------------------------

def test_revoke_api_key(connect, app, env):
    o = env["conn"]
    res = create_key(o, env["member"], ["read"])
    authenticate(app, res["key"])
    member = set_context(connect(), env, env["member"])
    owners = create_key(o, env["owner"], ["read"])
    with raises("42501"):  # a member revokes only its own keys
        fn(member, "revoke_api_key", U(owners["id"]))
    own = create_key(o, env["member"], ["read"])
    assert fn(member, "revoke_api_key", U(own["id"])) in ("", None)
    assert fn(o, "revoke_api_key", U(res["id"])) in ("", None)  # void
    with raises("28000"):
        authenticate(connect(APP_LOGIN), res["key"])
    with raises("P0002"):
        fn(o, "revoke_api_key", U(res["id"]))
    with raises("P0002"):
        fn(o, "revoke_api_key", uuid.uuid4())


def test_revoke_api_key_of_another_company_is_not_found(db, connect, app, env):
    res = create_key(env["conn"], env["owner"], ["read"])
    other = one(db, "select docpal.create_company(%s, 'Other')", f"oth-{env['slug']}")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (other, env["owner"]))
    conn = set_context(connect(), {"id": other}, env["owner"])
    with raises("P0002"):
        fn(conn, "revoke_api_key", U(res["id"]))
    assert authenticate(app, res["key"])["company_id"] == str(env["id"])


# --- authenticate --------------------------------------------------------------------------

def test_authenticate_sets_the_session_context(app, env):
    res = create_key(env["conn"], env["member"], ["read", "create"])
    assert context_of(app) == (None, None)
    got = authenticate(app, res["key"])
    assert set(got) == {"company_id", "user_id", "scopes"}
    assert got["company_id"] == str(env["id"]) and got["user_id"] == str(env["member"])
    assert sorted(got["scopes"]) == ["create", "read"]
    assert context_of(app) == (env["id"], env["member"])
    with app.transaction():
        pass
    assert context_of(app) == (env["id"], env["member"]), "a session context outlives transactions"
    app.execute("select docpal.clear_context()")
    assert context_of(app) == (None, None)


def test_authenticate_is_local_ends_with_the_transaction(connect, env):
    res = create_key(env["conn"], env["owner"], ["read"])
    conn = connect(APP_LOGIN, autocommit=False)
    got = one(conn, "select docpal.authenticate(key => %s, is_local => true)", res["key"])
    assert got["user_id"] == str(env["owner"])
    assert context_of(conn) == (env["id"], env["owner"])
    assert fn(conn, "query_table", "notes", {})["total"] == 2
    conn.commit()
    assert context_of(conn) == (None, None)
    authenticate(conn, res["key"], True)
    conn.rollback()
    assert context_of(conn) == (None, None)
    with raises("42501"):
        fn(conn, "query_table", "notes", {})


def test_app_can_authenticate_but_not_set_context(app, env):
    res = create_key(env["conn"], env["owner"], ["read"])
    with raises("42501"):
        app.execute("select docpal.set_context(%s, %s, false)", (env["id"], env["owner"]))
    assert context_of(app) == (None, None)
    authenticate(app, res["key"])
    with raises("42501"):  # not even to switch to another member once authenticated
        app.execute("select docpal.set_context(%s, %s, false)", (env["id"], env["member"]))
    assert context_of(app) == (env["id"], env["owner"])
    for private in ("docpal_private.api_keys", "docpal_private.api_key_use", "docpal_private.api_key_usage"):
        with raises("42501"):
            app.execute(f"select * from {private}")


def test_scopes_narrow_an_owner(app, env):
    res = create_key(env["conn"], env["owner"], ["read"])
    authenticate(app, res["key"])
    rows = fn(app, "query_table", "notes", {"sort": ["title"]})["rows"]
    assert [r["title"] for r in rows] == ["member's", "owner's"]
    rid = U(rows[0]["id"])
    assert fn(app, "get_record", "notes", rid)["title"] == "member's"
    expect_codes([
        ("create", lambda: fn(app, "create_record", "notes", {"title": "new"})),
        ("create_records", lambda: fn(app, "create_records", "notes", [{"title": "new"}])),
        ("update", lambda: one(app, "select docpal.update_record('notes', %s, %s)", rid, Jsonb({"title": "x"}))),
        ("delete", lambda: fn(app, "delete_record", "notes", rid)),
    ], "42501")
    assert one(env["conn"], f"select count(*) from {env['schema']}.notes") == 2
    assert one(env["conn"], f"select title from {env['schema']}.notes where id = %s", rid) == "member's"


def test_scopes_allow_what_they_name(app, env):
    res = create_key(env["conn"], env["owner"], ["read", "create"])
    authenticate(app, res["key"])
    rec = fn(app, "create_record", "notes", {"title": "via key"})
    assert rec["created_by"] == str(env["owner"])
    with raises("42501"):
        one(app, "select docpal.update_record('notes', %s, %s)", U(rec["id"]), Jsonb({"title": "x"}))
    # a create-only key cannot read
    res = create_key(env["conn"], env["owner"], ["create"])
    authenticate(app, res["key"])
    with raises("42501"):
        fn(app, "query_table", "notes", {})
    with raises("42501"):
        fn(app, "get_record", "notes", U(rec["id"]))


def test_scopes_never_widen_a_members_grants(app, env):
    o = env["conn"]
    one(o, "select docpal.grant_permission('member', 'notes', %s::text[], %s)",
        ["read"], Jsonb({"row_filter": {"owner_id": "$user"}}))
    res = create_key(o, env["member"], ["read", "create", "update", "delete"])
    authenticate(app, res["key"])
    rows = fn(app, "query_table", "notes", {})["rows"]
    assert [r["title"] for r in rows] == ["member's"]
    with raises("42501"):
        fn(app, "create_record", "notes", {"title": "nope"})
    with raises("42501"):
        fn(app, "create_table", table("mine", {"name": "x", "type": "text"}))
    with raises("42501"):
        create_key(app, env["owner"], ["read"])


def test_scopes_in_the_context_cannot_be_widened(app, env):
    """The context of an API key carries its scopes, signed with it."""
    key = create_key(env["conn"], env["owner"], ["read"])["key"]
    authenticate(app, key)
    token = one(app, "select current_setting('docpal.context')")
    assert "read" in token  # natural reading: the scopes travel in the signed value
    for forged in (token.replace("read", "read,create"), token.replace("read", "create")):
        app.execute("select set_config('docpal.context', %s, false)", (forged,))
        with raises("42501"):
            fn(app, "create_record", "notes", {"title": "forged"})
    assert one(env["conn"], f"select count(*) from {env['schema']}.notes") == 2


@pytest.mark.parametrize("key", [
    "", "nope", "dpk_", "dpk_" + "!" * 43, "dpk_" + "a" * 42, "dpk_" + "a" * 44, "DPK_" + "a" * 43,
    "dpk_" + "a" * 43,  # well-formed, unknown
    " dpk_" + "a" * 43,
])
def test_authenticate_refuses_malformed_and_unknown_keys(app, key):
    with raises("28000"):
        authenticate(app, key)
    assert context_of(app) == (None, None)


def test_authenticate_refuses_a_null_key(app):
    with raises("28000"):
        authenticate(app, None)


def test_authenticate_refuses_an_altered_key(app, env):
    key = create_key(env["conn"], env["owner"], ["read"])["key"]
    altered = key[:-1] + ("A" if key[-1] != "A" else "B")
    with raises("28000"):
        authenticate(app, altered)
    assert context_of(app) == (None, None)
    authenticate(app, key)
    assert context_of(app) == (env["id"], env["owner"])


def test_failed_authenticate_leaves_no_new_context(connect, env):
    good = create_key(env["conn"], env["member"], ["read"])["key"]
    conn = connect(APP_LOGIN)
    authenticate(conn, good)
    with raises("28000"):
        authenticate(conn, "dpk_" + "b" * 43)
    # natural reading: a refused key never grants an identity; the earlier one may stay or go
    assert context_of(conn) in ((env["id"], env["member"]), (None, None))


def test_expired_key(db, connect, env):
    at = one(db, "select clock_timestamp() + interval '1.5 seconds'")
    res = create_key(env["conn"], env["owner"], ["read"], {"expires_at": at.isoformat()})
    assert authenticate(connect(APP_LOGIN), res["key"])["user_id"] == str(env["owner"])
    while one(db, "select clock_timestamp() <= %s", at):
        time.sleep(0.2)
    conn = connect(APP_LOGIN)
    with raises("28000"):
        authenticate(conn, res["key"])
    assert context_of(conn) == (None, None)


def test_key_of_a_removed_member_or_suspended_company(db, connect, env):
    member_key = create_key(env["conn"], env["member"], ["read"])["key"]
    owner_key = create_key(env["conn"], env["owner"], ["read"])["key"]
    authenticate(connect(APP_LOGIN), member_key)
    db.execute("select docpal.remove_member(%s, %s)", (env["id"], env["member"]))
    with raises("28000"):
        authenticate(connect(APP_LOGIN), member_key)
    # the member joins again: natural reading, the key works again (it was never revoked)
    db.execute("select docpal.add_member(%s, %s)", (env["id"], env["member"]))
    authenticate(connect(APP_LOGIN), member_key)
    db.execute("select docpal.suspend_company(%s, 'unpaid')", (env["id"],))
    for key in (owner_key, member_key):
        with raises("28000"):
            authenticate(connect(APP_LOGIN), key)
    db.execute("select docpal.activate_company(%s)", (env["id"],))
    assert authenticate(connect(APP_LOGIN), owner_key)["user_id"] == str(env["owner"])


def test_context_of_a_removed_member_stops_working(db, app, env):
    key = create_key(env["conn"], env["member"], ["read"])["key"]
    one(env["conn"], "select docpal.grant_permission('member', 'notes', %s::text[])", ["read"])
    authenticate(app, key)
    assert fn(app, "query_table", "notes", {})["total"] == 2
    db.execute("select docpal.remove_member(%s, %s)", (env["id"], env["member"]))
    with raises("42501"):
        fn(app, "query_table", "notes", {})


def test_rate_limit_per_minute_is_counted_per_key(db, connect, env):
    limited = create_key(env["conn"], env["owner"], ["read"], {"rate_limit_per_minute": 3})
    free = create_key(env["conn"], env["owner"], ["read"])
    settle_minute(db)
    conn = connect(APP_LOGIN)
    for _ in range(3):
        authenticate(conn, limited["key"])
    with raises("53400"):
        authenticate(conn, limited["key"])
    with raises("53400"):  # from another session too: counted per key
        authenticate(connect(APP_LOGIN), limited["key"])
    for _ in range(5):
        authenticate(conn, free["key"])


def test_last_used_at_is_set_on_success(db, app, env):
    res = create_key(env["conn"], env["owner"], ["read"])
    assert last_used(db, res["id"]) is None
    start = one(db, "select clock_timestamp()")
    authenticate(app, res["key"])
    used = last_used(db, res["id"])
    assert used is not None and used >= start
    fn(env["conn"], "revoke_api_key", U(res["id"]))
    with raises("28000"):
        authenticate(app, res["key"])
    assert last_used(db, res["id"]) == used, "a refused attempt is no use"


def test_every_failed_attempt_is_logged(db, connect, env):
    good = create_key(env["conn"], env["owner"], ["read"], {"rate_limit_per_minute": 1})
    revoked = create_key(env["conn"], env["member"], ["read"])
    fn(env["conn"], "revoke_api_key", U(revoked["id"]))
    settle_minute(db)
    since = server_log_size(db)
    authenticate(connect(APP_LOGIN), good["key"])
    assert failures_logged(db, since) == [], "a success is not recorded"

    outcomes = {}
    for label, key, code in [("unknown", "dpk_" + "c" * 43, "28000"), ("malformed", "garbage", "28000"),
                             ("revoked", revoked["key"], "28000"), ("rate limited", good["key"], "53400")]:
        since = server_log_size(db)
        with raises(code):
            authenticate(connect(APP_LOGIN), key)
        rows = failures_logged(db, since)
        assert len(rows) == 1, f"{label}: {rows}"
        outcomes[label] = rows[0]
        assert key not in rows[0] and key[4:20] not in rows[0], "the key itself is never logged"
        assert "docpal_test_app" in rows[0], "the database role is logged"
        assert "127.0.0.1" in rows[0], "the client address is logged (the tests connect over TCP)"
    assert revoked["id"] in outcomes["revoked"], "the key id is logged when the key names one"
    assert good["id"] in outcomes["rate limited"]
    assert str(env["id"]) in outcomes["revoked"]
