#!/usr/bin/env python3
"""docpal on a Citus cluster against plain PostgreSQL, measured in one run (issue 14).

Every company on the Citus side is created distributed (the platform setting ``distributed``
turned on for the run, its previous value put back at the end), so its schema lives on a worker
and every call goes through the coordinator. The plain side is a fresh database on
--database-url / $DATABASE_URL or on a throw-away cluster (``benchdb.fresh_database``). Both
sides get ``docpal migrate``. The Citus and plain measurements alternate call by call (which
side goes first alternates too), after a warm-up, so that both see the same machine.

Sections, each printing its lines, then a summary table (measurement, plain, citus, ratio
citus/plain, goal, met):

- ``create``: ``create_company`` + 5 ``create_table`` (three columns each), one company per
  repetition, the time of the whole sequence (add_member and set_context in between are not
  timed). Goal: at most 3 x plain.
- ``query``: a 20-row ``query_table`` (sort by amount, limit 20, exact total) on a table of
  1,000 rows, p50 of many calls in ms. Goal: at most 1.5 x plain.
- ``create_record``: single ``create_record`` calls (autocommit), p50 in ms. Goal: at most
  2 x plain.
- ``move`` (Citus only): a distributed company whose table holds N records (plain ``INSERT ...
  SELECT ... FROM generate_series`` in batches of 50,000, capture triggers firing) moved to the
  other worker by ``citus_schema_move`` (shard_transfer_mode auto: logical replication), then
  back with ``block_writes``; seconds each, and the row count through the coordinator checked
  after each move. Goal: under 60 s for 1,000,000 records.

The companies made on the Citus side (unique slugs) are dropped at the end, even on failure.

Usage: bench/bench_citus.py --citus-url URL [--tiny] [--repeat N] [--queries N] [--records N]
                            [--move-rows N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path
from statistics import median, quantiles

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchdb  # noqa: E402
from docpal import deploy  # noqa: E402

RUN = secrets.token_hex(4)  # unique per run: slugs and emails on the shared Citus cluster
FULL = {"repeat": 10, "queries": 200, "records": 500, "move_rows": 1_000_000}
TINY = {"repeat": 3, "queries": 50, "records": 50, "move_rows": 20_000}
#: rows of the queried table; rows per INSERT (own transaction) when filling the moved company
QUERY_ROWS = 1000
BATCH = 50_000
GOALS = {"create": 3.0, "query": 1.5, "record": 2.0, "move": 60.0}

TABLE_SPECS = [{"slug": f"t{i}", "name": f"T{i}", "columns": [
    {"name": "title", "type": "text", "required": True},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "status", "type": "select", "options": ["a", "b"]}]} for i in range(1, 6)]
#: the table create_record writes into: the columns of benchdb.SPEC under another slug
WRITES = "writes"
WRITES_SPEC = {**benchdb.SPEC, "slug": WRITES, "name": "Writes"}
QUERY_SPEC = {"sort": ["amount"], "limit": 20}
FILL = ("insert into {table} (title, amount, status, due, done, note)"
        " select 'row ' || g, (g %% 100000) / 100.0, (array['open', 'doing', 'done'])[g %% 3 + 1],"
        " date '2024-01-01' + g %% 365, g %% 2 = 0, null from generate_series(%s::int, %s::int) g")


class Side:
    """One database (plain or Citus): a superuser connection without a context, one user who
    owns every company made here, and the companies made (dropped at the end on Citus)."""

    def __init__(self, name: str, url: str, distributed: bool) -> None:
        self.name, self.url, self.distributed = name, url, distributed
        self.admin = psycopg.connect(url, autocommit=True)
        self.user = self.admin.execute("select docpal.create_user(%s, %s)",
                                       (f"bench-citus-{RUN}-{name}@example.com", "Bench")).fetchone()[0]
        self.companies: list = []

    def create_company(self, slug: str) -> tuple[object, float]:
        """A new company (distributed on Citus: checked); (id, seconds of create_company)."""
        if self.distributed:  # untimed; again each time, in case someone turned it off meanwhile
            self.admin.execute("select docpal.set_platform_setting('distributed', 'on')")
        start = time.perf_counter()
        company = self.admin.execute("select docpal.create_company(%s, %s)", (slug, slug)).fetchone()[0]
        elapsed = time.perf_counter() - start
        self.companies.append(company)
        if self.distributed and not self.admin.execute(
                "select exists (select from pg_catalog.pg_dist_schema where schemaid = %s::regnamespace)",
                (self.schema(company),)).fetchone()[0]:
            raise RuntimeError(f"company {slug} was not distributed (is the platform setting 'distributed' on?)")
        self.admin.execute("select docpal.add_member(%s, %s, 'owner')", (company, self.user))
        return company, elapsed

    def schema(self, company) -> str:
        return self.admin.execute("select docpal.get_company(%s)->>'schema'", (str(company),)).fetchone()[0]

    def context(self, company, conn: psycopg.Connection | None = None) -> psycopg.Connection:
        """conn (or a new autocommit connection) in the owner's context of company."""
        conn = conn or psycopg.connect(self.url, autocommit=True)
        conn.execute("select docpal.set_context(%s, %s, false)", (company, self.user))
        return conn


