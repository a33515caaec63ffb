"""Record functions: contract section 3, docs/reference.md "Records"."""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb
from helpers import fn, one, raises, set_context, table

ITEMS = {"slug": "items", "name": "Items", "columns": [
    {"name": "name", "type": "text", "required": True, "max_length": 100},
    {"name": "qty", "type": "integer", "default": 1, "min": 0},
    {"name": "price", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "status", "type": "select", "options": ["draft", "active"], "default": "draft"},
    {"name": "code", "type": "text", "unique": True},
    {"name": "note", "type": "text"}]}

SYSTEM = {"id", "version", "created_at", "updated_at", "created_by", "updated_by"}
RECORD_KEYS = SYSTEM | {c["name"] for c in ITEMS["columns"]}


# --- helpers -------------------------------------------------------------------





def update(conn, slug, rid, patch, expected_version=None):
    return one(conn, "select docpal.update_record(%s, %s, %s, %s::int)",
               slug, uuid.UUID(str(rid)), Jsonb(patch), expected_version)








def count(db, schema, slug="items"):
    return one(db, f"select count(*) from {schema}.{slug}")


def uid(rec):
    return uuid.UUID(rec["id"])


@pytest.fixture
def ctx(db, company):
    return set_context(db, company, company["owner"])


@pytest.fixture
def schema(company):
    return company["schema"]


@pytest.fixture
def items(ctx):
    fn(ctx, "create_table", ITEMS)
    return "items"


@pytest.fixture
def item(ctx, items):
    return fn(ctx, "create_record", items, {"name": "Widget", "qty": 2, "price": 9.99, "code": "W1"})


# --- create_record ---------------------------------------------------------------

def test_create_record_returns_stored_record(ctx, schema, company, items):
    rec = fn(ctx, "create_record", items, {"name": "Widget", "price": "9.99"})
    assert set(rec) == RECORD_KEYS
    uuid.UUID(rec["id"])
    assert rec["version"] == 1
    assert rec["created_by"] == rec["updated_by"] == str(company["owner"])
    assert rec["created_at"] and rec["updated_at"]
    assert (rec["name"], rec["qty"], rec["price"], rec["status"], rec["code"], rec["note"]) == \
        ("Widget", 1, Decimal("9.99"), "draft", None, None)
    row = ctx.execute(f"select name, qty, version, created_by from {schema}.items where id = %s",
                      (uid(rec),)).fetchone()
    assert row == ("Widget", 1, 1, company["owner"])
    assert fn(ctx, "get_record", items, uid(rec)) == rec


def test_create_record_with_given_id(ctx, items):
    rid = uuid.uuid4()
    rec = fn(ctx, "create_record", items, {"id": str(rid), "name": "Given"})
    assert rec["id"] == str(rid)
    assert fn(ctx, "get_record", items, rid)["name"] == "Given"
    with raises("23505"):
        fn(ctx, "create_record", items, {"id": str(rid), "name": "Again"})


@pytest.mark.parametrize("data,code", [
    ({"name": "x", "nope": 1}, "42703"),
    ({"name": "x", "Name": "y"}, "42703"),
    (Jsonb([{"name": "x"}]), "22023"),
    (Jsonb("x"), "22023"),
    (Jsonb(5), "22023"),
    (Jsonb(None), "22023"),
    ({"name": "x", "version": 5}, "22023"),
    ({"name": "x", "created_at": "2020-01-01T00:00:00Z"}, "22023"),
    ({"name": "x", "updated_at": "2020-01-01T00:00:00Z"}, "22023"),
    ({"name": "x", "created_by": str(uuid.uuid4())}, "22023"),
    ({"name": "x", "updated_by": str(uuid.uuid4())}, "22023"),
    ({}, "23502"),
    ({"name": None}, "23502"),
    ({"name": "x" * 101}, "23514"),
    ({"name": "x", "qty": -1}, "23514"),
    ({"name": "x", "status": "gone"}, "23514"),
    ({"name": "x", "qty": "many"}, "22P02"),
])
def test_create_record_errors_write_nothing(ctx, schema, items, data, code):
    with raises(code):
        fn(ctx, "create_record", items, data)
    assert count(ctx, schema) == 0


