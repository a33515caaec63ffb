"""aggregate's count_if, sum_if, percentile and expr metrics, query_calendar and
query_kanban's lane_label (contract section 4.1, docs/reference.md "Queries").

Expected results are computed in Python from the rows of the shop data set
(test_query_data.PRODUCTS, read back through plain SQL where a relation is
followed) and from the events below, never from docpal.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from helpers import one, set_context, table
from test_query_data import cat, ctx, fn, raises, shared, shop, sql_rows  # noqa: F401 (fixtures)


def agg(ctx, spec, slug="products"):
    return fn(ctx, "aggregate", slug, spec)["groups"]


#: a JSON number as read back (the connections read JSON fractions as Decimal)
NUMBER = (int, float, Decimal)


def num(value):
    return None if value is None else Decimal(str(value))


def close(a, b, eps=Decimal("1e-9")):
    if a is None or b is None:
        return a is None and b is None
    return abs(num(a) - num(b)) <= eps * max(1, abs(num(b)))


def rows(ctx, cat):
    """Every product as a dict of plain values, with its category's name (plain SQL)."""
    out = sql_rows(ctx, cat.schema, "p.id::text, p.name, p.price, p.qty, p.status, p.tags, p.starts, c.name,"
                   " p.metadata", "order by p.id")
    keys = ("id", "name", "price", "qty", "status", "tags", "starts", "category", "metadata")
    return [dict(zip(keys, r)) for r in out]


def percentile_cont(values, fraction):
    """PostgreSQL's percentile_cont: linear interpolation over the sorted non-null values."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    pos = fraction * (len(vals) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return float(vals[lo]) + (pos - lo) * (float(vals[hi]) - float(vals[lo]))


def percentile_disc(values, fraction):
    """PostgreSQL's percentile_disc: the first sorted value whose position / n reaches the fraction."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    for i, v in enumerate(vals, 1):
        if i / len(vals) >= fraction:
            return v
    return vals[-1]


def group(data, key):
    out: dict = {}
    for r in data:
        out.setdefault(r[key], []).append(r)
    return out


# --- count_if and sum_if --------------------------------------------------------------------------

def test_count_if_per_group(ctx, cat):
    res = agg(ctx, {"group_by": ["status"], "metrics": {
        "n": "count", "big": {"count_if": {"qty": {"gt": 10}}}, "every": {"count_if": {}},
        "cheap_or_eco": {"count_if": {"_or": [{"price": {"lt": 20}}, {"tags": {"has_any": ["eco"]}}]}}}})
    by_status = group(rows(ctx, cat), "status")
    assert [g["status"] for g in res] == sorted(by_status, key=lambda s: (s is None, s))
    for g in res:
        rs = by_status[g["status"]]
        assert g["n"] == g["every"] == len(rs)
        assert g["big"] == sum(1 for r in rs if r["qty"] is not None and r["qty"] > 10)
        assert g["cheap_or_eco"] == sum(1 for r in rs if (r["price"] is not None and r["price"] < 20)
                                        or "eco" in (r["tags"] or []))
    assert sum(g["big"] for g in res) == 14  # the case tells: not every row, not none


def test_count_if_follows_relations(ctx, cat):
    res = agg(ctx, {"metrics": {"laptops": {"count_if": {"category_id.name": "Laptops"}},
                                "under_phones": {"count_if": {"category_id.parent_id.name": "Phones"}}}})
    data = rows(ctx, cat)
    parents = dict(sql_rows(ctx, cat.schema, "p.id::text, c2.name"))
    assert res == [{"laptops": sum(1 for r in data if r["category"] == "Laptops"),
                    "under_phones": sum(1 for r in data if parents[r["id"]] == "Phones")}]
    assert res[0]["laptops"] == 4 and res[0]["under_phones"] == 3


def test_sum_if_per_group(ctx, cat):
    res = agg(ctx, {"group_by": ["category_id.name"], "metrics": {
        "active_value": {"sum_if": ["price", {"status": "active"}]},
        "big_qty": {"sum_if": ["qty", {"qty": {"gte": 10}}]},
        "w": {"sum_if": ["metadata.size.w", {"status": {"neq": "archived"}}]}}})
    by_cat = group(rows(ctx, cat), "category")
    assert len(res) == len(by_cat)
    for g in res:
        rs = by_cat[g["category_id.name"]]
        active = [r["price"] for r in rs if r["status"] == "active" and r["price"] is not None]
        assert num(g["active_value"]) == (sum(active) if active else None), g
        big = [r["qty"] for r in rs if r["qty"] is not None and r["qty"] >= 10]
        assert g["big_qty"] == (sum(big) if big else None), g
        ws = [Decimal(str(r["metadata"]["size"]["w"])) for r in rs
              if r["status"] is not None and r["status"] != "archived"
              and isinstance(r["metadata"], dict) and isinstance((r["metadata"].get("size") or {}).get("w"), NUMBER)]
        assert num(g["w"]) == (sum(ws) if ws else None), g
    assert any(g["active_value"] is None for g in res) and any(g["active_value"] is not None for g in res)


