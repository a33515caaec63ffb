"""docpal.company_metrics and `docpal tenants metrics` (contract section 8, docs/metrics.md):
every field against what the company holds, counted independently; the estimate above
100,000 rows; activity from PostgreSQL's statistics; who may ask; the command line."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid

import pytest
from click.testing import CliRunner

from conftest import APP_LOGIN, SERVICE_LOGIN
from docpal.cli import main
from helpers import fn, one, raises, set_context, table

ITEMS = table("items", {"name": "name", "type": "text"}, {"name": "qty", "type": "integer"},
              {"name": "doc", "type": "file"})
TAGS = table("tags", {"name": "name", "type": "text"}, {"name": "items", "type": "relation_many", "target": "items"})
NO_QUOTA = {"max_tables": None, "max_records": None, "max_bytes": None, "max_file_bytes": None}


def metrics(conn, company=None):
    if company is None:
        return one(conn, "select docpal.company_metrics()")
    return one(conn, "select docpal.company_metrics(%s)", company)


def flush(*conns):
    """Make each connection's pending table statistics visible to the others (PostgreSQL 15
    sends them at most once a second otherwise)."""
    for conn in conns:
        conn.execute("select pg_stat_force_next_flush()")


def file_spec(n: int, size: int) -> dict:
    return {"name": f"f{n}.txt", "size": size, "mime": "text/plain", "sha256": f"{n:064x}", "storage_key": f"k/{n}"}


def truth(db, company) -> dict:
    """What company_metrics should say, computed independently (superuser)."""
    s = company["schema"]
    slugs = [r[0] for r in db.execute(f"select slug from {s}._catalog where kind = 'table' order by slug").fetchall()]
    stats = db.execute(
        "select coalesce(sum(seq_tup_read + coalesce(idx_tup_fetch, 0)), 0)::bigint, coalesce(sum(n_tup_ins), 0)::bigint,"
        "       coalesce(sum(n_tup_upd), 0)::bigint, coalesce(sum(n_tup_del), 0)::bigint"
        "  from pg_stat_user_tables where schemaname = %s and relname = any(%s)", (s, slugs)).fetchone()
    last = one(db, f"select greatest((select max(at) from {s}._audit_log), (select max(at) from {s}._schema_history),"
                   f" (select max(at) from {s}._events))") if slugs else \
        one(db, f"select greatest((select max(at) from {s}._audit_log), (select max(at) from {s}._schema_history))")
    return {
        "company_id": str(company["id"]),
        "slug": company["slug"],
        "status": one(db, "select status from docpal_private.companies where id = %s", company["id"]),
        "tables": len(slugs),
        "records": sum(one(db, f"select count(*) from {s}.{slug}") for slug in slugs),
        "bytes": one(db, "select sum(pg_total_relation_size(c.oid))::bigint from pg_class c"
                         " where c.relnamespace = %s::regnamespace and c.relkind in ('r', 'm')", s),
        "files": one(db, f"select count(*) from {s}._files"),
        "file_bytes": one(db, f"select coalesce(sum(size), 0)::bigint from {s}._files"),
        "audit_entries": one(db, f"select count(*) from {s}._audit_log"),
        "events_pending": one(db, f"select count(*) from {s}._events") if slugs else 0,
        "last_activity": last,
        "activity": dict(zip(("reads", "inserts", "updates", "deletes"), stats)),
        "quota": one(db, "select docpal_private.company_quota(%s)", s),
    }


def as_json(value):
    """A truth dict the way company_metrics' JSON comes back (timestamps as text)."""
    out = dict(value)
    if isinstance(out.get("last_activity"), dt.datetime):
        out["last_activity"] = out["last_activity"].isoformat()
    return out


def same(got: dict, want: dict) -> None:
    """got is want; its reads may be fewer: reading the statistics after company_metrics, the
    truth can see rows read since (counting one company's records reads them)."""
    want = as_json(want)
    got = {**got, "activity": dict(got["activity"])}
    want["activity"] = dict(want["activity"])
    assert got["activity"].pop("reads") <= want["activity"].pop("reads")
    if got.get("last_activity") and want.get("last_activity"):
        got = {**got, "last_activity": dt.datetime.fromisoformat(got["last_activity"])}
        want = {**want, "last_activity": dt.datetime.fromisoformat(want["last_activity"])}
    assert got == want


