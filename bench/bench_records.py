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

Goals (reported, not enforced): speed ratio >= 0.35 for (a), >= 0.5 for (b),
and the no-rewrite alter_column < 100 ms on M rows.

Run:  .venv/bin/python bench/bench_records.py [--rows N] [--big-rows M] [--database-url URL]

Without a URL (argument or $DATABASE_URL) it starts a throw-away PostgreSQL
cluster (docpal.embedded, durable settings) and removes it afterwards; with a
URL it creates a database docpal_bench_<hex> on that server and drops it.
"""

from __future__ import annotations

import argparse
import json
import os
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


def bench(url: str, n: int, m: int) -> int:
    deploy.migrate(url)
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
    print("=" * 72)
    return 0



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10000, help="rows for parts (a) and (b) (default 10000)")
    parser.add_argument("--big-rows", type=int, default=1000000,
                        help="rows in the table for the schema changes of part (c) (default 1000000)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    with benchdb.fresh_database(args.database_url) as url:
        return bench(url, args.rows, args.big_rows)

if __name__ == "__main__":
    sys.exit(main())