# --- percentile ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fraction", [0, 0.25, 0.5, 0.9, 1])
def test_percentile_of_numbers_interpolates(ctx, cat, fraction):
    res = agg(ctx, {"group_by": ["status"], "metrics": {"q": {"percentile": ["qty", fraction]},
                                                        "p": {"percentile": ["price", fraction]},
                                                        "w": {"percentile": ["metadata.size.w", fraction]}}})
    by_status = group(rows(ctx, cat), "status")
    for g in res:
        rs = by_status[g["status"]]
        assert close(g["q"], percentile_cont([r["qty"] for r in rs], fraction)), g
        assert close(g["p"], percentile_cont([r["price"] for r in rs], fraction)), g
        ws = [(r["metadata"] or {}).get("size", {}).get("w") if isinstance(r["metadata"], dict) else None for r in rs]
        assert close(g["w"], percentile_cont([w for w in ws if isinstance(w, NUMBER)], fraction)), g


def test_percentile_of_dates_is_a_value_that_occurs(ctx, cat):
    data = rows(ctx, cat)
    for fraction in (0, 0.3, 0.5, 0.75, 1):
        res = agg(ctx, {"metrics": {"d": {"percentile": ["starts", fraction]}}})
        expected = percentile_disc([r["starts"] for r in data], fraction)
        assert res == [{"d": expected.isoformat()}], fraction
    starts = {r["starts"].isoformat() for r in data if r["starts"]}
    res = agg(ctx, {"metrics": {"d": {"percentile": ["starts", 0.5]}, "c": {"percentile": ["created_at", 0.5]}}})
    assert res[0]["d"] in starts and res[0]["c"] is not None


# --- expr ---------------------------------------------------------------------------------------------

def test_expr_over_metrics(ctx, cat):
    res = agg(ctx, {"group_by": ["status"], "metrics": {
        "n": "count", "big": {"count_if": {"qty": {"gt": 10}}},
        "big_rate": {"expr": "big / n"},
        "pct": {"expr": "round(big * 100 / n, 1)"},
        "avg_by_hand": {"expr": "total / priced"},
        "total": {"sum": "price"}, "priced": {"count_distinct": "id"},
        "spread": {"expr": "hi - lo + 0.5"}, "hi": {"max": "qty"}, "lo": {"min": "qty"},
        "half": {"expr": "1 / 2"}}})
    by_status = group(rows(ctx, cat), "status")
    for g in res:
        rs = by_status[g["status"]]
        big = sum(1 for r in rs if r["qty"] is not None and r["qty"] > 10)
        assert close(g["big_rate"], Decimal(big) / len(rs)), g
        assert num(g["pct"]) == round(Decimal(big) * 100 / len(rs), 1), g
        prices = [r["price"] for r in rs if r["price"] is not None]
        assert close(g["avg_by_hand"], sum(prices) / len(rs) if prices else None), g
        qtys = [r["qty"] for r in rs if r["qty"] is not None]
        assert close(g["spread"], (max(qtys) - min(qtys) + Decimal("0.5")) if qtys else None), g
        assert num(g["half"]) == Decimal("0.5")  # numbers are numeric: no integer division


def test_expr_division_by_zero_is_null(ctx, cat):
    res = agg(ctx, {"group_by": ["status"], "metrics": {
        "n": "count", "archived": {"count_if": {"status": "archived"}},
        "per_archived": {"expr": "n / archived"}, "zero": {"expr": "n / (archived - archived)"}}})
    assert len(res) == 4
    for g in res:
        assert g["zero"] is None
        if g["status"] == "archived":
            assert num(g["per_archived"]) == 1
        else:
            assert g["archived"] == 0 and g["per_archived"] is None


def test_expr_over_exprs_in_dependency_order(ctx, cat):
    res = agg(ctx, {"metrics": {"n": "count", "a": {"expr": "b * 2"}, "b": {"expr": "c + 1"}, "c": {"expr": "n - 30"},
                                "p90": {"percentile": ["qty", 0.9]}, "d": {"expr": "p90 - a"},
                                "paid": {"sum_if": ["price", {"status": "active"}]}, "share": {"expr": "paid / total"},
                                "total": {"sum": "price"}}})
    data = rows(ctx, cat)
    g = res[0]
    assert (g["n"], num(g["c"]), num(g["b"]), num(g["a"])) == (30, 0, 1, 2)
    assert close(g["d"], Decimal(str(percentile_cont([r["qty"] for r in data], 0.9))) - 2)
    paid = sum(r["price"] for r in data if r["status"] == "active" and r["price"] is not None)
    total = sum(r["price"] for r in data if r["price"] is not None)
    assert close(g["share"], paid / total)


