"""Property-based tests of the query compiler (contract section 4 and 9,
docs/reference.md "Queries": "No spec, however crafted, runs any other SQL").

1. Random specs from a grammar mixing valid and hostile keys, paths, operators,
   values, sort entries and limits: every call either succeeds or fails with
   one of the contract's SQLSTATEs, and the data is untouched afterwards.
2. Random *valid* filters: the rows equal a Python evaluation of the filter
   over the inserted data.
3. Systematic sweeps: every operator, metric, sort and view key on every path
   with values of every kind; the same rule as in 1.
"""

from __future__ import annotations

import re
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, note, settings, strategies as st
from psycopg.types.json import Jsonb

from test_query_data import CATEGORY_IDS, PRODUCT_IDS, STATUSES, TAGS, build_catalog, fn, set_context

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: what a query function may fail with; anything else (42601, 42883, XX000, 22003, 57014, ...) is a bug
ALLOWED = {"42P01", "42703", "22023", "42501", "22P02", "22007", "22008", "54000"}  # 54000: a regex over 1,000


@pytest.fixture
def ctx(db, company):
    ctx = set_context(db, company, company["owner"])
    ctx.execute("set statement_timeout = '30s'")  # a runaway query fails (57014) instead of hanging
    return ctx


@pytest.fixture
def cat(ctx, company):
    return build_catalog(ctx, company["schema"])


# --- the data must stay untouched ----------------------------------------------------------

def snapshot(conn, schema):
    def md5(slug):
        return conn.execute(f"select count(*), md5(string_agg(t::text, ',' order by t::text)) "
                            f"from {schema}.{slug} t").fetchone()

    return {
        "products": conn.execute(f"select count(*), md5(string_agg(t::text, ',' order by id)) "
                                 f"from {schema}.products t").fetchone(),
        "categories": md5("categories"),
        "related": md5("_products__related"),
        "blockers": md5("_products__blockers"),
        "catalog": md5("_catalog"),
        "audit": conn.execute(f"select count(*) from {schema}._audit_log").fetchone()[0],
        "relations": conn.execute("select array_agg(relname::text || ':' || relkind::text order by relname) "
                                  "from pg_class where relnamespace = %s::regnamespace", (schema,)).fetchone()[0],
        "all_relations": conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname !~ '^pg_(toast_)?temp'").fetchone()[0],
        "schemas": conn.execute("select array_agg(nspname::text order by nspname) from pg_namespace "
                                "where nspname !~ '^pg_(toast_)?temp'").fetchone()[0],
    }


def call(conn, name, slug, spec, allowed=ALLOWED):
    """Run one query function; returns the result or None when it failed with an allowed SQLSTATE."""
    note(f"{name}({slug!r}, {spec!r})")
    try:
        res = fn(conn, name, slug, Jsonb(spec))
    except psycopg.Error as exc:
        event(f"{name}: {exc.sqlstate}")
        assert exc.sqlstate in allowed, f"{name}({slug!r}, {spec!r}) failed with {exc.sqlstate}: {exc}"
        return None
    event(f"{name}: ok")
    return res


# --- the grammar: valid conditions (also used by part 2) -----------------------------------------

NUMERIC = {
    "qty": [-3, -2, 0, 1, 2, 3, 5, 7, 12, 20, 50, 100, 200, 201],
    "price": [0, 1, 5.49, 9.99, 10, 10.01, 19.99, 29.99, 50, 99.99, 150, 449, 1000, 1299, 1300],
    "metadata.size.w": [-1, 0, 2.5, 7, 8, 10, 10.5, 12, 25, 30, 50],
}
TEXT = {
    "name": ["Alpha phone", "Zeta pan", "", "phone", "Alpha", "widget", "50%", "_", "a", "e", "PHI SPEAKER",
             "Phone", "pan", "Tau_test item"],
    "note": ["", "pan", "widget", "Widget", "fast", "e", "UPPER CASE", "promo", "cable"],
    "category_id.name": ["Laptops", "Kitchen", "Phones", "Smartphones", "Cookware", "o", "ware", "Nope"],
    "category_id.parent_id.name": ["Phones", "Electronics", "Home", "Kitchen", "e", "Nope"],
    "metadata.color": ["red", "Red", "black", "green", "re", "b", "e", "zzz"],
}
PATTERNS = ["%phone%", "A%", "%a", "_eta%", "%", "", "%e%", "P%", "%_%", "%widget", "%PHONE%", "__"]
#: regular expressions that POSIX (~) and Python's re read alike
REGEXES = ["^A", "phone$", "[0-9]", "a.e", "^(Alpha|Beta) ", "^$", "[A-Z]{3}", "e", "^[^aeiou]+$", "WIDGET"]