@pytest.fixture
def filled(db, company):
    """The company with two tables (one with a relation_many), records written, updated and
    deleted, two files: through the public functions as its owner (on db)."""
    owner = set_context(db, company, company["owner"])
    fn(owner, "create_table", ITEMS)
    fn(owner, "create_table", TAGS)
    f1 = fn(owner, "register_file", file_spec(1, 1000))
    fn(owner, "register_file", file_spec(2, 2345))
    rows = fn(owner, "create_records", "items", [{"name": f"i{n}", "qty": n, "doc": f1["id"] if n == 1 else None}
                                                 for n in range(1, 8)])
    fn(owner, "create_record", "tags", {"name": "t", "items": [rows[0]["id"], rows[1]["id"]]})
    fn(owner, "update_record", "items", rows[2]["id"], {"qty": 30})
    fn(owner, "delete_record", "items", rows[3]["id"])
    fn(owner, "query_table", "items", {})
    db.execute("select docpal.clear_context()")
    flush(db)
    return {**company, "rows": rows}


# --- what it says ---------------------------------------------------------------------------------

def test_every_field_of_one_company_matches_what_it_holds(db, filled):
    got = metrics(db, filled["id"])
    want = truth(db, filled)
    assert want["tables"] == 2 and want["records"] == 7 and want["files"] == 2 and want["file_bytes"] == 3345
    assert want["audit_entries"] >= 10 and want["events_pending"] == want["audit_entries"]
    same(got, want)
    assert set(got) == {"company_id", "slug", "status", "tables", "records", "bytes", "files", "file_bytes",
                        "audit_entries", "events_pending", "last_activity", "activity", "quota"}
    assert got["quota"] == NO_QUOTA


def test_every_company_at_once_matches_one_by_one(db, filled):
    other = one(db, "select docpal.create_company('metrics-empty', 'Empty')")
    listed = metrics(db)
    assert [m["slug"] for m in listed] == [filled["slug"], "metrics-empty"]  # company number order
    flush(db)
    one_by_one = metrics(db, filled["id"])
    # every company at once: records and audit entries from the live-row statistics (flushed
    # above: the same), last_activity from the outbox (here the latest change)
    assert listed[0] == one_by_one
    assert listed[1] == {"company_id": str(other), "slug": "metrics-empty", "status": "active", "tables": 0,
                         "records": 0, "bytes": listed[1]["bytes"], "files": 0, "file_bytes": 0, "audit_entries": 0,
                         "events_pending": 0, "last_activity": None,
                         "activity": {"reads": 0, "inserts": 0, "updates": 0, "deletes": 0}, "quota": NO_QUOTA}
    assert listed[1]["bytes"] == one(db, "select sum(pg_total_relation_size(c.oid))::bigint from pg_class c "
                                         "join pg_namespace n on n.oid = c.relnamespace join docpal_private.companies x"
                                         " on x.schema_name = n.nspname where x.id = %s and c.relkind in ('r', 'm')",
                                     other)


def test_no_company_is_an_empty_array(db):
    assert metrics(db) == []


def test_suspended_companies_are_listed_for_platform_admins(db, filled):
    db.execute("select docpal.suspend_company(%s, 'unpaid')", (filled["id"],))
    [m] = metrics(db)
    assert m["status"] == "suspended"
    assert metrics(db, filled["id"])["status"] == "suspended"


def test_quota_is_the_companys(db, filled):
    fn(db, "set_quota", filled["id"], {"max_tables": 5, "max_file_bytes": 10 ** 9})
    want = {**NO_QUOTA, "max_tables": 5, "max_file_bytes": 10 ** 9}
    assert metrics(db, filled["id"])["quota"] == want
    assert metrics(db)[0]["quota"] == want


def test_records_above_100000_rows_per_table_are_the_estimate(db, company):
    """A table whose estimate (pg_class.reltuples) is above 100,000 rows counts as the estimate;
    at or below it, counted exactly."""
    owner = set_context(db, company, company["owner"])
    fn(owner, "create_table", table("big", {"name": "n", "type": "integer"}))
    fn(owner, "create_table", table("small", {"name": "n", "type": "integer"}))
    fn(owner, "create_records", "small", [{"n": 1}, {"n": 2}])
    s = company["schema"]
    with db.transaction():  # quickly, as the DBA: no capture (audit, events, counting)
        db.execute("set local session_replication_role = replica")
        db.execute(f"insert into {s}.big (n) select g from generate_series(1, 100500) g")
    db.execute(f"analyze {s}.big")
    estimate = one(db, "select reltuples::bigint from pg_class where oid = %s::regclass", f"{s}.big")
    assert estimate > 100000
    with db.transaction():
        db.execute("set local session_replication_role = replica")
        db.execute(f"delete from {s}.big where n <= 400")  # the estimate does not see these yet
    assert one(db, f"select count(*) from {s}.big") == 100100
    assert metrics(db, company["id"])["records"] == estimate + 2
    # a table at 100,000 rows or below is counted
    db.execute(f"delete from {s}.big where n > 1000")
    db.execute(f"analyze {s}.big")
    assert metrics(db, company["id"])["records"] == 600 + 2


