"""Install and upgrade: render, psql -f install, docpal migrate, tenant upgrades."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pglast
import psycopg
import pytest
from psycopg import sql

from docpal import deploy, render, resources

#: every migration in migrations/, in order
MIGRATIONS = sorted(p.stem for p in (resources.template_root() / "migrations").glob("*.sql"))


def one(conn, query, *params):
    return conn.execute(query, params).fetchone()[0]


@pytest.fixture
def empty_db(db, dburl):
    """A brand-new empty database on the test cluster; yields its URL."""
    name = f"empty_{uuid.uuid4().hex[:12]}"
    db.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = dburl.rsplit("/", 1)[0] + "/" + name
    yield url
    db.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """A copy of the project's templates that a test may change."""
    for folder in ("migrations", "functions", "triggers", "sql"):
        shutil.copytree(resources.template_root() / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("docpal.sql"))
    return tmp_path


def catalog_snapshot(conn) -> list:
    """Everything docpal defines (with its grants and owner), to compare before and after."""
    return conn.execute("""
        select 'proc', p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid)),
               coalesce(p.proacl::text, '') || ' owner ' || p.proowner::regrole::text
          from pg_proc p
         where p.pronamespace in ('docpal'::regnamespace, 'docpal_private'::regnamespace) and p.prokind <> 'a'
        union all
        select 'rel', c.oid::regclass::text, c.relkind::text,
               coalesce(c.relacl::text, '') || ' owner ' || c.relowner::regrole::text
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'docpal_private' or n.nspname like 'company\\_%%'
        order by 1, 2""").fetchall()


# --- render -------------------------------------------------------------------

def test_render_is_deterministic():
    assert render.install_script() == render.install_script()


def test_install_script_writes_each_function_once():
    """Each CREATE FUNCTION/PROCEDURE statement appears once in the script
    (the drop-and-recreate fallback EXECUTEs the same constant twice)."""
    script = render.install_script()
    statements = [stmt.strip() for item in render.templates() if item.kind in ("function", "trigger")
                  for stmt in pglast.split(item.sql, with_parser=True)
                  if stmt.strip().lower().startswith("create")]
    assert len(statements) > 100
    assert [s for s in statements if script.count(s) != 1] == []


def test_missing_templates_are_an_error(tmp_path, dburl):
    """A tree without its templates is an error, never "nothing pending"."""
    (tmp_path / "migrations").mkdir()
    with pytest.raises(resources.TemplatesNotFound, match="functions/"):
        deploy.status(dburl, root=tmp_path)
    with pytest.raises(resources.TemplatesNotFound, match="missing"):
        deploy.migrate(dburl, root=tmp_path)


def test_tenant_steps_become_format_strings():
    steps = render.tenant_steps(render.templates())
    assert [(s.module, s.version) for s in steps] == sorted((s.module, s.version) for s in steps)
    assert {s.module for s in steps} >= {"base", "data", "permissions", "rebac", "workflows"}
    for step in steps:
        for statement in step.statements:
            assert render.SCHEMA_SENTINEL not in statement
            assert "%1$I" in statement


# --- psql -f install ----------------------------------------------------------------

def psql_install(url: str) -> subprocess.CompletedProcess:
    """Install with psql from the script `docpal render` writes from the
    current templates (the one a wheel ships: see tests/test_package.py)."""
    script = render.write_install_script(Path(tempfile.mkdtemp(prefix="docpal-install-")) / "docpal.sql")
    try:
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), url],
                              capture_output=True, text=True)
    finally:
        shutil.rmtree(script.parent, ignore_errors=True)


def test_install_script_alone_installs_and_is_rerunnable(empty_db):
    first = psql_install(empty_db)
    assert first.returncode == 0, first.stderr
    with psycopg.connect(empty_db, autocommit=True) as conn:
        cid = one(conn, "select docpal.create_company('by-psql', 'By psql')")
        before = catalog_snapshot(conn)
        again = psql_install(empty_db)
        assert again.returncode == 0, again.stderr
        assert catalog_snapshot(conn) == before
        assert one(conn, "select docpal.get_company('by-psql')->>'id'") == str(cid)
    # docpal migrate takes over a database installed by hand
    result = deploy.migrate(empty_db)
    assert result.applied_migrations == MIGRATIONS  # idempotent replay, now tracked by yoyo
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert catalog_snapshot(conn) == before


# --- docpal migrate -----------------------------------------------------------------

def test_migrate_twice_changes_nothing(empty_db):
    first = deploy.migrate(empty_db)
    assert first.applied_migrations == MIGRATIONS
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("select docpal.create_company('stay', 'Stay')")
        before = catalog_snapshot(conn)
        secret = one(conn, "select value from docpal_private.secrets")
    second = deploy.migrate(empty_db)
    assert second.applied_migrations == []
    assert second.upgrade.pending == 0
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert catalog_snapshot(conn) == before
        assert one(conn, "select value from docpal_private.secrets") == secret