def numeric_conditions(path):
    value = st.sampled_from(NUMERIC[path])
    return st.one_of(
        st.tuples(st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"]), value),
        st.tuples(st.sampled_from(["in", "nin"]), st.lists(value, min_size=1, max_size=3)),
        st.tuples(st.sampled_from(["between", "nbetween"]), st.lists(value, min_size=2, max_size=2)),
        st.tuples(st.just("is_null"), st.booleans()),
    )


def text_conditions(path):
    value = st.sampled_from(TEXT[path])
    return st.one_of(
        st.tuples(st.sampled_from(["eq", "neq", "contains", "icontains", "starts_with", "ends_with", "ncontains",
                                   "istarts_with", "iends_with", "nstarts_with", "nends_with"]), value),
        st.tuples(st.sampled_from(["regex", "iregex"]), st.sampled_from(REGEXES)),
        st.tuples(st.sampled_from(["in", "nin"]), st.lists(value, min_size=1, max_size=3)),
        st.tuples(st.sampled_from(["like", "ilike"]), st.sampled_from(PATTERNS)),
        st.tuples(st.sampled_from(["is_null", "is_empty"]), st.booleans()),
    )


CONDITIONS = {
    **{path: numeric_conditions(path) for path in NUMERIC},
    **{path: text_conditions(path) for path in TEXT},
    "status": st.one_of(
        st.tuples(st.sampled_from(["eq", "neq"]), st.sampled_from(STATUSES)),
        st.tuples(st.sampled_from(["in", "nin"]), st.lists(st.sampled_from(STATUSES), min_size=1, max_size=2)),
        st.tuples(st.sampled_from(["is_null", "is_empty"]), st.booleans()),
    ),
    "tags": st.one_of(
        st.tuples(st.sampled_from(["has_any", "has_all", "has_none"]),
                  st.lists(st.sampled_from(TAGS), min_size=1, max_size=3)),
        st.tuples(st.just("contains"), st.one_of(st.sampled_from(TAGS),
                                                 st.lists(st.sampled_from(TAGS), min_size=1, max_size=2))),
        st.tuples(st.sampled_from(["is_null", "is_empty"]), st.booleans()),
    ),
}
#: conditions only the fuzz uses (no Python model for them)
EXTRA_CONDITIONS = {
    "starts": st.tuples(st.sampled_from(["eq", "neq", "gt", "lte", "is_null"]),
                        st.sampled_from(["2026-01-05", "2026-02-01", "2025-12-31", "$now", "$now(-30 day)",
                                         "$now(+1 month)", "$now(-2 hour)", "$now(1 week)"])),
    "created_at": st.tuples(st.sampled_from(["gt", "lt", "between", "nbetween"]),
                            st.sampled_from(["$now", "$now(-1 hour)", "$now(+1 year)", ["$now(-1 day)", "$now"]])),
    "created_by": st.tuples(st.sampled_from(["eq", "neq", "in", "nin"]), st.sampled_from(["$user", "$company"])).map(
        lambda c: (c[0], [c[1]] if c[0] in ("in", "nin") else c[1])),
    "id": st.tuples(st.sampled_from(["eq", "neq", "in"]), st.sampled_from(PRODUCT_IDS)).map(
        lambda c: (c[0], [c[1]] if c[0] == "in" else c[1])),
    "category_id": st.tuples(st.sampled_from(["eq", "neq", "is_null"]), st.sampled_from(list(CATEGORY_IDS.values()))),
    "related": st.tuples(st.sampled_from(["has_any", "has_all", "contains"]),
                         st.lists(st.sampled_from(PRODUCT_IDS), min_size=1, max_size=2)),
    "metadata": st.tuples(st.just("contains"), st.sampled_from([{"color": "red"}, {"size": {"w": 10}}, {}, []])),
}


def path_filters(conditions):
    """{path: literal | {op: value, ...}} over 1-3 distinct paths."""
    @st.composite
    def draw_filters(draw):
        chosen = draw(st.lists(st.sampled_from(sorted(conditions)), min_size=1, max_size=3, unique=True))
        out = {}
        for path in chosen:
            conds = draw(st.lists(conditions[path], min_size=1, max_size=2, unique_by=lambda c: c[0]))
            if len(conds) == 1 and conds[0][0] == "eq" and draw(st.booleans()):
                out[path] = conds[0][1]  # a literal means equality
            elif len(conds) == 1 and conds[0] == ("is_null", True) and draw(st.booleans()):
                out[path] = None  # null means is_null
            else:
                out[path] = dict(conds)
        return out

    return draw_filters()


#: no _not: with AND and OR only, SQL's unknown acts as false for the result, so the model stays two-valued
valid_filters = st.recursive(path_filters(CONDITIONS), lambda inner: st.one_of(
    st.builds(lambda fs, base: {**base, "_or": fs}, st.lists(inner, min_size=1, max_size=3), path_filters(CONDITIONS)),
    st.builds(lambda fs: {"_and": fs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda fs: {"_or": fs}, st.lists(inner, min_size=1, max_size=3)),
), max_leaves=5)


# --- the grammar: hostile pieces --------------------------------------------------------------

VALID_PATHS = [
    "id", "name", "note", "price", "qty", "status", "tags", "category_id", "metadata", "related", "starts",
    "ends", "blockers", "version", "created_at", "updated_at", "created_by", "updated_by",
    "category_id.name", "category_id.id", "category_id.parent_id", "category_id.parent_id.name",
    "category_id.parent_id.parent_id.name", "metadata.size", "metadata.size.w", "metadata.color",
    "metadata.labels", "metadata.nope.deeper",
]
HOSTILE = [
    "name; drop table x", "name; drop table products; --", 'name"; drop table products; --', '"', "'", "''",
    "$1", "$1::text", "$2", "name)", "(select 1)", "name' or '1'='1", "pg_sleep(5)", "name || pg_sleep(5)",
    "ñame", "名前", "🙂", "", " ", ".", "..", "name.", ".name", "category_id..name",
    "metadata.'x'", 'metadata."; drop table x; --', "metadata.size.w); drop table x; --", "metadata.$1",
    "metadata.%I", "metadata.%s", "-name", "--name", "_and", "_or", "_not", "NAME", "Name", "id\n",
    "name\t", "category_id.name; select 1", "%I", "%s", "\\", "null", "public.products", "products.name",
    "pg_catalog.pg_class", "_audit_log", "category_id.parent_id.parent_id.parent_id.parent_id.name",
    "related.name", "tags.0", "metadata.0", "metadata.size.w.x.y.z", "name::int", 'name collate "C"',
    "\u200bname", "name\u0301", "*", "id, (select 1)",
]
PREFIXES = ["category_id", "category_id.parent_id", "metadata", "metadata.size", "name", "related", "tags", "qty"]
OPS = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "between", "like", "ilike", "contains", "icontains",
       "starts_with", "ends_with", "is_null", "is_empty", "has_any", "has_all", "ncontains", "istarts_with",
       "iends_with", "nstarts_with", "nends_with", "nbetween", "has_none", "regex", "iregex"]
BAD_OPS = ["EQ", "=", "eq;", "$1", "", "_and", "_or", "_not", "drop", "like'", "sum", "count", "REGEX", "~",
           "eq) or (1=1", "not", "is", "@>", "&&"]
SAMPLES = [
    "$now", "$now(-7 day)", "$now(+1 month)", "$now(7)", "$now(-100001 day)", "$now(1 eon)", "$user", "$company",
    "$", "(a)\\1", "(", "[z-a]", "a{2,1}", "\\",
    "2026-01-05", "2026-13-45", "2026-02-30", "0001-01-01 BC", "infinity", "-infinity", "epoch", "now",
    "today", "allballs", "24:00:00", "1e500", "NaN", "-0", "0x10", "00000000-0000-0000-0000-000000000000",
    "not-a-uuid", "{}", "[]", "{a,b}", "t", "true", "%", "_", "\\", "' or 1=1 --", "); drop table x; --",
    "2026-01-05T10:00:00Z", "10:00", "P1D", PRODUCT_IDS[0], CATEGORY_IDS["elec"],
]
BIG_NUMBERS = [2 ** 31, -(2 ** 31) - 1, 2 ** 63, -(2 ** 63) - 1, 10 ** 30, -(10 ** 30), 10 ** 400]


def mix(good, bad):
    """Mostly `good`, one time in eight `bad`: deep enough to reach the compiler, hostile enough to hurt."""
    return st.integers(0, 7).flatmap(lambda i: bad if i == 0 else good)


chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
texts = st.text(chars, max_size=30)
long_texts = st.integers(64, 20_000).map(lambda n: "x" * n)  # past the identifier length; big values
strings = st.one_of(texts, st.sampled_from(HOSTILE), st.sampled_from(SAMPLES), st.sampled_from(STATUSES + TAGS),
                    long_texts)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-1000, 1000), st.sampled_from(BIG_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False), strings,
)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(strings, inner, max_size=3)),
    max_leaves=8,
)
bad_paths = st.one_of(
    st.sampled_from(HOSTILE), texts, long_texts,
    st.builds(lambda a, b: f"{a}.{b}", st.sampled_from(PREFIXES), st.one_of(st.sampled_from(HOSTILE), texts)),
)
paths = mix(st.sampled_from(VALID_PATHS), bad_paths)
ops = mix(st.sampled_from(OPS), st.one_of(st.sampled_from(BAD_OPS), texts))
bad_conditions = st.tuples(ops, json_values)
hostile_conditions = {path: mix(cond, bad_conditions) for path, cond in {**CONDITIONS, **EXTRA_CONDITIONS}.items()}


