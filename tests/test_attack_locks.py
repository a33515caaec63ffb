"""Issue 12, locks: attacks on docpal's availability through locks.

Each test is the attack a hostile client runs from an ordinary login, with
two real connections: the attacker holds a lock, the victim's docpal call
must either not wait at all or fail with 55P03 within the platform lock
timeout, and change nothing. The platform lock timeout is set to 300 ms
here (docpal.set_platform_setting); every wait of the victim is bounded by
a statement_timeout, so a test that would hang fails instead (57014).
"""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from conftest import APP_LOGIN, SERVICE_LOGIN, unique_slug
from helpers import fn, one, raises, set_context, table

LOCK_TIMEOUT = 0.3  # seconds: the platform setting for these tests
BOUND = "5s"  # the victim's own statement_timeout: a wait past it is a hang
FAST = 2.0  # seconds: a call that "does not wait" returns within this


@pytest.fixture
def platform(db):
    """The platform lock timeout at 300 ms."""
    assert fn(db, "set_platform_setting", "lock_timeout", "300ms") == "300ms"
    return db


def bounded(conn):
    conn.execute(f"set statement_timeout = '{BOUND}'")
    return conn


def timed(call):
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def fails_fast(call, code="55P03"):
    """call fails with `code`, after about the lock timeout and well before the bound."""
    start = time.monotonic()
    with raises(code):
        call()
    elapsed = time.monotonic() - start
    assert elapsed < FAST, f"waited {elapsed:.2f}s"
    return elapsed


def owner_of(connect, company, autocommit=True):
    conn = connect(SERVICE_LOGIN, autocommit=autocommit)
    return set_context(conn, company, company["owner"])


def second_company(db):
    slug = unique_slug("other")
    cid = db.execute("select docpal.create_company(%s, 'Other Co')", (slug,)).fetchone()[0]
    owner = fn(db, "create_user", f"owner-{slug}@example.com", "Other owner")
    fn(db, "add_member", cid, owner, "owner")
    schema = one(db, "select docpal.get_company(%s)->>'schema'", str(cid))
    return {"id": cid, "slug": slug, "schema": schema, "owner": owner}


# --- the lock timeout is a platform setting, no session changes it ----------------------

def test_every_docpal_function_carries_the_platform_lock_timeout(db, service, app):
    """The install wrote the default (2s) into every docpal function's SET clause (but the three
    that write the context and wait on no lock, left out by apply_lock_timeout); a change by a
    platform admin rewrites them all; clients cannot change it."""
    def unset(value):
        return [r[0] for r in db.execute("""select p.oid::regprocedure::text from pg_proc p
                           where p.pronamespace = 'docpal'::regnamespace and p.prokind = 'f'
                             and p.proname not in ('set_context', 'authenticate', 'clear_context')
                             and not (coalesce(p.proconfig, '{}') @> array[%s])""", (f"lock_timeout={value}",))]
    assert unset("2s") == []
    assert fn(service, "set_platform_setting", "lock_timeout", "1.5s") == "1500ms"
    assert unset("1500ms") == []
    assert one(db, "select docpal_private.platform_setting('lock_timeout')") == "1500ms"
    with raises("42501"):
        fn(app, "set_platform_setting", "lock_timeout", "0")
    for bad in ("0", "-1s", "soon", "2h", None):
        with raises("22023"):
            fn(service, "set_platform_setting", "lock_timeout", bad)
    with raises("22023"):
        fn(service, "set_platform_setting", "statement_timeout", "1s")
    assert one(db, "select docpal_private.platform_setting('lock_timeout')") == "1500ms"


def test_a_session_setting_does_not_make_a_schema_change_wait(platform, company, connect):
    """The attack: a tenant admin sets docpal.ddl_lock_timeout (and lock_timeout) to 0, i.e. wait
    for ever, and alters a table that a reader holds: its ACCESS EXCLUSIVE request would queue
    every other call on the table behind it. The platform timeout holds instead."""
    admin = owner_of(connect, company)
    fn(admin, "create_table", table("notes", {"name": "body", "type": "text"}))
    fn(admin, "create_record", "notes", {"body": "kept"})
    before = one(platform, f"select count(*) from pg_attribute where attrelid = '{company['schema']}.notes'::regclass")

    holder = owner_of(connect, company, autocommit=False)
    fn(holder, "query_table", "notes", {})  # holds ACCESS SHARE on the table until it ends
    bounded(admin)
    admin.execute("set docpal.ddl_lock_timeout = '0'")
    admin.execute("set lock_timeout = 0")
    try:
        elapsed = fails_fast(lambda: fn(admin, "add_column", "notes", {"name": "extra", "type": "text"}))
        assert elapsed >= LOCK_TIMEOUT * 0.8
        fails_fast(lambda: fn(admin, "drop_column", "notes", "body"))
    finally:
        holder.rollback()
    after = one(platform, f"select count(*) from pg_attribute where attrelid = '{company['schema']}.notes'::regclass")
    assert after == before
    # the client's own session setting is left as it was
    assert one(admin, "show lock_timeout") == "0"


