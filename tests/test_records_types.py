"""Record values of every column type: contract section 3, docs/reference.md "Records"."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from psycopg.types.json import Jsonb, set_json_loads
from helpers import fn, one, raises, table

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- helpers -------------------------------------------------------------------







def detail(exc) -> dict:
    text = exc.value.diag.message_detail
    assert text, f"no DETAIL on {exc.value}"
    return json.loads(text)




def count(db, schema, slug="t"):
    return one(db, f"select count(*) from {schema}.{slug}")


def is_number(value):
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def same_number(a, b):
    return Decimal(str(a)) == Decimal(str(b))


def sql_insert(db, schema, value, slug="t"):
    """Plain SQL insert of a JSON value into column cell, converted to its type by PostgreSQL itself."""
    db.execute(f"insert into {schema}.{slug} (cell) select (jsonb_populate_record(null::{schema}.{slug}, %s)).cell",
               (Jsonb({"cell": value}),))


@pytest.fixture
def ctx(db, company):
    set_json_loads(lambda s: json.loads(s, parse_float=Decimal), db)  # exact numbers
    db.execute("select docpal.set_context(%s, %s, false)", (company["id"], company["owner"]))
    return db


@pytest.fixture
def schema(company):
    return company["schema"]


@pytest.fixture
def target(ctx):
    """A table `targets` with one record; returns its id."""
    fn(ctx, "create_table", table("targets", {"name": "label", "type": "text"}))
    return fn(ctx, "create_record", "targets", {"label": "one"})["id"]


def file_spec(sha="a" * 64, name="report.pdf"):
    return {"name": name, "size": 1234, "mime": "application/pdf", "sha256": sha, "storage_key": f"s3://b/{sha}"}


# --- valid values round-trip -------------------------------------------------------

VALID = [
    ("text", {"type": "text", "max_length": 10}, "hello", "hello"),
    ("long_text", {"type": "long_text"}, "line\nline", "line\nline"),
    ("rich_text", {"type": "rich_text"}, "<p>x</p>", "<p>x</p>"),
    ("integer", {"type": "integer", "min": 0, "max": 100}, 42, 42),
    ("integer_from_string", {"type": "integer"}, "42", 42),
    ("integer_negative", {"type": "integer"}, -7, -7),
    ("bigint", {"type": "bigint"}, 2 ** 40, 2 ** 40),
    ("decimal", {"type": "decimal", "precision": 12, "scale": 2}, 1234.5, Decimal("1234.5")),
    ("decimal_plain", {"type": "decimal"}, "3.14159265358979", Decimal("3.14159265358979")),
    ("float", {"type": "float"}, 1.5, Decimal("1.5")),
    ("currency", {"type": "currency", "currency": "EUR"}, 19.99, Decimal("19.99")),
    ("percent", {"type": "percent", "min": 0, "max": 100}, 12.5, Decimal("12.5")),
    ("boolean_true", {"type": "boolean"}, True, True),
    ("boolean_false", {"type": "boolean"}, False, False),
    ("date", {"type": "date"}, "2026-01-31", "2026-01-31"),
    ("time", {"type": "time"}, "13:45:00", "13:45:00"),
    ("duration", {"type": "duration"}, "1 day 02:00:00", "1 day 02:00:00"),
    ("duration_minutes", {"type": "duration"}, "90 minutes", "01:30:00"),
    ("email", {"type": "email"}, "ann@example.com", "ann@example.com"),
    ("url", {"type": "url"}, "https://example.com/a?b=c", "https://example.com/a?b=c"),
    ("phone", {"type": "phone"}, "+1 (555) 123-4567", "+1 (555) 123-4567"),
    ("json_object", {"type": "json"}, {"a": [1, 2, {"b": None}], "c": "d"}, {"a": [1, 2, {"b": None}], "c": "d"}),
    ("json_array", {"type": "json"}, [1, "x", True], [1, "x", True]),
    ("uuid", {"type": "uuid"}, "6f1c1a8e-2b8e-4a57-9b7e-0c6d1f4b2a10", "6f1c1a8e-2b8e-4a57-9b7e-0c6d1f4b2a10"),
    ("select", {"type": "select", "options": ["a", "b"]}, "b", "b"),
    ("multi_select", {"type": "multi_select", "options": ["x", "y", "z"]}, ["z", "x"], ["z", "x"]),
    ("multi_select_empty", {"type": "multi_select", "options": ["x"]}, [], []),
    ("rating", {"type": "rating"}, 4, 4),
    ("rating_zero", {"type": "rating", "max": 10}, 0, 0),
    ("color", {"type": "color"}, "#A1b2C3", "#A1b2C3"),
]


@pytest.mark.parametrize("spec,value,expected", [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_value_round_trips(ctx, schema, spec, value, expected):
    fn(ctx, "create_table", table("t", {"name": "cell", **spec}))
    rec = fn(ctx, "create_record", "t", {"cell": value})
    assert rec["cell"] == expected
    assert type(rec["cell"]) is type(expected) or (is_number(rec["cell"]) and is_number(expected))
    assert fn(ctx, "get_record", "t", uuid.UUID(rec["id"])) == rec


def test_numbers_read_as_json_numbers(ctx):
    fn(ctx, "create_table", table("t", *[{"name": t, "type": t} for t in
                                         ("integer", "bigint", "decimal", "float", "currency", "percent",
                                          "rating", "autonumber")]))
    rec = fn(ctx, "create_record", "t", {"integer": "1", "bigint": "2", "decimal": "3.5", "float": "4.25",
                                         "currency": "5", "percent": "6.5", "rating": "3"})
    for name in ("integer", "bigint", "decimal", "float", "currency", "percent", "rating", "autonumber"):
        assert is_number(rec[name]), (name, rec[name])
    assert [rec[n] for n in ("integer", "bigint", "rating")] == [1, 2, 3]
    assert same_number(rec["decimal"], "3.5") and same_number(rec["float"], "4.25")
    assert same_number(rec["currency"], 5) and same_number(rec["percent"], "6.5")


def test_datetime_round_trips_as_iso_string(ctx):
    fn(ctx, "create_table", table("t", {"name": "cell", "type": "datetime"}))
    rec = fn(ctx, "create_record", "t", {"cell": "2026-01-31T10:00:00+00:00"})
    assert isinstance(rec["cell"], str)
    assert datetime.fromisoformat(rec["cell"]) == datetime(2026, 1, 31, 10, tzinfo=timezone.utc)


def test_null_values_round_trip(ctx):
    fn(ctx, "create_table", table("t", {"name": "a", "type": "text"}, {"name": "b", "type": "integer"},
                                  {"name": "c", "type": "date"}, {"name": "d", "type": "json"}))
    rec = fn(ctx, "create_record", "t", {"a": None, "b": None})
    assert (rec["a"], rec["b"], rec["c"], rec["d"]) == (None, None, None, None)


def test_relation_user_file_values(ctx, company, target):
    file = fn(ctx, "register_file", file_spec())
    fn(ctx, "create_table", table("t", {"name": "rel", "type": "relation", "target": "targets"},
                                  {"name": "who", "type": "user"}, {"name": "doc", "type": "file"}))
    rec = fn(ctx, "create_record", "t", {"rel": target, "who": str(company["owner"]), "doc": file["id"]})
    assert (rec["rel"], rec["who"], rec["doc"]) == (target, str(company["owner"]), file["id"])
    assert fn(ctx, "get_record", "t", uuid.UUID(rec["id"])) == rec


# --- invalid values are refused -------------------------------------------------------

# (id, column spec, value, codes, rule or None)
INVALID = [
    ("integer_abc", {"type": "integer"}, "abc", ("22P02",), None),
    ("integer_above_max", {"type": "integer", "min": 0, "max": 10}, 11, ("23514",), "max"),
    ("integer_below_min", {"type": "integer", "min": 0, "max": 10}, -1, ("23514",), "min"),
    ("bigint_abc", {"type": "bigint"}, "x1", ("22P02",), None),
    ("decimal_abc", {"type": "decimal", "precision": 12, "scale": 2}, "abc", ("22P02",), None),
    ("decimal_below_min", {"type": "decimal", "precision": 12, "scale": 2, "min": 0}, -0.5, ("23514",), "min"),
    ("float_abc", {"type": "float"}, "abc", ("22P02",), None),
    ("float_above_max", {"type": "float", "max": 1}, 1.5, ("23514",), "max"),
    ("currency_abc", {"type": "currency"}, "ten", ("22P02",), None),
    ("percent_above_max", {"type": "percent", "max": 100}, 101, ("23514",), "max"),
    ("boolean_maybe", {"type": "boolean"}, "maybe", ("22P02",), None),
    ("date_bad", {"type": "date"}, "2026-13-45", ("22008", "22007"), None),
    ("date_garbage", {"type": "date"}, "someday", ("22007", "22008"), None),
    ("date_below_min", {"type": "date", "min": "2026-01-01"}, "2025-12-31", ("23514",), "min"),
    ("time_bad", {"type": "time"}, "25:99", ("22008", "22007"), None),
    ("datetime_bad", {"type": "datetime"}, "not a time", ("22007", "22008"), None),
    ("duration_bad", {"type": "duration"}, "forever", ("22007", "22008", "22P02"), None),
    ("email_nope", {"type": "email"}, "nope", ("23514",), "format"),
    ("email_no_tld", {"type": "email"}, "a@b", ("23514",), "format"),
    ("url_no_scheme", {"type": "url"}, "example.com", ("23514",), "format"),
    ("url_ftp", {"type": "url"}, "ftp://example.com", ("23514",), "format"),
    ("phone_letters", {"type": "phone"}, "call me", ("23514",), "format"),
    ("phone_short", {"type": "phone"}, "12", ("23514",), "format"),
    ("uuid_x", {"type": "uuid"}, "x", ("22P02",), None),
    ("select_outside", {"type": "select", "options": ["a", "b"]}, "c", ("23514",), "options"),
    ("multi_select_one_unknown", {"type": "multi_select", "options": ["x", "y"]}, ["x", "nope"], ("23514",),
     "options"),
    ("color_name", {"type": "color"}, "red", ("23514",), ("format", "pattern")),
    ("color_short", {"type": "color"}, "#fff", ("23514",), ("format", "pattern")),
    ("rating_above_max", {"type": "rating", "max": 5}, 9, ("23514",), "max"),
    ("rating_default_max", {"type": "rating"}, 6, ("23514",), "max"),
    ("rating_negative", {"type": "rating"}, -1, ("23514",), "min"),
    ("text_too_long", {"type": "text", "max_length": 5}, "toolong", ("23514",), "max_length"),
    ("text_too_short", {"type": "text", "min_length": 3}, "ab", ("23514",), "min_length"),
    ("text_pattern", {"type": "text", "pattern": "^[A-Z]+$"}, "abc", ("23514",), "pattern"),
    ("long_text_too_long", {"type": "long_text", "max_length": 3}, "abcd", ("23514",), "max_length"),
    ("relation_unknown", {"type": "relation", "target": "targets"}, str(uuid.uuid4()), ("23503",), None),
    ("relation_not_uuid", {"type": "relation", "target": "targets"}, "x", ("22P02",), None),
    ("user_unknown", {"type": "user"}, str(uuid.uuid4()), ("23503",), None),
    ("file_unknown", {"type": "file"}, str(uuid.uuid4()), ("23503",), None),
]


def _make(ctx, spec):
    if spec.get("target") == "targets":
        fn(ctx, "create_table", table("targets", {"name": "label", "type": "text"}))
    fn(ctx, "create_table", table("t", {"name": "cell", **spec}))


@pytest.mark.parametrize("spec,value,codes,rule", [v[1:] for v in INVALID], ids=[v[0] for v in INVALID])
def test_invalid_value_is_refused(ctx, schema, spec, value, codes, rule):
    _make(ctx, spec)
    with raises(*codes) as exc:
        fn(ctx, "create_record", "t", {"cell": value})
    assert count(ctx, schema) == 0
    if codes == ("23514",):
        info = detail(exc)
        assert info["column"] == "cell"
        assert info["rule"] in (rule if isinstance(rule, tuple) else (rule,))
        assert "value" in info
        if isinstance(value, str):
            assert info["value"] == value
        elif is_number(value) or isinstance(value, float):
            assert same_number(info["value"], value)
    if codes[0] == "22P02":
        assert "cell" in str(exc.value), "the message names the column"


@pytest.mark.parametrize("spec,value,codes", [v[1:4] for v in INVALID if v[3][0] in ("23514", "23503")],
                         ids=[v[0] for v in INVALID if v[3][0] in ("23514", "23503")])
def test_invalid_value_is_refused_for_plain_sql(ctx, schema, spec, value, codes):
    _make(ctx, spec)
    with raises(*codes):
        sql_insert(ctx, schema, value)
    assert count(ctx, schema) == 0


@pytest.mark.parametrize("spec,value,codes", [v[1:4] for v in INVALID], ids=[v[0] for v in INVALID])
def test_invalid_value_is_refused_on_update(ctx, schema, spec, value, codes):
    _make(ctx, spec)
    rec = fn(ctx, "create_record", "t", {})
    with raises(*codes):
        fn(ctx, "update_record", "t", uuid.UUID(rec["id"]), {"cell": value})
    assert fn(ctx, "get_record", "t", uuid.UUID(rec["id"])) == rec


def test_valid_relation_by_plain_sql(ctx, schema, target):
    fn(ctx, "create_table", table("t", {"name": "cell", "type": "relation", "target": "targets"}))
    sql_insert(ctx, schema, target)
    assert count(ctx, schema) == 1


# --- autonumber, formula ----------------------------------------------------------------

def test_autonumber(ctx, schema):
    fn(ctx, "create_table", table("t", {"name": "title", "type": "text"},
                                  {"name": "num", "type": "autonumber", "prefix": "INV-"}))
    nums = [fn(ctx, "create_record", "t", {"title": str(i)})["num"] for i in range(3)]
    assert all(isinstance(n, int) for n in nums)
    assert nums == sorted(nums) and len(set(nums)) == 3
    batch = fn(ctx, "create_records", "t", [{"title": "a"}, {"title": "b"}])
    assert batch[0]["num"] > nums[-1] and batch[1]["num"] > batch[0]["num"]
    plain = one(ctx, f"insert into {schema}.t (title) values ('sql') returning num")
    assert plain > batch[1]["num"]
    with raises("22023"):
        fn(ctx, "create_record", "t", {"title": "x", "num": 99})
    with raises("22023"):
        fn(ctx, "update_record", "t", uuid.UUID(batch[0]["id"]), {"num": 99})
    assert count(ctx, schema) == 6


def test_formula_is_read_only(ctx, schema):
    fn(ctx, "create_table", table("t", {"name": "a", "type": "integer"},
                                  {"name": "b", "type": "formula", "expression": "a + 1"}))
    rec = fn(ctx, "create_record", "t", {"a": 1})
    assert rec["b"] == 2
    with raises("22023"):
        fn(ctx, "create_record", "t", {"a": 1, "b": 5})
    with raises("22023"):
        fn(ctx, "update_record", "t", uuid.UUID(rec["id"]), {"b": 5})
    assert fn(ctx, "update_record", "t", uuid.UUID(rec["id"]), {"a": 10})["b"] == 11
    assert count(ctx, schema) == 1


# --- relation_many -----------------------------------------------------------------------

@pytest.fixture
def tags(ctx):
    fn(ctx, "create_table", table("tags", {"name": "name", "type": "text"}))
    fn(ctx, "create_table", table("posts", {"name": "title", "type": "text"},
                                  {"name": "tags", "type": "relation_many", "target": "tags"}))
    return [r["id"] for r in fn(ctx, "create_records", "tags", [{"name": n} for n in ("a", "b", "c")])]


def test_relation_many_round_trips_in_order(ctx, tags):
    t1, t2, t3 = tags
    post = fn(ctx, "create_record", "posts", {"title": "props", "tags": [t3, t1, t2]})
    assert post["tags"] == [t3, t1, t2]
    assert fn(ctx, "get_record", "posts", uuid.UUID(post["id"]))["tags"] == [t3, t1, t2]
    empty = fn(ctx, "create_record", "posts", {"title": "none"})
    assert empty["tags"] == []
    assert fn(ctx, "create_record", "posts", {"title": "explicit", "tags": []})["tags"] == []


def test_relation_many_update_replaces_the_set(ctx, tags):
    t1, t2, t3 = tags
    post = fn(ctx, "create_record", "posts", {"title": "props", "tags": [t1, t2]})
    pid = uuid.UUID(post["id"])
    updated = fn(ctx, "update_record", "posts", pid, {"tags": [t3, t2]})
    assert updated["tags"] == [t3, t2]
    assert fn(ctx, "get_record", "posts", pid)["tags"] == [t3, t2]
    assert fn(ctx, "update_record", "posts", pid, {"tags": []})["tags"] == []


def test_relation_many_unknown_id(ctx, schema, tags):
    with raises("23503"):
        fn(ctx, "create_record", "posts", {"title": "props", "tags": [tags[0], str(uuid.uuid4())]})
    assert count(ctx, schema, "posts") == 0
    post = fn(ctx, "create_record", "posts", {"title": "props", "tags": [tags[0]]})
    with raises("23503"):
        fn(ctx, "update_record", "posts", uuid.UUID(post["id"]), {"tags": [str(uuid.uuid4())]})
    assert fn(ctx, "get_record", "posts", uuid.UUID(post["id"])) == post


# --- files ----------------------------------------------------------------------------------

def test_register_file(ctx):
    spec = file_spec()
    file = fn(ctx, "register_file", spec)
    assert set(file) == {"id", "name", "size", "mime", "sha256", "storage_key"}
    assert {k: file[k] for k in spec} == spec
    uuid.UUID(file["id"])
    again = fn(ctx, "register_file", file_spec(name="copy.pdf"))
    assert again["id"] == file["id"] and again["name"] == "report.pdf"
    other = fn(ctx, "register_file", file_spec(sha="b" * 64))
    assert other["id"] != file["id"]


@pytest.mark.parametrize("spec", [
    {k: v for k, v in file_spec().items() if k != "sha256"},
    {k: v for k, v in file_spec().items() if k != "name"},
    {**file_spec(), "sha256": "xyz"},
    {**file_spec(), "sha256": "a" * 63},
    {**file_spec(), "size": -1},
    {**file_spec(), "size": "big"},
    {**file_spec(), "colour": "red"},
    {**file_spec(), "id": str(uuid.uuid4())},
    [],
])
def test_register_file_bad_spec(ctx, spec):
    with raises("22023"):
        fn(ctx, "register_file", spec)


def test_register_file_needs_context(connect):
    with raises("42501"):
        fn(connect(), "register_file", file_spec())


def test_file_column_accepts_the_file_id(ctx, schema):
    file = fn(ctx, "register_file", file_spec())
    fn(ctx, "create_table", table("t", {"name": "cell", "type": "file"}))
    rec = fn(ctx, "create_record", "t", {"cell": file["id"]})
    assert rec["cell"] == file["id"]
    sql_insert(ctx, schema, file["id"])
    assert count(ctx, schema) == 2


# --- property-based ---------------------------------------------------------------------

OPTIONS = ["draft", "active", "done"]
TAGS = ["red", "green", "blue", "black"]
PROP_COLUMNS = [
    {"name": "title", "type": "text", "max_length": 20},
    {"name": "qty", "type": "integer", "min": -1000, "max": 1000},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "flag", "type": "boolean"},
    {"name": "day", "type": "date"},
    {"name": "status", "type": "select", "options": OPTIONS},
    {"name": "tags", "type": "multi_select", "options": TAGS},
]

chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
texts = st.text(chars, max_size=20)
decimals = st.decimals(min_value=-10 ** 9, max_value=10 ** 9, places=2, allow_nan=False, allow_infinity=False)
valid_rows = st.fixed_dictionaries({
    "title": st.one_of(st.none(), texts),
    "qty": st.one_of(st.none(), st.integers(-1000, 1000)),
    "amount": decimals,
    "flag": st.booleans(),
    "day": st.dates(date(1900, 1, 1), date(2200, 12, 31)),
    "status": st.sampled_from(OPTIONS),
    "tags": st.lists(st.sampled_from(TAGS), unique=True),
})


def as_json(row):
    """Python values to the JSON a client sends."""
    return {**row, "amount": float(row["amount"]), "day": row["day"].isoformat()}


def check_round_trip(row, rec):
    assert rec["title"] == row["title"] and rec["qty"] == row["qty"] and rec["flag"] == row["flag"]
    assert Decimal(str(rec["amount"])) == row["amount"]
    assert rec["day"] == row["day"].isoformat()
    assert rec["status"] == row["status"] and rec["tags"] == row["tags"]


@pytest.fixture
def prop(ctx):
    fn(ctx, "create_table", table("props", *PROP_COLUMNS))
    return ctx


@PROPERTY
@given(row=valid_rows)
def test_property_valid_records_round_trip(prop, row):
    rec = fn(prop, "create_record", "props", as_json(row))
    check_round_trip(row, rec)
    assert fn(prop, "get_record", "props", uuid.UUID(rec["id"])) == rec


@PROPERTY
@given(rows=st.lists(valid_rows, min_size=1, max_size=5))
def test_property_valid_batches_round_trip(prop, rows):
    recs = fn(prop, "create_records", "props", [as_json(r) for r in rows])
    assert len(recs) == len(rows)
    for row, rec in zip(rows, recs):
        check_round_trip(row, rec)


# (patch to a valid row, allowed SQLSTATEs)
invalid_patches = st.one_of(
    st.integers(1001, 2 ** 31 - 1).map(lambda n: ({"qty": n}, ("23514",))),
    st.integers(-2 ** 31, -1001).map(lambda n: ({"qty": n}, ("23514",))),
    st.text(chars, min_size=21, max_size=40).map(lambda s: ({"title": s}, ("23514",))),
    st.text(chars, min_size=1, max_size=10).filter(lambda s: s not in OPTIONS)
    .map(lambda s: ({"status": s}, ("23514",))),
    st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=8)
    .filter(lambda s: s not in TAGS).map(lambda s: ({"tags": ["red", s]}, ("23514",))),
    st.sampled_from(["abc", "1.5.2", "one", "--"]).map(lambda s: ({"qty": s}, ("22P02",))),
)


def _invalid_row(data, patch):
    return {**as_json(data), **patch}


@PROPERTY
@given(row=valid_rows, bad=invalid_patches)
def test_property_invalid_records_are_refused(prop, schema, row, bad):
    patch, codes = bad
    before = count(prop, schema, "props")
    with raises(*codes):
        fn(prop, "create_record", "props", _invalid_row(row, patch))
    assert count(prop, schema, "props") == before


@PROPERTY
@given(rows=st.lists(valid_rows, min_size=1, max_size=6), bad=invalid_patches, where=st.integers(0, 6))
def test_property_batch_with_one_bad_row_writes_nothing(prop, schema, rows, bad, where):
    patch, codes = bad
    batch = [as_json(r) for r in rows]
    batch.insert(min(where, len(batch)), _invalid_row(rows[0], patch))
    before = count(prop, schema, "props")
    with raises(*codes):
        fn(prop, "create_records", "props", batch)
    assert count(prop, schema, "props") == before


@PROPERTY
@given(row=valid_rows, bad=invalid_patches)
def test_property_invalid_update_changes_nothing(prop, row, bad):
    patch, codes = bad
    rec = fn(prop, "create_record", "props", as_json(row))
    with raises(*codes):
        fn(prop, "update_record", "props", uuid.UUID(rec["id"]), patch)
    assert fn(prop, "get_record", "props", uuid.UUID(rec["id"])) == rec