def filters_over(keys, leaf):
    """Nested filters: path objects from `leaf`, hostile path objects, _and/_or/_not, junk in their place."""
    base = st.one_of(leaf, leaf, leaf, st.dictionaries(keys, st.one_of(json_values, st.dictionaries(
        ops, json_values, max_size=3)), max_size=3))
    return st.recursive(base, lambda inner: st.one_of(
        st.builds(lambda fs, extra: {**extra, "_and": fs}, st.lists(inner, max_size=3), base),
        st.builds(lambda fs, extra: {**extra, "_or": fs}, st.lists(inner, max_size=3), base),
        st.builds(lambda f, extra: {**extra, "_not": f}, inner, base),
        st.builds(lambda junk, extra: {**extra, "_or": junk}, json_values, base),
    ), max_leaves=6)


filters = mix(filters_over(paths, path_filters(hostile_conditions)), json_values)
sort_entries = st.builds(lambda desc, p: ("-" if desc else "") + p, st.booleans(), paths)
numbers = st.one_of(
    st.integers(-5, 1100), st.sampled_from([0, 1, 1000, 1001]), st.sampled_from(BIG_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False), strings, st.none(), st.booleans(), json_values,
)
extra_keys = st.dictionaries(st.one_of(st.sampled_from(HOSTILE), texts), json_values, min_size=1, max_size=2)
COMMON = {
    "columns": mix(st.lists(paths, max_size=5), json_values),
    "filters": filters,
    "search": mix(texts, st.one_of(strings, json_values)),
    "sort": mix(st.lists(sort_entries, max_size=3), st.one_of(json_values, st.lists(json_values, max_size=2))),
    "limit": mix(st.integers(1, 1000), numbers),
    "offset": mix(st.integers(0, 40), numbers),
    "count": mix(st.sampled_from(["exact", "estimated", "none"]), st.one_of(strings, json_values)),
}


