"""Scheduled reports through pg_cron (contract section 11, sql/install/pg_cron.sql).

With the pg_cron extension in docpal's database, `docpal migrate` schedules
every minute, as the job 'docpal-run-due-reports' (once, whatever the number
of migrates), a DO block that claims a due report, commits, runs it, commits,
and so on for up to 50 s (COMMIT inside DO works in pg_cron's background
workers: the end-to-end case proves it); a job still on the earlier command
(`select docpal.run_due_reports()`) gets the new one. Without pg_cron,
migrate schedules nothing. The pg_cron cases run on a second small
cluster of their own (pg_cron must be preloaded; Debian's postgresql-15-cron,
pg_cron 1.4) and are skipped when the package is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from docpal import deploy, embedded, render
from helpers import fn, one, set_context, table

JOB = "docpal-run-due-reports"
OLD_COMMAND = "select docpal.run_due_reports()"
DBNAME = "docpal_cron"

# --- without pg_cron ---------------------------------------------------------------------------


def test_the_pg_cron_piece_is_part_of_the_install():
    assert "pg_cron.sql" in [p.name for p in render.final_pieces()]
    script = render.code_script(render.templates())
    assert "cron.schedule(c_job, '* * * * *', c_command)" in script


def is_loop(command):
    """The job's command: claim, commit, run, commit, in a loop bounded in time."""
    return (command.startswith("do $job$") and "docpal.claim_due_report(); commit;" in command
            and "docpal.run_claimed_report(c); commit;" in command and "interval '50 s'" in command)


def test_without_pg_cron_migrate_schedules_nothing(db, dburl):
    """A database without the extension: migrate succeeds and touches nothing of pg_cron's, not
    even a look-alike cron.job table that belongs to no extension."""
    assert one(db, "select count(*) from pg_extension where extname = 'pg_cron'") == 0
    db.execute("create schema cron")
    db.execute("create table cron.job (jobname text, schedule text, command text, database text default current_database())")
    deploy.migrate(dburl)
    assert one(db, "select count(*) from cron.job") == 0
    assert one(db, "select count(*) from pg_proc where proname = 'schedule'") == 0


# --- with pg_cron: a cluster of its own -------------------------------------------------------

CRON_LIB = embedded.pg_bindir().parent / "lib" / "pg_cron.so"


@pytest.fixture(scope="module")
def cron_cluster():
    if not CRON_LIB.exists():
        pytest.skip("pg_cron is not installed (Debian: apt-get install postgresql-15-cron)")
    base = Path(tempfile.mkdtemp(prefix="docpal-cron-"))
    base.chmod(0o755)
    cluster = embedded.Cluster(base / "pgdata", fast=True)
    cluster.init()
    # pg_cron's scheduler starts with the server; its jobs run in background
    # workers (no connection, so no password), in docpal's database
    conf = (f"shared_preload_libraries = 'pg_cron'\ncron.database_name = '{DBNAME}'\n"
            "cron.use_background_workers = on\nmax_worker_processes = 32\n")
    subprocess.run(embedded.as_server_user(["sh", "-c", f"cat >> '{cluster.datadir}/postgresql.conf'"]),
                   input=conf, text=True, check=True)
    cluster.start()
    try:
        url = cluster.create_database(DBNAME)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create extension pg_cron")
            assert one(conn, "select extversion from pg_extension where extname = 'pg_cron'").startswith("1.")
        deploy.migrate(url)
        yield url
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def cron(cron_cluster):
    with psycopg.connect(cron_cluster, autocommit=True) as conn:
        yield conn


def jobs(conn):
    """docpal's report job(s) (migration 0004 schedules docpal-maintain-events beside it)."""
    return conn.execute("select jobid, jobname, schedule, command, database, username, active from cron.job "
                        "where jobname = %s or command = %s or command like '%%claim_due_report%%' order by jobid",
                        (JOB, OLD_COMMAND)).fetchall()


def test_migrate_schedules_the_report_loop_every_minute(cron):
    [(_, name, schedule, command, database, username, active)] = jobs(cron)
    assert (name, schedule, database, active) == (JOB, "* * * * *", DBNAME, True)
    assert is_loop(command), command
    assert username == one(cron, "select current_user")  # the role that migrated