def test_having_names_the_new_metrics(ctx, cat):
    spec = {"group_by": ["category_id.name"], "metrics": {
        "n": "count", "big": {"count_if": {"qty": {"gt": 10}}}, "rate": {"expr": "big / n"},
        "p50": {"percentile": ["price", 0.5]}, "active_value": {"sum_if": ["price", {"status": "active"}]}}}
    by_cat = group(rows(ctx, cat), "category")

    def rate(rs):
        return Decimal(sum(1 for r in rs if r["qty"] is not None and r["qty"] > 10)) / len(rs)

    res = agg(ctx, {**spec, "having": {"rate": {"gte": 0.5}}})
    expected = sorted((k for k, rs in by_cat.items() if rate(rs) >= Decimal("0.5")), key=lambda k: (k is None, k))
    assert 0 < len(expected) < len(by_cat)
    assert [g["category_id.name"] for g in res] == expected
    res = agg(ctx, {**spec, "having": {"_or": [{"big": {"gt": 2}}, {"p50": {"lt": 20.5}}]}})
    expected = sorted((k for k, rs in by_cat.items()
                       if sum(1 for r in rs if r["qty"] is not None and r["qty"] > 10) > 2
                       or (percentile_cont([r["price"] for r in rs], 0.5) or 1e9) < 20.5), key=lambda k: (k is None, k))
    assert 0 < len(expected) < len(by_cat)
    assert [g["category_id.name"] for g in res] == expected
    res = agg(ctx, {**spec, "having": {"active_value": {"is_null": True}}})
    expected = [k for k, rs in by_cat.items()
                if not any(r["status"] == "active" and r["price"] is not None for r in rs)]
    assert expected and [g["category_id.name"] for g in res] == sorted(expected, key=lambda k: (k is None, k))


# --- errors -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metrics,code", [
    ({"x": {"count_if": "qty"}}, "22023"),             # a filter is an object
    ({"x": {"count_if": [{"qty": 1}]}}, "22023"),
    ({"x": {"count_if": {"nope": 1}}}, "42703"),
    ({"x": {"count_if": {"qty": {"near": 1}}}}, "22023"),
    ({"x": {"count_if": {"qty": "many"}}}, "22023"),
    ({"x": {"sum_if": "price"}}, "22023"),
    ({"x": {"sum_if": ["price"]}}, "22023"),
    ({"x": {"sum_if": ["price", {"qty": 1}, {}]}}, "22023"),
    ({"x": {"sum_if": [{"qty": 1}, "price"]}}, "22023"),
    ({"x": {"sum_if": ["price", "active"]}}, "22023"),
    ({"x": {"sum_if": ["name", {}]}}, "22023"),          # sum needs a number
    ({"x": {"sum_if": ["nope", {}]}}, "42703"),
    ({"x": {"sum_if": ["price", {"nope": 1}]}}, "42703"),
    ({"x": {"percentile": ["qty", 1.5]}}, "22023"),
    ({"x": {"percentile": ["qty", -0.1]}}, "22023"),
    ({"x": {"percentile": ["qty", "0.5"]}}, "22023"),
    ({"x": {"percentile": ["qty"]}}, "22023"),
    ({"x": {"percentile": "qty"}}, "22023"),
    ({"x": {"percentile": ["name", 0.5]}}, "22023"),
    ({"x": {"percentile": ["status", 0.5]}}, "22023"),
    ({"x": {"percentile": ["metadata", 0.5]}}, "22023"),
    ({"x": {"percentile": ["nope", 0.5]}}, "42703"),
    ({"n": "count", "x": {"expr": "n / nope"}}, "42703"),  # no such metric
    ({"n": "count", "x": {"expr": "N + 1"}}, "42703"),     # names are exact
    ({"n": "count", "x": {"expr": "price"}}, "42703"),     # a column is not a metric
    ({"n": "count", "x": {"expr": "x + n"}}, "22023"),     # itself
    ({"n": "count", "x": {"expr": "y + n"}, "y": {"expr": "x * 2"}}, "22023"),  # a circle
    ({"n": "count", "x": {"expr": "y"}, "y": {"expr": "z"}, "z": {"expr": "x"}}, "22023"),
    ({"n": "count", "x": {"expr": 3}}, "22023"),
    ({"n": "count", "x": {"expr": ""}}, "22023"),
    ({"n": "count", "x": {"expr": "n +"}}, "22023"),
    ({"n": "count", "x": {"expr": "(n"}}, "22023"),
    ({"n": "count", "x": {"expr": "n; select 1"}}, "22023"),
    ({"n": "count", "x": {"expr": "pg_sleep(n)"}}, "22023"),  # not an allowed function
    ({"n": "count", "x": {"expr": "upper(n)"}}, "22023"),     # allowed, but not on a number
    ({"n": "count", "x": {"expr": "'a' || n"}}, "22023"),     # not a number
    ({"n": "count", "x": {"expr": "n + 'a'"}}, "22023"),
    ({"n": "count", "last": {"max": "name"}, "x": {"expr": "last + 1"}}, "22023"),  # not a number metric
    ({"n": "count", "d": {"percentile": ["starts", 0.5]}, "x": {"expr": "d"}}, "22023"),
    ({"n": "count", "x": {"expr": "n", "sum": "price"}}, "22023"),
    ({"x": {"expr": "1 + 1"}}, "22023"),                     # nothing to aggregate
], ids=str)
def test_metric_errors(ctx, cat, metrics, code):
    with raises(code):
        agg(ctx, {"group_by": ["status"], "metrics": metrics})


