"""Benchmark of ``docpal serve`` (issue 18, contract section 12) in one run on
one database.

(a) Pages. A company with the ``items`` table (benchdb.SPEC) holding --rows
    records (default 10,000). 20-row pages of ``GET /api/records/items``
    fetched by wrk (Debian's, C) over --connections keep-alive connections
    (default 16) for --seconds, against the same ``query_table`` spec
    called over psycopg at the same concurrency: each call one transaction
    ``authenticate(key, true)`` + ``query_table`` (what a request of the
    server does), from 2 client processes of asyncio connections. Two pages:
    a cheap one (no sort, ``count=none``: the HTTP layer's own cost shows)
    and a typical one (sorted, filtered on an indexed column, exact count).
    Rounds alternate docpal and direct; printed: requests per second of
    each, medians, and the ratio (goal: docpal at least 0.5 x direct).

(b) Live events. --clients SSE clients (default 200) of one company and one
    key on ``GET /api/events``; then --events times (default 100): one
    ``update_record`` committed, and the time from the commit returning to
    the last client receiving its event. Printed: p50, p99 and max over
    the events (goal: p99 under 100 ms).

(c) Memory. The resident set size of each worker process after (a) and (b).

The server runs with --workers (default 2, one per core here) as a login that
may SET ROLE to docpal_app and docpal_service. The load average is printed.
Run: ``.venv/bin/python bench/bench_http.py`` (a throw-away cluster unless
--database-url / $DATABASE_URL is given).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from urllib.parse import quote, urlsplit

import httpx
import psycopg

import benchdb
from docpal import deploy

LOGIN = "docpal_bench_http"
#: the two pages of case (a): (label, query string, the same as a query_table spec)
PAGES = [
    ("cheap page (no sort, count=none)", "limit=20&count=none", {"limit": 20, "count": "none"}),
    ("typical page (indexed filter, sort, exact count)",
     "limit=20&sort=-amount&count=exact&filter=" + quote(json.dumps({"status": "doing"})),
     {"limit": 20, "sort": ["-amount"], "count": "exact", "filters": {"status": "doing"}}),
]


def load_avg() -> str:
    a = os.getloadavg()
    return f"load average {a[0]:.2f} {a[1]:.2f} {a[2]:.2f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(url: str, rows: int) -> tuple[str, str, str]:
    """The company, its owner's API key and the server's login URL."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"""
            do $$ begin
                create role {LOGIN} login in role docpal_app, docpal_service;
            exception when duplicate_object then null;
            end $$""")
        company, user = benchdb.company_in_context(conn)
        conn.execute("select docpal.create_table(%s)", (json.dumps(benchdb.SPEC),))
        schema = conn.execute("select docpal.get_company(%s)->>'schema'", (str(company),)).fetchone()[0]
        # bulk load as the DBA: plain INSERT ... SELECT (the audit trigger logs it, as any write)
        conn.execute(psycopg.sql.SQL("""
            insert into {}.items (title, amount, status, due, done, note)
            select 'item ' || g, (g %% 1000) + 0.5, (array['open','doing','done'])[g %% 3 + 1],
                   date '2026-01-01' + (g %% 365), g %% 2 = 0, 'note ' || g
              from generate_series(1, %s) g""").format(psycopg.sql.Identifier(schema)), (rows,))
        conn.execute(psycopg.sql.SQL("analyze {}.items").format(psycopg.sql.Identifier(schema)))
        key = conn.execute("select docpal.create_api_key('bench', %s, array['read','create','update','delete'])",
                           (user,)).fetchone()[0]["key"]
    login = urlsplit(deploy.libpq_url(url))
    netloc = f"{LOGIN}@{login.hostname}" + (f":{login.port}" if login.port else "")
    return str(company), key, login._replace(netloc=netloc).geturl()


class Server:
    def __init__(self, url: str, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="docpal-bench-serve-", suffix=".log", delete=False)
        exe = Path(sys.executable).parent / "docpal"
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--database-url", url, "--port", str(self.port), "--workers", str(workers),
             "--pool-size", "16"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("docpal serve did not start: " + Path(self.log.name).read_text()[-2000:])
            time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """uvicorn's worker processes (the server itself when it runs one)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        children = [int(p) for p in out.stdout.split()]
        workers = []
        for pid in children:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"multiprocessing" not in cmd or b"spawn_main" in cmd:  # not uvicorn's resource tracker
                workers.append(pid)
        return workers or [self.proc.pid]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.unlink(self.log.name)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- (a) pages ---------------------------------------------------------------

