"""Benchmark of docpal's record writes and online schema changes.

What is measured, on a fresh database, in one company with one docpal table
``bench`` (text required max_length 200, decimal(12,2) min 0, integer min 0,
select, multi_select, boolean, text unique) and a hand-written plain table
``plain.bench`` with the same columns, defaults and NOT NULL / CHECK / UNIQUE
constraints (the fair "hand-written SQL" comparison):

a. N single ``docpal.create_record('bench', data)`` calls, one autocommit
   statement each, against N parameterised plain ``INSERT ... VALUES``
   statements with the same data (both prepared by psycopg after 5 uses).
   The two loops are interleaved row by row.
b. ``docpal.create_records('bench', rows)`` with the N rows in one call,
   against one plain ``INSERT ... SELECT ... FROM unnest(<typed arrays>)``.

   (a) and (b) run alternately: one warm-up round, then 3 measured rounds,
   of which the median is reported; both tables are truncated before each
   part. The "speed ratio" is plain time / docpal time, i.e. docpal's speed
   as a fraction of plain SQL's.
c. The docpal table filled to M rows by one plain ``INSERT ... SELECT ...
   FROM generate_series`` (then VACUUM ANALYZE), and three schema changes
   timed on it: ``alter_column`` of name's label and default (catalog +
   SET DEFAULT: no rewrite, no scan), ``alter_column`` of qty's max (CHECK
   NOT VALID + VALIDATE: one scan, no rewrite) and ``add_column`` of a text
   column with a constant default (instant). ``pg_relation_filenode`` of the
   table is compared before and after each one to tell whether it rewrote
   the table.

d. First call on a fresh connection (``--fresh`` rounds, run first, before
   (a)-(c)), with ``--fresh-companies`` companies in the database (default
   500; one of them has the table ``items`` of ``benchdb.SPEC`` with 2,000
   records). Each round opens a new connection per case, the cases
   interleaved (their order rotates), and times from the first statement:
   (1) plain first query: a 20-row page of the company's table by its
   indexed ``status``, hand-written; (2) ``set_context`` + the first
   ``query_table`` of the same page; (3) ``set_context`` + the first
   ``create_record``; (4) for reference, a plain first ``INSERT``. Medians,
   and (2), (3) minus (1); with a server on this machine also the backend's
   CPU time for the same statements (/proc/<pid>/schedstat), which the
   machine's load does not change. Five more fresh connections of (2) and of
   (3) then report the functions with the most self time (``track_functions``).
   The throw-away cluster preloads PL/pgSQL (``--preload``, default
   'plpgsql': shared_preload_libraries, as docs/operations.md recommends;
   ``--preload ''`` measures without); the setting is printed.

Goals (reported, not enforced): speed ratio >= 0.35 for (a), >= 0.5 for (b),
the no-rewrite alter_column < 100 ms on M rows, and (d) (2) and (3) at most
(1) + 3 ms.

Run:  .venv/bin/python bench/bench_records.py [--rows N] [--big-rows M] [--fresh R]
      [--fresh-companies C] [--fresh-only] [--preload LIBS] [--database-url URL]

Without a URL (argument or $DATABASE_URL) it starts a throw-away PostgreSQL
cluster (docpal.embedded, durable settings) and removes it afterwards; with a
URL it creates a database docpal_bench_<hex> on that server and drops it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from decimal import Decimal
from statistics import median

import psycopg
from psycopg import sql

import benchdb
from docpal import deploy

SPEC = {"slug": "bench", "name": "Bench", "columns": [
    {"name": "name", "type": "text", "required": True, "max_length": 200},
    {"name": "price", "type": "decimal", "precision": 12, "scale": 2, "min": 0},
    {"name": "qty", "type": "integer", "min": 0},
    {"name": "status", "type": "select", "options": ["draft", "active"]},
    {"name": "tags", "type": "multi_select", "options": ["new", "sale"]},
    {"name": "active", "type": "boolean"},
    {"name": "sku", "type": "text", "unique": True}]}

# The same table written by hand: system columns first, as docpal lays them out.
PLAIN_DDL = """\
create schema plain;
create table plain.bench (
    id uuid primary key default gen_random_uuid(),
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    created_by uuid,
    updated_by uuid,
    name text not null check (char_length(name) <= 200),
    price numeric(12,2) check (price >= 0),
    qty integer check (qty >= 0),
    status text check (status = any ('{draft,active}'::text[])),
    tags text[] check (tags <@ '{new,sale}'::text[]),
    active boolean,
    sku text unique
)"""

COLUMNS = ("name", "price", "qty", "status", "tags", "active", "sku")
PLAIN_INSERT = (f"insert into plain.bench ({', '.join(COLUMNS)}, created_by, updated_by)"
                f" values ({', '.join(['%s'] * (len(COLUMNS) + 2))})")
PLAIN_BULK = (f"insert into plain.bench ({', '.join(COLUMNS)}, created_by, updated_by)"
              " select u.name, u.price, u.qty, u.status, u.tags::text[], u.active, u.sku, %s, %s"
              " from unnest(%s::text[], %s::numeric[], %s::integer[], %s::text[], %s::text[],"
              " %s::boolean[], %s::text[]) as u(name, price, qty, status, tags, active, sku)")
# The same rows, handed back to the client as stored: what create_records does too.
PLAIN_BULK_RETURNING = PLAIN_BULK + " returning *"
TAGS = ([], ["new"], ["sale"], ["new", "sale"])
ROUNDS = 3


def make_rows(n: int) -> list[tuple]:
    """N rows of realistic, valid data: (name, price, qty, status, tags, active, sku)."""
    return [(f"Product {i} {'x' * (i % 40)}", Decimal(f"{i % 100000 // 100}.{i % 100:02d}"), i % 1000,
             ("draft", "active")[i % 2], list(TAGS[i % 4]), i % 3 != 0, f"SKU-{i:08d}")
            for i in range(n)]


def as_json(row: tuple) -> dict:
    return {c: (float(v) if isinstance(v, Decimal) else v) for c, v in zip(COLUMNS, row)}


def array_literal(items: list[str]) -> str:
    return "{" + ",".join(items) + "}"  # option values need no quoting


FRESH_ROWS = 2000
FRESH_PAGE = {"filters": {"status": "open"}, "sort": ["id"], "limit": 20}


def backend_schedstat(conn: psycopg.Connection) -> str | None:
    """/proc/<pid>/schedstat of the connection's backend when the server runs on
    this machine (the process is a postgres one), else None."""
    stat = f"/proc/{conn.info.backend_pid}/schedstat"
    if not (conn.info.host in ("localhost", "127.0.0.1", "::1") or conn.info.host.startswith("/")):
        return None
    try:
        with open(f"/proc/{conn.info.backend_pid}/cmdline", "rb") as f:
            if b"postgres" not in f.read():
                return None
        return stat if os.path.exists(stat) else None
    except OSError:
        return None


def backend_cpu(stat: str | None) -> int | None:
    """The backend's CPU time so far in ns (first field of schedstat), or None."""
    if stat is None:
        return None
    try:
        with open(stat) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def fresh_connections(url: str, rounds: int, companies: int) -> tuple[dict[str, float], dict[str, float] | None]:
    """Part (d): the first statements of fresh connections; medians in ms by case,
    wall clock and (a local server only, else None) backend CPU time."""
    with psycopg.connect(url, autocommit=True) as conn:
        user = conn.execute("select docpal.create_user('fresh@example.com', 'Fresh')").fetchone()[0]
        t0 = time.perf_counter()
        for i in range(companies):
            company = conn.execute("select docpal.create_company(%s, %s)", (f"fresh-{i}", f"Fresh {i}")).fetchone()[0]
            conn.execute("select docpal.add_member(%s, %s, 'owner')", (company, user))
        print(f"(d) {companies} companies made in {time.perf_counter() - t0:.1f} s", flush=True)
        conn.execute("select docpal.set_context(%s, %s, false)", (company, user))  # the last one
        conn.execute("select docpal.create_table(%s::jsonb)", (json.dumps(benchdb.SPEC),))
        conn.execute("select docpal.create_records(%s, %s::jsonb)", (benchdb.SLUG, json.dumps(
            [{"title": f"Item {i}", "amount": i % 1000, "status": benchdb.STATUSES[i % 3]}
             for i in range(FRESH_ROWS)])))
        schema = conn.execute("select schema_name from docpal_private.companies where id = %s",
                              (company,)).fetchone()[0]
        conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier(schema, benchdb.SLUG)))
        conn.execute("checkpoint")
        preload = conn.execute("show shared_preload_libraries").fetchone()[0]
    table = sql.Identifier(schema, benchdb.SLUG)
    page = json.dumps(FRESH_PAGE)
    plain_query = sql.SQL("select coalesce(jsonb_agg(to_jsonb(p) order by p.id), '[]') from"
                          " (select * from {} t where t.status = 'open' order by t.id limit 20) p").format(table)
    plain_insert = sql.SQL("insert into {} (title, status, created_by, updated_by) values (%s, 'open', %s, %s)"
                           " returning *").format(table)
    record = json.dumps({"title": "fresh", "status": "open"})

    def plain_first(conn: psycopg.Connection) -> None:
        conn.execute(plain_query).fetchone()

    def query_first(conn: psycopg.Connection) -> None:
        conn.execute("select docpal.set_context(%s, %s, false)", (company, user))
        assert len(conn.execute("select docpal.query_table(%s, %s::jsonb)",
                                (benchdb.SLUG, page)).fetchone()[0]["rows"]) == 20

    def write_first(conn: psycopg.Connection) -> None:
        conn.execute("select docpal.set_context(%s, %s, false)", (company, user))
        conn.execute("select docpal.create_record(%s, %s::jsonb)", (benchdb.SLUG, record)).fetchone()

    def plain_insert_first(conn: psycopg.Connection) -> None:
        conn.execute(plain_insert, ("fresh", user, user)).fetchone()

    cases = [("(1) plain first query", plain_first), ("(2) set_context + first query_table", query_first),
             ("(3) set_context + first create_record", write_first),
             ("(4) plain first INSERT (reference)", plain_insert_first)]
    times: dict[str, list[float]] = {label: [] for label, _ in cases}
    cpu: dict[str, list[float]] = {label: [] for label, _ in cases}
    for r in range(rounds + 1):  # round 0 warms the server's caches and is not counted
        for k in range(len(cases)):
            label, case = cases[(r + k) % len(cases)]
            with psycopg.connect(url, autocommit=True) as conn:
                stat = backend_schedstat(conn)
                c0 = backend_cpu(stat)
                t0 = time.perf_counter()
                case(conn)
                t1 = time.perf_counter()
                c1 = backend_cpu(stat)
                if r:
                    times[label].append((t1 - t0) * 1e3)
                    if c0 is not None and c1 is not None:
                        cpu[label].append((c1 - c0) / 1e6)
    medians = {label: median(t) for label, t in times.items()}
    base = medians[cases[0][0]]
    print(f"(d) first statements on a fresh connection, {rounds} rounds, {companies} companies,"
          f" shared_preload_libraries = '{preload}':")
    for label, _ in cases:
        extra = "" if label == cases[0][0] else f"   (1) + {medians[label] - base:6.2f} ms"
        if label == cases[2][0]:
            extra += f", (4) + {medians[label] - medians[cases[3][0]]:6.2f} ms"
        print(f"  {label:40s} median {medians[label]:7.2f} ms{extra}")
    cpu_medians = None
    if all(cpu.values()):
        # the server's own CPU time for the statements (/proc/<pid>/schedstat of the
        # backend, a local server only): what the machine's load does not change
        cpu_medians = {label: median(t) for label, t in cpu.items()}
        cpu_base = cpu_medians[cases[0][0]]
        print("  backend CPU time of the same statements (median):")
        for label, _ in cases:
            extra = "" if label == cases[0][0] else f"   (1) + {cpu_medians[label] - cpu_base:6.2f} ms"
            print(f"  {label:40s} CPU    {cpu_medians[label]:7.2f} ms{extra}")
    profiles = min(rounds, 5)
    for label, case in cases[1:3]:
        functions: dict[str, list[tuple[int, float, float]]] = {}
        for _ in range(profiles):
            with psycopg.connect(url, autocommit=True, options="-c track_functions=all") as conn:
                conn.execute("begin")
                case(conn)
                for name, calls, self_ms, total_ms in conn.execute(
                        "select schemaname || '.' || funcname, calls, self_time, total_time"
                        "  from pg_stat_xact_user_functions").fetchall():
                    functions.setdefault(re.sub("^company_[0-9a-f]{32}", "<company>", name), []).append(
                        (calls, self_ms, total_ms))
                conn.execute("rollback")
        top = sorted(((median(x[1] for x in v), median(x[2] for x in v), v[0][0], name)
                      for name, v in functions.items()), reverse=True)
        print(f"  {label}: {len(top)} functions, self time {sum(t[0] for t in top):.1f} ms"
              f" (medians of {profiles} connections); the most:")
        for self_ms, total_ms, calls, name in top[:10]:
            print(f"    {self_ms:6.2f} ms self {total_ms:6.2f} ms total {calls:3d} x {name}")
    return medians, cpu_medians


