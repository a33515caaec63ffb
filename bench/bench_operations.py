"""Benchmark of running many tenants (issue 15, contract section 8): metrics, export and
import, blueprints, adopting a table.

What is measured, on a fresh database, each against plain PostgreSQL in the same run:

1. ``docpal.company_metrics()`` over N companies (default 1,000), each with a table of 20
   records: the first call in a new session (PostgreSQL loads the relations' descriptions
   into its cache then) and the median of 5 later ones, against the plain catalog query
   ``sum(pg_total_relation_size(...))`` over every company schema, the same way (and a
   ``count(*)`` of ``pg_stat_user_tables`` for scale). Goal: under 1 s.
2. ``docpal tenants export SLUG -o FILE`` and ``docpal tenants import FILE --slug NEW`` (as
   subprocesses) of a company with R records (default 1,000,000) across 5 tables, against
   ``pg_dump -n SCHEMA -Fc`` and ``pg_restore`` of the same schema (into a fresh migrated
   database); also at R/10 records, to show that the CLI's peak RSS (os.wait4 of the child)
   stays flat. Goal: each within 2x of pg_dump / pg_restore.
3. ``docpal.apply_blueprint(<the shipped mes blueprint>)`` on new companies (3 runs, median).
   Goal: under 500 ms.
4. ``docpal.adopt_table`` of a plain table of A rows (default 1,000,000: serial key, a
   varchar(50) code, numeric(10,2), a check constraint listing statuses, timestamp, text[],
   jsonb) against ``INSERT ... SELECT`` of the same rows, with the same conversions, into a
   plain twin of the adopted table (``LIKE ... INCLUDING ALL``: columns, defaults,
   constraints, indexes; no docpal triggers). Goal: within 2x.

Goals are reported, not enforced: the exit status is 0 unless a result is wrong.

Run:  .venv/bin/python bench/bench_operations.py [--tiny] [--database-url URL]

Without a URL (argument or $DATABASE_URL) it starts a throw-away PostgreSQL cluster
(docpal.embedded, durable settings) and removes it afterwards; with a URL it creates a
database docpal_bench_<hex> on that server and drops it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

import benchdb
from docpal import deploy, embedded

DOCPAL = Path(sys.executable).parent / "docpal"
FULL = {"companies": 1000, "records": 1_000_000, "adopt_rows": 1_000_000}
TINY = {"companies": 10, "records": 5_000, "adopt_rows": 5_000}
THINGS = {"slug": "things", "name": "Things", "columns": [{"name": "name", "type": "text"},
                                                          {"name": "qty", "type": "integer"}]}
TABLE_COLUMNS = [{"name": "title", "type": "text", "required": True, "max_length": 200},
                 {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
                 {"name": "status", "type": "select", "options": ["open", "doing", "done"]},
                 {"name": "due", "type": "date"}, {"name": "done", "type": "boolean"},
                 {"name": "note", "type": "text"}]
failures: list[str] = []
summary: list[str] = []


def fail(message: str) -> None:
    print(f"  WRONG: {message}")
    failures.append(message)


def run(cmd: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """Run a command; (seconds, peak RSS in MB of that process, stderr). Exits on failure."""
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        err.seek(0)
        text = err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed: {text[-2000:]}")
    return seconds, usage.ru_maxrss // 1024, text


def owner_of(conn: psycopg.Connection, slug: str, email: str) -> tuple[str, str]:
    company = conn.execute("select docpal.create_company(%s, %s)", (slug, slug.title())).fetchone()[0]
    user = conn.execute("select id from docpal_private.users where lower(email) = %s", (email,)).fetchone()
    user = user[0] if user else conn.execute("select docpal.create_user(%s, 'Bench')", (email,)).fetchone()[0]
    conn.execute("select docpal.add_member(%s, %s, 'owner')", (company, user))
    return company, user


# --- 1. company_metrics over many companies ----------------------------------------------------------

def part_metrics(url: str, n: int) -> None:
    print(f"\n1. company_metrics() over {n} companies")
    t0 = time.perf_counter()
    rows = Jsonb([{"name": f"thing {i}", "qty": i} for i in range(20)])
    for start in range(0, n, 50):
        # a new session every 50 companies: one that has touched thousands of company schemas
        # carries their cached relations and plans, and slows down
        with psycopg.connect(url, autocommit=True) as conn:
            for i in range(start, min(start + 50, n)):
                company, user = owner_of(conn, f"metrics-{i:05d}", "metrics@example.com")
                with conn.transaction():
                    conn.execute("select docpal.set_context(%s, %s, true)", (company, user))
                    conn.execute("select docpal.create_table(%s)", (Jsonb(THINGS),))
                    conn.execute("select docpal.create_records('things', %s)", (rows,))
                if (i + 1) % 100 == 0:
                    print(f"  {i + 1} companies made ({time.perf_counter() - t0:.0f} s)", flush=True)
            conn.execute("select pg_stat_force_next_flush()")
    relations = None
    plain = ("select count(*), sum(pg_total_relation_size(c.oid)) from pg_class c"
             " join pg_namespace s on s.oid = c.relnamespace"
             " join docpal_private.companies x on x.schema_name = s.nspname where c.relkind in ('r', 'm')")
    stat = "select count(*), sum(n_live_tup) from pg_stat_user_tables"
    metrics = "select docpal.company_metrics()"

    def first_and_warm(query: str, rounds: int = 5):
        with psycopg.connect(url, autocommit=True) as conn:
            t0 = time.perf_counter()
            result = conn.execute(query).fetchone()
            first = time.perf_counter() - t0
            warm = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                conn.execute(query).fetchone()
                warm.append(time.perf_counter() - t0)
        return first, statistics.median(warm), result

    time.sleep(1.5)  # statistics of the writes above reach the collector
    m_first, m_warm, (data,) = first_and_warm(metrics)
    p_first, p_warm, (relations, size) = first_and_warm(plain)
    s_first, s_warm, _ = first_and_warm(stat)
    if len(data) != n or any(m["records"] != 20 or m["tables"] != 1 for m in data):
        fail(f"company_metrics: {len(data)} companies, records {sorted({m['records'] for m in data})}")
    if sum(m["bytes"] for m in data) != size:
        fail(f"company_metrics bytes {sum(m['bytes'] for m in data)} != pg_total_relation_size {size}")
    print(f"  docpal.company_metrics():              first call {m_first * 1000:8.1f} ms, then {m_warm * 1000:8.1f} ms")
    print(f"  plain sum(pg_total_relation_size) of {relations} tables:"
          f" first {p_first * 1000:8.1f} ms, then {p_warm * 1000:8.1f} ms")
    print(f"  plain count(*) of pg_stat_user_tables:  first {s_first * 1000:8.1f} ms, then {s_warm * 1000:8.1f} ms")
    print(f"  ratio docpal / pg_total_relation_size:  first {m_first / p_first:.2f}, then {m_warm / p_warm:.2f}")
    summary.append(f"company_metrics() of {n} companies: first call {m_first * 1000:.0f} ms, then {m_warm * 1000:.0f} ms "
                   f"(goal < 1 s); ratio to plain sum(pg_total_relation_size) {m_first / p_first:.2f} / "
                   f"{m_warm / p_warm:.2f}")


# --- 2. export and import -------------------------------------------------------------------------

def fill(conn: psycopg.Connection, slug: str, records: int) -> tuple[str, str]:
    """A company with `records` records across 5 tables, filled by plain INSERT ... SELECT as the
    DBA without docpal's capture (no audit log: what pg_dump and the export carry is the same)."""
    company, user = owner_of(conn, slug, "transfer@example.com")
    schema = conn.execute("select schema_name from docpal_private.companies where id = %s", (company,)).fetchone()[0]
    with conn.transaction():
        conn.execute("select docpal.set_context(%s, %s, true)", (company, user))
        for t in range(1, 6):
            conn.execute("select docpal.create_table(%s)",
                         (Jsonb({"slug": f"t{t}", "name": f"T{t}", "columns": TABLE_COLUMNS}),))
    per = records // 5
    for t in range(1, 6):
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            conn.execute(sql.SQL(
                "insert into {}.{} (title, amount, status, due, done, note)"
                " select 'item ' || g, (g %% 100000) / 100.0, (array['open', 'doing', 'done'])[g %% 3 + 1],"
                " date '2026-01-01' + g %% 365, g %% 2 = 0, case when g %% 10 = 0 then 'note ' || g end"
                " from generate_series(1, %s) g").format(sql.Identifier(schema), sql.Identifier(f"t{t}")), (per,))
    conn.execute(sql.SQL("vacuum analyze {}.t1, {}.t2, {}.t3, {}.t4, {}.t5").format(*[sql.Identifier(schema)] * 5))
    return company, schema


