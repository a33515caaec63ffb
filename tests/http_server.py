"""The HTTP test harness: a database of its own and a real `docpal serve`
process on it (uvicorn on a free port of 127.0.0.1), shared by the tests of a
module. Tests make their own companies (unique slugs), so they do not see
each other's data.

    from http_server import *   # noqa: the fixtures below

    def test_x(http):            # http: Http (base URL, an httpx client, the db)
        co = http.company()      # a company, its owner and member, and a key for each
        r = http.client.get("/api/schemas", headers=co.auth("owner"))
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from conftest import HTTP_LOGIN, unique_slug

ADMIN_TOKEN = "test-admin-token-" + "x" * 24
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Company:
    id: str
    slug: str
    schema: str
    owner: str
    member: str
    keys: dict = field(default_factory=dict)  # "owner" / "member" -> API key

    def auth(self, who: str = "owner") -> dict:
        return {"Authorization": f"Bearer {self.keys[who]}"}


class Server:
    """A `docpal serve` process: started, waited for (/healthz), stopped with SIGTERM."""

    def __init__(self, url: str, *, workers: int = 1, env: dict | None = None, log: Path | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log or Path(f"/tmp/docpal-serve-{self.port}.log")
        environ = {**os.environ, "DOCPAL_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})}
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "docpal"), "serve", "--database-url", url, "--port", str(self.port),
             "--workers", str(workers)],
            env=environ, stdout=subprocess.DEVNULL, stderr=self.log.open("wb"))
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"docpal serve did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def access_log(self) -> list[dict]:
        lines = []
        for line in self.log.read_text().splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and "route" in item:
                lines.append(item)
        return lines

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Http:
    def __init__(self, db: psycopg.Connection, url: str, server: Server) -> None:
        self.db, self.url, self.server = db, url, server
        self.base = server.base
        self.client = httpx.Client(base_url=server.base, timeout=30)
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def one(self, query: str, *params):
        return self.db.execute(query, params).fetchone()[0]

    def company(self, prefix: str = "co", scopes: tuple = ("read", "create", "update", "delete")) -> Company:
        """A company with an owner and a member, and an API key for each."""
        slug = unique_slug(prefix)
        cid = str(self.one("select docpal.create_company(%s, 'Test Co')", slug))
        owner = str(self.one("select docpal.create_user(%s, 'Owner')", f"owner-{slug}@example.com"))
        member = str(self.one("select docpal.create_user(%s, 'Member')", f"member-{slug}@example.com"))
        self.db.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
        self.db.execute("select docpal.add_member(%s, %s, 'member')", (cid, member))
        schema = self.one("select docpal.get_company(%s)->>'schema'", cid)
        co = Company(cid, slug, schema, owner, member)
        for who, user in (("owner", owner), ("member", member)):
            co.keys[who] = self.key(co, user, list(scopes))
        return co

    def key(self, co: Company, user: str, scopes: list[str], spec: dict | None = None) -> str:
        """An API key made by platform admin (the test's superuser connection)."""
        with self.db.transaction():
            self.db.execute("select docpal.set_context(%s, %s)", (co.id, user))
            made = self.one("select docpal.create_api_key('test', %s, %s, %s)", user, scopes,
                            json.dumps(spec or {}))
        return made["key"]

    def sql(self, co: Company, user: str, query: str, *params):
        """Run docpal SQL as a user of the company (to set up data)."""
        with self.db.transaction():
            self.db.execute("select docpal.set_context(%s, %s)", (co.id, user))
            return self.db.execute(query, params).fetchone()[0]


@pytest.fixture(scope="module")
def http_db(docpal_template) -> Iterator[tuple[psycopg.Connection, str]]:
    """A database of the module's own, cloned from the migrated template:
    (superuser connection, the server's URL as the docpal_test_http login)."""
    t = docpal_template
    dbname = f"docpal_http_{uuid.uuid4().hex[:10]}"
    with DatabaseJanitor(user=t.user, host=t.host, port=t.port, dbname=dbname,
                         template_dbname=t.template_dbname, password=t.password):
        url = f"postgresql://{t.user}@{t.host}:{t.port}/{dbname}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'grant create on database "{dbname}" to docpal_owner')
            yield conn, f"postgresql://{HTTP_LOGIN}@{t.host}:{t.port}/{dbname}"
            # the janitor drops the database: close the server's connections first
            conn.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                         "where datname = current_database() and pid <> pg_backend_pid()")


@pytest.fixture(scope="module")
def http_server(http_db) -> Iterator[Server]:
    server = Server(http_db[1])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(http_db, http_server) -> Iterator[Http]:
    h = Http(http_db[0], http_db[1], http_server)
    yield h
    h.client.close()
