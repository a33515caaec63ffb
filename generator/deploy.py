"""Install and upgrade docpal in a database: ``docpal migrate`` and ``docpal status``.

migrate = (1) yoyo-migrations for tables and data, (2) every function,
trigger and the tenant template re-applied in one transaction (the rendered
"code script"), (3) every company schema brought to the tenant template by
``docpal_private.upgrade_tenants()``, one transaction per company.

Before any of it, sql/install/prepare.sql (run as the migrating superuser)
makes the role ``docpal_owner`` that owns every docpal object, the schemas
and the install lock table; the code script ends by handing every object of
docpal's schemas to docpal_owner, and the tenant upgrades run as it.

The whole run holds ``LOCK TABLE docpal_private.install_lock`` on a
connection of its own, so a second migrate waits for the first and then
finds nothing to do. Not an advisory lock: any login can take an advisory
key first and hang every migrate, while only docpal_owner and superusers can
reach that table.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pglast
import psycopg
from yoyo import get_backend, read_migrations

from . import __version__, render, resources

ProgressFn = Callable[[dict], None]


def yoyo_url(url: str) -> str:
    """yoyo needs ``postgresql+psycopg://`` to use psycopg 3."""
    return re.sub(r"^(postgres|postgresql)(\+\w+)?://", "postgresql+psycopg://", url)


def libpq_url(url: str) -> str:
    return re.sub(r"^(postgres|postgresql)\+\w+://", "postgresql://", url)


@dataclass
class UpgradeResult:
    target_version: int
    pending: int = 0
    upgraded: int = 0
    failed: list[dict] = field(default_factory=list)


@dataclass
class MigrateResult:
    applied_migrations: list[str]
    upgrade: UpgradeResult


def _root(root: Path | None) -> Path:
    """The templates to install: docpal's own (resources.template_root()) or
    ``root``; either must hold every folder, or the install would silently
    find "nothing to do"."""
    return resources.template_root() if root is None else resources.check_root(root)


def _migrations(root: Path):
    return read_migrations(str(_root(root) / "migrations"))


def apply_migrations(url: str, root: Path | None = None) -> list[str]:
    """Apply pending yoyo migrations (each in its own transaction)."""
    backend = get_backend(yoyo_url(url))
    try:
        with backend.lock():
            pending = backend.to_apply(_migrations(root))
            backend.apply_migrations(pending)
            return [m.id for m in pending]
    finally:
        backend.connection.close()


def prepare(url: str, root: Path | None = None) -> None:
    """Run sql/install/prepare.sql. Two first installs at the same moment may
    both try to create the same role, schema or table, and one then fails
    with a duplicate error: it runs the (idempotent) file again."""
    # statement by statement: one multi-statement string would be one
    # transaction, holding its first changes while a later statement waits
    statements = [s for s in pglast.split(render.prepare_script(root), with_parser=True) if s.strip()]
    duplicates = (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject,
                  psycopg.errors.DuplicateSchema, psycopg.errors.DuplicateTable)
    for attempt in range(5):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("set client_min_messages = warning")
                for statement in statements:
                    conn.execute(statement)
            return
        except duplicates:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


@contextmanager
def install_lock(url: str) -> Iterator[None]:
    """Hold the install lock for the block, on a connection of its own that
    stays idle in its transaction meanwhile (so no session timeout of the
    migrating role may end it)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set idle_in_transaction_session_timeout = 0")
        conn.execute("set statement_timeout = 0")
        conn.execute("set lock_timeout = 0")
        with conn.transaction():
            conn.execute(render.INSTALL_LOCK)
            yield


@contextmanager
def as_owner(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Run the block as docpal_owner (SET ROLE), so that whatever it creates
    (company schema objects, audit partitions) belongs to docpal_owner like
    everything else of docpal. For maintenance commands that call private
    functions directly as the migrating role."""
    conn.execute(f"set role {render.OWNER_ROLE}")
    try:
        yield conn
    finally:
        if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            conn.execute("reset role")


