"""Test harness: a real PostgreSQL 15 cluster, one migrated template database,
and a fresh clone of it for every test (pytest-postgresql's template
databases: CREATE DATABASE ... TEMPLATE takes tens of milliseconds).

The cluster is started by docpal's own embedded-cluster code in a temporary
folder, with fsync off; as root it runs as the ``postgres`` OS user.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories

from docpal import deploy, embedded

#: Login roles the tests connect as; cluster-wide, created once.
APP_LOGIN = "docpal_test_app"  # member of docpal_app: an untrusted client
SERVICE_LOGIN = "docpal_test_service"  # member of docpal_service: a trusted backend
HTTP_LOGIN = "docpal_test_http"  # docpal serve's login: may SET ROLE to docpal_app and docpal_service

_cluster: embedded.Cluster | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _cluster
    config.addinivalue_line("markers", "citus: runs against the Citus cluster named by DOCPAL_CITUS_URL (skipped without it)")
    base = Path(tempfile.mkdtemp(prefix="docpal-test-"))
    os.chmod(base, 0o755)
    _cluster = embedded.Cluster(base / "pgdata", fast=True).start()
    config.option.postgresql_host = _cluster.host
    config.option.postgresql_port = _cluster.port
    config.option.postgresql_user = _cluster.user
    config.option.postgresql_dbname = "docpal_test"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _cluster is not None:
        _cluster.stop()
        shutil.rmtree(_cluster.datadir.parent, ignore_errors=True)


def load_docpal(host: str, port: int, user: str, dbname: str, password: str | None = None, **_) -> None:
    """Template loader: docpal migrate, plus the test login roles."""
    url = f"postgresql://{user}@{host}:{port}/{dbname}"
    deploy.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for login, group in ((APP_LOGIN, "docpal_app"), (SERVICE_LOGIN, "docpal_service"),
                             (HTTP_LOGIN, "docpal_app, docpal_service")):
            conn.execute(f"""
                do $$ begin
                    create role {login} login in role {group};
                exception when duplicate_object then null;
                end $$""")


docpal_template = factories.postgresql_noproc(load=[load_docpal])
postgresql = factories.postgresql("docpal_template")


def _owner_may_create_schemas(conn: psycopg.Connection) -> None:
    """A database cloned from a template does not inherit database-level
    grants: docpal_owner needs CREATE on it to make company schemas (on a
    real install `docpal migrate` grants it)."""
    conn.execute(f'grant create on database "{conn.info.dbname}" to docpal_owner')
    if not conn.autocommit:
        conn.commit()


@pytest.fixture
def db(postgresql: psycopg.Connection) -> psycopg.Connection:
    """A superuser connection (autocommit) to a freshly migrated database."""
    postgresql.autocommit = True
    _owner_may_create_schemas(postgresql)
    return postgresql


@pytest.fixture
def dburl(postgresql: psycopg.Connection) -> str:
    _owner_may_create_schemas(postgresql)
    info = postgresql.info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


@pytest.fixture
def connect(dburl: str) -> Iterator[Callable[..., psycopg.Connection]]:
    """Open more connections to the test database, as any login role."""
    opened: list[psycopg.Connection] = []

    def _connect(user: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        url = dburl if user is None else dburl.replace("://postgres@", f"://{user}@")
        conn = psycopg.connect(url, autocommit=autocommit)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


@pytest.fixture
def service(connect) -> psycopg.Connection:
    """A connection as a docpal_service login (trusted backend)."""
    return connect(SERVICE_LOGIN)


@pytest.fixture
def app(connect) -> psycopg.Connection:
    """A connection as a docpal_app login (untrusted client)."""
    return connect(APP_LOGIN)


def unique_slug(prefix: str = "co") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def company(db) -> dict:
    """A company with an owner and a member: {id, slug, schema, owner, member}."""
    slug = unique_slug()
    cid = db.execute("select docpal.create_company(%s, 'Test Co')", (slug,)).fetchone()[0]
    owner = db.execute("select docpal.create_user(%s, 'Owner')", (f"owner-{slug}@example.com",)).fetchone()[0]
    member = db.execute("select docpal.create_user(%s, 'Member')", (f"member-{slug}@example.com",)).fetchone()[0]
    db.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
    db.execute("select docpal.add_member(%s, %s, 'member')", (cid, member))
    schema = db.execute("select docpal.get_company(%s)->>'schema'", (str(cid),)).fetchone()[0]
    return {"id": cid, "slug": slug, "schema": schema, "owner": owner, "member": member}