def server(conn: psycopg.Connection) -> str:
    version = conn.execute("show server_version").fetchone()[0]
    citus = conn.execute("select extversion from pg_catalog.pg_extension where extname = 'citus'").fetchone()
    return f"PostgreSQL {version}" + (f", Citus {citus[0]}" if citus else "")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def pcts(times: list[float]) -> str:
    q = quantiles(times, n=10) if len(times) > 1 else times * 9
    return f"p50 {ms(median(times))}, p90 {ms(q[8])}"


def alternate(sides: list[Side], n: int, action) -> dict[str, list[float]]:
    """action(side, i) -> seconds, for i in range(n), the sides alternating call by call (which
    one goes first alternates too); the times per side."""
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    for i in range(n):
        for side in (sides if i % 2 else sides[::-1]):
            times[side.name].append(action(side, i))
    return times


def create_section(sides: list[Side], repeat: int) -> dict[str, list[float]]:
    """create_company + 5 create_table per repetition; one warm-up company per side first."""
    ctx = {s.name: psycopg.connect(s.url, autocommit=True) for s in sides}
    parts: dict[str, list[float]] = {s.name: [] for s in sides}

    def sequence(side: Side, i: int) -> float:
        company, total = side.create_company(f"bench-citus-{RUN}-c{i}")
        conn = side.context(company, ctx[side.name])
        parts[side.name].append(total)
        for spec in TABLE_SPECS:
            start = time.perf_counter()
            conn.execute("select docpal.create_table(%s)", (Jsonb(spec),))
            total += time.perf_counter() - start
        return total

    for side in sides:  # warm-up
        company, _ = side.create_company(f"bench-citus-{RUN}-warm")
        side.context(company, ctx[side.name]).execute("select docpal.create_table(%s)", (Jsonb(TABLE_SPECS[0]),))
    times = alternate(sides, repeat, sequence)
    for conn in ctx.values():
        conn.close()
    for side in sides:
        t = times[side.name]
        print(f"  {side.name:6} create_company + 5 create_table: median {ms(median(t))} (min {ms(min(t))},"
              f" max {ms(max(t))}); create_company alone median {ms(median(parts[side.name]))}")
    return times


def workload_company(side: Side) -> psycopg.Connection:
    """A company with the items table (QUERY_ROWS rows, analyzed) and an empty writes table;
    a connection in its context."""
    company, _ = side.create_company(f"bench-citus-{RUN}-work")
    conn = side.context(company)
    for spec in (benchdb.SPEC, WRITES_SPEC):
        conn.execute("select docpal.create_table(%s)", (Jsonb(spec),))
    schema = side.schema(company)
    conn.execute(FILL.format(table=f"{schema}.{benchdb.SLUG}"), (1, QUERY_ROWS))
    conn.execute(f"analyze {schema}.{benchdb.SLUG}")
    return conn


def warmed_calls(sides: list[Side], n: int, one, label: str) -> dict[str, list[float]]:
    """n timed calls of one per side, alternating, after up to 20 untimed ones; prints p50/p90."""
    alternate(sides, min(20, n), one)  # warm-up
    times = alternate(sides, n, one)
    for side in sides:
        print(f"  {side.name:6} {label}: {pcts(times[side.name])} ({n} calls)")
    return times


def query_section(sides: list[Side], conns: dict[str, psycopg.Connection], n: int) -> dict[str, list[float]]:
    def one(side: Side, i: int) -> float:
        start = time.perf_counter()
        got = conns[side.name].execute("select docpal.query_table(%s, %s)",
                                       (benchdb.SLUG, Jsonb(QUERY_SPEC))).fetchone()[0]
        elapsed = time.perf_counter() - start
        assert len(got["rows"]) == 20 and got["total"] == QUERY_ROWS, (side.name, len(got["rows"]), got["total"])
        return elapsed

    return warmed_calls(sides, n, one, f"query_table, 20 of {QUERY_ROWS} rows")


def record_section(sides: list[Side], conns: dict[str, psycopg.Connection], n: int) -> dict[str, list[float]]:
    def one(side: Side, i: int) -> float:
        data = Jsonb({"title": f"record {i}", "amount": i % 1000, "status": benchdb.STATUSES[i % 3]})
        start = time.perf_counter()
        got = conns[side.name].execute("select docpal.create_record(%s, %s)", (WRITES, data)).fetchone()[0]
        elapsed = time.perf_counter() - start
        assert got["title"] == f"record {i}", got
        return elapsed

    return warmed_calls(sides, n, one, "create_record")