def test_having_of_an_unknown_expr_is_42703(ctx, cat):
    with raises("42703"):
        agg(ctx, {"metrics": {"n": "count", "r": {"expr": "n * 2"}}, "having": {"s": {"gt": 1}}})
    with raises("22023"):
        agg(ctx, {"metrics": {"n": "count", "r": {"expr": "n * 2"}}, "having": {"r": {"gt": "x"}}})


def test_metric_filters_count_against_the_limit(ctx, cat):
    conds = [{"qty": i} for i in range(300)]
    agg(ctx, {"metrics": {"a": {"count_if": {"_or": conds[:250]}}, "b": {"sum_if": ["qty", {"_or": conds[:250]}]}}})
    with raises("54000"):
        agg(ctx, {"metrics": {"a": {"count_if": {"_or": conds}}, "b": {"sum_if": ["qty", {"_or": conds[:201]}]}}})
    with raises("54000"):
        agg(ctx, {"metrics": {"a": {"count_if": {"_or": conds}}}, "filters": {"_or": conds[:201]}})


def test_bad_metrics_change_nothing_and_bind_values(ctx, cat):
    before = one(ctx, f"select md5(string_agg(t::text, ',' order by id)) from {cat.schema}.products t")
    with raises("22023"):
        agg(ctx, {"metrics": {"n": "count", "x": {"expr": "n'); drop table products; --"}}})
    sql = one(ctx, "select o_sql from docpal_private.q_aggregate_statement("
              "(select pg_catalog.to_jsonb(c) from docpal_private.require_company() c), 'products', %s)",
              Jsonb({"metrics": {"x": {"count_if": {"name": "zebra-needle"}}, "p": {"percentile": ["qty", 0.375]}}}))
    assert "zebra-needle" not in sql and "0.375" not in sql  # bound, not spliced
    assert one(ctx, f"select md5(string_agg(t::text, ',' order by id)) from {cat.schema}.products t") == before


# --- permissions --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def members(shop):  # noqa: F811
    """name -> connection of a member holding these grants (one role each)."""
    o, company = shop.conn, shop.company
    grants = {
        "rows": {"products": {"row_filter": {"status": "active"}},
                 "categories": {"row_filter": {"parent_id": {"is_null": False}}}},
        "columns": {"products": {"columns": ["name", "price", "status", "category_id", "starts", "ends"]},
                    "categories": {"columns": ["parent_id"]}},
        "cells": {"products": {"columns": ["name", "qty", "status"], "row_filter": {"qty": {"gt": 10}}},
                  "categories": {}},
    }
    conns = {}
    for name, tables in grants.items():
        user = one(o, "select docpal.create_user(%s, %s)", f"agg-{name}-{company['slug']}@example.com", name)
        o.execute("select docpal.add_member(%s, %s, 'member')", (company["id"], user))
        role = f"agg_{name}"
        o.execute("select docpal.create_role(%s)", (role,))
        for slug, spec in tables.items():
            o.execute("select docpal.grant_permission(%s, %s, array['read'], %s)", (role, slug, Jsonb(spec)))
        o.execute("select docpal.assign_role(%s, %s)", (user, role))
        if name == "cells":  # a second role: every product, but only name and status
            o.execute("select docpal.create_role('agg_cells_all')")
            o.execute("select docpal.grant_permission('agg_cells_all', 'products', array['read'], %s)",
                      (Jsonb({"columns": ["name", "status"]}),))
            o.execute("select docpal.assign_role(%s, 'agg_cells_all')", (user,))
        conns[name] = set_context(psycopg.connect(shop.url, autocommit=True), company, user)
    yield conns
    for conn in conns.values():
        conn.close()


def test_member_row_filter_applies_to_metric_filters(shop, members):  # noqa: F811
    ctx, cat = shop.conn, shop.cat
    res = agg(members["rows"], {"metrics": {"n": "count", "big": {"count_if": {"qty": {"gt": 10}}},
                                            "v": {"sum_if": ["price", {"qty": {"gt": 10}}]},
                                            "rate": {"expr": "big / n"}}})
    active = [r for r in rows(ctx, cat) if r["status"] == "active"]
    big = [r for r in active if r["qty"] is not None and r["qty"] > 10]
    assert res[0]["n"] == len(active) and res[0]["big"] == len(big)
    assert num(res[0]["v"]) == sum(r["price"] for r in big if r["price"] is not None)
    assert close(res[0]["rate"], Decimal(len(big)) / len(active))


@pytest.mark.parametrize("metrics", [
    {"x": {"count_if": {"qty": {"gt": 1}}}},
    {"x": {"count_if": {"_or": [{"name": "a"}, {"metadata.color": "red"}]}}},
    {"x": {"count_if": {"_not": {"category_id.name": "Phones"}}}},   # a column of categories the member may not read
    {"x": {"sum_if": ["qty", {}]}},
    {"x": {"sum_if": ["price", {"qty": 1}]}},
    {"x": {"percentile": ["qty", 0.5]}},
    {"n": "count", "x": {"count_if": {"qty": 1}}, "r": {"expr": "x / n"}},
], ids=str)
def test_member_metric_over_an_unreadable_column_is_42501(shop, members, metrics):  # noqa: F811
    with raises("42501"):
        agg(members["columns"], {"metrics": metrics})