def wrk_rate(base: str, query: str, key: str, connections: int, seconds: float) -> float:
    """Requests per second of wrk on one page; every answer must be 200."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(f'wrk.headers["Authorization"] = "Bearer {key}"\n'
                  'local bad = 0\n'
                  'response = function(status, headers, body) if status ~= 200 then bad = bad + 1 end end\n'
                  'done = function(summary, latency, requests) io.write("non-200: " .. summary.errors.status .. "\\n") end\n')
    try:
        out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(seconds)}s", "-s", lua.name,
                              f"{base}/api/records/items?{query}"], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(lua.name)
    bad = re.search(r"non-200: (\d+)", out)
    if bad is None or int(bad.group(1)) or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


async def _direct_client(url: str, key: str, spec: str, connections: int, seconds: float) -> int:
    conns = [await psycopg.AsyncConnection.connect(url) for _ in range(connections)]
    done = 0
    stop = time.perf_counter() + seconds

    async def loop(conn: psycopg.AsyncConnection) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            async with conn.transaction():
                await conn.execute("select pg_catalog.set_config('role', 'docpal_app', true)")
                await conn.execute("select docpal.authenticate(%s, true)", (key,))
                cur = await conn.execute("select docpal.query_table('items', %s::jsonb)::text", (spec,))
                await cur.fetchone()
            done += 1

    await asyncio.gather(*(loop(c) for c in conns))
    for c in conns:
        await c.close()
    return done


def _direct_process(args: tuple) -> int:
    return asyncio.run(_direct_client(*args))


def direct_rate(url: str, key: str, spec: dict, connections: int, seconds: float) -> float:
    """Calls per second of the same query_table over psycopg: 2 processes
    (a Python client is one core at most) sharing the connections."""
    halves = [connections // 2, connections - connections // 2]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        t0 = time.perf_counter()
        done = pool.map(_direct_process, [(url, key, json.dumps(spec), n, seconds) for n in halves if n])
        elapsed = time.perf_counter() - t0
    return sum(done) / max(elapsed - 0.3, seconds)  # the pool's start is not the database's time


def pages(server: Server, login_url: str, key: str, connections: int, seconds: float, repeat: int) -> None:
    for label, query, spec in PAGES:
        with httpx.Client(base_url=server.base) as client:
            via_http = client.get(f"/api/records/items?{query}", headers={"Authorization": f"Bearer {key}"})
            via_http.raise_for_status()
        with psycopg.connect(login_url, autocommit=False) as conn:
            conn.execute("select pg_catalog.set_config('role', 'docpal_app', true)")
            conn.execute("select docpal.authenticate(%s, true)", (key,))
            direct = conn.execute("select docpal.query_table('items', %s::jsonb)", (json.dumps(spec),)).fetchone()[0]
        if via_http.json() != direct:
            raise RuntimeError(f"{label}: the HTTP page differs from query_table's result")
        rates_http, rates_direct = [], []
        for _ in range(repeat):
            rates_http.append(wrk_rate(server.base, query, key, connections, seconds))
            rates_direct.append(direct_rate(login_url, key, spec, connections, seconds))
        h, d = median(rates_http), median(rates_direct)
        print(f"  {label}: {len(direct['rows'])} rows")
        print(f"    HTTP (wrk)        median {h:9.1f} req/s   (runs: {' '.join(f'{x:.0f}' for x in rates_http)})")
        print(f"    psycopg (direct)  median {d:9.1f} calls/s (runs: {' '.join(f'{x:.0f}' for x in rates_direct)})")
        print(f"    ratio HTTP / direct: {h / d:.2f} (goal: at least 0.5)", flush=True)


# --- (b) live events ---------------------------------------------------------

async def fan_out(base: str, key: str, login_url: str, company: str, clients: int, events: int) -> list[float]:
    """Latencies (ms) from each commit to the last of the clients receiving its event."""
    seen: dict[str, int] = {}  # record_id:version -> clients that received it
    arrived: dict[str, float] = {}  # ... -> when the last one did
    ready = 0
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(base_url=base, timeout=None, limits=limits) as client:

        async def listen() -> None:
            nonlocal ready
            async with client.stream("GET", "/api/events", headers={"Authorization": f"Bearer {key}"}) as r:
                r.raise_for_status()
                ready += 1
                async for line in r.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    event = json.loads(line[5:])
                    tag = f"{event.get('record_id')}:{event.get('version')}"
                    seen[tag] = seen.get(tag, 0) + 1
                    if seen[tag] == clients:
                        arrived[tag] = time.perf_counter()

        tasks = [asyncio.create_task(listen()) for _ in range(clients)]
        while ready < clients:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # every stream has joined its worker's group
        conn = await psycopg.AsyncConnection.connect(login_url, autocommit=True)
        await conn.execute("select pg_catalog.set_config('role', 'docpal_app', false)")
        latencies = []
        record = None
        try:
            for _ in range(events):
                async with conn.transaction():
                    await conn.execute("select docpal.authenticate(%s, true)", (key,))
                    if record is None:
                        cur = await conn.execute("select docpal.create_record('items', %s::jsonb)",
                                                 (json.dumps({"title": "live"}),))
                    else:
                        cur = await conn.execute("select docpal.update_record('items', %s, %s::jsonb)",
                                                 (record, json.dumps({"note": f"n{time.monotonic_ns()}"})))
                    row = (await cur.fetchone())[0]
                committed = time.perf_counter()
                record = row["id"]
                tag = f"{row['id']}:{row['version']}"
                deadline = committed + 10
                while tag not in arrived:
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"event {tag}: {seen.get(tag, 0)} of {clients} clients after 10 s")
                    await asyncio.sleep(0.0005)
                latencies.append((arrived[tag] - committed) * 1000)
                await asyncio.sleep(0.02)
        finally:
            await conn.close()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


def bench(url: str, rows: int, connections: int, seconds: float, repeat: int, clients: int, events: int,
          workers: int) -> int:
    print(load_avg())
    company, key, login_url = setup(url, rows)
    server = Server(login_url, workers)
    try:
        print(f"(a) 20-row pages of {rows} records, {connections} connections, {seconds:g} s per run, "
              f"{repeat} interleaved rounds, server --workers {workers}", flush=True)
        pages(server, login_url, key, connections, seconds, repeat)
        print(f"(b) SSE fan-out: {clients} clients of one key, {events} events", flush=True)
        lat = asyncio.run(fan_out(server.base, key, login_url, company, clients, events))
        print(f"  commit -> last client: p50 {percentile(lat, 0.5):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms, "
              f"max {max(lat):.1f} ms (goal: p99 under 100 ms)")
        print("(c) resident memory per worker after the run: "
              + ", ".join(f"pid {pid} {rss_mb(pid):.1f} MB" for pid in server.worker_pids()))
    finally:
        server.stop()
    print(load_avg())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10000, help="records in the table (default 10000)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per rate run, whole (default 5)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds of (a) (default 5)")
    parser.add_argument("--clients", type=int, default=200, help="SSE clients in (b) (default 200)")
    parser.add_argument("--events", type=int, default=100, help="events timed in (b) (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    if min(args.rows, args.connections, args.repeat, args.clients, args.events, args.workers) < 1 or args.seconds < 1:
        parser.error("every count must be at least 1 (--seconds too)")
    if shutil.which("wrk") is None:
        parser.error("wrk is needed (Debian package wrk; ./dev installs it)")
    with benchdb.fresh_database(args.database_url) as url:
        deploy.migrate(url)
        return bench(url, args.rows, args.connections, args.seconds, args.repeat, args.clients, args.events,
                     args.workers)


if __name__ == "__main__":
    sys.exit(main())