def test_a_held_row_lock_makes_a_write_fail_fast(platform, company, connect):
    """The attack: a member updates a record in a transaction it keeps open. Another member's
    update_record of that record, from a session with lock_timeout = 0, must fail with 55P03
    after the platform timeout, not wait."""
    owner = owner_of(connect, company)
    fn(owner, "create_table", table("deals", {"name": "title", "type": "text"}))
    rid = fn(owner, "create_record", "deals", {"title": "original"})["id"]

    attacker = set_context(connect(SERVICE_LOGIN, autocommit=False), company, company["owner"])
    fn(attacker, "update_record", "deals", rid, {"title": "attacker"})  # row lock held
    victim = bounded(owner)
    victim.execute("set lock_timeout = 0")
    try:
        elapsed = fails_fast(lambda: fn(victim, "update_record", "deals", rid, {"title": "victim"}))
        assert elapsed >= LOCK_TIMEOUT * 0.8
        fails_fast(lambda: fn(victim, "delete_record", "deals", rid))
    finally:
        attacker.rollback()
    assert fn(owner, "get_record", "deals", rid)["title"] == "original"
    assert fn(owner, "update_record", "deals", rid, {"title": "victim"})["title"] == "victim"


# --- no advisory lock: keys are public ------------------------------------------------------

OLD_KEYS = (4242, 4243, 4244, 4245)  # sealer, first ReBAC/permission tables, workflow log, define_workflow


def test_advisory_keys_held_by_any_login_block_nothing(platform, company, connect):
    """The attack: an untrusted docpal_app login (no context, no key) takes every advisory key
    docpal used to take for the company, in its session, and keeps it. The sealer,
    verify_audit_chain, define_workflow, the first grant and the first relation still run."""
    attacker = connect(APP_LOGIN)
    for key in OLD_KEYS:
        assert attacker.execute("select pg_try_advisory_lock(%s, hashtext(%s))",
                                (key, company["schema"])).fetchone()[0]
    owner = bounded(owner_of(connect, company))
    bounded(platform)
    fn(owner, "create_table", table("expenses", {"name": "title", "type": "text"},
                                    {"name": "status", "type": "select", "options": ["draft", "done"]}))
    fn(owner, "create_record", "expenses", {"title": "a", "status": "draft"})
    calls = {
        "seal_audit_chain": lambda: fn(owner, "seal_audit_chain"),
        "verify_audit_chain": lambda: fn(owner, "verify_audit_chain"),
        "create_role": lambda: fn(owner, "create_role", "approver"),
        "grant_permission": lambda: owner.execute(
            "select docpal.grant_permission('approver', 'expenses', array['read'])"),
        "define_relations": lambda: fn(owner, "define_relations", "expenses", {"viewer": ["viewer"]}),
        "define_workflow": lambda: fn(owner, "define_workflow", {
            "name": "close", "table": "expenses", "state_column": "status", "initial": "draft",
            "transitions": [{"name": "finish", "from": ["draft"], "to": "done"}]}),
        "sealer (platform)": lambda: one(platform, "select docpal_private.seal_audit(%s)", company["schema"]),
    }
    slow = {}
    for name, call in calls.items():
        _, elapsed = timed(call)
        if elapsed >= FAST:
            slow[name] = elapsed
    assert not slow, f"waited on a client's advisory lock: {slow}"
    assert fn(owner, "verify_audit_chain")["ok"] is True


def test_company_locks_are_rows_no_client_can_take(company, app, service):
    """docpal's mutual exclusion lives in a private table: the client roles cannot read, lock or
    write it."""
    for conn in (app, service):
        with raises("42501"):
            conn.execute("select * from docpal_private.company_locks for update")
        with raises("42501"), conn.transaction():
            conn.execute("lock table docpal_private.company_locks")


