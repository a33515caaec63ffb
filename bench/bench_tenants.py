"""Benchmark of docpal's tenant lifecycle: creating and upgrading company schemas.

What is measured, on a fresh database:

1. ``docpal.create_company(slug, name)``, N times, each call its own autocommit
   statement, against the plain-SQL equivalent: ``create schema`` plus exactly
   the DDL a new company gets (the baseline ``docpal_private.tenant_baseline()``
   and the base steps after it in ``docpal_private.tenant_steps``, formatted
   with the schema name in Python), sent as one script in one transaction per
   schema, in a sibling database (docpal installed, no company) so that each
   catalog holds N tenants, as a database of N companies does. The two loops
   are interleaved so that both see a catalog growing alike; the medians of the first 100 and of the last 100 are printed
   (at N companies), with the ratio docpal/plain of each.
2. A tenant template change (a temporary step adding a column to
   ``_catalog`` and an index on it) rolled out by
   ``deploy.migrate(url, extra_tenant_dirs=...)`` to all N company schemas,
   against the same ALTER TABLE + CREATE INDEX run by hand on the N plain
   schemas, one transaction each. Every company must reach the new
   ``schema_version``; if one does not, the script exits 1.

3. ``docpal migrate`` with nothing to do (``deploy.migrate(url)``), after the
   first 100 companies and at the end (N companies): median of 3 runs each.

Goals (reported, not enforced): create_company < 30 ms per company at 10,000
companies, the upgrade of 1,000 company schemas < 60 s, and a no-op migrate
as fast at N companies as at 100.

Run:  .venv/bin/python bench/bench_tenants.py [--companies N] [--database-url URL]

Without a URL (argument or $DATABASE_URL) it starts a throw-away PostgreSQL
cluster (docpal.embedded, durable settings) and removes it afterwards; with a
URL it creates a database docpal_bench_<hex> on that server and drops it.
"""

from __future__ import annotations

import argparse
import os
import sys
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

import benchdb
from docpal import deploy, resources

STEP_SQL = """\
-- benchmark only: a realistic template change
alter table {{ schema }}._catalog add column archived_at timestamptz;
create index _catalog_archived_at_idx on {{ schema }}._catalog (archived_at);
"""


def fill(statement: str, schema: str) -> str:
    """Python equivalent of format(statement, schema) for the stored steps."""
    return statement.replace("%1$I", schema).replace("%%", "%")


def step_statements(conn: psycopg.Connection, after: int = 0) -> list[str]:
    # the base template only: modules (outbox, permissions, ...) are made on first use
    rows = conn.execute("select s.statements from docpal_private.tenant_steps s"
                        " where s.module = 'base' and s.version > %s order by s.version", (after,)).fetchall()
    return [stmt for (statements,) in rows for stmt in statements]


def new_company_statements(conn: psycopg.Connection) -> list[str]:
    """What create_company runs in a new schema: the baseline, then the base steps after it."""
    version, baseline = conn.execute("select version, statements from docpal_private.tenant_baseline()").fetchone()
    return [*baseline, *step_statements(conn, after=version)]


