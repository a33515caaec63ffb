"""query_kanban, query_tree, query_gantt, query_dropdown, query_breadcrumb,
aggregate and explain_query (contract section 4, docs/reference.md "Queries").

Expected results come from the inserted data (Python) or plain SQL against the
company schema, never from docpal.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from psycopg.types.json import Jsonb

from test_query_data import (cat, ctx, shared,  # noqa: F401 (fixtures)
                             CATEGORIES, STATUSES, fn, raises, shop, sql_rows,  # noqa: F401
                             writes)


# --- query_kanban ---------------------------------------------------------------------------

def kanban(ctx, spec, slug="products"):
    return fn(ctx, "query_kanban", slug, spec)


def lanes_by_sql(ctx, cat, where="true", order="p.name"):
    """{status: [names in `order`]} of the products matching `where`."""
    lanes: dict = {}
    for status, name in sql_rows(ctx, cat.schema, "p.status, p.name", f"where {where} order by {order}"):
        lanes.setdefault(status, []).append(name)
    return lanes


def test_kanban_select_lanes_in_option_order_with_counts(ctx, cat):
    res = kanban(ctx, {"group_by": "status", "sort": ["name"], "columns": ["id", "name", "status"]})
    expected = lanes_by_sql(ctx, cat)
    assert None in expected  # Mu gadget has no status
    groups = res["groups"]
    assert [g["value"] for g in groups] == STATUSES + [None]  # every option in order, then the null lane
    for g in groups:
        assert g["count"] == len(expected[g["value"]]), g["value"]
        assert [r["name"] for r in g["rows"]] == expected[g["value"]]
        assert all(r["status"] == g["value"] for r in g["rows"])
        assert all(set(r) == {"id", "name", "status"} for r in g["rows"])
    assert sum(g["count"] for g in groups) == 30


def test_kanban_limit_per_group_and_sort(ctx, cat):
    res = kanban(ctx, {"group_by": "status", "limit_per_group": 3, "sort": ["-qty", "name"],
                       "columns": ["name", "qty"], "filters": {"qty": {"is_null": False}}})
    expected = lanes_by_sql(ctx, cat, "p.qty is not null", "p.qty desc, p.name")
    assert [g["value"] for g in res["groups"]] == STATUSES + [None]
    for g in res["groups"]:
        assert g["count"] == len(expected[g["value"]])  # the whole lane, not the page
        assert [r["name"] for r in g["rows"]] == expected[g["value"]][:3]
        assert len(g["rows"]) == min(3, g["count"])


def test_kanban_empty_lanes_appear_with_count_zero(ctx, cat):
    res = kanban(ctx, {"group_by": "status", "filters": {"qty": {"gte": 20}}, "sort": ["name"],
                       "columns": ["name"]})
    expected = lanes_by_sql(ctx, cat, "p.qty >= 20")
    assert "archived" not in expected and None not in expected
    # every option, even without records; no null lane when no matching record lacks a value
    assert [g["value"] for g in res["groups"]] == STATUSES
    by_value = {g["value"]: g for g in res["groups"]}
    assert by_value["archived"]["count"] == 0 and by_value["archived"]["rows"] == []
    for value in ("draft", "active"):
        assert by_value[value]["count"] == len(expected[value])
        assert [r["name"] for r in by_value[value]["rows"]] == expected[value]


def test_kanban_default_rows_are_records(ctx, cat):
    res = kanban(ctx, {"group_by": "status", "limit_per_group": 2, "sort": ["name"]})
    for g in res["groups"]:
        for row in g["rows"]:
            assert row == fn(ctx, "get_record", "products", uuid.UUID(row["id"]))


def test_kanban_by_relation_column(ctx, cat, writes):
    fn(ctx, "create_record", "categories", {"name": "Empty"})  # no products: no lane
    res = kanban(ctx, {"group_by": "category_id", "sort": ["name"], "columns": ["name", "category_id"]})
    expected: dict = {}
    for cid, name in sql_rows(ctx, cat.schema, "p.category_id::text, p.name", "order by p.name"):
        expected.setdefault(cid, []).append(name)
    values = [g["value"] for g in res["groups"]]
    assert set(values) == set(expected)  # the values present (and null), not every category
    assert len(values) == len(set(values))
    present = [v for v in values if v is not None]
    assert present == sorted(present, key=uuid.UUID)  # ordered by value
    for g in res["groups"]:
        assert g["count"] == len(expected[g["value"]])
        assert [r["name"] for r in g["rows"]] == expected[g["value"]]


@pytest.mark.parametrize("spec,code", [
    ({"group_by": "name"}, "22023"),  # text is no select or relation
    ({"group_by": "tags"}, "22023"),
    ({"group_by": "nope"}, "42703"),
    ({}, "22023"),
    ({"group_by": "status", "limit_per_group": 1001}, "22023"),
    ({"group_by": "status", "limit_per_group": 0}, "22023"),
    ({"group_by": "status", "filters": {"nope": 1}}, "42703"),
    ({"group_by": "status", "sort": ["nope"]}, "42703"),
], ids=str)
def test_kanban_errors(ctx, cat, spec, code):
    with raises(code):
        kanban(ctx, spec)


# --- query_tree ------------------------------------------------------------------------------

def tree(ctx, spec, slug="categories"):
    return fn(ctx, "query_tree", slug, spec)


def shape(nodes):
    """(name, children) tuples of a query_tree result."""
    return [(n["name"], shape(n.get("children") or [])) for n in nodes]


def expected_shape(parent_key=None, depth=1, max_depth=10, skip=()):
    if depth > max_depth:
        return []
    kids = sorted((name, key) for key, name, parent in CATEGORIES if parent == parent_key and name not in skip)
    return [(name, expected_shape(key, depth + 1, max_depth, skip)) for name, key in kids]


def test_tree_from_the_roots(ctx, cat):
    res = tree(ctx, {"parent": "parent_id", "sort": ["name"]})
    assert shape(res["nodes"]) == expected_shape()
    assert [n["name"] for n in res["nodes"]] == ["Electronics", "Garden", "Home"]  # parent null = depth 1
    assert all(n["parent_id"] is None for n in res["nodes"])
    assert all("children" in n for n in res["nodes"])


def test_tree_nodes_carry_the_row(ctx, cat):
    res = tree(ctx, {"parent": "parent_id", "sort": ["name"]})

    def walk(nodes):
        for node in nodes:
            record = fn(ctx, "get_record", "categories", uuid.UUID(node["id"]))
            assert {k: v for k, v in node.items() if k != "children"} == record
            walk(node["children"])

    walk(res["nodes"])


def test_tree_columns(ctx, cat):
    res = tree(ctx, {"parent": "parent_id", "sort": ["name"], "columns": ["id", "name"]})
    assert shape(res["nodes"]) == expected_shape()
    assert all(set(n) == {"id", "name", "children"} for n in res["nodes"])


def test_tree_sort_orders_siblings(ctx, cat):
    res = tree(ctx, {"parent": "parent_id", "sort": ["-name"]})

    def rev(s):
        return [(name, rev(kids)) for name, kids in reversed(s)]

    assert shape(res["nodes"]) == rev(expected_shape())


def test_tree_with_root(ctx, cat):
    res = tree(ctx, {"parent": "parent_id", "root": cat.cats["elec"]["id"], "sort": ["name"]})
    assert shape(res["nodes"]) == expected_shape("elec")
    assert [n["name"] for n in res["nodes"]] == ["Laptops", "Phones"]
    leaf = tree(ctx, {"parent": "parent_id", "root": cat.cats["smart"]["id"]})
    assert leaf["nodes"] == []


def test_tree_root_null_is_the_top(ctx, cat):
    res = tree(ctx, {"parent": "parent_id", "root": None, "sort": ["name"]})
    assert shape(res["nodes"]) == expected_shape()


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_tree_max_depth(ctx, cat, depth):
    res = tree(ctx, {"parent": "parent_id", "max_depth": depth, "sort": ["name"]})
    assert shape(res["nodes"]) == expected_shape(max_depth=depth)


def test_tree_max_depth_from_root(ctx, cat):
    res = tree(ctx, {"parent": "parent_id", "root": cat.cats["home"]["id"], "max_depth": 1, "sort": ["name"]})
    assert shape(res["nodes"]) == [("Kitchen", [])]


def test_tree_filter_hides_subtree(ctx, cat):
    res = tree(ctx, {"parent": "parent_id", "sort": ["name"], "filters": {"name": {"neq": "Phones"}}})
    assert shape(res["nodes"]) == expected_shape(skip={"Phones"})
    names = str(shape(res["nodes"]))
    assert "Smartphones" not in names and "Feature phones" not in names


def collect_ids(nodes):
    out = []
    for node in nodes:
        out.append(node["id"])
        out.extend(collect_ids(node.get("children") or []))
    return out


def make_cycle(ctx, cat):
    """loop-a -> loop-b -> loop-c -> loop-a (parent links), closed with plain SQL."""
    a = fn(ctx, "create_record", "categories", {"name": "Loop A"})
    b = fn(ctx, "create_record", "categories", {"name": "Loop B", "parent_id": a["id"]})
    c = fn(ctx, "create_record", "categories", {"name": "Loop C", "parent_id": b["id"]})
    ctx.execute(f"update {cat.schema}.categories set parent_id = %s where id = %s",
                (uuid.UUID(c["id"]), uuid.UUID(a["id"])))
    return a, b, c


def test_tree_cycle_terminates(ctx, cat, writes):
    a, b, c = make_cycle(ctx, cat)
    res = tree(ctx, {"parent": "parent_id", "root": a["id"], "max_depth": 100})
    got = collect_ids(res["nodes"])
    assert len(got) == len(set(got))  # the visited-path guard: no record twice on a path
    assert res["nodes"][0]["id"] == b["id"]
    assert res["nodes"][0]["children"][0]["id"] == c["id"]
    assert set(got) <= {a["id"], b["id"], c["id"]}
    top = tree(ctx, {"parent": "parent_id", "max_depth": 100, "sort": ["name"]})  # the loop has no root
    assert shape(top["nodes"]) == expected_shape()


@pytest.mark.parametrize("spec,codes", [
    ({"parent": "name"}, ["22023"]),  # no relation
    ({"parent": "nope"}, ["42703"]),
    ({}, ["22023"]),
    ({"parent": "parent_id", "max_depth": 101}, ["22023"]),
    ({"parent": "parent_id", "max_depth": 0}, ["22023"]),
    ({"parent": "parent_id", "root": "not-a-uuid"}, ["22023", "22P02"]),
], ids=str)
def test_tree_errors(ctx, cat, spec, codes):
    with raises(*codes):
        tree(ctx, spec)


def test_tree_parent_must_be_a_self_relation(ctx, cat):
    with raises("22023"):
        tree(ctx, {"parent": "category_id"}, slug="products")


# --- query_gantt -----------------------------------------------------------------------------

GANTT = {"start": "starts", "end": "ends", "label": "name", "dependencies": "blockers",
         "filters": {"starts": {"is_null": False}}}


def test_gantt_tasks(ctx, cat):
    res = fn(ctx, "query_gantt", "products", GANTT)
    expected = sql_rows(ctx, cat.schema, "p.id::text, p.name, p.starts::text, p.ends::text",
                        "where p.starts is not null order by p.starts")
    tasks = res["tasks"]
    assert [(t["id"], t["label"], t["start"], t["end"]) for t in tasks] == [tuple(r) for r in expected]
    blockers = {p["id"]: p["blockers"] for p in cat.products}
    for t in tasks:
        assert set(t) == {"id", "label", "start", "end", "dependencies"}
        assert sorted(t["dependencies"]) == sorted(blockers[t["id"]])
    mu = next(t for t in tasks if t["label"] == "Mu gadget")
    assert sorted(mu["dependencies"]) == sorted([cat.pid(7), cat.pid(1)])


def test_gantt_sort(ctx, cat):
    res = fn(ctx, "query_gantt", "products", {**GANTT, "sort": ["-ends"]})
    expected = sql_rows(ctx, cat.schema, "p.id::text", "where p.starts is not null order by p.ends desc")
    assert [t["id"] for t in res["tasks"]] == [r[0] for r in expected]


def test_gantt_without_dependencies(ctx, cat):
    res = fn(ctx, "query_gantt", "products", {k: v for k, v in GANTT.items() if k != "dependencies"})
    expected = sql_rows(ctx, cat.schema, "p.id::text", "where p.starts is not null order by p.starts")
    assert [t["id"] for t in res["tasks"]] == [r[0] for r in expected]


@pytest.mark.parametrize("patch,code", [
    ({"start": "name"}, "22023"),  # no date
    ({"start": "nope"}, "42703"),
    ({"end": "qty"}, "22023"),
    ({"dependencies": "tags"}, "22023"),  # no relation_many to itself
    ({"dependencies": "category_id"}, "22023"),
    ({"label": "nope"}, "42703"),
], ids=str)
def test_gantt_errors(ctx, cat, patch, code):
    with raises(code):
        fn(ctx, "query_gantt", "products", {**GANTT, **patch})


# --- query_dropdown ------------------------------------------------------------------------

def dropdown(ctx, spec, slug="categories"):
    return fn(ctx, "query_dropdown", slug, spec)


def test_dropdown_options_ordered_by_label(ctx, cat):
    res = dropdown(ctx, {"label": "name"})
    expected = ctx.execute(f"select id::text, name from {cat.schema}.categories order by name").fetchall()
    assert [(o["id"], o["label"]) for o in res["options"]] == [tuple(r) for r in expected]
    assert all(set(o) == {"id", "label"} for o in res["options"])


def test_dropdown_search_is_case_insensitive_substring(ctx, cat):
    res = dropdown(ctx, {"label": "name", "search": "PHONE"})
    assert [o["label"] for o in res["options"]] == ["Feature phones", "Phones", "Smartphones"]
    assert dropdown(ctx, {"label": "name", "search": "zzz"})["options"] == []


def test_dropdown_search_is_literal(ctx, cat):
    res = dropdown(ctx, {"label": "name", "search": "50%"}, slug="products")
    assert [o["label"] for o in res["options"]] == ["50% off mug"]
    res = dropdown(ctx, {"label": "name", "search": "_"}, slug="products")
    assert [o["label"] for o in res["options"]] == ["Tau_test item"]


def test_dropdown_limit(ctx, cat):
    expected = ctx.execute(f"select id::text, name from {cat.schema}.categories order by name limit 2").fetchall()
    res = dropdown(ctx, {"label": "name", "limit": 2})
    assert [(o["id"], o["label"]) for o in res["options"]] == [tuple(r) for r in expected]
    res = dropdown(ctx, {"label": "name", "search": "e", "limit": 3})
    assert len(res["options"]) == 3


def test_dropdown_default_limit_50(ctx, cat, writes):
    fn(ctx, "create_records", "products", [{"name": f"extra {i:02}"} for i in range(25)])
    assert len(dropdown(ctx, {"label": "name"}, slug="products")["options"]) == 50


def test_dropdown_label_through_relation(ctx, cat):
    res = dropdown(ctx, {"label": "category_id.name", "search": "laptop"}, slug="products")
    expected = sql_rows(ctx, cat.schema, "p.id::text, c.name", "where c.name = 'Laptops'")
    assert sorted((o["id"], o["label"]) for o in res["options"]) == sorted(tuple(r) for r in expected)


@pytest.mark.parametrize("spec,code", [
    ({}, "22023"),
    ({"label": "nope"}, "42703"),
    ({"label": "name", "limit": 1001}, "22023"),
], ids=str)
def test_dropdown_errors(ctx, cat, spec, code):
    with raises(code):
        dropdown(ctx, spec)


# --- query_breadcrumb ------------------------------------------------------------------------

def crumbs(ctx, rid, slug="categories"):
    return fn(ctx, "query_breadcrumb", slug, {"id": rid, "parent": "parent_id", "label": "name"})


def test_breadcrumb_root_first_ending_with_the_record(ctx, cat):
    res = crumbs(ctx, cat.cats["smart"]["id"])
    assert res["path"] == [{"id": cat.cats[k]["id"], "label": cat.cats[k]["name"]}
                           for k in ("elec", "phones", "smart")]
    assert [c["label"] for c in crumbs(ctx, cat.cats["cook"]["id"])["path"]] == ["Home", "Kitchen", "Cookware"]


def test_breadcrumb_of_a_root(ctx, cat):
    assert crumbs(ctx, cat.cats["garden"]["id"])["path"] == [{"id": cat.cats["garden"]["id"], "label": "Garden"}]


def test_breadcrumb_unknown_id(ctx, cat):
    with raises("P0002"):
        crumbs(ctx, str(uuid.uuid4()))


def test_breadcrumb_cycle_stops(ctx, cat, writes):
    a, b, c = make_cycle(ctx, cat)
    path = crumbs(ctx, c["id"])["path"]
    got = [p["id"] for p in path]
    assert got[-1] == c["id"]
    assert len(got) == len(set(got)) and set(got) == {a["id"], b["id"], c["id"]}


@pytest.mark.parametrize("spec,code", [
    ({"parent": "parent_id", "label": "name"}, "22023"),  # no id
    ({"id": None, "parent": "parent_id", "label": "name"}, "22023"),
    ({"id": "ID", "parent": "nope", "label": "name"}, "42703"),
    ({"id": "ID", "parent": "name", "label": "name"}, "22023"),
    ({"id": "ID", "parent": "parent_id", "label": "nope"}, "42703"),
], ids=str)
def test_breadcrumb_errors(ctx, cat, spec, code):
    spec = {k: (cat.cats["smart"]["id"] if v == "ID" else v) for k, v in spec.items()}
    with raises(code):
        fn(ctx, "query_breadcrumb", "categories", spec)


# --- aggregate -------------------------------------------------------------------------------

def agg(ctx, spec, slug="products"):
    return fn(ctx, "aggregate", slug, spec)


def num(value):
    return None if value is None else Decimal(str(value))


def test_aggregate_group_by_select(ctx, cat):
    res = agg(ctx, {"group_by": ["status"], "metrics": {"n": "count", "total": {"sum": "price"}}})
    expected = sql_rows(ctx, cat.schema, "p.status, count(*), sum(p.price)", "group by p.status order by p.status")
    assert [(g["status"], g["n"], num(g["total"])) for g in res["groups"]] == [tuple(r) for r in expected]
    assert all(set(g) == {"status", "n", "total"} for g in res["groups"])


def test_aggregate_group_by_relation_path(ctx, cat):
    res = agg(ctx, {"group_by": ["category_id.name"], "metrics": {"n": "count", "total": {"sum": "price"}}})
    expected = sql_rows(ctx, cat.schema, "c.name, count(*), sum(p.price)", "group by c.name order by c.name")
    assert [(g["category_id.name"], g["n"], num(g["total"])) for g in res["groups"]] == [tuple(r) for r in expected]


def test_aggregate_group_by_two_paths(ctx, cat):
    res = agg(ctx, {"group_by": ["category_id.parent_id.name", "status"], "metrics": {"n": "count"}})
    expected = sql_rows(ctx, cat.schema, "c2.name, p.status, count(*)",
                        "group by c2.name, p.status order by c2.name, p.status")
    assert [(g["category_id.parent_id.name"], g["status"], g["n"]) for g in res["groups"]] == \
        [tuple(r) for r in expected]


def test_aggregate_group_by_json_path(ctx, cat):
    res = agg(ctx, {"group_by": ["metadata.color"], "metrics": {"n": "count"}})
    expected = sql_rows(ctx, cat.schema, "p.metadata->>'color', count(*)", "group by 1 order by 1")
    assert [(g["metadata.color"], g["n"]) for g in res["groups"]] == [tuple(r) for r in expected]


def test_aggregate_every_metric(ctx, cat):
    metrics = {"n": "count", "cats": {"count_distinct": "category_id"}, "statuses": {"count_distinct": "status"},
               "avg_price": {"avg": "price"}, "sum_qty": {"sum": "qty"}, "min_qty": {"min": "qty"},
               "max_qty": {"max": "qty"}, "min_price": {"min": "price"}, "max_price": {"max": "price"},
               "first_start": {"min": "starts"}, "last_name": {"max": "name"}}
    res = agg(ctx, {"metrics": metrics})
    assert len(res["groups"]) == 1
    g = res["groups"][0]
    assert set(g) == set(metrics)
    row = sql_rows(ctx, cat.schema, "count(*), count(distinct p.category_id), count(distinct p.status),"
                   " avg(p.price), sum(p.qty), min(p.qty), max(p.qty), min(p.price), max(p.price),"
                   " min(p.starts)::text, max(p.name)")[0]
    n, cats, statuses, avg, sum_qty, min_qty, max_qty, min_price, max_price, first_start, last_name = row
    assert (g["n"], g["cats"], g["statuses"]) == (n, cats, statuses) == (30, 9, 3)
    assert abs(num(g["avg_price"]) - avg) < Decimal("1e-9")
    assert (g["sum_qty"], g["min_qty"], g["max_qty"]) == (sum_qty, min_qty, max_qty) == (sum_qty, -2, 200)
    assert (num(g["min_price"]), num(g["max_price"])) == (min_price, max_price)
    assert g["first_start"] == first_start == "2026-01-02"
    assert g["last_name"] == last_name


def test_aggregate_min_max_of_a_json_number(ctx, cat):
    """On a json path a number compares as a number (as text, '7' > '50')."""
    res = agg(ctx, {"metrics": {"lo": {"min": "metadata.size.w"}, "hi": {"max": "metadata.size.w"}}})
    w = "(p.metadata #>> '{size,w}')::numeric"
    lo, hi = sql_rows(ctx, cat.schema, f"min({w}), max({w})")[0]
    assert (num(res["groups"][0]["lo"]), num(res["groups"][0]["hi"])) == (lo, hi) == (-1, 50)


def test_aggregate_metrics_per_group(ctx, cat):
    res = agg(ctx, {"group_by": ["category_id.name"],
                    "metrics": {"avg_price": {"avg": "price"}, "lo": {"min": "qty"}, "hi": {"max": "qty"},
                                "kinds": {"count_distinct": "status"}}})
    expected = sql_rows(ctx, cat.schema, "c.name, avg(p.price), min(p.qty), max(p.qty), count(distinct p.status)",
                        "group by c.name order by c.name")
    assert len(res["groups"]) == len(expected)
    for g, (name, avg, lo, hi, kinds) in zip(res["groups"], expected):
        assert g["category_id.name"] == name
        assert (avg is None and g["avg_price"] is None) or abs(num(g["avg_price"]) - avg) < Decimal("1e-9")
        assert (g["lo"], g["hi"], g["kinds"]) == (lo, hi, kinds)


def test_aggregate_with_filters(ctx, cat):
    res = agg(ctx, {"group_by": ["status"], "filters": {"price": {"gte": 20}, "category_id.name": {"is_null": False}},
                    "metrics": {"n": "count", "total": {"sum": "price"}}})
    expected = sql_rows(ctx, cat.schema, "p.status, count(*), sum(p.price)",
                        "where p.price >= 20 and c.name is not null group by p.status order by p.status")
    assert [(g["status"], g["n"], num(g["total"])) for g in res["groups"]] == [tuple(r) for r in expected]


def test_aggregate_having(ctx, cat):
    res = agg(ctx, {"group_by": ["category_id.name"], "metrics": {"n": "count", "total": {"sum": "price"}},
                    "having": {"n": {"gte": 4}}})
    expected = sql_rows(ctx, cat.schema, "c.name, count(*)", "group by c.name having count(*) >= 4 order by c.name")
    assert 0 < len(expected) < 9
    assert [(g["category_id.name"], g["n"]) for g in res["groups"]] == [tuple(r) for r in expected]
    res = agg(ctx, {"group_by": ["status"], "metrics": {"n": "count", "total": {"sum": "price"}},
                    "having": {"_or": [{"total": {"gt": 2000}}, {"n": 1}]}})
    expected = sql_rows(ctx, cat.schema, "p.status", "group by p.status having sum(p.price) > 2000 or count(*) = 1"
                        " order by p.status")
    assert [g["status"] for g in res["groups"]] == [r[0] for r in expected]


@pytest.mark.parametrize("spec,code", [
    ({"metrics": {"s": {"sum": "name"}}}, "22023"),  # sum needs a number
    ({"metrics": {"s": {"avg": "status"}}}, "22023"),
    ({"metrics": {"s": {"median": "price"}}}, "22023"),
    ({"metrics": {"s": "sum"}}, "22023"),
    ({"metrics": {"Bad Name": "count"}}, "22023"),
    ({"metrics": {"s": {"sum": "nope"}}}, "42703"),
    ({"metrics": {"s": {"sum": "price", "avg": "price"}}}, "22023"),
    ({"metrics": ["count"]}, "22023"),
    ({"group_by": ["nope"], "metrics": {"n": "count"}}, "42703"),
    ({"group_by": "status", "metrics": {"n": "count"}}, "22023"),
    ({"group_by": ["status"], "metrics": {"n": "count"}, "having": {"m": {"gt": 1}}}, "42703"),
    ({"group_by": ["status"], "metrics": {"n": "count"}, "having": {"n": {"gt": "x"}}}, "22023"),
    ({"group_by": ["status"], "metrics": {"n": "count"}, "filters": {"nope": 1}}, "42703"),
], ids=str)
def test_aggregate_errors(ctx, cat, spec, code):
    with raises(code):
        agg(ctx, spec)


# --- explain_query ------------------------------------------------------------------------

def test_explain_query_returns_the_sql(ctx, cat):
    text = fn(ctx, "explain_query", "products", {"columns": ["name", "category_id.name"],
                                                  "filters": {"name": "zebra-needle-42"}, "sort": ["-price"]})
    assert isinstance(text, str)
    assert "select" in text.lower()
    assert "products" in text
    assert cat.schema in text
    sql = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    assert "zebra-needle-42" not in sql  # the value is bound, not spliced
    assert "-- $1" in text and "zebra-needle-42" in text  # the comment line with the bound parameters


def test_explain_query_errors_like_query_table(ctx, cat):
    with raises("42P01"):
        fn(ctx, "explain_query", "nope", {})
    with raises("42703"):
        fn(ctx, "explain_query", "products", {"columns": ["nope"]})
    with raises("22023"):
        fn(ctx, "explain_query", "products", {"limit": 5000})


# --- every query function: unknown table, no context ------------------------------------

CALLS = {
    "query_table": {},
    "query_kanban": {"group_by": "status"},
    "query_tree": {"parent": "parent_id"},
    "query_gantt": {"start": "starts", "end": "ends", "label": "name"},
    "query_calendar": {"start": "starts", "end": "ends", "label": "name", "from": "2026-01-01", "to": "2026-01-31"},
    "query_dropdown": {"label": "name"},
    "query_breadcrumb": {"id": str(uuid.uuid4()), "parent": "parent_id", "label": "name"},
    "aggregate": {"metrics": {"n": "count"}},
    "explain_query": {},
}


@pytest.mark.parametrize("name", list(CALLS))
def test_unknown_table(ctx, cat, name):
    with raises("42P01"):
        fn(ctx, name, "nope", CALLS[name])


@pytest.mark.parametrize("name", list(CALLS))
def test_no_context(ctx, cat, connect, name):
    slug = "categories" if name in ("query_tree", "query_breadcrumb") else "products"
    with raises("42501"):
        fn(connect(), name, slug, CALLS[name])


@pytest.mark.parametrize("name", list(CALLS))
def test_spec_not_an_object(ctx, cat, name):
    with raises("22023"):
        fn(ctx, name, "products", Jsonb([]))


def test_queries_change_nothing(ctx, cat):
    checksum = f"select md5(string_agg(t::text, ',' order by id)) from {cat.schema}.products t"
    before = ctx.execute(checksum).fetchone()[0]
    audit = ctx.execute(f"select count(*) from {cat.schema}._audit_log").fetchone()[0]
    kanban(ctx, {"group_by": "status"})
    tree(ctx, {"parent": "parent_id"})
    fn(ctx, "query_gantt", "products", GANTT)
    fn(ctx, "query_calendar", "products", CALLS["query_calendar"])
    dropdown(ctx, {"label": "name"})
    crumbs(ctx, cat.cats["smart"]["id"])
    agg(ctx, {"group_by": ["status"], "metrics": {"n": "count"}})
    fn(ctx, "explain_query", "products", {})
    assert ctx.execute(checksum).fetchone()[0] == before
    assert ctx.execute(f"select count(*) from {cat.schema}._audit_log").fetchone()[0] == audit