def specs(extra: dict, required=(), common=tuple(COMMON)):
    """A spec object with the `common` keys and `extra` (those in `required` mostly present); now and
    then a required key missing, unknown or other common keys added, or no object at all."""
    must = {k: v for k, v in extra.items() if k in required}
    optional = {**{k: COMMON[k] for k in common}, **{k: v for k, v in extra.items() if k not in required}}
    spec = st.builds(lambda req, opt: {**req, **opt}, st.fixed_dictionaries(must),
                     st.fixed_dictionaries({}, optional=optional))
    if required:
        spec = st.builds(lambda s, drop: {k: v for k, v in s.items() if k not in drop},
                         spec, mix(st.just([]), st.lists(st.sampled_from(list(required)), max_size=1)))
    junk = st.one_of(extra_keys, st.fixed_dictionaries({}, optional=COMMON))
    with_junk = st.builds(lambda s, j: {**j, **s}, spec, junk)
    return mix(spec, st.one_of(with_junk, json_values))


def slugs(good):
    return mix(st.just(good), st.sampled_from([
        "products", "categories", "nope", "_audit_log", "_catalog", "_files", "_products__related",
        "products; drop table x", "Products", "pg_class", "", "company_x.products", '"products"']))


METRIC_NAMES = ["n", "total", "avg_price", "lo", "hi", "kinds"]
metric_names = mix(st.sampled_from(METRIC_NAMES), st.one_of(st.sampled_from(HOSTILE), texts))
FORMULAS = ["n / total", "round(n * 100 / total, 1)", "hi - lo", "1 / 0", "n / (n - n)", "avg_price * 2 + 1",
            "kinds", "n / n / n", "nope / n", "n / N", "abs(lo)", "upper(n)", "'a' || n", "n +", "(n", "n n",
            "total / total2", "pg_sleep(n)", "n; drop table products", "coalesce(hi, lo, 0)"]
good_metric = st.one_of(
    st.just("count"),
    st.builds(lambda f, p: {f: p}, st.sampled_from(["sum", "avg"]), mix(st.sampled_from(["price", "qty"]), paths)),
    st.builds(lambda f, p: {f: p}, st.sampled_from(["min", "max", "count_distinct"]), paths),
    st.builds(lambda f: {"count_if": f}, filters),
    st.builds(lambda p, f: {"sum_if": [p, f]}, mix(st.sampled_from(["price", "qty", "metadata.size.w"]), paths),
              filters),
    st.builds(lambda p, x: {"percentile": [p, x]},
              mix(st.sampled_from(["price", "qty", "starts", "created_at"]), paths),
              mix(st.sampled_from([0, 0.5, 0.9, 1]), numbers)),
    st.builds(lambda e: {"expr": e}, mix(st.sampled_from(FORMULAS), strings)),
)
bad_metric = st.one_of(json_values, st.dictionaries(mix(st.sampled_from(["sum", "min", "count"]),
                                                        st.one_of(st.sampled_from(BAD_OPS), texts)),
                                                    st.one_of(paths, json_values), min_size=1, max_size=2))