def test_migrate_moves_a_job_on_the_old_command_to_the_loop(cron, cron_cluster):
    """A job made by an earlier docpal (one run_due_reports() call a minute, one transaction for
    every report) gets the loop; one whose command a DBA changed keeps it."""
    [(jobid, _, _, command, *_)] = jobs(cron)
    try:
        cron.execute("select cron.alter_job(%s, schedule => '*/2 * * * *', command => %s)", (jobid, OLD_COMMAND))
        deploy.migrate(cron_cluster)
        [(same, _, schedule, moved, *_)] = jobs(cron)
        assert (same, schedule, moved) == (jobid, "*/2 * * * *", command)  # the schedule kept
        mine = "select docpal.run_due_reports(max_ms => 5000)"
        cron.execute("select cron.alter_job(%s, command => %s)", (jobid, mine))
        deploy.migrate(cron_cluster)
        assert [j[3] for j in jobs(cron) if j[0] == jobid] == [mine]
    finally:
        cron.execute("select cron.alter_job(%s, schedule => '* * * * *', command => %s)", (jobid, command))


def test_a_second_migrate_keeps_one_job(cron, cron_cluster):
    before = jobs(cron)
    deploy.migrate(cron_cluster)
    deploy.migrate(cron_cluster)
    assert jobs(cron) == before and len(before) == 1


def test_migrate_leaves_a_changed_job_and_restores_a_dropped_one(cron, cron_cluster):
    """A DBA may slow the job down or pause it (cron.alter_job): migrate keeps that; a job that
    is gone is scheduled again."""
    [(jobid, *_)] = jobs(cron)
    try:
        cron.execute("select cron.alter_job(%s, schedule => '*/5 * * * *', active => false)", (jobid,))
        deploy.migrate(cron_cluster)
        assert [(j[0], j[2], j[6]) for j in jobs(cron)] == [(jobid, "*/5 * * * *", False)]
        cron.execute("select cron.unschedule(%s)", (JOB,))
        assert jobs(cron) == []
        deploy.migrate(cron_cluster)
        [(_, name, schedule, command, _, _, active)] = jobs(cron)
        assert (name, schedule, active) == (JOB, "* * * * *", True) and is_loop(command)
    finally:
        # leave one active every-minute job for the other tests, whatever happened
        cron.execute("select cron.unschedule(jobid) from cron.job where jobname = %s", (JOB,))
        deploy.migrate(cron_cluster)


def test_pg_cron_itself_runs_a_due_report(cron, cron_cluster):
    """End to end: a report scheduled every minute gets a snapshot written by pg_cron's own run
    of the job's loop (pg_cron 1.4 starts jobs at minute boundaries; its background workers
    run the DO block outside a transaction block, so its COMMITs work)."""
    cron.execute(f'grant create on database "{DBNAME}" to docpal_owner')
    cid = one(cron, "select docpal.create_company(%s, 'Cron Co')", f"cron-{time.time_ns()}")
    owner = one(cron, "select docpal.create_user(%s, 'Owner')", f"owner-{cid}@example.com")
    cron.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
    company = {"id": cid}
    with psycopg.connect(cron_cluster, autocommit=True) as conn:
        set_context(conn, company, owner)
        fn(conn, "create_table", table("items", {"name": "title", "type": "text"}))
        for title in ("alpha", "beta"):
            fn(conn, "create_record", "items", {"title": title})
        fn(conn, "save_report", {"slug": "every_minute", "table": "items", "kind": "query",
                                 "spec": {"columns": ["title"], "sort": ["title"]}, "schedule": "* * * * *"})
        saved = time.monotonic()
        snaps = []
        while not snaps and time.monotonic() - saved < 135:
            time.sleep(2)
            snaps = fn(conn, "report_snapshots", "every_minute")
        waited = time.monotonic() - saved
        print(f"pg_cron wrote the first snapshot {waited:.0f} s after save_report")
        # due at the next minute boundary, and run at it (a minute later at worst)
        assert snaps, "pg_cron wrote no snapshot within 135 s"
        assert [r["title"] for r in snaps[0]["result"]["rows"]] == ["alpha", "beta"]
    # the run that wrote it ends right after (its loop finds nothing more due): it succeeded
    deadline = time.monotonic() + 30
    while True:
        runs = cron.execute("select status, return_message from cron.job_run_details j where j.command like "
                            "'%%claim_due_report%%' order by runid").fetchall()
        if ("succeeded", "DO") in runs or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert runs and {status for status, _ in runs} <= {"succeeded", "running", "starting"}, runs
    assert ("succeeded", "DO") in runs, runs