NODE_OF = """select s.nodename, s.nodeport from pg_catalog.pg_dist_partition p
  join citus_shards s on s.table_name = p.logicalrelid
  join pg_catalog.pg_class c on c.oid = p.logicalrelid
 where c.relnamespace = %s::regnamespace limit 1"""


def move_section(citus: Side, rows: int) -> dict[str, float]:
    """Fill a distributed company with rows records, move it to another worker (auto), check the
    count, move it back (block_writes), check again; seconds per move."""
    admin = citus.admin
    company, _ = citus.create_company(f"bench-citus-{RUN}-move")
    conn = citus.context(company)
    conn.execute("select docpal.create_table(%s)", (Jsonb(benchdb.SPEC),))
    schema = citus.schema(company)
    table = f"{schema}.{benchdb.SLUG}"
    start = time.perf_counter()
    for first in range(1, rows + 1, BATCH):  # autocommit: each batch its own transaction
        conn.execute(FILL.format(table=table), (first, min(first + BATCH - 1, rows)))
    load = time.perf_counter() - start
    conn.close()
    admin.execute(f"analyze {table}")
    print(f"  loaded {rows:,} records in {load:.1f} s ({rows / load:,.0f} rows/s, batches of {BATCH:,},"
          f" capture triggers firing)")
    local = admin.execute("""select coalesce(string_agg(c.relname, ', ' order by c.relname), '')
        from pg_catalog.pg_class c where c.relnamespace = %s::regnamespace and c.relkind in ('r', 'p')
         and not exists (select from pg_catalog.pg_dist_partition p where p.logicalrelid = c.oid)""",
                          (schema,)).fetchone()[0]
    if local:
        print(f"  WARNING: tables of the company schema that are not distributed (a move leaves them): {local}")
    result = {}
    for mode in ("auto", "block_writes"):
        size = admin.execute("""select coalesce(sum(s.shard_size), 0) from citus_shards s
            join pg_catalog.pg_class c on c.oid = s.table_name where c.relnamespace = %s::regnamespace""",
                             (schema,)).fetchone()[0]
        source = admin.execute(NODE_OF, (schema,)).fetchone()
        if source is None:
            raise RuntimeError(f"schema {schema} has no shard placement")
        target = admin.execute("""select nodename, nodeport from pg_catalog.pg_dist_node
             where isactive and noderole = 'primary' and shouldhaveshards and (nodename, nodeport) <> (%s, %s)
             order by nodeid limit 1""", source).fetchone()
        if target is None:
            raise RuntimeError("no other worker to move to (pg_dist_node: active primary with shouldhaveshards)")
        # the shards an online move leaves behind on its source are dropped
        # later by Citus; a move back to that node needs them gone (untimed)
        admin.execute("call citus_cleanup_orphaned_resources()")
        start = time.perf_counter()
        admin.execute("select citus_schema_move(%s::regnamespace, %s, %s, %s::citus.shard_transfer_mode)",
                      (schema, target[0], target[1], mode))
        result[mode] = time.perf_counter() - start
        now = admin.execute(NODE_OF, (schema,)).fetchone()
        count = admin.execute(f"select count(*) from {table}").fetchone()[0]
        print(f"  citus_schema_move ({mode}) of {size / 2**20:,.0f} MB from {source[0]}:{source[1]} to"
              f" {target[0]}:{target[1]}: {result[mode]:.2f} s; now on {now[0]}:{now[1]}, {count:,} rows")
        if tuple(now) != tuple(target):
            raise RuntimeError(f"after the move the schema is on {now[0]}:{now[1]}, not {target[0]}:{target[1]}")
        if count != rows:
            raise RuntimeError(f"after the move {table} has {count} rows, not {rows}")
    return result


def summary(create: dict, query: dict, record: dict, move: dict | None, move_rows: int) -> None:
    lines = []
    for label, times, key, stat in (("create_company + 5 create_table, median", create, "create", median),
                                    ("query_table 20 rows, p50", query, "query", median),
                                    ("create_record, p50", record, "record", median)):
        plain, citus = stat(times["plain"]), stat(times["citus"])
        ratio = citus / plain
        lines.append((label, ms(plain), ms(citus), f"{ratio:.2f}", f"<= {GOALS[key]:g} x",
                      "yes" if ratio <= GOALS[key] else "no"))
    if move:
        for mode, seconds in move.items():
            lines.append((f"citus_schema_move {move_rows:,} rows ({mode})", "-", f"{seconds:.2f} s", "-",
                          f"< {GOALS['move']:g} s" + ("" if move_rows >= 1_000_000 else " (for 1,000,000)"),
                          "yes" if seconds < GOALS["move"] else "no"))
    header = ("measurement", "plain", "citus", "ratio", "goal", "met")
    widths = [max(len(row[k]) for row in (header, *lines)) for k in range(len(header))]
    print("\n" + "=" * 100)
    for row in (header, *lines):
        print("  ".join(cell.ljust(w) if k == 0 else cell.rjust(w) for k, (cell, w) in enumerate(zip(row, widths))))
    print("=" * 100)