def test_a_tenant_holding_its_company_lock_stops_no_platform_call(platform, company, connect):
    """A tenant admin seals and creates its first role in a transaction it keeps open (holding
    its company's lock rows): platform calls on its company, and the same calls of another
    company, do not wait."""
    other = second_company(platform)
    attacker = owner_of(connect, company, autocommit=False)
    fn(attacker, "seal_audit_chain")
    fn(attacker, "create_role", "approver")
    fn(attacker, "define_relations", "doc", {"viewer": ["viewer"]})
    service = bounded(connect(SERVICE_LOGIN))
    neighbour = bounded(owner_of(connect, other))
    calls = {
        "update_company": lambda: fn(service, "update_company", company["id"], {"name": "Renamed"}),
        "suspend_company": lambda: fn(service, "suspend_company", company["id"], "test"),
        "activate_company": lambda: fn(service, "activate_company", company["id"]),
        "get_company": lambda: fn(service, "get_company", str(company["id"])),
        "other company seals": lambda: fn(neighbour, "seal_audit_chain"),
        "other company's first role": lambda: fn(neighbour, "create_role", "approver"),
        "other company's first relation": lambda: fn(neighbour, "define_relations", "doc", {"viewer": ["viewer"]}),
    }
    try:
        slow = {}
        for name, call in calls.items():
            _, elapsed = timed(call)
            if elapsed >= FAST:
                slow[name] = elapsed
        assert not slow, f"waited on a tenant's lock: {slow}"
    finally:
        attacker.rollback()


def test_a_second_sealer_of_the_same_company_waits_only_the_lock_timeout(platform, company, connect):
    """docpal's own lock between two sealers of one company is bounded too (55P03)."""
    attacker = owner_of(connect, company, autocommit=False)
    fn(attacker, "seal_audit_chain")
    victim = bounded(owner_of(connect, company))
    victim.execute("set lock_timeout = 0")
    try:
        fails_fast(lambda: fn(victim, "seal_audit_chain"))
    finally:
        attacker.rollback()
    fn(victim, "seal_audit_chain")


# --- no lock on the shared users table --------------------------------------------------------

@pytest.mark.parametrize("change", ["add", "drop", "retype"])
def test_a_user_column_change_held_open_locks_nothing_shared(platform, company, connect, change):
    """The attack: a tenant admin adds (or drops, or makes) a user column and keeps the
    transaction open. With a foreign key to docpal_private.users, that held a lock on the shared
    users table: create_user, add_member and other companies' first create_role froze."""
    owner = owner_of(connect, company)
    fn(owner, "create_table", table("tasks", {"name": "title", "type": "text"},
                                    {"name": "assignee", "type": "user"}, {"name": "note", "type": "text"}))
    other = second_company(platform)
    attacker = owner_of(connect, company, autocommit=False)
    if change == "add":
        fn(attacker, "add_column", "tasks", {"name": "reviewer", "type": "user"})
    elif change == "drop":
        fn(attacker, "drop_column", "tasks", "assignee")
    else:
        fn(attacker, "alter_column", "tasks", "note", {"type": "user"})
    service = bounded(connect(SERVICE_LOGIN))
    neighbour = bounded(owner_of(connect, other))
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    pid = attacker.info.backend_pid
    try:
        # the attacker's transaction holds nothing on the shared users table beyond reading it
        assert one(platform, """select count(*) from pg_locks l
                                 where l.pid = %s and l.relation = 'docpal_private.users'::regclass
                                   and l.mode not in ('AccessShareLock', 'RowShareLock')""", pid) == 0
        new_user, elapsed = timed(lambda: fn(service, "create_user", email, "New"))
        assert elapsed < FAST, f"create_user waited {elapsed:.2f}s"
        _, elapsed = timed(lambda: fn(service, "add_member", other["id"], new_user, "member"))
        assert elapsed < FAST, f"add_member waited {elapsed:.2f}s"
        _, elapsed = timed(lambda: fn(neighbour, "create_role", "approver"))
        assert elapsed < FAST, f"another company's first create_role waited {elapsed:.2f}s"
        _, elapsed = timed(lambda: fn(neighbour, "assign_role", new_user, "approver"))
        assert elapsed < FAST, f"another company's assign_role waited {elapsed:.2f}s"
    finally:
        attacker.rollback()


