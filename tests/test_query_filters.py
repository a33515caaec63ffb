"""query_table: filters, search, sort, paging, total, columns and errors
(contract section 4, docs/reference.md "Queries").

Every expected result is computed without docpal: a hand-written SQL condition
over `<schema>.products p`, its category `c` and the category's parent `c2`
(see test_query_data.FROM_PRODUCTS), or Python over the records we inserted.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

from test_query_data import (cat, ctx, shared,  # noqa: F401 (fixtures)
                             CATEGORIES, FROM_PRODUCTS, fn, ids, q, raises, shop, sql_ids,  # noqa: F401
                             sql_rows, writes)


def check_all(ctx, cat, cases):
    """check() every (id, filters, where[, nonempty]) case; report every case that fails, not just the first."""
    failures = []
    for case_id, filters, where, *nonempty in cases:
        try:
            check(ctx, cat, filters, where, nonempty=nonempty[0] if nonempty else True)
        except psycopg.Error as exc:
            failures.append(f"{case_id}: {filters} raised {exc.sqlstate}: {str(exc).splitlines()[0]}")
        except AssertionError as exc:
            failures.append(f"{case_id}: {filters}: {str(exc).splitlines()[0]}")
    assert not failures, f"{len(failures)} of {len(cases)} cases fail:\n" + "\n".join(failures)


def check(ctx, cat, filters, where, params=None, nonempty=True):
    """query_table with `filters` returns exactly the products matching the SQL `where`."""
    expected = sql_ids(ctx, cat.schema, where, params)
    if nonempty:  # the case must tell a right implementation from a wrong one
        assert 0 < len(expected) < len(cat.products), f"degenerate case: {where} -> {len(expected)}"
    res = q(ctx, {"filters": filters, "columns": ["id"], "limit": 1000})
    assert len(res["rows"]) == len(expected), (filters, where)
    assert ids(res) == expected, (filters, where)
    assert res["total"] == len(expected)
    return expected


# --- operators on plain columns ---------------------------------------------------------

PLAIN = [
    ("eq-int", {"qty": {"eq": 5}}, "p.qty = 5"),
    ("eq-text", {"name": {"eq": "Alpha phone"}}, "p.name = 'Alpha phone'"),
    ("eq-decimal", {"price": {"eq": 10}}, "p.price = 10"),
    ("eq-decimal-fraction", {"price": {"eq": 299.5}}, "p.price = 299.50"),
    ("eq-select", {"status": {"eq": "archived"}}, "p.status = 'archived'"),
    ("eq-date", {"starts": {"eq": "2026-01-10"}}, "p.starts = date '2026-01-10'"),
    ("neq-select", {"status": {"neq": "active"}}, "p.status <> 'active'"),
    ("neq-int", {"qty": {"neq": 0}}, "p.qty <> 0"),
    ("neq-text", {"note": {"neq": ""}}, "p.note <> ''"),
    ("gt-decimal", {"price": {"gt": 100}}, "p.price > 100"),
    ("gt-decimal-fraction", {"price": {"gt": 10.005}}, "p.price > 10.005"),
    ("gt-text", {"name": {"gt": "M"}}, "p.name > 'M'"),
    ("gte-int", {"qty": {"gte": 50}}, "p.qty >= 50"),
    ("gte-date", {"ends": {"gte": "2026-02-01"}}, "p.ends >= date '2026-02-01'"),
    ("lt-decimal", {"price": {"lt": 10}}, "p.price < 10"),
    ("lt-int-negative", {"qty": {"lt": 1}}, "p.qty < 1"),
    ("lt-date", {"starts": {"lt": "2026-01-12"}}, "p.starts < date '2026-01-12'"),
    ("lte-int", {"qty": {"lte": 0}}, "p.qty <= 0"),
    ("lte-text", {"name": {"lte": "Delta laptop"}}, "p.name <= 'Delta laptop'"),
    ("in-select", {"status": {"in": ["draft", "archived"]}}, "p.status in ('draft', 'archived')"),
    ("in-int", {"qty": {"in": [0, 5, 7]}}, "p.qty in (0, 5, 7)"),
    ("in-text", {"name": {"in": ["Alpha phone", "Zeta pan", "nope"]}}, "p.name in ('Alpha phone', 'Zeta pan')"),
    ("in-decimal", {"price": {"in": [10, 19.99]}}, "p.price in (10, 19.99)"),
    ("nin-select", {"status": {"nin": ["active"]}}, "p.status <> all (array['active'])"),
    ("nin-int", {"qty": {"nin": [0, 5]}}, "p.qty <> all (array[0, 5])"),
    ("between-decimal", {"price": {"between": [10, 50]}}, "p.price between 10 and 50"),
    ("between-int", {"qty": {"between": [0, 10]}}, "p.qty between 0 and 10"),
    ("between-date", {"starts": {"between": ["2026-01-05", "2026-01-15"]}},
     "p.starts between date '2026-01-05' and date '2026-01-15'"),
    ("like", {"name": {"like": "%phone%"}}, "p.name like '%phone%'"),
    ("like-underscore", {"name": {"like": "_eta%"}}, "p.name like '_eta%'"),
    ("like-case", {"name": {"like": "%Phone%"}}, "p.name like '%Phone%'", False),
    ("ilike", {"name": {"ilike": "%PHONE%"}}, "p.name ilike '%PHONE%'"),
    ("ilike-note", {"note": {"ilike": "widget%"}}, "p.note ilike 'widget%'"),
    ("contains-text", {"name": {"contains": "phone"}}, "strpos(p.name, 'phone') > 0"),
    ("contains-case-sensitive", {"note": {"contains": "Widget"}}, "strpos(p.note, 'Widget') > 0"),
    ("contains-percent-literal", {"name": {"contains": "50%"}}, "strpos(p.name, '50%') > 0"),
    ("contains-underscore-literal", {"name": {"contains": "_"}}, "strpos(p.name, '_') > 0"),
    ("icontains", {"name": {"icontains": "PHONE"}}, "strpos(lower(p.name), 'phone') > 0"),
    ("icontains-note", {"note": {"icontains": "WIDGET"}}, "strpos(lower(p.note), 'widget') > 0"),
    ("icontains-percent-literal", {"name": {"icontains": "% OFF"}}, "strpos(lower(p.name), '% off') > 0"),
    ("starts_with", {"name": {"starts_with": "Alpha"}}, "left(p.name, 5) = 'Alpha'"),
    ("starts_with-percent-literal", {"name": {"starts_with": "50%"}}, "left(p.name, 3) = '50%'"),
    ("starts_with-case", {"name": {"starts_with": "alpha"}}, "left(p.name, 5) = 'alpha'", False),
    ("ends_with", {"name": {"ends_with": "widget"}}, "right(p.name, 6) = 'widget'"),
    ("ends_with-note", {"note": {"ends_with": "pan"}}, "right(p.note, 3) = 'pan'"),
    ("is_null-decimal", {"price": {"is_null": True}}, "p.price is null"),
    ("is_not_null-decimal", {"price": {"is_null": False}}, "p.price is not null"),
    ("is_null-text", {"note": {"is_null": True}}, "p.note is null"),
    ("is_null-multi", {"tags": {"is_null": True}}, "p.tags is null"),
    ("is_null-select", {"status": {"is_null": True}}, "p.status is null"),
    ("is_null-date", {"starts": {"is_null": False}}, "p.starts is not null"),
    ("is_empty-text", {"note": {"is_empty": True}}, "p.note is null or p.note = ''"),
    ("is_not_empty-text", {"note": {"is_empty": False}}, "p.note <> ''"),
    ("is_empty-required-text", {"name": {"is_empty": True}}, "p.name = ''"),
    ("is_empty-multi", {"tags": {"is_empty": True}}, "coalesce(cardinality(p.tags), 0) = 0"),
    ("is_not_empty-multi", {"tags": {"is_empty": False}}, "cardinality(p.tags) > 0"),
    ("is_empty-json", {"metadata": {"is_empty": True}},
     "p.metadata is null or p.metadata in ('{}'::jsonb, '[]'::jsonb)"),
    ("is_not_empty-json", {"metadata": {"is_empty": False}},
     "p.metadata is not null and p.metadata not in ('{}'::jsonb, '[]'::jsonb)"),
    ("is_empty-int", {"qty": {"is_empty": True}}, "p.qty is null"),
    ("has_any", {"tags": {"has_any": ["sale", "eco"]}}, "p.tags && array['sale', 'eco']"),
    ("has_any-one", {"tags": {"has_any": ["eco"]}}, "p.tags && array['eco']"),
    ("has_all", {"tags": {"has_all": ["new", "sale"]}}, "p.tags @> array['new', 'sale']"),
    ("has_all-three", {"tags": {"has_all": ["new", "sale", "eco"]}}, "p.tags @> array['new', 'sale', 'eco']"),
    ("contains-multi-one", {"tags": {"contains": "eco"}}, "p.tags @> array['eco']"),
    ("contains-multi-array", {"tags": {"contains": ["new", "eco"]}}, "p.tags @> array['new', 'eco']"),
    ("contains-json", {"metadata": {"contains": {"color": "red"}}}, """p.metadata @> '{"color": "red"}'"""),
    ("contains-json-nested", {"metadata": {"contains": {"size": {"w": 10}}}},
     """p.metadata @> '{"size": {"w": 10}}'"""),
    ("contains-json-array", {"metadata": {"contains": {"labels": ["pan"]}}},
     """p.metadata @> '{"labels": ["pan"]}'"""),
    ("several-operators-and", {"qty": {"gt": 0, "lte": 20}}, "p.qty > 0 and p.qty <= 20"),
]


def test_operators_on_plain_columns(ctx, cat):
    check_all(ctx, cat, PLAIN)


# --- operators on relation paths ------------------------------------------------------------

def relation_cases(path, col):
    return [
        (f"{path}-eq", {path: {"eq": "Phones" if "parent" in path else "Laptops"}},
         f"{col} = '{'Phones' if 'parent' in path else 'Laptops'}'"),
        (f"{path}-neq", {path: {"neq": "Kitchen"}}, f"{col} <> 'Kitchen'"),
        (f"{path}-gt", {path: {"gt": "G"}}, f"{col} > 'G'"),
        (f"{path}-gte", {path: {"gte": "Kitchen"}}, f"{col} >= 'Kitchen'"),
        (f"{path}-lt", {path: {"lt": "H"}}, f"{col} < 'H'"),
        (f"{path}-lte", {path: {"lte": "Home"}}, f"{col} <= 'Home'"),
        (f"{path}-in", {path: {"in": ["Kitchen", "Phones", "Cookware"]}},
         f"{col} in ('Kitchen', 'Phones', 'Cookware')"),
        (f"{path}-nin", {path: {"nin": ["Kitchen", "Electronics"]}}, f"{col} <> all (array['Kitchen', 'Electronics'])"),
        (f"{path}-between", {path: {"between": ["C", "I"]}}, f"{col} between 'C' and 'I'"),
        (f"{path}-like", {path: {"like": "%e%"}}, f"{col} like '%e%'"),
        (f"{path}-ilike", {path: {"ilike": "%O%"}}, f"{col} ilike '%O%'"),
        (f"{path}-contains", {path: {"contains": "on"}}, f"strpos({col}, 'on') > 0"),
        (f"{path}-icontains", {path: {"icontains": "PHONE"}}, f"strpos(lower({col}), 'phone') > 0"),
        (f"{path}-starts_with", {path: {"starts_with": "K"}}, f"left({col}, 1) = 'K'"),
        (f"{path}-ends_with", {path: {"ends_with": "s"}}, f"right({col}, 1) = 's'"),
        (f"{path}-is_null", {path: {"is_null": True}}, f"{col} is null"),
        (f"{path}-is_not_null", {path: {"is_null": False}}, f"{col} is not null"),
        (f"{path}-is_empty", {path: {"is_empty": True}}, f"{col} is null or {col} = ''"),
        (f"{path}-literal", {path: "Kitchen"}, f"{col} = 'Kitchen'"),
        (f"{path}-null-literal", {path: None}, f"{col} is null"),
    ]


RELATION = relation_cases("category_id.name", "c.name") + relation_cases("category_id.parent_id.name", "c2.name")


def test_operators_on_relation_paths(ctx, cat):
    check_all(ctx, cat, RELATION)


def test_relation_column_by_id(ctx, cat):
    laptops, kitchen = cat.cats["laptops"]["id"], cat.cats["kitchen"]["id"]
    check(ctx, cat, {"category_id": laptops}, "p.category_id = %s::uuid", (laptops,))
    check(ctx, cat, {"category_id": {"in": [laptops, kitchen]}}, "p.category_id = any (%s::uuid[])",
          ([laptops, kitchen],))
    check(ctx, cat, {"category_id": {"neq": laptops}}, "p.category_id <> %s::uuid", (laptops,))
    check(ctx, cat, {"category_id.parent_id": cat.cats["elec"]["id"]}, "c.parent_id = %s::uuid",
          (cat.cats["elec"]["id"],))
    some = [cat.pid(0), cat.pid(5), cat.pid(9)]
    check(ctx, cat, {"id": {"in": some}}, "p.id = any (%s::uuid[])", (some,))


def test_relation_many_operators(ctx, cat):
    junction = f"{cat.schema}._products__related"
    links = f"array(select r.target_id from {junction} r where r.source_id = p.id)"
    a, b = cat.pid(1), cat.pid(12)
    check(ctx, cat, {"related": {"has_any": [a, b]}}, f"{links} && %s::uuid[]", ([a, b],))
    check(ctx, cat, {"related": {"has_all": [cat.pid(12), cat.pid(29)]}}, f"{links} @> %s::uuid[]",
          ([cat.pid(12), cat.pid(29)],))
    check(ctx, cat, {"related": {"contains": cat.pid(6)}}, f"{links} @> array[%s::uuid]", (cat.pid(6),))
    check(ctx, cat, {"related": {"is_empty": True}}, f"cardinality({links}) = 0")
    check(ctx, cat, {"related": {"is_empty": False}}, f"cardinality({links}) > 0")
    blockers = f"array(select r.target_id from {cat.schema}._products__blockers r where r.source_id = p.id)"
    check(ctx, cat, {"blockers": {"contains": [cat.pid(0), cat.pid(1)]}}, f"{blockers} @> %s::uuid[]",
          ([cat.pid(0), cat.pid(1)],))


# --- operators on json paths ----------------------------------------------------------------

W = "(p.metadata #>> '{size,w}')::numeric"
COLOR = "(p.metadata ->> 'color')"

JSON = [
    ("w-eq", {"metadata.size.w": {"eq": 10}}, f"{W} = 10"),
    ("w-eq-fraction", {"metadata.size.w": {"eq": 10.5}}, f"{W} = 10.5"),
    ("w-neq", {"metadata.size.w": {"neq": 10}}, f"{W} <> 10"),
    ("w-gt", {"metadata.size.w": {"gt": 10}}, f"{W} > 10"),  # numeric: '7' > '10' as text
    ("w-gt-fraction", {"metadata.size.w": {"gt": 2.4}}, f"{W} > 2.4"),
    ("w-gte", {"metadata.size.w": {"gte": 10}}, f"{W} >= 10"),
    ("w-lt", {"metadata.size.w": {"lt": 9}}, f"{W} < 9"),
    ("w-lt-zero", {"metadata.size.w": {"lt": 0}}, f"{W} < 0"),
    ("w-lte", {"metadata.size.w": {"lte": 7}}, f"{W} <= 7"),
    ("w-in", {"metadata.size.w": {"in": [7, 10]}}, f"{W} in (7, 10)"),
    ("w-nin", {"metadata.size.w": {"nin": [7, 10]}}, f"{W} <> all (array[7, 10])"),
    ("w-between", {"metadata.size.w": {"between": [5, 25]}}, f"{W} between 5 and 25"),
    ("w-is_null", {"metadata.size.w": {"is_null": True}}, f"{W} is null"),
    ("w-is_not_null", {"metadata.size.w": {"is_null": False}}, f"{W} is not null"),
    ("w-literal", {"metadata.size.w": 10}, f"{W} = 10"),
    ("color-eq", {"metadata.color": {"eq": "red"}}, f"{COLOR} = 'red'"),
    ("color-neq", {"metadata.color": {"neq": "red"}}, f"{COLOR} <> 'red'"),
    ("color-gt", {"metadata.color": {"gt": "m"}}, f"{COLOR} > 'm'"),
    ("color-lt", {"metadata.color": {"lt": "c"}}, f"{COLOR} < 'c'"),
    ("color-in", {"metadata.color": {"in": ["red", "green"]}}, f"{COLOR} in ('red', 'green')"),
    ("color-nin", {"metadata.color": {"nin": ["black"]}}, f"{COLOR} <> all (array['black'])"),
    ("color-between", {"metadata.color": {"between": ["b", "g"]}}, f"{COLOR} between 'b' and 'g'"),
    ("color-like", {"metadata.color": {"like": "%e%"}}, f"{COLOR} like '%e%'"),
    ("color-ilike", {"metadata.color": {"ilike": "RED"}}, f"{COLOR} ilike 'RED'"),
    ("color-contains", {"metadata.color": {"contains": "re"}}, f"strpos({COLOR}, 're') > 0"),
    ("color-icontains", {"metadata.color": {"icontains": "RE"}}, f"strpos(lower({COLOR}), 're') > 0"),
    ("color-starts_with", {"metadata.color": {"starts_with": "b"}}, f"left({COLOR}, 1) = 'b'"),
    ("color-ends_with", {"metadata.color": {"ends_with": "e"}}, f"right({COLOR}, 1) = 'e'"),
    ("color-is_null", {"metadata.color": {"is_null": True}}, f"{COLOR} is null"),
    ("color-is_empty", {"metadata.color": {"is_empty": True}}, f"{COLOR} is null or {COLOR} = ''"),
    ("color-literal", {"metadata.color": "red"}, f"{COLOR} = 'red'"),
    ("color-null-literal", {"metadata.color": None}, f"{COLOR} is null"),
    ("size-contains", {"metadata.size": {"contains": {"w": 7}}}, """p.metadata -> 'size' @> '{"w": 7}'"""),
]


def test_operators_on_json_paths(ctx, cat):
    check_all(ctx, cat, JSON)


def test_json_number_compares_as_number_not_text(ctx, cat):
    got = check(ctx, cat, {"metadata.size.w": {"gt": 9}}, f"{W} > 9")
    assert cat.by_name("Alpha phone")["id"] not in got  # w = 7: '7' > '9' is false either way
    assert cat.by_name("Delta laptop")["id"] in got  # w = 30: as text '30' < '9'
    assert cat.by_name("Xi widget")["id"] in got  # w = 10: as text '10' < '9'


# --- null semantics, literals ---------------------------------------------------------------

def test_neq_and_nin_do_not_match_nulls(ctx, cat):
    mu = cat.by_name("Mu gadget")["id"]  # status null, price null
    epsilon = cat.by_name("Epsilon laptop")["id"]  # qty null
    assert mu not in ids(q(ctx, {"filters": {"status": {"neq": "active"}}, "limit": 1000}))
    assert mu not in ids(q(ctx, {"filters": {"status": {"nin": ["active", "draft"]}}, "limit": 1000}))
    assert mu not in ids(q(ctx, {"filters": {"price": {"neq": 1}}, "limit": 1000}))
    assert epsilon not in ids(q(ctx, {"filters": {"qty": {"nin": [1]}}, "limit": 1000}))
    archived = ids(q(ctx, {"filters": {"status": {"nin": ["active", "draft"]}}, "limit": 1000}))
    assert archived == {p["id"] for p in cat.products if p["status"] == "archived"}


LITERALS = [
    ("select", {"status": "active"}, "p.status = 'active'"),
    ("int", {"qty": 0}, "p.qty = 0"),
    ("decimal", {"price": 10}, "p.price = 10"),
    ("text", {"name": "Alpha phone"}, "p.name = 'Alpha phone'"),
    ("empty-text", {"note": ""}, "p.note = ''"),
    ("date", {"starts": "2026-01-05"}, "p.starts = date '2026-01-05'"),
    ("null-decimal", {"price": None}, "p.price is null"),
    ("null-select", {"status": None}, "p.status is null"),
    ("null-relation", {"category_id": None}, "p.category_id is null"),
    ("null-json", {"metadata": None}, "p.metadata is null"),
    ("keys-are-anded", {"status": "active", "price": {"gte": 10, "lt": 50}},
     "p.status = 'active' and p.price >= 10 and p.price < 50"),
    ("mixed-paths-anded", {"category_id.parent_id.name": "Home", "metadata.size.w": {"gt": 0}},
     f"c2.name = 'Home' and {W} > 0"),
]


def test_literal_is_equality_and_null_is_is_null(ctx, cat):
    check_all(ctx, cat, LITERALS)


def test_empty_filters_match_everything(ctx, cat):
    res = q(ctx, {"filters": {}, "columns": ["id"], "limit": 1000})
    assert ids(res) == cat.all_ids and res["total"] == 30


# --- _and, _or, _not ---------------------------------------------------------------------

LOGIC = [
    ("or", {"_or": [{"status": "archived"}, {"qty": {"gt": 50}}]}, "p.status = 'archived' or p.qty > 50"),
    ("and", {"_and": [{"price": {"gt": 10}}, {"price": {"lt": 100}}]}, "p.price > 10 and p.price < 100"),
    ("and-with-or", {"_and": [{"price": {"gt": 10}},
                              {"_or": [{"tags": {"has_any": ["eco"]}}, {"category_id.name": "Laptops"}]}]},
     "p.price > 10 and (p.tags && array['eco'] or c.name = 'Laptops')"),
    ("or-with-and", {"_or": [{"_and": [{"status": "draft"}, {"qty": {"lt": 5}}]},
                             {"_and": [{"status": "active"}, {"metadata.color": "black"}]}]},
     f"(p.status = 'draft' and p.qty < 5) or (p.status = 'active' and {COLOR} = 'black')"),
    ("not", {"_not": {"name": {"starts_with": "Alpha"}}}, "not (left(p.name, 5) = 'Alpha')"),
    ("not-is_null", {"_not": {"price": {"is_null": True}}}, "p.price is not null"),
    ("not-or", {"_not": {"_or": [{"status": {"is_null": True}}, {"status": "draft"}]}},
     "not (p.status is null or p.status = 'draft')"),
    ("not-and", {"_not": {"_and": [{"price": {"is_null": False}}, {"name": {"ends_with": "phone"}}]}},
     "not (p.price is not null and right(p.name, 5) = 'phone')"),
    ("not-not", {"_not": {"_not": {"status": {"is_null": False}}}}, "p.status is not null"),
    ("keys-with-logic", {"status": "active", "_or": [{"qty": {"lt": 5}}, {"qty": {"gt": 50}}],
                         "_not": {"name": {"contains": "phone"}}},
     "p.status = 'active' and (p.qty < 5 or p.qty > 50) and strpos(p.name, 'phone') = 0"),
    ("deep", {"_or": [{"_and": [{"_or": [{"category_id.parent_id.name": "Phones"},
                                         {"category_id.name": "Phones"}]},
                                {"price": {"lt": 300}}]},
                      {"metadata": {"contains": {"labels": ["kitchen"]}}}]},
     """((c2.name = 'Phones' or c.name = 'Phones') and p.price < 300) or p.metadata @> '{"labels": ["kitchen"]}'"""),
]


def test_logical_nesting(ctx, cat):
    check_all(ctx, cat, LOGIC)


# --- search -----------------------------------------------------------------------------

TSV = "to_tsvector('simple', coalesce(p.name, '') || ' ' || coalesce(p.note, ''))"


def test_search_is_full_text_over_searchable_columns(ctx, cat):
    for text in ["phone", "WIDGET", "flagship", "cast iron", "pan", "50% off", "heater"]:
        expected = sql_ids(ctx, cat.schema, f"{TSV} @@ plainto_tsquery('simple', %s)", (text,))
        assert expected and len(expected) < 30
        res = q(ctx, {"search": text, "columns": ["id"], "limit": 1000})
        assert ids(res) == expected and res["total"] == len(expected), text


def test_search_words_not_substrings(ctx, cat):
    got = ids(q(ctx, {"search": "phone", "limit": 1000}))
    assert cat.by_name("Rho case")["id"] in got  # note "phone case"
    assert cat.by_name("Alpha phone")["id"] in got
    assert cat.by_name("Pi charger")["id"] not in got  # its category "Phones" is not searched


def test_search_with_filters(ctx, cat):
    expected = sql_ids(ctx, cat.schema, f"{TSV} @@ plainto_tsquery('simple', 'widget') and p.status = 'active'")
    assert 0 < len(expected)
    res = q(ctx, {"search": "widget", "filters": {"status": "active"}, "columns": ["id"]})
    assert ids(res) == expected and res["total"] == len(expected)


def test_search_without_match(ctx, cat):
    res = q(ctx, {"search": "zzzqqq", "columns": ["id"]})
    assert res["rows"] == [] and res["total"] == 0


def test_search_needs_searchable_columns(ctx, cat):
    with raises("22023"):
        q(ctx, {"search": "phones"}, slug="categories")


# --- sort ---------------------------------------------------------------------------------

def column_values(res, *paths):
    return [tuple(r[p] for p in paths) for r in res["rows"]]


def test_sort_by_plain_column(ctx, cat):
    expected = [r[0] for r in sql_rows(ctx, cat.schema, "p.name", "order by p.name")]
    res = q(ctx, {"sort": ["name"], "columns": ["name"], "limit": 1000})
    assert [r["name"] for r in res["rows"]] == expected


def test_sort_descending(ctx, cat):
    expected = [r[0] for r in sql_rows(ctx, cat.schema, "p.price", "where p.price is not null order by p.price desc")]
    res = q(ctx, {"sort": ["-price"], "filters": {"price": {"is_null": False}}, "columns": ["price"], "limit": 1000})
    assert [r["price"] for r in res["rows"]] == expected
    assert expected[0] == Decimal("1299.00")


def test_sort_by_several_paths(ctx, cat):
    expected = sql_rows(ctx, cat.schema, "p.status, p.qty, p.name",
                        "where p.status is not null and p.qty is not null order by p.status, p.qty desc, p.name")
    res = q(ctx, {"sort": ["status", "-qty", "name"], "columns": ["status", "qty", "name"], "limit": 1000,
                  "filters": {"status": {"is_null": False}, "qty": {"is_null": False}}})
    assert column_values(res, "status", "qty", "name") == expected


def test_sort_by_relation_path(ctx, cat):
    expected = sql_rows(ctx, cat.schema, "c.name, p.name", "where c.name is not null order by c.name, p.name")
    res = q(ctx, {"sort": ["category_id.name", "name"], "columns": ["category_id.name", "name"],
                  "filters": {"category_id": {"is_null": False}}, "limit": 1000})
    assert column_values(res, "category_id.name", "name") == expected


def test_sort_by_two_deep_relation_path_descending(ctx, cat):
    expected = sql_rows(ctx, cat.schema, "c2.name, p.name",
                        "where c2.name is not null order by c2.name desc, p.name desc")
    res = q(ctx, {"sort": ["-category_id.parent_id.name", "-name"], "limit": 1000,
                  "columns": ["category_id.parent_id.name", "name"],
                  "filters": {"category_id.parent_id.name": {"is_null": False}}})
    assert column_values(res, "category_id.parent_id.name", "name") == expected


def test_sort_by_json_number(ctx, cat):
    expected = [r[0] for r in sql_rows(ctx, cat.schema, f"{W}", f"where {W} is not null order by {W}, p.name")]
    res = q(ctx, {"sort": ["metadata.size.w", "name"], "columns": ["metadata.size.w"], "limit": 1000,
                  "filters": {"metadata.size.w": {"is_null": False}}})
    assert [Decimal(str(r["metadata.size.w"])) for r in res["rows"]] == expected


def test_sort_places_nulls_as_postgresql_does(ctx, cat):
    """Ascending puts nulls last, descending first (PostgreSQL's default, as PostgREST does)."""
    for sort, expr, order in (("price", "p.price", "p.price"), ("-price", "p.price", "p.price desc"),
                              ("category_id.name", "c.name", "c.name"),
                              ("-category_id.name", "c.name", "c.name desc")):
        path = sort.lstrip("-")
        expected = [r[0] for r in sql_rows(ctx, cat.schema, expr, f"order by {order}")]
        assert None in expected
        res = q(ctx, {"sort": [sort], "columns": [path], "limit": 1000})
        assert [r[path] for r in res["rows"]] == expected, sort


def test_sort_by_path_not_in_columns(ctx, cat):
    expected = [r[0] for r in sql_rows(ctx, cat.schema, "p.id::text", "order by p.name desc")]
    res = q(ctx, {"sort": ["-name"], "columns": ["id"], "limit": 1000})
    assert [r["id"] for r in res["rows"]] == expected


# --- paging and total -----------------------------------------------------------------------

@pytest.mark.parametrize("sort", [["status"], ["-category_id.name"], ["tags"], []], ids=str)
def test_pages_are_disjoint_and_cover_the_sorted_result(ctx, cat, sort):
    full = q(ctx, {"sort": sort, "columns": ["id"], "limit": 1000})
    assert ids(full) == cat.all_ids
    pages = [q(ctx, {"sort": sort, "columns": ["id"], "limit": 7, "offset": off}) for off in range(0, 35, 7)]
    seen = [r["id"] for page in pages for r in page["rows"]]
    assert [len(p["rows"]) for p in pages] == [7, 7, 7, 7, 2]
    assert len(seen) == len(set(seen)) == 30
    assert seen == [r["id"] for r in full["rows"]]
    assert all(p["total"] == 30 for p in pages)


def test_default_limit_is_50(ctx, cat, writes):
    fn(ctx, "create_records", "products", [{"name": f"extra {i}"} for i in range(25)])
    res = q(ctx, {"columns": ["id"]})
    assert len(res["rows"]) == 50 and res["total"] == 55
    assert len(q(ctx, {"columns": ["id"], "limit": 1000})["rows"]) == 55
    assert len(q(ctx, {"columns": ["id"], "offset": 50})["rows"]) == 5


def test_offset_past_the_end(ctx, cat):
    res = q(ctx, {"offset": 30, "columns": ["id"]})
    assert res["rows"] == [] and res["total"] == 30


def test_limit_bounds(ctx, cat):
    assert len(q(ctx, {"limit": 1})["rows"]) == 1
    assert len(q(ctx, {"limit": 1000})["rows"]) == 30


def test_total_counts_all_matches_not_the_page(ctx, cat):
    expected = sql_ids(ctx, cat.schema, "p.status = 'active'")
    res = q(ctx, {"filters": {"status": "active"}, "limit": 3, "count": "exact"})
    assert len(res["rows"]) == 3 and res["total"] == len(expected) > 3
    assert q(ctx, {"filters": {"status": "active"}, "limit": 3})["total"] == len(expected)  # exact is the default


def test_total_estimated_is_a_number(ctx, cat, writes):
    ctx.execute(f"analyze {cat.schema}.products")
    res = q(ctx, {"filters": {"status": "active"}, "count": "estimated", "limit": 3})
    assert len(res["rows"]) == 3
    assert isinstance(res["total"], (int, Decimal)) and not isinstance(res["total"], bool)
    assert res["total"] >= 0


def test_total_none_is_null(ctx, cat):
    res = q(ctx, {"count": "none", "limit": 5})
    assert len(res["rows"]) == 5 and "total" in res and res["total"] is None


# --- columns ------------------------------------------------------------------------------

def test_rows_are_keyed_by_the_paths_asked(ctx, cat):
    paths = ["name", "price", "category_id.name", "category_id.parent_id.name", "metadata.size.w", "metadata.color"]
    res = q(ctx, {"columns": paths, "limit": 1000})
    assert len(res["rows"]) == 30
    assert all(set(r) == set(paths) for r in res["rows"])


def test_column_values_plain_and_relation_paths(ctx, cat):
    res = q(ctx, {"columns": ["id", "name", "price", "qty", "status", "tags", "category_id",
                              "category_id.name", "category_id.parent_id.name", "starts"], "limit": 1000})
    rows = {r["id"]: r for r in res["rows"]}
    assert set(rows) == cat.all_ids
    parent_of = {c["id"]: c["parent_id"] for c in cat.cats.values()}
    for p in cat.products:
        row = rows[p["id"]]
        for key in ("name", "price", "qty", "status", "tags", "category_id", "starts"):
            assert row[key] == p[key], (p["name"], key)
        cid = p["category_id"]
        assert row["category_id.name"] == (cat.cat_names[cid] if cid else None)
        parent = parent_of.get(cid)
        assert row["category_id.parent_id.name"] == (cat.cat_names[parent] if parent else None)


def test_json_path_values_keep_their_json_type(ctx, cat):
    res = q(ctx, {"columns": ["id", "metadata.size.w", "metadata.color", "metadata.size", "metadata.labels",
                              "metadata.size.h", "metadata.nope"], "limit": 1000})
    rows = {r["id"]: r for r in res["rows"]}
    for p in cat.products:
        meta = p["metadata"] if isinstance(p["metadata"], dict) else {}
        size = meta.get("size")
        row = rows[p["id"]]
        assert row["metadata.size"] == size
        assert row["metadata.size.w"] == (size or {}).get("w")
        assert row["metadata.size.h"] == (size or {}).get("h")
        assert row["metadata.color"] == meta.get("color")
        assert row["metadata.labels"] == meta.get("labels")
        assert row["metadata.nope"] is None
    alpha = rows[cat.by_name("Alpha phone")["id"]]
    assert alpha["metadata.size.w"] == 7 and type(alpha["metadata.size.w"]) is int  # a number, not "7"
    assert alpha["metadata.size"] == {"w": 7, "h": 15}
    assert rows[cat.by_name("Lambda hose")["id"]]["metadata.size.w"] == Decimal("2.5")
    assert rows[cat.by_name("Zeta pan")["id"]]["metadata.labels"] == ["kitchen", "pan"]
    assert rows[cat.by_name("Beta phone")["id"]]["metadata.color"] == "red"


def test_relation_many_reads_as_array_of_ids(ctx, cat):
    res = q(ctx, {"columns": ["id", "related", "blockers"], "limit": 1000})
    rows = {r["id"]: r for r in res["rows"]}
    for p in cat.products:
        assert rows[p["id"]]["related"] == p["related"]
        assert rows[p["id"]]["blockers"] == p["blockers"]
    assert rows[cat.pid(13)]["related"] == [cat.pid(12), cat.pid(29), cat.pid(0)]
    assert rows[cat.pid(20)]["related"] == []


def test_system_columns(ctx, cat):
    res = q(ctx, {"columns": ["id", "version", "created_at", "created_by", "updated_by"], "limit": 1000})
    rows = {r["id"]: r for r in res["rows"]}
    for p in cat.products:
        row = rows[p["id"]]
        assert (row["version"], row["created_at"], row["created_by"], row["updated_by"]) == \
            (p["version"], p["created_at"], p["created_by"], p["updated_by"])


def test_default_columns_are_the_whole_record(ctx, cat):
    res = q(ctx, {"limit": 1000})
    assert len(res["rows"]) == 30
    for row in res["rows"]:
        assert row == fn(ctx, "get_record", "products", uuid.UUID(row["id"]))


def test_same_relation_path_in_columns_filters_and_sort(ctx, cat):
    expected = sql_rows(ctx, cat.schema, "p.name, c.name, c2.name",
                        "where c2.name = 'Electronics' order by c.name desc, p.name")
    res = q(ctx, {"columns": ["name", "category_id.name", "category_id.parent_id.name"],
                  "filters": {"category_id.parent_id.name": "Electronics"},
                  "sort": ["-category_id.name", "name"]})
    assert column_values(res, "name", "category_id.name", "category_id.parent_id.name") == expected


def test_query_other_table(ctx, cat):
    res = q(ctx, {"columns": ["name", "parent_id.name"], "sort": ["name"]}, slug="categories")
    names = {key: name for key, name, _ in CATEGORIES}
    expected = sorted((name, names[parent] if parent else None) for _, name, parent in CATEGORIES)
    assert [(r["name"], r["parent_id.name"]) for r in res["rows"]] == expected
    assert res["total"] == len(CATEGORIES)


# --- errors ----------------------------------------------------------------------------

ERRORS = [
    ("unknown-column", {"columns": ["nope"]}, "42703"),
    ("unknown-relation-segment", {"columns": ["category_id.nope"]}, "42703"),
    ("unknown-deep-segment", {"columns": ["category_id.parent_id.nope"]}, "42703"),
    ("unknown-relation-first", {"columns": ["nope.name"]}, "42703"),
    ("through-text", {"columns": ["name.first"]}, "42703"),
    ("through-integer", {"columns": ["qty.x"]}, "42703"),
    ("through-relation-to-text", {"columns": ["category_id.name.x"]}, "42703"),
    ("through-relation-many", {"columns": ["related.name"]}, "42703"),
    ("column-case", {"columns": ["Name"]}, "42703"),
    ("filter-unknown", {"filters": {"nope": 1}}, "42703"),
    ("filter-unknown-segment", {"filters": {"category_id.nope": {"eq": "x"}}}, "42703"),
    ("filter-through-text", {"filters": {"name.x": "a"}}, "42703"),
    ("filter-unknown-nested", {"filters": {"_or": [{"status": "draft"}, {"nope": 1}]}}, "42703"),
    ("filter-unknown-in-not", {"filters": {"_not": {"nope": {"is_null": True}}}}, "42703"),
    ("sort-unknown", {"sort": ["nope"]}, "42703"),
    ("sort-unknown-desc", {"sort": ["-nope"]}, "42703"),
    ("sort-unknown-segment", {"sort": ["category_id.nope"]}, "42703"),
    ("sort-through-text", {"sort": ["name.x"]}, "42703"),
    ("unknown-operator", {"filters": {"qty": {"foo": 1}}}, "22023"),
    ("operator-case", {"filters": {"qty": {"EQ": 1}}}, "22023"),
    ("unknown-operator-relation-path", {"filters": {"category_id.name": {"equals": "x"}}}, "22023"),
    ("string-for-integer", {"filters": {"qty": {"gt": "abc"}}}, "22023"),
    ("string-for-decimal", {"filters": {"price": {"lt": "cheap"}}}, "22023"),
    ("object-for-integer", {"filters": {"qty": {"eq": {"a": 1}}}}, "22023"),
    ("scalar-for-in", {"filters": {"qty": {"in": 5}}}, "22023"),
    ("scalar-for-nin", {"filters": {"status": {"nin": "draft"}}}, "22023"),
    ("between-one-value", {"filters": {"qty": {"between": [1]}}}, "22023"),
    ("between-scalar", {"filters": {"qty": {"between": 5}}}, "22023"),
    ("is_null-not-boolean", {"filters": {"price": {"is_null": "yes"}}}, "22023"),
    ("is_empty-not-boolean", {"filters": {"note": {"is_empty": 1}}}, "22023"),
    ("like-on-integer", {"filters": {"qty": {"like": "1%"}}}, "22023"),
    ("has_any-on-text", {"filters": {"name": {"has_any": ["a"]}}}, "22023"),
    ("has_any-scalar", {"filters": {"tags": {"has_any": "new"}}}, "22023"),
    ("or-not-array", {"filters": {"_or": {"qty": 1}}}, "22023"),
    ("and-not-array", {"filters": {"_and": "x"}}, "22023"),
    ("not-not-object", {"filters": {"_not": [{"qty": 1}]}}, "22023"),
    ("filters-not-object", {"filters": []}, "22023"),
    ("operator-object-empty", {"filters": {"qty": {}}}, "22023"),
    ("limit-1001", {"limit": 1001}, "22023"),
    ("limit-0", {"limit": 0}, "22023"),
    ("limit-negative", {"limit": -1}, "22023"),
    ("limit-string", {"limit": "ten"}, "22023"),
    ("offset-negative", {"offset": -1}, "22023"),
    ("offset-string", {"offset": "x"}, "22023"),
    ("count-unknown", {"count": "maybe"}, "22023"),
    ("columns-not-array", {"columns": "name"}, "22023"),
    ("columns-not-strings", {"columns": [1]}, "22023"),
    ("sort-not-array", {"sort": {"name": "asc"}}, "22023"),
    ("search-not-text", {"search": {"q": "x"}}, "22023"),
    ("unknown-key", {"colums": ["name"]}, "22023"),
]


def test_query_table_errors(ctx, cat):
    failures = []
    for case_id, spec, code in ERRORS:
        try:
            q(ctx, spec)
            failures.append(f"{case_id}: {spec} succeeded, expected {code}")
        except psycopg.Error as exc:
            if exc.sqlstate != code:
                failures.append(f"{case_id}: {spec} raised {exc.sqlstate}, expected {code}: {str(exc).splitlines()[0]}")
    assert not failures, f"{len(failures)} of {len(ERRORS)} cases fail:\n" + "\n".join(failures)


@pytest.mark.parametrize("spec", [Jsonb([]), Jsonb("x"), Jsonb(5), Jsonb([{"columns": ["name"]}])], ids=str)
def test_spec_not_an_object(ctx, cat, spec):
    with raises("22023"):
        fn(ctx, "query_table", "products", spec)


def test_unknown_table(ctx, cat):
    with raises("42P01"):
        q(ctx, {}, slug="nope")
    with raises("42P01"):
        q(ctx, {}, slug="_audit_log")  # a helper table is no docpal table
    with raises("42P01"):
        q(ctx, {}, slug="products; drop table products")


def test_no_context(ctx, cat, connect, writes):
    with raises("42501"):
        fn(connect(), "query_table", "products", {})
    ctx.execute("select docpal.clear_context()")
    with raises("42501"):
        q(ctx, {})


def test_bound_values_are_never_sql(ctx, cat):
    hostile = "x' or '1'='1"
    for filters in ({"name": hostile}, {"name": {"like": hostile}}, {"metadata.color": {"in": [hostile]}},
                    {"note": {"contains": "'); drop table products; --"}}):
        res = q(ctx, {"filters": filters})
        assert res["rows"] == [] and res["total"] == 0
    assert ctx.execute(f"select count(*) from {FROM_PRODUCTS.format(s=cat.schema)}").fetchone()[0] == 30


def test_nin_with_an_empty_list_does_not_match_nulls(ctx, cat):
    """nin never matches nulls, not even with nothing to exclude."""
    check(ctx, cat, {"qty": {"nin": []}}, "p.qty is not null")
    check(ctx, cat, {"metadata.color": {"nin": []}}, "p.metadata ? 'color' and p.metadata->'color' <> 'null'")
