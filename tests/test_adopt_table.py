"""adopt_table: contract section 8, "Adopting a table" (docs/adopting-tables.md).

The sources are real legacy shapes, made as plain tables in a `legacy` schema by
the superuser (the DBA): a varchar(50) code primary key, integer serial keys with
foreign keys between tables and to the table itself, CHECK constraints listing
statuses, numeric(10,2), timestamp without time zone, text[] tags, jsonb."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN
from helpers import fn, one, raises, set_context

LEGACY = """
create schema legacy;
create table legacy.categories (
    code varchar(50) primary key,
    title text not null,
    sort_order smallint
);
create table legacy.customers (
    id serial primary key,
    name varchar(100) not null,
    email text unique,
    status text not null check (status in ('active', 'blocked')),
    created_at timestamp default '2020-01-01 00:00'
);
create table legacy.orders (
    id serial primary key,
    customer_id integer not null references legacy.customers (id),
    category_code varchar(50) references legacy.categories (code) on delete set null,
    parent_id integer references legacy.orders (id),
    total numeric(10,2),
    placed_at timestamp without time zone,
    tags text[],
    meta jsonb,
    status varchar(20) check (status = any (array['new', 'paid', 'shipped'])),
    blob bytea
);
insert into legacy.categories values ('TOOLS', 'Tools', 1), ('GARDEN', 'Garden', 2), ('it''s', 'Quoted', 3);
insert into legacy.customers (name, email, status, created_at) values
    ('Ada', 'ada@example.com', 'active', '2019-05-01 08:30'),
    ('Bob', null, 'blocked', '2021-12-31 23:59:59');
insert into legacy.orders (customer_id, category_code, parent_id, total, placed_at, tags, meta, status) values
    (1, 'TOOLS', null, 12.50, '2024-03-01 10:00', array['new', 'sale'], '{"channel": "web"}', 'new'),
    (1, 'GARDEN', 1, 99.99, '2024-03-02 11:30', array['sale'], null, 'paid'),
    (2, null, 2, null, null, null, '[1, 2]', null);
grant usage on schema legacy to docpal_owner, docpal_service;
grant select on all tables in schema legacy to docpal_owner, docpal_service;
"""


@pytest.fixture
def legacy(db):
    db.execute(LEGACY)
    return db


@pytest.fixture
def ctx(db, company, legacy):
    """The superuser acting as the company's owner."""
    return set_context(db, company, company["owner"])


@pytest.fixture
def svc(service, company, legacy):
    """A docpal_service login acting as the company's owner (its session_user is not a superuser)."""
    return set_context(service, company, company["owner"])


def adopt(conn, source, slug, spec=None):
    return one(conn, "select docpal.adopt_table(%s::regclass, %s, %s)", source, slug, Jsonb(spec or {}))


def by_source(result):
    return {m["source_column"]: m for m in result["mapping"]}


def tables_of(db, schema):
    return {r[0] for r in db.execute("select relname from pg_class where relnamespace = %s::regnamespace "
                                     "and relkind = 'r'", (schema,)).fetchall()}


