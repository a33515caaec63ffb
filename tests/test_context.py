"""Tenant context: set by the service, signed per session, unforgeable by a
docpal_app client; and the privilege boundary around docpal's objects."""

from __future__ import annotations

import uuid

import pytest
from psycopg import errors

from conftest import APP_LOGIN


def one(conn, sql, *params):
    return conn.execute(sql, params).fetchone()[0]


def context_of(conn):
    return conn.execute("select docpal.current_company(), docpal.current_user_id()").fetchone()


# --- set_context / clear_context --------------------------------------------

def test_no_context_reads_null(service, app):
    assert context_of(service) == (None, None)
    assert context_of(app) == (None, None)


def test_set_context_for_session_and_clear(service, company):
    service.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    assert context_of(service) == (company["id"], company["owner"])
    with service.transaction():
        pass
    assert context_of(service) == (company["id"], company["owner"]), "a session context outlives transactions"
    service.execute("select docpal.clear_context()")
    assert context_of(service) == (None, None)


@pytest.mark.parametrize("setting", ["extra_float_digits = -3", "timezone = 'Pacific/Chatham'", "datestyle = 'SQL, DMY'"])
def test_session_settings_do_not_invalidate_a_context(service, company, setting):
    service.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    service.execute(f"set {setting}")
    assert context_of(service) == (company["id"], company["owner"])


def test_set_context_named_arguments(service, company):
    service.execute("select docpal.set_context(company => %s, user_id => %s, is_local => false)",
                    (company["id"], company["owner"]))
    assert context_of(service) == (company["id"], company["owner"])


def test_local_context_ends_with_the_transaction(connect, company):
    """What a transaction-pooling PgBouncer needs: nothing leaks to the next transaction."""
    conn = connect(autocommit=False)
    conn.execute("select docpal.set_context(%s, %s, true)", (company["id"], company["member"]))
    assert context_of(conn) == (company["id"], company["member"])
    conn.commit()
    assert context_of(conn) == (None, None)
    conn.execute("select docpal.set_context(%s, %s, true)", (company["id"], company["member"]))
    conn.rollback()
    assert context_of(conn) == (None, None)


def test_clear_context_also_ends_a_local_context(connect, company):
    conn = connect(autocommit=False)
    conn.execute("select docpal.set_context(%s, %s, true)", (company["id"], company["member"]))
    conn.execute("select docpal.clear_context()")
    assert context_of(conn) == (None, None)
    conn.commit()
    assert context_of(conn) == (None, None)


def test_local_context_inside_a_session_context(connect, db, company):
    other = one(db, "select docpal.create_company('other-co', 'Other')")
    db.execute("select docpal.add_member(%s, %s)", (other, company["member"]))
    conn = connect(autocommit=False)
    conn.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["member"]))
    conn.commit()
    conn.execute("select docpal.set_context(%s, %s, true)", (other, company["member"]))
    assert context_of(conn)[0] == other
    conn.commit()
    assert context_of(conn)[0] == company["id"]


@pytest.mark.parametrize("who", ["stranger", "unknown-user", "unknown-company", "nulls"])
def test_set_context_refuses_non_members(db, service, company, who):
    stranger = one(db, "select docpal.create_user('stranger@example.com', 'S')")
    args = {
        "stranger": (company["id"], stranger),
        "unknown-user": (company["id"], uuid.uuid4()),
        "unknown-company": (uuid.uuid4(), company["owner"]),
        "nulls": (None, None),
    }[who]
    with pytest.raises(errors.InsufficientPrivilege):
        service.execute("select docpal.set_context(%s, %s, false)", args)
    assert context_of(service) == (None, None)


def test_app_cannot_call_set_context(app, company):
    with pytest.raises(errors.InsufficientPrivilege):
        app.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))


# --- forging ---------------------------------------------------------------------

def test_app_cannot_forge_a_token(app, company):
    pid, start = app.execute(
        "select pid, extract(epoch from backend_start)::text from pg_stat_activity where pid = pg_backend_pid()"
    ).fetchone()
    forged = f"{company['id']}|{company['owner']}|{pid}|{start}|{'0' * 64}"
    app.execute("select set_config('docpal.context', %s, false)", (forged,))
    with pytest.raises(errors.InsufficientPrivilege, match="not valid"):
        app.execute("select docpal.current_company()")
    with pytest.raises(errors.InsufficientPrivilege):
        app.execute("select docpal.current_user_id()")