def test_member_cell_masks_apply_inside_metric_filters(shop, members):  # noqa: F811
    """qty is readable only on rows with qty > 10: elsewhere it is null, also inside count_if."""
    ctx, cat = shop.conn, shop.cat
    res = agg(members["cells"], {"metrics": {"n": "count", "small": {"count_if": {"qty": {"lte": 10}}},
                                             "known": {"count_if": {"qty": {"is_null": False}}},
                                             "q": {"sum_if": ["qty", {"status": "active"}]}}})
    data = rows(ctx, cat)
    readable = [r for r in data if r["qty"] is not None and r["qty"] > 10]
    assert res == [{"n": len(data), "small": 0, "known": len(readable),
                    "q": sum(r["qty"] for r in readable if r["status"] == "active")}]


# --- query_calendar -----------------------------------------------------------------------------------

EVENTS_SPEC = table(
    "events",
    {"name": "title", "type": "text", "required": True, "searchable": True},
    {"name": "day", "type": "date", "indexed": True},
    {"name": "day_end", "type": "date"},
    {"name": "at", "type": "datetime", "indexed": True},
    {"name": "at_end", "type": "datetime"},
    {"name": "color", "type": "color"},
    {"name": "kind", "type": "select", "options": ["work", "home"]},
    {"name": "category_id", "type": "relation", "target": "categories", "on_delete": "set_null"},
)

#: title, day, day_end, at, at_end, kind; the range asked is March 2026 (dates) or
#: 2026-03-01T00:00Z .. 2026-03-31T23:00Z (datetimes)
EVENTS = [
    ("ends before", "2026-02-20", "2026-02-28", "2026-02-20T10:00:00Z", "2026-02-28T23:59:59Z", "work"),
    ("ends at from", "2026-02-20", "2026-03-01", "2026-02-20T10:00:00Z", "2026-03-01T00:00:00Z", "work"),
    ("starts at to", "2026-03-31", "2026-04-05", "2026-03-31T23:00:00Z", "2026-04-05T00:00:00Z", "home"),
    ("starts after", "2026-04-01", "2026-04-02", "2026-03-31T23:00:01Z", "2026-04-02T00:00:00Z", "home"),
    ("spans", "2026-02-01", "2026-04-30", "2026-02-01T00:00:00Z", "2026-04-30T00:00:00Z", "work"),
    ("open inside", "2026-03-10", None, "2026-03-10T08:00:00Z", None, "work"),
    ("open before", "2026-02-27", None, "2026-02-27T08:00:00Z", None, "home"),
    ("no start", None, None, None, None, "home"),
    ("no start, an end", None, "2026-03-15", None, "2026-03-15T00:00:00Z", "work"),
    ("inside", "2026-03-15", "2026-03-16", "2026-03-15T09:00:00Z", "2026-03-15T10:00:00Z", "home"),
    ("same day a", "2026-03-05", "2026-03-05", "2026-03-05T12:00:00Z", "2026-03-05T12:00:00Z", "work"),
    ("same day b", "2026-03-05", "2026-03-20", "2026-03-05T12:00:00Z", "2026-03-20T12:00:00Z", "home"),
    ("same day c", "2026-03-05", None, "2026-03-05T12:00:00Z", None, "work"),
    ("long ago, long", "2025-01-01", "2026-03-02", "2025-01-01T00:00:00Z", "2026-03-02T00:00:00Z", "work"),
]
DATE_RANGE = ("2026-03-01", "2026-03-31")
TIME_RANGE = ("2026-03-01T00:00:00Z", "2026-03-31T23:00:00Z")


@pytest.fixture(scope="module")
def events(shop):  # noqa: F811
    """The events table in the module's shop: title -> record."""
    o = shop.conn
    fn(o, "create_table", EVENTS_SPEC)
    colors = ["#ff0000", "#00ff00", None]
    data = [{"title": t, "day": d, "day_end": de, "at": a, "at_end": ae, "kind": k, "color": colors[i % 3],
             "category_id": shop.cat.cats["phones" if i % 2 else "home"]["id"]}
            for i, (t, d, de, a, ae, k) in enumerate(EVENTS)]
    return {r["title"]: r for r in fn(o, "create_records", "events", data)}


def parse(value):
    if value is None:
        return None
    if len(value) == 10:
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def as_type(value, like):
    """value (a date or datetime) as the type of `like`, as PostgreSQL casts it: a datetime to a date
    keeps its day (in UTC, the test cluster's time zone), a date is midnight (UTC)."""
    if isinstance(like, dt.datetime):
        return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time(), dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).date() if isinstance(value, dt.datetime) else value


