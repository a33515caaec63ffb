"""The operators and variables of contract 4.1 ("More operators", "Variables in filter
values") and the pattern limits of section 9: ncontains, istarts_with, iends_with,
nstarts_with, nends_with, nbetween, has_none, regex, iregex; $now, $now(<n> <unit>), $user,
$company in query filters, grants' row filters and event rules' `when`.

Operators run on the shop data set of test_query_data; every expected result is computed
in Python from the rows we inserted (the model below). Variables run on a table of their
own whose values are placed around the database's clock; expected results come from
Python over those rows, or (time of day, a zone's date) from plain SQL.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from helpers import U
from test_query_data import (cat, ctx, fn, ids, one, q, raises, set_context, shared, shop, table,  # noqa: F401
                             writes)


# --- the model: a path's value on a product, as the query engine reads it --------------------

def value(cat, p, path):
    meta = p["metadata"] if isinstance(p["metadata"], dict) else {}
    if path == "category_id.name":
        return cat.cat_names.get(p["category_id"])
    if path == "metadata.color":
        return meta.get("color")
    if path == "metadata.size.w":
        w = (meta.get("size") or {}).get("w")
        return None if w is None else Decimal(str(w))
    if path in ("qty", "price"):
        return None if p[path] is None else Decimal(str(p[path]))
    return p[path]


def holds(op, v, arg):
    """Python's reading of one operator; SQL's null rule for all but has_none."""
    if op == "has_none":
        return not set(v or []) & set(arg)  # no element in common: null and [] match
    if v is None:
        return False
    if op == "ncontains":
        return arg not in v
    if op == "istarts_with":
        return v.lower().startswith(arg.lower())
    if op == "iends_with":
        return v.lower().endswith(arg.lower())
    if op == "nstarts_with":
        return not v.startswith(arg)
    if op == "nends_with":
        return not v.endswith(arg)
    if op == "regex":
        return re.search(arg, v) is not None
    if op == "iregex":
        return re.search(arg, v, re.IGNORECASE) is not None
    if op == "nbetween":
        lo, hi = (Decimal(str(a)) for a in arg) if isinstance(v, Decimal) else arg
        return not lo <= v <= hi
    raise AssertionError(op)


def check_cases(ctx, cat, cases):
    """Each (path, op, arg[, nonempty]) gives exactly the products the model picks; every failure reported."""
    failures = []
    for path, op, arg, *nonempty in cases:
        expected = {p["id"] for p in cat.products if holds(op, value(cat, p, path), arg)}
        if (nonempty[0] if nonempty else True) and not 0 < len(expected) < len(cat.products):
            failures.append(f"{path} {op} {arg!r}: degenerate case ({len(expected)} rows)")
            continue
        try:
            res = q(ctx, {"filters": {path: {op: arg}}, "columns": ["id"], "limit": 1000})
        except psycopg.Error as exc:
            failures.append(f"{path} {op} {arg!r}: {exc.sqlstate} {str(exc).splitlines()[0]}")
            continue
        if ids(res) != expected or res["total"] != len(expected):
            failures.append(f"{path} {op} {arg!r}: {len(ids(res))} rows, the model says {len(expected)}")
    assert not failures, f"{len(failures)} of {len(cases)} cases fail:\n" + "\n".join(failures)


TEXT_PATHS = {  # a text column, a select, a relation's text column, a json string path
    "name": ["phone", "Alpha", "alpha", "PAN", "widget", "", "50%", "_"],
    "note": ["pan", "Widget", "e", ""],
    "status": ["act", "ACT", "ed"],
    "category_id.name": ["Phones", "ware", "k"],
    "metadata.color": ["re", "R", "ck", "E"],
}
TEXT_OPS = ["ncontains", "istarts_with", "iends_with", "nstarts_with", "nends_with"]


def test_text_operators_on_every_text_kind(ctx, cat):
    cases = [(path, op, arg, False) for path, args in TEXT_PATHS.items() for op in TEXT_OPS for arg in args]
    check_cases(ctx, cat, cases)
    # and the cases that tell a right implementation from a wrong one
    check_cases(ctx, cat, [
        ("name", "ncontains", "phone"), ("name", "istarts_with", "alpha"), ("name", "iends_with", "PHONE"),
        ("name", "nstarts_with", "Alpha"), ("name", "nends_with", "widget"), ("note", "ncontains", "pan"),
        ("status", "istarts_with", "ACT"), ("category_id.name", "iends_with", "WARE"),
        ("metadata.color", "ncontains", "re"), ("metadata.color", "istarts_with", "R"),
        ("metadata.color", "nends_with", "k"),
    ])


def test_negations_do_not_match_nulls(ctx, cat):
    """ncontains/nstarts_with/nends_with/nbetween: SQL semantics, like neq (a null is not a match)."""
    null_note = {p["id"] for p in cat.products if p["note"] is None}
    null_qty = {p["id"] for p in cat.products if p["qty"] is None}
    assert null_note and null_qty
    for op in ("ncontains", "nstarts_with", "nends_with"):
        got = ids(q(ctx, {"filters": {"note": {op: "zzz"}}, "columns": ["id"], "limit": 1000}))
        assert got == {p["id"] for p in cat.products if p["note"] is not None}, op
    got = ids(q(ctx, {"filters": {"qty": {"nbetween": [1000, 2000]}}, "columns": ["id"], "limit": 1000}))
    assert got == {p["id"] for p in cat.products} - null_qty
    # the json path: a product without a color is not a match either
    got = ids(q(ctx, {"filters": {"metadata.color": {"ncontains": "zzz"}}, "columns": ["id"], "limit": 1000}))
    assert got == {p["id"] for p in cat.products if value(cat, p, "metadata.color") is not None}


REGEXES = ["^[A-Z]", "phone$", "[0-9]+", "a.e", "^(Alpha|Beta) ", "an?$", "^$", "o[a-z]{2}e", "\\d", " .* ",
           "^[^aeiou]+$", "WIDGET", "%"]


def test_regex_and_iregex(ctx, cat):
    cases = [(path, op, pattern, False) for path in ("name", "note", "metadata.color", "category_id.name")
             for op in ("regex", "iregex") for pattern in REGEXES]
    check_cases(ctx, cat, cases)
    check_cases(ctx, cat, [("name", "regex", "^[A-Z]"), ("name", "iregex", "^alpha"), ("name", "regex", "[0-9]+"),
                           ("name", "regex", "^(Alpha|Beta) "), ("note", "iregex", "widget"),
                           ("metadata.color", "regex", "^[a-z]+$"), ("status", "regex", "^(draft|archived)$")])
    # a pattern of exactly 1,000 characters is within the limit
    assert q(ctx, {"filters": {"name": {"regex": "x" * 1000}}})["rows"] == []
    # an escaped backslash followed by a digit is not a back reference
    assert q(ctx, {"filters": {"name": {"regex": "\\\\1"}}})["rows"] == []


def test_nbetween_on_scalars_and_json_paths(ctx, cat):
    check_cases(ctx, cat, [
        ("qty", "nbetween", [0, 10]), ("price", "nbetween", [10, 50]), ("price", "nbetween", [9.99, 10.005]),
        ("starts", "nbetween", ["2026-01-05", "2026-01-15"]), ("name", "nbetween", ["B", "N"]),
        ("metadata.size.w", "nbetween", [5, 25]), ("metadata.color", "nbetween", ["b", "g"]),
        ("qty", "nbetween", [10, 0], False),  # an empty range excludes nothing
    ])


def test_has_none_on_multi_select_and_relation_many(ctx, cat):
    """has_none: no element in common; a null or empty array has none (Directus's _nintersects)."""
    check_cases(ctx, cat, [("tags", "has_none", ["new"]), ("tags", "has_none", ["sale", "eco"]),
                           ("tags", "has_none", ["new", "sale", "eco"]), ("tags", "has_none", [], False),
                           ("related", "has_none", [cat.pid(1), cat.pid(12)]),
                           ("blockers", "has_none", [cat.pid(0)])])
    no_tags = {p["id"] for p in cat.products if not p["tags"]}
    assert any(p["tags"] is None for p in cat.products) and any(p["tags"] == [] for p in cat.products)
    assert no_tags <= ids(q(ctx, {"filters": {"tags": {"has_none": ["new", "sale", "eco"]}}, "limit": 1000}))


ERRORS = [
    # operators on kinds that do not take them, values of the wrong kind
    ({"qty": {"ncontains": "1"}}, "22023"), ({"starts": {"istarts_with": "2026"}}, "22023"),
    ({"category_id": {"nends_with": "x"}}, "22023"), ({"tags": {"ncontains": "new"}}, "22023"),
    ({"name": {"ncontains": 5}}, "22023"), ({"name": {"iends_with": ["a"]}}, "22023"),
    ({"name": {"istarts_with": None}}, "22023"), ({"metadata.color": {"nstarts_with": 1}}, "22023"),
    ({"metadata": {"ncontains": "x"}}, "22023"),  # a whole json column: use a path into it
    ({"qty": {"nbetween": [1]}}, "22023"), ({"qty": {"nbetween": [1, 2, 3]}}, "22023"),
    ({"qty": {"nbetween": 5}}, "22023"), ({"qty": {"nbetween": ["a", "b"]}}, "22023"),
    ({"tags": {"nbetween": ["a", "b"]}}, "22023"), ({"metadata.size.w": {"nbetween": [1, "x"]}}, "22023"),
    ({"metadata.size.w": {"nbetween": [1, None]}}, "22023"), ({"starts": {"nbetween": ["2026-01-01", "x"]}}, "22023"),
    ({"name": {"has_none": ["a"]}}, "22023"), ({"tags": {"has_none": "new"}}, "22023"),
    ({"tags": {"has_none": [1]}}, "22023"), ({"related": {"has_none": ["not-an-id"]}}, "22023"),
    ({"metadata.labels": {"has_none": ["pan"]}}, "22023"),
    # regex: kinds, values, section 9 limits, invalid patterns
    ({"qty": {"regex": "1"}}, "22023"), ({"tags": {"regex": "new"}}, "22023"), ({"metadata": {"regex": "x"}}, "22023"),
    ({"name": {"regex": 1}}, "22023"), ({"name": {"iregex": ["a"]}}, "22023"),
    ({"name": {"regex": "x" * 1001}}, "54000"), ({"metadata.color": {"iregex": "r" * 1001}}, "54000"),
    ({"name": {"regex": "(a)\\1"}}, "22023"), ({"name": {"iregex": "(a)(b)\\2"}}, "22023"),
    ({"note": {"regex": "\\\\\\1"}}, "22023"),  # an escaped backslash, then \1
    ({"name": {"regex": "("}}, "22023"), ({"name": {"regex": "[z-a]"}}, "22023"),
    ({"name": {"regex": "a{2,1}"}}, "22023"), ({"name": {"iregex": "*a"}}, "22023"),
    ({"name": {"regex": "\\"}}, "22023"), ({"metadata.color": {"regex": "(?<x"}}, "22023"),
    # variables that are malformed where they apply, or literals of the wrong kind elsewhere
    ({"starts": "$now(-7)"}, "22023"), ({"starts": "$now(-7 fortnight)"}, "22023"),
    ({"starts": "$now(1.5 day)"}, "22023"),
    ({"starts": "$now()"}, "22023"), ({"starts": "$now(- 7 day)"}, "22023"), ({"starts": "$nowish"}, "22023"),
    ({"starts": {"gt": "$now(-100001 day)"}}, "22023"), ({"starts": {"gt": "$now(100001 minute)"}}, "22023"),
    ({"starts": {"gt": "$now(+12001 month)"}}, "22023"), ({"starts": {"gt": "$now(1001 year)"}}, "22023"),
    ({"starts": {"gt": "$now(9999999999 day)"}}, "22023"), ({"created_at": {"lt": "$now(-1 decade)"}}, "22023"),
    ({"starts": {"in": ["2026-01-05", "$now(x day)"]}}, "22023"),
    ({"starts": {"between": ["$now", "$now(2 eon)"]}}, "22023"),
    ({"starts": "$user"}, "22023"), ({"created_by": "$now"}, "22023"),
    ({"id": {"in": ["$company", "$nobody"]}}, "22023"),
]


@pytest.mark.parametrize("filters,code", ERRORS, ids=[str(f)[:60] for f, _ in ERRORS])
def test_errors(ctx, cat, filters, code):
    with raises(code):
        q(ctx, {"filters": filters})


def test_bounds_of_now_are_accepted(ctx, cat):
    """The largest n of each unit compiles and runs (no date out of range at run time)."""
    for value_ in ["$now(100000 minute)", "$now(-100000 hour)", "$now(100000 day)", "$now(-100000 week)",
                   "$now(12000 month)", "$now(-1000 year)", "$now(+1000 years)", "$now( -7  days )"]:
        for path in ("starts", "created_at"):
            q(ctx, {"filters": {path: {"gt": value_}}})


def test_variables_elsewhere_are_literals(ctx, cat):
    """On text, select, json and number paths the same text is a literal."""
    for path in ("name", "note", "status", "metadata.color", "category_id.name"):
        for text in ("$now", "$user", "$company", "$now(-7 day)"):
            assert q(ctx, {"filters": {path: text}})["rows"] == []
            assert q(ctx, {"filters": {path: {"in": [text]}}})["rows"] == []
    with raises("22023"):
        q(ctx, {"filters": {"qty": "$now"}})  # not an integer


# --- variables -------------------------------------------------------------------------

VISITS = table(
    "visits",
    {"name": "label", "type": "text"},
    {"name": "day", "type": "date"},
    {"name": "at", "type": "datetime"},
    {"name": "clock", "type": "time"},
    {"name": "who", "type": "user"},
    {"name": "ref", "type": "uuid"},
    {"name": "note", "type": "text"},
    {"name": "meta", "type": "json"},
)
DAY_OFFSETS = [-400, -40, -8, -6, -1, 0, 0, 1, 6, 8, 40, 400, None]
HOUR_OFFSETS = [-24 * 400, -24 * 40, -24 * 8, -30, -3, -0.5, 0.5, 3, 30, 24 * 8, 24 * 40, None, -24 * 2]
MINUTE_OFFSETS = [-300, -200, -100, -50, 50, 100, 200, 300, None, -10, 10, -20, 20]


class Visits:
    """A company with the table above: owner and a second admin in context on conns of their
    own; rows[i] = {id, label, day, at, who, ref, note, meta, created_by} as inserted."""

    def __init__(self, db, company, connect):
        self.db, self.company, self.schema = db, company, company["schema"]
        self.admin = one(db, "select docpal.create_user(%s, 'Admin')", f"admin-{company['slug']}@example.com")
        db.execute("select docpal.add_member(%s, %s, 'admin')", (company["id"], self.admin))
        self.owner_conn = set_context(connect(), company, company["owner"])
        self.admin_conn = set_context(connect(), company, self.admin)
        fn(self.owner_conn, "create_table", VISITS)
        now, today, utc = db.execute(
            "select now(), (now() at time zone 'UTC')::date, now() at time zone 'UTC'").fetchone()
        self.now, self.today = now, today
        self.rows = []
        for i, (d, h, m) in enumerate(zip(DAY_OFFSETS, HOUR_OFFSETS, MINUTE_OFFSETS)):
            who = [company["owner"], self.admin, None][i % 3]
            data = {"label": f"v{i}", "day": None if d is None else str(today + dt.timedelta(days=d)),
                    "at": None if h is None else (now + dt.timedelta(hours=h)).isoformat(),
                    # a time of day around UTC's clock
                    "clock": None if m is None else (utc + dt.timedelta(minutes=m)).time().isoformat(),
                    "who": None if who is None else str(who),
                    "ref": str(company["id"]) if i == 4 else str(uuid.uuid4()),
                    "note": ["$user", "$now", "$company", "x"][i % 4], "meta": {"k": ["$now", "$user", "y"][i % 3]}}
            conn = self.owner_conn if i % 2 == 0 else self.admin_conn
            rec = fn(conn, "create_record", "visits", data)
            self.rows.append({**data, "id": rec["id"], "created_by": rec["created_by"],
                              "day": None if d is None else today + dt.timedelta(days=d),
                              "at": None if h is None else now + dt.timedelta(hours=h)})

    def ids(self, conn, filters, slug="visits"):
        res = fn(conn, "query_table", slug, {"filters": filters, "columns": ["id"], "limit": 1000})
        assert res["total"] == len(res["rows"])
        return {r["id"] for r in res["rows"]}

    def where(self, pred):
        return {r["id"] for r in self.rows if pred(r)}

    def sql_ids(self, where, params=()):
        return {r[0] for r in self.db.execute(f"select id::text from {self.schema}.visits v where {where}", params)}


@pytest.fixture
def visits(db, company, connect):
    return Visits(db, company, connect)


def days(n):
    return dt.timedelta(days=n)


def test_now_on_a_date_path(visits):
    v, o, today = visits, visits.owner_conn, visits.today
    cases = [
        ({"day": "$now"}, lambda r: r["day"] == today),
        ({"day": {"eq": "$now"}}, lambda r: r["day"] == today),
        ({"day": {"neq": "$now"}}, lambda r: r["day"] is not None and r["day"] != today),
        ({"day": {"gte": "$now(-7 day)"}}, lambda r: r["day"] is not None and r["day"] >= today - days(7)),
        ({"day": {"gt": "$now(-7 days)"}}, lambda r: r["day"] is not None and r["day"] > today - days(7)),
        ({"day": {"lt": "$now(+7 day)"}}, lambda r: r["day"] is not None and r["day"] < today + days(7)),
        ({"day": {"lte": "$now(7 day)"}}, lambda r: r["day"] is not None and r["day"] <= today + days(7)),
        ({"day": {"gte": "$now(-1 week)"}}, lambda r: r["day"] is not None and r["day"] >= today - days(7)),
        # a month is 28 to 31 days: no row lies in between
        ({"day": {"gte": "$now(-1 month)"}}, lambda r: r["day"] is not None and r["day"] >= today - days(31)),
        ({"day": {"lt": "$now(+1 year)"}}, lambda r: r["day"] is not None and r["day"] < today + days(365)),
        ({"day": {"gte": "$now(-48 hour)"}}, lambda r: r["day"] is not None and r["day"] >= today - days(2)),
        ({"day": {"between": ["$now(-7 day)", "$now"]}},
         lambda r: r["day"] is not None and today - days(7) <= r["day"] <= today),
        ({"day": {"nbetween": ["$now(-7 day)", "$now(+7 day)"]}},
         lambda r: r["day"] is not None and not today - days(7) <= r["day"] <= today + days(7)),
        ({"day": {"between": ["2000-01-01", "$now(-1 day)"]}},
         lambda r: r["day"] is not None and r["day"] <= today - days(1)),
        ({"day": {"in": ["$now", str(today + days(40))]}}, lambda r: r["day"] in (today, today + days(40))),
        ({"day": {"nin": ["$now", "$now(1 day)"]}},
         lambda r: r["day"] is not None and r["day"] not in (today, today + days(1))),
        ({"_or": [{"day": "$now(-8 day)"}, {"day": "$now(+8 day)"}]},
         lambda r: r["day"] in (today - days(8), today + days(8))),
    ]
    for filters, pred in cases:
        expected = v.where(pred)
        assert 0 < len(expected) < len(v.rows), filters
        assert v.ids(o, filters) == expected, filters
    # in aggregate's filters too
    res = fn(o, "aggregate", "visits", {"filters": {"day": {"gte": "$now(-7 day)"}}, "metrics": {"n": "count"}})
    assert res["groups"] == [{"n": len(v.where(lambda r: r["day"] is not None and r["day"] >= today - days(7)))}]


def test_now_on_a_datetime_path(visits):
    v, o, now = visits, visits.owner_conn, visits.now
    hour = dt.timedelta(hours=1)
    cases = [
        ({"at": {"lt": "$now"}}, lambda r: r["at"] is not None and r["at"] < now),
        ({"at": {"gte": "$now(-2 hour)"}}, lambda r: r["at"] is not None and r["at"] >= now - 2 * hour),
        ({"at": {"gte": "$now(-120 minute)"}}, lambda r: r["at"] is not None and r["at"] >= now - 2 * hour),
        ({"at": {"gt": "$now(-1 day)"}}, lambda r: r["at"] is not None and r["at"] > now - 24 * hour),
        ({"at": {"lt": "$now(+2 week)"}}, lambda r: r["at"] is not None and r["at"] < now + 14 * 24 * hour),
        ({"at": {"gte": "$now(-1 month)"}}, lambda r: r["at"] is not None and r["at"] >= now - 31 * 24 * hour),
        ({"at": {"lt": "$now(-1 year)"}}, lambda r: r["at"] is not None and r["at"] < now - 365 * 24 * hour),
        ({"at": {"between": ["$now(-1 hour)", "$now(+1 hour)"]}},
         lambda r: r["at"] is not None and now - hour <= r["at"] <= now + hour),
        ({"at": {"nbetween": ["$now(-1 hour)", "$now(+1 hour)"]}},
         lambda r: r["at"] is not None and not now - hour <= r["at"] <= now + hour),
    ]
    for filters, pred in cases:
        expected = v.where(pred)
        assert 0 < len(expected) < len(v.rows), filters
        assert v.ids(o, filters) == expected, filters
    # created_at and updated_at: every row was written a moment ago
    assert v.ids(o, {"created_at": {"gte": "$now(-1 hour)"}}) == v.where(lambda r: True)
    assert v.ids(o, {"updated_at": {"lt": "$now(-1 hour)"}}) == set()
    assert v.ids(o, {"created_at": {"lte": "$now"}}) == v.where(lambda r: True)
    # a function of a datetime that is a date takes $now as a date path does (not '$now'::date)
    assert v.ids(o, {"date(created_at)": "$now"}) == v.where(lambda r: True)
    assert v.ids(o, {"date(created_at)": {"lt": "$now"}}) == set()
    assert v.ids(o, {"date(at)": {"gte": "$now(-1 day)"}}) == v.where(
        lambda r: r["at"] is not None and r["at"].astimezone(dt.timezone.utc).date() >= v.today - days(1))


def test_now_on_a_time_path(visits):
    v, o = visits, visits.owner_conn
    for filters, where in [
        ({"clock": {"gt": "$now"}}, "v.clock > (now() at time zone 'UTC')::time"),
        ({"clock": {"lt": "$now(-1 hour)"}}, "v.clock < ((now() at time zone 'UTC') - interval '1 hour')::time"),
        ({"clock": {"between": ["$now(-2 hour)", "$now(+2 hour)"]}},
         "v.clock between ((now() at time zone 'UTC') - interval '2 hour')::time"
         " and ((now() at time zone 'UTC') + interval '2 hour')::time"),
    ]:
        assert v.ids(o, filters) == v.sql_ids(where), filters
    assert v.sql_ids("v.clock is not null")


def set_zone(db, company, zone):
    db.execute("select docpal.update_company(%s, %s)", (company["id"], Jsonb({"settings": {"time_zone": zone}})))


def zone_today(db, zone):
    """current_date in `zone`, as SQL says it."""
    with db.transaction():
        db.execute(sql.SQL("set local timezone to {}").format(sql.Literal(zone)))
        return one(db, "select current_date")


def test_now_on_a_date_path_is_today_in_the_company_time_zone(visits, db):
    """Kiritimati is UTC+14 and Etc/GMT+12 is UTC-12: at any moment their dates differ."""
    v, o = visits, visits.owner_conn
    kiri, west = zone_today(db, "Pacific/Kiritimati"), zone_today(db, "Etc/GMT+12")
    assert kiri != west
    for label, day in (("kiri", kiri), ("west", west)):
        fn(o, "create_record", "visits", {"label": label, "day": str(day)})

    def labels(filters):
        rows = fn(o, "query_table", "visits", {"filters": filters, "columns": ["label"], "limit": 1000})["rows"]
        return {r["label"] for r in rows}

    set_zone(db, v.company, "Pacific/Kiritimati")
    assert "kiri" in labels({"day": "$now"}) and "west" not in labels({"day": "$now"})
    assert labels({"day": {"lt": "$now"}}) >= {"west"}
    set_zone(db, v.company, "Etc/GMT+12")
    assert "west" in labels({"day": "$now"}) and "kiri" not in labels({"day": "$now"})
    assert "kiri" in labels({"day": {"gt": "$now"}})
    # a zone PostgreSQL does not know: 22023 where $now needs it, nothing else changes
    set_zone(db, v.company, "Mars/Olympus")
    with raises("22023"):
        labels({"day": "$now"})
    assert labels({"at": {"lt": "$now"}})  # a datetime compared with the instant needs no zone
    assert labels({"label": "$now"}) == set()


def test_user_and_company_on_uuid_paths(visits):
    v, owner, admin = visits, visits.company["owner"], visits.admin
    for conn, me in ((v.owner_conn, owner), (v.admin_conn, admin)):
        cases = [
            ({"created_by": "$user"}, lambda r: r["created_by"] == str(me)),
            ({"created_by": {"neq": "$user"}}, lambda r: r["created_by"] != str(me)),
            ({"updated_by": "$user"}, lambda r: r["created_by"] == str(me)),
            ({"who": "$user"}, lambda r: r["who"] == str(me)),
            ({"who": {"neq": "$user"}}, lambda r: r["who"] not in (None, str(me))),
            ({"who": {"in": ["$user", str(owner)]}}, lambda r: r["who"] in (str(me), str(owner))),
            ({"who": {"nin": ["$user"]}}, lambda r: r["who"] not in (None, str(me))),
            ({"_or": [{"who": "$user"}, {"who": None}]}, lambda r: r["who"] in (None, str(me))),
        ]
        for filters, pred in cases:
            expected = v.where(pred)
            assert 0 < len(expected) < len(v.rows), filters
            assert v.ids(conn, filters) == expected, filters
    assert v.ids(v.owner_conn, {"ref": "$company"}) == v.where(lambda r: r["ref"] == str(v.company["id"])) != set()
    assert v.ids(v.owner_conn, {"ref": {"neq": "$company"}}) == v.where(lambda r: r["ref"] != str(v.company["id"]))
    assert v.ids(v.owner_conn, {"id": "$company"}) == set()
    assert v.ids(v.owner_conn, {"who": "$company"}) == set()


def test_variables_are_literals_on_other_paths(visits):
    v, o = visits, visits.owner_conn
    for filters, pred in [
        ({"note": "$user"}, lambda r: r["note"] == "$user"),
        ({"note": "$now"}, lambda r: r["note"] == "$now"),
        ({"note": {"in": ["$company", "x"]}}, lambda r: r["note"] in ("$company", "x")),
        ({"note": {"neq": "$now"}}, lambda r: r["note"] != "$now"),
        ({"meta.k": "$now"}, lambda r: r["meta"]["k"] == "$now"),
        ({"meta.k": {"in": ["$user"]}}, lambda r: r["meta"]["k"] == "$user"),
        ({"label": {"istarts_with": "V1"}}, lambda r: r["label"].startswith("v1")),
    ]:
        expected = v.where(pred)
        assert 0 < len(expected) < len(v.rows), filters
        assert v.ids(o, filters) == expected, filters
    with raises("22023"):
        v.ids(o, {"day": "$user"})  # a date path: $user is a literal, and not a date
    with raises("22023"):
        v.ids(o, {"who": "$now"})  # a uuid path: $now is a literal, and not an id


def test_explain_shows_variables_bound_not_spliced(visits):
    v, o = visits, visits.owner_conn
    text = fn(o, "explain_query", "visits", {"filters": {"day": {"gte": "$now(-7 day)"}, "who": "$user",
                                                          "ref": "$company", "at": {"lt": "$now(-2 hour)"}}})
    assert "pg_catalog.now()" in text and "make_interval(days =>" in text and "make_interval(hours =>" in text
    statement, params = text.split("\n-- $1 = ")
    assert str(v.company["owner"]) not in statement and str(v.company["id"]) not in statement
    assert str(v.company["owner"]) in params and str(v.company["id"]) in params and '"n": -7' in params


def grant(conn, role, spec):
    conn.execute("select docpal.grant_permission(%s, 'visits', array['read'], %s)", (role, Jsonb(spec)))


def test_grant_row_filters_take_now_and_company(visits, connect):
    v = visits
    member = v.company["member"]
    o = v.owner_conn
    for role, row_filter in (("recent", {"at": {"gte": "$now(-1 day)"}}),
                             ("ours", {"ref": "$company", "day": {"lte": "$now"}}),
                             ("mine", {"who": "$user"})):
        fn(o, "create_role", role)
        grant(o, role, {"row_filter": row_filter})
    m = set_context(connect(), v.company, member)
    fn(o, "assign_role", U(member), "recent")
    now = v.now
    assert v.ids(m, {}) == v.where(lambda r: r["at"] is not None and r["at"] >= now - dt.timedelta(days=1))
    fn(o, "unassign_role", U(member), "recent")
    fn(o, "assign_role", U(member), "ours")
    assert v.ids(m, {}) == v.where(lambda r: r["ref"] == str(v.company["id"]) and r["day"] <= v.today) != set()
    fn(o, "unassign_role", U(member), "ours")
    fn(o, "assign_role", U(member), "mine")
    assert v.ids(m, {}) == set()  # nothing is the member's
    fn(o, "update_record", "visits", U(v.rows[2]["id"]), {"who": str(member)})
    assert v.ids(m, {}) == {v.rows[2]["id"]}
    # a malformed $now in a row filter is refused when granted
    with raises("22023"):
        grant(o, "recent", {"row_filter": {"at": {"gte": "$now(-1 eon)"}}})
    with raises("22023"):
        grant(o, "recent", {"row_filter": {"note": {"regex": "(x)\\1"}}})


# --- event rules: variables mean the write ------------------------------------------------------

def last_event(db, schema):
    return one(db, f'select coalesce(max(id), 0) from "{schema}"._events')


def workflows(db, schema, after):
    """(record id, workflow name) of the events on visits after event id `after`."""
    return [(r[0], (r[1] or {}).get("name")) for r in db.execute(
        f'select record_id::text, workflow from "{schema}"._events where "table" = \'visits\' and id > %s order by id',
        (after,))]


def test_event_rule_user_is_the_writer(visits):
    v, db = visits, visits.db
    fn(v.owner_conn, "create_event_rule", {"table": "visits", "actions": ["INSERT", "UPDATE"],
                                           "when": {"who": "$user"}, "workflow": "mine"})
    after = last_event(db, v.schema)
    owner, admin = str(v.company["owner"]), str(v.admin)
    a = fn(v.owner_conn, "create_record", "visits", {"label": "a", "who": owner})    # fires
    b = fn(v.owner_conn, "create_record", "visits", {"label": "b", "who": admin})    # does not
    c = fn(v.admin_conn, "create_record", "visits", {"label": "c", "who": admin})    # fires: admin writes
    d = fn(v.admin_conn, "create_record", "visits", {"label": "d", "who": owner})    # does not
    fn(v.admin_conn, "update_record", "visits", U(a["id"]), {"who": admin})        # fires: now admin's
    db.execute(f"insert into \"{v.schema}\".visits (label, who) values ('plain', %s)", (owner,))  # no context: no user
    got = workflows(db, v.schema, after)
    assert got[:5] == [(a["id"], "mine"), (b["id"], None), (c["id"], "mine"), (d["id"], None), (a["id"], "mine")]
    assert got[5][1] is None and len(got) == 6


def test_event_rule_now_is_the_moment_of_the_write(visits):
    v, db, o = visits, visits.db, visits.owner_conn
    rule = fn(o, "create_event_rule", {"table": "visits", "actions": ["INSERT"], "when": {"at": {"lt": "$now"}},
                                       "workflow": "past"})
    made = dt.datetime.fromisoformat(rule["created_at"])
    time.sleep(1.2)
    after = last_event(db, v.schema)
    # after the rule was made, before this write: $now at the rule's making would not hold it
    late = fn(o, "create_record", "visits", {"label": "late", "at": (made + dt.timedelta(seconds=0.6)).isoformat()})
    soon = fn(o, "create_record", "visits", {"label": "soon", "at": (made + dt.timedelta(hours=1)).isoformat()})
    assert workflows(db, v.schema, after) == [(late["id"], "past"), (soon["id"], None)]


def test_event_rule_date_follows_the_company_time_zone(visits):
    v, db, o = visits, visits.db, visits.owner_conn
    kiri, west = zone_today(db, "Pacific/Kiritimati"), zone_today(db, "Etc/GMT+12")
    set_zone(db, v.company, "Pacific/Kiritimati")
    fn(o, "create_event_rule", {"table": "visits", "actions": ["INSERT"], "when": {"day": "$now"}, "workflow": "today"})
    after = last_event(db, v.schema)
    a = fn(o, "create_record", "visits", {"day": str(kiri)})
    b = fn(o, "create_record", "visits", {"day": str(west)})
    # the zone changes: the capture function is made again with it
    set_zone(db, v.company, "Etc/GMT+12")
    c = fn(o, "create_record", "visits", {"day": str(kiri)})
    d = fn(o, "create_record", "visits", {"day": str(west)})
    assert workflows(db, v.schema, after) == [(a["id"], "today"), (b["id"], None), (c["id"], None), (d["id"], "today")]
    # a zone PostgreSQL does not know is refused while a rule needs it, and nothing changes
    with raises("22023"):
        set_zone(db, v.company, "Mars/Olympus")
    assert one(db, "select docpal.get_company(%s)->'settings'->>'time_zone'", str(v.company["id"])) == "Etc/GMT+12"


def test_event_rule_variable_errors(visits):
    o = visits.owner_conn
    for when in ({"day": "$now(3 eons)"}, {"who": "$now"}, {"day": "$user"}, {"note": {"regex": "(a)\\1"}},
                 {"note": {"regex": "("}}, {"note": {"iregex": "a" * 1001}}):
        with raises("22023", "54000"):
            fn(o, "create_event_rule", {"table": "visits", "when": when, "workflow": "w"})
    assert fn(o, "list_event_rules") == []