def upgrade_tenants(conn: psycopg.Connection, progress: ProgressFn | None = None) -> UpgradeResult:
    """Run docpal_private.upgrade_tenants() and collect what it reports.

    The procedure commits per company and raises a NOTICE with a JSON status
    after each one; those drive ``progress`` and the result."""
    target = conn.execute("select coalesce(max(version), 0) from docpal_private.tenant_steps "
                          "where module = 'base'").fetchone()[0]
    result = UpgradeResult(target_version=target)

    def on_notice(diag: psycopg.errors.Diagnostic) -> None:
        try:
            item = json.loads(diag.message_primary or "")
        except ValueError:
            return
        if not isinstance(item, dict) or "done" not in item:
            return
        result.pending = item["pending"]
        if item["status"] == "ok":
            result.upgraded += 1
        elif item["status"] == "failed":
            result.failed.append(item)
        if progress:
            progress(item)

    conn.add_notice_handler(on_notice)
    try:
        with as_owner(conn):  # the objects the tenant steps create are docpal_owner's
            conn.execute("call docpal_private.upgrade_tenants()")
    finally:
        conn.remove_notice_handler(on_notice)
    return result


def migrate(url: str, root: Path | None = None, progress: ProgressFn | None = None,
            extra_tenant_dirs: tuple[Path, ...] = ()) -> MigrateResult:
    """Bring the database and every company schema to this version."""
    url = libpq_url(url)
    root = _root(root)  # before anything touches the database
    rendered = render.templates(root, extra_tenant_dirs)
    prepare(url, root)
    with install_lock(url), psycopg.connect(url, autocommit=True) as conn:
        applied = apply_migrations(url, root)
        try:
            # the lock is held by install_lock's connection: the script must not
            # wait for it. Statement by statement (in the script's transaction):
            # Citus propagates some DDL as the text it was given, and a worker
            # refuses several commands in one string.
            for statement in pglast.split(render.code_script(rendered, root, lock=False), with_parser=False):
                if statement.strip():
                    conn.execute(statement)
        except psycopg.Error:
            # the script's own BEGIN left the session in a failed transaction
            conn.execute("rollback")
            raise
        upgrade = upgrade_tenants(conn, progress)
    return MigrateResult(applied, upgrade)


def upgrade_only(url: str, progress: ProgressFn | None = None) -> UpgradeResult:
    """``docpal tenants migrate``: upgrade company schemas, nothing else."""
    url = libpq_url(url)
    with install_lock(url), psycopg.connect(url, autocommit=True) as conn:
        return upgrade_tenants(conn, progress)


def status(url: str, root: Path | None = None) -> dict:
    """What is installed, what is pending, and how far the tenants are."""
    url = libpq_url(url)
    root = _root(root)
    backend = get_backend(yoyo_url(url))
    try:
        migrations = _migrations(root)
        pending = [m.id for m in backend.to_apply(migrations)]
        applied = [m.id for m in migrations if m.id not in pending]
    finally:
        backend.connection.close()
    out: dict = {"package_version": __version__, "installed_version": None,
                 "applied_migrations": applied, "pending_migrations": pending}
    with psycopg.connect(url, autocommit=True) as conn:
        installed = conn.execute("select to_regclass('docpal_private.meta') is not null").fetchone()[0]
        if not installed:
            return out
        out["installed_version"] = conn.execute(
            "select value from docpal_private.meta where key = 'version'").fetchone()
        out["installed_version"] = out["installed_version"][0] if out["installed_version"] else None
        row = conn.execute("""
            select (select coalesce(max(version), 0) from docpal_private.tenant_steps where module = 'base'),
                   count(*),
                   count(*) filter (where docpal_private.company_behind(c.id, c.schema_version))
              from docpal_private.companies c""").fetchone()
        out["tenant_template_version"], out["companies"], out["companies_behind"] = row
        last = conn.execute("""
            select r.id, r.started_at, r.finished_at, r.pending, r.upgraded, r.failed
              from docpal_private.tenant_upgrade_runs r order by r.id desc limit 1""").fetchone()
        out["last_tenant_run"] = None if last is None else dict(
            zip(("id", "started_at", "finished_at", "pending", "upgraded", "failed"),
                (last[0], str(last[1]), str(last[2]) if last[2] else None, *last[3:])))
        out["failed_companies"] = [
            {"company": str(r[0]), "slug": r[1], "error": r[2]}
            for r in conn.execute("""
                select distinct on (u.company_id) u.company_id, c.slug, u.error
                  from docpal_private.tenant_upgrades u
                  join docpal_private.companies c on c.id = u.company_id
                 where docpal_private.company_behind(c.id, c.schema_version)
                   and u.status = 'failed'
                 order by u.company_id, u.id desc""")
        ]
    return out
