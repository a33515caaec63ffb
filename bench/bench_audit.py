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
   docpal time, i.e. docpal's speed as a fraction of plain SQL's; with the
   WAL bytes per statement of each (pg_current_wal_lsn before and after
   each statement, untimed; medians of the rounds) and, with the server on
   this machine, a speed ratio of the server process's CPU seconds
   (/proc/<pid>/stat), which the machine's load hardly moves.
4. The audit log filled up to E entries (bulk UPDATEs of the docpal table),
   ``docpal.seal_audit_chain()`` once (seconds, entries/s), then
   ``docpal.verify_audit_chain()`` (seconds, entries/s; checked: ok and
   checked = the number of entries in the log).

6. History lookups: per round (a warm-up and 3 measured) S/10 (at least 20)
   ``docpal.record_history`` calls on random records and as many direct
   queries of the same records' entries in the log (``select * ... where
   "table" = $1 and record_id = $2 order by id``, prepared, fetched), call
   by call alternating which goes first (checked: same number of entries).
   Reported: µs per call and the ratio history / direct (median of the
   rounds); goal <= 2.25, supa_audit's ratio on the same data.
7. The size of the generated capture function ``_audit_items`` (characters)
   and the first single-row UPDATE on a fresh connection (no context), on
   the docpal table and on the plain one, alternating, 7 rounds (medians):
   what PL/pgSQL's compiling of the capture adds to a new backend's first
   write (goal: at most +3 ms), also as the backend's CPU time
   (/proc/<pid>/schedstat), which the load hardly moves.

