"""Shared fixture data and helpers for the query tests (contract section 4,
docs/reference.md "Queries"). No tests here: test_query_filters, _views and
_fuzz import from this module.

The data set is small and fixed: a 3-level category tree and 30 products with
every column type the query functions care about, including nulls, empty
strings, empty arrays, `%` and `_` in names, and numbers inside json.
Expected results are always computed independently of docpal: in Python from
the rows below, or with plain SQL against `<schema>.products`.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from conftest import unique_slug
from helpers import fn, one, raises, set_context, table  # noqa: F401 (re-exported to the query tests)

# --- helpers (copied from test_records_crud.py) ---------------------------------












# --- the data set -----------------------------------------------------------------

STATUSES = ["draft", "active", "archived"]
TAGS = ["new", "sale", "eco"]

CATEGORIES_SPEC = table(
    "categories",
    {"name": "name", "type": "text", "required": True},
    {"name": "parent_id", "type": "relation", "target": "categories", "on_delete": "set_null"},
)

PRODUCTS_SPEC = table(
    "products",
    {"name": "name", "type": "text", "required": True, "searchable": True},
    {"name": "note", "type": "text", "searchable": True},
    {"name": "price", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "qty", "type": "integer"},
    {"name": "status", "type": "select", "options": STATUSES, "default": "draft"},
    {"name": "tags", "type": "multi_select", "options": TAGS},
    {"name": "category_id", "type": "relation", "target": "categories", "on_delete": "set_null"},
    {"name": "metadata", "type": "json"},
    {"name": "related", "type": "relation_many", "target": "products"},
    {"name": "starts", "type": "date"},
    {"name": "ends", "type": "date"},
    {"name": "blockers", "type": "relation_many", "target": "products"},
)

#: key, name, parent key: Electronics > Phones > Smartphones, ...
CATEGORIES = [
    ("elec", "Electronics", None),
    ("phones", "Phones", "elec"),
    ("smart", "Smartphones", "phones"),
    ("feature", "Feature phones", "phones"),
    ("laptops", "Laptops", "elec"),
    ("home", "Home", None),
    ("kitchen", "Kitchen", "home"),
    ("cook", "Cookware", "kitchen"),
    ("garden", "Garden", None),
]

_ = None  # readability in the table below: an absent value (SQL null)

#: name, note, price, qty, status ("-" = explicit null), tags, category key, metadata, starts, ends
PRODUCTS = [
    ("Alpha phone", "flagship model", "699.00", 5, "active", ["new"], "smart",
     {"size": {"w": 7, "h": 15}, "color": "black"}, "2026-01-05", "2026-01-20"),
    ("Beta phone", "", "299.50", 0, "active", ["sale"], "smart",
     {"size": {"w": 7}, "color": "red"}, "2026-01-10", "2026-01-25"),
    ("Gamma phone", _, "149.99", 12, "draft", ["new", "sale"], "feature",
     {"color": "Red"}, "2026-01-12", "2026-02-01"),
    ("Delta laptop", "light and fast", "1299.00", 3, "active", ["eco"], "laptops",
     {"size": {"w": 30, "h": 21}, "color": "silver"}, "2026-01-02", "2026-01-08"),
    ("Epsilon laptop", "heavy duty", "999.99", _, "archived", [], "laptops",
     {"size": {"w": 35}}, "2026-02-01", "2026-02-10"),
    ("Zeta pan", "non-stick pan", "39.90", 40, "active", ["eco", "sale"], "cook",
     {"size": {"w": 28}, "color": "black", "labels": ["kitchen", "pan"]}, "2026-01-20", "2026-01-22"),
    ("Eta pot", "stainless", "59.00", 25, "draft", _, "cook",
     {"size": {"w": 24}}, _, _),
    ("Theta kettle", "electric kettle", "45.00", 18, "active", ["new", "eco"], "kitchen",
     {"color": "white"}, "2026-01-15", "2026-01-30"),
    ("Iota knife", _, "25.50", 60, "active", ["sale"], "kitchen",
     {}, _, _),
    ("Kappa rake", "garden rake", "19.99", 7, "draft", [], "garden",
     _, "2026-03-01", "2026-03-05"),
    ("Lambda hose", "", "29.99", 0, "archived", ["eco"], "garden",
     {"size": {"w": 2.5}, "color": "green"}, _, _),
    ("Mu gadget", "misc", _, 3, "-", ["new"], "elec",
     {"color": "blue"}, "2026-01-25", "2026-02-15"),
    ("Nu widget", "Widget deluxe", "10.00", -2, "draft", ["sale", "new", "eco"], _,
     {"size": {"w": 10}}, _, _),
    ("Xi widget", "widget basic", "10.00", 100, "active", ["new"], _,
     {"size": {"w": 10}, "color": "red"}, "2026-02-05", "2026-02-06"),
    ("Omicron cable", "USB cable", "5.49", 200, "active", [], "elec",
     {"size": {"w": 0}}, _, _),
    ("Pi charger", "fast charger", "19.00", 50, "active", ["sale"], "phones",
     {"color": "black"}, _, _),
    ("Rho case", "phone case", "9.99", 80, "draft", ["new"], "phones",
     {"size": {"w": 8}, "color": "clear"}, _, _),
    ("Sigma stand", _, _, _, "draft", _, _,
     _, _, _),
    ("", "nameless entry", "1.00", 1, "draft", [], _,
     [], _, _),
    ("Tau_test item", "underscore name", "2.00", 2, "draft", ["eco"], _,
     {"size": {"w": -1}}, _, _),
    ("50% off mug", "promo", "7.50", 15, "active", ["sale"], "kitchen",
     {"color": "red", "size": {"w": 9}}, _, _),
    ("5000 watt heater", "big heater", "150.00", 4, "active", [], "home",
     {"size": {"w": 50}}, _, _),
    ("upsilon lamp", "lowercase name", "35.00", 9, "archived", ["eco"], "home",
     {"color": "yellow"}, _, _),
    ("PHI SPEAKER", "UPPER CASE", "89.00", 11, "active", ["new"], "elec",
     {"size": {"w": 12}, "color": "black"}, _, _),
    ("Chi mouse", "wireless mouse", "24.99", 33, "draft", ["sale"], "laptops",
     {"size": {"w": 6}}, _, _),
    ("Psi keyboard", "mechanical", "79.00", 21, "active", ["new", "sale"], "laptops",
     {"size": {"w": 44}, "color": "white"}, _, _),
    ("Omega tablet", "big screen", "449.00", 6, "active", ["eco", "new"], "elec",
     {"size": {"w": 25}, "color": "silver"}, _, _),
    ("Alpha pan", "cast iron pan", "49.00", 14, "archived", [], "cook",
     {"size": {"w": 26}, "color": "black"}, _, _),
    ("Beta hose reel", _, "64.50", 2, "draft", ["eco"], "garden",
     {"color": "green"}, _, _),
    ("Gamma widget", "widget pro", "10.00", 5, "active", ["sale"], _,
     {"size": {"w": 10.5}}, _, _),
]

#: relation_many links by product index (position order as written)
RELATED = {0: [1, 2], 3: [4, 24], 5: [27, 6], 13: [12, 29, 0]}
BLOCKERS = {1: [0], 2: [0, 1], 4: [3], 7: [5], 11: [7, 1], 13: [11]}


@dataclass(repr=False)
class Catalog:
    schema: str
    cats: dict = field(default_factory=dict)       # key -> record
    cat_names: dict = field(default_factory=dict)  # id -> name
    products: list = field(default_factory=list)   # records, in PRODUCTS order

    def __repr__(self) -> str:  # short: hypothesis prints fixtures of a failing example
        return f"Catalog({self.schema!r}, {len(self.cats)} categories, {len(self.products)} products)"

    def pid(self, index: int) -> str:
        return self.products[index]["id"]

    def by_name(self, name: str) -> dict:
        return next(p for p in self.products if p["name"] == name)

    @property
    def all_ids(self) -> set:
        return {p["id"] for p in self.products}


#: fixed ids, so that generated specs (test_query_fuzz) can name real records
_NS = uuid.UUID("5f6b7a2e-3c1d-4e8f-9a0b-1c2d3e4f5a6b")
CATEGORY_IDS = {key: str(uuid.uuid5(_NS, f"category {key}")) for key, _, _ in CATEGORIES}
PRODUCT_IDS = [str(uuid.uuid5(_NS, f"product {i}")) for i in range(len(PRODUCTS))]


def build_catalog(ctx, schema) -> Catalog:
    """Create categories and products with the data above; returns their records."""
    cat = Catalog(schema)
    fn(ctx, "create_table", CATEGORIES_SPEC)
    fn(ctx, "create_table", PRODUCTS_SPEC)
    for key, name, parent in CATEGORIES:
        data = {"id": CATEGORY_IDS[key], "name": name}
        if parent:
            data["parent_id"] = cat.cats[parent]["id"]
        cat.cats[key] = fn(ctx, "create_record", "categories", data)
        cat.cat_names[cat.cats[key]["id"]] = name
    rows = []
    for i, (name, note, price, qty, status, tags, ckey, meta, starts, ends) in enumerate(PRODUCTS):
        rows.append({
            "id": PRODUCT_IDS[i], "name": name, "note": note, "price": price, "qty": qty,
            "status": None if status == "-" else status, "tags": tags,
            "category_id": cat.cats[ckey]["id"] if ckey else None,
            "metadata": meta, "starts": starts, "ends": ends,
        })
    cat.products = fn(ctx, "create_records", "products", rows)
    for links, column in ((RELATED, "related"), (BLOCKERS, "blockers")):
        for src, targets in links.items():
            cat.products[src] = fn(ctx, "update_record", "products", uuid.UUID(cat.pid(src)),
                                   {column: [cat.pid(t) for t in targets]})
    assert len(cat.products) == len(PRODUCTS) == 30
    return cat


# --- plain SQL oracles ------------------------------------------------------------------

#: products p, its category c, and the category's parent c2: what relation paths read
FROM_PRODUCTS = ("{s}.products p left join {s}.categories c on c.id = p.category_id"
                 " left join {s}.categories c2 on c2.id = c.parent_id")


def sql_ids(conn, schema, where: str, params=()) -> set:
    """Ids (as strings) of the products matching a hand-written SQL condition."""
    rows = conn.execute(f"select p.id::text from {FROM_PRODUCTS.format(s=schema)} where {where}",
                        params).fetchall()
    return {r[0] for r in rows}


def sql_rows(conn, schema, select: str, rest: str = "", params=None) -> list:
    return conn.execute(f"select {select} from {FROM_PRODUCTS.format(s=schema)} {rest}", params).fetchall()


def ids(result) -> set:
    return {r["id"] for r in result["rows"]}


def q(ctx, spec, slug="products"):
    return fn(ctx, "query_table", slug, spec)


# --- one database per test module, for the tests that only read -------------------------

@dataclass
class Shop:
    """A database of a test module's own: a company with the catalog above, its owner in
    context on `conn` (superuser, autocommit)."""
    conn: psycopg.Connection
    company: dict
    cat: Catalog
    url: str


@contextmanager
def company_database(template, prefix, name):
    """A database of its own (a clone of the migrated template, dropped at the end) holding
    one company named `name` with an owner and a member: yields (conn, company, url), conn
    a superuser connection (autocommit) with the owner in context."""
    dbname = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with DatabaseJanitor(user=template.user, host=template.host, port=template.port, dbname=dbname,
                         template_dbname=template.template_dbname, password=template.password):
        url = f"postgresql://{template.user}@{template.host}:{template.port}/{dbname}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'grant create on database "{dbname}" to docpal_owner')
            slug = unique_slug()
            cid = one(conn, "select docpal.create_company(%s, %s)", slug, name)
            owner = one(conn, "select docpal.create_user(%s, 'Owner')", f"owner-{slug}@example.com")
            member = one(conn, "select docpal.create_user(%s, 'Member')", f"member-{slug}@example.com")
            conn.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
            conn.execute("select docpal.add_member(%s, %s, 'member')", (cid, member))
            schema = one(conn, "select docpal.get_company(%s)->>'schema'", str(cid))
            company = {"id": cid, "slug": slug, "schema": schema, "owner": owner, "member": member}
            set_context(conn, company, owner)
            yield conn, company, url


@pytest.fixture(scope="module")
def shop(docpal_template):
    """Built once per module (company_database, build_catalog): every test of the module
    that only reads shares it. A test that writes asks for the `writes` fixture and gets a
    fresh database instead (see ctx_for)."""
    with company_database(docpal_template, "docpal_shop", "Test Co") as (conn, company, url):
        yield Shop(conn, company, build_catalog(conn, company["schema"]), url)


@pytest.fixture
def writes():
    """Asked for by a test that writes: its ctx and cat are a fresh database's, not the shared one."""
    return True


def ctx_for(request):
    """(ctx, cat): the module's shared shop for a test that only reads, a fresh database's
    for a test that asks for `writes`."""
    if "writes" in request.fixturenames:
        db, company = request.getfixturevalue("db"), request.getfixturevalue("company")
        ctx = set_context(db, company, company["owner"])
        return ctx, build_catalog(ctx, company["schema"])
    shop = request.getfixturevalue("shop")
    return shop.conn, shop.cat


@pytest.fixture
def shared(request):
    """(ctx, cat) of ctx_for, with a statement timeout: a runaway query fails the test
    instead of hanging it. The query test modules import it with `ctx` and `cat`."""
    ctx, cat = ctx_for(request)
    ctx.execute("set statement_timeout = '20s'")
    return ctx, cat


@pytest.fixture
def ctx(shared):
    return shared[0]


@pytest.fixture
def cat(shared):
    return shared[1]
