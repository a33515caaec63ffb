"""Issue 12, WRITES: attacks a member (a plain company member, acting
through docpal_service contexts) runs against records it may only partly
read or write. Each test is the attack; it succeeded before the fix.

Cast: the owner; alice (the company fixture's member) holds roles "r":
read {columns: [name, price]} on every row, and "r_eu": read of every column
on EU rows (contract section 6: two narrow grants never add up to a wide
one). A role holds one grant per table and action, hence two roles.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
from psycopg.types.json import Jsonb

from conftest import SERVICE_LOGIN
from helpers import fn, one, raises, set_context, table, U

PRODUCTS = table(
    "products",
    {"name": "name", "type": "text"},
    {"name": "price", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "cost", "type": "decimal", "precision": 12, "scale": 2, "min": 0},
    {"name": "region", "type": "text"},
    {"name": "code", "type": "text", "unique": True},
    {"name": "note", "type": "text"},
    {"name": "parent_id", "type": "relation", "target": "products", "on_delete": "set_null"})


def grant(conn, role, actions, spec=None, slug="products"):
    return one(conn, "select docpal.grant_permission(%s, %s, %s::text[], %s)", role, slug, actions, Jsonb(spec or {}))


@pytest.fixture
def env(db, connect, company):
    owner = set_context(db, company, company["owner"])
    fn(owner, "create_table", PRODUCTS)
    eu = fn(owner, "create_record", "products",
            {"name": "EU thing", "price": 10, "cost": 5, "region": "EU", "code": "E-SECRET", "note": "eu note"})["id"]
    us = fn(owner, "create_record", "products",
            {"name": "US thing", "price": 20, "cost": 7, "region": "US", "code": "U-SECRET", "note": "us note"})["id"]
    fn(owner, "create_role", "r")
    fn(owner, "create_role", "r_eu")
    grant(owner, "r", ["read"], {"columns": ["name", "price"]})
    grant(owner, "r_eu", ["read"], {"row_filter": {"region": "EU"}})
    fn(owner, "assign_role", U(company["member"]), "r")
    fn(owner, "assign_role", U(company["member"]), "r_eu")
    alice = set_context(connect(SERVICE_LOGIN), company, company["member"])
    return SimpleNamespace(owner=owner, alice=alice, company=company, schema=company["schema"], eu=eu, us=us,
                           alice_id=company["member"])


def only(env, role):
    """alice holds role instead of r and r_eu."""
    for old in ("r", "r_eu"):
        fn(env.owner, "unassign_role", U(env.alice_id), old)
    fn(env.owner, "assign_role", U(env.alice_id), role)


def raw(env, rid, column="cost"):
    return one(env.owner, f"select {column}::text from {env.schema}.products where id = %s", U(rid))


def count(env):
    return one(env.owner, f"select count(*) from {env.schema}.products")


def detail(exc):
    return json.loads(exc.value.diag.message_detail)


# --- 1. cells, not columns ------------------------------------------------------------------

def test_get_record_combines_grants_cell_by_cell(env):
    eu = fn(env.alice, "get_record", "products", U(env.eu))
    assert eu["cost"] == 5 and eu["code"] == "E-SECRET"
    us = fn(env.alice, "get_record", "products", U(env.us))
    assert us["name"] == "US thing" and us["price"] == 20
    assert us["cost"] is None and us["code"] is None and us["region"] is None, us
    assert "U-SECRET" not in json.dumps(us, default=str)


def test_every_write_returns_only_readable_cells(env):
    grant(env.owner, "r", ["create", "update", "delete"])
    a = env.alice
    leaks = {
        "update {}": one(a, "select docpal.update_record('products', %s, '{}')", U(env.us)),
        "update name": one(a, "select docpal.update_record('products', %s, %s)", U(env.us), Jsonb({"name": "US 2"})),
        "create": fn(a, "create_record", "products", {"name": "n", "cost": 9, "region": "US", "code": "C9"}),
        "create_records": fn(a, "create_records", "products", [{"name": "m", "cost": 8, "region": "US"},
                                                               {"name": "k", "region": "US", "note": "x"}])[0],
        "history": fn(a, "record_history", "products", U(env.us)),
        "version": one(a, "select docpal.record_version('products', %s, 1)", U(env.us)),
        "delete": fn(a, "delete_record", "products", U(env.us)),
    }
    for label, value in leaks.items():
        text = json.dumps(value, default=str)
        for secret in ("U-SECRET", "us note", '"cost": 7', '"cost": 9', '"cost": 8'):
            assert secret not in text, f"{label} revealed {secret}: {text}"
    assert leaks["update {}"]["cost"] is None and leaks["update {}"]["price"] == 20
    assert leaks["delete"]["name"] == "US 2" and leaks["delete"]["cost"] is None
    eu = one(a, "select docpal.update_record('products', %s, '{}')", U(env.eu))
    assert eu["cost"] == 5, "an EU row is readable whole"


def test_a_write_on_a_row_the_caller_cannot_read_is_not_found(env):
    fn(env.owner, "create_role", "eu_only")
    grant(env.owner, "eu_only", ["read"], {"row_filter": {"region": "EU"}})
    grant(env.owner, "eu_only", ["update", "delete"])
    only(env, "eu_only")
    with raises("P0002"):
        one(env.alice, "select docpal.update_record('products', %s, '{}')", U(env.us))
    with raises("P0002"):
        fn(env.alice, "delete_record", "products", U(env.us))
    assert count(env) == 2 and raw(env, env.us, "version") == "1"


# --- 2. write grants' row filters on both sides ----------------------------------------------

def test_a_member_cannot_create_or_move_rows_outside_its_write_filter(env):
    fn(env.owner, "create_role", "eu_writer")
    grant(env.owner, "eu_writer", ["create", "update", "delete"], {"row_filter": {"region": "EU"}})
    fn(env.owner, "assign_role", U(env.alice_id), "eu_writer")
    a = env.alice
    with raises("23514") as exc:
        fn(a, "create_record", "products", {"name": "x", "region": "US"})
    assert detail(exc)["rule"] == "row_filter"
    with raises("23514"):
        fn(a, "create_records", "products", [{"name": "ok", "region": "EU"}, {"name": "bad", "region": "US"}])
    with raises("23514") as exc:
        one(a, "select docpal.update_record('products', %s, %s)", U(env.eu), Jsonb({"region": "US"}))
    assert detail(exc)["rule"] == "row_filter"
    assert count(env) == 2 and raw(env, env.eu, "region") == "EU" and raw(env, env.eu, "version") == "1"
    # the row before must match too, and inside the filter all is well
    with raises("P0002"):
        one(a, "select docpal.update_record('products', %s, %s)", U(env.us), Jsonb({"region": "EU"}))
    assert fn(a, "create_record", "products", {"name": "fine", "region": "EU"})["name"] == "fine"
    assert one(a, "select docpal.update_record('products', %s, %s)", U(env.eu), Jsonb({"note": "n"}))["version"] == 2


def test_written_columns_need_a_grant_covering_the_row(env):
    """note on every row, every column on EU rows: cost of a US row is not writable."""
    fn(env.owner, "create_role", "w_note")
    fn(env.owner, "create_role", "w_eu")
    grant(env.owner, "w_note", ["update"], {"columns": ["note"]})
    grant(env.owner, "w_eu", ["update"], {"row_filter": {"region": "EU"}})
    fn(env.owner, "assign_role", U(env.alice_id), "w_note")
    fn(env.owner, "assign_role", U(env.alice_id), "w_eu")
    a = env.alice
    with raises("42501"):
        one(a, "select docpal.update_record('products', %s, %s)", U(env.us), Jsonb({"cost": 1}))
    assert raw(env, env.us) == "7.00"
    one(a, "select docpal.update_record('products', %s, %s)", U(env.us), Jsonb({"note": "ok"}))
    one(a, "select docpal.update_record('products', %s, %s)", U(env.eu), Jsonb({"cost": 6}))
    assert raw(env, env.eu) == "6.00"


# --- 3. an id names one record for ever -------------------------------------------------------

def test_recreating_a_deleted_records_id_is_23505(env):
    grant(env.owner, "r", ["create"])
    fn(env.owner, "delete_record", "products", U(env.us))
    with raises("23505"):
        fn(env.alice, "create_record", "products", {"id": env.us, "name": "mine now", "region": "EU"})
    with raises("23505"):
        fn(env.alice, "create_records", "products", [{"name": "a"}, {"id": env.us, "name": "mine now"}])
    assert count(env) == 1
    assert fn(env.owner, "restore_record", "products", U(env.us))["cost"] == 7


# --- 4. breadcrumbs -----------------------------------------------------------------------------

def test_breadcrumb_stops_at_rows_the_caller_cannot_see(env):
    fn(env.owner, "create_role", "eu_only")
    grant(env.owner, "eu_only", ["read"], {"row_filter": {"region": "EU"}})
    only(env, "eu_only")
    o = env.owner
    root = fn(o, "create_record", "products", {"name": "EU root", "region": "EU"})["id"]
    mid = fn(o, "create_record", "products", {"name": "US middle", "region": "US", "parent_id": root})["id"]
    leaf = fn(o, "create_record", "products", {"name": "EU leaf", "region": "EU", "parent_id": mid})["id"]
    path = fn(env.alice, "query_breadcrumb", "products", {"id": leaf, "parent": "parent_id", "label": "name"})["path"]
    assert path == [{"id": leaf, "label": "EU leaf"}], "the walk must not pass through the hidden US row"


def test_breadcrumb_labels_are_cells(env):
    o = env.owner
    grant(o, "r", ["read"], {"columns": ["name", "price", "parent_id"]})
    child = fn(o, "create_record", "products", {"name": "child", "note": "child note", "region": "EU",
                                                "parent_id": env.us})["id"]
    path = fn(env.alice, "query_breadcrumb", "products", {"id": child, "parent": "parent_id", "label": "note"})["path"]
    assert path == [{"id": env.us, "label": None}, {"id": child, "label": "child note"}]


# --- 5. error details -----------------------------------------------------------------------------

def test_error_details_do_not_reveal_unreadable_values(env):
    fn(env.owner, "create_role", "c")
    grant(env.owner, "c", ["read"], {"columns": ["name"]})
    grant(env.owner, "c", ["create"])
    only(env, "c")
    with raises("23505") as exc:
        fn(env.alice, "create_record", "products", {"name": "dup", "code": "U-SECRET"})
    assert detail(exc) == {"column": "code", "rule": "unique", "value": None}
    assert "U-SECRET" not in str(exc.value) + (exc.value.diag.message_detail or "")
    with raises("23514") as exc:
        fn(env.alice, "create_record", "products", {"name": "neg", "cost": -3})
    assert detail(exc) == {"column": "cost", "rule": "min", "value": None}
    with raises("23503") as exc:
        fn(env.alice, "create_record", "products", {"name": "orphan", "parent_id": str(uuid.uuid4())})
    assert detail(exc)["rule"] == "relation" and detail(exc)["value"] is None
    # the owner reads everything: the value is there
    with raises("23505") as exc:
        fn(env.owner, "create_record", "products", {"name": "dup", "code": "U-SECRET"})
    assert detail(exc)["value"] == "U-SECRET"


# --- 6. check_permission -----------------------------------------------------------------------------

def test_check_permission_does_not_probe_unreadable_records(env):
    fn(env.owner, "create_role", "probe")
    grant(env.owner, "probe", ["read"], {"row_filter": {"region": "EU"}})
    grant(env.owner, "probe", ["update"], {"row_filter": {"cost": {"gt": 6}}})
    only(env, "probe")
    # the US row (cost 7) is hidden from alice: asking must not tell her cost > 6
    assert one(env.alice, "select docpal.check_permission(%s, 'update', 'products', %s)",
               U(env.alice_id), U(env.us)) is False
    # the owner may still ask about her, on any record
    assert one(env.owner, "select docpal.check_permission(%s, 'update', 'products', %s)",
               U(env.alice_id), U(env.us)) is True


# --- 7. register_file ------------------------------------------------------------------------------

def test_register_file_needs_a_write_grant_and_keeps_others_storage_keys(env):
    o = env.owner
    fn(o, "create_table", table("docs", {"name": "title", "type": "text"}, {"name": "body", "type": "file"}))
    sha = "ab" * 32
    spec = {"name": "a.pdf", "size": 10, "mime": "application/pdf", "sha256": sha, "storage_key": "s3://secret/a"}
    owned = fn(o, "register_file", spec)
    with raises("42501"):
        fn(env.alice, "register_file", {**spec, "storage_key": "mine"})
    grant(o, "r", ["create"], slug="docs")
    got = fn(env.alice, "register_file", {**spec, "storage_key": "mine"})
    assert got["id"] == owned["id"] and got["storage_key"] is None
    assert fn(o, "register_file", spec)["storage_key"] == "s3://secret/a"
    mine = fn(env.alice, "register_file", {**spec, "sha256": "cd" * 32, "storage_key": "k2"})
    assert mine["storage_key"] == "k2" and fn(env.alice, "register_file", {**spec, "sha256": "cd" * 32})["storage_key"] == "k2"


# --- 8. list_tables, describe_table, schema_history -------------------------------------------------

def test_members_see_only_tables_and_columns_they_may_read(env):
    o = env.owner
    fn(o, "create_table", table("salaries", {"name": "amount", "type": "decimal"}))
    fn(o, "add_column", "products", {"name": "margin", "type": "decimal"})
    fn(o, "create_role", "narrow")
    grant(o, "narrow", ["read"], {"columns": ["name", "price"]})
    only(env, "narrow")
    a = env.alice
    tables = fn(a, "list_tables")
    assert [t["slug"] for t in tables] == ["products"]
    assert [c["name"] for c in tables[0]["columns"]] == ["name", "price"]
    assert [c["name"] for c in fn(a, "describe_table", "products")["columns"]] == ["name", "price"]
    with raises("42501"):
        fn(a, "describe_table", "salaries")
    with raises("42501"):
        fn(a, "schema_history", "salaries")
    history = fn(a, "schema_history", "products")
    assert [e["change"] for e in history] == ["create_table"]
    assert [c["name"] for c in history[0]["after"]["columns"]] == ["name", "price"]
    assert "margin" not in json.dumps(history)
    # the owner sees everything
    assert {t["slug"] for t in fn(o, "list_tables")} == {"products", "salaries"}
    assert [e["change"] for e in fn(o, "schema_history", "products")] == ["create_table", "add_column"]