having_leaf = st.dictionaries(metric_names, mix(
    st.one_of(st.integers(-5, 50), st.dictionaries(st.sampled_from(["eq", "gt", "gte", "lt", "lte", "neq"]),
                                                   st.integers(-5, 3000), min_size=1, max_size=2)),
    st.one_of(json_values, st.dictionaries(ops, json_values, max_size=2))), min_size=1, max_size=2)
AGGREGATE = {
    "group_by": mix(st.lists(mix(st.sampled_from(["status", "category_id.name", "category_id.parent_id.name",
                                                  "metadata.color", "qty", "tags", "starts", "category_id"]),
                                 paths), max_size=3), json_values),
    "metrics": mix(st.dictionaries(metric_names, mix(good_metric, bad_metric), min_size=1, max_size=4), json_values),
    "having": mix(filters_over(metric_names, having_leaf), json_values),
}
ids = st.sampled_from(PRODUCT_IDS + list(CATEGORY_IDS.values()) + ["00000000-0000-0000-0000-000000000000"])
#: function: (its table, its own keys, the required ones, the common keys it is given)
VIEWS = {
    "query_kanban": ("products", {
        "group_by": mix(st.sampled_from(["status", "category_id"]), paths),
        "limit_per_group": mix(st.integers(1, 1000), numbers)}, ["group_by"], ["filters", "search", "sort", "columns"]),
    "query_tree": ("categories", {
        "parent": mix(st.just("parent_id"), paths),
        "root": mix(st.one_of(st.none(), ids), json_values),
        "max_depth": mix(st.integers(1, 100), numbers)}, ["parent"], ["filters", "sort", "columns"]),
    "query_gantt": ("products", {
        "start": mix(st.sampled_from(["starts", "ends"]), paths),
        "end": mix(st.sampled_from(["starts", "ends"]), paths),
        "label": mix(st.sampled_from(["name", "note", "category_id.name"]), paths),
        "dependencies": mix(st.sampled_from(["blockers", "related"]), paths)},
        ["start", "end", "label"], ["filters", "search", "sort", "limit", "offset"]),
    "query_dropdown": ("products", {
        "label": mix(st.sampled_from(["name", "note", "category_id.name", "status"]), paths),
        "search": mix(texts, json_values)}, ["label"], ["filters", "limit"]),
    "query_breadcrumb": ("categories", {
        "id": mix(ids, json_values),
        "parent": mix(st.just("parent_id"), paths),
        "label": mix(st.sampled_from(["name", "parent_id.name"]), paths)}, ["id", "parent", "label"], []),
    "query_calendar": ("products", {
        "start": mix(st.sampled_from(["starts", "ends", "created_at"]), paths),
        "end": mix(st.sampled_from(["starts", "ends", "updated_at"]), paths),
        "from": mix(st.sampled_from(["2026-01-01", "2026-01-15T00:00:00Z", "2025-12-31"]), strings),
        "to": mix(st.sampled_from(["2026-01-31", "2026-02-15T12:00:00+01:00", "2027-01-01"]), strings),
        "label": mix(st.sampled_from(["name", "category_id.name", "status"]), paths),
        "color": mix(st.sampled_from(["metadata.color", "status"]), paths),
        "max_days": mix(st.integers(0, 400), numbers)},
        ["start", "from", "to", "label"], ["filters", "search", "limit"]),
    "explain_query": ("products", {}, [], list(COMMON)),
}
view_calls = st.sampled_from(sorted(VIEWS)).flatmap(lambda name: st.tuples(
    st.just(name), slugs(VIEWS[name][0]), specs(VIEWS[name][1], VIEWS[name][2], VIEWS[name][3])))


def is_number(value):
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


# --- 1. hostile specs --------------------------------------------------------------------------

@pytest.fixture
def before(ctx, cat):
    """The snapshot every example must leave unchanged."""
    return snapshot(ctx, cat.schema)