def test_concurrent_migrates_serialise(empty_db):
    errors: list[BaseException] = []
    results = []

    def run():
        try:
            results.append(deploy.migrate(empty_db))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(len(r.applied_migrations) for r in results) == [0, 0, len(MIGRATIONS)]
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert one(conn, "select count(*) from _yoyo_migration") == len(MIGRATIONS)


def test_failing_migration_leaves_database_as_before(empty_db, project_copy):
    deploy.migrate(empty_db, root=project_copy)
    (project_copy / "migrations/0002_broken.sql").write_text(
        "-- depends: 0001_base\n"
        "create table docpal_private.half_done (id int);\n"
        "insert into docpal_private.half_done values (1);\n"
        "select 1 / 0;\n")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        before = catalog_snapshot(conn)
    with pytest.raises(psycopg.errors.DivisionByZero):
        deploy.migrate(empty_db, root=project_copy)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert one(conn, "select to_regclass('docpal_private.half_done')") is None
        assert catalog_snapshot(conn) == before
    assert deploy.status(empty_db, root=project_copy)["pending_migrations"] == ["0002_broken"]


def test_stale_functions_are_dropped(db, dburl):
    db.execute("create function docpal_private.left_over() returns int language sql as 'select 1'")
    db.execute("create function docpal.left_over_public() returns int language sql as 'select 1'")
    deploy.migrate(dburl)
    assert one(db, "select to_regproc('docpal_private.left_over')") is None
    assert one(db, "select to_regproc('docpal.left_over_public')") is None
    assert one(db, "select to_regproc('docpal.create_company')") is not None


def test_an_old_overload_of_a_function_is_dropped(db, dburl):
    # a function whose arguments changed leaves its old signature behind unless migrate drops it
    db.execute("create function docpal_private.notify_limit(p_old integer) returns bigint language sql as 'select 1::bigint'")
    deploy.migrate(dburl)
    assert one(db, "select count(*) from pg_proc where proname = 'notify_limit'") == 1
    assert one(db, "select to_regprocedure('docpal_private.notify_limit()')") is not None


def test_the_loose_argument_permission_signatures_are_dropped(db, dburl):
    # before 0008 the caller was four loose arguments: an upgraded install keeps only the caller type's
    for name, extra in (("permission", ""), ("require_permission", ", p_keys text[]")):
        db.execute(f"create function docpal_private.{name}(p_schema text, p_user uuid, p_member_role text, "
                   f"p_scopes text[], p_slug text, p_action text{extra}) returns jsonb language sql as 'select null::jsonb'")
    deploy.migrate(dburl)
    assert one(db, "select count(*) from pg_proc where proname in ('permission', 'require_permission')"
                   " and pronamespace = 'docpal_private'::regnamespace") == 2
    assert one(db, "select to_regprocedure('docpal_private.permission(docpal_private.caller, text, text)')") is not None
    # require_company's columns are the caller type's, in its order (callers fill one with select * into)
    caller = one(db, """select array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) order by a.attnum)
                          from pg_attribute a where a.attrelid = 'docpal_private.caller'::regclass and a.attnum > 0""")
    company = one(db, """select array_agg(n || ' ' || format_type(t, null) order by o)
                           from pg_proc p, unnest(p.proargnames, p.proallargtypes) with ordinality x(n, t, o)
                          where p.oid = 'docpal_private.require_company()'::regprocedure""")
    assert caller == company == ["company_id uuid", "user_id uuid", "schema_name text", "member_role text", "scopes text[]"]


def test_status_reports_versions(db, dburl):
    status = deploy.status(dburl)
    assert status["installed_version"] == status["package_version"]
    assert status["pending_migrations"] == []
    assert status["applied_migrations"] == MIGRATIONS
    assert status["companies_behind"] == 0


def test_status_of_an_empty_database(empty_db):
    status = deploy.status(empty_db)
    assert status["installed_version"] is None
    assert status["pending_migrations"] == MIGRATIONS


# --- tenant upgrades ----------------------------------------------------------------

