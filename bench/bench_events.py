"""Benchmark of docpal's change events: what the outbox and NOTIFY cost a
write, how fast a consumer drains the outbox, and how soon a listener hears
of a commit.

What is measured, on a fresh database, with two companies that have the same
docpal table ``items`` (title text required max_length 200 searchable,
amount decimal(12,2) min 0, status select indexed, due date, done boolean,
note text not searchable): company ``bench`` with events on (the default) and
company ``bench-off`` with events off (``docpal.update_company(id,
'{"settings": {"events": false}}')`` as superuser, which regenerates its
capture functions: its writes still go to the audit log, not to an outbox).
One connection per company, each with the same owner in context, and a plain
copy ``plain.items`` (``CREATE TABLE ... (LIKE <company>.items INCLUDING
ALL)``, triggers dropped: no audit, no events).

1. **create_record, events on against off.** N single
   ``docpal.create_record('items', data)`` calls (autocommit, prepared) into
   each company and N plain ``INSERT ... VALUES`` into ``plain.items``,
   interleaved row by row (the order rotates); one warm-up round and 3
   measured rounds, medians of µs per row. "speed ratio" off/on = time with
   events off / time with events on (events-on speed as a fraction of
   events-off speed). Checked: N events per round in ``bench``, none in
   ``bench-off``, N audit entries in both.
2. **create_records of N rows in one statement**: events on with one
   notification per row (platform setting ``notify_limit`` = 100000,
   set through ``docpal.set_platform_setting``), events on with the default (one summary notification for a
   statement of more than 100 events), events off, and a plain ``INSERT ...
   SELECT ... FROM jsonb_to_recordset(...) RETURNING *`` of the same JSON;
   same rounds and medians, times and ratios. No one listens meanwhile (the
   notifications still go through the server's notification queue).
3. **outbox drain.** The outbox of ``bench`` is topped up to E events
   (``create_records`` of 5,000 rows a statement, default notify setting),
   copied with its ids into a plain table ``plain.events`` (same columns and
   indexes) with a position table ``plain.event_position``. A consumer
   holding everything (``replay_events('hold', first id)``, never acked)
   keeps retention from deleting events, so every drain sees the same E.
   For each batch size B in 100, 1,000, 5,000 and each of 3 rounds, a new
   consumer name drains all of it, without a context (all companies, as a
   service does): one transaction per batch of ``docpal.poll_events(consumer,
   B)`` + ``docpal.ack_events(consumer, last event id)``, until a poll returns
   []; against a plain drain in one transaction per batch: ``select
   jsonb_agg(<the same payload keys> order by id), max(id) from (select ...
   where id > $last order by id limit B)`` + ``update plain.event_position``.
   Both decode the JSON in the client. Events/s (median), and the ratio
   docpal / plain, also per second of the drainer's backend CPU time. Checked: every drain sees E events, in ascending ids.
   Then ``EXPLAIN ANALYZE`` of the poll's queries (batch opening and one
   batch page) and the time of poll and ack alone, to show where the time
   goes; finally the holder drains with B = 1,000 including retention (the
   outbox is emptied when its batch closes).
4. **NOTIFY latency.** A listener connection (``LISTEN`` on the company's ``event_channel()`` and
   ``LISTEN plain_events``, ``psycopg`` ``notifies()`` in a thread) records
   ``time.perf_counter()`` on receipt; the writer makes W single
   ``create_record`` calls (autocommit), recording ``time.perf_counter()``
   right after the call returns (after its commit), and waits for the
   notification before the next write; alternating with W plain one-statement
   transactions ``INSERT ... RETURNING`` + ``pg_notify('plain_events', id)``.
   p50 / p90 / p99 / max of receipt minus commit, in ms. Checked: every
   payload has the documented keys; a ``create_records`` of 101 rows sends
   one summary; a write in ``bench-off`` sends nothing.

5. **a poll without a context at scale.** C companies (``--companies``,
   default 10,000) are made in the bench database (``create_company``, its
   outbox as its first table would make it, one event each) and 10 in a
   second database of the same cluster; a consumer ``scale`` drains both
   once (its first pass goes through every company). Then in each of 7
   rounds (3 with --tiny) one event is written (plain INSERT into the
   outbox, as the capture does) in each of 10 companies spread over the C
   (every C/10-th) and in each of the 10, and one transaction of
   ``poll_events('scale', 500)`` + ``ack_events`` runs in each database,
   alternating which goes first; also one poll when nothing is new. The
   consumer polls on a connection of its own in each database (as a service
   worker does), not the one that made the companies. Medians in ms and of
   the poll's backend CPU time, and the ratios C companies / 10 companies
   (goal about 1: a poll costs what the active companies cost). Checked:
   each poll gets the 10 new events. ``--scale-database NAME`` makes the C
   companies in database NAME of the server instead and keeps it: a later
   run with the same NAME and ``--database-url`` reuses (tops up) them.

Goals (reported, not enforced): speed ratio off/on >= 0.8 for 1; drain
> 20,000 events/s, > 40,000 events/s in batches of 500; notification p99 <
20 ms on an idle machine; poll at scale ratio about 1 (<= 1.5).

Run:  .venv/bin/python bench/bench_events.py [--rows N] [--events E]
          [--notify-writes W] [--companies C] [--parts LIST] [--tiny]
          [--scale-database NAME] [--database-url URL]

Without a URL (argument or $DATABASE_URL) it starts a throw-away PostgreSQL
cluster (docpal.embedded, durable settings) and removes it afterwards; with a
URL it creates a database docpal_bench_<hex> on that server and drops it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from statistics import median

import psycopg
from psycopg import sql

import benchdb
from docpal import deploy

from benchdb import COLUMNS, SLUG, SPEC, STATUSES  # the items table both benchmarks write

ROUNDS = 3
BATCHES = (100, 500, 1000, 5000)
FILL_CHUNK = 5000
PAYLOAD_KEYS = {"event_id", "company_id", "table", "record_id", "action", "version", "changed", "user_id", "at"}
TINY = {"rows": 200, "events": 5000, "notify_writes": 100, "companies": 30}
FULL = {"rows": 10000, "events": 200000, "notify_writes": 1000, "companies": 10000}
#: part 5: companies one connection makes before the next takes over (make_companies)
MAKER_BATCH = 200
PARTS = ("single", "bulk", "drain", "latency", "scale")
ACTIVE = 10  # companies with new events in each round of part 5

PLAIN_INSERT = (f"insert into plain.items ({', '.join(COLUMNS)}) values ({', '.join(['%s'] * len(COLUMNS))})")
PLAIN_BULK = (f"insert into plain.items ({', '.join(COLUMNS)}) select {', '.join(COLUMNS)}"
              " from jsonb_to_recordset(%s::jsonb)"
              " as r(title text, amount numeric, status text, due date, done boolean, note text) returning *")
PLAIN_NOTIFY = (f"with i as (insert into plain.items ({', '.join(COLUMNS)}) values ({', '.join(['%s'] * len(COLUMNS))})"
                " returning id) select i.id::text, pg_notify('plain_events', i.id::text) from i")
CREATE = "select docpal.create_record('items', %s::jsonb)"
CREATE_ID = "select docpal.create_record('items', %s::jsonb)->>'id'"
CREATE_MANY = "select docpal.create_records('items', %s::jsonb)"


class Failed(Exception):
    pass


def backend_cpu(conn: psycopg.Connection) -> float | None:
    """CPU seconds the server process of conn has run so far (/proc/<pid>/schedstat, ns):
    a figure the machine's load hardly moves, where it does move wall times; None when the
    server is not on this machine."""
    try:
        return int(Path(f"/proc/{conn.info.backend_pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def cpu_since(conn: psycopg.Connection, start: float | None) -> float | None:
    now = backend_cpu(conn)
    return None if now is None or start is None else now - start


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def row(k: int) -> dict:
    return {"title": f"Item {k} {'x' * (k % 40)}", "amount": (k * 7919 % 10000000) / 100, "status": STATUSES[k % 3],
            "due": (datetime.date(2026, 1, 1) + datetime.timedelta(days=k % 365)).isoformat(), "done": k % 2 == 0,
            "note": None if k % 4 == 0 else f"note {k}"}


def row_params(r: dict) -> tuple:
    return tuple(r[c] for c in COLUMNS)


def count(conn: psycopg.Connection, table: sql.Composable) -> int:
    return conn.execute(sql.SQL("select count(*) from {}").format(table)).fetchone()[0]


class Setup:
    def __init__(self, url: str):
        self.url = url
        self.on = psycopg.connect(url, autocommit=True)
        self.company, self.user = benchdb.company_in_context(self.on)
        self.on.execute("select docpal.create_table(%s::jsonb)", (json.dumps(SPEC),))
        self.off_company = self.on.execute("select docpal.create_company('bench-off', 'Bench, events off')"
                                           ).fetchone()[0]
        self.on.execute("select docpal.add_member(%s, %s, 'owner')", (self.off_company, self.user))
        self.off = psycopg.connect(url, autocommit=True)
        self.off.execute("select docpal.set_context(%s, %s, false)", (self.off_company, self.user))
        self.off.execute("select docpal.create_table(%s::jsonb)", (json.dumps(SPEC),))
        self.off.execute("""select docpal.update_company(%s, '{"settings": {"events": false}}')""",
                         (self.off_company,))
        self.schema, self.number = self.on.execute(
            "select schema_name, number from docpal_private.companies where id = %s", (self.company,)).fetchone()
        self.off_schema = self.on.execute("select schema_name from docpal_private.companies where id = %s",
                                          (self.off_company,)).fetchone()[0]
        self.events = sql.Identifier(self.schema, "_events")
        self.off_events = sql.Identifier(self.off_schema, "_events")
        self.audit = sql.Identifier(self.schema, "_audit_log")
        self.off_audit = sql.Identifier(self.off_schema, "_audit_log")
        table = sql.Identifier(self.schema, SLUG)
        self.on.execute(sql.SQL("create schema plain; create table plain.items (like {} including all)").format(table))
        for (trigger,) in self.on.execute("select tgname from pg_trigger where tgrelid = 'plain.items'::regclass"
                                          " and not tgisinternal").fetchall():
            self.on.execute(sql.SQL("drop trigger {} on plain.items").format(sql.Identifier(trigger)))

    def close(self) -> None:
        self.on.close()
        self.off.close()


# ==============================================================================================
# 1. single create_record, events on / off / plain
# ==============================================================================================

def part_single(s: Setup, n: int) -> dict:
    print(f"\n1. create_record x {n}, one autocommit statement each: events on / events off / plain INSERT",
          flush=True)
    k0 = [10_000_000]
    rounds: list[tuple[float, float, float]] = []
    for r in range(ROUNDS + 1):
        work = [row(k0[0] + i) for i in range(n)]
        k0[0] += n
        singles = [json.dumps(w) for w in work]
        before = (count(s.on, s.events), count(s.on, s.off_events), count(s.on, s.audit), count(s.on, s.off_audit))
        t = [0.0, 0.0, 0.0]
        for i in range(n):
            for j in ((i + r) % 3, (i + r + 1) % 3, (i + r + 2) % 3):
                t0 = time.perf_counter()
                if j == 0:
                    s.on.execute(CREATE, (singles[i],), prepare=True).fetchone()
                elif j == 1:
                    s.off.execute(CREATE, (singles[i],), prepare=True).fetchone()
                else:
                    s.on.execute(PLAIN_INSERT, row_params(work[i]), prepare=True)
                t[j] += time.perf_counter() - t0
        after = (count(s.on, s.events), count(s.on, s.off_events), count(s.on, s.audit), count(s.on, s.off_audit))
        delta = [a - b for a, b in zip(after, before)]
        if delta != [n, 0, n, n]:
            raise Failed(f"{n} create_record calls per company wrote events on/off {delta[0]}/{delta[1]},"
                         f" audit entries on/off {delta[2]}/{delta[3]}")
        label = "warm-up" if r == 0 else f"round {r}/{ROUNDS}"
        print(f"  {label:12s} events on {t[0] * 1e6 / n:7.1f} µs/row, events off {t[1] * 1e6 / n:7.1f} µs/row,"
              f" plain INSERT {t[2] * 1e6 / n:7.1f} µs/row", flush=True)
        if r:
            rounds.append(tuple(t))
    on, off, plain = (median(x[k] for x in rounds) for k in range(3))
    return {"on": on / n, "off": off / n, "plain": plain / n,
            "ratio": median(x[1] / x[0] for x in rounds), "plain_ratio": median(x[2] / x[0] for x in rounds)}


# ==============================================================================================
# 2. create_records of N rows: per-row notifications / summary / events off / plain
# ==============================================================================================

def part_bulk(s: Setup, n: int) -> dict:
    print(f"\n2. create_records of {n} rows, one statement: per-row NOTIFY (notify_limit 100000) /"
          f" default (one summary) / events off / plain INSERT ... jsonb_to_recordset RETURNING *", flush=True)
    names = ("per-row", "default", "off", "plain")
    rounds: list[dict[str, float]] = []
    k0 = 20_000_000
    for r in range(ROUNDS + 1):
        bulk = json.dumps([row(k0 + i) for i in range(n)])
        k0 += n
        t: dict[str, float] = {}
        order = names[r % 4:] + names[:r % 4]
        for name in order:
            before = count(s.on, s.events), count(s.on, s.off_events)
            t0 = time.perf_counter()
            if name == "per-row":
                s.on.execute("select docpal.set_platform_setting('notify_limit', '100000')")
                t0 = time.perf_counter()
                got = len(s.on.execute(CREATE_MANY, (bulk,)).fetchone()[0])
                t[name] = time.perf_counter() - t0
                s.on.execute("select docpal.set_platform_setting('notify_limit', '100')")
            elif name == "default":
                got = len(s.on.execute(CREATE_MANY, (bulk,)).fetchone()[0])
                t[name] = time.perf_counter() - t0
            elif name == "off":
                got = len(s.off.execute(CREATE_MANY, (bulk,)).fetchone()[0])
                t[name] = time.perf_counter() - t0
            else:
                got = len(s.on.execute(PLAIN_BULK, (bulk,)).fetchall())
                t[name] = time.perf_counter() - t0
            after = count(s.on, s.events), count(s.on, s.off_events)
            want = (n, 0) if name in ("per-row", "default") else (0, 0)
            if got != n or (after[0] - before[0], after[1] - before[1]) != want:
                raise Failed(f"create_records ({name}) of {n} rows returned {got} rows and wrote events"
                             f" on/off {after[0] - before[0]}/{after[1] - before[1]}")
        label = "warm-up" if r == 0 else f"round {r}/{ROUNDS}"
        print(f"  {label:12s} " + ", ".join(f"{k} {t[k] * 1e3:8.1f} ms" for k in names), flush=True)
        if r:
            rounds.append(t)
        else:
            first = t
    out = {k: median(x[k] for x in rounds) for k in names}
    if first["default"] > 3 * out["default"] or first["per-row"] > 3 * out["per-row"]:
        print(f"  NOTE: the warm-up's events-on statements took {first['per-row'] * 1e3:.0f} / {first['default'] * 1e3:.0f}"
              f" ms, over 3x the medians: the session's capture plan was cached from single-row statements"
              f" (part 1) and is replanned later", flush=True)
    out["default/per-row"] = median(x["per-row"] / x["default"] for x in rounds)  # speed of default vs per-row
    out["off/default"] = median(x["off"] / x["default"] for x in rounds)
    out["off/per-row"] = median(x["off"] / x["per-row"] for x in rounds)
    out["plain/default"] = median(x["plain"] / x["default"] for x in rounds)
    return out


# ==============================================================================================
# 3. outbox drain
# ==============================================================================================

def drain_docpal(conn: psycopg.Connection, consumer: str, b: int) -> tuple[float, int]:
    seen, last = 0, 0
    t0 = time.perf_counter()
    while True:
        with conn.transaction():
            events = conn.execute("select docpal.poll_events(%s, %s)", (consumer, b), prepare=True).fetchone()[0]
            if not events:
                break
            first, end = events[0]["event_id"], events[-1]["event_id"]
            conn.execute("select docpal.ack_events(%s, %s)", (consumer, end), prepare=True)
        if first <= last:
            raise Failed(f"consumer {consumer}: event {first} after {last}")
        seen += len(events)
        last = end
    return time.perf_counter() - t0, seen


PLAIN_POLL = """
select jsonb_agg(jsonb_build_object('event_id', e.id, 'company_id', %s::uuid, 'table', e."table",
                                    'record_id', e.record_id, 'action', e.action, 'version', e.version,
                                    'changed', e.changed, 'user_id', e.user_id, 'at', e.at)
                 || case when e.workflow is null then '{}'::jsonb else jsonb_build_object('workflow', e.workflow) end
                 order by e.id),
       max(e.id)
  from (select * from plain.events e where e.id > %s order by e.id limit %s) e"""


def drain_plain(conn: psycopg.Connection, consumer: str, company: str, b: int) -> tuple[float, int]:
    conn.execute("insert into plain.event_position values (%s, 0)", (consumer,))
    seen = 0
    t0 = time.perf_counter()
    last = conn.execute("select last_id from plain.event_position where consumer = %s", (consumer,)).fetchone()[0]
    while True:
        with conn.transaction():
            events, end = conn.execute(PLAIN_POLL, (company, last, b), prepare=True).fetchone()
            if not events:
                break
            conn.execute("update plain.event_position set last_id = %s where consumer = %s", (end, consumer),
                         prepare=True)
        seen += len(events)
        last = end
    return time.perf_counter() - t0, seen


def part_drain(s: Setup, e: int) -> dict:
    print(f"\n3. outbox drain of {e:,} events: poll_events + ack_events per batch vs a plain table", flush=True)
    have = count(s.on, s.events)
    t0 = time.perf_counter()
    k = 30_000_000
    while have < e:
        chunk = min(FILL_CHUNK, e - have)
        s.on.execute(CREATE_MANY, (json.dumps([row(k + i) for i in range(chunk)]),))
        k += chunk
        have += chunk
    t_fill = time.perf_counter() - t0
    total = count(s.on, s.events)
    lo = s.on.execute(sql.SQL("select min(id) from {}").format(s.events)).fetchone()[0]
    s.on.execute(sql.SQL("create table plain.events (like {} including all)").format(s.events))
    s.on.execute(sql.SQL("insert into plain.events select * from {}").format(s.events))
    s.on.execute("create table plain.event_position (consumer text primary key, last_id bigint not null)")
    s.on.execute(sql.SQL("vacuum analyze {}, plain.events, plain.event_position").format(s.events))
    size = s.on.execute(sql.SQL("select pg_size_pretty(pg_total_relation_size({}))").format(
        sql.Literal(f"{s.schema}._events"))).fetchone()[0]
    print(f"  outbox {s.schema}._events: {total:,} events, {size}; topped up in {t_fill:.1f} s;"
          f" copied with their ids to plain.events", flush=True)

    drainer = psycopg.connect(s.url, autocommit=True)  # superuser, no context: every company
    try:
        drainer.execute("select docpal.replay_events('hold', %s)", (lo,))  # never acked: keeps everything
        results: dict[int, list[tuple[float, float]]] = {b: [] for b in BATCHES}
        cpus: dict[int, list[tuple[float, float]]] = {b: [] for b in BATCHES}
        for r in range(ROUNDS):
            for b in BATCHES:
                pair = {}
                for side in (("docpal", "plain") if r % 2 == 0 else ("plain", "docpal")):
                    consumer = f"drain_{b}_{r}"
                    c0 = backend_cpu(drainer)
                    if side == "docpal":
                        t, seen = drain_docpal(drainer, consumer, b)
                    else:
                        t, seen = drain_plain(drainer, consumer, str(s.company), b)
                    if seen != total:
                        raise Failed(f"{side} drain with batches of {b} saw {seen} of {total} events")
                    pair[side] = t
                    pair[side + "_cpu"] = cpu_since(drainer, c0)
                results[b].append((pair["docpal"], pair["plain"]))
                if pair["docpal_cpu"] and pair["plain_cpu"]:
                    cpus[b].append((pair["docpal_cpu"], pair["plain_cpu"]))
                cpu = (f"; backend CPU docpal {pair['docpal_cpu']:.2f} s, plain {pair['plain_cpu']:.2f} s"
                       if pair["docpal_cpu"] and pair["plain_cpu"] else "")
                print(f"  round {r + 1}/{ROUNDS} B={b:5d}: docpal {total / pair['docpal']:9,.0f} events/s"
                      f" ({pair['docpal']:.2f} s), plain {total / pair['plain']:9,.0f} events/s"
                      f" ({pair['plain']:.2f} s){cpu}", flush=True)
        out: dict = {"total": total, "fill": t_fill, "by_batch": {}}
        for b in BATCHES:
            d = median(x[0] for x in results[b])
            p = median(x[1] for x in results[b])
            out["by_batch"][b] = {"docpal": total / d, "plain": total / p,
                                  "ratio": median(x[1] / x[0] for x in results[b]),
                                  "cpu_docpal": total / median(x[0] for x in cpus[b]) if cpus[b] else None,
                                  "cpu_ratio": median(x[1] / x[0] for x in cpus[b]) if cpus[b] else None}

        # Where the time goes: the poll's own SQL (as event_batch runs it), and poll / ack alone.
        print("  where a drain's time goes (B = 1000, consumer 'probe'):")
        with drainer.transaction(force_rollback=True):
            t0 = time.perf_counter()
            got = drainer.execute("select docpal.poll_events('probe', 1000)").fetchone()[0]
            t_open = time.perf_counter() - t0
            pos = drainer.execute("select batch_snap::text, done_snap::text, acked, batch_last from"
                                  " docpal_private.event_consumers where consumer = 'probe' and company_id = %s",
                                  (s.company,)).fetchone()
            batch_snap, done_snap, acked, batch_last = pos
            # the same page again (not yet acknowledged), as text, and its decoding in the client
            t0 = time.perf_counter()
            text = drainer.execute("select docpal.poll_events('probe', 1000)::text").fetchone()[0]
            t_text = time.perf_counter() - t0
            t0 = time.perf_counter()
            json.loads(text)
            t_decode = time.perf_counter() - t0
            t0 = time.perf_counter()
            drainer.execute("select docpal.ack_events('probe', %s)", (got[-1]["event_id"],)).fetchone()
            acks = [time.perf_counter() - t0]
            polls = []
            for _ in range(5):  # later pages of the same batch (fewer when the outbox is small)
                t0 = time.perf_counter()
                got = drainer.execute("select docpal.poll_events('probe', 1000)").fetchone()[0]
                polls.append(time.perf_counter() - t0)
                if len(got) < 1000:
                    break
                t0 = time.perf_counter()
                drainer.execute("select docpal.ack_events('probe', %s)", (got[-1]["event_id"],)).fetchone()
                acks.append(time.perf_counter() - t0)
            t_poll, t_ack = median(polls), median(acks)
            open_plan = drainer.execute(sql.SQL(
                "explain (analyze, costs off, timing on) select min(e.id), max(e.id) from {} e"
                " where e.xid >= pg_snapshot_xmin(%s::pg_snapshot) and e.xid < pg_snapshot_xmax(%s::pg_snapshot)"
                " and pg_visible_in_snapshot(e.xid, %s::pg_snapshot)"
                " and not pg_visible_in_snapshot(e.xid, %s::pg_snapshot)").format(s.events),
                (done_snap, batch_snap, batch_snap, done_snap)).fetchall()
            page_plan = drainer.execute(sql.SQL(
                "explain (analyze, costs off, timing on)"
                " select jsonb_agg(jsonb_build_object('event_id', e.id, 'company_id', %s::uuid, 'table', e.\"table\","
                " 'record_id', e.record_id, 'action', e.action, 'version', e.version, 'changed', e.changed,"
                " 'user_id', e.user_id, 'at', e.at) || case when e.workflow is null then '{{}}'::jsonb"
                " else jsonb_build_object('workflow', e.workflow) end order by e.id), max(e.id)"
                " from (select * from {} e where e.id > %s and e.id <= %s"
                " and pg_visible_in_snapshot(e.xid, %s::pg_snapshot) and not pg_visible_in_snapshot(e.xid, %s::pg_snapshot)"
                " order by e.id limit 1000) e").format(s.events),
                (s.company, acked, batch_last, batch_snap, done_snap)).fetchall()
        print(f"    first poll (opens the batch: min/max over the outbox) {t_open * 1e3:.1f} ms;"
              f" later polls {t_poll * 1e3:.1f} ms, ack {t_ack * 1e3:.2f} ms (medians);"
              f" a poll of the same page as text {t_text * 1e3:.1f} ms + client json.loads {t_decode * 1e3:.1f} ms")
        print("    EXPLAIN ANALYZE, batch opening:")
        for (line,) in open_plan:
            print(f"      | {line}")
        print("    EXPLAIN ANALYZE, one page of 1000:")
        for (line,) in page_plan:
            print(f"      | {line}")
        out.update(open=t_open, poll=t_poll, ack=t_ack, text=t_text, decode=t_decode)

        # The holder, last consumer: its batch closes and retention empties the outbox.
        t, seen = drain_docpal(drainer, "hold", 1000)
        left = count(s.on, s.events)
        print(f"  retention: consumer 'hold' drains {seen:,} events with B=1000 in {t:.2f} s"
              f" ({seen / t:,.0f} events/s), closing its batch; outbox left: {left:,} events", flush=True)
        out["hold"] = (seen, t, left)
    finally:
        drainer.close()
    return out


# ==============================================================================================
# 4. NOTIFY latency
# ==============================================================================================

class Listener(threading.Thread):
    def __init__(self, url: str, channel: str):
        super().__init__(daemon=True)
        self.url = url
        self.channel = channel
        self.ready = threading.Event()
        self.cond = threading.Condition()
        self.got: dict[str, float] = {}
        self.log: list[tuple[float, str, str]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(sql.SQL("listen {}").format(sql.Identifier(self.channel)))
                conn.execute("listen plain_events")
                self.ready.set()
                for n in conn.notifies():
                    t = time.perf_counter()
                    if n.channel == "plain_events" and n.payload == "stop":
                        break
                    if n.channel == "plain_events":
                        key = "plain:" + n.payload
                    else:
                        p = json.loads(n.payload)
                        key = f"docpal:{p.get('record_id') or p.get('first_event_id')}"
                    with self.cond:
                        self.got[key] = t
                        self.log.append((t, n.channel, n.payload))
                        self.cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc
            self.ready.set()

    def wait(self, key: str, timeout: float = 5.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: key in self.got, timeout):
                raise Failed(f"no notification for {key} within {timeout} s")
            return self.got[key]


def part_latency(s: Setup, w: int) -> dict:
    print(f"\n4. NOTIFY latency, commit returned -> notification received, {w} writes each", flush=True)
    listener = Listener(s.url, s.on.execute("select docpal.event_channel()").fetchone()[0])
    listener.start()
    listener.ready.wait(10)
    if listener.error:
        raise listener.error
    lat: dict[str, list[float]] = {"docpal": [], "plain": []}
    k = 40_000_000
    try:
        for i in range(w + 20):  # the first 20 of each warm up
            for side in (("docpal", "plain") if i % 2 == 0 else ("plain", "docpal")):
                k += 1
                if side == "docpal":
                    rid = s.on.execute(CREATE_ID, (json.dumps(row(k)),), prepare=True).fetchone()[0]
                    t_commit = time.perf_counter()
                    t_got = listener.wait(f"docpal:{rid}")
                else:
                    rid = s.on.execute(PLAIN_NOTIFY, row_params(row(k)), prepare=True).fetchone()[0]
                    t_commit = time.perf_counter()
                    t_got = listener.wait(f"plain:{rid}")
                if i >= 20:
                    lat[side].append((t_got - t_commit) * 1e3)

        # Checks: payload keys; one summary for a statement over the limit; nothing from events off.
        mark = len(listener.log)
        docpal_payloads = [json.loads(p) for _, ch, p in listener.log if ch == listener.channel]
        bad = [p for p in docpal_payloads if set(p) != PAYLOAD_KEYS]
        if bad:
            raise Failed(f"notification payloads with other keys than documented: {bad[:3]}")
        s.off.execute(CREATE, (json.dumps(row(k + 1)),)).fetchone()
        s.on.execute(CREATE_MANY, (json.dumps([row(k + 2 + i) for i in range(101)]),)).fetchone()
        time.sleep(0.5)
        with listener.cond:
            new = [json.loads(p) for _, ch, p in listener.log[mark:] if ch == listener.channel]
        if len(new) != 1 or new[0].get("count") != 101 or new[0].get("company_id") != str(s.company):
            raise Failed(f"after an events-off write and a create_records of 101 rows: notifications {new}")
        print(f"  checks: {len(docpal_payloads)} payloads with the documented keys; create_records of 101 rows"
              f" -> one summary {json.dumps(new[0])}; events-off write -> none", flush=True)
    finally:
        s.on.execute("select pg_notify('plain_events', 'stop')")
        listener.join(10)
    if listener.error:
        raise listener.error
    out = {}
    for side, values in lat.items():
        out[side] = {"p50": pct(values, 0.5), "p90": pct(values, 0.9), "p99": pct(values, 0.99),
                     "max": max(values), "min": min(values)}
        print(f"  {side:6s} p50 {out[side]['p50']:.3f} ms, p90 {out[side]['p90']:.3f} ms,"
              f" p99 {out[side]['p99']:.3f} ms, max {out[side]['max']:.3f} ms, min {out[side]['min']:.3f} ms",
              flush=True)
    return out


# ==============================================================================================
# 5. a poll without a context: C companies of which 10 active, vs 10 companies
# ==============================================================================================

def make_companies(url: str, n: int, prefix: str) -> list[str]:
    """n companies named <prefix>-NNNNN, each with its outbox (tenant module "data", as its
    first table makes it) and one event; those an earlier run made (--scale-database) are
    kept: the schema names of the first n, in company order. A new connection every
    MAKER_BATCH companies: a PostgreSQL 15 backend that has written into thousands of
    schemas pays for each invalidation message in proportion to what it has cached
    (its trigger functions' plans, one compiled copy per table), so one connection
    making 10,000 companies slowed from 57 ms to 270 ms per company by 1,700."""
    conn = psycopg.connect(url, autocommit=True)
    try:
        have = conn.execute("select count(*) from docpal_private.companies where slug like %s",
                            (f"{prefix}-%",)).fetchone()[0]
        t0 = time.perf_counter()
        for i in range(have, n):
            if (i - have) % MAKER_BATCH == MAKER_BATCH - 1:
                conn.close()
                conn = psycopg.connect(url, autocommit=True)
            cid = conn.execute("select docpal.create_company(%s, %s)",
                               (f"{prefix}-{i:05d}", f"{prefix} {i}")).fetchone()[0]
            schema = conn.execute("select schema_name from docpal_private.companies where id = %s",
                                  (cid,)).fetchone()[0]
            with conn.transaction():
                conn.execute("set local role docpal_owner")
                conn.execute("select docpal_private.data_setup(%s)", (schema,))
                write_event(conn, schema)
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1:,} companies made in {time.perf_counter() - t0:.0f} s", flush=True)
        schemas = [r[0] for r in conn.execute(
            "select schema_name from docpal_private.companies where slug like %s order by number limit %s",
            (f"{prefix}-%", n)).fetchall()]
        for schema in schemas:  # one an interrupted run left without its outbox
            if conn.execute("select to_regclass(%s)", (f"{schema}._events",)).fetchone()[0] is None:
                with conn.transaction():
                    conn.execute("set local role docpal_owner")
                    conn.execute("select docpal_private.data_setup(%s)", (schema,))
        return schemas
    finally:
        conn.close()


def write_event(conn: psycopg.Connection, schema: str) -> None:
    """One event in the company's outbox, as the capture function writes it (its hint included)."""
    conn.execute(sql.SQL("""insert into {} ("table", record_id, action, version, changed)
                            values ('items', gen_random_uuid(), 'INSERT', 1, '{{title}}')""").format(
        sql.Identifier(schema, "_events")))


def poll_ack(conn: psycopg.Connection, consumer: str, b: int) -> tuple[float, int]:
    """One transaction of poll_events + ack_events: (seconds, events)."""
    t0 = time.perf_counter()
    with conn.transaction():
        events = conn.execute("select docpal.poll_events(%s, %s)", (consumer, b), prepare=True).fetchone()[0]
        if events:
            conn.execute("select docpal.ack_events(%s, %s)", (consumer, events[-1]["event_id"]), prepare=True)
    return time.perf_counter() - t0, len(events)


def part_scale(s: Setup, c: int, rounds: int, keep: str | None) -> dict:
    print(f"\n5. poll_events without a context: {c:,} companies of which {ACTIVE} active vs {ACTIVE} companies"
          f" (a second database of the same cluster)", flush=True)
    base = s.url.rsplit("/", 1)[1].split("?")[0]
    small_db = f"{base}_small"
    s.on.execute(sql.SQL("create database {}").format(sql.Identifier(small_db)))
    small_url = benchdb.with_dbname(s.url, small_db)
    big_url = s.url
    if keep:
        # the C companies in a database kept between runs (made once, topped up)
        if not s.on.execute("select 1 from pg_database where datname = %s", (keep,)).fetchone():
            s.on.execute(sql.SQL("create database {}").format(sql.Identifier(keep)))
        big_url = benchdb.with_dbname(s.url, keep)
        deploy.migrate(big_url)
        print(f"  the {c:,} companies: database {keep} (kept)", flush=True)
    maker = psycopg.connect(big_url, autocommit=True)  # writes the rounds' events
    try:
        deploy.migrate(small_url)
        small_maker = psycopg.connect(small_url, autocommit=True)
        try:
            t0 = time.perf_counter()
            big_schemas = make_companies(big_url, c, "scale")
            t_make = time.perf_counter() - t0
            small_schemas = make_companies(small_url, ACTIVE, "small")
            # the consumers: a service worker's connection of its own in each database
            # (not the one that made thousands of schemas and holds their catalog rows)
            big = psycopg.connect(big_url, autocommit=True)
            small = psycopg.connect(small_url, autocommit=True)
            active = [big_schemas[(k * c) // ACTIVE] for k in range(ACTIVE)]
            t0 = time.perf_counter()
            first = 0
            # the consumer's first pass through every company: its first poll (the
            # transaction that makes its sweep row) visits and records nothing, so
            # the pass is done when a later poll has found nothing new
            empty = 0
            while empty < 2:
                t, got = poll_ack(big, "scale", 500)
                first += got
                empty = 0 if got else empty + 1
            t_pass = time.perf_counter() - t0
            empty = 0
            while empty < 2:
                empty = 0 if poll_ack(small, "scale", 500)[1] else empty + 1
            hints0 = maker.execute("select count(*) from docpal_private.event_hints").fetchone()[0]
            print(f"  {c:,} companies made in {t_make:.0f} s; the consumer's first pass: {first:,} events in"
                  f" {t_pass:.1f} s; {hints0:,} hints kept; load average"
                  f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            res: dict[str, list[float]] = {k: [] for k in ("big", "small", "big_idle", "small_idle", "big_cpu",
                                                           "small_cpu", "big_idle_cpu", "small_idle_cpu")}
            for r in range(rounds + 1):
                for schema in active:
                    write_event(maker, schema)
                for schema in small_schemas:
                    write_event(small_maker, schema)
                t = {}
                for side, conn in ((("big", big), ("small", small)) if r % 2 == 0 else (("small", small), ("big", big))):
                    c0 = backend_cpu(conn)
                    t[side], got = poll_ack(conn, "scale", 500)
                    t[side + "_cpu"] = cpu_since(conn, c0)
                    if got != ACTIVE:
                        raise Failed(f"a poll of the {side} database got {got} events, not {ACTIVE}")
                    c0 = backend_cpu(conn)
                    t[side + "_idle"], got = poll_ack(conn, "scale", 500)
                    t[side + "_idle_cpu"] = cpu_since(conn, c0)
                    if got:
                        raise Failed(f"a poll of the {side} database with nothing new got {got} events")
                label = "warm-up" if r == 0 else f"round {r}/{rounds}"
                cpu = (f"; backend CPU {t['big_cpu'] * 1e3:.2f} / {t['small_cpu'] * 1e3:.2f} ms, nothing new"
                       f" {t['big_idle_cpu'] * 1e3:.2f} / {t['small_idle_cpu'] * 1e3:.2f} ms"
                       if t["big_cpu"] is not None and t["small_cpu"] is not None else "")
                print(f"  {label:12s} poll+ack of {ACTIVE} new events: {c:,} companies {t['big'] * 1e3:6.2f} ms,"
                      f" {ACTIVE} companies {t['small'] * 1e3:6.2f} ms; nothing new: {t['big_idle'] * 1e3:6.2f} /"
                      f" {t['small_idle'] * 1e3:6.2f} ms{cpu}", flush=True)
                if r:
                    for k in res:
                        res[k].append(t[k])
            hints = maker.execute("select count(*) from docpal_private.event_hints").fetchone()[0]
            big.close()
            small.close()
        finally:
            small_maker.close()
    finally:
        maker.close()
        s.on.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(small_db)))
    cpu = None not in res["big_cpu"] + res["small_cpu"] + res["big_idle_cpu"] + res["small_idle_cpu"]
    out = {k: median(v) for k, v in res.items() if cpu or not k.endswith("_cpu")}
    out["ratio"] = median(b / m for b, m in zip(res["big"], res["small"]))
    out["idle_ratio"] = median(b / m for b, m in zip(res["big_idle"], res["small_idle"]))
    if cpu:
        out["cpu_ratio"] = median(b / m for b, m in zip(res["big_cpu"], res["small_cpu"]))
        out["idle_cpu_ratio"] = median(b / m for b, m in zip(res["big_idle_cpu"], res["small_idle_cpu"]))
    out.update(companies=c, make=t_make, first_pass=t_pass, hints=hints)
    print(f"  event_hints rows left: {hints}", flush=True)
    return out


# ==============================================================================================

def bench(url: str, n: int, e: int, w: int, c: int, parts: tuple[str, ...], tiny: bool,
          keep: str | None = None) -> int:
    deploy.migrate(url)
    s = Setup(url)
    try:
        version = s.on.execute("select version()").fetchone()[0].split(",")[0]
        fsync, sync = (s.on.execute(f"show {x}").fetchone()[0] for x in ("fsync", "synchronous_commit"))
        head = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent.parent), "log", "--oneline", "-1"],
                              check=False, capture_output=True, text=True).stdout.strip()
        load = os.getloadavg()
        print(f"companies: {s.schema} (events on), {s.off_schema} (events off); {version}; fsync = {fsync},"
              f" synchronous_commit = {sync}; {os.cpu_count()} CPUs, load average"
              f" {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; HEAD {head or '?'}", flush=True)
        single = part_single(s, n) if "single" in parts else None
        bulk = part_bulk(s, n) if "bulk" in parts else None
        drain = part_drain(s, e) if "drain" in parts else None
        latency = part_latency(s, w) if "latency" in parts else None
        scale = part_scale(s, c, 3 if tiny else 7, keep) if "scale" in parts else None
    finally:
        s.close()

    def ok(flag: bool) -> str:
        return "ok" if flag else "MISSED"

    print("\n" + "=" * 78)
    if single:
        print(f"1. create_record x {n}: events on {single['on'] * 1e6:.1f} µs/row, events off {single['off'] * 1e6:.1f}"
              f" µs/row, plain INSERT {single['plain'] * 1e6:.1f} µs/row; speed ratio off/on {single['ratio']:.2f}"
              f" (goal >= 0.8: {ok(single['ratio'] >= 0.8)}); plain/on {single['plain_ratio']:.2f}")
    if bulk:
        print(f"2. create_records of {n} rows: per-row NOTIFY {bulk['per-row'] * 1e3:.1f} ms, default (summary)"
              f" {bulk['default'] * 1e3:.1f} ms, events off {bulk['off'] * 1e3:.1f} ms, plain {bulk['plain'] * 1e3:.1f} ms;"
              f" per-row/default {bulk['default/per-row']:.2f}, speed ratio off/default {bulk['off/default']:.2f},"
              f" off/per-row {bulk['off/per-row']:.2f}, plain/default {bulk['plain/default']:.2f}")
    if drain:
        for b, x in drain["by_batch"].items():
            goal = 40000 if b == 500 else 20000
            cpu = (f"; per backend CPU second docpal {x['cpu_docpal']:,.0f} events, speed ratio {x['cpu_ratio']:.2f}"
                   if x["cpu_ratio"] else "")
            print(f"3. drain of {drain['total']:,} events, B={b}: docpal {x['docpal']:,.0f} events/s"
                  f" (goal > {goal:,}: {ok(x['docpal'] > goal)}), plain {x['plain']:,.0f} events/s,"
                  f" speed ratio docpal/plain {x['ratio']:.2f}{cpu}")
        print(f"   poll of 1000: {drain['poll'] * 1e3:.1f} ms, ack {drain['ack'] * 1e3:.2f} ms, batch opening"
              f" {drain['open'] * 1e3:.1f} ms; retention drain {drain['hold'][0]:,} events in {drain['hold'][1]:.2f} s,"
              f" outbox left {drain['hold'][2]}")
    if latency:
        for side, x in latency.items():
            goal = f" (goal p99 < 20 ms: {ok(x['p99'] < 20)})" if side == "docpal" else ""
            print(f"4. NOTIFY latency, {side} x {w}: p50 {x['p50']:.2f} ms, p90 {x['p90']:.2f} ms,"
                  f" p99 {x['p99']:.2f} ms, max {x['max']:.2f} ms{goal}")
    if scale:
        print(f"5. poll at scale, poll+ack of {ACTIVE} new events: {scale['companies']:,} companies"
              f" {scale['big'] * 1e3:.2f} ms vs {ACTIVE} companies {scale['small'] * 1e3:.2f} ms, ratio"
              f" {scale['ratio']:.2f} (goal about 1, <= 1.5: {ok(scale['ratio'] <= 1.5)}); nothing new"
              f" {scale['big_idle'] * 1e3:.2f} vs {scale['small_idle'] * 1e3:.2f} ms, ratio {scale['idle_ratio']:.2f};"
              f" first pass {scale['first_pass']:.1f} s")
        if "cpu_ratio" in scale:
            print(f"   backend CPU: {scale['big_cpu'] * 1e3:.2f} vs {scale['small_cpu'] * 1e3:.2f} ms, ratio"
                  f" {scale['cpu_ratio']:.2f}; nothing new {scale['big_idle_cpu'] * 1e3:.2f} vs"
                  f" {scale['small_idle_cpu'] * 1e3:.2f} ms, ratio {scale['idle_cpu_ratio']:.2f};"
                  f" event_hints left {scale['hints']:,}")
    print("=" * 78)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None,
                        help=f"single create_record calls per round in 1, rows of the create_records in 2"
                             f" (default {FULL['rows']})")
    parser.add_argument("--events", type=int, default=None,
                        help=f"events in the outbox to drain in 3 (default {FULL['events']})")
    parser.add_argument("--notify-writes", type=int, default=None,
                        help=f"timed writes per side in 4 (default {FULL['notify_writes']})")
    parser.add_argument("--companies", type=int, default=None,
                        help=f"companies in the big database of 5 (default {FULL['companies']:,})")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"which parts to run, comma-separated (default all: {','.join(PARTS)})")
    parser.add_argument("--tiny", action="store_true",
                        help=f"a quick run: {TINY['rows']} rows, {TINY['events']} events,"
                             f" {TINY['notify_writes']} writes, {TINY['companies']} companies (explicit options still win)")
    parser.add_argument("--scale-database", default=None, metavar="NAME",
                        help="part 5: make the companies in database NAME of the same server and keep it, so"
                             " that a later run with the same NAME (and --database-url) reuses them")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    sizes = dict(TINY if args.tiny else FULL)
    for key in ("rows", "events", "notify_writes", "companies"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    if sizes["rows"] < 1 or sizes["events"] < 1 or sizes["notify_writes"] < 1 or sizes["companies"] < ACTIVE:
        parser.error(f"--rows, --events and --notify-writes must be at least 1, --companies at least {ACTIVE}")
    parts = tuple(p for p in args.parts.split(",") if p)
    if not parts or set(parts) - set(PARTS):
        parser.error(f"--parts: a comma-separated list of {', '.join(PARTS)}")
    with benchdb.fresh_database(args.database_url) as url:
        try:
            return bench(url, sizes["rows"], sizes["events"], sizes["notify_writes"], sizes["companies"], parts,
                         args.tiny, args.scale_database)
        except Failed as exc:
            print(f"FAILED: {exc}")
            return 1


if __name__ == "__main__":
    sys.exit(main())