@FUZZ
@given(slug=slugs("products"), spec=specs({}))
def test_fuzz_query_table(ctx, cat, before, slug, spec):
    res = call(ctx, "query_table", slug, spec)
    if res is not None and isinstance(spec, dict):
        assert isinstance(res, dict) and isinstance(res["rows"], list)
        assert res["total"] is None or is_number(res["total"])
        assert all(isinstance(r, dict) for r in res["rows"])
        limit = spec.get("limit", 50)
        if isinstance(limit, int) and not isinstance(limit, bool):
            assert len(res["rows"]) <= limit
        if isinstance(spec.get("columns"), list) and spec["columns"]:
            assert all(set(r) == set(spec["columns"]) for r in res["rows"])
    assert snapshot(ctx, cat.schema) == before


@FUZZ
@given(slug=slugs("products"), spec=specs(AGGREGATE, ["metrics"], ["filters", "search"]))
def test_fuzz_aggregate(ctx, cat, before, slug, spec):
    res = call(ctx, "aggregate", slug, spec)
    if res is not None:
        assert isinstance(res, dict) and isinstance(res["groups"], list)
        assert all(isinstance(g, dict) for g in res["groups"])
    assert snapshot(ctx, cat.schema) == before


@FUZZ
@given(view=view_calls)
def test_fuzz_views(ctx, cat, before, view):
    name, slug, spec = view
    allowed = ALLOWED | {"P0002"} if name == "query_breadcrumb" else ALLOWED  # P0002: no such record
    res = call(ctx, name, slug, spec, allowed)
    if res is not None:
        assert isinstance(res, str if name == "explain_query" else dict)
    assert snapshot(ctx, cat.schema) == before


INJECTIONS = [
    ({"filters": {"name; drop table products": 1}}, "42703"),
    ({"columns": ['name"; drop table products; --']}, "42703"),
    ({"sort": ["-name; drop table products"]}, "42703"),
    ({"filters": {"category_id.name; select pg_sleep(5)": "x"}}, "42703"),
    ({"filters": {"qty": {"eq) or (1=1": 1}}}, "22023"),
    ({"filters": {"qty": {"gt": "1; drop table products"}}}, "22023"),
    ({"filters": {"name": "'; drop table products; --"}}, None),
    ({"filters": {"name": {"in": ["') or true; --", "x"]}}}, None),
    ({"filters": {"metadata.x'); drop table products; --": "a"}}, None),  # any key of a json column
    ({"columns": ["metadata.'); drop table products; --"]}, None),
    ({"sort": ["metadata.$1"]}, None),
    ({"search": "'); drop table products; --"}, None),
    ({"search": "a & b | !c <-> d:*"}, None),  # tsquery syntax is plain text to plainto_tsquery
]


@pytest.mark.parametrize("spec,code", INJECTIONS, ids=[str(s) for s, _ in INJECTIONS])
def test_injection_attempts(ctx, cat, spec, code):
    before = snapshot(ctx, cat.schema)
    if code is None:
        res = fn(ctx, "query_table", "products", spec)
        assert res["rows"] == [] or "columns" in spec or "sort" in spec
    else:
        with pytest.raises(psycopg.Error) as exc:
            fn(ctx, "query_table", "products", spec)
        assert exc.value.sqlstate == code, exc.value
    assert snapshot(ctx, cat.schema) == before


# --- 2. valid filters against a Python model ---------------------------------------------------

def model(cat):
    parent_of = {c["id"]: c["parent_id"] for c in cat.cats.values()}
    rows = []
    for p in cat.products:
        meta = p["metadata"] if isinstance(p["metadata"], dict) else {}
        size = meta.get("size") or {}
        cid = p["category_id"]
        parent = parent_of.get(cid)
        rows.append({
            "id": p["id"], "name": p["name"], "note": p["note"], "status": p["status"], "tags": p["tags"],
            "qty": None if p["qty"] is None else Decimal(p["qty"]),
            "price": None if p["price"] is None else Decimal(str(p["price"])),
            "metadata.size.w": None if size.get("w") is None else Decimal(str(size["w"])),
            "metadata.color": meta.get("color"),
            "category_id.name": cat.cat_names[cid] if cid else None,
            "category_id.parent_id.name": cat.cat_names[parent] if parent else None,
        })
    return rows


def like_regex(pattern, flags=0):
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | flags)


def num(value):
    return Decimal(str(value))