def md5_of(db, table):
    return one(db, f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t")


def catalog_rows(db, schema):
    return db.execute(f"select kind, slug from {schema}._catalog order by 1, 2").fetchall()


def records(conn, slug, **spec):
    return one(conn, "select docpal.query_table(%s, %s)", slug, Jsonb({"limit": 1000, **spec}))["rows"]


# --- the mapping ------------------------------------------------------------------------------------

def test_dry_run_maps_every_legacy_shape_and_creates_nothing(ctx, company, db):
    schema = company["schema"]
    before = (tables_of(db, schema), catalog_rows(db, schema))
    res = adopt(ctx, "legacy.orders", "orders", {"dry_run": True, "columns": {"blob": None}})
    assert res["dry_run"] is True and res["rows"] == 3
    m = by_source(res)
    assert list(m) == ["id", "customer_id", "category_code", "parent_id", "total", "placed_at", "tags", "meta",
                       "status", "blob"]
    assert m["id"] == {"source_column": "id", "source_type": "integer", "column": "legacy_id", "type": "integer",
                       "required": True, "unique": True, "legacy_key": True}
    assert m["total"] | {} == {"source_column": "total", "source_type": "numeric(10,2)", "column": "total",
                               "type": "decimal", "precision": 10, "scale": 2}
    assert m["placed_at"]["type"] == "datetime" and m["placed_at"]["time_zone"] == "UTC"
    assert m["tags"]["type"] == "multi_select" and m["tags"]["options"] == ["new", "sale"]
    assert m["meta"]["type"] == "json"
    assert m["status"]["type"] == "select" and m["status"]["options"] == ["new", "paid", "shipped"]
    assert m["status"]["source_type"] == "character varying(20)"
    assert m["blob"] == {"source_column": "blob", "source_type": "bytea", "column": None, "type": None, "skipped": True}
    # the parents are not adopted: the keys stay values, and say so
    assert m["customer_id"]["type"] == "integer" and "not adopted" in m["customer_id"]["note"]
    # a foreign key to the table itself is a relation to the new table
    assert m["parent_id"]["type"] == "relation" and m["parent_id"]["target"] == "orders"
    assert res["table"]["slug"] == "orders" and [c["name"] for c in res["table"]["columns"]] == [
        "legacy_id", "customer_id", "category_code", "parent_id", "total", "placed_at", "tags", "meta", "status"]
    assert (tables_of(db, schema), catalog_rows(db, schema)) == before


def test_varchar_code_key_check_list_and_smallint(ctx):
    m = by_source(adopt(ctx, "legacy.categories", "categories", {"dry_run": True}))
    assert m["code"] == {"source_column": "code", "source_type": "character varying(50)", "column": "legacy_code",
                         "type": "text", "max_length": 50, "required": True, "unique": True, "legacy_key": True}
    assert m["title"] == {"source_column": "title", "source_type": "text", "column": "title", "type": "text",
                          "required": True}
    assert m["sort_order"]["type"] == "integer"
    m = by_source(adopt(ctx, "legacy.customers", "customers", {"dry_run": True}))
    assert m["status"]["type"] == "select" and m["status"]["options"] == ["active", "blocked"]
    assert m["email"]["unique"] is True and "required" not in m["email"]
    # a system column's name gets legacy_ in front
    assert m["created_at"]["column"] == "legacy_created_at"


def test_more_source_types(ctx, db):
    db.execute("""
        create type legacy.mood as enum ('sad', 'ok', 'happy');
        create domain legacy.short_code as varchar(8);
        create table legacy.misc (
            "Order Date" date, t time, tz timestamptz, span interval, ok boolean, ratio real, big bigint,
            amount numeric, mood legacy.mood, u uuid, ip inet, counts integer[], code legacy.short_code,
            kind text check (kind = 'it''s' or kind = 'b'), price numeric check (price > 0), j json, c char(3));
        insert into legacy.misc values ('2024-01-02', '10:30', '2024-01-02 10:00+02', '1 day 2 hours', true, 0.5,
            9007199254740993, 1.25, 'happy', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '10.0.0.1', '{1,2}', 'AB-1',
            'it''s', 3, '{"a": 1}', 'ab');
        grant select on legacy.misc to docpal_owner, docpal_service;""")
    res = adopt(ctx, "legacy.misc", "misc")
    m = by_source(res)
    types = {k: (v["column"], v["type"]) for k, v in m.items()}
    assert types == {"Order Date": ("order_date", "date"), "t": ("t", "time"), "tz": ("tz", "datetime"),
                     "span": ("span", "duration"), "ok": ("ok", "boolean"), "ratio": ("ratio", "float"),
                     "big": ("big", "bigint"), "amount": ("amount", "decimal"), "mood": ("mood", "select"),
                     "u": ("u", "uuid"), "ip": ("ip", "text"), "counts": ("counts", "json"),
                     "code": ("code", "text"), "kind": ("kind", "select"), "price": ("price", "decimal"),
                     "j": ("j", "json"), "c": ("c", "text")}
    assert m["mood"]["options"] == ["sad", "ok", "happy"]
    assert m["kind"]["options"] == ["it's", "b"]  # an OR of equalities, quotes undoubled
    assert m["code"]["max_length"] == 8 and m["code"]["source_type"] == "legacy.short_code"
    assert m["c"]["max_length"] == 3
    assert "precision" not in m["amount"]
    (rec,) = records(ctx, "misc")
    assert rec["order_date"] == "2024-01-02" and rec["t"] == "10:30:00" and rec["ok"] is True
    assert rec["tz"].startswith("2024-01-02T08:00:00")
    assert rec["big"] == 9007199254740993 and rec["amount"] == Decimal("1.25")
    assert rec["mood"] == "happy" and rec["ip"] == "10.0.0.1" and rec["counts"] == [1, 2]
    assert rec["kind"] == "it's" and rec["j"] == {"a": 1} and rec["c"] == "ab" and rec["code"] == "AB-1"


def test_a_column_without_docpal_type_is_22023_naming_it(ctx, db, company):
    with raises("22023") as exc:
        adopt(ctx, "legacy.orders", "orders", {"dry_run": True})
    assert "blob" in exc.value.diag.message_primary and "bytea" in exc.value.diag.message_primary
    assert "spec.columns.blob" in exc.value.diag.message_hint
    # {"skip": true} leaves it out too; a type converts it through its text form
    m = by_source(adopt(ctx, "legacy.orders", "orders", {"dry_run": True, "columns": {"blob": {"skip": True}}}))
    assert m["blob"]["column"] is None
    res = adopt(ctx, "legacy.orders", "orders", {"columns": {"blob": {"type": "long_text"}}})
    assert by_source(res)["blob"]["type"] == "long_text"


# --- copying ----------------------------------------------------------------------------------------

def test_parent_then_child_makes_relations_with_mapped_values(ctx, company, db):
    cats = adopt(ctx, "legacy.categories", "categories")
    custs = adopt(ctx, "legacy.customers", "customers")
    assert cats["rows"] == 3 and custs["rows"] == 2
    res = adopt(ctx, "legacy.orders", "orders", {"columns": {"blob": None}})
    assert res["rows"] == 3
    m = by_source(res)
    assert (m["customer_id"]["type"], m["customer_id"]["target"], m["customer_id"]["on_delete"]) == \
        ("relation", "customers", "restrict")
    assert m["customer_id"]["required"] is True
    assert (m["category_code"]["type"], m["category_code"]["target"], m["category_code"]["on_delete"]) == \
        ("relation", "categories", "set_null")
    cols = {c["name"]: c for c in res["table"]["columns"]}
    assert cols["customer_id"]["type"] == "relation" and cols["customer_id"]["data_type"] == "uuid"

    cust_ids = {r["legacy_id"]: r["id"] for r in records(ctx, "customers")}
    cat_ids = {r["legacy_code"]: r["id"] for r in records(ctx, "categories")}
    orders = {r["legacy_id"]: r for r in records(ctx, "orders")}
    assert {k: (o["customer_id"], o["category_code"]) for k, o in orders.items()} == {
        1: (cust_ids[1], cat_ids["TOOLS"]), 2: (cust_ids[1], cat_ids["GARDEN"]), 3: (cust_ids[2], None)}
    # the tree: parent_id points at the new records
    assert orders[1]["parent_id"] is None
    assert orders[2]["parent_id"] == orders[1]["id"] and orders[3]["parent_id"] == orders[2]["id"]
    # relation paths work on the result
    rows = records(ctx, "orders", columns=["legacy_id", "customer_id.name", "category_code.title"],
                   sort=["legacy_id"])
    assert [(r["customer_id.name"], r["category_code.title"]) for r in rows] == \
        [("Ada", "Tools"), ("Ada", "Garden"), ("Bob", None)]
    # the foreign keys hold in docpal too
    with raises("23503"):
        fn(ctx, "delete_record", "customers", uuid.UUID(cust_ids[1]))


def test_values_are_copied_exactly(ctx):
    adopt(ctx, "legacy.orders", "orders", {"columns": {"blob": None}})
    rows = {r["legacy_id"]: r for r in records(ctx, "orders")}
    assert rows[1]["total"] == Decimal("12.50") and rows[2]["total"] == Decimal("99.99") and rows[3]["total"] is None
    # timestamp without time zone: read in UTC (the company has no settings.time_zone)
    assert rows[1]["placed_at"] in ("2024-03-01T10:00:00+00:00", "2024-03-01T10:00:00Z")
    assert rows[1]["tags"] == ["new", "sale"] and rows[3]["tags"] is None
    assert rows[1]["meta"] == {"channel": "web"} and rows[3]["meta"] == [1, 2]
    assert rows[2]["status"] == "paid" and rows[3]["status"] is None
    # the customer keys are plain integers here (customers was not adopted first)
    assert rows[3]["customer_id"] == 2


def test_time_zone_for_timestamp_without_time_zone(ctx, db, company):
    res = adopt(ctx, "legacy.orders", "orders", {"columns": {"blob": None}, "time_zone": "Europe/Berlin"})
    assert by_source(res)["placed_at"]["time_zone"] == "Europe/Berlin"
    at = one(db, f"select placed_at from {company['schema']}.orders where legacy_id = 1")
    assert at == dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
    # the company's settings.time_zone is the default
    db.execute("select docpal.update_company(%s, %s)", (company["id"], Jsonb({"settings": {"time_zone": "America/New_York"}})))
    res = adopt(ctx, "legacy.customers", "customers")
    assert by_source(res)["created_at"]["time_zone"] == "America/New_York"
    with raises("22023"):
        adopt(ctx, "legacy.categories", "cats", {"time_zone": "Mars/Olympus"})


def test_uuid_primary_key_keeps_its_ids(ctx, db):
    db.execute("""
        create table legacy.sites (id uuid primary key, name text);
        create table legacy.machines (serial text primary key, site uuid references legacy.sites (id) on delete cascade);
        insert into legacy.sites values ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'North'),
                                        ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'South');
        insert into legacy.machines values ('M1', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'), ('M2', null);
        grant select on legacy.sites, legacy.machines to docpal_owner, docpal_service;""")
    res = adopt(ctx, "legacy.sites", "sites")
    assert by_source(res)["id"] == {"source_column": "id", "source_type": "uuid", "column": "id", "type": "uuid",
                                    "keeps_ids": True}
    assert {r["id"] for r in records(ctx, "sites")} == {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                                                         "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"}
    res = adopt(ctx, "legacy.machines", "machines")
    m = by_source(res)
    assert (m["site"]["type"], m["site"]["target"], m["site"]["on_delete"]) == ("relation", "sites", "cascade")
    rows = {r["legacy_serial"]: r["site"] for r in records(ctx, "machines")}
    assert rows == {"M1": "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12", "M2": None}


# --- overrides --------------------------------------------------------------------------------------

def test_overrides_rename_retype_and_restrict(ctx):
    res = adopt(ctx, "legacy.orders", "orders", {"columns": {
        "blob": None,
        "status": {"type": "select", "options": ["new", "paid", "shipped", "lost"], "label": "State"},
        "total": {"name": "amount", "type": "currency"},
        "meta": {"skip": True},
        "tags": {"options": ["new", "sale", "old"]},
        "placed_at": {"type": "date"},
        "id": {"name": "order_no"}}})
    m = by_source(res)
    assert m["status"]["options"] == ["new", "paid", "shipped", "lost"] and m["status"]["label"] == "State"
    assert (m["total"]["column"], m["total"]["type"]) == ("amount", "currency")
    assert m["meta"]["column"] is None and m["tags"]["options"] == ["new", "sale", "old"]
    assert m["id"]["column"] == "order_no" and m["id"]["unique"] is True
    rows = {r["order_no"]: r for r in records(ctx, "orders")}
    assert rows[2]["amount"] == Decimal("99.99") and rows[1]["placed_at"] == "2024-03-01"
    assert "meta" not in rows[1]


def test_override_validation_is_22023(ctx, company, db):
    schema = company["schema"]
    before = (tables_of(db, schema), catalog_rows(db, schema))
    bad = [{"nope": {"type": "text"}},                                 # unknown source column
           {"blob": None, "status": {"type": "wat"}},                   # unknown type
           {"blob": None, "status": {"max_length": "x"}},               # bad rule
           {"blob": None, "status": {"type": "integer", "options": ["a"]}},  # a rule of another type
           {"blob": None, "status": {"name": "Bad Name"}},              # bad name
           {"blob": None, "status": {"name": "version"}},               # a system column
           {"blob": None, "status": {"name": "total"}},                 # two columns named total
           {"blob": None, "total": {"type": "relation", "target": "x"}},  # not from a foreign key
           {"blob": None, "total": {"type": "relation_many", "target": "orders"}},
           {"blob": None, "total": {"type": "formula", "expression": "1"}},
           {"blob": None, "status": "text"},                            # not an object
           {"blob": {"skip": "yes"}}]
    for columns in bad:
        with raises("22023"):
            adopt(ctx, "legacy.orders", "orders", {"columns": columns})
    for spec in ({"columns": []}, {"dry_run": "yes"}, {"bogus": 1}, {"time_zone": 3}, {"name": 5}):
        with raises("22023"):
            adopt(ctx, "legacy.categories", "categories", spec)
    for slug in ("Bad", "1x", "a" * 64, None):
        with raises("22023"):
            adopt(ctx, "legacy.categories", slug)
    assert (tables_of(db, schema), catalog_rows(db, schema)) == before


def test_array_without_values_needs_options(ctx, db):
    db.execute("create table legacy.empty (labels varchar(20)[]); grant select on legacy.empty to docpal_owner")
    with raises("22023") as exc:
        adopt(ctx, "legacy.empty", "empty", {"dry_run": True})
    assert "labels" in exc.value.diag.message_primary and "options" in exc.value.diag.message_hint
    res = adopt(ctx, "legacy.empty", "empty", {"columns": {"labels": {"options": ["x"]}}})
    assert res["rows"] == 0 and by_source(res)["labels"]["type"] == "multi_select"


def test_two_columns_with_one_name_are_22023(ctx, db):
    db.execute('create table legacy.clash ("Name" text, name text); grant select on legacy.clash to docpal_owner')
    with raises("22023") as exc:
        adopt(ctx, "legacy.clash", "clash")
    assert "name" in exc.value.diag.message_primary
    res = adopt(ctx, "legacy.clash", "clash", {"columns": {"Name": {"name": "display_name"}}})
    assert [m["column"] for m in res["mapping"]] == ["display_name", "name"]


# --- values that do not fit: the whole adoption fails, naming column and value ----------------------

def assert_nothing_created(db, schema, before):
    assert (tables_of(db, schema), catalog_rows(db, schema)) == before
    assert one(db, f"select count(*) from {schema}._schema_history") == before_history(db, schema)


def before_history(db, schema):
    return one(db, f"select count(*) from {schema}._schema_history")


def test_a_value_that_does_not_convert_is_22p02_naming_column_and_value(ctx, db, company):
    schema = company["schema"]
    db.execute("insert into legacy.categories values ('42', 'Numbered', 4)")
    before = (tables_of(db, schema), catalog_rows(db, schema), before_history(db, schema))
    source = md5_of(db, "legacy.categories")
    with raises("22P02") as exc:
        adopt(ctx, "legacy.categories", "categories", {"columns": {"code": {"type": "integer"}}})
    d = exc.value.diag
    assert "legacy_code" in d.message_primary and "code" in d.message_primary
    assert "GARDEN" in d.message_primary or "TOOLS" in d.message_primary or "it's" in d.message_primary
    detail = json.loads(d.message_detail)
    assert detail["column"] == "legacy_code" and detail["source_column"] == "code" and detail["rule"] == "type"
    assert detail["value"] in ("TOOLS", "GARDEN", "it's")
    assert (tables_of(db, schema), catalog_rows(db, schema), before_history(db, schema)) == before
    assert md5_of(db, "legacy.categories") == source


def test_a_number_too_large_for_the_override_is_22p02_with_the_value(ctx, db, company):
    schema = company["schema"]
    before = (tables_of(db, schema), catalog_rows(db, schema))
    with raises("22P02") as exc:
        adopt(ctx, "legacy.orders", "orders", {"columns": {"blob": None, "total": {"precision": 3, "scale": 2}}})
    detail = json.loads(exc.value.diag.message_detail)
    assert detail == {"column": "total", "source_column": "total", "rule": "type", "value": "12.50"}
    assert (tables_of(db, schema), catalog_rows(db, schema)) == before


def test_a_status_outside_the_options_is_23514_naming_it(ctx, db, company):
    schema = company["schema"]
    before = (tables_of(db, schema), catalog_rows(db, schema), before_history(db, schema))
    with raises("23514") as exc:
        adopt(ctx, "legacy.orders", "orders",
              {"columns": {"blob": None, "status": {"type": "select", "options": ["new", "shipped"]}}})
    d = exc.value.diag
    assert json.loads(d.message_detail) == {"column": "status", "source_column": "status", "rule": "options",
                                            "value": "paid"}
    assert "orders.status" in d.message_primary and "paid" in d.message_primary
    assert (tables_of(db, schema), catalog_rows(db, schema), before_history(db, schema)) == before


def test_a_rule_broken_by_a_value_is_23514(ctx, db, company):
    with raises("23514") as exc:
        adopt(ctx, "legacy.customers", "customers", {"columns": {"name": {"max_length": 2}}})
    assert json.loads(exc.value.diag.message_detail) == {"column": "name", "source_column": "name",
                                                         "rule": "max_length", "value": "Ada"}
    with raises("23505") as exc:
        adopt(ctx, "legacy.orders", "orders", {"columns": {"blob": None, "customer_id": {"unique": True}}})
    assert json.loads(exc.value.diag.message_detail)["value"] == 1
    with raises("23502") as exc:
        adopt(ctx, "legacy.orders", "orders", {"columns": {"blob": None, "total": {"required": True}}})
    assert json.loads(exc.value.diag.message_detail)["column"] == "total"
    assert not {"customers", "orders"} & tables_of(db, company["schema"])


def test_a_key_without_its_adopted_record_is_23503(ctx, db, company):
    adopt(ctx, "legacy.customers", "customers")
    # a customer the legacy system got after customers was adopted
    db.execute("insert into legacy.customers (name, status) values ('Cy', 'active')")
    db.execute("insert into legacy.orders (customer_id) values (3)")
    with raises("23503") as exc:
        adopt(ctx, "legacy.orders", "orders", {"columns": {"blob": None}})
    assert json.loads(exc.value.diag.message_detail) == {"column": "customer_id", "source_column": "customer_id",
                                                         "rule": "relation", "value": 3}
    assert "orders" not in tables_of(db, company["schema"])


# --- who may adopt what -----------------------------------------------------------------------------

def test_without_a_grant_to_docpal_owner_is_42501(ctx, db, company):
    db.execute("create table legacy.secret (x text); insert into legacy.secret values ('s3cr3t')")
    with raises("42501") as exc:
        adopt(ctx, "legacy.secret", "secret")
    assert "grant select on legacy.secret to docpal_owner" in exc.value.diag.message_hint
    with raises("42501"):
        adopt(ctx, "legacy.secret", "secret", {"dry_run": True})
    db.execute("create schema hidden; create table hidden.t (x text); grant select on hidden.t to docpal_owner")
    with raises("42501") as exc:
        adopt(ctx, "hidden.t", "t")
    assert "grant usage on schema hidden" in exc.value.diag.message_hint
    db.execute("grant select on legacy.secret to docpal_owner")
    assert adopt(ctx, "legacy.secret", "secret")["rows"] == 1


def test_the_calling_login_must_be_able_to_read_the_source(svc, db, company):
    db.execute("create table legacy.payroll (who text, pay numeric); insert into legacy.payroll values ('x', 1);"
               "grant select on legacy.payroll to docpal_owner")
    with raises("42501") as exc:
        adopt(svc, "legacy.payroll", "payroll")
    assert SERVICE_LOGIN in exc.value.diag.message_primary
    with raises("42501"):
        adopt(svc, "legacy.payroll", "payroll", {"dry_run": True})
    db.execute("grant select on legacy.payroll to docpal_service")
    assert adopt(svc, "legacy.payroll", "payroll")["rows"] == 1


def test_an_app_client_reads_only_what_its_login_may_read(connect, db, company, legacy):
    set_context(db, company, company["owner"])
    key = one(db, "select docpal.create_api_key('k', %s, %s::text[])", company["owner"],
              ["read", "create", "update", "delete"])["key"]
    db.execute("select docpal.clear_context()")
    app = connect(APP_LOGIN)
    app.execute("select docpal.authenticate(%s, false)", (key,))
    # docpal_owner may read it, the app login may not
    with raises("42501"):
        adopt(app, "legacy.categories", "categories")
    db.execute("grant usage on schema legacy to docpal_app; grant select on legacy.categories to docpal_app")
    assert adopt(app, "legacy.categories", "categories")["rows"] == 3


def test_members_and_callers_without_context_are_refused(db, company, legacy, connect):
    set_context(db, company, company["member"])
    with raises("42501"):
        adopt(db, "legacy.categories", "categories", {"dry_run": True})
    db.execute("select docpal.clear_context()")
    with raises("42501"):
        adopt(db, "legacy.categories", "categories")


def test_docpal_and_system_tables_are_refused(ctx, db, company):
    other = one(db, "select docpal.create_company('other-co', 'Other')")
    other_schema = one(db, "select docpal.get_company(%s)->>'schema'", str(other))
    fn(ctx, "create_table", {"slug": "mine", "columns": [{"name": "x", "type": "text"}]})
    for source in ("docpal_private.users", "docpal_private.secrets", "docpal_private.companies",
                   f"{company['schema']}.mine", f"{company['schema']}._audit_log", f"{other_schema}._catalog",
                   "pg_catalog.pg_class", "pg_catalog.pg_authid", "information_schema.tables"):
        with raises("42501") as exc:
            adopt(ctx, source, "stolen", {"dry_run": True})
        assert other_schema not in str(exc.value.diag.message_primary)
    db.execute("create view legacy.v as select * from legacy.categories; grant select on legacy.v to docpal_owner")
    with raises("22023"):
        adopt(ctx, "legacy.v", "v")
    db.execute("alter table legacy.categories enable row level security")
    with raises("42501"):
        adopt(ctx, "legacy.categories", "categories")
    with raises("42P01"):
        adopt(ctx, "legacy.nope", "nope")


def test_slug_taken_is_42p07_and_oversize_spec_54000(ctx):
    adopt(ctx, "legacy.categories", "categories")
    with raises("42P07"):
        adopt(ctx, "legacy.categories", "categories")
    with raises("42P07"):
        adopt(ctx, "legacy.categories", "categories", {"dry_run": True})
    with raises("54000"):
        adopt(ctx, "legacy.categories", "other", {"name": "x" * 300000})


def test_quota_applies(ctx, db, company):
    db.execute("select docpal.set_quota(%s, %s)", (company["id"], Jsonb({"max_records": 2})))
    set_context(db, company, company["owner"])
    with raises("53400"):
        adopt(ctx, "legacy.categories", "categories")
    assert "categories" not in tables_of(db, company["schema"])
    assert adopt(ctx, "legacy.customers", "customers")["rows"] == 2


# --- the result is an ordinary docpal table ---------------------------------------------------------

def test_result_shape_source_untouched_audit_and_events(ctx, db, company):
    schema = company["schema"]
    sources = {t: md5_of(db, t) for t in ("legacy.categories", "legacy.customers", "legacy.orders")}
    res = adopt(ctx, "legacy.customers", "customers")
    assert set(res) == {"table", "mapping", "rows"} and res["rows"] == 2
    assert res["table"] == fn(ctx, "describe_table", "customers")
    assert all(set(m) >= {"source_column", "source_type", "column", "type"} for m in res["mapping"])
    assert not any(k.startswith("_") for m in res["mapping"] for k in m)
    rows = records(ctx, "customers", sort=["legacy_id"])
    assert [(r["legacy_id"], r["name"], r["email"], r["status"]) for r in rows] == [
        (1, "Ada", "ada@example.com", "active"), (2, "Bob", None, "blocked")]
    assert all(r["version"] == 1 and r["created_by"] == str(company["owner"]) for r in rows)
    rec = fn(ctx, "get_record", "customers", uuid.UUID(rows[0]["id"]))
    assert rec["name"] == "Ada" and rec["legacy_created_at"] in ("2019-05-01T08:30:00+00:00", "2019-05-01T08:30:00Z")
    # like any insert: audit entries and events
    hist = fn(ctx, "record_history", "customers", uuid.UUID(rows[0]["id"]))
    assert [(h["action"], h["version"], h["user_id"]) for h in hist] == [("INSERT", 1, str(company["owner"]))]
    assert hist[0]["new"]["name"] == "Ada"
    assert one(db, f"select count(*) from {schema}._audit_log where \"table\" = 'customers'") == 2
    assert one(db, f"select count(*) from {schema}._events where \"table\" = 'customers' and action = 'INSERT'") == 2
    assert fn(ctx, "verify_audit_chain")["ok"]
    assert [h["change"] for h in fn(ctx, "schema_history", "customers")] == ["create_table"]
    # and an ordinary table afterwards
    upd = fn(ctx, "update_record", "customers", uuid.UUID(rows[1]["id"]), {"status": "active"})
    assert upd["version"] == 2
    with raises("23514"):
        fn(ctx, "update_record", "customers", uuid.UUID(rows[1]["id"]), {"status": "gone"})
    assert {t: md5_of(db, t) for t in sources} == sources
    assert one(db, "select count(*) from legacy.customers") == 2


def test_adopting_again_under_a_new_slug_points_later_relations_at_the_latest(ctx, db):
    adopt(ctx, "legacy.customers", "customers")
    fn(ctx, "drop_table", "customers")
    # the dropped table's adoption is not used: the key stays a value
    m = by_source(adopt(ctx, "legacy.orders", "orders", {"dry_run": True, "columns": {"blob": None}}))
    assert m["customer_id"]["type"] == "integer"
    adopt(ctx, "legacy.customers", "clients")
    m = by_source(adopt(ctx, "legacy.orders", "orders", {"dry_run": True, "columns": {"blob": None}}))
    assert m["customer_id"]["target"] == "clients"


def test_a_bad_date_keeps_postgresql_code_and_composite_keys_stay_plain(ctx, db, company):
    db.execute("""
        create table legacy.shifts (plant text, day text, worker integer, primary key (plant, day));
        insert into legacy.shifts values ('P1', '2024-01-05', 7), ('P1', '2024-13-45', 8);
        grant select on legacy.shifts to docpal_owner;""")
    with raises("22007", "22008") as exc:
        adopt(ctx, "legacy.shifts", "shifts", {"columns": {"day": {"type": "date"}}})
    detail = json.loads(exc.value.diag.message_detail)
    assert detail == {"column": "day", "source_column": "day", "rule": "type", "value": "2024-13-45"}
    assert "shifts" not in tables_of(db, company["schema"])
    db.execute("delete from legacy.shifts where worker = 8")
    m = by_source(adopt(ctx, "legacy.shifts", "shifts", {"columns": {"day": {"type": "date"}}}))
    assert [(v["column"], v["type"]) for v in m.values()] == [("plant", "text"), ("day", "date"), ("worker", "integer")]
    assert not any(v.get("legacy_key") for v in m.values())


def test_two_adoptions_racing_for_one_slug(connect, db, company, legacy):
    """Two owners adopt into the same slug at once: one table, the other gets 42P07 (or 55P03
    when the first holds on past the lock timeout), and no half-made table."""
    import threading

    first, second = connect(SERVICE_LOGIN, autocommit=False), connect(SERVICE_LOGIN, autocommit=False)
    for conn in (first, second):
        conn.execute("select docpal.set_context(%s, %s, true)", (company["id"], company["owner"]))
    assert adopt(first, "legacy.categories", "categories")["rows"] == 3
    got = {}

    def run():
        try:
            adopt(second, "legacy.customers", "categories")
            got["ok"] = True
        except psycopg.Error as exc:
            got["code"] = exc.sqlstate
            second.rollback()

    t = threading.Thread(target=run)
    t.start()
    t.join(0.5)
    first.commit()
    t.join(30)
    assert got.get("code") in ("42P07", "55P03"), got
    set_context(db, company, company["owner"])
    assert [r["legacy_code"] for r in records(db, "categories", sort=["legacy_code"])] == ["GARDEN", "TOOLS", "it's"]
