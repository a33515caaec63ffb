"""What every benchmark needs: a fresh database, on the server of
--database-url / $DATABASE_URL or on a throw-away cluster, removed afterwards;
and a company with an owner in context."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from docpal import deploy, embedded


#: The table the audit and events benchmarks write (a typical business table).
SLUG = "items"
SPEC = {"slug": SLUG, "name": "Items", "columns": [
    {"name": "title", "type": "text", "required": True, "max_length": 200, "searchable": True},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2, "min": 0},
    {"name": "status", "type": "select", "options": ["open", "doing", "done"], "indexed": True},
    {"name": "due", "type": "date"},
    {"name": "done", "type": "boolean"},
    {"name": "note", "type": "text", "searchable": False}]}
COLUMNS = ("title", "amount", "status", "due", "done", "note")
STATUSES = ("open", "doing", "done")


def with_dbname(url: str, dbname: str) -> str:
    return urlsplit(deploy.libpq_url(url))._replace(path=f"/{dbname}").geturl()


@contextmanager
def fresh_database(database_url: str | None, preload: str = "") -> Iterator[str]:
    """A new database docpal_bench_<hex>; yields its URL, drops it at the end
    (and stops and removes the cluster when it started one). preload: the
    throw-away cluster's shared_preload_libraries (e.g. 'plpgsql', as
    docs/operations.md recommends); a --database-url server keeps its own."""
    dbname = f"docpal_bench_{secrets.token_hex(4)}"
    cluster = tmp = None
    if database_url:
        admin_url = deploy.libpq_url(database_url)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
        url = with_dbname(admin_url, dbname)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="docpal-bench-"))
        tmp.chmod(0o755)  # as root, the postgres OS user must reach the data folder
        cluster = embedded.Cluster(tmp / "pgdata", fast=False)
        if preload:
            cluster.init()
            subprocess.run(embedded.as_server_user(["sh", "-c", f"cat >> '{tmp / 'pgdata' / 'postgresql.conf'}'"]),
                           input=f"shared_preload_libraries = '{preload}'\n", text=True, check=True)
        cluster.start()
        admin_url = cluster.url()
        url = cluster.create_database(dbname)
    print(f"database: {url}")
    try:
        yield url
    finally:
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))
        finally:
            if cluster:
                cluster.stop()
                shutil.rmtree(tmp, ignore_errors=True)


def company_in_context(conn: psycopg.Connection) -> tuple[str, str]:
    """A company 'bench' with an owner, in context on conn: (company id, user id)."""
    company = conn.execute("select docpal.create_company('bench', 'Bench')").fetchone()[0]
    user = conn.execute("select docpal.create_user('bench@example.com', 'Bench')").fetchone()[0]
    conn.execute("select docpal.add_member(%s, %s, 'owner')", (company, user))
    conn.execute("select docpal.set_context(%s, %s, false)", (company, user))
    return company, user


def alternate(repeat: int, first: Callable[[], object],
              second: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Warm up twice, then `repeat` alternating timed runs of `first` and `second`;
    their times in ms."""
    for _ in range(2):
        first()
        second()
    t_first: list[float] = []
    t_second: list[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        t2 = time.perf_counter()
        t_first.append((t1 - t0) * 1e3)
        t_second.append((t2 - t1) * 1e3)
    return t_first, t_second


def run_case(repeat: int, docpal: Callable[[], object], plain: Callable[[], object],
             goal: str) -> tuple[float, float, float]:
    """Warm up twice, then `repeat` alternating timed runs of docpal and its hand-written
    equivalent; prints them and returns (docpal ms, plain ms, ratio), medians."""
    t_docpal, t_plain = alternate(repeat, docpal, plain)
    d, p = median(t_docpal), median(t_plain)
    print(f"  docpal       median {d:9.2f} ms   (runs: {' '.join(f'{x:.1f}' for x in t_docpal)})")
    print(f"  hand-written median {p:9.2f} ms   (runs: {' '.join(f'{x:.1f}' for x in t_plain)})")
    print(f"  ratio docpal / hand-written: {d / p:.2f} ({goal})", flush=True)
    return d, p, d / p
