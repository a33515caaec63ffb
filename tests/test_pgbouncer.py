"""Contexts behind a transaction-pooling PgBouncer (issue 12, contract section 1).

A transaction pooler hands one server connection (same pid, same backend
start, so a context signed for it stays valid) to many clients in turn. The
default context (set_context/authenticate with is_local true) ends with the
transaction, so no client ever sees another's; a session context
(is_local => false) leaks to the next client of that server connection, which
is why it is not the default. Debian's pgbouncer (installed by ./dev) runs as
the postgres OS user in front of the test cluster, with a pool of 2 server
connections per user shared by 20 clients.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

from conftest import APP_LOGIN, SERVICE_LOGIN
from docpal import embedded
from helpers import one

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def bouncer(dburl):
    """A pgbouncer in transaction mode in front of the test database: a function giving a
    connection through it as a login role."""
    if not os.path.exists(PGBOUNCER):
        pytest.skip("pgbouncer is not installed (Debian package pgbouncer; ./dev setup installs it)")
    url = urlparse(dburl)
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="docpal-pgbouncer-"))
    os.chmod(folder, 0o777)  # the postgres OS user writes its log and pid file here
    (folder / "users.txt").write_text("".join(f'"{u}" ""\n' for u in (url.username, APP_LOGIN, SERVICE_LOGIN)))
    (folder / "pgbouncer.ini").write_text(f"""
[databases]
* = host={url.hostname} port={url.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
query_wait_timeout = 30
ignore_startup_parameters = extra_float_digits,options
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
""")
    for name in ("users.txt", "pgbouncer.ini"):
        os.chmod(folder / name, 0o644)
    proc = subprocess.Popen(embedded.as_server_user([PGBOUNCER, str(folder / "pgbouncer.ini")]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (folder / "pgbouncer.log").read_text() if (folder / "pgbouncer.log").exists() else ""
                proc.kill()
                pytest.fail(f"pgbouncer did not start: {proc.stderr.read().decode()} {log}")
            time.sleep(0.1)
    opened = []

    def connect(user, autocommit=True):
        # prepare_threshold=None: no server-side prepared statements, which PgBouncer 1.18 in
        # transaction mode cannot follow from one server connection to the next
        conn = psycopg.connect(host="127.0.0.1", port=port, user=user, dbname=url.path.lstrip("/"),
                               autocommit=autocommit, prepare_threshold=None, connect_timeout=10)
        conn.execute("set statement_timeout = '20s'")
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def two(db, company):
    """Companies A (the fixture's) and B, each with an owner key."""
    b_id = one(db, "select docpal.create_company(%s, 'B')", f"b-{company['slug']}")
    b_owner = one(db, "select docpal.create_user(%s, 'B owner')", f"owner-b-{company['slug']}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (b_id, b_owner))
    keys = {}
    for cid, owner in ((company["id"], company["owner"]), (b_id, b_owner)):
        with db.transaction():
            db.execute("select docpal.set_context(%s, %s)", (cid, owner))
            keys[cid] = one(db, "select docpal.create_api_key('pool', %s, array['read'])", owner)["key"]
    return {"A": (company["id"], company["owner"], keys[company["id"]]), "B": (b_id, b_owner, keys[b_id])}


def ctx(conn):
    return conn.execute("select docpal.current_company(), docpal.current_user_id()").fetchone()


def test_twenty_clients_through_one_pool_never_see_each_others_context(bouncer, two):
    rounds = 25
    errors: list[str] = []

    def client(i):
        label = "AB"[i % 2]
        company, user, key = two[label]
        kind = ("service", "key", "none", "service")[i // 2 % 4]
        try:
            conn = bouncer(APP_LOGIN if kind in ("key", "none") else SERVICE_LOGIN)
            for n in range(rounds):
                with conn.transaction():
                    seen = ctx(conn)
                    if seen != (None, None):
                        errors.append(f"client {i} ({kind} {label}) round {n} began with {seen}")
                    if kind == "service":
                        conn.execute("select docpal.set_context(%s, %s)", (company, user))
                    elif kind == "key":
                        one(conn, "select docpal.authenticate(%s)", key)
                    want = (None, None) if kind == "none" else (company, user)
                    for _ in range(2):
                        seen = ctx(conn)
                        if seen != want:
                            errors.append(f"client {i} ({kind} {label}) round {n} saw {seen}, not {want}")
                if kind == "none" and ctx(conn) != (None, None):
                    errors.append(f"client {i} (none) saw a context between transactions")
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(f"client {i} ({kind} {label}): {exc!r}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client did not finish within 120 s"
    assert errors == []


def test_a_session_context_leaks_to_the_next_client_which_is_why_it_is_not_the_default(bouncer, two):
    company, user, _ = two["A"]
    first, second = bouncer(SERVICE_LOGIN), bouncer(SERVICE_LOGIN)
    # one statement at a time, so both clients get the pool's first server connection
    first.execute("select docpal.set_context(%s, %s, is_local => false)", (company, user))
    leaked = ctx(second)
    first.execute("select docpal.clear_context()")
    assert leaked == (company, user), "a session context stays on the server connection for its next client"
    # the default ends with the transaction
    first.execute("select docpal.set_context(%s, %s)", (company, user))
    assert ctx(second) == (None, None)
    assert ctx(first) == (None, None)