def expected_events(events, start, end, lo, hi, where=lambda r: True):
    """(id, title) of the events overlapping [lo, hi], by start then id: the contract's rule in Python
    (start <= to, as start's type; coalesce(end, start) >= from, as a datetime unless both are dates)."""
    lo, hi = parse(lo), parse(hi)
    out = []
    for r in events.values():
        s = parse(r[start])
        e = parse(r[end]) if end else None
        if s is None or not where(r):
            continue
        last = e if e is not None else s
        if end and (isinstance(s, dt.datetime) or isinstance(parse(r[end] or r[start]), dt.datetime)
                    or isinstance(e, dt.datetime)):
            last = as_type(last, dt.datetime.now())
        if isinstance(s, dt.datetime) and not isinstance(hi, dt.datetime):
            in_range = s < as_type(hi + dt.timedelta(days=1), s)  # a day as to: the whole day
        else:
            in_range = s <= as_type(hi, s)
        if in_range and last >= as_type(lo, last):
            out.append((s, uuid.UUID(r["id"]), r["title"]))
    return [(str(i), t) for _, i, t in sorted(out)]


def calendar(ctx, spec):
    return fn(ctx, "query_calendar", "events", spec)["events"]


@pytest.mark.parametrize("start,end,rng", [
    ("day", "day_end", DATE_RANGE), ("day", None, DATE_RANGE),
    ("at", "at_end", TIME_RANGE), ("at", None, TIME_RANGE),
    ("day", "at_end", TIME_RANGE), ("at", "day_end", DATE_RANGE),
], ids=str)
def test_calendar_overlap(shop, events, start, end, rng):  # noqa: F811
    spec = {"start": start, "label": "title", "from": rng[0], "to": rng[1], **({"end": end} if end else {})}
    got = calendar(shop.conn, spec)
    assert [(e["id"], e["label"]) for e in got] == expected_events(events, start, end, *rng)
    titles = {e["label"] for e in got}
    assert "no start" not in titles and "ends before" not in titles
    # a day as to on a datetime start is the whole day: 23:00:01 on the 31st is in it
    assert ("starts after" in titles) == (start == "at" and rng == DATE_RANGE)
    if end:
        assert {"ends at from", "starts at to", "spans", "open inside", "long ago, long"} <= titles
        assert "open before" not in titles  # no end: only its start counts
    else:
        assert "spans" not in titles and "open inside" in titles
    for e in got:
        r = events[e["label"]]
        assert e == {"id": r["id"], "label": r["title"], "start": r[start], "end": r[end] if end else None,
                     "color": None}


def test_calendar_color_label_paths_filters_search(shop, events):  # noqa: F811
    base = {"start": "day", "end": "day_end", "label": "category_id.name", "color": "color",
            "from": DATE_RANGE[0], "to": DATE_RANGE[1]}
    got = calendar(shop.conn, base)
    names = {shop.cat.cats[k]["id"]: n for k, n in (("phones", "Phones"), ("home", "Home"))}
    by_id = {r["id"]: r for r in events.values()}
    assert got and all(e["label"] == names[by_id[e["id"]]["category_id"]] for e in got)
    assert all(e["color"] == by_id[e["id"]]["color"] for e in got)
    assert any(e["color"] for e in got) and any(e["color"] is None for e in got)
    got = calendar(shop.conn, {**base, "label": "title", "filters": {"kind": "work"}})
    assert [(e["id"], e["label"]) for e in got] == expected_events(events, "day", "day_end", *DATE_RANGE,
                                                                   where=lambda r: r["kind"] == "work")
    got = calendar(shop.conn, {**base, "label": "title", "search": "same"})
    assert [e["label"] for e in got] == [t for _, t in expected_events(events, "day", "day_end", *DATE_RANGE)
                                         if t.startswith("same")]
    assert len(got) == 3


def test_calendar_limit_and_order(shop, events):  # noqa: F811
    spec = {"start": "at", "end": "at_end", "label": "title", "from": TIME_RANGE[0], "to": TIME_RANGE[1]}
    every = calendar(shop.conn, spec)
    assert len(every) == len(expected_events(events, "at", "at_end", *TIME_RANGE)) > 3
    assert calendar(shop.conn, {**spec, "limit": 3}) == every[:3]
    same = [e["id"] for e in every if e["start"] == "2026-03-05T12:00:00+00:00"]
    assert len(same) == 3 and same == sorted(same, key=uuid.UUID)  # ties by id


def test_calendar_max_days_bounds_the_lookback(shop, events):  # noqa: F811
    """max_days is the caller's promise that no event is longer: events that start before from - max_days
    are not looked at, so that an index on start serves the whole condition."""
    spec = {"start": "day", "end": "day_end", "label": "title", "from": DATE_RANGE[0], "to": DATE_RANGE[1]}
    every = [e["label"] for e in calendar(shop.conn, spec)]
    assert [e["label"] for e in calendar(shop.conn, {**spec, "max_days": 500})] == every
    bounded = [e["label"] for e in calendar(shop.conn, {**spec, "max_days": 30})]
    assert bounded == [t for t in every if t != "long ago, long"]  # it starts over 30 days before from
    assert "spans" in bounded  # 28 days before
    assert "ends at from" in bounded
    spec = {"start": "at", "end": "at_end", "label": "title", "from": TIME_RANGE[0], "to": TIME_RANGE[1]}
    assert [e["label"] for e in calendar(shop.conn, {**spec, "max_days": 0})] == [
        t for _, t in expected_events(events, "at", "at_end", *TIME_RANGE) if events[t]["at"] >= TIME_RANGE[0][:10]]