5. Against the previous release (issue 14; skipped with ``--no-release``):
   two more databases of the same cluster, one installed from this checkout
   and one from the release tag v0.2.0 (its git tree extracted to a
   temporary folder, rendered and installed by this checkout's
   ``deploy.migrate(url, root=...)``; ``sql/docpal.sql`` is not in git).
   Each gets one company, the same ``items`` table and the same N rows with
   the same ids; then 1-3 as above with the new table in place of the docpal
   one and the old in place of the plain one (two connections, interleaved
   statement by statement; each statement checked to write its audit
   entries on both). Reported per part: the medians in µs per statement (ms
   for the bulk UPDATE) and the ratio new/old (median of the rounds' ratios).

Goals (reported, not enforced): speed ratio >= 0.5 for 1 and 2, >= 0.4 for 3;
for 5 "no slower than v0.2.0": ratio new/old <= 1.05 (the noise of a run) for
the single-row UPDATE, the single-row INSERT and the bulk UPDATE.

Run:  .venv/bin/python bench/bench_audit.py [--rows N] [--statements S]
          [--chain-entries E] [--tiny] [--no-release] [--database-url URL]

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
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from statistics import median

import psycopg
from psycopg import sql

import benchdb
from docpal import deploy

from benchdb import COLUMNS, SLUG, SPEC, STATUSES  # the items table both benchmarks write

ROUNDS = 3
TINY = {"rows": 1000, "statements": 100, "chain_entries": 10000}
#: part 5: the release that "no slower than today" means, and the ratio new/old
#: still counted as no slower (the noise of one run)
RELEASE = "v0.2.0"
#: the commit the tag names: a clone that did not fetch tags (CI's) still has it
RELEASE_COMMIT = "323973527419ef763836d748f8519e4257dcdb8d"
NO_SLOWER = 1.05
CHECKOUT = Path(__file__).resolve().parent.parent
#: server CPU seconds below which a CPU ratio is not printed (/proc counts in ticks of 10 ms)
CPU_ENOUGH = 0.2

#: the statements of parts 1-3, for a table {}
UPDATE_ONE = "update {} set amount = %s where id = %s"
INSERT_ONE = "insert into {} (" + ", ".join(COLUMNS) + ") values (" + ", ".join(["%s"] * len(COLUMNS)) + ")"
UPDATE_ALL = "update {} set amount = amount + 1"
#: the N rows; the ids come from g, so that two databases get the same ones
FILL = """
    insert into {} (id, title, amount, status, due, done, note)
    select md5('item ' || g)::uuid, 'Item ' || g || ' ' || repeat('x', g %% 40), (g * 7919 %% 10000000) / 100.0,
           (array['open', 'doing', 'done'])[g %% 3 + 1], date '2026-01-01' + g %% 365, g %% 2 = 0,
           case when g %% 4 = 0 then null else 'note ' || g end
      from generate_series(1, %s) g"""


def backend_cpu(conn: psycopg.Connection) -> float | None:
    """CPU seconds (user + system) the server process of conn has used so far, from
    /proc/<pid>/stat: a figure the load of the machine hardly moves (the wall time it
    does); None when the server is not on this machine or /proc cannot be read."""
    try:
        fields = Path(f"/proc/{conn.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


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


def items_table(conn: psycopg.Connection) -> str:
    """The bench company with its owner in context on conn and its empty items table; its schema."""
    company, _ = benchdb.company_in_context(conn)
    conn.execute("select docpal.create_table(%s::jsonb)", (json.dumps(SPEC),))
    return conn.execute("select schema_name from docpal_private.companies where id = %s", (company,)).fetchone()[0]


@dataclass
class Side:
    """One of the two tables the measured rounds write: a name for the output,
    its connection, the table and its audit log (None: not audited)."""
    name: str
    conn: psycopg.Connection
    table: sql.Identifier
    audit_log: sql.Identifier | None = None

    wal: float = 0.0  #: WAL bytes of the statements timed so far (read outside the timing)
    cpu: float | None = 0.0  #: the server process's CPU seconds for them (None: not readable)

    def timed(self, statement: str, params: tuple | None = None, prepare: bool | None = None) -> float:
        """Seconds for one statement (autocommit: its own transaction) on this table; its WAL
        bytes (pg_current_wal_lsn before and after, untimed) are added to self.wal."""
        query = sql.SQL(statement).format(self.table)
        lsn = self.conn.execute("select pg_current_wal_lsn()").fetchone()[0]
        cpu0 = backend_cpu(self.conn)
        t0 = time.perf_counter()
        self.conn.execute(query, params, prepare=prepare)
        elapsed = time.perf_counter() - t0
        cpu1 = backend_cpu(self.conn)
        self.cpu = None if cpu0 is None or cpu1 is None or self.cpu is None else self.cpu + cpu1 - cpu0
        self.wal += float(self.conn.execute("select pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (lsn,)).fetchone()[0])
        return elapsed

    def audit_count(self) -> int:
        if self.audit_log is None:
            return 0
        return self.conn.execute(sql.SQL("select count(*) from {}").format(self.audit_log)).fetchone()[0]


def check_written(sides: tuple[Side, Side], before: list[int], expected: int, what: str) -> None:
    for side, count in zip(sides, before):
        written = side.audit_count() - count
        if side.audit_log is not None and written != expected:
            raise RuntimeError(f"{what} on {side.name} wrote {written} audit entries, not {expected}")


def interleaved(a: Side, b: Side, statement: str, work: list[tuple]) -> tuple[float, float]:
    """Each statement of work (prepared) on a and on b, statement by statement, alternating
    which goes first; seconds on a, on b. An audited side must write one entry per statement."""
    before = [a.audit_count(), b.audit_count()]
    t_a = t_b = 0.0
    for i, params in enumerate(work):
        if i % 2:
            t_b += b.timed(statement, params, True)
            t_a += a.timed(statement, params, True)
        else:
            t_a += a.timed(statement, params, True)
            t_b += b.timed(statement, params, True)
    check_written((a, b), before, len(work), f"{len(work)} x {statement.split()[0]}")
    return t_a, t_b


def measured_rounds(a: Side, b: Side, ids: list, n: int, s: int, rng: random.Random,
                    wal: dict[str, list[tuple[float, float]]] | None = None,
                    cpu: dict[str, list[tuple[float, float]]] | None = None) -> dict[str, list[tuple[float, float]]]:
    """Parts 1-3 on a and b: a warm-up round and ROUNDS measured ones, each line printed;
    per part the measured rounds' (seconds on a, seconds on b); wal and cpu (when given)
    get per part the rounds' (WAL bytes on a, on b) per statement and (server CPU
    seconds on a, on b; only while both are readable)."""
    rounds: dict[str, list[tuple[float, float]]] = {"update": [], "insert": [], "bulk": []}
    for r in range(ROUNDS + 1):
        marks = [(a.wal, b.wal, a.cpu, b.cpu)]
        # New values every round: an update to the value a row already has writes no entry.
        up = interleaved(a, b, UPDATE_ONE, [(Decimal(rng.randrange(0, 10_000_000)) / 100,
                                             ids[rng.randrange(len(ids))]) for _ in range(s)])
        marks.append((a.wal, b.wal, a.cpu, b.cpu))
        ins = interleaved(a, b, INSERT_ONE, [insert_values(rng, k) for k in range(r * s, (r + 1) * s)])
        marks.append((a.wal, b.wal, a.cpu, b.cpu))
        for side in (a, b):
            side.conn.execute(sql.SQL("delete from {} where title like 'new %%'").format(side.table))
        before = [a.audit_count(), b.audit_count()]
        first, second = (b, a) if r % 2 else (a, b)
        t_first, t_second = first.timed(UPDATE_ALL), second.timed(UPDATE_ALL)
        bulk = (t_first, t_second) if first is a else (t_second, t_first)
        marks.append((a.wal, b.wal, a.cpu, b.cpu))
        check_written((a, b), before, n, f"the bulk update of {n} rows")
        for side in (a, b):
            side.conn.execute(sql.SQL("vacuum {}").format(side.table))
        label = "warm-up" if r == 0 else f"round {r}/{ROUNDS}"
        print(f"  {label:12s} UPDATE {a.name} {up[0] * 1e6 / s:7.1f} µs, {b.name} {up[1] * 1e6 / s:7.1f} µs;"
              f"  INSERT {a.name} {ins[0] * 1e6 / s:7.1f} µs, {b.name} {ins[1] * 1e6 / s:7.1f} µs;"
              f"  bulk {a.name} {bulk[0] * 1e3:8.1f} ms, {b.name} {bulk[1] * 1e3:8.1f} ms", flush=True)
        if r:
            for i, (part, times) in enumerate((("update", up), ("insert", ins), ("bulk", bulk))):
                rounds[part].append(times)
                if wal is not None:
                    per = 1 if part == "bulk" else s
                    wal.setdefault(part, []).append(((marks[i + 1][0] - marks[i][0]) / per,
                                                     (marks[i + 1][1] - marks[i][1]) / per))
                if cpu is not None and a.cpu is not None and b.cpu is not None:
                    cpu.setdefault(part, []).append((marks[i + 1][2] - marks[i][2], marks[i + 1][3] - marks[i][3]))
    return rounds


def history_rounds(conn: psycopg.Connection, schema: str, ids: list, k: int,
                   rng: random.Random) -> list[tuple[float, float, float | None, float | None]]:
    """Part 6: k docpal.record_history calls on random records and k direct queries of the
    same records' entries in the log (prepared, fetched), in blocks of 10 calls alternating
    which kind goes first; a warm-up round and ROUNDS measured ones; per round (seconds
    history, seconds direct, server CPU seconds history, direct; None when not readable)."""
    direct = sql.SQL('select * from {} e where e."table" = %s and e.record_id = %s order by e.id').format(
        sql.Identifier(schema, "_audit_log"))
    rounds = []
    for r in range(ROUNDS + 1):
        t = [0.0, 0.0]  # history, direct
        c: list[float | None] = [0.0, 0.0]
        for block in range(0, k, 10):
            rids = [ids[rng.randrange(len(ids))] for _ in range(min(10, k - block))]
            found: list[list[int]] = [[], []]
            for which in ((0, 1) if block % 20 else (1, 0)):
                cpu0 = backend_cpu(conn)
                for rid in rids:
                    t0 = time.perf_counter()
                    if which == 0:
                        found[0].append(len(conn.execute("select docpal.record_history(%s, %s)", (SLUG, rid),
                                                         prepare=True).fetchone()[0]))
                    else:
                        found[1].append(len(conn.execute(direct, (SLUG, rid), prepare=True).fetchall()))
                    t[which] += time.perf_counter() - t0
                cpu1 = backend_cpu(conn)
                c[which] = None if cpu0 is None or cpu1 is None or c[which] is None else c[which] + cpu1 - cpu0
            if found[0] != found[1] or 0 in found[1]:
                raise RuntimeError(f"record_history gave {found[0]} entries, the log {found[1]}")
        label = "warm-up" if r == 0 else f"round {r}/{ROUNDS}"
        cpu_note = f"; server CPU ratio {c[0] / c[1]:.2f}" if c[0] and c[1] and c[1] >= CPU_ENOUGH else ""
        print(f"  {label:12s} record_history {t[0] * 1e6 / k:7.1f} µs, direct query {t[1] * 1e6 / k:7.1f} µs"
              f" (ratio {t[0] / t[1]:.2f}{cpu_note})", flush=True)
        if r:
            rounds.append((t[0], t[1], c[0], c[1]))
    return rounds


def backend_cpu_ns(conn: psycopg.Connection) -> int | None:
    """Nanoseconds of CPU the server process of conn has run (/proc/<pid>/schedstat: finer than
    /proc/<pid>/stat's 10 ms ticks, which a single first write is shorter than); None when
    the server is not on this machine."""
    try:
        return int(Path(f"/proc/{conn.info.backend_pid}/schedstat").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


def first_writes(url: str, table: sql.Identifier, plain: sql.Identifier, ids: list,
                 rng: random.Random) -> list[tuple[float, float, float | None]]:
    """Part 7: one single-row UPDATE as the first statement of a fresh connection (no context:
    a DBA's or worker's write), on the docpal table and on the plain one, alternating which
    goes first; 2 * ROUNDS + 1 rounds; per round (seconds docpal, seconds plain, backend CPU
    seconds docpal minus plain or None), the connection time not counted."""
    rounds = []
    for r in range(2 * ROUNDS + 1):
        times = [0.0, 0.0]  # docpal, plain
        cpu: list[int | None] = [None, None]
        for i in ((0, 1) if r % 2 else (1, 0)):
            with psycopg.connect(url, autocommit=True) as fresh:
                cpu0 = backend_cpu_ns(fresh)
                t0 = time.perf_counter()
                fresh.execute(sql.SQL(UPDATE_ONE).format((table, plain)[i]),
                              (Decimal(rng.randrange(0, 10_000_000)) / 100, ids[rng.randrange(len(ids))]))
                times[i] = time.perf_counter() - t0
                cpu1 = backend_cpu_ns(fresh)
                cpu[i] = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
        extra = None if cpu[0] is None or cpu[1] is None else (cpu[0] - cpu[1]) / 1e9
        rounds.append((times[0], times[1], extra))
    return rounds


def medians(rounds: list[tuple[float, float]]) -> tuple[float, float]:
    return median(t_a for t_a, _ in rounds), median(t_b for _, t_b in rounds)


@contextmanager
def release_root(tag: str, commit: str) -> Iterator[Path]:
    """The template root of a release: its git tree, extracted to a temporary folder
    (sql/docpal.sql is not in git: deploy.migrate renders the templates). The tag
    first, else the commit it names (a clone without tags)."""
    with tempfile.TemporaryDirectory(prefix=f"docpal-{tag}-") as tmp:
        for ref in (tag, commit):
            archive = subprocess.run(["git", "-C", str(CHECKOUT), "archive", ref], capture_output=True)
            if not archive.returncode:
                break
        else:
            raise RuntimeError(f"git archive {tag} failed ({archive.stderr.decode().strip()}): this part needs"
                               " the release tag or its commit (git fetch --tags), or run with --no-release")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        yield Path(tmp)


@contextmanager
def installed_database(admin_url: str, label: str, root: Path | None = None) -> Iterator[str]:
    """A new database docpal_bench_<label>_<hex> in the cluster of admin_url, docpal installed
    from the template root (default: this checkout); dropped at the end."""
    dbname = f"docpal_bench_{label}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
    try:
        url = benchdb.with_dbname(admin_url, dbname)
        t0 = time.perf_counter()
        deploy.migrate(url, root=root)
        print(f"  {dbname}: installed from {root or CHECKOUT} in {time.perf_counter() - t0:.1f} s", flush=True)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))


def filled_side(name: str, conn: psycopg.Connection, n: int) -> Side:
    """The items table of a fresh install, with the N rows of FILL (vacuumed, analyzed)."""
    schema = items_table(conn)
    table = sql.Identifier(schema, SLUG)
    conn.execute(sql.SQL(FILL).format(table), (n,))
    conn.execute(sql.SQL("vacuum (analyze) {}").format(table))
    return Side(name, conn, table, sql.Identifier(schema, "_audit_log"))


def against_release(admin_url: str, n: int, s: int) -> dict[str, tuple[float, float, float]]:
    """Part 5: parts 1-3 on this checkout's audited items table against the release's, each in
    its own new database of the cluster, same rows; per part (seconds new, seconds old, ratio
    new/old), medians over the rounds."""
    print(f"5. against {RELEASE}: a database with this checkout, one with {RELEASE}, the same {n} rows", flush=True)
    with release_root(RELEASE, RELEASE_COMMIT) as root, installed_database(admin_url, "new") as new_url, \
            installed_database(admin_url, RELEASE.replace(".", "_"), root) as old_url, \
            psycopg.connect(new_url, autocommit=True) as new_conn, \
            psycopg.connect(old_url, autocommit=True) as old_conn:
        new, old = filled_side("new", new_conn, n), filled_side(RELEASE, old_conn, n)
        ids = [[r[0] for r in side.conn.execute(sql.SQL("select id from {} order by id").format(side.table))]
               for side in (new, old)]
        if ids[0] != ids[1] or len(ids[0]) != n:
            raise RuntimeError(f"the two items tables do not hold the same {n} ids")
        rounds = measured_rounds(new, old, ids[0], n, s, random.Random(20260102))
    return {part: (*medians(times), median(t_new / t_old for t_new, t_old in times))
            for part, times in rounds.items()}


def bench(url: str, n: int, s: int, e: int, release: bool) -> int:
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    deploy.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        schema = items_table(conn)
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

        docpal_side = Side("docpal", conn, table, audit_log)
        plain_side = Side("plain", conn, plain)

        # Same N rows in both tables, same ids.
        t0 = time.perf_counter()
        conn.execute(sql.SQL(FILL).format(table), (n,))
        t_fill = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute(sql.SQL("insert into {} select * from {}").format(plain, table))
        t_copy = time.perf_counter() - t0
        conn.execute(sql.SQL("vacuum (analyze) {}, {}").format(table, plain))
        print(f"filled {n} rows: docpal table {t_fill:.2f} s (audited), plain copy {t_copy:.2f} s;"
              f" audit entries {docpal_side.audit_count()}", flush=True)

        ids = [r[0] for r in conn.execute(sql.SQL("select id from {} order by id").format(table))]
        wal: dict[str, list[tuple[float, float]]] = {}
        cpu: dict[str, list[tuple[float, float]]] = {}
        rounds = measured_rounds(docpal_side, plain_side, ids, n, s, random.Random(20260101), wal, cpu)
        wal_d = {part: medians(w) for part, w in wal.items()}  # WAL bytes per statement (docpal, plain)
        parts = ("update", "insert", "bulk")
        (up_d, up_p), (in_d, in_p), (bulk_d, bulk_p) = (medians(rounds[part]) for part in parts)
        # speed ratio: plain time / docpal time
        up_ratio, in_ratio, bulk_ratio = (median(p / d for d, p in rounds[part]) for part in parts)

        # Where the bulk update's time goes: EXPLAIN ANALYZE, rolled back; once
        # in the docpal context (as measured above), once without one (a DBA's SQL).
        triggers: dict[str, list[str]] = {}
        for label in ("in context", "no context"):
            with conn.transaction(force_rollback=True):
                if label == "no context":
                    conn.execute("select docpal.clear_context()")
                plan = conn.execute(sql.SQL("explain (analyze, format json) " + UPDATE_ALL).format(table)
                                    ).fetchone()[0]
            top = plan[0]
            triggers[label] = [f"{t['Trigger Name']} {t['Time']:.1f} ms ({t['Calls']} calls)"
                               for t in top.get("Triggers", [])]
            print(f"EXPLAIN ANALYZE of the docpal bulk UPDATE, {label} (rolled back):"
                  f" {top['Execution Time']:.1f} ms; triggers: {'; '.join(triggers[label]) or 'none'}")

        # 6. History lookups: record_history against the log queried directly.
        k_hist = max(20, s // 10)
        print(f"6. history of one record: {k_hist} record_history calls and {k_hist} direct log queries per round", flush=True)
        hist = history_rounds(conn, schema, ids, k_hist, random.Random(20260103))
        hist_h, hist_d = medians([(h, d) for h, d, _, _ in hist])
        hist_ratio = median(h / d for h, d, _, _ in hist)
        hist_cpu = (median(ch / cd for _, _, ch, cd in hist)
                    if all(ch and cd and cd >= CPU_ENOUGH for _, _, ch, cd in hist) else None)

        # 7. The capture function's size, and the first audited write of a fresh connection
        # (PL/pgSQL compiles the capture function in each new backend).
        capture_size = conn.execute("select length(prosrc) from pg_proc where oid = %s::regprocedure",
                                    (f"{schema}._audit_{SLUG}()",)).fetchone()[0]
        first = first_writes(url, table, plain, ids, random.Random(20260104))
        first_d, first_p = medians([(d, p) for d, p, _ in first])
        first_cpu = (median(c for _, _, c in first if c is not None)
                     if all(c is not None for _, _, c in first) else None)
        print(f"7. first write of a fresh connection: docpal {first_d * 1e3:.2f} ms, plain {first_p * 1e3:.2f} ms;"
              f" capture function {capture_size:,} characters", flush=True)

        # 5. Against the previous release (before 4, whose log fill would leave the cluster busy).
        previous = against_release(benchdb.with_dbname(url, "postgres"), n, s) if release else None

        # 4. The chain: fill the log to E entries, seal once, verify.
        count = docpal_side.audit_count()
        t0 = time.perf_counter()
        generated = 0
        while count < e:
            k = e - count
            if k >= n:
                conn.execute(sql.SQL(UPDATE_ALL).format(table))
            else:
                conn.execute(sql.SQL("update {} set amount = amount + 1 where id in"
                                     " (select id from {} order by id limit %s)").format(table, table), (k,))
            generated += min(k, n)
            previous_count, count = count, docpal_side.audit_count()
            if count - previous_count != min(k, n):
                raise RuntimeError(f"a bulk update of {min(k, n)} rows wrote {count - previous_count} audit entries")
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
    for part, what in (("update", "single-row UPDATE"), ("insert", "single-row INSERT"), ("bulk", "bulk UPDATE")):
        d, p = wal_d[part]
        print(f"    WAL per {what}: docpal {d / 1e3:,.1f} kB vs plain {p / 1e3:,.1f} kB ({d / p if p else 0:.2f} x)")
        if cpu.get(part) and all(min(d_cpu, p_cpu) >= CPU_ENOUGH for d_cpu, p_cpu in cpu[part]):
            print(f"    server CPU, {what}: speed ratio {median(p_cpu / d_cpu for d_cpu, p_cpu in cpu[part]):.2f}"
                  f" (plain / docpal CPU seconds of the server process; the load hardly moves it)")
    for label, lines in triggers.items():
        print(f"    triggers, {label} (EXPLAIN ANALYZE): {'; '.join(lines) or 'none'}")
    print(f"record_history of one record: {hist_h * 1e6 / k_hist:.1f} µs vs the log queried directly"
          f" {hist_d * 1e6 / k_hist:.1f} µs; ratio {hist_ratio:.2f} (goal <= 2.25, supa_audit's)"
          + (f"; server CPU ratio {hist_cpu:.2f}" if hist_cpu else ""))
    print(f"first single-row UPDATE of a fresh connection: docpal {first_d * 1e3:.2f} ms vs plain"
          f" {first_p * 1e3:.2f} ms (+{(first_d - first_p) * 1e3:.2f} ms; goal <= +3 ms"
          + (f"; backend CPU +{first_cpu * 1e3:.2f} ms" if first_cpu is not None else "")
          + f"); capture function _audit_{SLUG}: {capture_size:,} characters")
    print(f"seal_audit_chain of {sealed} entries: {t_seal:.2f} s ({sealed / t_seal:,.0f} entries/s)")
    print(f"verify_audit_chain of {count} entries: {t_verify:.2f} s ({count / t_verify:,.0f} entries/s);"
          f" ok: {str(result['ok']).lower()}, checked: {result['checked']}")
    if previous:
        for part, what, scale, unit in (("update", f"single-row UPDATE x {s}", 1e6 / s, "µs per statement"),
                                        ("insert", f"single-row INSERT x {s}", 1e6 / s, "µs per statement"),
                                        ("bulk", f"bulk UPDATE of {n} rows", 1e3, "ms")):
            t_new, t_old, ratio = previous[part]
            verdict = "met" if ratio <= NO_SLOWER else "NOT met"
            print(f"vs {RELEASE}, {what}: new {t_new * scale:.1f} vs {RELEASE} {t_old * scale:.1f} {unit};"
                  f" ratio new/old {ratio:.3f} (goal no slower, <= {NO_SLOWER}: {verdict})")
    print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
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
    parser.add_argument("--no-release", dest="release", action="store_false",
                        help=f"skip part 5, the comparison with {RELEASE} (which needs the git tag)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    sizes = TINY if args.tiny else {"rows": 100000, "statements": 5000, "chain_entries": 1000000}
    n = args.rows if args.rows is not None else sizes["rows"]
    s = args.statements if args.statements is not None else sizes["statements"]
    e = args.chain_entries if args.chain_entries is not None else sizes["chain_entries"]
    with benchdb.fresh_database(args.database_url) as url:
        return bench(url, n, s, e, args.release)


if __name__ == "__main__":
    sys.exit(main())
