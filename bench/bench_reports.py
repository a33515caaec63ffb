"""Benchmark of reports and dashboards (issue 17, contract section 11) in one
run on one database.

(a) Dashboard. One company with the ``mes`` blueprint applied (its tables,
    sample records and KPI reports), then bulk-loaded as the DBA (plain
    ``INSERT ... SELECT``, capture off: no audit entries or events) with
    --logs production logs (default 1,000,000) over 20 more work centers and
    200 more production orders, --logs / 10 quality inspections and
    --logs / 20 shipments, then VACUUM ANALYZE. A dashboard of 6 widgets:
    the blueprint's scheduled reports plus bench reports on production_logs
    (output per month, downtime minutes per reason) up to 6, every one
    scheduled hourly. ``run_due_reports()`` stores their snapshots; then,
    alternating, ``get_dashboard`` (every widget from its snapshot; goal
    under 20 ms) against running the same 6 reports live (``run_report``
    each, in one round trip). The snapshot data is first checked against the
    live results.

(b) Scheduled runs. --companies companies (default 100), each with the
    ``mes`` blueprint and --company-logs production logs (default 10,000),
    --company-logs / 10 inspections and / 20 shipments, bulk-loaded alike;
    each has the blueprint's 3 scheduled KPI reports. Each round makes all
    of them due (the DBA moves ``report_schedule.next_run_at`` back) and
    times ``run_due_reports()``; alternating with it, one ``DO`` block that
    calls ``set_context`` + ``aggregate`` with the same specs as the same
    users for the same reports (one round trip too). Printed: time per
    report of both and the ratio (goal at most 1.1 x).

Medians of --repeat interleaved rounds (default 7) after 2 warm-ups; the
load average is printed. Run: ``.venv/bin/python bench/bench_reports.py``
(a throw-away cluster unless --database-url / $DATABASE_URL is given).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from statistics import median

import psycopg
from psycopg import sql

import benchdb
from docpal import blueprints, deploy

SCHEDULE = "0 * * * *"
#: bench reports added to the blueprint's scheduled ones until the dashboard has 6 widgets
EXTRA_REPORTS = [
    {"slug": "output_per_month", "name": "Good output per month", "table": "production_logs", "kind": "aggregate",
     "spec": {"group_by": ["month(day)"], "metrics": {"good": {"sum": "good_quantity"}, "logs": "count"}},
     "params": {}, "schedule": SCHEDULE},
    {"slug": "downtime_by_reason", "name": "Downtime minutes per reason", "table": "production_logs",
     "kind": "aggregate",
     "spec": {"group_by": ["downtime_reason"],
              "metrics": {"planned": {"sum": "planned_minutes"}, "run": {"sum": "run_minutes"}}},
     "params": {}, "schedule": SCHEDULE},
    {"slug": "scrap_by_shift", "name": "Scrap per shift", "table": "production_logs", "kind": "aggregate",
     "spec": {"group_by": ["shift"], "metrics": {"scrap": {"sum": "scrap_quantity"}}},
     "params": {}, "schedule": SCHEDULE},
]
CHARTS = ["number", "bar", "line", "pie", "table", "bar"]
#: scheduled KPI reports per company in case (b)
KPIS = 3


def load_avg() -> str:
    a = os.getloadavg()
    return f"load average {a[0]:.2f} {a[1]:.2f} {a[2]:.2f}"


def mes_company(conn: psycopg.Connection, slug: str, owner: str | None = None) -> tuple[str, str, str]:
    """A company `slug` with an owner and the mes blueprint, in context on conn: (company, user, schema)."""
    company = str(conn.execute("select docpal.create_company(%s, %s)", (slug, slug)).fetchone()[0])
    if owner is None:
        owner = str(conn.execute("select docpal.create_user(%s, %s)",
                                 (f"{slug}@example.com", slug)).fetchone()[0])
    conn.execute("select docpal.add_member(%s, %s, 'owner')", (company, owner))
    with conn.transaction():
        conn.execute("select docpal.set_context(%s, %s)", (company, owner))
        conn.execute("select docpal.apply_blueprint(%s::jsonb)", (json.dumps(blueprints.load("mes")),))
    schema = conn.execute("select schema_name from docpal_private.companies where id = %s",
                          (company,)).fetchone()[0]
    return company, owner, schema


def load(conn: psycopg.Connection, schema: str, user: str, logs: int) -> None:
    """Bulk rows as the DBA, capture off: 20 work centers, 200 orders, `logs` production
    logs, logs / 10 inspections, logs / 20 shipments (over the blueprint's samples)."""
    t = {name: sql.Identifier(schema, name) for name in
         ("materials", "work_centers", "customers", "production_orders", "production_logs",
          "quality_inspections", "shipments")}
    with conn.transaction():
        conn.execute("set local session_replication_role = replica")
        conn.execute(sql.SQL("""
            insert into {} (id, code, name, kind, ideal_cycle_seconds, created_by, updated_by)
            select md5('wc ' || k)::uuid, 'WC-' || k, 'Work center ' || lpad(k::text, 2, '0'),
                   (array['cnc', 'assembly', 'painting', 'packaging'])[k %% 4 + 1], 30 + k * 5, %(u)s, %(u)s
              from generate_series(1, 20) k""").format(t["work_centers"]), {"u": user})
        conn.execute(sql.SQL("""
            insert into {} (id, product_id, work_center_id, customer_id, quantity, status, created_by, updated_by)
            select md5('po ' || k)::uuid, (select m.id from {} m order by m.id limit 1),
                   md5('wc ' || (k %% 20 + 1))::uuid, (select c.id from {} c order by c.id limit 1),
                   1000, 'in_progress', %(u)s, %(u)s
              from generate_series(1, 200) k""").format(t["production_orders"], t["materials"], t["customers"]),
                     {"u": user})
        conn.execute(sql.SQL("""
            insert into {} (order_id, work_center_id, shift, day, planned_minutes, run_minutes,
                            downtime_reason, ideal_cycle_seconds, good_quantity, scrap_quantity, created_by, updated_by)
            select md5('po ' || (g %% 200 + 1))::uuid, md5('wc ' || (g %% 20 + 1))::uuid,
                   (array['early', 'late', 'night'])[g %% 3 + 1], date '2024-01-01' + (g * 7919 %% 1000)::integer,
                   480, 300 + (g * 31 %% 181), (array['none', 'setup', 'breakdown', 'material', 'staff'])[g %% 5 + 1],
                   30 + (g %% 20 + 1) * 5, 200 + (g * 17 %% 300), g * 13 %% 11, %(u)s, %(u)s
              from generate_series(1::bigint, %(n)s) g""").format(t["production_logs"]), {"n": logs, "u": user})
        conn.execute(sql.SQL("""
            insert into {} (material_id, inspected_at, sample_size, passed_first, defects, result, created_by, updated_by)
            select (select array_agg(m.id order by m.id) from {} m)[g %% 5 + 1],
                   timestamptz '2024-01-01 00:00Z' + g * interval '17 minutes', 50, 50 - g %% 7, g %% 7,
                   case when g %% 7 = 0 then 'pass' when g %% 7 < 5 then 'conditional' else 'fail' end, %(u)s, %(u)s
              from generate_series(1, %(n)s) g""").format(t["quality_inspections"], t["materials"]),
                     {"n": max(logs // 10, 1), "u": user})
        conn.execute(sql.SQL("""
            insert into {} (customer_id, promised_on, delivered_on, status, created_by, updated_by)
            select (select array_agg(c.id order by c.id) from {} c)[g %% 3 + 1], date '2024-01-01' + g %% 1000,
                   date '2024-01-01' + g %% 1000 + (g %% 9 - 5), 'delivered', %(u)s, %(u)s
              from generate_series(1, %(n)s) g""").format(t["shipments"], t["customers"]),
                     {"n": max(logs // 20, 1), "u": user})
    conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.SQL(", ").join(t.values())))


def scheduled_reports(conn: psycopg.Connection) -> list[dict]:
    return [r for r in conn.execute("select docpal.list_reports()").fetchone()[0] if r.get("schedule")]


def make_due(conn: psycopg.Connection, companies: list[str] | None = None) -> None:
    conn.execute("update docpal_private.report_schedule set next_run_at = now() - interval '1 minute'"
                 " where %(c)s::uuid[] is null or company_id = any (%(c)s::uuid[])", {"c": companies})


def runs(values: list[float]) -> str:
    return " ".join(f"{v:.1f}" for v in values)


def dashboard_case(conn: psycopg.Connection, logs: int, repeat: int) -> tuple[float, float, bool]:
    """(a): get_dashboard from snapshots against the same 6 reports live; (snapshot ms, live ms, ok)."""
    t0 = time.perf_counter()
    company, user, schema = mes_company(conn, "plant")
    load(conn, schema, user, logs)
    print(f"(a) company plant: mes blueprint and {logs} production logs loaded in"
          f" {time.perf_counter() - t0:.1f} s; {load_avg()}", flush=True)
    conn.execute("select docpal.set_context(%s, %s, false)", (company, user))
    reports = scheduled_reports(conn)
    for extra in EXTRA_REPORTS:
        if len(reports) >= 6:
            break
        conn.execute("select docpal.save_report(%s::jsonb)", (json.dumps(extra),))
        reports.append(extra)
    reports = reports[:6]
    widgets = [{"id": f"w{k}", "title": r["name"], "report": r["slug"], "params": {},
                "chart": "kanban" if r["kind"] == "kanban" else CHARTS[k],
                "x": (k % 3) * 4, "y": (k // 3) * 4, "w": 4, "h": 4} for k, r in enumerate(reports)]
    conn.execute("select docpal.save_dashboard(%s::jsonb)",
                 (json.dumps({"slug": "plant", "name": "Plant", "widgets": widgets}),))
    conn.execute("select docpal.clear_context()")
    make_due(conn)
    t0 = time.perf_counter()
    ran = conn.execute("select docpal.run_due_reports()").fetchone()[0]
    print(f"    run_due_reports stored {ran} in {(time.perf_counter() - t0) * 1e3:.0f} ms", flush=True)
    conn.execute("select docpal.set_context(%s, %s, false)", (company, user))
    slugs = [r["slug"] for r in reports]

    def from_snapshots() -> dict:
        return conn.execute("select docpal.get_dashboard('plant')", prepare=False).fetchone()[0]

    def live() -> list[dict]:
        return conn.execute("select array(select docpal.run_report(s) from unnest(%s::text[]) s)",
                            (slugs,), prepare=False).fetchone()[0]

    board = from_snapshots()
    fresh = [w.get("source") for w in board["widgets"]]
    same = [w.get("data") == r["result"] for w, r in zip(board["widgets"], live())]
    ok = all(s == "snapshot" for s in fresh) and all(same)
    print("    widgets: " + ", ".join(f"{w['report']} ({w['chart']})" for w in widgets))
    print(f"    sources: {fresh}; snapshot data equal to live results: {same}", flush=True)
    a, b = benchdb.alternate(repeat, from_snapshots, live)
    print(f"    get_dashboard from snapshots median {median(a):8.2f} ms  (runs: {runs(a)})")
    print(f"    the 6 reports live           median {median(b):8.2f} ms  (runs: {runs(b)})", flush=True)
    conn.execute("select docpal.clear_context()")
    return median(a), median(b), ok


def scheduled_case(conn: psycopg.Connection, n: int, logs: int, repeat: int) -> tuple[float, float, int, bool]:
    """(b): run_due_reports over n companies against set_context + aggregate with the same specs;
    (ms per report scheduled, ms per report direct, reports per round, ok)."""
    t0 = time.perf_counter()
    ids: list[str] = []
    direct: list[tuple[str, str, str, str, str]] = []
    for k in range(n):
        company, user, schema = mes_company(conn, f"site{k:03d}")
        load(conn, schema, user, logs)
        ids.append(company)
        with conn.transaction():
            conn.execute("select docpal.set_context(%s, %s)", (company, user))
            kpis = [r for r in scheduled_reports(conn) if r["kind"] == "aggregate"][:KPIS]
            # the same specs as the scheduled runs: the params' defaults put in
            for r in kpis:
                spec = conn.execute(
                    "select docpal_private.report_substitute(r.spec, docpal_private.report_bind(to_jsonb(r), '{}'))"
                    f"  from {schema}._reports r where r.slug = %s", (r["slug"],)).fetchone()[0]
                direct.append((company, user, r["table"], json.dumps(spec), r["slug"]))
        # only those KPIs stay scheduled (the blueprint may schedule more)
        conn.execute("delete from docpal_private.report_schedule where company_id = %s and report <> all (%s)",
                     (company, [r["slug"] for r in kpis]))
    print(f"(b) {n} companies with the mes blueprint, {logs} production logs each, {KPIS} scheduled"
          f" KPI reports each ({', '.join(d[4] for d in direct[:KPIS])}), made in {time.perf_counter() - t0:.1f} s;"
          f" {load_avg()}", flush=True)
    # only these are due in the rounds: case (a)'s company waits (an hour may turn meanwhile)
    conn.execute("update docpal_private.report_schedule set next_run_at = now() + interval '1 year'"
                 " where company_id <> all (%s::uuid[])", (ids,))
    due = conn.execute("select count(*) from docpal_private.report_schedule where company_id = any (%s::uuid[])",
                       (ids,)).fetchone()[0]
    block = sql.SQL("""do $$
        declare r record;
        begin
            for r in select * from unnest({c}::uuid[], {u}::uuid[], {t}::text[], {s}::jsonb[]) x(c, u, t, s) loop
                perform docpal.set_context(r.c, r.u);
                perform docpal.aggregate(r.t, r.s);
            end loop;
        end $$""").format(**{k: sql.Literal([d[i] for d in direct]) for i, k in enumerate("cuts")})
    results: list[dict] = []
    a: list[float] = []

    def scheduled() -> None:
        make_due(conn, ids)  # not timed: run_due_reports alone is
        t = time.perf_counter()
        results.append(conn.execute("select docpal.run_due_reports()").fetchone()[0])
        a.append((time.perf_counter() - t) * 1e3)

    def aggregate() -> None:
        with conn.transaction():
            conn.execute(block)

    for _ in range(2):
        scheduled()
        aggregate()
    a.clear()
    b: list[float] = []
    for _ in range(repeat):
        scheduled()
        t0 = time.perf_counter()
        aggregate()
        b.append((time.perf_counter() - t0) * 1e3)
    ok = all(r.get("ran") == due and r.get("failed") == 0 for r in results)
    print(f"    run_due_reports: {results[-1]} per round ({due} scheduled reports due)"
          + ("" if ok else f"; every round: {results}"))
    print(f"    run_due_reports median {median(a):9.1f} ms = {median(a) / due:6.2f} ms per report  (runs: {runs(a)})")
    print(f"    aggregate       median {median(b):9.1f} ms = {median(b) / len(direct):6.2f} ms per report"
          f"  (runs: {runs(b)})", flush=True)
    return median(a) / due, median(b) / len(direct), due, ok


def bench(url: str, logs: int, companies: int, company_logs: int, repeat: int) -> int:
    deploy.migrate(url)
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        version = conn.execute("select version()").fetchone()[0].split(",")[0]
        print(f"{version}; {os.cpu_count()} CPUs; {load_avg()}", flush=True)
        snap, live, ok_a = dashboard_case(conn, logs, repeat)
        sched, direct, due, ok_b = scheduled_case(conn, companies, company_logs, repeat)
    print("\n" + "=" * 100)
    print(f"medians of {repeat} interleaved rounds after 2 warm-ups; {load_avg()}")
    print(f"(a) get_dashboard, 6 widgets from snapshots ({logs} logs): {snap:8.2f} ms"
          f"  (goal < 20 ms: {'met' if snap < 20 else 'MISSED'});  the 6 reports live: {live:8.2f} ms"
          f"  ({live / snap:.0f} x)")
    print(f"(b) run_due_reports, {due} reports in {companies} companies: {sched:6.2f} ms per report;"
          f" set_context + aggregate: {direct:6.2f} ms per report; ratio {sched / direct:.2f}"
          f"  (goal <= 1.1: {'met' if sched / direct <= 1.1 else 'MISSED'})")
    if not (ok_a and ok_b):
        print("FAILED: " + ("snapshot data differ from the live results or came live; " if not ok_a else "")
              + ("a scheduled run failed or did not run" if not ok_b else ""))
    print("=" * 100)
    return 0 if ok_a and ok_b else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=int, default=1000000, help="production logs of case (a) (default 1000000)")
    parser.add_argument("--companies", type=int, default=100, help="companies of case (b) (default 100)")
    parser.add_argument("--company-logs", type=int, default=10000,
                        help="production logs per company in case (b) (default 10000)")
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="server to use (default $DATABASE_URL, else a throw-away cluster)")
    args = parser.parse_args()
    if min(args.logs, args.companies, args.company_logs, args.repeat) < 1:
        parser.error("every count must be at least 1")
    with benchdb.fresh_database(args.database_url) as url:
        return bench(url, args.logs, args.companies, args.company_logs, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
