"""Benchmark of docpal's audit log: the cost of the audit triggers on plain SQL
writes, and the speed of sealing and verifying the hash chain.

What is measured, on a fresh database, in one company with one docpal table
``items`` (text required max_length 200 searchable, decimal(12,2) min 0,
select indexed, date, boolean, text not searchable) and a plain copy of it,
``plain.items``, made with ``CREATE TABLE ... (LIKE <company>.items INCLUDING
ALL)``: the same columns, types, defaults, NOT NULL / CHECK constraints and
indexes, read from the catalog, but none of docpal's triggers (no version
bump, no audit). Both tables get the same N rows (one plain ``INSERT ...
SELECT ... FROM generate_series`` into the docpal table, copied with its ids
into the plain one; then VACUUM ANALYZE).

1. S single-row ``UPDATE ... SET amount = $1 WHERE id = $2`` (autocommit, one
   statement each, prepared) on random ids, the same ids and values for both
   tables, interleaved statement by statement; the docpal table writes one
   audit entry per statement (checked).
2. S single-row ``INSERT ... VALUES`` the same way (the inserted rows are
   deleted again after each round, untimed).
3. One ``UPDATE ... SET amount = amount + 1`` of all N rows, both tables,
   alternating which goes first (then VACUUM of both, untimed). An
   ``EXPLAIN (ANALYZE)`` of the docpal one (rolled back) shows the time spent
   in each trigger.

   1-3 run as one warm-up round and 3 measured rounds; the medians are
   reported, as µs per statement (ms for 3) and a "speed ratio" = plain time /
   docpal time, i.e. docpal's speed as a fraction of plain SQL's.
4. The audit log filled up to E entries (bulk UPDATEs of the docpal table),
   ``docpal.seal_audit_chain()`` once (seconds, entries/s), then
   ``docpal.verify_audit_chain()`` (seconds, entries/s; checked: ok and
   checked = the number of entries in the log).

Goals (reported, not enforced): speed ratio >= 0.5 for 1 and 2, >= 0.4 for 3.

Run:  .venv/bin/python bench/bench_audit.py [--rows N] [--statements S]
          [--chain-entries E] [--tiny] [--database-url URL]

Without a URL (argument or $DATABASE_URL) it starts a throw-away PostgreSQL
cluster (docpal.embedded, durable settings) and removes it afterwards; with a
URL it creates a database docpal_bench_<hex> on that server and drops it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import sys
import time
from decimal import Decimal
from statistics import median

import psycopg
from psycopg import sql

import benchdb
from docpal import deploy

from benchdb import COLUMNS, SLUG, SPEC, STATUSES  # the items table both benchmarks write

ROUNDS = 3
TINY = {"rows": 1000, "statements": 100, "chain_entries": 10000}


def insert_values(rng: random.Random, k: int) -> tuple:
    """One row's values for a single-row INSERT (title marks it for removal)."""
    return (f"new {k} {'y' * (k % 30)}", Decimal(rng.randrange(0, 10_000_000)) / 100, STATUSES[k % 3],
            datetime.date(2026, 1, 1) + datetime.timedelta(days=k % 365), k % 2 == 0, f"inserted row {k}")


def table_shape(conn: psycopg.Connection, regclass: str) -> dict[str, list[tuple[str, str]]]:
    """Columns, constraints, indexes and triggers of a table, from the catalog:
    per kind a list of (the definition as stored, the same with the table's
    schema and names taken out, so that two tables compare)."""
    schema, name = regclass.split(".")

    def same(text: str) -> str:
        return text.replace(f"{schema}.{name}", "<table>")

    columns = [(c := f"{r[0]} {r[1]}{' not null' if r[2] else ''}{' default ' + r[3] if r[3] else ''}", c)
               for r in conn.execute(
                   """select a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                             pg_get_expr(d.adbin, d.adrelid)
                        from pg_attribute a left join pg_attrdef d on (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
                       where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
                       order by a.attnum""", (regclass,))]
    constraints = sorted(((f"{r[0]}: {r[1]}", r[1]) for r in conn.execute(
        "select conname, pg_get_constraintdef(oid) from pg_constraint where conrelid = %s::regclass",
        (regclass,))), key=lambda x: x[1])
    indexes = sorted(((r[0], ("unique " if r[0].startswith("CREATE UNIQUE") else "") + r[0].split(" USING ", 1)[1])
                      for r in conn.execute("select pg_get_indexdef(indexrelid) from pg_index"
                                            " where indrelid = %s::regclass", (regclass,))), key=lambda x: x[1])
    triggers = sorted((r[0], same(r[0])) for r in conn.execute(
        "select pg_get_triggerdef(oid) from pg_trigger where tgrelid = %s::regclass and not tgisinternal",
        (regclass,)))
    return {"column": columns, "constraint": constraints, "index": indexes, "trigger": triggers}