@pytest.mark.parametrize("value", ["", "garbage", "a|b|c|d|e", "||||", "x" * 5000,
                                   "00000000-0000-0000-0000-000000000000|00000000-0000-0000-0000-000000000000|1|2|3",
                                   "x|y||z|1|2|" + "0" * 64])
def test_malformed_tokens_never_yield_a_company(app, value):
    app.execute("select set_config('docpal.context', %s, false)", (value,))
    try:
        assert context_of(app) == (None, None)
    except errors.InsufficientPrivilege:
        pass  # refusing loudly is as good as reading nothing


def test_token_from_another_session_is_worthless(service, app, connect, company):
    """A signed value seen in one session (logs, a shared pooler) cannot be replayed in another."""
    service.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    token = one(service, "select current_setting('docpal.context')")
    for conn in (app, connect()):
        conn.execute("select set_config('docpal.context', %s, false)", (token,))
        with pytest.raises(errors.InsufficientPrivilege, match="not valid"):
            conn.execute("select docpal.current_company()")


def test_a_valid_token_spelled_otherwise_is_refused(connect, company):
    """The signature covers the value as set_context wrote it: the same uuids in
    capitals (equal as uuids) are another value, refused (context() checks no
    pattern before its casts: only a signed value reaches them); a trigger's
    context_user() reads no user from it and raises nothing."""
    conn = connect()
    conn.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    parts = one(conn, "select current_setting('docpal.context')").split("|")
    for i in (0, 1):
        changed = parts.copy()
        changed[i] = changed[i].upper()
        conn.execute("select set_config('docpal.context', %s, false)", ("|".join(changed),))
        with pytest.raises(errors.InsufficientPrivilege, match="not valid"):
            conn.execute("select docpal.current_company()")
        with pytest.raises(errors.InsufficientPrivilege, match="not valid"):
            conn.execute("select docpal_private.require_company()")
        assert one(conn, "select docpal_private.context_user()") is None
    conn.execute("select set_config('docpal.context', %s, false)", ("x|y||z|" + "|".join(parts[4:]),))
    for call in ("docpal.current_company()", "docpal_private.require_company()"):
        with pytest.raises(errors.InsufficientPrivilege, match="not valid"):
            conn.execute(f"select {call}")


def test_tampering_with_a_valid_token_is_refused(db, connect, company):
    other = one(db, "select docpal.create_company('victim', 'Victim')")
    conn = connect()
    conn.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    parts = one(conn, "select current_setting('docpal.context')").split("|")
    parts[0] = str(other)
    conn.execute("select set_config('docpal.context', %s, false)", ("|".join(parts),))
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute("select docpal.current_company()")