def test_create_record_unique(ctx, schema, item):
    with raises("23505"):
        fn(ctx, "create_record", "items", {"name": "Other", "code": "W1"})
    assert count(ctx, schema) == 1


# --- create_records ----------------------------------------------------------------

def test_create_records_keeps_order(ctx, schema, items):
    recs = fn(ctx, "create_records", items, [{"name": f"n{i}", "qty": i} for i in range(10)])
    assert [r["name"] for r in recs] == [f"n{i}" for i in range(10)]
    assert [r["qty"] for r in recs] == list(range(10))
    assert len({r["id"] for r in recs}) == 10
    assert all(set(r) == RECORD_KEYS and r["version"] == 1 for r in recs)
    assert count(ctx, schema) == 10
    for rec in recs:
        assert fn(ctx, "get_record", items, uid(rec)) == rec


def test_create_records_different_key_sets_keep_defaults(ctx, items):
    recs = fn(ctx, "create_records", items, [{"name": "a"}, {"name": "b", "qty": 5},
                                             {"status": "active", "name": "c"}, {"name": "d", "qty": 3}])
    assert [(r["name"], r["qty"], r["status"]) for r in recs] == [
        ("a", 1, "draft"), ("b", 5, "draft"), ("c", 1, "active"), ("d", 3, "draft")]


def test_create_records_empty(ctx, schema, items):
    assert fn(ctx, "create_records", items, []) == []
    assert count(ctx, schema) == 0


@pytest.mark.parametrize("bad,code", [
    ({"name": "bad", "qty": -1}, "23514"),
    ({"qty": 3}, "23502"),
    ({"name": "bad", "nope": 1}, "42703"),
    ({"name": "bad", "version": 3}, "22023"),
    ({"name": "bad", "qty": "x"}, "22P02"),
    ({"name": "dup", "code": "C1"}, "23505"),
    ("not an object", "22023"),
])
def test_create_records_one_bad_row_writes_nothing(ctx, schema, items, bad, code):
    rows = [{"name": "a", "code": "C1"}, {"name": "b", "qty": 2}, bad, {"name": "c"}]
    with raises(code):
        fn(ctx, "create_records", items, rows)
    assert count(ctx, schema) == 0


@pytest.mark.parametrize("rows", [Jsonb({"name": "x"}), Jsonb("x"), Jsonb(None)])
def test_create_records_rows_not_an_array(ctx, schema, items, rows):
    with raises("22023"):
        fn(ctx, "create_records", items, rows)
    assert count(ctx, schema) == 0


def test_create_records_ten_thousand(ctx, schema, items):
    rows = [{"name": f"item {i}", "qty": i % 50} for i in range(10_000)]
    recs = fn(ctx, "create_records", items, rows)
    assert len(recs) == 10_000
    assert [r["name"] for r in recs[:3]] == ["item 0", "item 1", "item 2"]
    assert recs[-1]["name"] == "item 9999" and recs[-1]["qty"] == 9999 % 50
    assert count(ctx, schema) == 10_000


# --- get_record --------------------------------------------------------------------

def test_get_record_unknown_is_null(ctx, item):
    assert fn(ctx, "get_record", "items", uuid.uuid4()) is None


# --- update_record -------------------------------------------------------------------