def holds(op, value, arg):
    if op == "is_null":
        return (value is None) == arg
    if op == "is_empty":
        return (value is None or value == "" or value == []) == arg
    if op == "has_none":
        return not set(value or []) & set(arg)  # no element in common: null and [] match
    if value is None:
        return False  # every other comparison with null is unknown: not a match
    if isinstance(value, Decimal):
        arg = [num(a) for a in arg] if isinstance(arg, list) else num(arg)
    if op == "eq":
        return value == arg
    if op == "neq":
        return value != arg
    if op == "gt":
        return value > arg
    if op == "gte":
        return value >= arg
    if op == "lt":
        return value < arg
    if op == "lte":
        return value <= arg
    if op == "in":
        return value in arg
    if op == "nin":
        return value not in arg
    if op == "between":
        return arg[0] <= value <= arg[1]
    if op == "like":
        return like_regex(arg).fullmatch(value) is not None
    if op == "ilike":
        return like_regex(arg, re.IGNORECASE).fullmatch(value) is not None
    if op == "contains" and isinstance(value, list):
        return set(arg if isinstance(arg, list) else [arg]) <= set(value)
    if op == "contains":
        return arg in value
    if op == "icontains":
        return arg.lower() in value.lower()
    if op == "starts_with":
        return value.startswith(arg)
    if op == "ends_with":
        return value.endswith(arg)
    if op == "has_any":
        return bool(set(arg) & set(value))
    if op == "nbetween":
        return not arg[0] <= value <= arg[1]
    if op == "ncontains":
        return arg not in value
    if op == "istarts_with":
        return value.lower().startswith(arg.lower())
    if op == "iends_with":
        return value.lower().endswith(arg.lower())
    if op == "nstarts_with":
        return not value.startswith(arg)
    if op == "nends_with":
        return not value.endswith(arg)
    if op in ("regex", "iregex"):
        return re.search(arg, value, re.IGNORECASE if op == "iregex" else 0) is not None
    if op == "has_all":
        return set(arg) <= set(value)
    raise AssertionError(op)


def matches(row, filters):
    for key, cond in filters.items():
        if key == "_and":
            ok = all(matches(row, f) for f in cond)
        elif key == "_or":
            ok = any(matches(row, f) for f in cond)
        elif cond is None:
            ok = row[key] is None
        elif isinstance(cond, dict):
            ok = all(holds(op, row[key], arg) for op, arg in cond.items())
        else:
            ok = holds("eq", row[key], cond)
        if not ok:
            return False
    return True


class Model(list):
    def __repr__(self) -> str:  # short: hypothesis prints fixtures of a failing example
        return f"Model({len(self)} rows)"


@pytest.fixture
def rows(cat):
    return Model(model(cat))


@FUZZ
@given(filters=valid_filters)
def test_valid_filters_match_a_python_model(ctx, rows, filters):
    expected = {r["id"] for r in rows if matches(r, filters)}
    res = fn(ctx, "query_table", "products", {"filters": filters, "columns": ["id"], "limit": 1000})
    assert {r["id"] for r in res["rows"]} == expected
    assert len(res["rows"]) == res["total"] == len(expected)


@settings(FUZZ, max_examples=60)
@given(filters=valid_filters)
def test_valid_filters_in_aggregate_count(ctx, rows, filters):
    expected: dict = {}
    for r in rows:
        if matches(r, filters):
            expected[r["status"]] = expected.get(r["status"], 0) + 1
    res = fn(ctx, "aggregate", "products", {"filters": filters, "group_by": ["status"], "metrics": {"n": "count"}})
    assert {g["status"]: g["n"] for g in res["groups"]} == expected


# --- 3. systematic sweeps: every operator, metric, sort and view key on every path -------------

SWEEP_VALUES = [None, True, 0, -1, 10.5, 10 ** 30, "", "a", "10", "2026-01-05", "red", PRODUCT_IDS[0],
                "$now(-7 day)", "$user", "(a)\\1", ["$now", "$now(1 day)"],
                ["new"], [1, 2], [PRODUCT_IDS[0]], ["2026-01-01", "2026-12-31"], {"color": "red"}, []]


def sweep(ctx, calls, allowed=ALLOWED):
    """Run every (name, slug, spec); return the calls that failed with a code outside `allowed`."""
    bad = []
    for name, slug, spec in calls:
        try:
            fn(ctx, name, slug, Jsonb(spec))
        except psycopg.Error as exc:
            if exc.sqlstate not in allowed:
                bad.append(f"{name}({slug!r}, {spec!r}) -> {exc.sqlstate}: {str(exc).splitlines()[0]}")
    return bad


def test_every_operator_on_every_path(ctx, cat, before):
    calls = [("query_table", "products", {"filters": {path: {op: value}}, "limit": 1})
             for path in VALID_PATHS for op in OPS for value in SWEEP_VALUES]
    calls += [("query_table", "products", {"filters": {path: value}, "limit": 1})
              for path in VALID_PATHS for value in SWEEP_VALUES]
    bad = sweep(ctx, calls)
    assert not bad, f"{len(bad)} of {len(calls)} calls:\n" + "\n".join(bad[:40])
    assert snapshot(ctx, cat.schema) == before


