"""Quotas: contract section 8 ("Quotas"), docs/quotas.md. docpal.set_quota, the
max_tables / max_records / max_bytes / max_file_bytes checks on every write path, the
record count (<schema>._usage: kept only while the company has a quota, seeded by the first
set_quota) and how it behaves with concurrent writers."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from psycopg.types.json import Jsonb
from helpers import fn, one, raises, set_context, table

ITEMS = table("items", {"name": "name", "type": "text"}, {"name": "doc", "type": "file"})


def sha(n: int) -> str:
    return f"{n:064x}"


def file_spec(n: int, size: int) -> dict:
    return {"name": f"f{n}.txt", "size": size, "mime": "text/plain", "sha256": sha(n), "storage_key": f"k/{n}"}


def used(db, schema) -> int:
    """The record count as the capture functions keep it (meaningful while there is a quota)."""
    return one(db, f"select sum(records)::bigint from {schema}._usage")


def slots(db, schema) -> list:
    """The 16 slot rows with their row versions: unchanged means no capture function touched them."""
    return db.execute(f"select slot, records, xmin::text, ctid::text from {schema}._usage order by slot").fetchall()


def rows(db, schema, slug="items") -> int:
    return one(db, f"select count(*) from {schema}.{slug}")


@pytest.fixture
def ctx(db, company):
    return set_context(db, company, company["owner"])


@pytest.fixture
def items(ctx):
    fn(ctx, "create_table", ITEMS)
    return "items"


def quota(db, company, **spec):
    return fn(db, "set_quota", company["id"], spec)


def make(conn, n, slug="items"):
    return fn(conn, "create_records", slug, [{"name": f"r{i}"} for i in range(n)])


# --- set_quota ----------------------------------------------------------------------------------

def test_set_quota_returns_all_four_keys(db, company):
    assert quota(db, company, max_records=10) == {
        "max_tables": None, "max_records": 10, "max_bytes": None, "max_file_bytes": None}
    # a missing key is no limit: the spec replaces the quota
    assert quota(db, company, max_tables=2, max_file_bytes=0) == {
        "max_tables": 2, "max_records": None, "max_bytes": None, "max_file_bytes": 0}
    assert one(db, "select docpal_private.company_quota(%s)", company["schema"])["max_tables"] == 2
    # {} (or only nulls) removes the quota
    assert quota(db, company) == dict.fromkeys(["max_tables", "max_records", "max_bytes", "max_file_bytes"])
    assert one(db, f"select count(*) from {company['schema']}._quota") == 0
    assert quota(db, company, max_bytes=None) == dict.fromkeys(["max_tables", "max_records", "max_bytes",
                                                                 "max_file_bytes"])


def test_set_quota_by_the_service_role(service, company):
    assert fn(service, "set_quota", company["id"], {"max_records": 5})["max_records"] == 5


@pytest.mark.parametrize("spec", [
    [], "x", 5, {"max_rows": 1}, {"max_records": -1}, {"max_records": 1.5}, {"max_records": "10"},
    {"max_tables": True}, {"max_bytes": {}}, {"max_file_bytes": 1e30}])
def test_set_quota_bad_spec_is_22023_and_changes_nothing(db, company, spec):
    quota(db, company, max_records=7)
    with raises("22023"):
        db.execute("select docpal.set_quota(%s, %s)", (company["id"], Jsonb(spec)))
    assert one(db, "select docpal_private.company_quota(%s)", company["schema"])["max_records"] == 7


def test_set_quota_unknown_company_is_p0002(db):
    with raises("P0002"):
        fn(db, "set_quota", uuid.uuid4(), {"max_records": 1})


def test_set_quota_is_for_platform_admins_only(db, app, company):
    # a docpal_app login authenticated as the company's owner may not call it at all
    with db.transaction():
        db.execute("select docpal.set_context(%s, %s, is_local => true)", (company["id"], company["owner"]))
        key = one(db, "select docpal.create_api_key('quota', %s, array['read', 'create'])", company["owner"])["key"]
    app.execute("select docpal.authenticate(%s, false)", (key,))
    with raises("42501"):
        fn(app, "set_quota", company["id"], {"max_records": 1})
    # nor a role that may execute it but is no platform admin (the function checks itself)
    db.execute("do $$ begin create role quota_plain; exception when duplicate_object then null; end $$")
    db.execute("grant usage on schema docpal to quota_plain")
    db.execute("grant execute on function docpal.set_quota(uuid, jsonb) to quota_plain")
    try:
        with db.transaction():
            db.execute("set local role quota_plain")
            with raises("42501") as exc:
                fn(db, "set_quota", company["id"], {"max_records": 1})
            assert "platform admin" in str(exc.value)
            raise psycopg.Rollback()
    finally:
        db.execute("revoke execute on function docpal.set_quota(uuid, jsonb) from quota_plain")
        db.execute("revoke usage on schema docpal from quota_plain")
    assert one(db, f"select count(*) from {company['schema']}._quota") == 0


# --- max_tables ---------------------------------------------------------------------------------

def test_max_tables_on_create_table(db, ctx, company):
    quota(db, company, max_tables=2)
    fn(ctx, "create_table", table("a"))
    fn(ctx, "create_table", table("b"))
    with raises("53400") as exc:
        fn(ctx, "create_table", table("c"))
    assert "quota max_tables exceeded: 2 of 2 tables" in str(exc.value)
    assert one(db, "select to_regclass(%s)", f"{company['schema']}.c") is None
    assert [t["slug"] for t in fn(ctx, "list_tables")] == ["a", "b"]
    # dropping one makes room
    fn(ctx, "drop_table", "b")
    fn(ctx, "create_table", table("c"))


def test_quota_below_usage_is_allowed_and_blocks_creates(db, ctx, company, items):
    make(ctx, 5)
    quota(db, company, max_tables=0, max_records=3)
    with raises("53400"):
        fn(ctx, "create_table", table("more"))
    with raises("53400"):
        make(ctx, 1)
    # deleting is never refused, and updates are not creates
    ids = [r[0] for r in db.execute(f"select id from {company['schema']}.items order by created_at").fetchall()]
    fn(ctx, "update_record", "items", ids[0], {"name": "renamed"})
    fn(ctx, "delete_record", "items", ids[0])
    fn(ctx, "delete_record", "items", ids[1])
    assert used(db, company["schema"]) == 3
    with raises("53400"):
        make(ctx, 1)
    fn(ctx, "delete_record", "items", ids[2])
    make(ctx, 1)
    assert used(db, company["schema"]) == rows(db, company["schema"]) == 3


# --- max_records --------------------------------------------------------------------------------

def test_max_records_create_record_and_create_records(db, ctx, company, items):
    schema = company["schema"]
    quota(db, company, max_records=5)
    fn(ctx, "create_record", "items", {"name": "one"})
    make(ctx, 3)
    audit_before = one(db, f"select count(*) from {schema}._audit_log")
    with raises("53400") as exc:
        make(ctx, 2)  # 4 + 2 > 5: the whole batch fails
    assert "quota max_records exceeded: 4 of 5 records" in str(exc.value)
    assert rows(db, schema) == 4 and used(db, schema) == 4
    assert one(db, f"select count(*) from {schema}._audit_log") == audit_before
    fn(ctx, "create_record", "items", {"name": "five"})
    with raises("53400"):
        fn(ctx, "create_record", "items", {"name": "six"})
    assert rows(db, schema) == used(db, schema) == 5


def test_max_records_counts_over_all_tables(db, ctx, company, items):
    fn(ctx, "create_table", table("other", {"name": "name", "type": "text"}))
    quota(db, company, max_records=3)
    make(ctx, 2)
    make(ctx, 1, "other")
    with raises("53400"):
        make(ctx, 1, "other")
    with raises("53400"):
        make(ctx, 1, "items")


def test_max_records_restore_record(db, ctx, company, items):
    schema = company["schema"]
    recs = make(ctx, 3)
    fn(ctx, "delete_record", "items", recs[0]["id"])
    quota(db, company, max_records=2)  # the first quota counts the 2 rows
    assert used(db, schema) == 2
    with raises("53400"):
        fn(ctx, "restore_record", "items", recs[0]["id"])
    assert rows(db, schema) == used(db, schema) == 2
    quota(db, company, max_records=3)
    fn(ctx, "restore_record", "items", recs[0]["id"])
    assert rows(db, schema) == used(db, schema) == 3


def test_max_records_on_plain_sql_inserts_too(db, company, items):
    """The capture trigger sees every insert, whoever makes it (here the superuser)."""
    schema = company["schema"]
    quota(db, company, max_records=2)
    db.execute(f"insert into {schema}.items (name) values ('a'), ('b')")
    with raises("53400"):
        db.execute(f"insert into {schema}.items (name) values ('c')")
    assert rows(db, schema) == used(db, schema) == 2


def test_deletes_and_truncate_are_counted_and_never_refused(db, ctx, company, items):
    schema = company["schema"]
    recs = make(ctx, 6)
    quota(db, company, max_records=0, max_bytes=0)
    fn(ctx, "delete_record", "items", recs[0]["id"])
    db.execute(f"delete from {schema}.items where name in ('r1', 'r2')")
    assert used(db, schema) == rows(db, schema) == 3
    db.execute(f"truncate {schema}.items")
    assert used(db, schema) == rows(db, schema) == 0
    quota(db, company, max_records=100)
    make(ctx, 4)
    assert used(db, schema) == 4
    # a dropped table's rows leave the count
    fn(ctx, "drop_table", "items")
    assert used(db, schema) == 0


def test_a_rolled_back_insert_leaves_the_count(db, company, items, connect):
    schema = company["schema"]
    quota(db, company, max_records=100)
    writer = connect(autocommit=False)
    set_context(writer, company, company["owner"], is_local=True)
    make(writer, 3)
    assert used(writer, schema) == 3  # its own transaction counts its rows
    assert used(db, schema) == 0  # another session sees only committed ones
    writer.rollback()
    assert used(db, schema) == rows(db, schema) == 0


# --- max_bytes ----------------------------------------------------------------------------------

def test_max_bytes(db, ctx, company, items):
    schema = company["schema"]
    size = one(db, """select sum(pg_total_relation_size(c.oid))::bigint from pg_class c
                       where c.relnamespace = %s::regnamespace and c.relkind in ('r', 'm')""", schema)
    assert one(db, "select docpal_private.quota_usage(%s)", schema)["bytes"] == size
    quota(db, company, max_bytes=size + 100_000)
    make(ctx, 1)
    before = rows(db, schema)
    with raises("53400") as exc:
        # about 500 KB of rows: past the limit
        fn(ctx, "create_records", "items", [{"name": "x" * 1000} for _ in range(500)])
    assert "quota max_bytes exceeded" in str(exc.value)
    assert rows(db, schema) == before and used(db, schema) == before
    with raises("53400"):
        fn(ctx, "create_record", "items", {"name": "y" * 500_000})
    # deletes are never refused, even past max_bytes
    quota(db, company, max_bytes=0)
    fn(ctx, "delete_record", "items", db.execute(f"select id from {schema}.items").fetchone()[0])
    with raises("53400"):
        make(ctx, 1)
    assert rows(db, schema) == used(db, schema) == 0


# --- max_file_bytes -----------------------------------------------------------------------------

def test_max_file_bytes_on_register_file(db, ctx, company, items):
    schema = company["schema"]
    quota(db, company, max_file_bytes=1000)
    fn(ctx, "register_file", file_spec(1, 600))
    with raises("53400") as exc:
        fn(ctx, "register_file", file_spec(2, 401))
    assert "quota max_file_bytes exceeded: 600 of 1000 file bytes" in str(exc.value)
    assert one(db, f"select count(*) from {schema}._files") == 1
    # the same content again is not new: it returns the file, whatever its size says
    assert fn(ctx, "register_file", file_spec(1, 600))["sha256"] == sha(1)
    fn(ctx, "register_file", file_spec(3, 400))
    with raises("53400"):
        fn(ctx, "register_file", file_spec(4, 1))
    assert one(db, f"select sum(size) from {schema}._files") == 1000
    # quota_check is what helpers that insert files themselves call
    with raises("53400"):
        db.execute("select docpal_private.quota_check(%s, p_file_bytes => 1)", (schema,))
    db.execute("select docpal_private.quota_check(%s, p_file_bytes => 0)", (schema,))
    db.execute("select docpal_private.quota_check(%s)", (schema,))


def test_no_quota_no_limits(db, ctx, company, items):
    schema = company["schema"]
    make(ctx, 50)
    fn(ctx, "register_file", file_spec(9, 10**12))
    db.execute("select docpal_private.quota_check(%s, 1000::bigint, (10^15)::bigint)", (schema,))
    # no quota: no count either (records null), the rest is measured
    assert one(db, "select docpal_private.quota_usage(%s)", schema) == {
        "tables": 1, "records": None, "file_bytes": 10**12,
        "bytes": one(db, "select docpal_private.quota_usage(%s)->'bytes'", schema)}
    quota(db, company, max_tables=10)
    assert one(db, "select docpal_private.quota_usage(%s)->'records'", schema) == 50


def test_no_quota_the_capture_does_not_touch_the_count(db, ctx, company, items):
    """Without a quota a write reads _quota and nothing more: the slot rows are not updated
    (not even by a statement whose delta is 0)."""
    schema = company["schema"]
    before = slots(db, schema)
    assert len(before) == 16 and all(r[1] == 0 for r in before)
    recs = make(ctx, 5)
    fn(ctx, "create_record", "items", {"name": "one"})
    fn(ctx, "update_record", "items", recs[0]["id"], {"name": "renamed"})
    fn(ctx, "delete_record", "items", recs[1]["id"])
    db.execute(f"insert into {schema}.items (name) values ('a'), ('b')")
    db.execute(f"delete from {schema}.items where name = 'zzz'")  # a delta of 0
    db.execute(f"truncate {schema}.items")
    assert slots(db, schema) == before
    src = one(db, "select prosrc from pg_proc where oid = %s::regprocedure", f"{schema}._audit_items()")
    assert src.count("if _limited then") == 1  # one block for every path (insert, delete, truncate, Citus worker)
    # a quota set then removed: counting stops again (the count goes stale)
    quota(db, company, max_records=100)
    make(ctx, 2)
    assert used(db, schema) == rows(db, schema) == 2
    quota(db, company)
    stale = slots(db, schema)
    make(ctx, 3)
    db.execute(f"delete from {schema}.items where name = 'r0'")
    assert slots(db, schema) == stale
    # drop_table takes nothing out of a count not kept
    fn(ctx, "drop_table", "items")
    assert slots(db, schema) == stale


# --- seeding ------------------------------------------------------------------------------------

def test_seeding_counts_a_company_exactly(db, ctx, company, items):
    schema = company["schema"]
    fn(ctx, "create_table", table("other", {"name": "name", "type": "text"}))
    make(ctx, 7)
    make(ctx, 4, "other")
    # a company made before counting: no usage rows (or wrong ones)
    db.execute(f"delete from {schema}._usage")
    assert one(db, "select docpal_private.quota_seed(%s)", schema) == 11
    assert one(db, f"select count(*) from {schema}._usage") == 16
    assert used(db, schema) == rows(db, schema) + rows(db, schema, "other") == 11
    db.execute(f"update {schema}._usage set records = 1000")
    assert one(db, "select docpal_private.quota_seed(%s)", schema) == 11
    assert used(db, schema) == 11
    make(ctx, 2)
    assert used(db, schema) == 11  # no quota: not counted
    quota(db, company, max_records=100)  # the first quota seeds again
    assert used(db, schema) == 13
    make(ctx, 2)
    assert used(db, schema) == 15


def test_the_first_quota_counts_the_rows_written_before(db, ctx, company, items):
    schema = company["schema"]
    fn(ctx, "create_table", table("other", {"name": "name", "type": "text"}))
    make(ctx, 7)
    db.execute(f"insert into {schema}.other (name) select 'n' || i from generate_series(1, 4) i")
    fn(ctx, "delete_record", "items", db.execute(f"select id from {schema}.items limit 1").fetchone()[0])
    db.execute(f"delete from {schema}.other where name = 'n1'")
    assert used(db, schema) == 0  # not counted while there is no quota
    quota(db, company, max_records=9)
    assert used(db, schema) == rows(db, schema) + rows(db, schema, "other") == 9
    assert one(db, f"select records from {schema}._usage where slot = 0") == 9
    assert one(db, "select docpal_private.quota_usage(%s)->'records'", schema) == 9
    with raises("53400"):
        make(ctx, 1)


def test_removing_and_setting_again_seeds_again_changing_does_not(db, ctx, company, items):
    schema = company["schema"]
    quota(db, company, max_records=100)
    make(ctx, 5)
    assert used(db, schema) == 5
    quota(db, company)  # removed: the count goes stale
    make(ctx, 3)
    db.execute(f"delete from {schema}.items where name = 'r0'")  # one of each batch
    assert used(db, schema) == 5 and rows(db, schema) == 6
    assert one(db, "select docpal_private.quota_usage(%s)->'records'", schema) is None
    quota(db, company, max_records=7)  # set again: counted exactly
    assert used(db, schema) == rows(db, schema) == 6
    make(ctx, 1)
    assert used(db, schema) == rows(db, schema) == 7
    with raises("53400"):
        make(ctx, 1)
    # changing a quota the company has does not count again (a count made wrong by hand stays)
    db.execute(f"update {schema}._usage set records = records + 1000 where slot = 3")
    quota(db, company, max_records=2000, max_tables=5)
    assert used(db, schema) == 1007


def test_the_first_quota_needs_read_committed(db, company, items):
    schema = company["schema"]
    db.execute(f"insert into {schema}.items (name) values ('a')")
    with db.transaction():
        db.execute("set transaction isolation level repeatable read")
        with raises("0A000"):
            quota(db, company, max_records=5)
    assert one(db, f"select count(*) from {schema}._quota") == 0
    quota(db, company, max_records=5)
    with db.transaction():  # a quota the company has already is changed in any isolation level
        db.execute("set transaction isolation level repeatable read")
        assert quota(db, company, max_records=6)["max_records"] == 6
    assert used(db, schema) == 1


def test_upgrade_makes_the_count_and_regenerates_a_company_made_before_quotas(db, ctx, company, items):
    """A company as it was before tenant step 0010 (no _usage, no _quota, capture functions
    that do not count) is brought up by the upgrade docpal migrate runs: the step makes _quota
    and the 16 zero slots (no company has a quota yet: nothing to count), the capture functions
    are made again, with counting; the first quota then counts the rows exactly."""
    schema = company["schema"]
    make(ctx, 4)
    with db.transaction():
        db.execute("set local role docpal_owner")
        db.execute(f"drop table {schema}._usage")
        db.execute(f"drop table {schema}._quota")
        # the capture as the previous release made it: no counting without _usage
        db.execute("select docpal_private.audit_setup(%s::regnamespace)", (schema,))
        db.execute("update docpal_private.companies set schema_version = 9 where id = %s", (company["id"],))
        db.execute("delete from docpal_private.company_generators where company_id = %s", (company["id"],))
    assert "._usage" not in one(db, "select prosrc from pg_proc where oid = %s::regprocedure",
                               f"{schema}._audit_items()")
    make(ctx, 5)  # rows written by the old capture: not counted by anything yet
    assert one(db, "select docpal_private.company_behind(%s, 9)", company["id"])
    with db.transaction():
        db.execute("set local role docpal_owner")  # as docpal migrate runs it
        db.execute("select docpal_private.upgrade_company(%s)", (company["id"],))
    assert one(db, f"select count(*) from {schema}._usage") == 16
    assert used(db, schema) == 0 and rows(db, schema) == 9
    assert "._usage" in one(db, "select prosrc from pg_proc where oid = %s::regprocedure",
                            f"{schema}._audit_items()")
    assert one(db, "select docpal_private.company_quota(%s)", schema)["max_records"] is None
    make(ctx, 1)
    assert used(db, schema) == 0
    quota(db, company, max_records=11)
    assert used(db, schema) == rows(db, schema) == 10
    make(ctx, 1)
    assert used(db, schema) == rows(db, schema) == 11
    with raises("53400"):
        make(ctx, 1)


def test_seeding_waits_for_a_writer_in_flight(db, ctx, company, items, connect):
    """quota_seed locks the tables in SHARE mode: a write in flight is counted once."""
    schema = company["schema"]
    make(ctx, 3)
    writer = connect(autocommit=False)
    set_context(writer, company, company["owner"], is_local=True)
    make(writer, 2)  # not committed: holds the table
    result = {}

    def seed():
        with connect() as c:
            result["n"] = one(c, "select docpal_private.quota_seed(%s)", schema)

    t = threading.Thread(target=seed)
    t.start()
    t.join(0.5)
    assert t.is_alive()  # waits for the writer
    writer.commit()
    t.join(10)
    assert result["n"] == 5 and used(db, schema) == rows(db, schema) == 5


def test_a_writer_in_flight_while_set_quota_seeds_is_counted_once(db, ctx, company, items, connect):
    schema = company["schema"]
    make(ctx, 3)
    writer = connect(autocommit=False)
    set_context(writer, company, company["owner"], is_local=True)
    make(writer, 2)  # not committed: holds the table, did not count (no quota)
    result = {}

    def set_first_quota():
        with connect() as c:
            result["quota"] = quota(c, company, max_records=100)

    t = threading.Thread(target=set_first_quota)
    t.start()
    t.join(0.5)
    assert t.is_alive()  # set_quota waits for the writer (within the lock timeout)
    writer.commit()
    t.join(10)
    assert result["quota"]["max_records"] == 100
    assert used(db, schema) == rows(db, schema) == 5
    # the same writer's next transaction sees the quota and counts
    set_context(writer, company, company["owner"], is_local=True)
    make(writer, 1)
    writer.commit()
    assert used(db, schema) == rows(db, schema) == 6


def test_a_writer_that_comes_while_set_quota_is_open_counts_after_it(db, ctx, company, items, connect):
    """The seed's SHARE locks hold to set_quota's commit: a writer that comes meanwhile waits,
    then sees the quota row and counts its own rows, which the seed did not see."""
    schema = company["schema"]
    make(ctx, 3)
    admin = connect(autocommit=False)
    quota(admin, company, max_records=100)  # seeded 3, not committed
    result = {}

    def write():
        with connect() as c:
            set_context(c, company, company["owner"])
            result["n"] = len(make(c, 2))

    t = threading.Thread(target=write)
    t.start()
    t.join(0.5)
    assert t.is_alive()  # waits for set_quota's transaction
    admin.commit()
    t.join(10)
    assert result["n"] == 2
    assert used(db, schema) == rows(db, schema) == 5


def test_a_table_made_in_a_transaction_open_while_set_quota_seeds_is_counted(db, ctx, company, connect):
    """A table made (and filled) by a transaction still open is not in the catalog the seed
    reads first: the seed waits for the catalog, then counts it."""
    schema = company["schema"]
    fn(ctx, "create_table", table("old", {"name": "name", "type": "text"}))
    make(ctx, 2, "old")
    maker = connect(autocommit=False)
    set_context(maker, company, company["owner"], is_local=True)
    fn(maker, "create_table", table("fresh", {"name": "name", "type": "text"}))
    make(maker, 4, "fresh")  # not committed, not counted
    result = {}

    def set_first_quota():
        with connect() as c:
            result["quota"] = quota(c, company, max_records=100)

    t = threading.Thread(target=set_first_quota)
    t.start()
    t.join(0.5)
    assert t.is_alive()
    maker.commit()
    t.join(10)
    assert result["quota"]["max_records"] == 100
    assert used(db, schema) == rows(db, schema, "old") + rows(db, schema, "fresh") == 6


# --- concurrency --------------------------------------------------------------------------------

def _writer(connect, company):
    conn = connect(autocommit=False)
    set_context(conn, company, company["owner"], is_local=True)
    conn.execute("set lock_timeout = '1s'")  # a writer that had to wait would fail: 55P03
    return conn


def test_two_writers_at_the_limit_overshoot_by_the_rows_in_flight(db, ctx, company, items, connect):
    schema = company["schema"]
    make(ctx, 9)
    quota(db, company, max_records=10)
    a, b = _writer(connect, company), _writer(connect, company)
    # neither commits before the other has written: neither waits, both see 9 + their own row
    make(a, 1)
    make(b, 1)
    a.commit()
    b.commit()
    total = rows(db, schema)
    assert total == used(db, schema) == 11
    assert total <= 10 + 1  # the documented bound: the quota plus the rows in flight (1)
    # and from now on every create fails
    with raises("53400"):
        make(ctx, 1)


def test_writers_do_not_wait_on_each_others_counter(db, ctx, company, items, connect):
    schema = company["schema"]
    quota(db, company, max_records=1000)
    writers = [_writer(connect, company) for _ in range(4)]
    for w in writers:  # each holds its slot to its commit
        make(w, 2)
    for w in writers:
        make(w, 1)  # a second statement of the same transaction reuses its own slot
    held = one(db, f"select count(*) from {schema}._usage u where u.records <> 0")
    assert held == 0  # nothing committed yet
    for w in writers:
        w.commit()
    assert used(db, schema) == rows(db, schema) == 12


def test_a_writer_whose_slot_is_taken_takes_another(db, ctx, company, items, connect):
    """A writer takes any slot no one holds; it waits only when all 16 are held by others."""
    schema = company["schema"]
    quota(db, company, max_records=1000)
    locker = connect(autocommit=False)
    assert len(locker.execute(f"select slot from {schema}._usage order by slot limit 15 for update").fetchall()) == 15
    a = _writer(connect, company)
    make(a, 1)  # its own slot may be held: it takes slot 15 without waiting (lock_timeout 1s)
    make(a, 1)  # and keeps it for its next statements
    b = _writer(connect, company)
    with raises("55P03"):  # all 16 held by others: the one case where a writer waits
        make(b, 1)
    b.rollback()
    a.commit()
    locker.commit()
    assert used(db, schema) == rows(db, schema) == 2
    set_context(b, company, company["owner"], is_local=True)
    make(b, 1)
    b.commit()
    assert used(db, schema) == rows(db, schema) == 3


# --- adopt_table (its own tests: tests/test_adopt_table.py) ------------------------------------

def test_adopt_table_is_held_to_the_quotas(db, ctx, company):
    schema = company["schema"]
    db.execute("create table public.quota_src (name text not null)")
    db.execute("insert into public.quota_src select 'n' || i from generate_series(1, 5) i")
    db.execute("grant select on public.quota_src to docpal_owner")
    quota(db, company, max_records=4)
    with raises("53400") as exc:
        fn(ctx, "adopt_table", "public.quota_src", "adopted")
    assert "max_records" in str(exc.value)
    assert one(db, "select to_regclass(%s)", f"{schema}.adopted") is None
    quota(db, company, max_tables=0)
    with raises("53400"):
        fn(ctx, "adopt_table", "public.quota_src", "adopted")
    quota(db, company, max_records=5, max_tables=1)
    fn(ctx, "adopt_table", "public.quota_src", "adopted")
    assert used(db, schema) == rows(db, schema, "adopted") == 5