def test_update_record(ctx, db, company, schema, item):
    editor = one(db, "select docpal.create_user('editor@example.com', 'Editor')")
    db.execute("select docpal.add_member(%s, %s, 'admin')", (company["id"], editor))
    set_context(ctx, company, editor)
    updated = update(ctx, "items", item["id"], {"qty": 5, "note": "hi"})
    assert updated["version"] == 2
    assert (updated["qty"], updated["note"], updated["name"]) == (5, "hi", "Widget")
    assert updated["created_by"] == str(company["owner"])
    assert updated["updated_by"] == str(editor)
    assert updated["created_at"] == item["created_at"]
    assert set(updated) == RECORD_KEYS
    assert fn(ctx, "get_record", "items", uid(item)) == updated
    assert update(ctx, "items", item["id"], {"note": None})["version"] == 3


def test_update_record_no_op_keeps_version(ctx, item):
    same = update(ctx, "items", item["id"], {"qty": item["qty"], "name": item["name"]})
    assert same == item
    assert update(ctx, "items", item["id"], {}) == item


def test_update_record_expected_version(ctx, item):
    with raises("40001"):
        update(ctx, "items", item["id"], {"qty": 7}, expected_version=2)
    assert fn(ctx, "get_record", "items", uid(item)) == item
    updated = update(ctx, "items", item["id"], {"qty": 7}, expected_version=1)
    assert updated["version"] == 2 and updated["qty"] == 7
    with raises("40001"):
        update(ctx, "items", item["id"], {"qty": 8}, expected_version=1)
    assert fn(ctx, "get_record", "items", uid(item)) == updated


@pytest.mark.parametrize("patch,code", [
    ({"nope": 1}, "42703"),
    ({"version": 9}, "22023"),
    ({"id": str(uuid.uuid4())}, "22023"),
    ({"created_by": str(uuid.uuid4())}, "22023"),
    ({"name": None}, "23502"),
    ({"qty": -5}, "23514"),
    ({"qty": "lots"}, "22P02"),
    ({"qty": 3, "nope": 1}, "42703"),
])
def test_update_record_errors_change_nothing(ctx, item, patch, code):
    with raises(code):
        update(ctx, "items", item["id"], patch)
    assert fn(ctx, "get_record", "items", uid(item)) == item


@pytest.mark.parametrize("patch", [Jsonb([]), Jsonb("x"), Jsonb(None)])
def test_update_record_patch_not_an_object(ctx, item, patch):
    with raises("22023"):
        one(ctx, "select docpal.update_record('items', %s, %s)", uid(item), patch)
    assert fn(ctx, "get_record", "items", uid(item)) == item


def test_update_record_unique(ctx, item):
    other = fn(ctx, "create_record", "items", {"name": "Other", "code": "O1"})
    with raises("23505"):
        update(ctx, "items", other["id"], {"code": "W1"})
    assert fn(ctx, "get_record", "items", uid(other)) == other


def test_update_record_unknown_id(ctx, schema, item):
    with raises("P0002"):
        update(ctx, "items", uuid.uuid4(), {"qty": 1})
    assert count(ctx, schema) == 1


# --- plain SQL updates ----------------------------------------------------------------

def test_version_bumps_through_plain_sql(ctx, schema, item):
    ctx.execute(f"update {schema}.items set qty = 9 where id = %s", (uid(item),))
    assert one(ctx, f"select version from {schema}.items where id = %s", uid(item)) == 2
    ctx.execute(f"update {schema}.items set qty = 9 where id = %s", (uid(item),))  # no-op
    assert one(ctx, f"select version from {schema}.items where id = %s", uid(item)) == 2
    ctx.execute(f"update {schema}.items set qty = qty + 1, note = 'x' where id = %s", (uid(item),))
    rec = fn(ctx, "get_record", "items", uid(item))
    assert (rec["version"], rec["qty"], rec["note"]) == (3, 10, "x")
    assert update(ctx, "items", item["id"], {"qty": 11}, expected_version=3)["version"] == 4