def test_calendar_plan_uses_the_start_index_as_a_range(shop, events):  # noqa: F811
    ctx = shop.conn
    caller = one(ctx, "select pg_catalog.to_jsonb(c) from docpal_private.require_company() c")
    for spec in ({"start": "day", "label": "title", "from": "2026-03-01", "to": "2026-03-31"},
                 {"start": "at", "end": "at_end", "label": "title", "from": TIME_RANGE[0], "to": TIME_RANGE[1],
                  "max_days": 7}):
        sql, params = ctx.execute("select o_sql, o_params from docpal_private.q_calendar_statement(%s, 'events', %s)",
                                  (Jsonb(caller), Jsonb(spec))).fetchone()
        ctx.execute("set enable_seqscan = off")
        try:
            ctx.execute(f"prepare cal (jsonb) as {sql}")
            plan = "\n".join(r[0] for r in psycopg.ClientCursor(ctx).execute("explain execute cal (%s)",
                                                                               (Jsonb(params),)).fetchall())
            ctx.execute("deallocate cal")
        finally:
            ctx.execute("reset enable_seqscan")
        cond = next(line for line in plan.splitlines() if "Index Cond" in line)
        # both bounds of start in the index condition: one range, not a scan of everything before to
        assert re.search(rf"\b{spec['start']} >= ", cond) and re.search(rf"\b{spec['start']} <= ", cond), plan


@pytest.mark.parametrize("patch,code", [
    ({"start": None}, "22023"),
    ({"label": None}, "22023"),
    ({"from": None}, "22023"),
    ({"to": None}, "22023"),
    ({"from": 20260301}, "22023"),
    ({"from": "yesterday"}, "22007"),
    ({"from": "today"}, "22007"),
    ({"to": "2026/03/31"}, "22007"),
    ({"to": "31.03.2026"}, "22007"),
    ({"from": "2026-13-01"}, "22008"),
    ({"to": "2026-02-30"}, "22008"),
    ({"from": "2026-03-01T25:00:00Z"}, "22008"),
    ({"from": "2026-04-01"}, "22023"),          # after to
    ({"start": "title"}, "22023"),              # no date
    ({"end": "kind"}, "22023"),
    ({"start": "nope"}, "42703"),
    ({"end": "nope"}, "42703"),
    ({"label": "nope"}, "42703"),
    ({"color": "category_id.nope"}, "42703"),
    ({"color": 1}, "22023"),
    ({"columns": ["title"]}, "22023"),
    ({"sort": ["title"]}, "22023"),
    ({"offset": 1}, "22023"),
    ({"count": "exact"}, "22023"),
    ({"group_by": "kind"}, "22023"),
    ({"limit": 1001}, "22023"),
    ({"limit": 0}, "22023"),
    ({"max_days": -1}, "22023"),
    ({"max_days": 1.5}, "22023"),
    ({"max_days": "7"}, "22023"),
    ({"end": None, "max_days": 7}, "22023"),     # nothing to bound
    ({"filters": {"nope": 1}}, "42703"),
    ({"search": 3}, "22023"),
], ids=str)
def test_calendar_errors(shop, events, patch, code):  # noqa: F811
    spec = {"start": "day", "end": "day_end", "label": "title", "from": DATE_RANGE[0], "to": DATE_RANGE[1]}
    spec = {k: v for k, v in {**spec, **patch}.items() if v is not None}
    with raises(code):
        calendar(shop.conn, spec)


def test_calendar_member_permissions(shop, events):  # noqa: F811
    o, company = shop.conn, shop.company
    user = one(o, "select docpal.create_user(%s, 'cal')", f"cal-{company['slug']}@example.com")
    o.execute("select docpal.add_member(%s, %s, 'member')", (company["id"], user))
    o.execute("select docpal.create_role('cal_work')")
    o.execute("select docpal.grant_permission('cal_work', 'events', array['read'], %s)",
              (Jsonb({"columns": ["title", "day", "day_end", "kind"], "row_filter": {"kind": "work"}}),))
    o.execute("select docpal.assign_role(%s, 'cal_work')", (user,))
    with psycopg.connect(shop.url, autocommit=True) as conn:
        set_context(conn, company, user)
        spec = {"start": "day", "end": "day_end", "label": "title", "from": DATE_RANGE[0], "to": DATE_RANGE[1]}
        got = calendar(conn, spec)
        assert [(e["id"], e["label"]) for e in got] == expected_events(events, "day", "day_end", *DATE_RANGE,
                                                                       where=lambda r: r["kind"] == "work")
        for patch in ({"color": "color"}, {"start": "at"}, {"end": "at_end"}, {"label": "category_id.name"},
                      {"filters": {"color": "#ff0000"}}):
            with raises("42501"):
                calendar(conn, {**spec, **patch})


# --- kanban lane labels ------------------------------------------------------------------------------

def kanban(ctx, spec):
    return fn(ctx, "query_kanban", "products", spec)["groups"]