def bench(url: str, n: int, m: int, fresh: int = 0, fresh_companies: int = 0, fresh_only: bool = False) -> int:
    deploy.migrate(url)
    fresh_medians = fresh_connections(url, fresh, fresh_companies) if fresh else None
    if fresh_only:
        print_fresh(fresh_medians)
        return 0
    with psycopg.connect(url, autocommit=True) as conn:
        company, user = benchdb.company_in_context(conn)
        conn.execute("select docpal.create_table(%s::jsonb)", (json.dumps(SPEC),))
        schema = conn.execute("select schema_name from docpal_private.companies where id = %s",
                              (company,)).fetchone()[0]
        conn.execute(PLAIN_DDL)
        table = sql.Identifier(schema, "bench")
        sync = conn.execute("show synchronous_commit").fetchone()[0]
        print(f"company schema: {schema}; synchronous_commit = {sync}")

        rows = make_rows(n)
        single_json = [json.dumps(as_json(r)) for r in rows]
        bulk_json = json.dumps([as_json(r) for r in rows])
        columns = list(zip(*rows))
        bulk_params = (user, user, list(columns[0]), list(columns[1]), list(columns[2]), list(columns[3]),
                       [array_literal(t) for t in columns[4]], list(columns[5]), list(columns[6]))

        def truncate() -> None:
            conn.execute(sql.SQL("truncate {}, plain.bench").format(table))

        def part_a() -> tuple[float, float]:
            truncate()
            t_docpal = t_plain = 0.0
            for i in range(n):
                t0 = time.perf_counter()
                conn.execute("select docpal.create_record('bench', %s::jsonb)", (single_json[i],)).fetchone()
                t1 = time.perf_counter()
                conn.execute(PLAIN_INSERT, (*rows[i], user, user))
                t2 = time.perf_counter()
                t_docpal += t1 - t0
                t_plain += t2 - t1
            return t_docpal, t_plain

        def part_b() -> tuple[float, float, float]:
            truncate()
            t0 = time.perf_counter()
            result = conn.execute("select docpal.create_records('bench', %s::jsonb)", (bulk_json,)).fetchone()[0]
            t1 = time.perf_counter()
            conn.execute(PLAIN_BULK, bulk_params)
            t2 = time.perf_counter()
            assert len(result) == n
            conn.execute("truncate plain.bench")
            t3 = time.perf_counter()
            returned = conn.execute(PLAIN_BULK_RETURNING, bulk_params).fetchall()
            t4 = time.perf_counter()
            assert len(returned) == n
            return t1 - t0, t2 - t1, t4 - t3

        a_rounds: list[tuple[float, float]] = []
        b_rounds: list[tuple[float, float, float]] = []
        for r in range(ROUNDS + 1):
            label = "warm-up" if r == 0 else f"round {r}/{ROUNDS}"
            a = part_a()
            b = part_b()
            counts = conn.execute(sql.SQL("select (select count(*) from {}), (select count(*) from plain.bench)")
                                  .format(table)).fetchone()
            if counts != (n, n):
                raise RuntimeError(f"expected {n} rows in each table, found {counts}")
            print(f"  {label:12s} (a) docpal {a[0] * 1e6 / n:7.1f} µs/row, plain {a[1] * 1e6 / n:7.1f} µs/row;"
                  f"  (b) docpal {b[0] * 1e3:8.1f} ms, plain {b[1] * 1e3:8.1f} ms", flush=True)
            if r:
                a_rounds.append(a)
                b_rounds.append(b)

        a_docpal, a_plain = median([x[0] for x in a_rounds]), median([x[1] for x in a_rounds])
        b_docpal, b_plain = median([x[0] for x in b_rounds]), median([x[1] for x in b_rounds])
        a_ratio = median([p / d for d, p in a_rounds])
        b_ratio = median([p / d for d, p, _ in b_rounds])
        b_returning = median([x[2] for x in b_rounds])
        b_ratio_returning = median([r / d for d, _, r in b_rounds])
        print(f"(a) {n} single inserts, median of {ROUNDS}:")
        print(f"  docpal.create_record:  {a_docpal * 1e6 / n:8.1f} µs per row ({a_docpal:.2f} s)")
        print(f"  plain INSERT:          {a_plain * 1e6 / n:8.1f} µs per row ({a_plain:.2f} s)")
        print(f"  speed ratio:           {a_ratio:8.2f}  (plain time / docpal time, median of the rounds)")
        print(f"(b) {n} rows in one statement, median of {ROUNDS}:")
        print(f"  docpal.create_records: {b_docpal * 1e3:8.1f} ms ({b_docpal * 1e6 / n:.1f} µs per row)")
        print(f"  plain INSERT unnest:   {b_plain * 1e3:8.1f} ms ({b_plain * 1e6 / n:.1f} µs per row)")
        print(f"  speed ratio:           {b_ratio:8.2f}")
        print(f"  plain INSERT unnest RETURNING * (rows back to the client, as create_records):"
              f" {b_returning * 1e3:.1f} ms; speed ratio {b_ratio_returning:.2f}")

        print(f"(c) filling {schema}.bench to {m} rows ...", flush=True)
        truncate()
        t0 = time.perf_counter()
        conn.execute(sql.SQL("""
            insert into {} (name, price, qty, status, tags, active, sku, created_by, updated_by)
            select 'Product ' || g, (g %% 100000) / 100.0, g %% 1000, (array['draft', 'active'])[g %% 2 + 1],
                   (array['{{}}', '{{new}}', '{{sale}}', '{{new,sale}}'])[g %% 4 + 1]::text[], g %% 3 <> 0,
                   'SKU-' || g, %s, %s
              from generate_series(1, %s) g""").format(table), (user, user, m))
        t_fill = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute(sql.SQL("vacuum (analyze) {}").format(table))
        t_vacuum = time.perf_counter() - t0
        size = conn.execute("select pg_size_pretty(pg_total_relation_size(%s::regclass))",
                            (f"{schema}.bench",)).fetchone()[0]
        print(f"  insert {t_fill:.2f} s, vacuum analyze {t_vacuum:.2f} s, total size {size}")

        def filenode() -> int:
            return conn.execute("select pg_relation_filenode(%s::regclass)", (f"{schema}.bench",)).fetchone()[0]

        ddl = [("alter_column name label+default", "select docpal.alter_column('bench', 'name', %s::jsonb)",
                {"label": "Product name", "default": "unnamed"}),
               ("alter_column qty max (validate)", "select docpal.alter_column('bench', 'qty', %s::jsonb)",
                {"max": 1000000}),
               ("add_column note default 'x'", "select docpal.add_column('bench', %s::jsonb)",
                {"name": "note", "type": "text", "default": "x"})]
        timings: list[tuple[str, float, bool]] = []
        for label, statement, arg in ddl:
            before = filenode()
            t0 = time.perf_counter()
            conn.execute(statement, (json.dumps(arg),)).fetchone()
            elapsed = time.perf_counter() - t0
            rewrite = filenode() != before
            timings.append((label, elapsed, rewrite))
            print(f"  {label:34s} {elapsed * 1e3:9.1f} ms   rewrite: {'yes' if rewrite else 'no'}")
        rows_now = conn.execute(sql.SQL("select count(*) from {} where note = 'x'").format(table)).fetchone()[0]
        if rows_now != m:
            raise RuntimeError(f"expected {m} rows with note = 'x', found {rows_now}")

    (c_label, c_ms, c_rw), (q_label, q_ms, q_rw), (n_label, n_ms, n_rw) = [(lb, t * 1e3, rw) for lb, t, rw in timings]
    yn = {True: "yes", False: "no"}
    print("\n" + "=" * 72)
    print(f"(a) create_record x {n}: {a_docpal * 1e6 / n:.1f} µs/row vs plain {a_plain * 1e6 / n:.1f} µs/row;"
          f" speed ratio {a_ratio:.2f} (goal >= 0.35)")
    print(f"(b) create_records of {n}: {b_docpal * 1e3:.1f} ms vs plain {b_plain * 1e3:.1f} ms;"
          f" speed ratio {b_ratio:.2f} (goal >= 0.5);"
          f" against INSERT ... RETURNING * {b_returning * 1e3:.1f} ms: {b_ratio_returning:.2f}")
    print(f"(c) {c_label} on {m} rows: {c_ms:.1f} ms (goal < 100 ms), rewrite: {yn[c_rw]}")
    print(f"    {q_label}: {q_ms:.1f} ms, rewrite: {yn[q_rw]}")
    print(f"    {n_label}: {n_ms:.1f} ms, rewrite: {yn[n_rw]}")
    print_fresh(fresh_medians, rule=False)
    print("=" * 72)
    return 0