def test_version_stamp_ignores_the_writers_search_path(ctx, schema, company, item):
    """stamp_update pins no search path (a SET clause per row cost more than the trigger's
    work): every operator and type in it is named with its schema, so a writer whose path
    puts their own + and = first still gets version + 1 and the context's user."""
    ctx.execute("""create schema evil;
        create function evil.plus(integer, integer) returns integer language sql as 'select 1000';
        create operator evil.+ (leftarg = integer, rightarg = integer, function = evil.plus);
        create function evil.same(uuid, uuid) returns boolean language sql as 'select false';
        create operator evil.= (leftarg = uuid, rightarg = uuid, function = evil.same);
        create function evil.same_text(text, text) returns boolean language sql as 'select true';
        create operator evil.= (leftarg = text, rightarg = text, function = evil.same_text)""")
    ctx.execute("set search_path = evil, pg_catalog, public")
    try:
        ctx.execute(f"update {schema}.items set qty = 5 where id operator(pg_catalog.=) %s", (uid(item),))
        ctx.execute(f"update {schema}.items set qty = 6 where id operator(pg_catalog.=) %s", (uid(item),))
        row = ctx.execute(f"select version, updated_by from {schema}.items where id operator(pg_catalog.=) %s",
                          (uid(item),)).fetchone()
        assert row == (3, uuid.UUID(str(company["owner"])))
        with raises("22023"):
            ctx.execute(f"update {schema}.items set id = gen_random_uuid() where id operator(pg_catalog.=) %s",
                        (uid(item),))
    finally:
        ctx.execute("reset search_path")


# --- delete_record -------------------------------------------------------------------

def test_delete_record(ctx, schema, item):
    fn(ctx, "create_record", "items", {"name": "Keep"})
    deleted = fn(ctx, "delete_record", "items", uid(item))
    assert deleted == item
    assert fn(ctx, "get_record", "items", uid(item)) is None
    assert count(ctx, schema) == 1
    with raises("P0002"):
        fn(ctx, "delete_record", "items", uid(item))
    assert count(ctx, schema) == 1


def test_delete_record_unknown_id(ctx, schema, item):
    with raises("P0002"):
        fn(ctx, "delete_record", "items", uuid.uuid4())
    assert count(ctx, schema) == 1


@pytest.fixture
def family(ctx):
    """`parents` and three child tables pointing at it with each on_delete; one parent with a child in each."""
    fn(ctx, "create_table", table("parents", {"name": "name", "type": "text"}))
    for mode in ("restrict", "cascade", "set_null"):
        fn(ctx, "create_table", table(f"child_{mode}", {"name": "name", "type": "text"},
                                      {"name": "parent_id", "type": "relation", "target": "parents",
                                       "on_delete": mode}))
    fn(ctx, "create_table", table("child_default", {"name": "parent_id", "type": "relation", "target": "parents"}))
    parent = fn(ctx, "create_record", "parents", {"name": "P"})
    children = {mode: fn(ctx, "create_record", f"child_{mode}", {"name": mode, "parent_id": parent["id"]})
                for mode in ("restrict", "cascade", "set_null")}
    return parent, children


def test_delete_restricted_by_relation(ctx, schema, family):
    parent, children = family
    with raises("23503"):
        fn(ctx, "delete_record", "parents", uid(parent))
    assert fn(ctx, "get_record", "parents", uid(parent)) == parent
    for mode, child in children.items():
        assert fn(ctx, "get_record", f"child_{mode}", uid(child)) == child


def test_delete_restrict_is_the_default(ctx, family):
    lonely = fn(ctx, "create_record", "parents", {"name": "L"})
    fn(ctx, "create_record", "child_default", {"parent_id": lonely["id"]})
    with raises("23503"):
        fn(ctx, "delete_record", "parents", uid(lonely))
    assert fn(ctx, "get_record", "parents", uid(lonely)) == lonely


