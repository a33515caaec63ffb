#!/usr/bin/env python3
"""The cost of the tenant boundary (issue 12), measured against the previous release in one run.

Sections (small functions called from main, each printing its lines):

- ``capture``: a single-row audited UPDATE (plain SQL on a docpal table, the capture trigger
  writing the audit entry, the outbox row and the notifications) with the new notification path
  (queue threshold check, the company's own channel, one empty wake-up, pinned output settings)
  against the old one (one NOTIFY on docpal_events), in the same cluster: the previous release is
  installed from ``git show 179e1ee:sql/docpal.sql`` into a second database. After a warm-up,
  rounds of 100 updates per database, the two alternating update by update so that both see the
  same machine; the ratio is the median of the rounds' ratios. Goal: no slower.
- ``compile``: compiling a member's query whose filter is an ``_or`` of 50, 250 and 500 conditions
  (``query_table`` with limit 1 and no count, so the statement itself costs next to nothing),
  median of several runs, in ms and per condition: linear means the per-condition cost stays flat.
  Goal: 500 conditions (the limit) under 50 ms.
- ``auth``: per transaction, ``authenticate(key, true)`` + a 20-row ``query_table`` against
  ``set_context(..., true)`` + the same query, interleaved rounds. Goal: at most 1.3 x.

Usage: bench/bench_boundary.py [--tiny] [--updates N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from statistics import median, quantiles

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchdb  # noqa: E402
from docpal import deploy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OLD_RELEASE = "179e1ee"
#: capture: updates per database per round, and warm-up updates before the first round
ROUND = 100
WARM_UP = 200


def old_install_script(path: str | None = None) -> str:
    """The full install script of the previous release (from git, or a file given)."""
    if path:
        return Path(path).read_text()
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{OLD_RELEASE}:sql/docpal.sql"],
                           check=True, capture_output=True, text=True).stdout


def install_old(admin_url: str, script: str | None) -> str:
    """A second database of the same cluster with the previous release; returns its URL."""
    dbname = f"docpal_bench_old_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
    url = benchdb.with_dbname(admin_url, dbname)
    subprocess.run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-"],
                   input=old_install_script(script), check=True, capture_output=True, text=True)
    return url


def drop_database(admin_url: str, url: str) -> None:
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))


def prepare_writer(url: str) -> tuple[psycopg.Connection, str]:
    """A connection with the bench company in context, its items table and one row: (conn, row id)."""
    conn = psycopg.connect(url, autocommit=True)
    benchdb.company_in_context(conn)
    conn.execute("select docpal.create_table(%s)", (psycopg.types.json.Jsonb(benchdb.SPEC),))
    rid = conn.execute(f"insert into {schema_of(conn)}.{benchdb.SLUG} (title, amount) values ('x', 1) returning id"
                       ).fetchone()[0]
    return conn, rid


def schema_of(conn: psycopg.Connection) -> str:
    return conn.execute("select schema_name from docpal_private.companies where slug = 'bench'").fetchone()[0]


def timed_updates(conn: psycopg.Connection, rid: str, statement: str) -> float:
    """One single-row UPDATE (autocommit: its own transaction, the notification goes out at
    commit); seconds."""
    start = time.perf_counter()
    conn.execute(statement, (rid,))
    return time.perf_counter() - start


def capture(admin_url: str, new_url: str, updates: int, script: str | None = None) -> None:
    old_url = install_old(admin_url, script)
    try:
        new, new_id = prepare_writer(new_url)
        old, old_id = prepare_writer(old_url)
        statements = {name: f"update {schema_of(conn)}.{benchdb.SLUG} set amount = amount + 1 where id = %s"
                      for name, conn in (("new", new), ("old", old))}
        # Warm-up: both sessions past the plan cache's five custom plans and their caches filled.
        for _ in range(min(WARM_UP, updates)):
            timed_updates(new, new_id, statements["new"])
            timed_updates(old, old_id, statements["old"])
        # Rounds of ROUND updates per database; within a round the two alternate update by
        # update (which one goes first alternates too), so both see the same machine. Each round
        # gives a median per database and their ratio; the result is the median over rounds,
        # which a burst of other load (or a checkpoint) in a few rounds does not move.
        rounds = max(1, updates // ROUND)
        medians: dict[str, list[float]] = {"new": [], "old": []}
        for r in range(rounds):
            times: dict[str, list[float]] = {"new": [], "old": []}
            for i in range(ROUND):
                order = (("new", new, new_id), ("old", old, old_id)) if (i + r) % 2 else \
                        (("old", old, old_id), ("new", new, new_id))
                for name, conn, rid in order:
                    times[name].append(timed_updates(conn, rid, statements[name]))
            for name in times:
                medians[name].append(median(times[name]))
        ratios = [n / o for n, o in zip(medians["new"], medians["old"])]
        new_ms, old_ms = (median(medians[k]) * 1000 for k in ("new", "old"))
        print(f"capture: single-row audited UPDATE, {rounds} rounds of {ROUND} each (after {min(WARM_UP, updates)} "
              f"warm-up): new {new_ms:.3f} ms, old ({OLD_RELEASE}) {old_ms:.3f} ms, medians of round medians; "
              f"ratio new/old {median(ratios):.2f} (median of round ratios; quartiles "
              f"{quantiles(ratios, n=4)[0]:.2f}..{quantiles(ratios, n=4)[2]:.2f})" if rounds > 1 else
              f"capture: single-row audited UPDATE, {ROUND} each: new {new_ms:.3f} ms, old ({OLD_RELEASE}) "
              f"{old_ms:.3f} ms median; ratio new/old {new_ms / old_ms:.2f}")
        new.close()
        old.close()
    finally:
        drop_database(admin_url, old_url)


def compile_member(url: str) -> psycopg.Connection:
    """A connection acting as a member who holds two read grants on the items table (every column
    of open rows; title and amount of all), so the compiler does its whole member path (grants,
    row filters, cell masks)."""
    conn = psycopg.connect(url, autocommit=True)
    company = conn.execute("select docpal.create_company('bench-compile', 'Bench compile')").fetchone()[0]
    owner, member = (conn.execute("select docpal.create_user(%s, %s)", (f"compile-{who}@example.com", who)).fetchone()[0]
                     for who in ("owner", "member"))
    conn.execute("select docpal.add_member(%s, %s, 'owner')", (company, owner))
    conn.execute("select docpal.add_member(%s, %s, 'member')", (company, member))
    conn.execute("select docpal.set_context(%s, %s, false)", (company, owner))
    conn.execute("select docpal.create_table(%s)", (psycopg.types.json.Jsonb(benchdb.SPEC),))
    for role, spec in (("wide", {"row_filter": {"status": "open"}}), ("narrow", {"columns": ["title", "amount"]})):
        conn.execute("select docpal.create_role(%s)", (role,))
        conn.execute("select docpal.grant_permission(%s, %s, '{read}', %s)",
                     (role, benchdb.SLUG, psycopg.types.json.Jsonb(spec)))
        conn.execute("select docpal.assign_role(%s, %s)", (member, role))
    conn.execute("select docpal.set_context(%s, %s, false)", (company, member))
    return conn


def compile_section(url: str, runs: int) -> None:
    conn = compile_member(url)
    results = {}
    for n in (10, 50, 250, 500):
        spec = psycopg.types.json.Jsonb({"filters": {"_or": [{"title": f"t{i}"} for i in range(n)]},
                                         "limit": 1, "count": "none"})
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            conn.execute("select docpal.query_table(%s, %s)", (benchdb.SLUG, spec))
            times.append((time.perf_counter() - start) * 1000)
        results[n] = median(times)
    conn.close()
    print("compile: member query, _or of N conditions, median of %d: %s; per condition %s ms" % (
        runs, ", ".join(f"{n}: {results[n]:.1f} ms" for n in (50, 250, 500)),
        " / ".join(f"{results[n] / n:.3f}" for n in (50, 250, 500))))


def auth_section(url: str, rounds: int, per_round: int) -> None:
    """Per transaction: authenticate(key, true) + a 20-row query_table, against set_context(...,
    true) + the same query, on one connection each, in interleaved rounds; medians of the rounds'
    medians. Goal: at most 1.3 x."""
    setup = psycopg.connect(url, autocommit=True)
    company = setup.execute("select docpal.create_company('bench-auth', 'Bench auth')").fetchone()[0]
    owner = setup.execute("select docpal.create_user('auth-owner@example.com', 'Owner')").fetchone()[0]
    setup.execute("select docpal.add_member(%s, %s, 'owner')", (company, owner))
    setup.execute("select docpal.set_context(%s, %s, false)", (company, owner))
    setup.execute("select docpal.create_table(%s)", (psycopg.types.json.Jsonb(benchdb.SPEC),))
    setup.execute(f"insert into {setup.execute('select docpal.get_company(%s)->>%s', (str(company), 'schema')).fetchone()[0]}"
                  f".{benchdb.SLUG} (title, amount) select 't' || i, i from generate_series(1, 200) i")
    key = setup.execute("select docpal.create_api_key('bench', %s, '{read}', '{\"rate_limit_per_minute\": 1000000}')",
                        (owner,)).fetchone()[0]["key"]
    setup.close()
    spec = psycopg.types.json.Jsonb({"sort": ["amount"], "limit": 20})
    query = "select docpal.query_table(%s, %s)"
    by_key, by_service = psycopg.connect(url), psycopg.connect(url)

    def one_tx(conn: psycopg.Connection, first: str, args: tuple) -> float:
        start = time.perf_counter()
        with conn.transaction():
            conn.execute(first, args)
            rows = conn.execute(query, (benchdb.SLUG, spec)).fetchone()[0]["rows"]
        assert len(rows) == 20
        return time.perf_counter() - start

    ways = {"key": (by_key, "select docpal.authenticate(%s, true)", (key,)),
            "service": (by_service, "select docpal.set_context(%s, %s, true)", (company, owner))}
    for name, (conn, first, args) in ways.items():  # warm both sessions
        for _ in range(20):
            one_tx(conn, first, args)
    medians: dict[str, list[float]] = {"key": [], "service": []}
    for r in range(rounds):
        for name in (("key", "service") if r % 2 else ("service", "key")):
            conn, first, args = ways[name]
            medians[name].append(median(one_tx(conn, first, args) for _ in range(per_round)))
    key_ms, service_ms = (median(medians[k]) * 1000 for k in ("key", "service"))
    print(f"auth: per transaction, authenticate(key, true) + 20-row query_table {key_ms:.3f} ms, "
          f"set_context(..., true) + the same {service_ms:.3f} ms ({rounds} rounds of {per_round}); "
          f"ratio key/service {key_ms / service_ms:.2f}")
    by_key.close()
    by_service.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a quick run (200 updates)")
    parser.add_argument("--updates", type=int, default=None, help="single-row UPDATEs per database (default 5000)")
    parser.add_argument("--old-script", default=None, metavar="FILE",
                        help=f"install script of the old release (default: git show {OLD_RELEASE}:sql/docpal.sql)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    updates = args.updates if args.updates is not None else (200 if args.tiny else 5000)
    with benchdb.fresh_database(args.database_url) as url:
        deploy.migrate(url)
        admin_url = benchdb.with_dbname(url, "postgres")
        capture(admin_url, url, updates, args.old_script)
        compile_section(url, 5 if args.tiny else 21)
        auth_section(url, 3 if args.tiny else 11, 20 if args.tiny else 100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