def test_user_references_are_still_checked(platform, company, connect):
    """No foreign key, same rule: a user column accepts only existing users (23503, in the
    contract's words), on create, update, add, rename, retype and drop of the column."""
    owner = owner_of(connect, company)
    fn(owner, "create_table", table("tasks", {"name": "title", "type": "text"},
                                    {"name": "assignee", "type": "user"}, {"name": "code", "type": "text"}))
    schema = company["schema"]
    assert one(platform, """select count(*) from pg_constraint c
                             where c.confrelid = 'docpal_private.users'::regclass
                               and c.connamespace = %s::regnamespace""", schema) == 0
    ghost = str(uuid.uuid4())
    with raises("23503") as exc:
        fn(owner, "create_record", "tasks", {"title": "a", "assignee": ghost})
    assert "tasks.assignee" in str(exc.value) and "does not exist" in str(exc.value)
    rid = fn(owner, "create_record", "tasks", {"title": "a", "assignee": str(company["member"])})["id"]
    with raises("23503"):
        fn(owner, "update_record", "tasks", rid, {"assignee": ghost})
    fn(owner, "update_record", "tasks", rid, {"title": "b"})  # the column untouched: no check
    fn(owner, "rename_column", "tasks", "assignee", "owner_id")
    with raises("23503") as exc:
        fn(owner, "update_record", "tasks", rid, {"owner_id": ghost})
    assert "tasks.owner_id" in str(exc.value)
    fn(owner, "update_record", "tasks", rid, {"owner_id": str(company["owner"])})
    # a text column becoming a user column: its values must be users
    fn(owner, "update_record", "tasks", rid, {"code": ghost})
    with raises("23503"):
        fn(owner, "alter_column", "tasks", "code", {"type": "user"})
    fn(owner, "update_record", "tasks", rid, {"code": str(company["member"])})
    fn(owner, "alter_column", "tasks", "code", {"type": "user"})
    with raises("23503"):
        fn(owner, "update_record", "tasks", rid, {"code": ghost})
    fn(owner, "alter_column", "tasks", "code", {"type": "text"})
    fn(owner, "update_record", "tasks", rid, {"code": "anything"})
    fn(owner, "drop_column", "tasks", "owner_id")
    fn(owner, "add_column", "tasks", {"name": "owner_id", "type": "user"})
    assert fn(owner, "get_record", "tasks", rid)["owner_id"] is None
    # the permission tables' user ids likewise
    fn(owner, "create_role", "approver")
    with raises("23503", "42501", "P0002", "22023"):
        fn(owner, "assign_role", ghost, "approver")
    with raises("23503"):
        platform.execute(f"insert into {schema}._role_members (user_id, role) values (%s, 'approver')", (ghost,))
    assert one(platform, """select count(*) from pg_constraint c
                             where c.confrelid = 'docpal_private.users'::regclass
                               and c.connamespace = %s::regnamespace""", schema) == 0


def test_companies_made_before_get_their_foreign_keys_to_users_replaced(platform, company, connect):
    """Upgrade path: a company schema built with foreign keys to docpal_private.users (as before
    issue 12) loses them in its next tenant upgrade and checks user ids by trigger instead."""
    owner = owner_of(connect, company)
    schema = company["schema"]
    fn(owner, "create_table", table("tasks", {"name": "assignee", "type": "user"}))
    fn(owner, "create_role", "approver")
    name = one(platform, "select spec->'columns'->0->'objects'->>'fkey' from " + schema
               + "._catalog where kind = 'table' and slug = 'tasks'")
    # what an old install left behind
    platform.execute(f"drop trigger _docpal_users on {schema}.tasks")
    platform.execute(f"alter table {schema}.tasks add constraint {name} foreign key (assignee) "
                     "references docpal_private.users (id) on delete set null")
    platform.execute(f"drop trigger _docpal_users on {schema}._role_members")
    platform.execute(f"alter table {schema}._role_members add constraint _role_members_user_id_fkey "
                     "foreign key (user_id) references docpal_private.users (id) on delete cascade")
    step = one(platform, "select version from docpal_private.tenant_steps where name = 'user_refs'")
    platform.execute("update docpal_private.companies set schema_version = %s where id = %s", (step - 1, company["id"]))
    platform.execute("call docpal_private.upgrade_tenants()")
    assert one(platform, "select schema_version from docpal_private.companies where id = %s", company["id"]) >= step
    assert one(platform, """select count(*) from pg_constraint c
                             where c.confrelid = 'docpal_private.users'::regclass
                               and c.connamespace = %s::regnamespace""", schema) == 0
    with raises("23503"):
        fn(owner, "create_record", "tasks", {"assignee": str(uuid.uuid4())})
    fn(owner, "create_record", "tasks", {"assignee": str(company["member"])})
    with raises("23503"):
        platform.execute(f"insert into {schema}._role_members (user_id, role) values (%s, 'approver')",
                         (str(uuid.uuid4()),))