def test_activity_counts_rows_read_and_written(db, filled, service):
    before = metrics(db, filled["id"])["activity"]
    writer = set_context(service, filled, filled["owner"])
    made = fn(writer, "create_records", "items", [{"name": f"n{n}"} for n in range(5)])
    fn(writer, "update_record", "items", made[0]["id"], {"qty": 1})
    fn(writer, "update_record", "items", made[1]["id"], {"qty": 2})
    fn(writer, "delete_record", "items", made[2]["id"])
    fn(writer, "query_table", "items", {})
    flush(writer, db)
    after = metrics(db, filled["id"])["activity"]
    assert after["inserts"] - before["inserts"] == 5
    assert after["updates"] - before["updates"] == 2
    assert after["deletes"] - before["deletes"] == 1
    assert after["reads"] - before["reads"] >= 9  # query_table read every item at least once
    want = truth(db, filled)["activity"]
    assert after["reads"] <= want.pop("reads")
    after.pop("reads")
    assert after == want


def test_events_pending_follow_the_consumers(db, filled, service):
    s = filled["schema"]
    held = one(db, f"select count(*) from {s}._events")
    assert held >= 10 and metrics(db, filled["id"])["events_pending"] == held
    events = fn(service, "poll_events", "metrics-test", 1000)
    assert len(events) == held
    fn(service, "ack_events", "metrics-test", events[-1]["event_id"])
    assert metrics(db, filled["id"])["events_pending"] == 0
    owner = set_context(db, filled, filled["owner"])
    fn(owner, "create_record", "items", {"name": "late"})
    assert metrics(db, filled["id"])["events_pending"] == 1
    assert metrics(db)[0]["events_pending"] == 1
    # a second consumer that never polled this company yet does not hold events back: it starts
    # when it first polls; one that polled and acknowledged nothing does
    fn(service, "poll_events", "metrics-slow", 1)
    assert metrics(db, filled["id"])["events_pending"] == held + 1


def test_last_activity_is_the_latest_change(db, filled):
    s = filled["schema"]
    got = dt.datetime.fromisoformat(metrics(db, filled["id"])["last_activity"])
    assert got == one(db, f"select max(at) from {s}._audit_log")
    owner = set_context(db, filled, filled["owner"])
    fn(owner, "add_column", "tags", {"name": "note", "type": "text"})
    got = dt.datetime.fromisoformat(metrics(db, filled["id"])["last_activity"])
    assert got == one(db, f"select max(at) from {s}._schema_history")


def test_a_lock_held_too_long_is_55p03(db, filled, connect):
    """docpal waits on a lock at most its lock timeout (2 s), then 55P03 (contract section 0)."""
    holder = connect(autocommit=False)
    holder.execute(f"lock table {filled['schema']}._files in access exclusive mode")
    try:
        with raises("55P03"):
            metrics(db, filled["id"])
        # every company at once does not wait: the locked _files is not read (null, unknown)
        mine = next(m for m in metrics(db, None) if str(m["company_id"]) == str(filled["id"]))
        assert mine["files"] is None and mine["file_bytes"] is None and mine["bytes"] > 0
    finally:
        holder.rollback()
    assert metrics(db, filled["id"])["files"] == 2


# --- who may ask ------------------------------------------------------------------------------------