def migrate_noop(url: str, rounds: int = 3) -> float:
    """Median seconds of `docpal migrate` with nothing to do."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = deploy.migrate(url)
        times.append(time.perf_counter() - t0)
        if result.upgrade.upgraded or result.upgrade.failed:
            print(f"  WARNING: a no-op migrate upgraded {result.upgrade.upgraded} companies", flush=True)
    return statistics.median(times)


def timed_loop(n: int, *actions, start: int = 0, times: list[list[float]] | None = None) -> list[float]:
    """Run each action(i) for i in range(start, n), interleaved; total seconds per action
    (and each call's seconds appended to times[k], when given)."""
    totals = [0.0] * len(actions)
    for i in range(start, n):
        for k, action in enumerate(actions):
            t0 = time.perf_counter()
            action(i)
            took = time.perf_counter() - t0
            totals[k] += took
            if times is not None:
                times[k].append(took)
        if times is not None and (i + 1) % 1000 == 0:
            last = [window_ms(t[-100:]) for t in times]
            print(f"  at {i + 1}: last 100 medians " + ", ".join(f"{ms:.2f} ms" for ms in last)
                  + (f", ratio {last[0] / last[1]:.2f}" if len(last) == 2 else "")
                  + f"; load {os.getloadavg()[0]:.2f}", flush=True)
    return totals


def window_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


@contextmanager
def plain_database(url: str) -> Iterator[str]:
    """A sibling database for the plain schemas, with docpal installed (their
    triggers call its functions) but no company: each side's catalog then
    holds N tenants, as a real database of N companies does."""
    name = f"{urlsplit(url).path.lstrip('/')}_plain"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    plain_url = benchdb.with_dbname(url, name)
    try:
        deploy.migrate(plain_url)
        yield plain_url
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def bench(url: str, n: int) -> int:
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    deploy.migrate(url)
    with plain_database(url) as plain_url, psycopg.connect(url, autocommit=True) as auto, \
            psycopg.connect(plain_url) as tx:
        template = new_company_statements(auto)
        version = auto.execute("select max(version) from docpal_private.tenant_steps where module = 'base'"
                               ).fetchone()[0]
        plain = [f"plain_{i:05d}" for i in range(n)]

        def docpal_create(i: int) -> None:
            auto.execute("select docpal.create_company(%s, %s)", (f"bench-{i:05d}", f"Bench {i}"))

        def plain_create(i: int) -> None:
            tx.execute(";\n".join([f"create schema {plain[i]}", *(fill(s, plain[i]) for s in template)]))
            tx.commit()

        print(f"creating {n} companies and {n} plain schemas "
              f"(tenant template v{version}, {len(template)} statements) ...", flush=True)
        first = min(100, n)
        times: list[list[float]] = [[], []]
        t_docpal, t_plain = timed_loop(first, docpal_create, plain_create, times=times)
        first_ms, first_plain_ms = window_ms(times[0]), window_ms(times[1])
        noop_first = migrate_noop(url)
        t_docpal_rest, t_plain_rest = timed_loop(n, docpal_create, plain_create, start=first, times=times)
        t_docpal, t_plain = t_docpal + t_docpal_rest, t_plain + t_plain_rest
        create_ms, plain_ms = window_ms(times[0][-100:]), window_ms(times[1][-100:])
        print(f"  docpal.create_company, first {first}: {first_ms:8.2f} ms median, "
              f"plain SQL {first_plain_ms:8.2f} ms, ratio {first_ms / first_plain_ms:.2f}")
        print(f"  docpal.create_company, last 100 (at {n}): {create_ms:8.2f} ms median, "
              f"plain SQL {plain_ms:8.2f} ms, ratio {create_ms / plain_ms:.2f}")
        print(f"  all {n}: docpal {t_docpal:.2f} s, plain SQL {t_plain:.2f} s; "
              f"at {n} / first {first}: docpal {create_ms / first_ms:.2f}x, plain {plain_ms / first_plain_ms:.2f}x")

        with tempfile.TemporaryDirectory(prefix="docpal-bench-step-") as stepdir:
            highest = max(int(p.name[:4]) for p in (resources.template_root() / "sql/tenant").glob("[0-9]*.sql"))
            (Path(stepdir) / f"{highest + 1:04d}_bench_change.sql").write_text(STEP_SQL)
            print(f"upgrading {n} company schemas to v{highest + 1} (deploy.migrate) ...", flush=True)
            t0 = time.perf_counter()
            result = deploy.migrate(url, extra_tenant_dirs=(Path(stepdir),))
            t_upgrade = time.perf_counter() - t0
        target = result.upgrade.target_version
        change = step_statements(auto, after=version)
        in_proc = auto.execute("select extract(epoch from finished_at - started_at) from"
                               " docpal_private.tenant_upgrade_runs order by id desc limit 1").fetchone()[0]
        behind = auto.execute("select slug, schema_version from docpal_private.companies"
                              " where schema_version < %s order by slug", (target,)).fetchall()
        print(f"  deploy.migrate:        {t_upgrade:8.2f} s, {t_upgrade * 1000 / n:.2f} ms per schema "
              f"(upgrade_tenants() alone: {float(in_proc):.2f} s)")
        print(f"  upgraded: {result.upgrade.upgraded}, failed: {len(result.upgrade.failed)}, "
              f"behind v{target} in the database: {len(behind)}")
        for item in result.upgrade.failed[:10]:
            print(f"    FAILED {item['company']}: {item.get('error')}")
        for slug, v in behind[:10]:
            print(f"    BEHIND {slug}: schema_version {v}")

        def plain_upgrade(i: int) -> None:
            tx.execute(";\n".join(fill(s, plain[i]) for s in change))
            tx.commit()

        (t_plain_up,) = timed_loop(n, plain_upgrade)
        print(f"  plain SQL:             {t_plain_up:8.2f} s, {t_plain_up * 1000 / n:.2f} ms per schema")

    print(f"docpal migrate with nothing to do, at {n} companies ...", flush=True)
    noop_last = migrate_noop(url)
    print(f"  median of 3: {noop_last:.2f} s (after the first {first} companies: {noop_first:.2f} s)")

    failed = len(behind) or len(result.upgrade.failed)
    print("\n" + "=" * 72)
    print(f"create_company: first {first} {first_ms:.2f} ms, at {n} companies {create_ms:.2f} ms (goal < 30 ms "
          f"at 10,000); plain SQL {first_plain_ms:.2f} / {plain_ms:.2f} ms, ratio {first_ms / first_plain_ms:.2f}x "
          f"/ {create_ms / plain_ms:.2f}x")
    print(f"tenant upgrade of {n} schemas: {t_upgrade:.2f} s (goal < 60 s for 1,000); "
          f"plain SQL {t_plain_up:.2f} s, ratio {t_upgrade / t_plain_up:.2f}x")
    print(f"docpal migrate, nothing to do: {noop_last:.2f} s at {n} companies, {noop_first:.2f} s at {first}, "
          f"ratio {noop_last / noop_first:.2f}x (goal: flat)")
    print(f"upgrade failures: {failed}")
    print("=" * 72)
    return 1 if failed else 0



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--companies", type=int, default=10000, help="number of companies (default 10000)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    with benchdb.fresh_database(args.database_url) as url:
        return bench(url, args.companies)

if __name__ == "__main__":
    sys.exit(main())
