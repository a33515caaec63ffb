"""Dynamic tables: contract section 2, docs/reference.md "Dynamic tables"."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from psycopg.types.json import Jsonb
from helpers import fn, one, raises, table

BIG = 100_000

CATEGORIES = {"slug": "categories", "name": "Categories",
              "columns": [{"name": "name", "type": "text", "required": True}]}

PRODUCTS = {"slug": "products", "name": "Products",
            "columns": [
                {"name": "name", "type": "text", "required": True, "max_length": 200, "searchable": True},
                {"name": "price", "type": "decimal", "precision": 12, "scale": 2, "min": 0},
                {"name": "category_id", "type": "relation", "target": "categories", "on_delete": "set_null"},
                {"name": "tags", "type": "multi_select", "options": ["new", "sale"]},
                {"name": "status", "type": "select", "options": ["draft", "active"], "default": "draft"},
                {"name": "metadata", "type": "json"}]}

SYSTEM_COLUMNS = ("id", "version", "created_at", "updated_at", "created_by", "updated_by")


# --- helpers -------------------------------------------------------------------









def col(desc, name):
    found = [c for c in desc["columns"] if c["name"] == name]
    assert found, f"column {name} not in {[c['name'] for c in desc['columns']]}"
    return found[0]


def col_names(desc):
    return [c["name"] for c in desc["columns"]]


def relnames(db, schema, kinds="rpSiv"):
    """Names of the relations (tables, sequences, indexes, views) in a schema."""
    return {r[0] for r in db.execute(
        "select relname from pg_class where relnamespace = %s::regnamespace and strpos(%s, relkind::text) > 0",
        (schema, kinds))}


def exists(db, schema, slug):
    return one(db, "select to_regclass(%s) is not null", f"{schema}.{slug}")


def pg_columns(db, schema, slug):
    return db.execute("""
        select attname, format_type(atttypid, atttypmod), attnotnull from pg_attribute
        where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum""",
                      (f"{schema}.{slug}",)).fetchall()


def pg_constraints(db, schema, slug):
    return sorted(db.execute(
        "select conname, pg_get_constraintdef(oid) from pg_constraint where conrelid = %s::regclass",
        (f"{schema}.{slug}",)).fetchall())


def rows(db, schema, slug, columns="*", order="id"):
    return db.execute(f"select {columns} from {schema}.{slug} order by {order}").fetchall()


def snapshot(db, schema, slug):
    """Everything a failed schema change must leave as it was."""
    return {"describe": fn(db, "describe_table", slug),
            "columns": pg_columns(db, schema, slug),
            "constraints": pg_constraints(db, schema, slug),
            "rows": rows(db, schema, slug),
            "history": len(fn(db, "schema_history", slug)),
            "relations": relnames(db, schema)}


def filenode(db, schema, slug):
    return one(db, "select pg_relation_filenode(%s::regclass)", f"{schema}.{slug}")


def has_index(db, schema, slug, column, unique=None, method=None):
    sql = """
        select count(*) from pg_index i
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam
        where i.indrelid = %s::regclass and a.attname = %s"""
    params = [f"{schema}.{slug}", column]
    if unique is not None:
        sql += " and i.indisunique = %s"
        params.append(unique)
    if method is not None:
        sql += " and am.amname = %s"
        params.append(method)
    return one(db, sql, *params) > 0


@pytest.fixture
def ctx(db, company):
    db.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    return db


@pytest.fixture
def schema(company):
    return company["schema"]


@pytest.fixture
def products(ctx):
    fn(ctx, "create_table", CATEGORIES)
    return fn(ctx, "create_table", PRODUCTS)


@pytest.fixture
def notes(ctx, schema):
    """A small table `notes` (title text max_length 50, code text, n integer) with three rows."""
    fn(ctx, "create_table", table("notes",
                                  {"name": "title", "type": "text", "max_length": 50},
                                  {"name": "code", "type": "text"},
                                  {"name": "n", "type": "integer"}))
    ctx.execute(f"insert into {schema}.notes (title, code, n) values "
                "('hello world', '42', 1), ('second', '7', 2), ('third', null, 3)")
    return "notes"


@pytest.fixture
def big(ctx, schema):
    """`big` (n integer, note text) with 100,000 rows."""
    fn(ctx, "create_table", table("big", {"name": "n", "type": "integer"}, {"name": "note", "type": "text"}))
    ctx.execute(f"insert into {schema}.big (n, note) select g, 'row ' || g from generate_series(1, {BIG}) g")
    return "big"


# --- create_table / describe_table ------------------------------------------------

def test_create_table_contract_example(ctx, schema, products):
    desc = products
    assert desc["slug"] == "products" and desc["name"] == "Products"
    names = col_names(desc)
    spec_names = [c["name"] for c in PRODUCTS["columns"]]
    assert [n for n in names if n in spec_names] == spec_names, "columns in table order"
    for spec in PRODUCTS["columns"]:
        described = col(desc, spec["name"])
        assert "data_type" in described
        for key, value in spec.items():
            assert described[key] == value, (spec["name"], key)
    assert col(desc, "name")["data_type"] == "text"
    assert col(desc, "price")["data_type"] == "numeric(12,2)"
    assert col(desc, "category_id")["data_type"] == "uuid"
    assert col(desc, "tags")["data_type"] == "text[]"
    assert col(desc, "status")["data_type"] == "text"
    assert col(desc, "metadata")["data_type"] == "jsonb"
    assert fn(ctx, "describe_table", "products") == desc
    assert [t["slug"] for t in fn(ctx, "list_tables")] == ["categories", "products"]


def test_table_is_a_real_postgresql_table_with_system_columns(ctx, schema, products):
    cols = {name: dtype for name, dtype, _ in pg_columns(ctx, schema, "products")}
    assert cols["id"] == "uuid"
    assert cols["version"] == "integer"
    assert cols["created_at"] == cols["updated_at"] == "timestamp with time zone"
    assert cols["created_by"] == cols["updated_by"] == "uuid"
    for spec in PRODUCTS["columns"]:
        assert spec["name"] in cols
    assert cols["price"] == "numeric(12,2)"
    assert one(ctx, f"select count(*) from {schema}.products") == 0


def test_plain_insert_naming_some_columns_gets_system_defaults(ctx, schema, products):
    row = ctx.execute(f"insert into {schema}.products (name) values ('Phone') "
                      "returning id, version, created_at, updated_at, status").fetchone()
    assert isinstance(row[0], uuid.UUID)
    assert row[1] == 1
    assert row[2] is not None and row[3] is not None
    assert row[4] == "draft"


def test_describe_and_list_tables(ctx, products):
    desc = fn(ctx, "describe_table", "categories")
    assert desc["slug"] == "categories" and desc["name"] == "Categories"
    assert {"slug", "name", "description", "columns", "created_at", "updated_at"} <= set(desc)
    assert col(desc, "name")["type"] == "text" and col(desc, "name")["required"] is True
    listed = fn(ctx, "list_tables")
    assert listed == [fn(ctx, "describe_table", "categories"), fn(ctx, "describe_table", "products")]
    with raises("42P01"):
        fn(ctx, "describe_table", "nope")


def test_list_tables_empty(ctx):
    assert fn(ctx, "list_tables") == []


def test_common_column_keys_are_kept(ctx):
    spec = {"name": "title", "type": "text", "label": "Title", "description": "The title",
            "view_type": "headline", "indexed": True, "unique": True, "required": True, "default": "x"}
    desc = fn(ctx, "create_table", {**table("docs", spec), "description": "Documents"})
    assert desc["description"] == "Documents"
    for key, value in spec.items():
        assert col(desc, "title")[key] == value


TYPES = [
    ("text", {"type": "text"}, "text"),
    ("long_text", {"type": "long_text"}, "text"),
    ("rich_text", {"type": "rich_text"}, "text"),
    ("integer", {"type": "integer"}, "integer"),
    ("bigint", {"type": "bigint"}, "bigint"),
    ("decimal", {"type": "decimal", "precision": 12, "scale": 2}, "numeric(12,2)"),
    ("decimal_plain", {"type": "decimal"}, "numeric"),
    ("float", {"type": "float"}, "double precision"),
    ("currency", {"type": "currency", "currency": "EUR"}, "numeric(19,4)"),
    ("percent", {"type": "percent"}, "numeric"),
    ("boolean", {"type": "boolean"}, "boolean"),
    ("date", {"type": "date"}, "date"),
    ("time", {"type": "time"}, "time without time zone"),
    ("datetime", {"type": "datetime"}, "timestamp with time zone"),
    ("duration", {"type": "duration"}, "interval"),
    ("email", {"type": "email"}, "text"),
    ("url", {"type": "url"}, "text"),
    ("phone", {"type": "phone"}, "text"),
    ("json", {"type": "json"}, "jsonb"),
    ("uuid", {"type": "uuid"}, "uuid"),
    ("select", {"type": "select", "options": ["a", "b"]}, "text"),
    ("multi_select", {"type": "multi_select", "options": ["a", "b"]}, "text[]"),
    ("relation", {"type": "relation", "target": "targets"}, "uuid"),
    ("relation_many", {"type": "relation_many", "target": "targets"}, None),
    ("user", {"type": "user"}, "uuid"),
    ("file", {"type": "file"}, "uuid"),
    ("autonumber", {"type": "autonumber", "prefix": "INV-"}, "bigint"),
    ("rating", {"type": "rating", "max": 5}, "smallint"),
    ("color", {"type": "color"}, "text"),
    ("formula", {"type": "formula", "expression": "a * 2"}, "integer"),
]


@pytest.mark.parametrize("spec,data_type", [t[1:] for t in TYPES], ids=[t[0] for t in TYPES])
def test_every_type_creates_with_its_postgresql_type(ctx, schema, spec, data_type):
    fn(ctx, "create_table", table("targets", {"name": "label", "type": "text"}))
    before = relnames(ctx, schema)
    desc = fn(ctx, "create_table", table("t", {"name": "a", "type": "integer"}, {"name": "v", **spec}))
    described = col(desc, "v")
    assert described["type"] == spec["type"]
    pg = {name: dtype for name, dtype, _ in pg_columns(ctx, schema, "t")}
    if spec["type"] == "relation_many":
        assert "v" not in pg
        new = relnames(ctx, schema, "rp") - before
        assert [n for n in new if n.startswith("_")], f"no junction table among {new}"
    else:
        assert described["data_type"] == data_type
        assert pg["v"] == data_type


# --- create_table errors -----------------------------------------------------------

def _col(**kw):
    return {"name": "c", "type": "text", **kw}


BAD_SPECS = {
    # 22023: malformed spec, names
    "not_an_object": ([], "22023"),
    "no_slug": ({"name": "X", "columns": [_col()]}, "22023"),
    "slug_upper": (table("Products", _col()), "22023"),
    "slug_digit": (table("1abc", _col()), "22023"),
    "slug_dash": (table("a-b", _col()), "22023"),
    "slug_empty": (table("", _col()), "22023"),
    "slug_long": (table("a" * 64, _col()), "22023"),
    "slug_injection": (table("x;drop", _col()), "22023"),
    "column_name_upper": (table("t", _col(name="Name")), "22023"),
    "column_name_space": (table("t", _col(name="a b")), "22023"),
    "columns_not_array": ({"slug": "t", "name": "T", "columns": {"c": "text"}}, "22023"),
    **{f"reserved_{n}": (table("t", _col(name=n)), "22023") for n in SYSTEM_COLUMNS},
    "unknown_type": (table("t", _col(type="varchar2")), "22023"),
    "unknown_rule_key": (table("t", _col(colour="red")), "22023"),
    "max_length_on_integer": (table("t", _col(type="integer", max_length=5)), "22023"),
    "options_on_text": (table("t", _col(options=["a"])), "22023"),
    "precision_on_integer": (table("t", _col(type="integer", precision=5)), "22023"),
    "target_on_text": (table("t", _col(target="t")), "22023"),
    "bad_rule_value": (table("t", _col(max_length="long")), "22023"),
    "decimal_precision_too_big": (table("t", _col(type="decimal", precision=2000)), "22023"),
    "decimal_scale_above_precision": (table("t", _col(type="decimal", precision=4, scale=6)), "22023"),
    "bad_on_delete": (table("t", {"name": "p", "type": "relation", "target": "t", "on_delete": "explode"}),
                      "22023"),
    "bad_currency_code": (table("t", _col(type="currency", currency="usd")), "22023"),
    "bad_regex": (table("t", _col(pattern="([a-z")), "22023"),
    # other codes
    "duplicate_column": (table("t", _col(), _col(type="integer")), "42701"),
    "unknown_target": (table("t", {"name": "p", "type": "relation", "target": "nowhere"}), "42P01"),
    "unknown_target_many": (table("t", {"name": "p", "type": "relation_many", "target": "nowhere"}), "42P01"),
}

BAD_FORMULAS = ["nope * 2", "pg_sleep(1)", "price; drop table x", "price::text", "(select 1)", "select 1",
                "now()", "case when price > 0 then 1 else 0 end", "price * quantity; select 1"]


def _assert_create_fails(ctx, schema, spec, code):
    tables, rels = fn(ctx, "list_tables"), relnames(ctx, schema)
    with raises(code):
        fn(ctx, "create_table", spec)
    assert fn(ctx, "list_tables") == tables
    assert relnames(ctx, schema) == rels
    if isinstance(spec, dict) and isinstance(spec.get("slug"), str) and spec["slug"].isidentifier():
        assert not exists(ctx, schema, spec["slug"])


@pytest.mark.parametrize("spec,code", list(BAD_SPECS.values()), ids=list(BAD_SPECS))
def test_create_table_errors_change_nothing(ctx, schema, spec, code):
    _assert_create_fails(ctx, schema, spec, code)


@pytest.mark.parametrize("expression", BAD_FORMULAS)
def test_create_table_rejects_formula_outside_the_language(ctx, schema, expression):
    spec = table("t", {"name": "price", "type": "decimal"}, {"name": "quantity", "type": "integer"},
                 {"name": "total", "type": "formula", "expression": expression})
    _assert_create_fails(ctx, schema, spec, "22023")


def test_create_table_duplicate_slug(ctx, schema, products):
    before = snapshot(ctx, schema, "products")
    with raises("42P07"):
        fn(ctx, "create_table", table("products", _col()))
    assert snapshot(ctx, schema, "products") == before


def test_create_table_without_context(db, company, connect):
    conn = connect()
    with raises("42501"):
        fn(conn, "create_table", table("t", _col()))
    assert not exists(db, company["schema"], "t")


@pytest.mark.parametrize("call,args", [
    ("describe_table", ("t",)), ("list_tables", ()), ("alter_table", ("t", {"name": "X"})),
    ("drop_table", ("t",)), ("add_column", ("t", _col(name="d"))), ("alter_column", ("t", "c", {"label": "C"})),
    ("rename_column", ("t", "c", "d")), ("drop_column", ("t", "c")), ("schema_history", ("t",)),
    ("create_type_list", ("l", ["a"])), ("update_type_list", ("l", ["a"]))])
def test_table_functions_need_a_context(ctx, schema, connect, call, args):
    fn(ctx, "create_table", table("t", _col()))
    before = snapshot(ctx, schema, "t")
    with raises("42501"):
        fn(connect(), call, *args)
    assert snapshot(ctx, schema, "t") == before


def test_self_relation(ctx, schema):
    desc = fn(ctx, "create_table", table("nodes", {"name": "title", "type": "text"},
                                         {"name": "parent_id", "type": "relation", "target": "nodes"}))
    assert col(desc, "parent_id")["target"] == "nodes"
    root = one(ctx, f"insert into {schema}.nodes (title) values ('root') returning id")
    ctx.execute(f"insert into {schema}.nodes (title, parent_id) values ('child', %s)", (root,))
    with raises("23503"):
        ctx.execute(f"insert into {schema}.nodes (title, parent_id) values ('orphan', %s)", (uuid.uuid4(),))


# --- indexes -------------------------------------------------------------------------

def test_indexes(ctx, schema, products):
    assert has_index(ctx, schema, "products", "category_id", unique=False)
    fn(ctx, "add_column", "products", {"name": "sku", "type": "text", "unique": True})
    assert has_index(ctx, schema, "products", "sku", unique=True)
    fn(ctx, "add_column", "products", {"name": "rank", "type": "integer", "indexed": True})
    assert has_index(ctx, schema, "products", "rank", method="btree")
    fn(ctx, "add_column", "products", {"name": "labels", "type": "multi_select", "options": ["x"], "indexed": True})
    assert has_index(ctx, schema, "products", "labels", method="gin")
    defs = [r[0] for r in ctx.execute("select indexdef from pg_indexes where schemaname = %s and tablename = %s",
                                      (schema, "products"))]
    search = [d for d in defs if "gin" in d.lower() and "to_tsvector" in d]
    assert len(search) == 1 and "name" in search[0], defs


def test_unique_is_enforced(ctx, schema):
    fn(ctx, "create_table", table("t", {"name": "code", "type": "text", "unique": True}))
    ctx.execute(f"insert into {schema}.t (code) values ('a')")
    with raises("23505"):
        ctx.execute(f"insert into {schema}.t (code) values ('a')")


# --- alter_table -----------------------------------------------------------------------

def test_alter_table_name_and_description(ctx, products):
    desc = fn(ctx, "alter_table", "products", {"name": "Goods", "description": "What we sell"})
    assert desc["name"] == "Goods" and desc["description"] == "What we sell"
    assert desc["slug"] == "products"
    assert fn(ctx, "describe_table", "products")["name"] == "Goods"


@pytest.mark.parametrize("patch", [{"slug": "other"}, {"columns": []}, {"colour": "red"}, [], {"name": ""}])
def test_alter_table_bad_patch(ctx, schema, products, patch):
    before = snapshot(ctx, schema, "products")
    with raises("22023"):
        fn(ctx, "alter_table", "products", patch)
    assert snapshot(ctx, schema, "products") == before


def test_alter_table_unknown_table(ctx):
    with raises("42P01"):
        fn(ctx, "alter_table", "nope", {"name": "X"})


# --- drop_table ------------------------------------------------------------------------

def test_drop_table(ctx, schema, products):
    fn(ctx, "drop_table", "products")
    assert not exists(ctx, schema, "products")
    assert [t["slug"] for t in fn(ctx, "list_tables")] == ["categories"]
    with raises("42P01"):
        fn(ctx, "describe_table", "products")
    fn(ctx, "drop_table", "categories")
    assert fn(ctx, "list_tables") == []
    with raises("42P01"):
        fn(ctx, "drop_table", "categories")


def test_drop_table_refused_while_a_relation_points_at_it(ctx, schema, products):
    before = snapshot(ctx, schema, "categories")
    with raises("2BP01"):
        fn(ctx, "drop_table", "categories")
    assert exists(ctx, schema, "categories")
    assert snapshot(ctx, schema, "categories") == before


def test_drop_table_refused_while_a_relation_many_points_at_it(ctx, schema):
    fn(ctx, "create_table", table("tags", {"name": "name", "type": "text"}))
    fn(ctx, "create_table", table("posts", {"name": "tags", "type": "relation_many", "target": "tags"}))
    with raises("2BP01"):
        fn(ctx, "drop_table", "tags")
    assert exists(ctx, schema, "tags")
    rels = relnames(ctx, schema, "rp")
    fn(ctx, "drop_table", "posts")
    junctions = {n for n in rels - relnames(ctx, schema, "rp") if n.startswith("_")}
    assert junctions, "the junction table goes with the table"
    fn(ctx, "drop_table", "tags")


def test_drop_table_with_self_relation(ctx, schema):
    fn(ctx, "create_table", table("nodes", {"name": "parent_id", "type": "relation", "target": "nodes"}))
    fn(ctx, "drop_table", "nodes")
    assert not exists(ctx, schema, "nodes")


# --- add_column ----------------------------------------------------------------------

def test_add_column_on_a_table_with_rows(ctx, schema, notes):
    desc = fn(ctx, "add_column", notes, {"name": "sku", "type": "text", "max_length": 10})
    assert col(desc, "sku")["max_length"] == 10
    assert [r[0] for r in rows(ctx, schema, notes, "sku")] == [None, None, None]
    with raises("23514"):
        ctx.execute(f"insert into {schema}.notes (sku) values ('much too long')")


def test_add_column_with_default_fills_existing_rows(ctx, schema, notes):
    desc = fn(ctx, "add_column", notes, {"name": "qty", "type": "integer", "default": 7})
    assert col(desc, "qty")["default"] == 7
    assert [r[0] for r in rows(ctx, schema, notes, "qty")] == [7, 7, 7]


def test_add_required_column_with_default_on_rows(ctx, schema, notes):
    fn(ctx, "add_column", notes, {"name": "state", "type": "text", "required": True, "default": "new"})
    assert {r[0] for r in rows(ctx, schema, notes, "state")} == {"new"}
    with raises("23502"):
        ctx.execute(f"insert into {schema}.notes (state) values (null)")


def test_add_required_column_without_default_on_rows_is_23502(ctx, schema, notes):
    before = snapshot(ctx, schema, notes)
    with raises("23502"):
        fn(ctx, "add_column", notes, {"name": "state", "type": "text", "required": True})
    assert snapshot(ctx, schema, notes) == before


def test_add_required_column_without_default_on_empty_table(ctx, schema):
    fn(ctx, "create_table", table("t", _col()))
    desc = fn(ctx, "add_column", "t", {"name": "state", "type": "text", "required": True})
    assert col(desc, "state")["required"] is True


@pytest.mark.parametrize("column,code", [
    ({"name": "title", "type": "text"}, "42701"),
    ({"name": "version", "type": "integer"}, "22023"),
    ({"name": "Bad", "type": "text"}, "22023"),
    ({"name": "x", "type": "nope"}, "22023"),
    ({"name": "x", "type": "integer", "max_length": 3}, "22023"),
    ({"name": "x", "type": "relation", "target": "nowhere"}, "42P01"),
    ({"name": "x", "type": "formula", "expression": "pg_sleep(1)"}, "22023"),
])
def test_add_column_errors_change_nothing(ctx, schema, notes, column, code):
    before = snapshot(ctx, schema, notes)
    with raises(code):
        fn(ctx, "add_column", notes, column)
    assert snapshot(ctx, schema, notes) == before


def test_add_column_unknown_table(ctx):
    with raises("42P01"):
        fn(ctx, "add_column", "nope", _col())


# --- alter_column ----------------------------------------------------------------------

def test_alter_column_rule_violated_by_existing_data(ctx, schema, notes):
    before = snapshot(ctx, schema, notes)
    with raises("23514"):
        fn(ctx, "alter_column", notes, "title", {"max_length": 5})
    assert snapshot(ctx, schema, notes) == before
    ctx.execute(f"insert into {schema}.notes (title) values (%s)", ("x" * 50,))


def test_alter_column_rule_raised(ctx, schema, notes):
    desc = fn(ctx, "alter_column", notes, "title", {"max_length": 100})
    assert col(desc, "title")["max_length"] == 100
    ctx.execute(f"insert into {schema}.notes (title) values (%s)", ("x" * 100,))
    with raises("23514"):
        ctx.execute(f"insert into {schema}.notes (title) values (%s)", ("x" * 101,))


def test_alter_column_rule_set_to_null_is_removed(ctx, schema, notes):
    desc = fn(ctx, "alter_column", notes, "title", {"max_length": None})
    assert col(desc, "title").get("max_length") is None
    ctx.execute(f"insert into {schema}.notes (title) values (%s)", ("x" * 500,))


def test_alter_column_type_text_to_integer(ctx, schema, notes):
    desc = fn(ctx, "alter_column", notes, "code", {"type": "integer", "min": 0})
    assert col(desc, "code")["type"] == "integer"
    assert col(desc, "code")["data_type"] == "integer"
    assert {r[0]: r[1] for r in pg_columns(ctx, schema, notes)}["code"] == "integer"
    assert [r[0] for r in rows(ctx, schema, notes, "code", order="n")] == [42, 7, None]
    with raises("23514"):
        ctx.execute(f"insert into {schema}.notes (code) values (-1)")


def test_alter_column_type_change_failing_conversion(ctx, schema, notes):
    ctx.execute(f"insert into {schema}.notes (code) values ('abc')")
    before = snapshot(ctx, schema, notes)
    with raises("22P02") as exc:
        fn(ctx, "alter_column", notes, "code", {"type": "integer"})
    assert "abc" in str(exc.value)
    assert snapshot(ctx, schema, notes) == before
    assert col(fn(ctx, "describe_table", notes), "code")["type"] == "text"


def test_alter_column_type_change_breaking_a_rule(ctx, schema, notes):
    before = snapshot(ctx, schema, notes)
    with raises("23514"):
        fn(ctx, "alter_column", notes, "code", {"type": "integer", "max": 10})
    assert snapshot(ctx, schema, notes) == before


def test_alter_column_type_change_to_date_failing(ctx, schema, notes):
    ctx.execute(f"update {schema}.notes set code = '2026-13-45'")
    before = snapshot(ctx, schema, notes)
    with raises("22008", "22007"):
        fn(ctx, "alter_column", notes, "code", {"type": "date"})
    assert snapshot(ctx, schema, notes) == before


def test_alter_column_options(ctx, schema):
    fn(ctx, "create_table", table("t", {"name": "status", "type": "select", "options": ["draft", "active"]}))
    ctx.execute(f"insert into {schema}.t (status) values ('active')")
    with raises("23514"):
        ctx.execute(f"insert into {schema}.t (status) values ('archived')")
    desc = fn(ctx, "alter_column", "t", "status", {"options": ["draft", "active", "archived"]})
    assert col(desc, "status")["options"] == ["draft", "active", "archived"]
    ctx.execute(f"insert into {schema}.t (status) values ('archived')")
    before = snapshot(ctx, schema, "t")
    with raises("23514"):
        fn(ctx, "alter_column", "t", "status", {"options": ["draft", "archived"]})
    assert snapshot(ctx, schema, "t") == before


def test_alter_column_required_on_and_off(ctx, schema, notes):
    desc = fn(ctx, "alter_column", notes, "n", {"required": True})
    assert col(desc, "n")["required"] is True
    with raises("23502"):
        ctx.execute(f"insert into {schema}.notes (n) values (null)")
    desc = fn(ctx, "alter_column", notes, "n", {"required": False})
    assert not col(desc, "n").get("required")
    ctx.execute(f"insert into {schema}.notes (n) values (null)")


def test_alter_column_required_with_nulls_present_changes_nothing(ctx, schema, notes):
    before = snapshot(ctx, schema, notes)  # the row 'third' has code null
    with raises("23502", "23514"):
        fn(ctx, "alter_column", notes, "code", {"required": True})
    assert snapshot(ctx, schema, notes) == before


def test_alter_column_label_only(ctx, schema, notes):
    node = filenode(ctx, schema, notes)
    constraints = pg_constraints(ctx, schema, notes)
    desc = fn(ctx, "alter_column", notes, "title", {"label": "Title", "description": "d", "view_type": "big"})
    c = col(desc, "title")
    assert (c["label"], c["description"], c["view_type"], c["max_length"]) == ("Title", "d", "big", 50)
    assert filenode(ctx, schema, notes) == node
    assert pg_constraints(ctx, schema, notes) == constraints


@pytest.mark.parametrize("column,patch,code", [
    ("nope", {"label": "X"}, "42703"),
    ("title", {"colour": "red"}, "22023"),
    ("title", {"min": 3}, "22023"),
    ("title", {"type": "nope"}, "22023"),
    ("title", {"max_length": "long"}, "22023"),
    ("title", [], "22023"),
])
def test_alter_column_errors(ctx, schema, notes, column, patch, code):
    before = snapshot(ctx, schema, notes)
    with raises(code):
        fn(ctx, "alter_column", notes, column, patch)
    assert snapshot(ctx, schema, notes) == before


def test_alter_column_unknown_table(ctx):
    with raises("42P01"):
        fn(ctx, "alter_column", "nope", "c", {"label": "X"})


def test_big_table_catalog_only_changes_do_not_rewrite(ctx, schema, big):
    node = filenode(ctx, schema, big)
    fn(ctx, "alter_column", big, "note", {"label": "Note"})
    fn(ctx, "alter_column", big, "n", {"default": 5})
    fn(ctx, "add_column", big, {"name": "flag", "type": "boolean", "default": False})
    fn(ctx, "add_column", big, {"name": "extra", "type": "text"})
    assert filenode(ctx, schema, big) == node
    desc = fn(ctx, "describe_table", big)
    assert col(desc, "note")["label"] == "Note" and col(desc, "n")["default"] == 5
    assert one(ctx, f"select count(*) from {schema}.big where flag = false") == BIG
    assert one(ctx, f"insert into {schema}.big (note) values ('x') returning n") == 5


def test_big_table_rule_change(ctx, schema, big):
    node = filenode(ctx, schema, big)
    fn(ctx, "alter_column", big, "n", {"min": 0, "max": BIG})
    assert filenode(ctx, schema, big) == node
    with raises("23514"):
        ctx.execute(f"insert into {schema}.big (n) values ({BIG + 1})")
    before = pg_constraints(ctx, schema, big)
    with raises("23514"):
        fn(ctx, "alter_column", big, "n", {"max": BIG // 2})
    assert pg_constraints(ctx, schema, big) == before
    assert col(fn(ctx, "describe_table", big), "n")["max"] == BIG
    assert one(ctx, f"select count(*) from {schema}.big") == BIG


def test_big_table_every_ddl_function(ctx, schema, big, connect):
    """Each DDL function on a table of 100,000 rows, and a change that cannot get its lock in time."""
    fn(ctx, "alter_table", big, {"name": "Big", "description": "many rows"})
    fn(ctx, "add_column", big, {"name": "code", "type": "text", "default": "c", "required": True, "max_length": 5})
    fn(ctx, "alter_column", big, "note", {"type": "long_text", "searchable": True})
    fn(ctx, "alter_column", big, "n", {"type": "bigint", "required": True})  # a type change: converted in place
    assert col(fn(ctx, "describe_table", big), "n")["data_type"] == "bigint"
    with raises("22P02") as exc:
        fn(ctx, "alter_column", big, "note", {"type": "integer", "searchable": None})  # "row 1" is no integer
    assert "row 1" in str(exc.value)
    fn(ctx, "rename_column", big, "note", "remark")
    fn(ctx, "alter_column", big, "remark", {"type": "text"})  # the full-text index is rebuilt for the new type
    assert one(ctx, f"select to_regclass('{schema}.big_search')") is not None
    fn(ctx, "add_column", big, {"name": "total", "type": "formula", "expression": "n * 2"})
    fn(ctx, "drop_column", big, "code")
    assert one(ctx, f"select count(*) from {schema}.big where total = n * 2 and remark like 'row %%'") == BIG

    # a reader holds the table: the change fails fast and leaves everything as it was
    before = snapshot(ctx, schema, big)
    other = connect(autocommit=False)
    other.execute(f"select count(*) from {schema}.big")
    fn(ctx, "set_platform_setting", "lock_timeout", "300ms")  # the platform lock timeout, not a session setting
    for call in (lambda: fn(ctx, "alter_column", big, "n", {"type": "text"}),
                 lambda: fn(ctx, "drop_column", big, "remark"),
                 lambda: fn(ctx, "add_column", big, {"name": "late", "type": "integer"})):
        start = time.monotonic()
        with raises("55P03"):
            call()
        assert time.monotonic() - start < 3
        assert snapshot(ctx, schema, big) == before
    other.rollback()
    fn(ctx, "drop_table", big)
    assert one(ctx, f"select to_regclass('{schema}.big')") is None


# --- rename_column / drop_column -----------------------------------------------------------

def test_rename_column_keeps_data_and_constraints(ctx, schema):
    fn(ctx, "create_table", table("t", {"name": "code", "type": "text", "pattern": "^[A-Z]+$"}))
    ctx.execute(f"insert into {schema}.t (code) values ('ABC')")
    desc = fn(ctx, "rename_column", "t", "code", "sku")
    assert "code" not in col_names(desc)
    assert col(desc, "sku")["pattern"] == "^[A-Z]+$"
    assert [r[0] for r in rows(ctx, schema, "t", "sku")] == ["ABC"]
    with raises("23514"):
        ctx.execute(f"insert into {schema}.t (sku) values ('abc')")
    with raises("23514") as exc:
        fn(ctx, "create_record", "t", {"sku": "abc"})
    assert '"sku"' in (exc.value.diag.message_detail or "")


def test_rename_relation_column_keeps_foreign_key(ctx, schema, products):
    fn(ctx, "rename_column", "products", "category_id", "category")
    assert has_index(ctx, schema, "products", "category")
    with raises("23503"):
        ctx.execute(f"insert into {schema}.products (name, category) values ('x', %s)", (uuid.uuid4(),))
    cat = one(ctx, f"insert into {schema}.categories (name) values ('c') returning id")
    ctx.execute(f"insert into {schema}.products (name, category) values ('x', %s)", (cat,))


@pytest.mark.parametrize("old,new,code", [("nope", "x", "42703"), ("title", "code", "42701"),
                                          ("title", "version", "22023"), ("title", "Bad", "22023")])
def test_rename_column_errors(ctx, schema, notes, old, new, code):
    before = snapshot(ctx, schema, notes)
    with raises(code):
        fn(ctx, "rename_column", notes, old, new)
    assert snapshot(ctx, schema, notes) == before


def test_drop_column(ctx, schema, notes):
    desc = fn(ctx, "drop_column", notes, "code")
    assert "code" not in col_names(desc)
    assert "code" not in [r[0] for r in pg_columns(ctx, schema, notes)]
    assert [r[0] for r in rows(ctx, schema, notes, "title", order="n")] == ["hello world", "second", "third"]
    with raises("42703"):
        fn(ctx, "drop_column", notes, "code")


def test_drop_column_used_by_formula(ctx, schema):
    fn(ctx, "create_table", table("t", {"name": "price", "type": "integer"}, {"name": "qty", "type": "integer"},
                                  {"name": "total", "type": "formula", "expression": "price * qty"}))
    before = snapshot(ctx, schema, "t")
    with raises("2BP01"):
        fn(ctx, "drop_column", "t", "qty")
    assert snapshot(ctx, schema, "t") == before
    fn(ctx, "drop_column", "t", "total")
    fn(ctx, "drop_column", "t", "qty")
    assert [c for c in col_names(fn(ctx, "describe_table", "t")) if c not in SYSTEM_COLUMNS] == ["price"]


def test_drop_relation_many_column_drops_junction(ctx, schema):
    fn(ctx, "create_table", table("tags", {"name": "name", "type": "text"}))
    before = relnames(ctx, schema, "rp")
    fn(ctx, "create_table", table("posts", {"name": "title", "type": "text"},
                                  {"name": "tags", "type": "relation_many", "target": "tags"}))
    junctions = {n for n in relnames(ctx, schema, "rp") - before if n.startswith("_")}
    assert junctions
    fn(ctx, "drop_column", "posts", "tags")
    assert not junctions & relnames(ctx, schema, "rp")
    fn(ctx, "drop_table", "tags")


# --- schema_history -------------------------------------------------------------------

def test_schema_history(ctx, company):
    fn(ctx, "create_table", table("items", {"name": "name", "type": "text"}))
    fn(ctx, "add_column", "items", {"name": "note", "type": "text"})
    fn(ctx, "alter_column", "items", "note", {"label": "Note"})
    fn(ctx, "rename_column", "items", "note", "remark")
    fn(ctx, "drop_column", "items", "remark")
    fn(ctx, "alter_table", "items", {"name": "Things"})
    with raises("42701"):
        fn(ctx, "add_column", "items", {"name": "name", "type": "text"})
    history = fn(ctx, "schema_history", "items")
    assert [h["change"] for h in history] == ["create_table", "add_column", "alter_column", "rename_column",
                                              "drop_column", "alter_table"]
    assert all(h["user_id"] == str(company["owner"]) for h in history)
    assert all({"at", "user_id", "change", "before", "after"} <= set(h) for h in history)
    ats = [h["at"] for h in history]
    assert ats == sorted(ats)
    assert history[1]["after"]["name"] == "note"
    assert history[2]["before"].get("label") is None and history[2]["after"]["label"] == "Note"
    assert history[3]["before"]["name"] == "note" and history[3]["after"]["name"] == "remark"
    assert history[5]["after"]["name"] == "Things"
    with raises("42P01"):
        fn(ctx, "schema_history", "nope")


# --- lock timeout -----------------------------------------------------------------------

def test_ddl_lock_timeout(ctx, schema, notes, connect):
    before = snapshot(ctx, schema, notes)
    other = connect(autocommit=False)
    other.execute(f"lock table {schema}.notes in access share mode")
    ctx.execute("set statement_timeout = '10s'")  # a hang fails the test instead of blocking it
    fn(ctx, "set_platform_setting", "lock_timeout", "200ms")  # the platform lock timeout, not a session setting
    start = time.monotonic()
    with raises("55P03"):
        fn(ctx, "add_column", notes, {"name": "extra", "type": "text"})
    assert time.monotonic() - start < 2
    other.rollback()
    assert snapshot(ctx, schema, notes) == before
    desc = fn(ctx, "add_column", notes, {"name": "extra", "type": "text"})
    assert "extra" in col_names(desc)


def test_ddl_waits_for_a_short_lock(ctx, schema, notes, connect):
    """Within the timeout the change waits and then succeeds."""
    other = connect(autocommit=False)
    other.execute(f"lock table {schema}.notes in access share mode")
    fn(ctx, "set_platform_setting", "lock_timeout", "5s")
    timer = threading.Timer(0.3, other.rollback)
    timer.start()
    desc = fn(ctx, "add_column", notes, {"name": "extra", "type": "text"})
    timer.join()
    assert "extra" in col_names(desc)


# --- type lists -------------------------------------------------------------------------------

def test_create_type_list_from_strings_and_objects(ctx):
    plain = fn(ctx, "create_type_list", "priorities", ["low", "high"])
    assert plain["slug"] == "priorities"
    assert [(v["value"], v["label"], v.get("color")) for v in plain["values"]] == [("low", "low", None),
                                                                                  ("high", "high", None)]
    rich = fn(ctx, "create_type_list", "colors", [{"value": "r", "label": "Red", "color": "#ff0000"},
                                                  {"value": "g"}])
    assert rich["values"][0] == {"value": "r", "label": "Red", "color": "#ff0000"}
    assert rich["values"][1]["label"] == "g"


def test_type_list_enforced_and_updated(ctx, schema):
    fn(ctx, "create_type_list", "priorities", ["low", "high"])
    fn(ctx, "create_table", table("tasks", {"name": "p", "type": "select", "type_list": "priorities"},
                                  {"name": "ps", "type": "multi_select", "type_list": "priorities"}))
    ctx.execute(f"insert into {schema}.tasks (p, ps) values ('low', '{{low,high}}')")
    with raises("23514"):
        ctx.execute(f"insert into {schema}.tasks (p) values ('urgent')")
    with raises("23514"):
        ctx.execute(f"insert into {schema}.tasks (ps) values ('{{low,urgent}}')")
    with raises("23514") as exc:
        fn(ctx, "create_record", "tasks", {"p": "urgent"})
    assert exc.value.diag.message_detail and '"options"' in exc.value.diag.message_detail

    updated = fn(ctx, "update_type_list", "priorities", ["low", "high", "urgent"])
    assert [v["value"] for v in updated["values"]] == ["low", "high", "urgent"]
    ctx.execute(f"insert into {schema}.tasks (p, ps) values ('urgent', '{{urgent}}')")

    count = one(ctx, f"select count(*) from {schema}.tasks")
    with raises("23514"):
        fn(ctx, "update_type_list", "priorities", ["high", "urgent", "extra"])  # 'low' is in use
    ctx.execute(f"insert into {schema}.tasks (p) values ('low')")  # still allowed
    with raises("23514"):
        ctx.execute(f"insert into {schema}.tasks (p) values ('extra')")  # never added
    assert one(ctx, f"select count(*) from {schema}.tasks") == count + 1


def test_type_list_errors(ctx):
    fn(ctx, "create_type_list", "priorities", ["low"])
    with raises("42710"):
        fn(ctx, "create_type_list", "priorities", ["x"])
    with raises("42704"):
        fn(ctx, "update_type_list", "nope", ["x"])
    for values in ({"a": 1}, [1], [{"label": "no value"}], "low"):
        with raises("22023"):
            fn(ctx, "create_type_list", "other", Jsonb(values))


# --- formula ----------------------------------------------------------------------------------

def test_formula_columns(ctx, schema):
    fn(ctx, "create_table", table("lines", {"name": "name", "type": "text"},
                                  {"name": "price", "type": "decimal", "precision": 12, "scale": 2},
                                  {"name": "quantity", "type": "integer"},
                                  {"name": "total", "type": "formula", "expression": "price * quantity"},
                                  {"name": "caption", "type": "formula",
                                   "expression": "upper(name) || ' #' || quantity"}))
    rid = one(ctx, f"insert into {schema}.lines (name, price, quantity) values ('widget', 2.5, 4) returning id")
    assert ctx.execute(f"select total, caption from {schema}.lines").fetchone() == (10, "WIDGET #4")
    rec = fn(ctx, "get_record", "lines", rid)
    assert rec["total"] == 10 and rec["caption"] == "WIDGET #4"
    ctx.execute(f"update {schema}.lines set quantity = 5")
    assert fn(ctx, "get_record", "lines", rid)["total"] == 12.5


def test_add_formula_column_to_table_with_rows(ctx, schema, notes):
    desc = fn(ctx, "add_column", notes, {"name": "twice", "type": "formula", "expression": "n * 2"})
    assert col(desc, "twice")["expression"] == "n * 2"
    assert [r[0] for r in rows(ctx, schema, notes, "twice", order="n")] == [2, 4, 6]
    rid = one(ctx, f"insert into {schema}.notes (n) values (21) returning id")
    assert fn(ctx, "get_record", notes, rid)["twice"] == 42