def extra_step(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "extra_steps"
    folder.mkdir(exist_ok=True)
    version = max(s.version for s in render.tenant_steps(render.templates())) + 1
    (folder / f"{version:04d}_test_change.sql").write_text(body)
    return folder


def test_tenant_upgrade_failure_is_recorded_and_rerun_resumes(db, dburl, tmp_path):
    ids = [one(db, "select docpal.create_company(%s, 'T')", f"tenant-{i}") for i in range(3)]
    schemas = {cid: f"company_{cid.hex}" for cid in ids}
    broken = ids[1]
    # a company whose schema already has the object the new step creates: its upgrade fails
    db.execute(f"create table {schemas[broken]}._notes (id int)")
    steps = extra_step(tmp_path, "create table {{ schema }}._notes (id bigserial primary key, body text);\n"
                                 "alter table {{ schema }}._catalog add column icon text;\n")
    target = max(s.version for s in render.tenant_steps(render.templates(extra_tenant_dirs=(steps,))))

    result = deploy.migrate(dburl, extra_tenant_dirs=(steps,))
    assert result.upgrade.pending == 3
    assert result.upgrade.upgraded == 2
    assert [f["company"] for f in result.upgrade.failed] == [str(broken)]
    assert "already exists" in result.upgrade.failed[0]["error"]
    versions = dict(db.execute("select id, schema_version from docpal_private.companies").fetchall())
    assert versions[broken] == target - 1, "a failed upgrade leaves its company untouched"
    assert one(db, "select count(*) from information_schema.columns where table_schema = %s and column_name = 'icon'",
               schemas[broken]) == 0
    assert all(versions[c] == target for c in ids if c != broken)
    status = deploy.status(dburl)
    assert status["companies_behind"] == 1
    assert status["failed_companies"][0]["company"] == str(broken)
    run = one(db, "select row(pending, upgraded, failed)::text from docpal_private.tenant_upgrade_runs "
                  "order by id desc limit 1")
    assert run == "(3,2,1)"

    db.execute(f"drop table {schemas[broken]}._notes")
    again = deploy.upgrade_only(dburl)
    assert (again.pending, again.upgraded, again.failed) == (1, 1, [])
    assert one(db, "select count(*) from docpal_private.companies where schema_version = %s", target) == 3
    history = db.execute("select status from docpal_private.tenant_upgrades where company_id = %s order by id",
                         (broken,)).fetchall()
    assert [h[0] for h in history] == ["failed", "ok"]


def test_upgrade_from_an_older_tenant_template(empty_db, project_copy):
    """Companies made under an older template reach the current one on migrate."""
    newest = sorted((project_copy / "sql/tenant").glob("*.sql"))[-1]
    held_back = newest.read_text()
    newest.unlink()
    deploy.migrate(empty_db, root=project_copy)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        cid = one(conn, "select docpal.create_company('old-timer', 'Old')")
        old_version = one(conn, "select schema_version from docpal_private.companies where id = %s", cid)
    newest.write_text(held_back)
    result = deploy.migrate(empty_db, root=project_copy)
    assert (result.upgrade.pending, result.upgrade.upgraded) == (1, 1)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        new_version = one(conn, "select schema_version from docpal_private.companies where id = %s", cid)
        assert new_version > old_version
        fresh = one(conn, "select docpal.create_company('newcomer', 'New')")
        tables = lambda c: conn.execute(  # noqa: E731
            "select relname from pg_class where relnamespace = %s::regnamespace order by 1",
            (f"company_{c.hex}",)).fetchall()
        assert tables(cid) == tables(fresh)


def test_create_company_uses_the_current_template(db):
    cid = one(db, "select docpal.create_company('current', 'Current')")
    assert one(db, "select schema_version from docpal_private.companies where id = %s", cid) == \
        one(db, "select max(version) from docpal_private.tenant_steps where module = 'base'")


def test_editing_a_shipped_tenant_step_is_refused(empty_db, project_copy):
    """Companies built with a step would silently miss the edit: migrate refuses it."""
    deploy.migrate(empty_db, root=project_copy)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("select docpal.create_company('built', 'Built')")
        before = catalog_snapshot(conn)
    first = sorted((project_copy / "sql/tenant").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\ncreate table {{ schema }}._sneaked_in (id int);\n")
    with pytest.raises(psycopg.errors.RaiseException, match="changed after company schemas were built"):
        deploy.migrate(empty_db, root=project_copy)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert catalog_snapshot(conn) == before


def test_a_function_whose_result_type_changes_is_replaced(empty_db, project_copy):
    """CREATE OR REPLACE cannot change OUT parameters; migrate drops and recreates such a function."""
    deploy.migrate(empty_db, root=project_copy)
    helper = project_copy / "functions/query/private/q_param.sql"
    helper.write_text(helper.read_text()
                      .replace("out o_ref text)", "out o_ref text, out o_position integer)")
                      .replace("    o_ref := pg_catalog.format", "    o_position := 0;\n    o_ref := pg_catalog.format"))
    deploy.migrate(empty_db, root=project_copy)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert one(conn, "select 'o_position' = any (proargnames) from pg_proc "
                         "where oid = 'docpal_private.q_param'::regproc")
