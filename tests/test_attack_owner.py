"""Issue 12, owner and deployment: attacks on who owns docpal's objects, on
the migrate lock, on login roles, and on secrets kept in the catalogs.

Each test is written as what a hostile client (or a careless deployment)
would run; each failed on the code of commit 179e1ee.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import uuid

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from docpal import audit, cli, deploy, render

from helpers import one, raises

OWNER = "docpal_owner"

#: What docpal's schemas are: its own three and every company schema.
DOCPAL_SCHEMAS = """
    select n.oid from pg_namespace n
     where n.nspname in ('docpal', 'docpal_private', 'docpal_ext')
        or n.nspname in (select schema_name from docpal_private.companies)"""

#: Every object of docpal's schemas and its owner (extension members are the
#: extension's and excluded; indexes and TOAST follow their table and are in).
OWNED_OBJECTS = f"""
    with s as ({DOCPAL_SCHEMAS}), ext as (
        select classid, objid from pg_depend where deptype = 'e')
    select 'schema', n.nspname, n.nspowner::regrole::text
      from pg_namespace n where n.oid in (select oid from s)
    union all
    select 'class ' || c.relkind::text, c.oid::regclass::text, c.relowner::regrole::text
      from pg_class c
     where c.relnamespace in (select oid from s)
       and (c.tableoid, c.oid) not in (select classid, objid from ext)
    union all
    select 'routine', p.oid::regprocedure::text, p.proowner::regrole::text
      from pg_proc p
     where p.pronamespace in (select oid from s)
       and (p.tableoid, p.oid) not in (select classid, objid from ext)
    union all
    select 'type', t.oid::regtype::text, t.typowner::regrole::text
      from pg_type t
     where t.typnamespace in (select oid from s)
       and (t.tableoid, t.oid) not in (select classid, objid from ext)
    order by 1, 2"""


def not_owned(conn) -> list:
    return [row for row in conn.execute(OWNED_OBJECTS).fetchall() if row[2] != OWNER]


def context(conn, company, user):
    conn.execute("select docpal.set_context(%s, %s, false)", (company["id"], user))
    return conn


def make_table(conn, slug="things"):
    return one(conn, "select docpal.create_table(%s::jsonb)",
               '{"slug": "%s", "name": "Things", "columns": [{"name": "title", "type": "text"}]}' % slug)


# --- 1. docpal_owner owns everything, and is nobody special ------------------------------

def test_docpal_owner_is_not_a_superuser_and_cannot_log_in(db):
    row = db.execute("""select rolsuper, rolcanlogin, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
                          from pg_roles where rolname = %s""", (OWNER,)).fetchone()
    assert row == (False, False, False, False, False, False)
    # a member of no other role: it has nothing beyond what docpal's objects give it
    assert one(db, "select count(*) from pg_auth_members where member = %s::regrole", OWNER) == 0


def test_every_docpal_object_belongs_to_docpal_owner(db, dburl, service, company):
    """An injection into any SECURITY DEFINER function ran as the superuser that
    migrated (179e1ee): the functions, tables and company schemas were its."""
    context(service, company, company["owner"])
    make_table(service)
    list(audit.maintain(dburl))  # creates and seals partitions: they too are docpal_owner's
    assert not_owned(db) == []
    definers = db.execute(f"""
        select p.oid::regprocedure::text, p.proowner::regrole::text from pg_proc p
         where p.prosecdef and p.pronamespace in ({DOCPAL_SCHEMAS})
           and not exists (select from pg_depend d where d.classid = p.tableoid and d.objid = p.oid
                                                     and d.deptype = 'e')""").fetchall()
    assert definers, "docpal has SECURITY DEFINER functions"
    assert [d for d in definers if d[1] != OWNER] == []


def test_a_security_definer_function_runs_as_docpal_owner(db, app, company):
    """What the function sees as current_user is docpal_owner, not the migrator:
    a table a tenant call creates (create_table runs as its definer) is docpal_owner's."""
    key = api_key(db, company)
    app.execute("select docpal.authenticate(%s, false)", (key,))
    make_table(app, "made_by_app")
    owner = one(db, "select relowner::regrole::text from pg_class where oid = %s::regclass",
                f'{company["schema"]}.made_by_app')
    assert owner == OWNER
    assert one(db, "select rolsuper from pg_roles where rolname = %s", owner) is False


def test_migrate_hands_over_an_install_owned_by_the_superuser(db, dburl, service, company):
    """An install made before docpal_owner existed: everything belongs to the
    superuser that migrated. The next migrate hands all of it over."""
    context(service, company, company["owner"])
    make_table(service)
    me = one(db, "select current_user")
    db.execute(sql.SQL("reassign owned by docpal_owner to {}").format(sql.Identifier(me)))
    assert len(not_owned(db)) > 100
    deploy.migrate(dburl)
    assert not_owned(db) == []
    # and docpal works as before, through the handed-over functions
    assert one(service, "select (docpal.describe_table('things')->>'slug')") == "things"
    assert one(db, "select docpal.create_company(%s, 'After hand-over') is not null", f"after-{uuid.uuid4().hex[:8]}")