def bench(citus_url: str, plain_url: str, sizes: dict) -> int:
    print(f"citus: {citus_url}")
    deploy.migrate(citus_url)
    deploy.migrate(plain_url)
    load = os.getloadavg()
    sides: list[Side] = []
    before = None
    try:
        citus = Side("citus", citus_url, distributed=True)
        sides.append(citus)
        before = citus.admin.execute("select coalesce((select value from docpal_private.platform_settings"
                                     " where name = 'distributed'), 'off')").fetchone()[0]
        plain = Side("plain", plain_url, distributed=False)
        sides.append(plain)
        workers = citus.admin.execute("select count(*) from pg_catalog.pg_dist_node where isactive and"
                                      " noderole = 'primary' and shouldhaveshards").fetchone()[0]
        print(f"citus: {server(citus.admin)}, {workers} workers with shards; plain: {server(plain.admin)};"
              f" {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        pair = [citus, plain]
        print(f"create: create_company + 5 create_table, {sizes['repeat']} companies per side (after 1 warm-up)")
        create = create_section(pair, sizes["repeat"])
        conns = {side.name: workload_company(side) for side in pair}
        print(f"query: query_table {QUERY_SPEC} on {QUERY_ROWS} rows, {sizes['queries']} calls per side")
        query = query_section(pair, conns, sizes["queries"])
        print(f"create_record: {sizes['records']} calls per side")
        record = record_section(pair, conns, sizes["records"])
        for conn in conns.values():
            conn.close()
        move = None
        if sizes["move_rows"] > 0:
            print(f"move: a distributed company with {sizes['move_rows']:,} records")
            move = move_section(citus, sizes["move_rows"])
        summary(create, query, record, move, sizes["move_rows"])
    finally:
        cleanup(sides, before)
    return 0


def cleanup(sides: list[Side], before: str | None) -> None:
    """Drop the Citus side's companies and its user, put 'distributed' back (the plain database
    is dropped as a whole)."""
    for side in sides:
        if side.name == "citus":
            problems = []
            for company in side.companies:
                try:
                    side.admin.execute("select docpal.drop_company(%s)", (company,))
                except psycopg.Error as exc:
                    problems.append(f"drop_company {company}: {exc}")
            try:
                side.admin.execute("delete from docpal_private.users where id = %s", (side.user,))
            except psycopg.Error as exc:
                problems.append(f"delete user {side.user}: {exc}")
            if before is not None:
                side.admin.execute("select docpal.set_platform_setting('distributed', %s)", (before,))
            print(f"cleanup: dropped {len(side.companies) - len(problems)} of {len(side.companies)} Citus"
                  f" companies; distributed back to {before!r}")
            for problem in problems:
                print(f"  CLEANUP PROBLEM: {problem}")
        side.admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citus-url", default=os.environ.get("DOCPAL_CITUS_URL"),
                        help="superuser URL of the Citus coordinator's database, with the citus extension and"
                             " workers (default $DOCPAL_CITUS_URL)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="plain PostgreSQL server (default $DATABASE_URL, else a throw-away cluster)")
    parser.add_argument("--tiny", action="store_true",
                        help=f"a quick run: {TINY['repeat']} companies, {TINY['queries']} queries,"
                             f" {TINY['records']} records, {TINY['move_rows']:,} move rows (explicit options win)")
    parser.add_argument("--repeat", type=int, default=None,
                        help=f"companies per side for create (default {FULL['repeat']})")
    parser.add_argument("--queries", type=int, default=None,
                        help=f"query_table calls per side (default {FULL['queries']})")
    parser.add_argument("--records", type=int, default=None,
                        help=f"create_record calls per side (default {FULL['records']})")
    parser.add_argument("--move-rows", type=int, default=None,
                        help=f"records of the moved company, 0 to skip the move (default {FULL['move_rows']:,})")
    args = parser.parse_args()
    if not args.citus_url:
        parser.error("--citus-url (or $DOCPAL_CITUS_URL) is required")
    sizes = dict(TINY if args.tiny else FULL)
    for key in sizes:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    if min(sizes["repeat"], sizes["queries"], sizes["records"]) < 1 or sizes["move_rows"] < 0:
        parser.error("--repeat, --queries and --records must be at least 1, --move-rows at least 0")
    with benchdb.fresh_database(args.database_url) as url:
        return bench(args.citus_url, url, sizes)


if __name__ == "__main__":
    sys.exit(main())
