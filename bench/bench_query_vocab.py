"""Benchmark of the query vocabulary of issue 16 (contract 4.1) against
hand-written SQL returning the same results, in one run on one database.

Data, on a fresh database in one company with an owner (the benchmark's
user) and 10 teachers (``docpal.create_user`` + ``add_member(..., 'member')``),
in three docpal tables made by ``docpal.create_table``:

- ``classes`` (P parents, --parents, default 100,000): name text required
  indexed ('Class 000042'), year integer (2020 + k % 7), teacher user
  (one of the 10);
- ``students`` (C children, --children, default 1,000,000): class_id
  relation to classes (create_table indexes every relation column), name
  text required ('Student 42'), score integer indexed (g * 7919 % 101:
  0..100, spread over each class's children), day date indexed (3 years from
  2024-01-01), start datetime indexed; child g belongs to class g % P + 1,
  so a class's children lie on different pages, as children written over
  time do;
- ``events`` (E rows, --events, default 1,000,000): title text required,
  start datetime indexed (every minute of 2024-01-01 .. 2026-12-31 at most
  once, in no physical order), finish datetime (30 minutes to 8 hours after
  start; null for one row in 100).

Loaded by plain ``INSERT ... SELECT ... FROM generate_series`` as the DBA,
without docpal's capture (``session_replication_role = replica``: no audit
log, no events; reads do not look at them), then VACUUM ANALYZE.

Cases, each first checked against its hand-written twin (same rows, same
order, same total, same groups; a mismatch makes the exit status 1), then
run twice each to warm up and R times alternating (--repeat, default 7):

(a) ``query_table`` on classes: a page of 50 parents sorted by name, each
    embedding its first 10 students (id, name, score sorted by name), count
    none; hand-written: the page, then a lateral ``jsonb_agg`` of the 10
    children of each parent of the page. Goal <= 1.3 x.
(a2) the same embed on ``teams`` (100, name indexed) and ``players`` (C / 10,
    team_id relation, name, score: 1,000 per team at full size): 50 teams,
    each embedding its first 10 players. Same goal. Where (a) takes every
    child of a parent, this one keeps 10 of 1,000: it shows what a child
    query does with the rows its limit drops.
(b) ``query_table`` on classes filtered by ``{"students": {"_some": {"score":
    {"gte": 99}}}}``, a page of 50 by name and count exact; hand-written:
    ``where exists (...)`` for the page and for count(*). Goal <= 1.3 x.
(c) ``aggregate`` on students grouped by year(day), month(day) with count,
    count_if score >= 50 and expr good / n, over every row; hand-written:
    ``date_part('year'/'month', day)`` GROUP BY with ``count(*) filter (where
    ...)`` and a division (date_part: extract computes a numeric since
    PostgreSQL 14, which is slower). Goal <= 1.2 x.
(d) ``query_calendar`` on events for March 2026 (start, end finish, label
    title); hand-written: the rows whose [start, coalesce(finish, start)]
    overlaps the month, the first 1,000 by start (query_calendar's default
    and most), as one ``jsonb_agg``. Goal under 20 ms (the ratio is printed
    too). (d2) the same with ``max_days`` 1 (docpal's key for "no event lasts
    longer than a day", which bounds start from below too), against the
    hand-written SQL with the same bound.

Every case also prints how long docpal takes to build its statement without
running it (``explain_query``; the private statement builder of aggregate
and query_calendar): the fixed cost the hand-written SQL does not pay.
Statements are sent unprepared, so both sides are planned with their values
on every run; the session's time zone is UTC. --explain prints the plans
(EXPLAIN ANALYZE, through auto_explain at level NOTICE with nested
statements, so docpal's inner statement is shown as it runs) of both sides
of every case. Goals are reported, not enforced (exit status 0 unless a case
fails or differs).

Run:  .venv/bin/python bench/bench_query_vocab.py [--parents P] [--children C] [--events E]
          [--repeat R] [--explain] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from statistics import median
from typing import Callable

import psycopg
from psycopg import sql

import benchdb
from docpal import deploy

TEACHERS = 10
CLASSES_SPEC = {"slug": "classes", "name": "Classes", "columns": [
    {"name": "name", "type": "text", "required": True, "indexed": True},
    {"name": "year", "type": "integer"},
    {"name": "teacher", "type": "user"}]}
STUDENTS_SPEC = {"slug": "students", "name": "Students", "columns": [
    {"name": "class_id", "type": "relation", "target": "classes"},
    {"name": "name", "type": "text", "required": True},
    {"name": "score", "type": "integer", "indexed": True},
    {"name": "day", "type": "date", "indexed": True},
    {"name": "start", "type": "datetime", "indexed": True}]}
EVENTS_SPEC = {"slug": "events", "name": "Events", "columns": [
    {"name": "title", "type": "text", "required": True},
    {"name": "start", "type": "datetime", "indexed": True},
    {"name": "finish", "type": "datetime"}]}
#: (a2): few parents with many children each, where building a child's JSON before its limit shows
TEAMS_SPEC = {"slug": "teams", "name": "Teams", "columns": [
    {"name": "name", "type": "text", "required": True, "indexed": True}]}
PLAYERS_SPEC = {"slug": "players", "name": "Players", "columns": [
    {"name": "team_id", "type": "relation", "target": "teams"},
    {"name": "name", "type": "text", "required": True},
    {"name": "score", "type": "integer"}]}
TEAMS = 100
DAYS = 1096  # 2024-01-01 .. 2026-12-31
PAGE, EMBED = 50, 10
SCORE_MIN = 99
GOOD = 50
CAL_FROM, CAL_TO = "2026-03-01", "2026-03-31T23:59:59Z"
CAL_LIMIT = 1000  # query_calendar's default and most
EXPLAIN_LINES = 40
PLAN_LINES = 80


class Mismatch(Exception):
    pass


def load(conn: psycopg.Connection, schema: str, teachers: list[str], p: int, c: int, e: int) -> None:
    classes, students, events, teams, players = (
        sql.Identifier(schema, t) for t in ("classes", "students", "events", "teams", "players"))
    owner = teachers[0]
    t0 = time.perf_counter()
    with conn.transaction():
        # the DBA's bulk load: no audit entries or events for 2 million rows
        conn.execute("set local session_replication_role = replica")
        conn.execute(sql.SQL("""
            insert into {} (id, name, year, teacher, created_by, updated_by)
            select md5('class ' || k)::uuid, 'Class ' || lpad(k::text, 6, '0'), 2020 + k %% 7,
                   (%(t)s::uuid[])[k %% %(nt)s + 1], %(u)s, %(u)s
              from generate_series(1, %(p)s) k""").format(classes),
                     {"t": teachers, "nt": len(teachers), "u": owner, "p": p})
        conn.execute(sql.SQL("""
            insert into {} (id, class_id, name, score, day, start, created_by, updated_by)
            select md5('student ' || g)::uuid, md5('class ' || (g %% %(p)s + 1))::uuid, 'Student ' || g,
                   (g * 7919 %% 101)::integer, date '2024-01-01' + (g * 7919 %% %(days)s)::integer,
                   timestamptz '2024-01-01 00:00:00Z' + (g * 7919 %% (%(days)s * 1440)) * interval '1 minute',
                   %(u)s, %(u)s
              from generate_series(1::bigint, %(c)s) g""").format(students),
                     {"p": p, "c": c, "days": DAYS, "u": owner})
        conn.execute(sql.SQL("""
            insert into {} (id, title, start, finish, created_by, updated_by)
            select md5('event ' || g)::uuid, 'Event ' || g, s.start,
                   case when g %% 100 <> 0 then s.start + (g %% 16 + 1) * interval '30 minutes' end,
                   %(u)s, %(u)s
              from generate_series(1::bigint, %(e)s) g,
                   lateral (select timestamptz '2024-01-01 00:00:00Z'
                                   + (g * 7919 %% (%(days)s * 1440)) * interval '1 minute' as start) s"""
                             ).format(events), {"e": e, "days": DAYS, "u": owner})
        conn.execute(sql.SQL("""
            insert into {} (id, name, created_by, updated_by)
            select md5('team ' || k)::uuid, 'Team ' || lpad(k::text, 3, '0'), %(u)s, %(u)s
              from generate_series(1, %(t)s) k""").format(teams), {"t": TEAMS, "u": owner})
        conn.execute(sql.SQL("""
            insert into {} (id, team_id, name, score, created_by, updated_by)
            select md5('player ' || g)::uuid, md5('team ' || (g %% %(t)s + 1))::uuid, 'Player ' || g,
                   (g * 7919 %% 101)::integer, %(u)s, %(u)s
              from generate_series(1::bigint, %(n)s) g""").format(players),
                     {"t": TEAMS, "n": max(c // 10, 1), "u": owner})
    t_insert = time.perf_counter() - t0
    t0 = time.perf_counter()
    conn.execute(sql.SQL("vacuum (analyze) {}, {}, {}, {}, {}").format(classes, students, events, teams, players))
    t_vacuum = time.perf_counter() - t0
    sizes = conn.execute(
        "select string_agg(t || ' ' || pg_size_pretty(pg_total_relation_size((%s || '.' || t)::regclass)), ', ')"
        "  from unnest(array['classes', 'students', 'events', 'teams', 'players']) t", (schema,)).fetchone()[0]
    indexes = conn.execute(
        "select string_agg(indexname, ', ' order by indexname) from pg_indexes"
        " where schemaname = %s and tablename = 'students'", (schema,)).fetchone()[0]
    print(f"loaded {p} classes, {c} students, {e} events, {TEAMS} teams, {max(c // 10, 1)} players:"
          f" insert {t_insert:.1f} s,"
          f" vacuum analyze {t_vacuum:.1f} s; sizes with indexes: {sizes}", flush=True)
    print(f"indexes of students (all made by create_table): {indexes}", flush=True)


def check(case: str, ok: bool, detail: str) -> None:
    if not ok:
        raise Mismatch(f"case {case}: docpal's result differs from the hand-written one: {detail}")
    print(f"  check: {detail}")


def compile_time(conn: psycopg.Connection, function: str, slug: str, spec: dict, repeat: int) -> None:
    """Print the median time docpal takes to build the case's statement without running it:
    the fixed part of its cost, next to the hand-written SQL that needs no building.
    query_table's is docpal.explain_query; the other views' is their private statement
    builder (called as the public function calls it; n/a if that builder changed)."""
    if function == "query_table":
        statement = "select docpal.explain_query(%s, %s::jsonb)"
    else:
        view = {"aggregate": "aggregate", "query_calendar": "calendar"}[function]
        statement = (f"select o_sql from docpal_private.q_{view}_statement("
                     "(select pg_catalog.to_jsonb(c) from docpal_private.require_company() c), %s, %s::jsonb)")
    arg = json.dumps(spec)
    try:
        times = []
        for _ in range(repeat + 2):
            t0 = time.perf_counter()
            conn.execute(statement, (slug, arg), prepare=False).fetchone()
            times.append((time.perf_counter() - t0) * 1e3)
    except psycopg.Error as exc:
        print(f"  docpal compile only: n/a ({str(exc).splitlines()[0]})")
        return
    print(f"  docpal compile only (statement built, not run): median {median(times[2:]):.2f} ms", flush=True)


def explain(conn: psycopg.Connection, label: str, run: Callable[[], object], needle: str | None = None) -> None:
    """Run once under auto_explain (ANALYZE, BUFFERS, nested statements, level NOTICE) and print
    the longest plan the server sends back whose query text holds `needle` (docpal's generated
    statement names `<schema>.<table> _t`; its compiler's own statements do not), with its real
    timings: the statement as docpal runs it, planned with its parameter values."""
    plans: list[tuple[float, str]] = []

    def handler(diag: psycopg.errors.Diagnostic) -> None:
        text = diag.message_primary or ""
        match = re.match(r"duration: ([0-9.]+) ms", text)
        if match and (needle is None or needle in text):
            plans.append((float(match.group(1)), text))

    conn.execute("load 'auto_explain'")
    for setting, value in (("log_min_duration", "0"), ("log_analyze", "on"), ("log_buffers", "on"),
                           ("log_nested_statements", "on"), ("log_level", "notice"), ("log_timing", "on")):
        conn.execute(sql.SQL("set {} = {}").format(sql.Identifier("auto_explain", setting), sql.Literal(value)))
    conn.add_notice_handler(handler)
    try:
        run()
    finally:
        conn.remove_notice_handler(handler)
        conn.execute("set auto_explain.log_min_duration = -1")
    if not plans:
        print(f"  EXPLAIN ANALYZE, {label}: no plan received")
        return
    lines = max(plans)[1].splitlines()
    print(f"  EXPLAIN ANALYZE, {label}:")
    for line in lines[:PLAN_LINES]:
        print(f"    | {line}")
    if len(lines) > PLAN_LINES:
        print(f"    | ... ({len(lines) - PLAN_LINES} more lines)")


def setup(conn: psycopg.Connection, p: int, c: int, e: int) -> str:
    """The company, its teachers, the three tables and their rows; returns the company's schema."""
    company, user = benchdb.company_in_context(conn)
    teachers = [str(user)]
    for k in range(1, TEACHERS):
        t = str(conn.execute("select docpal.create_user(%s, %s)",
                             (f"teacher{k}@example.com", f"Teacher {k}")).fetchone()[0])
        conn.execute("select docpal.add_member(%s, %s, 'member')", (company, t))
        teachers.append(t)
    for spec in (CLASSES_SPEC, STUDENTS_SPEC, EVENTS_SPEC, TEAMS_SPEC, PLAYERS_SPEC):
        conn.execute("select docpal.create_table(%s::jsonb)", (json.dumps(spec),))
    schema = conn.execute("select schema_name from docpal_private.companies where id = %s",
                          (company,)).fetchone()[0]
    version = conn.execute("select version()").fetchone()[0].split(",")[0]
    load_avg = os.getloadavg()
    print(f"company schema: {schema}; {version}; {os.cpu_count()} CPUs,"
          f" load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}", flush=True)
    load(conn, schema, teachers, p, c, e)
    return schema


def run_cases(conn: psycopg.Connection, schema: str, repeat: int, show_plans: bool,
              only: set[str] | None = None) -> tuple[list[tuple[str, float, float, float, str, bool]], list[str]]:
    """Check and time every case (or those named in `only`); (results, failures)."""
    classes, students, events, teams, players = (
        sql.Identifier(schema, t) for t in ("classes", "students", "events", "teams", "players"))
    # one time zone for both sides: docpal reads a calendar's from/to like the hand-written SQL's literals
    conn.execute("set timezone = 'UTC'")

    def call(function: str, slug: str, spec: dict) -> Callable[[], dict]:
        statement = f"select docpal.{function}(%s, %s::jsonb)"
        arg = json.dumps(spec)
        return lambda: conn.execute(statement, (slug, arg), prepare=False).fetchone()[0]

    def hand(statement: sql.Composable, params: dict | None = None) -> Callable[[], object]:
        return lambda: conn.execute(statement, params, prepare=False).fetchone()

    def show_sql(slug: str, spec: dict) -> None:
        lines = conn.execute("select docpal.explain_query(%s, %s::jsonb)",
                             (slug, json.dumps(spec))).fetchone()[0].splitlines()
        print("  docpal.explain_query:")
        for line in lines[:EXPLAIN_LINES]:
            print(f"    | {line}")
        if len(lines) > EXPLAIN_LINES:
            print(f"    | ... ({len(lines) - EXPLAIN_LINES} more lines)")

    results: list[tuple[str, float, float, float, str, bool]] = []
    failed: list[str] = []

    def case(key: str, short: str, label: str, goal_ratio: float | None, goal_ms: float | None,
             function: str, slug: str, spec: dict, plain: Callable[[], object],
             compare: Callable[[object, object], None]) -> None:
        """Check docpal's `function(slug, spec)` against `plain`, then time both; goal_ratio
        (docpal / hand-written) or goal_ms (docpal alone)."""
        if only is not None and key not in only:
            return
        print(f"\n({key}) {label}", flush=True)
        docpal = call(function, slug, spec)
        try:
            if function == "query_table":
                show_sql(slug, spec)
            compare(docpal(), plain())
            if show_plans:
                explain(conn, "docpal", docpal, f"{schema}.{slug} _t")
                explain(conn, "hand-written", plain)
            goal = f"goal <= {goal_ratio}" if goal_ratio else f"goal < {goal_ms:g} ms"
            d, h, ratio = benchdb.run_case(repeat, docpal, plain, goal)
            compile_time(conn, function, slug, spec, repeat)
            met = ratio <= goal_ratio if goal_ratio else d < goal_ms
            results.append((f"({key}) {short}", d, h, ratio, goal, met))
        except psycopg.Error as exc:
            print(f"  FAILED: {type(exc).__name__} [{exc.sqlstate}]: {str(exc).splitlines()[0]}", flush=True)
            failed.append(f"({key}) {short}: {exc.sqlstate} {str(exc).splitlines()[0]}")

    # -- (a) a page of parents, each embedding its first children --------------------------------
    spec_a = {"columns": ["id", "name", {"students": {"columns": ["id", "name", "score"],
                                                     "sort": ["name"], "limit": EMBED}}],
              "sort": ["name"], "limit": PAGE, "count": "none"}
    plain_a = sql.SQL("""
        select coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'name', c.name, 'students', k.kids)
                                  order by c.name, c.id), '[]')
          from (select id, name from {c} order by name, id limit {page}) c
         cross join lateral (
               select coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'score', s.score)
                                         order by s.name, s.id), '[]') as kids
                 from (select id, name, score from {s} s where s.class_id = c.id
                        order by name, id limit {embed}) s) k""").format(
        c=classes, s=students, page=sql.Literal(PAGE), embed=sql.Literal(EMBED))

    def compare_a(got: dict, want: tuple) -> None:
        rows = want[0]
        check("a", got["rows"] == rows and got.get("total") is None,
              f"{len(got['rows'])} parents, {sum(len(r['students']) for r in got['rows'])} embedded"
              " children, same records in the same order, total null")

    case("a", "query_table embed",
         f"query_table: {PAGE} classes by name, each embedding its first {EMBED} students by name",
         1.3, None, "query_table", "classes", spec_a, hand(plain_a), compare_a)

    # -- (a2) the same embed where each parent has many children ---------------------------------
    per_team = conn.execute(sql.SQL("select count(*) / {} from {}").format(sql.Literal(TEAMS), players)).fetchone()[0]
    spec_a2 = {"columns": ["id", "name", {"players": {"columns": ["id", "name", "score"],
                                                     "sort": ["name"], "limit": EMBED}}],
               "sort": ["name"], "limit": PAGE, "count": "none"}
    plain_a2 = sql.SQL("""
        select coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'players', k.kids)
                                  order by t.name, t.id), '[]')
          from (select id, name from {t} order by name, id limit {page}) t
         cross join lateral (
               select coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'name', p.name, 'score', p.score)
                                         order by p.name, p.id), '[]') as kids
                 from (select id, name, score from {p} p where p.team_id = t.id
                        order by name, id limit {embed}) p) k""").format(
        t=teams, p=players, page=sql.Literal(PAGE), embed=sql.Literal(EMBED))

    def compare_a2(got: dict, want: tuple) -> None:
        check("a2", got["rows"] == want[0] and got.get("total") is None,
              f"{len(got['rows'])} parents, {sum(len(r['players']) for r in got['rows'])} embedded"
              " children, same records in the same order, total null")

    case("a2", "query_table embed of many",
         f"query_table: {PAGE} of {TEAMS} teams by name, each embedding its first {EMBED} players by name"
         f" (of about {per_team} each)",
         1.3, None, "query_table", "teams", spec_a2, hand(plain_a2), compare_a2)

    # -- (b) parents filtered by _some on an indexed child column ---------------------------------
    spec_b = {"columns": ["id", "name", "year"],
              "filters": {"students": {"_some": {"score": {"gte": SCORE_MIN}}}},
              "sort": ["name"], "limit": PAGE, "count": "exact"}
    plain_b = sql.SQL("""
        select (select coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'name', c.name, 'year', c.year)
                                          order by c.name, c.id), '[]')
                  from (select id, name, year from {c} c
                         where exists (select from {s} s where s.class_id = c.id and s.score >= %(min)s)
                         order by name, id limit {page}) c),
               (select count(*) from {c} c
                 where exists (select from {s} s where s.class_id = c.id and s.score >= %(min)s))
        """).format(c=classes, s=students, page=sql.Literal(PAGE))

    def compare_b(got: dict, want: tuple) -> None:
        rows, total = want
        check("b", got["rows"] == rows and got["total"] == total,
              f"{len(got['rows'])} parents (same records, same order), total {got['total']}"
              f" (hand-written {total})")

    case("b", "query_table _some",
         f"query_table: classes with _some student score >= {SCORE_MIN}, {PAGE} by name, count exact",
         1.3, None, "query_table", "classes", spec_b, hand(plain_b, {"min": SCORE_MIN}), compare_b)

    # -- (c) aggregate by year(day), month(day) with count_if and expr ----------------------------
    # date_part, not extract: since PostgreSQL 14 extract computes a numeric, slower over a million
    # rows, and the hand-written side should be the fast way to write it
    spec_c = {"group_by": ["year(day)", "month(day)"],
              "metrics": {"n": "count", "good": {"count_if": {"score": {"gte": GOOD}}},
                          "rate": {"expr": "good / n"}}}
    plain_c = sql.SQL("""
        select coalesce(jsonb_agg(jsonb_build_object('year(day)', g.y, 'month(day)', g.m, 'n', g.n,
                                                     'good', g.good, 'rate', g.good::numeric / nullif(g.n, 0))
                                  order by g.y, g.m), '[]')
          from (select date_part('year', day)::integer as y, date_part('month', day)::integer as m,
                       count(*) as n, count(*) filter (where score >= %(good)s) as good
                  from {s} group by 1, 2) g""").format(s=students)

    def compare_c(got: dict, want: tuple) -> None:
        def groups(items: list[dict]) -> list[tuple]:
            return [(g.get("year(day)"), g.get("month(day)"), g.get("n"), g.get("good"),
                     None if g.get("rate") is None else round(float(g["rate"]), 9)) for g in items]
        mine, theirs = groups(got["groups"]), groups(want[0])
        check("c", mine == theirs,
              f"{len(mine)} groups in the same order, same counts, count_if and rates;"
              f" counts add up to {sum(g[2] or 0 for g in mine)}")

    case("c", "aggregate count_if/expr",
         f"aggregate: students by year(day), month(day); count, count_if score >= {GOOD}, expr good / n",
         1.2, None, "aggregate", "students", spec_c, hand(plain_c, {"good": GOOD}), compare_c)

    # -- (d) query_calendar of one month --------------------------------------------------------
    # docpal returns at most CAL_LIMIT events (its default and most), the first by start: so does
    # the hand-written SQL. Without max_days only `start <= to` bounds the index range; (d2) adds
    # the caller's promise that no event lasts longer than a day, which bounds it on both sides.
    spec_d = {"start": "start", "end": "finish", "from": CAL_FROM, "to": CAL_TO, "label": "title"}
    spec_d2 = spec_d | {"max_days": 1}
    month = sql.SQL("e.start <= %(to)s::timestamptz and coalesce(e.finish, e.start) >= %(from)s::timestamptz")
    bounded = sql.SQL(" and e.start >= %(from)s::timestamptz - interval '1 day'")
    calendar_sql = """
        select coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'label', e.title, 'start', e.start,
                                                     'end', e.finish, 'color', null)
                                  order by e.start, e.id), '[]')
          from (select * from {e} e where {month}{bounded} order by e.start, e.id limit {limit}) e"""
    plain_d = sql.SQL(calendar_sql).format(e=events, month=month, bounded=sql.SQL(""),
                                           limit=sql.Literal(CAL_LIMIT))
    plain_d2 = sql.SQL(calendar_sql).format(e=events, month=month, bounded=bounded, limit=sql.Literal(CAL_LIMIT))
    range_d = {"from": CAL_FROM + "T00:00:00Z", "to": CAL_TO}

    def compare_d(got: dict, want: tuple) -> None:
        in_month = conn.execute(sql.SQL("select count(*) from {e} e where {month}").format(e=events, month=month),
                                range_d).fetchone()[0]
        mine, theirs = got["events"], want[0]
        first_diff = next((i for i, (m, t) in enumerate(zip(mine, theirs)) if m != t), None)
        check("d", mine == theirs,
              f"{len(mine)} events (hand-written {len(theirs)}; the month holds {in_month}), same events"
              " (id, label, start, end, color) in the same order"
              + ("" if first_diff is None else f"; first difference at {first_diff}:"
                                               f" {mine[first_diff]} vs {theirs[first_diff]}"))

    case("d", "query_calendar",
         f"query_calendar: events from {CAL_FROM} to {CAL_TO} (start indexed, end finish; at most {CAL_LIMIT})",
         None, 20.0, "query_calendar", "events", spec_d, hand(plain_d, range_d), compare_d)
    case("d2", "query_calendar max_days 1",
         "query_calendar: the same with max_days 1 (no event lasts longer than a day)",
         None, 20.0, "query_calendar", "events", spec_d2, hand(plain_d2, range_d), compare_d)

    # (d3) a calendar of events without an end (appointments, deadlines): the start alone is
    # bounded on both sides, and the index on start serves the whole condition
    spec_d3 = {"start": "start", "from": CAL_FROM, "to": CAL_TO, "label": "title"}
    plain_d3 = sql.SQL("""
        select coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'label', e.title, 'start', e.start,
                                                     'end', null, 'color', null)
                                  order by e.start, e.id), '[]')
          from (select * from {e} e where e.start <= %(to)s::timestamptz and e.start >= %(from)s::timestamptz
                 order by e.start, e.id limit {limit}) e""").format(e=events, limit=sql.Literal(CAL_LIMIT))

    def compare_d3(got: dict, want: tuple) -> None:
        check("d3", got["events"] == want[0],
              f"{len(got['events'])} events (hand-written {len(want[0])}), same events in the same order")

    case("d3", "query_calendar without end",
         "query_calendar: events starting in the same month, no end path",
         None, 20.0, "query_calendar", "events", spec_d3, hand(plain_d3, range_d), compare_d3)

    return results, failed


def bench(url: str, p: int, c: int, e: int, repeat: int, show_plans: bool) -> int:
    deploy.migrate(url)
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        schema = setup(conn, p, c, e)
        results, failed = run_cases(conn, schema, repeat, show_plans)
    print("\n" + "=" * 100)
    print(f"{p} classes, {c} students, {e} events; medians of {repeat} runs after 2 warm-ups")
    for label, d, h, ratio, goal, met in results:
        print(f"{label:32s} docpal {d:9.2f} ms  hand-written {h:9.2f} ms  ratio {ratio:5.2f}"
              f"  ({goal}: {'met' if met else 'MISSED'})")
    for line in failed:
        print(f"FAILED {line}")
    print("=" * 100)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parents", type=int, default=100000, help="number of classes (default 100000)")
    parser.add_argument("--children", type=int, default=1000000, help="number of students (default 1000000)")
    parser.add_argument("--events", type=int, default=1000000, help="number of events (default 1000000)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (default 7)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of both sides of every case (needs a superuser)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    if args.parents < 1 or args.children < 1 or args.events < 1 or args.repeat < 1:
        parser.error("need at least 1 parent, child, event and repeat")
    with benchdb.fresh_database(args.database_url) as url:
        try:
            return bench(url, args.parents, args.children, args.events, args.repeat, args.explain)
        except Mismatch as exc:
            print(f"\nMISMATCH: {exc}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