def test_lane_label_of_a_relation(ctx, cat):
    res = kanban(ctx, {"group_by": "category_id", "lane_label": "name", "columns": ["name"], "limit_per_group": 1})
    names = {c["id"]: c["name"] for c in cat.cats.values()}
    assert [g["value"] for g in res if g["value"]] == sorted((g["value"] for g in res if g["value"]), key=uuid.UUID)
    assert res[-1]["value"] is None and res[-1]["label"] is None
    for g in res:
        assert set(g) == {"value", "label", "count", "rows"}
        if g["value"]:
            assert g["label"] == names[g["value"]]
    counts = {cid: n for cid, n in sql_rows(ctx, cat.schema, "p.category_id::text, count(*)", "group by 1")}
    assert {g["value"]: g["count"] for g in res} == counts


def test_lane_label_through_a_relation_of_the_target(ctx, cat):
    res = kanban(ctx, {"group_by": "category_id", "lane_label": "parent_id.name", "columns": ["name"]})
    parents = dict(sql_rows(ctx, cat.schema, "distinct c.id::text, c2.name", "where c.id is not null"))
    assert {g["value"]: g["label"] for g in res if g["value"]} == parents
    assert any(label is None for label in parents.values())  # a top category: no parent


def test_without_lane_label_lanes_have_no_label(ctx, cat):
    assert all(set(g) == {"value", "count", "rows"} for g in kanban(ctx, {"group_by": "category_id"}))


@pytest.mark.parametrize("spec,code", [
    ({"group_by": "status", "lane_label": "name"}, "22023"),  # select lanes have their option as label
    ({"group_by": "category_id", "lane_label": 3}, "22023"),
    ({"group_by": "category_id", "lane_label": ["name"]}, "22023"),
    ({"group_by": "category_id", "lane_label": "nope"}, "42703"),
    ({"group_by": "category_id", "lane_label": "parent_id.nope"}, "42703"),
    ({"group_by": "category_id", "lane_label": ""}, "42703"),
], ids=str)
def test_lane_label_errors(ctx, cat, spec, code):
    with raises(code):
        kanban(ctx, spec)


def test_lane_label_member_permissions(shop, members):  # noqa: F811
    ctx, cat = shop.conn, shop.cat
    # the target's row filter: categories without a parent are unreadable, their lanes have a null label
    res = kanban(members["rows"], {"group_by": "category_id", "lane_label": "name", "columns": ["name"]})
    names = {c["id"]: (c["name"] if c["parent_id"] else None) for c in cat.cats.values()}
    active = dict(sql_rows(ctx, cat.schema, "p.category_id::text, count(*)", "where p.status = 'active' group by 1"))
    assert {g["value"]: g["count"] for g in res} == active
    assert {g["value"]: g["label"] for g in res} == {v: names.get(v) for v in active}
    assert any(g["value"] and g["label"] is None for g in res) and any(g["label"] for g in res)
    # a label column the member may not read on the target is 42501
    with raises("42501"):
        kanban(members["columns"], {"group_by": "category_id", "lane_label": "name"})
    res = kanban(members["columns"], {"group_by": "category_id", "lane_label": "parent_id", "columns": ["name"]})
    parents = {c["id"]: c["parent_id"] for c in cat.cats.values()}
    assert all(g["label"] == parents.get(g["value"]) for g in res)


def test_calendar_days_are_the_companys_not_the_sessions(shop):  # noqa: F811
    """A day as from/to (and a time without a zone) is read in the company's time zone
    (settings.time_zone), whatever the session's TimeZone says."""
    o = shop.conn
    fn(o, "create_table", {"slug": "tz_events", "name": "TZ events", "columns": [
        {"name": "title", "type": "text"}, {"name": "at", "type": "datetime"}]})
    # 10:30Z on March 1st is 00:30 on March 2nd at Kiritimati (UTC+14); 09:30Z is 23:30 on March 1st
    fn(o, "create_records", "tz_events", [{"title": "after midnight", "at": "2026-03-01T10:30:00Z"},
                                          {"title": "before midnight", "at": "2026-03-01T09:30:00Z"}])

    def titles(spec):
        return [e["label"] for e in fn(o, "query_calendar", "tz_events", {"start": "at", "label": "title", **spec})["events"]]

    try:
        o.execute("set time zone 'America/Los_Angeles'")
        assert titles({"from": "2026-03-01", "to": "2026-03-01"}) == ["before midnight", "after midnight"]
        o.execute("select docpal.update_company(%s, %s)",
                  (shop.company["id"], Jsonb({"settings": {"time_zone": "Pacific/Kiritimati"}})))
        assert titles({"from": "2026-03-02", "to": "2026-03-02"}) == ["after midnight"]
        assert titles({"from": "2026-03-01", "to": "2026-03-01"}) == ["before midnight"]
        assert titles({"from": "2026-03-02T00:00:00", "to": "2026-03-02T01:00:00"}) == ["after midnight"]
        # a zone named in the bound is that zone's
        assert titles({"from": "2026-03-01T10:00:00Z", "to": "2026-03-01T11:00:00Z"}) == ["after midnight"]
    finally:
        o.execute("select docpal.update_company(%s, %s)", (shop.company["id"], Jsonb({"settings": {}})))
        o.execute("reset time zone")