def test_migrate_twice_changes_no_owner(db, dburl, company):
    before = db.execute(OWNED_OBJECTS).fetchall()
    deploy.migrate(dburl)
    assert db.execute(OWNED_OBJECTS).fetchall() == before
    assert not_owned(db) == []


def test_tenant_upgrades_create_objects_as_docpal_owner(db, dburl, company, tmp_path):
    """Tenant steps ran as the migrator: a new step's objects were the superuser's."""
    folder = tmp_path / "steps"
    folder.mkdir()
    version = max(s.version for s in render.tenant_steps(render.templates())) + 1
    (folder / f"{version:04d}_owner_probe.sql").write_text(
        "create table {{ schema }}._owner_probe (id bigserial primary key);\n")
    result = deploy.migrate(dburl, extra_tenant_dirs=(folder,))
    assert result.upgrade.failed == []
    assert one(db, "select relowner::regrole::text from pg_class where oid = %s::regclass",
               f'{company["schema"]}._owner_probe') == OWNER
    assert not_owned(db) == []


# --- 2. the migrate lock -----------------------------------------------------------------

def test_an_advisory_lock_squatter_cannot_hang_migrate(dburl, connect):
    """Any login could take the install's advisory key first; migrate then waited for ever."""
    squatter = connect("docpal_test_app")
    for key in (4_242_017_001,):  # the key 179e1ee waited on
        squatter.execute("select pg_advisory_lock(%s)", (key,))
    squatter.execute("select pg_advisory_lock(4242, %s)", (0,))
    done: list = []

    def run():
        try:
            done.append(deploy.migrate(dburl))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            done.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(180)
    assert done and isinstance(done[0], deploy.MigrateResult), done or "migrate hung behind a client's advisory lock"


@pytest.mark.parametrize("login", ["docpal_test_app", "docpal_test_service"])
def test_clients_cannot_take_the_install_lock(db, connect, login):
    assert one(db, "select to_regclass('docpal_private.install_lock') is not null")
    client = connect(login, autocommit=False)
    client.execute("set lock_timeout = '1s'")
    with raises("42501"):
        client.execute("lock table docpal_private.install_lock in access share mode")
    client.rollback()


def test_migrate_waits_for_a_running_migrate_not_for_clients(db, dburl, connect):
    """The lock serialises migrates: while one holds it, a second waits (bounded here)."""
    with deploy.install_lock(dburl):
        probe = connect(autocommit=False)
        probe.execute("set lock_timeout = '300ms'")
        with raises("55P03"):
            probe.execute(render.INSTALL_LOCK)
        probe.rollback()


# --- 3. login roles with safe settings ---------------------------------------------------

@pytest.fixture
def login_name(db):
    name = f"login_{uuid.uuid4().hex[:10]}"
    yield name
    for _ in range(50):  # the role's last connection may still be closing
        try:
            db.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))
            return
        except psycopg.errors.DependentObjectsStillRemain:
            time.sleep(0.1)


def create_login(dburl, *args, password="s3cret-Pw-42"):
    assert "create-login" in CliRunner().invoke(cli.main, ["roles", "--help"]).output
    env = {"DATABASE_URL": dburl, "DOCPAL_LOGIN_PASSWORD": password}
    return CliRunner().invoke(cli.main, ["roles", "create-login", *args], env=env)


def test_create_login_makes_a_member_with_safe_settings(db, dburl, login_name):
    result = create_login(dburl, login_name, "--app", "--connection-limit", "3",
                          "--statement-timeout", "5s", "--idle-timeout", "2s")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    row = db.execute("""select r.rolcanlogin, r.rolsuper, r.rolconnlimit, r.rolconfig,
                               pg_has_role(r.oid, 'docpal_app', 'MEMBER'),
                               pg_has_role(r.oid, 'docpal_service', 'MEMBER'), a.rolpassword
                          from pg_roles r join pg_authid a on a.oid = r.oid
                         where r.rolname = %s""", (login_name,)).fetchone()
    assert row[:3] == (True, False, 3)
    assert sorted(row[3]) == ["idle_in_transaction_session_timeout=2s", "statement_timeout=5s"]
    assert row[4:6] == (True, False)
    assert row[6].startswith("SCRAM-SHA-256$") and "s3cret" not in row[6]


def test_a_login_idle_in_a_transaction_is_ended(db, dburl, connect, login_name):
    """A client that opens a transaction and goes quiet pins the notification
    queue and holds its locks: the login's timeout ends it."""
    assert create_login(dburl, login_name, "--app", "--idle-timeout", "1s").exit_code == 0
    idle = connect(login_name, autocommit=False)
    assert one(idle, "show idle_in_transaction_session_timeout") == "1s"
    assert one(idle, "show statement_timeout") == "30s"
    time.sleep(2.5)
    with pytest.raises(psycopg.Error) as ended:
        idle.execute("select 1")
    assert ended.value.sqlstate in ("25P03", None) and idle.closed