def print_fresh(fresh: tuple[dict[str, float], dict[str, float] | None] | None, rule: bool = True) -> None:
    """The summary lines of part (d)."""
    if not fresh:
        return
    if rule:
        print("\n" + "=" * 72)
    for what, medians in zip(("", "backend CPU: "), fresh):
        if not medians:
            continue
        plain, query, write, insert = medians.values()
        print(f"(d) fresh connection, {what}plain first query {plain:.2f} ms; set_context + first query_table"
              f" {query:.2f} ms = (1) + {query - plain:.2f} ms; set_context + first create_record {write:.2f} ms"
              f" = (1) + {write - plain:.2f} ms = plain first INSERT {insert:.2f} ms + {write - insert:.2f} ms"
              f" (goal: each at most + 3 ms)")
    if rule:
        print("=" * 72)



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10000, help="rows for parts (a) and (b) (default 10000)")
    parser.add_argument("--big-rows", type=int, default=1000000,
                        help="rows in the table for the schema changes of part (c) (default 1000000)")
    parser.add_argument("--fresh", type=int, default=30,
                        help="rounds of fresh connections for part (d) (default 30; 0 skips it)")
    parser.add_argument("--fresh-companies", type=int, default=500,
                        help="companies in the database for part (d) (default 500)")
    parser.add_argument("--fresh-only", action="store_true", help="run part (d) only")
    parser.add_argument("--preload", default="plpgsql",
                        help="shared_preload_libraries of the throw-away cluster (default 'plpgsql', as"
                             " docs/operations.md recommends; '' for none; a --database-url server keeps its own)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with benchdb.fresh_database(args.database_url, preload=args.preload) as url:
        status = bench(url, args.rows, args.big_rows, args.fresh, args.fresh_companies, args.fresh_only)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return status

if __name__ == "__main__":
    sys.exit(main())