def test_delete_cascade_and_set_null(ctx, schema, family):
    parent, children = family
    fn(ctx, "delete_record", "child_restrict", uid(children["restrict"]))
    fn(ctx, "delete_record", "parents", uid(parent))
    assert fn(ctx, "get_record", "parents", uid(parent)) is None
    assert fn(ctx, "get_record", "child_cascade", uid(children["cascade"])) is None
    orphan = fn(ctx, "get_record", "child_set_null", uid(children["set_null"]))
    assert orphan["parent_id"] is None and orphan["name"] == "set_null"
    assert count(ctx, schema, "child_cascade") == 0


def test_relation_to_unknown_record(ctx, schema, family):
    with raises("23503"):
        fn(ctx, "create_record", "child_cascade", {"name": "x", "parent_id": str(uuid.uuid4())})
    assert count(ctx, schema, "child_cascade") == 1


# --- concurrency --------------------------------------------------------------------

def test_two_sessions_updating_with_same_expected_version(ctx, company, item, connect):
    first = set_context(connect(autocommit=False), company, company["owner"])
    first.commit()
    second = set_context(connect(), company, company["owner"])
    update(first, "items", item["id"], {"qty": 10}, expected_version=1)  # holds the row lock
    outcome: dict = {}

    def update_second():
        try:
            outcome["record"] = update(second, "items", item["id"], {"qty": 20}, expected_version=1)
        except psycopg.Error as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=update_second)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive(), "the second update should wait for the first transaction"
    first.commit()
    thread.join(10)
    assert not thread.is_alive()
    assert "record" not in outcome, outcome
    assert outcome["error"].sqlstate == "40001"
    final = fn(ctx, "get_record", "items", uid(item))
    assert (final["version"], final["qty"]) == (2, 10)


# --- unknown table, no context ------------------------------------------------------------

RECORD_CALLS = [
    ("create_record", lambda slug, rid: (slug, {"name": "x"})),
    ("create_records", lambda slug, rid: (slug, [{"name": "x"}])),
    ("get_record", lambda slug, rid: (slug, rid)),
    ("update_record", lambda slug, rid: (slug, rid, {"qty": 3})),
    ("delete_record", lambda slug, rid: (slug, rid)),
]


@pytest.mark.parametrize("call,args", RECORD_CALLS, ids=[c[0] for c in RECORD_CALLS])
def test_unknown_table(ctx, schema, item, call, args):
    with raises("42P01"):
        fn(ctx, call, *args("nope", uid(item)))
    assert fn(ctx, "get_record", "items", uid(item)) == item


@pytest.mark.parametrize("call,args", RECORD_CALLS, ids=[c[0] for c in RECORD_CALLS])
def test_record_functions_need_a_context(ctx, schema, item, connect, call, args):
    with raises("42501"):
        fn(connect(), call, *args("items", uid(item)))
    assert fn(ctx, "get_record", "items", uid(item)) == item
    assert count(ctx, schema) == 1


def test_context_cleared(ctx, schema, item):
    ctx.execute("select docpal.clear_context()")
    with raises("42501"):
        fn(ctx, "get_record", "items", uid(item))


@pytest.mark.parametrize("name", ["t", "r", "x", "rec", "row", "data", "value", "record", "patch", "slug"])
def test_any_valid_column_name_reads_back(ctx, name):
    """Column names that might clash with names inside the functions (aliases, variables, arguments)."""
    fn(ctx, "create_table", table("things", {"name": name, "type": "integer"}, {"name": "other", "type": "text"}))
    rec = fn(ctx, "create_record", "things", {name: 1, "other": "o"})
    assert set(rec) == SYSTEM | {name, "other"}
    assert (rec[name], rec["other"]) == (1, "o")
    assert fn(ctx, "get_record", "things", uid(rec)) == rec
    updated = update(ctx, "things", rec["id"], {name: 2})
    assert (updated[name], updated["version"]) == (2, 2)
    assert fn(ctx, "create_records", "things", [{name: 3}])[0][name] == 3
    assert fn(ctx, "delete_record", "things", uid(rec)) == updated