def test_every_path_in_columns_sort_and_search(ctx, cat, before):
    calls = []
    for path in VALID_PATHS:
        calls += [("query_table", "products", {"columns": [path], "limit": 1000}),
                  ("query_table", "products", {"sort": [path], "limit": 1000}),
                  ("query_table", "products", {"sort": ["-" + path], "count": "estimated"}),
                  ("explain_query", "products", {"columns": [path], "sort": [path],
                                                 "filters": {path: {"is_null": False}}})]
    calls += [("query_table", "products", {"search": text}) for text in SWEEP_VALUES]
    bad = sweep(ctx, calls)
    assert not bad, f"{len(bad)} of {len(calls)} calls:\n" + "\n".join(bad[:40])
    assert snapshot(ctx, cat.schema) == before


def test_every_metric_and_group_on_every_path(ctx, cat, before):
    calls = [("aggregate", "products", {"metrics": {"m": {f: path}}})
             for f in ["count_distinct", "sum", "avg", "min", "max"] for path in VALID_PATHS]
    calls += [("aggregate", "products", {"group_by": [path], "metrics": {"n": "count"}}) for path in VALID_PATHS]
    calls += [("aggregate", "products", {"metrics": {"m": {"sum_if": [path, {path: {"is_null": False}}]},
                                                     "c": {"count_if": {path: {"is_null": False}}},
                                                     "p": {"percentile": [path, 0.5]}}}) for path in VALID_PATHS]
    calls += [("aggregate", "products", {"metrics": {"m": {"percentile": ["qty", value]}}}) for value in SWEEP_VALUES]
    calls += [("aggregate", "products", {"group_by": ["status"], "metrics": {
        "n": "count", "total": {"sum": "price"}, "lo": {"min": "qty"}, "hi": {"max": "qty"}, "kinds": {"max": "name"},
        "avg_price": {"avg": "price"}, "x": {"expr": formula}}, "having": {"x": {"gt": 0}}})
        for formula in FORMULAS + [v for v in SWEEP_VALUES if not isinstance(v, str)]]
    calls += [("aggregate", "products", {"group_by": ["status"], "metrics": {"n": "count", "t": {"sum": "price"}},
                                         "having": {"t": {op: value}}}) for op in OPS for value in SWEEP_VALUES]
    bad = sweep(ctx, calls)
    assert not bad, f"{len(bad)} of {len(calls)} calls:\n" + "\n".join(bad[:40])
    assert snapshot(ctx, cat.schema) == before


def test_every_path_in_view_keys(ctx, cat, before):
    calls = []
    for path in VALID_PATHS:
        calls += [("query_kanban", "products", {"group_by": path}),
                  ("query_tree", "products", {"parent": path}),
                  ("query_gantt", "products", {"start": path, "end": "ends", "label": "name"}),
                  ("query_gantt", "products", {"start": "starts", "end": path, "label": path}),
                  ("query_gantt", "products", {"start": "starts", "end": "ends", "label": "name",
                                               "dependencies": path}),
                  ("query_dropdown", "products", {"label": path, "search": "a"}),
                  ("query_breadcrumb", "products", {"id": PRODUCT_IDS[0], "parent": path, "label": path}),
                  ("query_calendar", "products", {"start": path, "end": path, "label": path, "color": path,
                                                  "from": "2026-01-01", "to": "2026-01-31"}),
                  ("query_calendar", "products", {"start": "starts", "end": "ends", "label": "name", "max_days": 7,
                                                  "from": "2026-01-01", "to": "2026-01-31", "filters": {path: None}}),
                  ("query_kanban", "products", {"group_by": "category_id", "lane_label": path})]
    for value in SWEEP_VALUES:
        calls += [("query_tree", "categories", {"parent": "parent_id", "root": value}),
                  ("query_tree", "categories", {"parent": "parent_id", "max_depth": value}),
                  ("query_kanban", "products", {"group_by": "status", "limit_per_group": value}),
                  ("query_dropdown", "products", {"label": "name", "search": value}),
                  ("query_dropdown", "products", {"label": "name", "limit": value}),
                  ("query_breadcrumb", "categories", {"id": value, "parent": "parent_id", "label": "name"}),
                  ("query_calendar", "products", {"start": "starts", "label": "name", "from": value,
                                                  "to": "2026-01-31"}),
                  ("query_calendar", "products", {"start": "created_at", "label": "name", "from": "2026-01-01",
                                                  "to": value}),
                  ("query_calendar", "products", {"start": "starts", "end": "ends", "label": "name",
                                                  "from": "2026-01-01", "to": "2026-01-31", "max_days": value}),
                  ("query_kanban", "products", {"group_by": "category_id", "lane_label": value})]
    bad = sweep(ctx, calls, ALLOWED | {"P0002"})
    assert not bad, f"{len(bad)} of {len(calls)} calls:\n" + "\n".join(bad[:40])
    assert snapshot(ctx, cat.schema) == before
