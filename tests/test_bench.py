"""Every benchmark runs once at a tiny size, so that none can rot unnoticed.
Their figures are printed, not asserted: tests check behaviour, not timings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

#: bench/ of the checkout: the benchmarks are not part of the package
BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_tenant_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_tenants.py"), "--companies", "5", "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "create_company:" in proc.stdout
    assert "upgrade failures: 0" in proc.stdout


def test_records_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_records.py"), "--rows", "50", "--big-rows", "2000",
         "--fresh", "2", "--fresh-companies", "3", "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(a) create_record" in proc.stdout and "rewrite: no" in proc.stdout
    assert "(d) fresh connection, plain first query" in proc.stdout
    assert "set_context + first create_record: " in proc.stdout  # its function profile
    assert proc.stdout.startswith("load average at start:") and "load average at end:" in proc.stdout


def test_query_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_queries.py"), "--products", "3000", "--categories", "30",
         "--repeat", "1", "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "query_kanban" in proc.stdout and "aggregate" in proc.stdout


def test_query_vocabulary_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_query_vocab.py"), "--parents", "300", "--children", "3000",
         "--events", "3000", "--repeat", "1", "--explain", "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cases = ("(a) query_table embed", "(a2) query_table embed of many", "(b) query_table _some",
             "(c) aggregate count_if/expr", "(d) query_calendar", "(d2) query_calendar max_days 1",
             "(d3) query_calendar without end")
    for case in cases:
        assert f"\n{case} " in proc.stdout, case  # its line in the summary: it ran and was checked
    assert proc.stdout.count("EXPLAIN ANALYZE, docpal:") == len(cases) and "no plan received" not in proc.stdout
    assert proc.stdout.count("docpal compile only (statement built, not run)") == len(cases)


def test_reports_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_reports.py"), "--logs", "3000", "--companies", "2",
         "--company-logs", "500", "--repeat", "1", "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    # exit 0: every widget came from its snapshot with the live data, every scheduled run ran
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(a) get_dashboard, 6 widgets from snapshots" in proc.stdout
    assert "(b) run_due_reports, 6 reports in 2 companies" in proc.stdout


def release_in_clone() -> bool:
    """Whether this clone holds the commit of bench_audit's part 5 (a shallow clone
    may not: then that part is skipped, said so in the output)."""
    commit = "323973527419ef763836d748f8519e4257dcdb8d"  # bench_audit.RELEASE_COMMIT
    return subprocess.run(["git", "-C", str(BENCH.parent), "cat-file", "-e", commit + "^{commit}"],
                          capture_output=True).returncode == 0


def test_audit_benchmark_runs(dburl):
    release = release_in_clone()
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_audit.py"), "--tiny", "--database-url", dburl]
        + ([] if release else ["--no-release"]),
        capture_output=True, text=True, timeout=600)
    print(proc.stdout if release else "v0.2.0 not in this clone: part 5 skipped\n" + proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "single-row UPDATE" in proc.stdout and "verify_audit_chain of" in proc.stdout
    assert ("ratio new/old" in proc.stdout) == release
    # issue 19: WAL per case, history lookups, the capture's size and first write
    assert "WAL per bulk UPDATE" in proc.stdout and "record_history of one record" in proc.stdout
    assert "first single-row UPDATE of a fresh connection" in proc.stdout


def test_permissions_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_permissions.py"), "--tiny", "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ratio member / owner" in proc.stdout and "check_relation p50" in proc.stdout
    assert "checked again by every check_relation" in proc.stdout  # what the probe baseline is
    assert "fan-in: doc:fanin with" in proc.stdout
    assert "authenticate:" in proc.stdout


def test_events_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_events.py"), "--tiny", "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "speed ratio off/on" in proc.stdout and "events/s" in proc.stdout
    assert "NOTIFY latency, docpal" in proc.stdout
    assert "drain of 5,000 events, B=500" in proc.stdout
    assert "5. poll at scale, poll+ack of 10 new events: 30 companies" in proc.stdout


def test_boundary_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_boundary.py"), "--tiny", "--updates", "30",
         "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "capture: single-row audited UPDATE" in proc.stdout and "ratio new/old" in proc.stdout
    assert "compile: member query" in proc.stdout and "ratio key/service" in proc.stdout


def test_operations_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_operations.py"), "--tiny", "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "company_metrics() of 10 companies" in proc.stdout and "wrong results: 0" in proc.stdout
    for part in ("export of", "apply_blueprint(mes)", "adopt_table of"):
        assert part in proc.stdout, part


def test_http_benchmark_runs(dburl):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_http.py"), "--rows", "200", "--seconds", "1", "--repeat", "1",
         "--clients", "5", "--events", "3", "--workers", "1", "--database-url", dburl],
        capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("ratio HTTP / direct") == 2
    assert "commit -> last client: p50" in proc.stdout and "resident memory per worker" in proc.stdout


def test_tenants_peer_benchmark_runs(dburl):
    # installs django, django-tenants and psycopg from PyPI into a throw-away venv
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_tenants_peer.py"), "--tiny", "--database-url", dburl],
        capture_output=True, text=True, timeout=900)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("ratio django-tenants / docpal:") == 6  # first and last tenants, rollout; summary
    assert "docpal create_company + 5 create_table" in proc.stdout
    assert "django-tenants migrate_schemas" in proc.stdout
    assert "checked: docpal 5/5 tenants, django-tenants 5/5 tenants have every new column" in proc.stdout
    assert "catalog rows per tenant: docpal" in proc.stdout
    assert proc.stdout.startswith("load average at start:") and "load average at end:" in proc.stdout