def test_a_login_cannot_take_every_connection(dburl, connect, login_name):
    assert create_login(dburl, login_name, "--service", "--connection-limit", "1").exit_code == 0
    connect(login_name)
    with pytest.raises(psycopg.OperationalError, match="too many connections"):
        connect(login_name)


def test_create_login_for_docpal_serve_may_act_as_app_and_service(db, dburl, connect, login_name):
    """`--server`: the login `docpal serve` uses sets the role per request,
    docpal_app for API keys and docpal_service for the admin routes."""
    assert create_login(dburl, login_name, "--server").exit_code == 0
    conn = connect(login_name)
    for role in ("docpal_app", "docpal_service"):
        with conn.transaction():
            conn.execute("select set_config('role', %s, true)", (role,))
            assert one(conn, "select current_user") == role
    assert one(conn, "select rolsuper from pg_roles where rolname = current_user") is False


@pytest.mark.parametrize("args", [
    ["--app", "--statement-timeout", "0"],
    ["--app", "--idle-timeout", "1s; drop table x"],
    ["--app", "--connection-limit", "0"],
    [],  # neither --app nor --service
])
def test_create_login_refuses_unsafe_values(db, dburl, login_name, args):
    result = create_login(dburl, login_name, *args)
    assert result.exit_code == 2, result.output
    assert one(db, "select count(*) from pg_roles where rolname = %s", login_name) == 0


@pytest.mark.parametrize("name", ["docpal_owner", "pg_monitor", "Robert'); drop role x; --"])
def test_create_login_refuses_reserved_and_odd_names(db, dburl, name):
    before = one(db, "select count(*) from pg_roles")
    assert create_login(dburl, name, "--app").exit_code == 2
    assert one(db, "select count(*) from pg_roles") == before


# --- 4. no secret in a catalog ------------------------------------------------------------

def catalog_texts(conn) -> list[tuple[str, str]]:
    """Every text of the database a login can read in the catalogs."""
    return conn.execute("""
        select 'prosrc ' || p.oid::regprocedure, p.prosrc from pg_proc p
        union all select 'proconfig ' || p.oid::regprocedure, p.proconfig::text from pg_proc p where p.proconfig is not null
        union all select 'default ' || d.adrelid::regclass, pg_get_expr(d.adbin, d.adrelid) from pg_attrdef d
        union all select 'constraint ' || c.conname, pg_get_constraintdef(c.oid) from pg_constraint c
        union all select 'comment', d.description from pg_description d
        union all select 'shared comment', d.description from pg_shdescription d
        union all select 'role setting', s.setconfig::text from pg_db_role_setting s
        union all select 'setting ' || s.name, s.setting from pg_settings s
        union all select 'view ' || v.schemaname || '.' || v.viewname, v.definition from pg_views v
        union all select 'trigger ' || t.tgname, pg_get_triggerdef(t.oid) from pg_trigger t
        union all select 'relation', c.relname || coalesce(c.reloptions::text, '') from pg_class c
        union all select 'schema', n.nspname from pg_namespace n""").fetchall()


def test_no_secret_lives_in_a_catalog(db, service, app, company):
    context(service, company, company["owner"])
    make_table(service)
    created = one(service, "select docpal.create_api_key('probe', %s, array['read'])", company["owner"])
    key = created["key"]
    secrets = {"api key": key, "api key sha256": hashlib.sha256(key.encode()).hexdigest()}
    for name, value in db.execute("select name, value from docpal_private.secrets").fetchall():
        value = bytes(value)
        secrets[f"secret {name} hex"] = value.hex()
        secrets[f"secret {name} base64"] = base64.b64encode(value).decode().rstrip("=")
        secrets[f"secret {name} base64url"] = base64.urlsafe_b64encode(value).decode().rstrip("=")
    if one(db, "select to_regproc('docpal.event_channel') is not null"):
        secrets["company channel"] = one(service, "select docpal.event_channel()")
    # what a client session sees, after docpal calls made in it
    app.execute("select docpal.authenticate(%s, false)", (key,))
    app.execute("select docpal.list_tables()")
    texts = catalog_texts(app) + catalog_texts(db)
    found = [(label, where) for label, secret in secrets.items() if len(secret) >= 16
             for where, text in texts if text and secret.lower() in text.lower()]
    assert found == []


# --- helpers -----------------------------------------------------------------------------

def api_key(db, company) -> str:
    """A key for the company's owner, made by the superuser as a platform admin."""
    with db.transaction():
        db.execute("select docpal.set_context(%s, %s, true)", (company["id"], company["owner"]))
        return one(db, "select docpal.create_api_key('owner key', %s, array['read', 'create', 'update', 'delete'])",
                   company["owner"])["key"]