def bench(url: str, n: int, s: int, e: int) -> int:
    deploy.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        company, user = benchdb.company_in_context(conn)
        conn.execute("select docpal.create_table(%s::jsonb)", (json.dumps(SPEC),))
        schema = conn.execute("select schema_name from docpal_private.companies where id = %s",
                              (company,)).fetchone()[0]
        table = sql.Identifier(schema, SLUG)
        plain = sql.Identifier("plain", SLUG)
        audit_log = sql.Identifier(schema, "_audit_log")
        conn.execute(sql.SQL("create schema plain; create table {} (like {} including all)").format(plain, table))
        for (trigger,) in conn.execute("select tgname from pg_trigger where tgrelid = 'plain.items'::regclass"
                                       " and not tgisinternal").fetchall():
            conn.execute(sql.SQL("drop trigger {} on {}").format(sql.Identifier(trigger), plain))
        sync = conn.execute("show synchronous_commit").fetchone()[0]
        fsync = conn.execute("show fsync").fetchone()[0]
        print(f"company schema: {schema}; fsync = {fsync}, synchronous_commit = {sync}")

        shape, plain_shape = table_shape(conn, f"{schema}.{SLUG}"), table_shape(conn, f"plain.{SLUG}")
        print(f"docpal table {schema}.{SLUG}, from the catalog:")
        for kind, items in shape.items():
            for shown, _ in items:
                print(f"  {kind:10s} {shown}")
        for kind in ("column", "constraint", "index"):
            if [c for _, c in shape[kind]] != [c for _, c in plain_shape[kind]]:
                raise RuntimeError(f"plain.{SLUG} differs in a {kind}: {plain_shape[kind]} vs {shape[kind]}")
        if plain_shape["trigger"]:
            raise RuntimeError(f"plain.{SLUG} has triggers: {plain_shape['trigger']}")
        print(f"plain.{SLUG}: the same columns, constraints and indexes; no triggers")
        if not any("_docpal_audit" in shown for shown, _ in shape["trigger"]):
            print("WARNING: the docpal table has no _docpal_audit trigger: the audit layer is not installed")

        def audit_count() -> int:
            return conn.execute(sql.SQL("select count(*) from {}").format(audit_log)).fetchone()[0]

        # Same N rows in both tables, same ids.
        t0 = time.perf_counter()
        conn.execute(sql.SQL("""
            insert into {} (title, amount, status, due, done, note)
            select 'Item ' || g || ' ' || repeat('x', g %% 40), (g * 7919 %% 10000000) / 100.0,
                   (array['open', 'doing', 'done'])[g %% 3 + 1], date '2026-01-01' + g %% 365, g %% 2 = 0,
                   case when g %% 4 = 0 then null else 'note ' || g end
              from generate_series(1, %s) g""").format(table), (n,))
        t_fill = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute(sql.SQL("insert into {} select * from {}").format(plain, table))
        t_copy = time.perf_counter() - t0
        conn.execute(sql.SQL("vacuum (analyze) {}, {}").format(table, plain))
        print(f"filled {n} rows: docpal table {t_fill:.2f} s (audited), plain copy {t_copy:.2f} s;"
              f" audit entries {audit_count()}", flush=True)

        ids = [r[0] for r in conn.execute(sql.SQL("select id from {} order by id").format(table))]
        rng = random.Random(20260101)
        update_docpal = sql.SQL("update {} set amount = %s where id = %s").format(table)
        update_plain = sql.SQL("update {} set amount = %s where id = %s").format(plain)
        insert_sql = "insert into {} (" + ", ".join(COLUMNS) + ") values (" + ", ".join(["%s"] * len(COLUMNS)) + ")"
        insert_docpal = sql.SQL(insert_sql).format(table)
        insert_plain = sql.SQL(insert_sql).format(plain)
        bulk_docpal = sql.SQL("update {} set amount = amount + 1").format(table)
        bulk_plain = sql.SQL("update {} set amount = amount + 1").format(plain)
        inserted = [0]

        def timed(statement: sql.Composable, params: tuple | None = None, prepare: bool | None = None) -> float:
            t0 = time.perf_counter()
            conn.execute(statement, params, prepare=prepare)
            return time.perf_counter() - t0

        def part_updates() -> tuple[float, float]:
            # New values every round: an update to the value a row already has writes no entry.
            work = [(Decimal(rng.randrange(0, 10_000_000)) / 100, ids[rng.randrange(len(ids))]) for _ in range(s)]
            before = audit_count()
            t_docpal = t_plain = 0.0
            for i, params in enumerate(work):
                if i % 2:
                    t_plain += timed(update_plain, params, True)
                    t_docpal += timed(update_docpal, params, True)
                else:
                    t_docpal += timed(update_docpal, params, True)
                    t_plain += timed(update_plain, params, True)
            written = audit_count() - before
            if written != s:
                raise RuntimeError(f"{s} single-row updates wrote {written} audit entries")
            return t_docpal, t_plain

        def part_inserts() -> tuple[float, float]:
            work = [insert_values(rng, inserted[0] + k) for k in range(s)]
            inserted[0] += s
            before = audit_count()
            t_docpal = t_plain = 0.0
            for i, params in enumerate(work):
                if i % 2:
                    t_plain += timed(insert_plain, params, True)
                    t_docpal += timed(insert_docpal, params, True)
                else:
                    t_docpal += timed(insert_docpal, params, True)
                    t_plain += timed(insert_plain, params, True)
            written = audit_count() - before
            if written != s:
                raise RuntimeError(f"{s} single-row inserts wrote {written} audit entries")
            for target in (table, plain):
                conn.execute(sql.SQL("delete from {} where title like 'new %%'").format(target))
            return t_docpal, t_plain

        def part_bulk(r: int) -> tuple[float, float]:
            before = audit_count()
            if r % 2:
                t_plain = timed(bulk_plain)
                t_docpal = timed(bulk_docpal)
            else:
                t_docpal = timed(bulk_docpal)
                t_plain = timed(bulk_plain)
            written = audit_count() - before
            if written != n:
                raise RuntimeError(f"the bulk update of {n} rows wrote {written} audit entries")
            conn.execute(sql.SQL("vacuum {}, {}").format(table, plain))
            return t_docpal, t_plain

        up_rounds: list[tuple[float, float]] = []
        in_rounds: list[tuple[float, float]] = []
        bulk_rounds: list[tuple[float, float]] = []
        for r in range(ROUNDS + 1):
            label = "warm-up" if r == 0 else f"round {r}/{ROUNDS}"
            up = part_updates()
            ins = part_inserts()
            bulk = part_bulk(r)
            print(f"  {label:12s} UPDATE docpal {up[0] * 1e6 / s:7.1f} µs, plain {up[1] * 1e6 / s:7.1f} µs;"
                  f"  INSERT docpal {ins[0] * 1e6 / s:7.1f} µs, plain {ins[1] * 1e6 / s:7.1f} µs;"
                  f"  bulk docpal {bulk[0] * 1e3:8.1f} ms, plain {bulk[1] * 1e3:8.1f} ms", flush=True)
            if r:
                up_rounds.append(up)
                in_rounds.append(ins)
                bulk_rounds.append(bulk)

        def summary(rounds: list[tuple[float, float]]) -> tuple[float, float, float]:
            return (median(d for d, _ in rounds), median(p for _, p in rounds), median(p / d for d, p in rounds))

        up_d, up_p, up_ratio = summary(up_rounds)
        in_d, in_p, in_ratio = summary(in_rounds)
        bulk_d, bulk_p, bulk_ratio = summary(bulk_rounds)

        # Where the bulk update's time goes: EXPLAIN ANALYZE, rolled back; once
        # in the docpal context (as measured above), once without one (a DBA's SQL).
        triggers: dict[str, list[str]] = {}
        for label in ("in context", "no context"):
            with conn.transaction(force_rollback=True):
                if label == "no context":
                    conn.execute("select docpal.clear_context()")
                plan = conn.execute(sql.SQL("explain (analyze, format json) {}").format(bulk_docpal)).fetchone()[0]
            top = plan[0]
            triggers[label] = [f"{t['Trigger Name']} {t['Time']:.1f} ms ({t['Calls']} calls)"
                               for t in top.get("Triggers", [])]
            print(f"EXPLAIN ANALYZE of the docpal bulk UPDATE, {label} (rolled back):"
                  f" {top['Execution Time']:.1f} ms; triggers: {'; '.join(triggers[label]) or 'none'}")

        # 4. The chain: fill the log to E entries, seal once, verify.
        count = audit_count()
        t0 = time.perf_counter()
        generated = 0
        while count < e:
            k = e - count
            if k >= n:
                conn.execute(bulk_docpal)
            else:
                conn.execute(sql.SQL("update {} set amount = amount + 1 where id in"
                                     " (select id from {} order by id limit %s)").format(table, table), (k,))
            generated += min(k, n)
            previous, count = count, audit_count()
            if count - previous != min(k, n):
                raise RuntimeError(f"a bulk update of {min(k, n)} rows wrote {count - previous} audit entries")
        t_gen = time.perf_counter() - t0
        size = conn.execute(
            "select pg_size_pretty(sum(pg_total_relation_size(relid))) from pg_partition_tree(%s::regclass)",
            (f"{schema}._audit_log",)).fetchone()[0]
        gen_note = (f"; {generated} written by bulk UPDATEs in {t_gen:.1f} s ({generated / t_gen:,.0f} entries/s)"
                    if generated else "")
        print(f"audit log: {count} entries, {size}{gen_note}", flush=True)

        t0 = time.perf_counter()
        sealed = conn.execute("select docpal.seal_audit_chain()").fetchone()[0]
        t_seal = time.perf_counter() - t0
        print(f"seal_audit_chain(): sealed {sealed} in {t_seal:.2f} s", flush=True)
        t0 = time.perf_counter()
        result = conn.execute("select docpal.verify_audit_chain()").fetchone()[0]
        t_verify = time.perf_counter() - t0
        print(f"verify_audit_chain(): {json.dumps(result)} in {t_verify:.2f} s", flush=True)
        if result.get("ok") is not True or result.get("checked") != count:
            raise RuntimeError(f"verify_audit_chain() over {count} entries returned {result}")

    print("\n" + "=" * 78)
    print(f"single-row UPDATE x {s}: docpal {up_d * 1e6 / s:.1f} µs vs plain {up_p * 1e6 / s:.1f} µs"
          f" per statement; speed ratio {up_ratio:.2f} (goal >= 0.5)")
    print(f"single-row INSERT x {s}: docpal {in_d * 1e6 / s:.1f} µs vs plain {in_p * 1e6 / s:.1f} µs"
          f" per statement; speed ratio {in_ratio:.2f} (goal >= 0.5)")
    print(f"bulk UPDATE of {n} rows: docpal {bulk_d * 1e3:.1f} ms vs plain {bulk_p * 1e3:.1f} ms"
          f" ({bulk_d * 1e6 / n:.1f} vs {bulk_p * 1e6 / n:.1f} µs per row); speed ratio {bulk_ratio:.2f}"
          f" (goal >= 0.4)")
    for label, lines in triggers.items():
        print(f"    triggers, {label} (EXPLAIN ANALYZE): {'; '.join(lines) or 'none'}")
    print(f"seal_audit_chain of {sealed} entries: {t_seal:.2f} s ({sealed / t_seal:,.0f} entries/s)")
    print(f"verify_audit_chain of {count} entries: {t_verify:.2f} s ({count / t_verify:,.0f} entries/s);"
          f" ok: {str(result['ok']).lower()}, checked: {result['checked']}")
    print("=" * 78)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="rows in each table (default 100000)")
    parser.add_argument("--statements", type=int, default=None,
                        help="single-row UPDATEs and INSERTs per round (default 5000)")
    parser.add_argument("--chain-entries", type=int, default=None,
                        help="audit entries to seal and verify (default 1000000)")
    parser.add_argument("--tiny", action="store_true",
                        help=f"a quick run: {TINY['rows']} rows, {TINY['statements']} statements,"
                             f" {TINY['chain_entries']} entries (explicit options still win)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    sizes = TINY if args.tiny else {"rows": 100000, "statements": 5000, "chain_entries": 1000000}
    n = args.rows if args.rows is not None else sizes["rows"]
    s = args.statements if args.statements is not None else sizes["statements"]
    e = args.chain_entries if args.chain_entries is not None else sizes["chain_entries"]
    with benchdb.fresh_database(args.database_url) as url:
        return bench(url, n, s, e)


if __name__ == "__main__":
    sys.exit(main())