@pytest.fixture
def clients(db, filled, connect):
    """docpal_app sessions authenticated by API keys of filled's owner, an admin and a member, and
    of the owner of a second company."""
    admin = one(db, "select docpal.create_user(%s, 'Admin')", f"admin-{filled['slug']}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'admin')", (filled["id"], admin))
    other = one(db, "select docpal.create_company(%s, 'Other')", f"other-{filled['slug']}")
    other_owner = one(db, "select docpal.create_user(%s, 'Other owner')", f"oo-{filled['slug']}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (other, other_owner))
    sessions = {}
    for name, company, user in (("owner", filled["id"], filled["owner"]), ("admin", filled["id"], admin),
                                ("member", filled["id"], filled["member"]), ("other", other, other_owner)):
        db.execute("select docpal.set_context(%s, %s, false)", (company, user))
        key = one(db, "select docpal.create_api_key('metrics', %s, array['read', 'create', 'update', 'delete'])",
                  user)["key"]
        conn = connect(APP_LOGIN)
        conn.execute("select docpal.authenticate(%s, false)", (key,))
        sessions[name] = conn
    db.execute("select docpal.clear_context()")
    return {**sessions, "other_id": other}


def test_platform_admins_see_every_company(db, filled, service, clients):
    assert {m["slug"] for m in metrics(service)} == {filled["slug"], f"other-{filled['slug']}"}
    assert metrics(service, filled["id"])["slug"] == filled["slug"]
    assert metrics(service, clients["other_id"])["slug"] == f"other-{filled['slug']}"
    with raises("P0002"):
        metrics(service, uuid.uuid4())


def test_owners_and_admins_see_their_own_company(db, filled, clients):
    flush(db)
    for who in ("owner", "admin"):
        got = metrics(clients[who], filled["id"])
        assert got["company_id"] == str(filled["id"]) and got["records"] == 7 and got["files"] == 2


def test_anyone_else_is_refused_alike(db, filled, clients):
    messages = set()
    for conn, company in ((clients["member"], filled["id"]), (clients["owner"], None),
                          (clients["owner"], clients["other_id"]), (clients["owner"], uuid.uuid4()),
                          (clients["other"], filled["id"])):
        with raises("42501") as exc:
            metrics(conn, company)
        messages.add(exc.value.diag.message_primary)
        assert str(filled["id"]) not in str(exc.value) or conn is clients["member"]
    # another company's id, and an id that is no company's, get the same answer
    assert len({m for m in messages if "every company" not in m and "user " not in m}) == 1


def test_no_context_and_suspended_companies_are_refused(db, filled, clients, connect):
    with raises("42501"):
        metrics(connect(APP_LOGIN), filled["id"])
    db.execute("select docpal.suspend_company(%s, 'unpaid')", (filled["id"],))
    with raises("42501"):
        metrics(clients["owner"], filled["id"])


def test_a_narrowed_api_key_is_refused(db, filled, connect):
    db.execute("select docpal.set_context(%s, %s, false)", (filled["id"], filled["owner"]))
    key = one(db, "select docpal.create_api_key('ro', %s, array['read'])", filled["owner"])["key"]
    db.execute("select docpal.clear_context()")
    conn = connect(APP_LOGIN)
    conn.execute("select docpal.authenticate(%s, false)", (key,))
    with raises("42501"):
        metrics(conn, filled["id"])


# --- the command line ------------------------------------------------------------------------------

def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["tenants", "metrics", *args], env=env, catch_exceptions=False)


def test_cli_table_and_json(db, dburl, filled):
    flush(db)
    shown = invoke("--database-url", dburl)
    assert shown.exit_code == 0, shown.output
    assert filled["slug"] in shown.output and "records" in shown.output and "events pending" in shown.output
    line = next(x for x in shown.output.splitlines() if filled["slug"] in x)
    assert " 7 " in line and "3.3 kB" in line  # records, file size
    data = json.loads(invoke("--json", env={"DATABASE_URL": dburl}).output)
    assert data == metrics(db)
    one_company = json.loads(invoke("--json", "--company", filled["slug"], "--database-url", dburl).output)
    again = metrics(db, filled["id"])
    # counting one company's records reads them: every call adds its count to the reads
    assert one_company["activity"].pop("reads") <= again["activity"].pop("reads")
    assert one_company == again
    by_id = invoke("--company", str(filled["id"]), "--database-url", dburl)
    assert by_id.exit_code == 0 and filled["slug"] in by_id.output and "(1 company)" in by_id.output


def test_cli_errors(dburl, filled):
    missing = CliRunner().invoke(main, ["tenants", "metrics", "--company", "no-such-co", "--database-url", dburl])
    assert missing.exit_code == 1 and "no company 'no-such-co'" in missing.output
    refused = CliRunner().invoke(main, ["tenants", "metrics", "--database-url",
                                        dburl.replace("://postgres@", f"://{APP_LOGIN}@")])
    assert refused.exit_code == 1 and "42501" in refused.output


def test_cli_as_a_subprocess(db, dburl, filled):
    flush(db)
    docpal = os.path.join(os.path.dirname(sys.executable), "docpal")
    done = subprocess.run([docpal, "tenants", "metrics", "--json"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DATABASE_URL": dburl.replace("://postgres@", f"://{SERVICE_LOGIN}@")})
    assert done.returncode == 0, done.stderr
    [got] = json.loads(done.stdout)
    assert got["slug"] == filled["slug"] and got["records"] == 7 and got["file_bytes"] == 3345