def part_transfer(url: str, records: int) -> None:
    print(f"\n2. export and import of a company with {records:,} records across 5 tables (and {records // 10:,})")
    bindir = embedded.pg_bindir()
    libpq = deploy.libpq_url(url)
    results = {}
    with tempfile.TemporaryDirectory(prefix="docpal-bench-ops-") as tmp, \
            psycopg.connect(url, autocommit=True) as conn:
        for size in (records // 10, records):
            slug = f"transfer-{size}"
            _, schema = fill(conn, slug, size)
            out = Path(tmp) / f"{slug}.jsonl"
            dump = Path(tmp) / f"{slug}.dump"
            e_s, e_rss, _ = run([str(DOCPAL), "tenants", "export", slug, "-o", str(out), "--database-url", url])
            i_s, i_rss, _ = run([str(DOCPAL), "tenants", "import", str(out), "--slug", f"{slug}-copy",
                                 "--database-url", url])
            copied = conn.execute("select schema_name from docpal_private.companies where slug = %s",
                                  (f"{slug}-copy",)).fetchone()[0]
            got = sum(conn.execute(sql.SQL("select count(*) from {}.{}").format(
                sql.Identifier(copied), sql.Identifier(f"t{t}"))).fetchone()[0] for t in range(1, 6))
            if got != size:
                fail(f"import of {slug}: {got} records, expected {size}")
            d_s, d_rss, _ = run([str(bindir / "pg_dump"), "-d", libpq, "-n", schema, "-Fc", "-f", str(dump)])
            scratch = f"{conn.info.dbname}_restore_{size}"
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(scratch)))
            scratch_url = benchdb.with_dbname(url, scratch)
            try:
                deploy.migrate(scratch_url)
                r_s, r_rss, _ = run([str(bindir / "pg_restore"), "-d", scratch_url, str(dump)])
            finally:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(scratch)))
            results[size] = (e_s, e_rss, i_s, i_rss, d_s, d_rss, r_s, out.stat().st_size, dump.stat().st_size)
            print(f"  {size:>9,} records: export {e_s:7.2f} s (peak RSS {e_rss} MB, {out.stat().st_size / 2**20:.0f} MB)"
                  f"   pg_dump -Fc {d_s:7.2f} s ({dump.stat().st_size / 2**20:.0f} MB)   ratio {e_s / d_s:.2f}")
            print(f"  {'':>9}          import {i_s:7.2f} s (peak RSS {i_rss} MB)"
                  f"   pg_restore  {r_s:7.2f} s                ratio {i_s / r_s:.2f}", flush=True)
            for path in (out, dump):
                path.unlink()
    (e_s, e_rss, i_s, i_rss, d_s, _, r_s, _, _) = results[records]
    small = results[records // 10]
    print(f"  CLI peak RSS at {records // 10:,} / {records:,} records: export {small[1]} / {e_rss} MB,"
          f" import {small[3]} / {i_rss} MB")
    summary.append(f"export of {records:,} records: {e_s:.1f} s, {e_s / d_s:.2f}x pg_dump -n -Fc (goal <= 2x); "
                   f"import {i_s:.1f} s, {i_s / r_s:.2f}x pg_restore (goal <= 2x); peak RSS export "
                   f"{small[1]} -> {e_rss} MB, import {small[3]} -> {i_rss} MB from {records // 10:,} to {records:,}")


# --- 3. apply_blueprint ------------------------------------------------------------------------------

def part_blueprint(url: str) -> None:
    print("\n3. apply_blueprint(<the shipped mes blueprint>) on a new company")
    path = Path(__file__).resolve().parent.parent / "generator" / "blueprints" / "mes.json"
    with psycopg.connect(url, autocommit=True) as conn:
        blueprint = Jsonb(json.loads(path.read_text()))
        times = []
        for i in range(3):
            company, user = owner_of(conn, f"mes-{i}", "mes@example.com")
            with conn.transaction():
                conn.execute("select docpal.set_context(%s, %s, true)", (company, user))
                t0 = time.perf_counter()
                result = conn.execute("select docpal.apply_blueprint(%s)", (blueprint,)).fetchone()[0]
                times.append(time.perf_counter() - t0)
        made = {k: len(v) if isinstance(v, (list, dict)) else v for k, v in (result.get("created") or {}).items()}
        print(f"  created: {json.dumps(made)}")
        print(f"  apply_blueprint: {', '.join(f'{t * 1000:.0f}' for t in times)} ms; median "
              f"{statistics.median(times) * 1000:.0f} ms")
    summary.append(f"apply_blueprint(mes): median {statistics.median(times) * 1000:.0f} ms of 3 (goal < 500 ms)")


# --- 4. adopt_table -----------------------------------------------------------------------------------

def part_adopt(url: str, rows: int) -> None:
    print(f"\n4. adopt_table of a plain table of {rows:,} rows")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""
            create schema legacy;
            create table legacy.items (
                id      serial primary key,
                code    varchar(50) not null unique,
                name    text not null,
                qty     integer,
                price   numeric(10,2),
                status  text check (status in ('new', 'open', 'done')),
                created timestamp,
                tags    text[],
                meta    jsonb)""")
        conn.execute("""
            insert into legacy.items (code, name, qty, price, status, created, tags, meta)
            select 'C-' || g, 'item ' || g, g %% 1000, (g %% 100000) / 100.0, (array['new', 'open', 'done'])[g %% 3 + 1],
                   timestamp '2020-01-01' + g * interval '1 minute', array['t' || g %% 7, 't' || g %% 11],
                   jsonb_build_object('n', g, 'even', g %% 2 = 0)
              from generate_series(1, %s) g""", (rows,))
        conn.execute("vacuum analyze legacy.items")
        conn.execute("grant usage on schema legacy to docpal_owner; grant select on legacy.items to docpal_owner")
        company, user = owner_of(conn, "adopter", "adopt@example.com")
        schema = conn.execute("select schema_name from docpal_private.companies where id = %s", (company,)).fetchone()[0]
        with conn.transaction():
            conn.execute("select docpal.set_context(%s, %s, true)", (company, user))
            t0 = time.perf_counter()
            result = conn.execute("select docpal.adopt_table('legacy.items'::regclass, 'items')").fetchone()[0]
            t_adopt = time.perf_counter() - t0
        if result.get("rows") != rows:
            fail(f"adopt_table made {result.get('rows')} records, expected {rows}")
        # the plain twin: the adopted table's columns, defaults, constraints and indexes
        conn.execute(sql.SQL("create table public.adopt_twin (like {}.items including all)").format(sql.Identifier(schema)))
        types = dict(conn.execute("select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a"
                                  " where a.attrelid = 'public.adopt_twin'::regclass and a.attnum > 0"
                                  " and not a.attisdropped").fetchall())
        targets, values = [], []
        for m in result["mapping"]:
            if m.get("column") is None:
                continue
            source = sql.SQL("s.{}").format(sql.Identifier(m["source_column"]))
            if m.get("source_type", "").startswith("timestamp without"):
                source = sql.SQL("({} at time zone 'UTC')").format(source)
            targets.append(sql.Identifier(m["column"]))
            values.append(sql.SQL("{}::{}").format(source, sql.SQL(types[m["column"]])))
        insert = sql.SQL("insert into public.adopt_twin ({}) select {} from legacy.items s").format(
            sql.SQL(", ").join(targets), sql.SQL(", ").join(values))
        t0 = time.perf_counter()
        conn.execute(insert)
        t_plain = time.perf_counter() - t0
        mapping = ", ".join(f"{m['source_column']}->{m.get('column')}:{m.get('type')}" for m in result["mapping"])
        print(f"  mapping: {mapping}")
        print(f"  docpal.adopt_table:   {t_adopt:8.2f} s ({rows / t_adopt:,.0f} rows/s)")
        print(f"  plain INSERT ... SELECT into the twin: {t_plain:8.2f} s")
        print(f"  ratio docpal / plain: {t_adopt / t_plain:.2f}")
    summary.append(f"adopt_table of {rows:,} rows: {t_adopt:.1f} s, {t_adopt / t_plain:.2f}x INSERT ... SELECT "
                   f"(goal <= 2x)")


def bench(url: str, sizes: dict) -> int:
    deploy.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        print(f"server: {conn.execute('select version()').fetchone()[0]}")
    for part in (lambda: part_metrics(url, sizes["companies"]), lambda: part_transfer(url, sizes["records"]),
                 lambda: part_blueprint(url), lambda: part_adopt(url, sizes["adopt_rows"])):
        try:
            part()
        except (psycopg.Error, RuntimeError) as exc:
            fail(f"{type(exc).__name__}: {str(exc).strip()[:500]}")
    print("\n" + "=" * 72)
    for line in summary:
        print(line)
    print(f"wrong results: {len(failures)}")
    print("=" * 72)
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true",
                        help=f"the quick CI run ({TINY['companies']} companies, {TINY['records']:,} records, "
                             f"{TINY['adopt_rows']:,} rows)")
    parser.add_argument("--companies", type=int, help=f"companies for part 1 (default {FULL['companies']})")
    parser.add_argument("--records", type=int, help=f"records for part 2 (default {FULL['records']:,})")
    parser.add_argument("--adopt-rows", type=int, help=f"rows for part 4 (default {FULL['adopt_rows']:,})")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    sizes = dict(TINY if args.tiny else FULL)
    for key in ("companies", "records", "adopt_rows"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    with benchdb.fresh_database(args.database_url) as url:
        return bench(url, sizes)


if __name__ == "__main__":
    sys.exit(main())
