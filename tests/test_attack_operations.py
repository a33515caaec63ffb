"""Issue 15, OPERATIONS: attacks an untrusted docpal_app client (a login holding an API key of
company A's owner) runs against the operations functions (adopt_table, export_company,
company_metrics, apply_blueprint, company_blueprints, set_quota, import_company). A test that
is an attack succeeded before its fix; the others document what holds."""

from __future__ import annotations

import time

import pytest
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN
from helpers import fn, one, raises, set_context, table, U


def key_for(db, company, user, scopes=("read", "create", "update", "delete")):
    with db.transaction():
        db.execute("select docpal.set_context(%s, %s, is_local => true)", (company["id"], user))
        return one(db, "select docpal.create_api_key(%s, %s, %s::text[])", "k", U(user), list(scopes))["key"]


def client(connect, db, company, user=None, scopes=("read", "create", "update", "delete")):
    """A docpal_app login authenticated (for the session) with a key of company's owner (or user)."""
    key = key_for(db, company, user or company["owner"], scopes)
    conn = connect(APP_LOGIN)
    one(conn, "select docpal.authenticate(%s, is_local => false)", key)
    return conn


@pytest.fixture
def two(db, company):
    """Company B (the victim) with a secret record; `company` is A (the attacker's)."""
    from conftest import unique_slug
    slug = unique_slug("victim")
    cid = one(db, "select docpal.create_company(%s, 'Victim Co')", slug)
    owner = one(db, "select docpal.create_user(%s, 'Victim Owner')", f"owner-{slug}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
    schema = one(db, "select docpal.get_company(%s)->>'schema'", str(cid))
    b = {"id": cid, "slug": slug, "schema": schema, "owner": owner}
    set_context(db, b, owner)
    fn(db, "create_table", table("secrets", {"name": "code", "type": "text"}))
    fn(db, "create_record", "secrets", {"code": "B-SECRET-42"})
    db.execute("select docpal.clear_context()")
    return b


# --- adopt_table -------------------------------------------------------------------------------------

def test_adopt_table_runs_no_cast_function_of_the_clients(connect, db, company, two):
    """A client's own temp table of its own enum type, with its own cast from that type to text:
    adopt_table's copy (`_s.col::text`, run as docpal_owner) would call the cast's function as
    docpal_owner, which may read every company. Refused before anything reads the source."""
    a = client(connect, db, company)
    a.execute("create type pg_temp.mood as enum ('x', 'y')")
    a.execute(f"""create function pg_temp.leak(pg_temp.mood) returns text language plpgsql as $f$
        begin
            raise notice 'LEAK %', (select string_agg(code, ',') from {two['schema']}.secrets);
            return 'x';
        end $f$""")
    a.execute("create cast (pg_temp.mood as text) with function pg_temp.leak(pg_temp.mood)")
    a.execute("create temp table src (m pg_temp.mood)")
    a.execute("insert into src values ('x')")
    a.execute("grant select on src to docpal_owner")
    notices = []
    a.add_notice_handler(lambda d: notices.append(d.message_primary))
    # the enum read as a select (its inferred type), as text, as json: never through a cast
    for spec in ({}, {"columns": {"m": {"type": "text"}}}, {"columns": {"m": {"type": "json"}}},
                 {"columns": {"m": {"type": "multi_select"}}}):
        res = one(a, "select docpal.adopt_table('pg_temp.src'::regclass, %s, %s)", f"moods{len(notices)}_{len(spec)}_"
                  + str(abs(hash(str(spec))) % 1000), Jsonb(spec))
        assert res["rows"] == 1
    assert not any("LEAK" in (n or "") for n in notices), notices
    # a domain over the enum: the same
    a.execute("create domain pg_temp.dmood as pg_temp.mood")
    a.execute("create temp table src3 (d pg_temp.dmood, m pg_temp.mood unique, up pg_temp.mood references src3 (m))")
    a.execute("insert into src3 values ('y', 'x', null), ('x', 'y', 'x')")
    a.execute("grant select on src3 to docpal_owner")
    res = one(a, "select docpal.adopt_table('pg_temp.src3'::regclass, 'dmoods', '{}')")
    assert res["rows"] == 2 and {m["type"] for m in res["mapping"]} == {"select", "relation"}
    assert not any("LEAK" in (n or "") for n in notices), notices
    # a type of the client's own that is not an enum (a cast from a composite) is not read at all
    a.execute("create type pg_temp.pair as (x text)")
    a.execute(f"""create function pg_temp.leak2(pg_temp.pair) returns text language plpgsql as $f$
        begin
            raise notice 'LEAK %', (select string_agg(code, ',') from {two['schema']}.secrets);
            return 'x';
        end $f$""")
    a.execute("create cast (pg_temp.pair as text) with function pg_temp.leak2(pg_temp.pair)")
    a.execute("create temp table src2 (p pg_temp.pair)")
    a.execute("insert into src2 values (row('a'))")
    a.execute("grant select on src2 to docpal_owner")
    with raises("22023"):
        one(a, "select docpal.adopt_table('pg_temp.src2'::regclass, 'pairs', %s)", Jsonb({"columns": {"p": {"type": "text"}}}))
    assert not any("LEAK" in (n or "") for n in notices), notices


# --- company_metrics: a lock company A's client holds -----------------------------------------------

def test_a_clients_open_ddl_does_not_block_the_metrics_of_every_company(connect, db, dburl, company, two):
    """Company A's client alters one of its tables (ACCESS EXCLUSIVE) and drops a file column (its
    foreign key: ACCESS EXCLUSIVE on A's _files) and keeps its transaction open. The
    platform-wide company_metrics() measures every company's relations and reads every _files:
    before the fix it waited for A, then failed (55P03) for every company."""
    owner = set_context(connect(), company, company["owner"])
    fn(owner, "create_table", table("things", {"name": "name", "type": "text"}))
    a = client(connect, db, company)
    a.autocommit = False
    fn(a, "add_column", "things", {"name": "extra", "type": "text"})  # its lock held until a commits
    # and more DDL in the same transaction: a table with a file column (a foreign key to _files), a drop
    fn(a, "create_table", table("docs", {"name": "scan", "type": "file"}, {"name": "thing", "type": "relation",
                                                                         "target": "things"}))
    fn(a, "create_table", table("gone", {"name": "name", "type": "text"}))
    fn(a, "drop_table", "gone")
    fn(a, "drop_column", "docs", "scan")  # a file column: dropping its foreign key locks _files
    admin = connect()
    admin.execute("set lock_timeout = '3s'")
    try:
        result = {str(m["company_id"]): m for m in one(admin, "select docpal.company_metrics()")}
        # A's _files, locked by A, is not read this time: its files are unknown (null), B's counted
        assert result[str(company["id"])]["files"] is None and result[str(company["id"])]["file_bytes"] is None
        assert result[str(company["id"])]["events_pending"] is not None and result[str(company["id"])]["bytes"] > 0
        assert result[str(two["id"])]["files"] == 0 and result[str(two["id"])]["bytes"] > 0
        # and `docpal tenants metrics` shows it (an unknown count is "?")
        from click.testing import CliRunner
        from docpal.cli import main
        shown = CliRunner().invoke(main, ["tenants", "metrics", "--database-url", dburl], catch_exceptions=False)
        assert shown.exit_code == 0 and company["slug"] in shown.output, shown.output
    finally:
        a.rollback()


def test_metrics_of_another_company_or_of_all_are_refused_alike(connect, db, company, two):
    a = client(connect, db, company)
    messages = set()
    for args in ((two["id"],), (None,), ("00000000-0000-0000-0000-000000000001",)):
        with raises("42501") as exc:
            one(a, "select docpal.company_metrics(%s)", *args)
        assert two["slug"] not in str(exc.value) and str(two["id"]) not in str(exc.value)
        messages.add(exc.value.diag.message_primary)
    assert len(messages - {m for m in messages if "every company" in m}) == 1  # B or no company: one answer
    assert one(a, "select docpal.company_metrics(%s)", company["id"])["slug"] == company["slug"]
    member = client(connect, db, company, company["member"])
    with raises("42501"):
        one(member, "select docpal.company_metrics(%s)", company["id"])


# --- export_company ------------------------------------------------------------------------------------

def test_export_needs_the_owner_with_every_scope_and_only_its_own_company(connect, db, company, two):
    owner = client(connect, db, company)
    assert one(owner, "select docpal.export_company(%s, %s)", company["id"], Jsonb({"part": "definitions"}))
    with raises("42501") as exc:
        one(owner, "select docpal.export_company(%s)", two["id"])
    assert two["slug"] not in str(exc.value)
    for scopes in (("read",), ("read", "create", "update")):
        limited = client(connect, db, company, scopes=scopes)
        with raises("42501"):
            one(limited, "select docpal.export_company(%s)", company["id"])
    member = client(connect, db, company, company["member"])
    with raises("42501"):
        one(member, "select docpal.export_company(%s, %s)", company["id"], Jsonb({"part": "definitions"}))
    # no company's table is reached through spec.table
    with raises("42P01", "22023"):
        one(owner, "select docpal.export_company(%s, %s)", company["id"],
            Jsonb({"part": "records", "table": f"{two['schema']}.secrets"}))
    with raises("42P01", "22023"):
        one(owner, "select docpal.export_company(%s, %s)", company["id"], Jsonb({"part": "records", "table": "_audit_log"}))
    with raises("54000"):
        one(owner, "select docpal.export_company(%s, %s)", company["id"], Jsonb({"history": False, "pad": "x" * 300000}))


def test_export_prints_the_same_whatever_the_clients_settings(connect, db, company):
    owner = set_context(connect(), company, company["owner"])
    fn(owner, "create_table", table("when", {"name": "at", "type": "datetime"}, {"name": "x", "type": "float"},
                                    {"name": "d", "type": "duration"}))
    fn(owner, "create_record", "when", {"at": "2024-01-02T03:04:05Z", "x": 0.1, "d": "1 day 02:00:00"})
    a = client(connect, db, company)
    plain = one(a, "select docpal.export_company(%s)::text", company["id"])
    for setting in ("set timezone = 'Pacific/Kiritimati'", "set datestyle = 'SQL, DMY'",
                    "set extra_float_digits = -15", "set intervalstyle = 'sql_standard'"):
        a.execute(setting)
    assert one(a, "select docpal.export_company(%s)::text", company["id"]) == plain


# --- set_quota, import_company: not a client's ----------------------------------------------------------

def test_set_quota_and_import_company_are_not_granted_to_clients(connect, db, company):
    a = client(connect, db, company)
    with raises("42501"):
        one(a, "select docpal.set_quota(%s, %s)", company["id"], Jsonb({"max_tables": 1000}))
    with raises("42501"):
        one(a, "select docpal.import_company(%s, %s)", Jsonb({"format": "docpal-export"}), "stolen")


# --- adopt_table: what it reads ---------------------------------------------------------------------------

def test_adopt_table_reads_no_company_table_and_nothing_the_login_may_not_read(connect, db, company, two):
    a = client(connect, db, company)
    b_table = f"{two['schema']}.secrets"
    for source in (b_table, f"{company['schema']}._files", "docpal_private.companies", "docpal_private.users",
                   "pg_catalog.pg_authid"):
        oid = one(db, "select %s::regclass::oid", source)  # by oid: the client may not name B's schema
        with raises("42501") as exc:
            one(a, "select docpal.adopt_table(%s::oid::regclass, 'stolen', %s)", oid, Jsonb({"dry_run": True}))
        assert "B-SECRET" not in str(exc.value) and two["schema"] not in str(exc.value)
    # a table the DBA lets docpal_owner read, but not this login
    db.execute("create schema if not exists dba_only; create table dba_only.payroll (name text, pay integer);"
               "insert into dba_only.payroll values ('x', 1);"
               "grant usage on schema dba_only to docpal_owner; grant select on dba_only.payroll to docpal_owner")
    with raises("42501"):
        one(a, "select docpal.adopt_table('dba_only.payroll'::regclass, 'payroll', '{}')")
    # the login's own table (a view of B's data is no table; a view is refused before it is read)
    a.execute("create temp view v as select 1 as x")
    a.execute("grant select on v to docpal_owner")
    with raises("22023"):
        one(a, "select docpal.adopt_table('pg_temp.v'::regclass, 'v', '{}')")
    assert one(db, f"select count(*) from {company['schema']}._catalog where kind = 'adoption'") == 0


def test_adopt_table_needs_an_owner_or_admin(connect, db, company):
    member = client(connect, db, company, company["member"])
    member.execute("create temp table mine (x text)")
    member.execute("grant select on mine to docpal_owner")
    with raises("42501"):
        one(member, "select docpal.adopt_table('pg_temp.mine'::regclass, 'mine', '{}')")


# --- apply_blueprint, company_blueprints ------------------------------------------------------------------

def test_blueprints_need_a_context_and_an_admin_and_a_size_limit(connect, db, company):
    bare = connect(APP_LOGIN)
    with raises("42501"):
        one(bare, "select docpal.company_blueprints()")
    with raises("42501"):
        one(bare, "select docpal.apply_blueprint(%s)", Jsonb({"name": "x", "version": 1}))
    member = client(connect, db, company, company["member"])
    with raises("42501"):
        one(member, "select docpal.apply_blueprint(%s)", Jsonb({"name": "x", "version": 1}))
    assert one(member, "select docpal.company_blueprints()") == []
    owner = client(connect, db, company)
    with raises("54000"):
        one(owner, "select docpal.apply_blueprint(%s)",
            Jsonb({"name": "x", "version": 1, "tables": [{"slug": "t", "name": "x" * 300000}]}))


# --- set_quota: what a client's open write does to it ---------------------------------------------------

def test_a_clients_open_write_delays_its_first_quota_but_never_hangs_it(connect, db, company, two):
    """The first quota counts the company's rows under SHARE locks (docs/quotas.md): a client of
    A that keeps a write open makes set_quota(A) fail with 55P03 after the platform lock timeout
    (not wait for ever), and never touches B's. Known limit: while A keeps writes open, A has
    no first quota; the platform ends such a session (pg_terminate_backend, or
    idle_in_transaction_session_timeout)."""
    owner = set_context(connect(), company, company["owner"])
    fn(owner, "create_table", table("things", {"name": "name", "type": "text"}))
    a = client(connect, db, company)
    a.autocommit = False
    fn(a, "create_record", "things", {"name": "held"})
    admin = connect()
    try:
        started = time.monotonic()
        with raises("55P03"):
            one(admin, "select docpal.set_quota(%s, %s)", company["id"], Jsonb({"max_records": 10}))
        assert time.monotonic() - started < 30
        assert one(admin, "select docpal.set_quota(%s, %s)", two["id"], Jsonb({"max_records": 10}))["max_records"] == 10
    finally:
        a.rollback()
    assert one(admin, "select docpal.set_quota(%s, %s)", company["id"], Jsonb({"max_records": 10}))["max_records"] == 10


def test_a_clients_open_ddl_blocks_no_other_companys_blueprint_adopt_export_or_import(connect, db, company, two):
    """Company A's client keeps a transaction open after DDL of every kind it can run (a table,
    a column, a blueprint, an adoption). Company B's owner applies a blueprint, adopts a table
    and exports; a platform admin exports B and imports a copy of it: none of them waits for A
    (each with a short lock_timeout: a wait would be 55P03)."""
    a = client(connect, db, company)
    a.autocommit = False
    fn(a, "create_table", table("things", {"name": "name", "type": "text"}))
    fn(a, "add_column", "things", {"name": "extra", "type": "integer"})
    fn(a, "apply_blueprint", {"name": "a_kit", "version": 1,
                              "tables": [{"slug": "kit", "name": "Kit", "columns": [{"name": "n", "type": "text"}]}]})
    a.execute("create temp table a_src (x text)")
    a.execute("grant select on a_src to docpal_owner")
    one(a, "select docpal.adopt_table('pg_temp.a_src'::regclass, 'a_adopted', '{}')")
    try:
        b = client(connect, db, two)
        b.execute("set lock_timeout = '3s'")
        got = fn(b, "apply_blueprint", {"name": "b_kit", "version": 1,
                                        "tables": [{"slug": "kit", "name": "Kit", "columns": [{"name": "n", "type": "text"}]}],
                                        "records": {"kit": [{"n": "one"}]}})
        assert got["created"]["tables"] == ["kit"]
        b.execute("create temp table b_src (x text)")
        b.execute("insert into b_src values ('b')")
        b.execute("grant select on b_src to docpal_owner")
        assert one(b, "select docpal.adopt_table('pg_temp.b_src'::regclass, 'b_adopted', '{}')")["rows"] == 1
        exported = one(b, "select docpal.export_company(%s)", two["id"])
        assert [r["code"] for r in exported["records"]["secrets"]] == ["B-SECRET-42"]
        admin = connect()
        admin.execute("set lock_timeout = '3s'")
        copy = one(admin, "select docpal.import_company(%s, %s)", Jsonb(exported), two["slug"] + "-copy")
        assert one(admin, "select docpal.company_metrics(%s)", copy)["records"] == 3
    finally:
        a.rollback()