def test_context_signature_is_hmac_sha256_as_pgcrypto_computes_it(db, connect, company):
    """hmac_sha256 is built on the server's sha256() (no pgcrypto on the context
    path): RFC 4231's vectors, pgcrypto's hmac on varied keys (empty, block size,
    longer than a block) and data (empty, non-ASCII), and the context's own MAC."""
    rfc = [("Jefe", "what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
           ("\\x" + "aa" * 131, "Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")]
    for key, data, mac in rfc:
        assert one(db, "select encode(docpal_private.hmac_sha256(%s, %s::bytea), 'hex')", data, key) == mac
    schema = one(db, "select extnamespace::regnamespace::text from pg_extension where extname = 'pgcrypto'")
    differ = one(db, f"""
        select count(*) from (
            select pg_catalog.repeat(md5(i::text), i %% 9) || case when i %% 2 = 0 then 'é€|' else '' end as d,
                   {schema}.gen_random_bytes(1 + i %% 200) as k
              from generate_series(1, 400) i
            union all select '', '\\x'::bytea union all select 'x', decode(repeat('ab', 64), 'hex')
            union all select 'x', decode(repeat('ab', 65), 'hex')) x
         where docpal_private.hmac_sha256(x.d, x.k) is distinct from {schema}.hmac(convert_to(x.d, 'UTF8'), x.k, 'sha256')""")
    assert differ == 0
    conn = connect()
    conn.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    token = one(conn, "select current_setting('docpal.context')")
    payload, mac = token.rsplit("|", 1)
    assert mac == one(db, f"""select encode({schema}.hmac(convert_to(%s, 'UTF8'), s.value, 'sha256'), 'hex')
                                from docpal_private.secrets s where s.name = 'context_hmac'""", payload)


def test_context_helpers_are_inlined(db):
    """session_tag and hmac_sha256 are SQL functions the planner folds into the
    calling expression (a fresh connection compiles no function for them), and
    their names and operators are schema-qualified (no search_path decides
    what they run, though they pin none)."""
    plan = "\n".join(r[0] for r in db.execute(
        "explain (verbose, costs off) select docpal_private.hmac_sha256(docpal_private.session_tag(), '\\x00'::bytea)"))
    assert "sha256(" in plan and "pg_backend_pid()" in plan
    assert "hmac_sha256" not in plan and "session_tag" not in plan
    plan = "\n".join(r[0] for r in db.execute(
        "explain (verbose, costs off) select docpal_private.context_sign(s.name, s.value) from docpal_private.secrets s"))
    assert "sha256(" in plan and "context_sign" not in plan
    db.execute("create schema evil")
    db.execute("create function evil.sha256(bytea) returns bytea language sql as $$ select '\\x00'::bytea $$")
    db.execute("create function evil.textcat(text, text) returns text language sql as $$ select 'x' $$")
    db.execute("set search_path = evil, pg_catalog, public")
    assert one(db, "select encode(docpal_private.hmac_sha256('what do ya want for nothing?', 'Jefe'), 'hex')") \
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_a_citus_setting_does_not_make_citus_installed(db, service, company):
    """citus_installed skips its catalog lookup when the Citus library's setting
    does not exist; a client can make that setting exist, which only sends the
    check to pg_extension, and writes go on as without Citus."""
    assert one(db, "select docpal_private.citus_installed()") is False
    db.execute("set citus.propagate_set_commands = 'local'")
    assert one(db, "select docpal_private.citus_installed()") is False
    service.execute("select set_config('citus.propagate_set_commands', 'local', false)")
    service.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    service.execute("""select docpal.create_table('{"slug": "notes", "name": "Notes",
                         "columns": [{"name": "title", "type": "text"}]}'::jsonb)""")
    assert one(service, """select docpal.create_record('notes', '{"title": "a"}')->>'title'""") == "a"


@pytest.mark.parametrize("setting", ["docpal.company_id", "docpal.user_id", "app.current_user_id",
                                     "app.company_id", "request.jwt.claims", "docpal.company"])
def test_plain_settings_give_no_identity(app, company, setting):
    app.execute("select set_config(%s, %s, false)", (setting, str(company["id"])))
    assert context_of(app) == (None, None)
    assert one(app, "select docpal.get_company(%s)", company["slug"]) is None


# --- the privilege boundary ---------------------------------------------------

#: what docpal_app may not call: the platform-admin functions and set_context
SERVICE_ONLY = {"create_company", "list_companies", "update_company", "suspend_company", "activate_company",
                "drop_company", "create_user", "add_member", "remove_member", "set_context",
                # event consumers are platform-wide (contract section 7)
                "poll_events", "ack_events", "replay_events",
                # platform upkeep and settings (issue 12)
                "maintain_events", "set_platform_setting",
                # quotas and imports are the platform's (contract section 8)
                "set_quota", "import_company",
                # scheduled report runs across companies (contract section 11)
                "run_due_reports", "claim_due_report", "run_claimed_report",
                # docpal serve's /readyz (contract section 12)
                "installed_version",
                # docpal serve's admin page: a user by email, a company's members
                "get_user", "list_members",
                # the query cache's server-wide counters (issue 19)
                "query_cache_stats"}
ADMIN_CALLS = [
    "select docpal.create_company('evil', 'Evil')",
    "select docpal.list_companies()",
    "select docpal.update_company('{cid}', '{{\"name\": \"x\"}}')",
    "select docpal.suspend_company('{cid}', 'x')",
    "select docpal.activate_company('{cid}')",
    "select docpal.drop_company('{cid}')",
    "select docpal.create_user('evil@example.com', 'Evil')",
    "select docpal.add_member('{cid}', '{uid}', 'owner')",
    "select docpal.remove_member('{cid}', '{uid}')",
    "select docpal.get_user('{uid}')",
    "select docpal.list_members('{cid}')",
]


@pytest.mark.parametrize("call", ADMIN_CALLS)
def test_app_cannot_call_platform_admin_functions(app, db, company, call):
    with pytest.raises(errors.InsufficientPrivilege):
        app.execute(call.format(cid=company["id"], uid=company["member"]))
    assert one(db, "select docpal.get_company(%s)->>'status'", company["slug"]) == "active"


@pytest.mark.parametrize("call", ADMIN_CALLS[:2])
def test_service_may_call_platform_admin_functions(service, call):
    service.execute(call)


def test_app_executes_exactly_the_client_functions(db):
    rows = db.execute("""
        select p.proname, n.nspname,
               has_function_privilege('docpal_app', p.oid, 'EXECUTE') as app,
               has_function_privilege('docpal_service', p.oid, 'EXECUTE') as service,
               exists (select from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                        where a.grantee = 0) as public
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname in ('docpal', 'docpal_private')""").fetchall()
    assert rows
    assert not [r for r in rows if r[4]], "EXECUTE must be revoked from PUBLIC on every docpal function"
    public = {r[0] for r in rows if r[1] == "docpal"}
    assert SERVICE_ONLY <= public
    assert {r[0] for r in rows if r[2]} == public - SERVICE_ONLY
    assert not [r for r in rows if r[1] == "docpal_private" and (r[2] or r[3])]
    assert {r[0] for r in rows if r[3]} == {r[0] for r in rows if r[1] == "docpal"}


def test_every_security_definer_function_pins_search_path(db):
    unpinned = db.execute("""
        select p.oid::regprocedure::text from pg_proc p
         where p.pronamespace in ('docpal'::regnamespace, 'docpal_private'::regnamespace)
           and p.prosecdef
           and not exists (select from unnest(p.proconfig) c where c like 'search\\_path=%%')""").fetchall()
    assert unpinned == []


@pytest.mark.parametrize("sql", [
    "select * from docpal_private.companies",
    "select * from docpal_private.secrets",
    "select * from docpal_private.memberships",
    "select docpal_private.context_token('{cid}', '{uid}', '')",
    "select * from docpal_private.require_company()",
    "create function docpal.evil() returns int language sql as 'select 1'",
    "select * from {schema}._tables",
    "create table {schema}.evil (id int)",
])
def test_app_reaches_no_private_object(app, company, sql):
    with pytest.raises(errors.InsufficientPrivilege):
        app.execute(sql.format(cid=company["id"], uid=company["owner"], schema=company["schema"]))


def test_app_sees_only_its_active_context_company(db, connect, company):
    """get_company is a client function, but a client sees no company but its own."""
    assert one(connect(APP_LOGIN), "select docpal.get_company(%s)", company["slug"]) is None
    # a docpal_app login that also holds a context (as authenticate will give it) sees that one only;
    # here the superuser session plays the client by dropping to docpal_app after set_context.
    other = one(db, "select docpal.create_company('someone-else', 'Else')")
    conn = connect()
    conn.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["member"]))
    conn.execute("set role docpal_app")
    assert one(conn, "select docpal.get_company(%s)->>'id'", company["slug"]) == str(company["id"])
    assert one(conn, "select docpal.get_company(%s)", str(other)) is None
    conn.execute("reset role")
    db.execute("select docpal.suspend_company(%s, 'x')", (company["id"],))
    conn.execute("set role docpal_app")
    assert one(conn, "select docpal.get_company(%s)", company["slug"]) is None


def test_context_is_cheap_to_verify(service, company):
    """Not a timing assertion: a thousand verifications in one statement just work."""
    service.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    assert one(service, "select count(distinct docpal.current_company()) from generate_series(1, 1000)") == 1



def test_objects_a_client_creates_in_pg_temp_are_never_used(app, company):
    """search_path hijacking: look-alike temp tables do not change what docpal reads."""
    app.execute("create temp table companies (id uuid, slug text, status text, schema_name text)")
    app.execute("insert into companies values (%s, 'fake', 'active', 'pg_catalog')", (uuid.uuid4(),))
    app.execute("create temp table secrets (name text, value bytea)")
    app.execute("insert into secrets values ('context_hmac', '\\x00')")
    app.execute("create temp table memberships (company_id uuid, user_id uuid, role text)")
    assert one(app, "select docpal.resolve_company('fake')") is None
    assert one(app, "select docpal.resolve_company(%s)", company["slug"]) == company["id"]
    assert one(app, "select docpal.get_company('fake')") is None
    assert context_of(app) == (None, None)
