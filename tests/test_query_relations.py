"""Relations both ways, functions on paths, and their permissions (contract
section 4.1, docs/reference.md "Queries"): paths through users and files,
reverse relations (embeds, _some/_none/_every, child aggregates),
relation_many columns as to-many paths, functions on paths (year ... date,
count) in columns, filters, sort and group_by, a function filter that an
index serves, every new path under a member's grants, and random specs:
valid ones against the Python model of test_query_school, hostile ones
that may only fail with a contract SQLSTATE and change nothing.

The data set is the school of test_query_school (classes, students with
class_id and mentor_id, attendance), built once per module; every test here
only reads it.
"""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, note, settings, strategies as st
from hypothesis.control import currently_in_test_context
from psycopg.types.json import Jsonb

from conftest import SERVICE_LOGIN
from helpers import code_of, expect_codes, fn, one, raises, set_context
from test_query_data import PRODUCTS, shop  # noqa: F401 (shop: the module's shop database)
from test_query_school import (BUSY, FILES, TAGS, TEACHERS, Model, close, normalize, rid,  # noqa: F401
                               school)

PROPERTY = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
#: what a query function may fail with (test_query_fuzz's ALLOWED, and 54000 for a spec past the size limits)
ALLOWED = {"42P01", "42703", "22023", "42501", "22P02", "22007", "22008", "54000"}

S = "students!class_id"  # the reverse relation classes -> students through class_id


def q(conn, slug, spec):
    return fn(conn, "query_table", slug, spec)


def agg(conn, slug, spec):
    return fn(conn, "aggregate", slug, spec)


def rows_of(conn, slug, spec):
    return normalize(q(conn, slug, spec)["rows"])


def same(want, got):
    """Model rows equal actual rows (averages to 1e-9); on a difference pytest shows both."""
    if not close(want, got):
        assert got == want


def check(conn, model, slug, spec):
    """query_table(slug, spec) returns the model's rows, and its total counts the model's matches."""
    res = q(conn, slug, spec)
    want = model.query(slug, spec)
    if currently_in_test_context():  # hypothesis statistics: the random specs are not all empty
        event(f"{slug}: {'no rows' if not want else 'rows'}")
    same(want, normalize(res["rows"]))
    assert res["total"] == sum(1 for r in model.rows(slug) if model.matches(slug, r, spec.get("filters")))
    return res


@pytest.fixture(scope="module")
def owner(school):
    return school.conn


@pytest.fixture(scope="module")
def model(school):
    return Model(school)


def email(school, key):
    return school.users[str(school.people[key])]["email"]


def cid(school, name):
    return school.named("classes", name)["id"]


# --- users and files are relations ------------------------------------------------------------------

def test_user_paths_in_columns(owner, model):
    check(owner, model, "classes", {"columns": ["name", "teacher.email", "teacher.display_name", "teacher.id",
                                                "created_by.email", "updated_by.display_name"],
                                    "sort": ["name"]})
    # at any depth
    check(owner, model, "students", {"columns": ["name", "class_id.teacher.email", "class_id.created_by.display_name",
                                                 "updated_by.email"], "sort": ["name"], "limit": 100})
    check(owner, model, "attendance", {"columns": ["id", "student_id.class_id.teacher.display_name",
                                                   "student_id.created_by.email"], "limit": 1000})


def test_user_paths_read_the_users(owner, school):
    rows = rows_of(owner, "classes", {"columns": ["name", "teacher.email", "teacher.display_name"], "sort": ["name"]})
    assert rows[0] == {"name": "Algebra", "teacher.email": email(school, "t1"), "teacher.display_name": "Teacher One"}
    assert rows[4] == {"name": "English", "teacher.email": None, "teacher.display_name": None}  # no teacher


def test_file_paths_in_columns(owner, model, school):
    res = check(owner, model, "classes", {
        "columns": ["name", "photo.name", "photo.size", "photo.mime", "photo.sha256", "photo.storage_key", "photo.id"],
        "sort": ["name"]})
    algebra, chemistry = res["rows"][0], res["rows"][2]
    assert algebra["photo.mime"] == "image/jpeg" and algebra["photo.size"] == 2048
    assert algebra["photo.storage_key"] == FILES["f1"]["storage_key"]
    assert set(chemistry.values()) == {"Chemistry", None}  # no photo: every file path is null


def test_user_and_file_paths_in_filters_and_sort(owner, model, school):
    for spec in [
        {"filters": {"teacher.email": email(school, "t1")}},
        {"filters": {"teacher.display_name": {"in": ["Teacher Two", "Teacher Four"]}}},
        {"filters": {"teacher.email": {"is_null": True}}},
        {"filters": {"photo.mime": {"starts_with": "image/"}}},
        {"filters": {"photo.size": {"gt": 1000}, "photo.name": {"neq": "lab.png"}}},
        {"filters": {"_or": [{"photo.sha256": "c" * 64}, {"updated_by.display_name": "Teacher Two"}]}},
        {"sort": ["photo.size", "-teacher.display_name"]},
        {"sort": ["-photo.mime", "teacher.email"]},
        {"sort": ["created_by.email", "name"]},
    ]:
        check(owner, model, "classes", {"columns": ["name"], **spec})
    for spec in [
        {"filters": {"created_by.email": email(school, "t3")}},
        {"filters": {"updated_by.display_name": {"neq": "Teacher Three"}}},
        {"filters": {"class_id.teacher.display_name": "Teacher One"}},
        {"filters": {"class_id.photo.mime": "application/pdf"}},
        {"sort": ["class_id.teacher.email", "-class_id.photo.size", "name"]},
    ]:
        check(owner, model, "students", {"columns": ["name"], "limit": 100, **spec})
    check(owner, model, "attendance", {"columns": ["id"], "limit": 1000,
                                       "filters": {"student_id.class_id.teacher.email": email(school, "t2")}})


def test_aggregate_filters_take_the_new_paths(owner, model):
    """aggregate's filters take quantifiers, child aggregates and functions like query_table's."""
    for slug, filters in [("classes", {S: {"_some": {"age": {"gte": 14}}}}),
                          ("classes", {f"count({S})": {"gte": 5}, "teacher.display_name": {"neq": "x"}}),
                          ("students", {"attendance": {"_none": {"present": False}}, "year(born)": {"gte": 2012}}),
                          ("students", {"_or": [{"count(attendance)": 0}, {"class_id.photo.mime": "image/png"}]})]:
        group_by = ["year"] if slug == "classes" else ["class_id.name"]
        res = agg(owner, slug, {"group_by": group_by, "metrics": {"n": "count"}, "filters": filters})
        assert {tuple(g[p] for p in group_by): g["n"] for g in res["groups"]} == model.groups(slug, group_by, filters)


def test_user_and_file_paths_in_group_by(owner, model):
    for slug, group_by in [("students", ["class_id.teacher.display_name"]), ("classes", ["photo.mime"]),
                           ("attendance", ["created_by.email"]),
                           ("attendance", ["student_id.class_id.teacher.email", "present"])]:
        res = agg(owner, slug, {"group_by": group_by, "metrics": {"n": "count"}})
        got = {tuple(g[p] for p in group_by): g["n"] for g in res["groups"]}
        assert got == model.groups(slug, group_by)
        assert all(set(g) == {*group_by, "n"} for g in res["groups"])


def test_user_path_of_a_user_outside_the_company_reads_no_email(owner, school, db_admin):
    """A user column may hold any docpal user's id; its email and name are another company's
    business unless that user belongs to this company (decision: read as null, id kept)."""
    stranger = one(db_admin, "select docpal.create_user(%s, 'Stranger')",
                   f"stranger-{school.company['slug']}@example.org")
    owner.execute("begin")
    try:
        r = fn(owner, "create_record", "classes", {"name": "Zoology", "teacher": str(stranger)})
        rows = rows_of(owner, "classes", {"columns": ["teacher.id", "teacher.email", "teacher.display_name"],
                                          "filters": {"id": r["id"]}})
        assert rows == [{"teacher.id": str(stranger), "teacher.email": None, "teacher.display_name": None}]
        spec = {"columns": ["id"], "filters": {"teacher.email": {"like": "stranger%"}}}
        assert q(owner, "classes", spec)["rows"] == []
    finally:
        owner.execute("rollback")


@pytest.fixture(scope="module")
def db_admin(school):
    """A second superuser connection (no context) to the school's database."""
    with psycopg.connect(school.url, autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize("path,code", [
    ("teacher.nope", "42703"), ("teacher.email.x", "42703"), ("photo.nope", "42703"), ("photo.mime.x", "42703"),
    ("created_by.nope", "42703"), ("updated_by.password", "42703"), ("teacher.", "42703"),
    ("class_id.teacher.nope", "42703"),
])
def test_unknown_user_and_file_fields(owner, path, code):
    slug = "students" if path.startswith("class_id") else "classes"
    for spec in ({"columns": [path]}, {"filters": {path: "x"}}, {"sort": [path]}):
        with raises(code):
            q(owner, slug, spec)
    with raises(code):
        agg(owner, slug, {"group_by": [path], "metrics": {"n": "count"}})


def test_wrong_values_on_user_and_file_paths(owner):
    expect_codes([(spec, lambda spec=spec: q(owner, "classes", {"filters": spec}))
                  for spec in ({"photo.size": "big"}, {"photo.size": {"gt": "x"}}, {"teacher.id": "not-a-uuid"},
                               {"teacher.email": {"has_any": ["x"]}}, {"photo.mime": {"is_null": "yes"}})],
                 "22023", "22P02")


# --- embeds ------------------------------------------------------------------------------------------

def test_embed_children_with_columns_filters_sort_limit(owner, model):
    spec = {"columns": ["name", {S: {"columns": ["name", "age"], "filters": {"age": {"gte": 11}},
                                     "sort": ["-age", "name"], "limit": 3}}], "sort": ["name"]}
    res = check(owner, model, "classes", spec)
    assert all(set(r) == {"name", S} for r in res["rows"])
    assert any(len(r[S]) == 3 for r in res["rows"]) and any(r[S] == [] for r in res["rows"])


def test_embed_children_come_in_id_order_without_sort(owner, model, school):
    res = check(owner, model, "classes", {"columns": ["id", {S: {"columns": ["id", "name"]}}], "limit": 100})
    algebra = next(r for r in res["rows"] if r["id"] == cid(school, "Algebra"))
    assert len(algebra[S]) >= 5
    assert [c["id"] for c in algebra[S]] == sorted(c["id"] for c in algebra[S])


def test_embed_of_a_record_without_children_is_an_empty_array(owner, school):
    rows = rows_of(owner, "classes", {"columns": ["name", {S: {"columns": ["name"]}}],
                                      "filters": {"name": {"in": ["Italian", "Japanese"]}}, "sort": ["name"]})
    assert rows == [{"name": "Italian", S: []}, {"name": "Japanese", S: []}]


def test_embed_limit_defaults_to_50_and_goes_to_1000(owner, model, school):
    busy = rid("student", BUSY)
    for limit, n in ((None, 50), (1000, 55), (7, 7), (1, 1)):
        embed = {"columns": ["day"], **({} if limit is None else {"limit": limit})}
        spec = {"columns": ["name", {"attendance": embed}], "filters": {"id": busy}}
        res = check(owner, model, "students", spec)
        assert len(res["rows"][0]["attendance"]) == n


def test_embed_without_columns_holds_default_rows(owner, school):
    """Children without `columns` are rows as query_table returns them by default: read with
    query_table on the child table as the oracle."""
    res = q(owner, "classes", {"columns": ["id", {S: {}}], "limit": 100})
    for row in res["rows"]:
        want = q(owner, "students", {"filters": {"class_id": row["id"]}})["rows"]
        assert row[S] == want
    assert sum(len(r[S]) for r in res["rows"]) == sum(1 for s in school.rows["students"] if s["class_id"])


def test_embed_key_is_the_name_as_written(owner, model, school):
    check(owner, model, "classes", {"columns": ["name", {"students!mentor_id": {"columns": ["name"]}}],
                                    "sort": ["name"]})
    spec = {"columns": ["name", {"attendance!student_id": {"columns": ["day"], "sort": ["day"], "limit": 2}},
                        {"attendance": {"columns": ["present"], "sort": ["-day"], "limit": 2}}],
            "sort": ["name"], "limit": 100}
    check(owner, model, "students", spec)


def test_embeds_nest(owner, model):
    spec = {"columns": ["name", {S: {
        "columns": ["name", {"attendance": {"columns": ["day", "minutes_late"], "filters": {"minutes_late": {"gt": 0}},
                                            "sort": ["-day"], "limit": 2}}],
        "sort": ["name"], "limit": 4}}], "sort": ["name"]}
    res = check(owner, model, "classes", spec)
    assert any(s["attendance"] for r in res["rows"] for s in r[S])
    # three levels: classes -> partners -> students -> attendance
    spec = {"columns": ["name", {"partners": {"columns": ["name", {S: {"columns": ["name", {"attendance": {
        "columns": ["day"], "sort": ["day"], "limit": 1}}], "sort": ["name"], "limit": 2}}], "sort": ["name"]}}],
        "sort": ["name"]}
    check(owner, model, "classes", spec)


def test_embed_columns_take_every_kind_of_path(owner, model):
    spec = {"columns": ["name", {S: {
        "columns": ["name", "mentor_id.name", "class_id.teacher.email", "created_by.display_name", "year(born)",
                    "date(enrolled_at)", "count(tags)", "count(attendance)", "max(attendance.day)",
                    "sum(attendance.minutes_late)"],
        "sort": ["-count(attendance)", "name"], "limit": 5}}], "sort": ["name"]}
    check(owner, model, "classes", spec)


def test_embed_filters_take_quantifiers_aggregates_and_functions(owner, model):
    for filters in [
        {"attendance": {"_some": {"minutes_late": {"gte": 30}}}},
        {"attendance": {"_none": {"present": False}}},
        {"count(attendance)": {"gt": 12}},
        {"year(born)": {"in": [2011, 2012]}, "tags": {"has_any": ["chess"]}},
        {"_or": [{"age": {"lt": 10}}, {"_not": {"attendance": {"_some": {}}}}]},
    ]:
        check(owner, model, "classes", {"columns": ["name", {S: {"columns": ["name"], "filters": filters}}],
                                        "sort": ["name"]})


def test_embed_of_relation_many_holds_the_targets(owner, model, school):
    spec = {"columns": ["name", {"partners": {"columns": ["name", "year"], "sort": ["name"]}}],
            "sort": ["name"]}
    res = check(owner, model, "classes", spec)
    drama = next(r for r in res["rows"] if r["name"] == "Drama")
    assert [p["name"] for p in drama["partners"]] == ["History", "Italian", "Japanese"]
    check(owner, model, "classes", {"columns": ["name", {"partners": {"columns": ["name"], "filters": {"year": 2026},
                                                                      "sort": ["-name"], "limit": 1}}],
                                    "sort": ["name"]})


def test_relation_many_column_still_reads_as_ids(owner, school):
    rows = rows_of(owner, "classes", {"columns": ["name", "partners"], "sort": ["name"]})
    assert rows[3] == {"name": "Drama", "partners": [rid("class", 7), rid("class", 8), rid("class", 9)]}


def test_embeds_beside_paging_and_parent_filters(owner, model):
    for spec in [
        {"columns": ["name", {S: {"columns": ["name"], "sort": ["name"]}}], "sort": ["-name"], "limit": 3, "offset": 2},
        {"columns": [{S: {"columns": ["age"], "sort": ["age", "name"]}}, "name"], "filters": {"year": 2025},
         "sort": ["name"]},
        {"columns": ["name", {S: {"columns": ["name"], "limit": 1}},
                     {"students!mentor_id": {"columns": ["name"], "limit": 1}}],
         "filters": {S: {"_some": {}}}, "sort": ["name"]},
    ]:
        check(owner, model, "classes", spec)


def test_embeds_compile_into_one_statement(owner, school):
    """The whole spec, embeds included, is one statement: explain_query shows one SELECT whose
    children come from the child table in a subquery (never a query per row)."""
    text = one(owner, "select docpal.explain_query(%s, %s)", "classes",
               Jsonb({"columns": ["name", {S: {"columns": ["name", {"attendance": {"columns": ["day"]}}]}}]}))
    statement = text.partition("\n-- $1 = ")[0]
    assert f"{school.schema}.students" in statement and f"{school.schema}.attendance" in statement
    assert ";" not in statement


def relation_nodes(plan, relation):
    """Nodes of a JSON plan that read `relation`."""
    out = []
    if isinstance(plan, dict):
        if plan.get("Relation Name") == relation:
            out.append(plan)
        for v in plan.values():
            out += relation_nodes(v, relation)
    elif isinstance(plan, list):
        for v in plan:
            out += relation_nodes(v, relation)
    return out


def test_embeds_and_child_aggregates_run_once_per_row_of_the_page(owner, school):
    """The children of a page are read for the rows of the page only (3 here), never for every row of
    the table (10): EXPLAIN ANALYZE counts the loops of every node that reads students."""
    spec = {"columns": ["name", {S: {"columns": ["name", {"attendance": {"columns": ["day"], "limit": 2}}],
                                     "limit": 2}}, f"count({S})", f"max({S}.born)"],
            "sort": ["name"], "limit": 3}
    text = one(owner, "select docpal.explain_query(%s, %s)", "classes", Jsonb(spec))
    statement, _, rest = text.partition("\n-- $1 = ")
    owner.execute(f"prepare rel_page ({'jsonb, bigint'}) as {statement}")
    try:
        plan = psycopg.ClientCursor(owner).execute("explain (analyze, format json) execute rel_page (%s, null)",
                                                   (Jsonb(json.loads(rest.split(chr(10))[0])),)).fetchone()[0]
    finally:
        owner.execute("deallocate rel_page")
    nodes = relation_nodes(plan, "students")
    assert nodes and all(n["Actual Loops"] <= 3 for n in nodes), [(n["Node Type"], n["Actual Loops"]) for n in nodes]
    # attendance: once per embedded student at most (2 per class, 3 classes)
    assert all(n["Actual Loops"] <= 6 for n in relation_nodes(plan, "attendance"))


@pytest.mark.parametrize("item,code", [
    ({"students": {"columns": ["name"]}}, "22023"),           # two relations of students target classes
    ({"nope": {"columns": ["name"]}}, "42703"),
    ({"students!nope": {"columns": ["name"]}}, "42703"),
    ({"students!name": {"columns": ["name"]}}, "42703"),       # not a relation to classes
    ({"students!class_id!x": {}}, "42703"),
    ({"attendance": {}}, "42703"),                             # attendance does not point at classes
    ({"_files": {}}, "42703"),
    ({S: {"limit": 0}}, "22023"), ({S: {"limit": 1001}}, "22023"), ({S: {"limit": 2.5}}, "22023"),
    ({S: {"limit": "5"}}, "22023"), ({S: {"limit": None}}, "22023"), ({S: {"limit": 10 ** 30}}, "22023"),
    ({S: {"offset": 1}}, "22023"), ({S: {"search": "x"}}, "22023"), ({S: {"nope": 1}}, "22023"),
    ({S: {"columns": []}}, "22023"), ({S: {"columns": "name"}}, "22023"), ({S: {"columns": [5]}}, "22023"),
    ({S: {"filters": []}}, "22023"), ({S: {"sort": "name"}}, "22023"), ({S: 5}, "22023"), ({S: None}, "22023"),
    ({S: {"columns": ["name"]}, "students!mentor_id": {"columns": ["name"]}}, "22023"),  # one key per object
    ({}, "22023"),
    ({S: {"columns": ["nope"]}}, "42703"),
    ({S: {"columns": ["name"], "filters": {"nope": 1}}}, "42703"),
    ({S: {"columns": ["name"], "sort": ["nope"]}}, "42703"),
    ({S: {"columns": ["name"], "filters": {"age": {"bogus": 1}}}}, "22023"),
    ({S: {"columns": ["name"], "filters": {"age": "old"}}}, "22023"),
    ({S: {"columns": [{"attendance": {"limit": 0}}]}}, "22023"),
    ({S: {"columns": [{"nope": {}}]}}, "42703"),
])
def test_embed_errors(owner, item, code):
    with raises(code):
        q(owner, "classes", {"columns": ["name", item]})


@pytest.mark.parametrize("slug,spec", [
    ("classes", {"columns": [f"{S}.name"]}),
    ("classes", {"columns": [S]}),                       # a to-many path alone is not a column
    ("classes", {"columns": ["partners.name"]}),
    ("classes", {"filters": {f"{S}.age": 10}}),
    ("classes", {"filters": {"partners.name": "Algebra"}}),
    ("classes", {"sort": [f"{S}.age"]}),
    ("classes", {"sort": ["-partners.name"]}),
    ("students", {"columns": ["attendance.day"]}),
    ("students", {"columns": ["attendance"]}),
    ("students", {"filters": {"attendance.present": True}}),
    ("students", {"sort": ["attendance"]}),
    ("attendance", {"columns": [f"student_id.class_id.{S}.name"]}),
])
def test_string_paths_through_a_to_many_relation_are_refused(owner, slug, spec):
    """A plain path cannot go through a list: 42703 (docs/queries.md), and the message says what to
    write instead."""
    with raises("42703") as exc:
        q(owner, slug, spec)
    message = str(exc.value)
    assert "embed" in message and "_some" in message and "count(" in message, exc.value


def test_to_many_paths_in_group_by_are_refused(owner):
    for group_by in ([f"{S}.name"], ["attendance.day"], [S]):
        slug = "students" if group_by[0].startswith("attendance") else "classes"
        with raises("42703"):
            agg(owner, slug, {"group_by": group_by, "metrics": {"n": "count"}})


# --- _some, _none, _every ----------------------------------------------------------------------------

@pytest.mark.parametrize("filters", [
    {S: {"_some": {"age": {"gte": 14}}}},
    {S: {"_none": {"age": {"gte": 14}}}},
    {S: {"_every": {"age": {"gte": 10}}}},
    {S: {"_some": {"tags": {"has_any": ["chess"]}, "year(born)": {"lte": 2012}}}},
    {S: {"_some": {"attendance": {"_some": {"minutes_late": 30}}}}},
    {S: {"_every": {"attendance": {"_some": {}}}}},
    {S: {"_none": {"attendance": {"_every": {"present": True}}}}},
    {"students!mentor_id": {"_some": {}}, "year": 2025},
    {"partners": {"_some": {"name": "Algebra"}}},
    {"partners": {"_every": {"year": 2026}}},
    {"partners": {"_none": {}}},
    {"partners": {"_some": {S: {"_some": {"age": 15}}}}},
    {"_or": [{S: {"_some": {"name": {"starts_with": "A"}}}}, {"teacher.display_name": "Teacher Four"}]},
    {"_not": {S: {"_some": {"age": {"lt": 11}}}}},
    {"_and": [{S: {"_some": {"age": 9}}}, {S: {"_some": {"age": 15}}}]},
    {S: {"_some": {"_or": [{"age": {"is_null": True}}, {"born": {"is_null": True}}]}}},
    {S: {"_some": {"class_id.teacher.display_name": "Teacher One"}}},
    {S: {"_some": {"count(attendance)": {"gte": 14}}}},
])
def test_quantifiers_on_classes(owner, model, filters):
    check(owner, model, "classes", {"columns": ["name"], "filters": filters, "sort": ["name"]})


@pytest.mark.parametrize("filters", [
    {"attendance": {"_some": {"day": {"between": ["2026-03-01", "2026-03-31"]}}}},
    {"attendance": {"_none": {"minutes_late": {"gt": 0}}}},
    {"attendance": {"_every": {"present": True}}},
    {"attendance": {"_some": {"weekday(day)": 7}}, "age": {"gt": 10}},
    {"attendance!student_id": {"_some": {"year(day)": 2025}}},
    {"_not": {"attendance": {"_none": {}}}},
    {"class_id": {"is_null": False}, "attendance": {"_every": {"minutes_late": {"lt": 30}}}},
])
def test_quantifiers_on_students(owner, model, filters):
    check(owner, model, "students", {"columns": ["name"], "filters": filters, "sort": ["name"], "limit": 100})


def test_empty_quantifiers(owner, school):
    """_some {} is "has a child", _none {} "has none", _every {} holds for every record, those
    without children included."""
    def names(filters):
        res = q(owner, "classes", {"columns": ["name"], "filters": filters, "sort": ["name"]})
        return [r["name"] for r in res["rows"]]

    with_students = sorted({c["name"] for c in school.rows["classes"]
                            if any(s["class_id"] == c["id"] for s in school.rows["students"])})
    assert names({S: {"_some": {}}}) == with_students
    assert names({S: {"_none": {}}}) == sorted({c["name"] for c in school.rows["classes"]} - set(with_students))
    assert {"Italian", "Japanese"} <= set(names({S: {"_none": {}}}))
    assert names({S: {"_every": {}}}) == sorted(c["name"] for c in school.rows["classes"])
    # a class without students holds _every whatever the condition
    assert {"Italian", "Japanese"} <= set(names({S: {"_every": {"age": 99}}}))


def test_every_needs_every_child_to_match(owner, school, model):
    """_every holds when every child matches the filter, as query_table would match it: a child whose
    value is null does not match {"age": {"gte": 0}} (decision where the contract is silent)."""
    nulls = {s["class_id"] for s in school.rows["students"] if s["age"] is None and s["class_id"]}
    assert nulls
    rows = q(owner, "classes", {"columns": ["id"], "filters": {S: {"_every": {"age": {"gte": 0}}}},
                                "limit": 100})["rows"]
    assert not nulls & {r["id"] for r in rows}
    check(owner, model, "classes", {"columns": ["name"], "filters": {S: {"_every": {"age": {"gte": 0}}}}})


@pytest.mark.parametrize("filters,code", [
    ({"students": {"_some": {}}}, "22023"),                  # ambiguous
    ({"nope": {"_some": {}}}, "42703"),
    ({"students!nope": {"_some": {}}}, "42703"),
    ({S: {"_any": {}}}, "22023"),
    ({S: {"eq": 1}}, "22023"),
    ({S: {"_some": 5}}, "22023"),
    ({S: {"_some": []}}, "22023"),
    ({S: {"_some": None}}, "22023"),
    ({S: 5}, "22023"),
    ({S: None}, "22023"),
    ({S: {}}, "22023"),
    ({S: {"_some": {"nope": 1}}}, "42703"),
    ({S: {"_some": {"age": {"bogus": 1}}}}, "22023"),
    ({S: {"_some": {"age": "old"}}}, "22023"),
    ({S: {"_some": {"attendance": {"_some": {"nope": 1}}}}}, "42703"),
    ({S: {"_some": {"attendance.day": "2025-01-01"}}}, "42703"),  # a plain path through a list
    ({"partners": {"_some": {"nope": 1}}}, "42703"),
])
def test_quantifier_errors(owner, filters, code):
    with raises(code):
        q(owner, "classes", {"filters": filters})


# --- child aggregates --------------------------------------------------------------------------------

def test_child_aggregates_in_columns(owner, model, school):
    spec = {"columns": ["name", f"count({S})", f"sum({S}.age)", f"avg({S}.age)", f"min({S}.born)",
                        f"max({S}.born)", f"max({S}.enrolled_at)", f"min({S}.name)", "count(students!mentor_id)"],
            "sort": ["name"]}
    res = check(owner, model, "classes", spec)
    italian = next(r for r in res["rows"] if r["name"] == "Italian")
    assert italian[f"count({S})"] == 0
    assert all(italian[k] is None for k in spec["columns"][2:8])  # sum, avg, min, max of no children: null
    check(owner, model, "students", {"columns": ["name", "count(attendance)", "sum(attendance.minutes_late)",
                                                 "min(attendance.day)", "max(attendance.day)",
                                                 "avg(attendance.minutes_late)"], "sort": ["name"], "limit": 100})


def test_child_aggregates_in_sort_and_filters(owner, model):
    for spec in [
        {"sort": [f"-count({S})", "name"]},
        {"sort": [f"avg({S}.age)", "-name"]},
        {"sort": [f"-max({S}.born)"]},
        {"filters": {f"count({S})": {"gt": 6}}},
        {"filters": {f"count({S})": 0}},
        {"filters": {f"sum({S}.age)": {"gte": 60}}},
        {"filters": {f"avg({S}.age)": {"between": [11, 12.5]}}},
        {"filters": {f"min({S}.born)": {"lt": "2011-01-01"}}},
        {"filters": {f"max({S}.name)": {"starts_with": "Z"}}},
        {"filters": {"_not": {f"sum({S}.age)": {"gt": 40}}}},
        {"filters": {"_or": [{f"count({S})": {"lt": 3}}, {"count(students!mentor_id)": {"gte": 3}}]}},
    ]:
        check(owner, model, "classes", {"columns": ["name", f"count({S})"], **spec})
    for spec in [
        {"sort": ["-count(attendance)", "name"], "limit": 10},
        {"sort": ["max(attendance.day)", "name"]},
        {"filters": {"count(attendance)": 0}},
        {"filters": {"sum(attendance.minutes_late)": {"gt": 60}}, "sort": ["-sum(attendance.minutes_late)"]},
        {"filters": {"max(attendance.day)": {"lt": "2026-10-01"}}},
    ]:
        check(owner, model, "students", {"columns": ["name"], "limit": 100, **spec})


def test_count_of_arrays(owner, model, school):
    """count(p) on multi_select, relation_many and json array paths: the number of elements, 0 for an
    empty array and for null."""
    res = check(owner, model, "students", {"columns": ["name", "tags", "count(tags)"], "sort": ["name"], "limit": 100})
    assert any(r["tags"] is None and r["count(tags)"] == 0 for r in res["rows"])
    assert any(r["tags"] == [] and r["count(tags)"] == 0 for r in res["rows"])
    check(owner, model, "students", {"columns": ["name"], "filters": {"count(tags)": {"gte": 2}},
                                     "sort": ["-count(tags)"], "limit": 100})
    check(owner, model, "students", {"columns": ["name"], "filters": {"count(tags)": 0}, "limit": 100})
    res = check(owner, model, "classes", {"columns": ["name", "count(partners)"], "sort": ["-count(partners)", "name"]})
    assert res["rows"][0] == {"name": "Drama", "count(partners)": 3}


def test_count_of_json_arrays(shop):  # noqa: F811
    """count(p) on a json array path (the shop's products.metadata.labels): its length; 0 where the
    key is missing, the json is null, or the array is empty."""
    conn = shop.conn
    labels = {name: len(meta.get("labels", [])) if isinstance(meta, dict) else 0
              for name, _, _, _, _, _, _, meta, *_ in PRODUCTS}
    rows = q(conn, "products", {"columns": ["name", "count(metadata.labels)"], "limit": 100})["rows"]
    assert {r["name"]: r["count(metadata.labels)"] for r in rows} == labels
    assert labels["Zeta pan"] == 2 and labels["Kappa rake"] == 0  # (metadata null)
    res = q(conn, "products", {"columns": ["name"], "filters": {"count(metadata.labels)": {"gt": 0}}})
    assert res["rows"] == [{"name": "Zeta pan"}]
    res = q(conn, "products", {"columns": ["name"], "sort": ["-count(metadata.labels)"], "limit": 1})
    assert res["rows"] == [{"name": "Zeta pan"}]
    # the "" product's metadata is itself an empty array
    res = q(conn, "products", {"columns": ["count(metadata)"], "filters": {"name": ""}})
    assert res["rows"] == [{"count(metadata)": 0}]


@pytest.mark.parametrize("slug,path,code", [
    ("classes", f"sum({S}.name)", "22023"), ("classes", f"avg({S}.born)", "22023"),
    ("classes", f"sum({S}.tags)", "22023"), ("classes", f"avg({S}.enrolled_at)", "22023"),
    ("classes", "sum(partners.name)", "22023"), ("students", "sum(attendance.present)", "22023"),
    ("classes", "count(students)", "22023"), ("classes", "count(nope)", "42703"),
    ("classes", f"sum({S}.nope)", "42703"), ("classes", f"median({S}.age)", "42703"),
    ("classes", f"sum({S})", "22023"), ("classes", "count(name)", "22023"), ("students", "count(age)", "22023"),
    ("students", "count(born)", "22023"), ("classes", "count()", "42703"), ("classes", f"COUNT({S})", "42703"),
])
def test_child_aggregate_errors(owner, slug, path, code):
    for spec in ({"columns": [path]}, {"sort": [path]}, {"filters": {path: 1}}):
        with raises(code):
            q(owner, slug, spec)


def test_new_paths_in_views(owner, model, school):
    """Section 4.1 extends every query function: kanban cards take embeds, child aggregates and
    functions as columns; a dropdown's label may be a user path or a child aggregate."""
    columns = ["name", "year(born)", "count(attendance)",
               {"attendance": {"columns": ["day"], "sort": ["-day"], "limit": 2}}]
    res = fn(owner, "query_kanban", "students", {"group_by": "class_id", "columns": columns, "sort": ["name"],
                                                 "limit_per_group": 100})
    lanes = {g["value"]: normalize(g["rows"]) for g in res["groups"]}
    for class_id, rows in lanes.items():
        want = model.query("students", {"columns": columns, "filters": {"class_id": class_id} if class_id else
                                        {"class_id": {"is_null": True}}, "sort": ["name"], "limit": 100})
        same(want, rows)
    assert sum(len(r) for r in lanes.values()) == 60
    res = fn(owner, "query_dropdown", "classes", {"label": "teacher.email", "limit": 100})
    assert {o["id"]: o["label"] for o in res["options"]} == {
        c["id"]: model.value("classes", c, "teacher.email") for c in model.rows("classes")}
    res = fn(owner, "query_dropdown", "classes", {"label": f"count({S})", "limit": 100})
    assert {o["id"]: o["label"] for o in res["options"]} == {
        c["id"]: model.value("classes", c, f"count({S})") for c in model.rows("classes")}


# --- functions on paths ------------------------------------------------------------------------------

DATE_FUNCTIONS = ["year", "quarter", "month", "week", "day", "weekday", "hour"]


def test_functions_on_a_date_path(owner, model):
    res = check(owner, model, "students", {"columns": ["name", "born"] + [f"{f}(born)" for f in DATE_FUNCTIONS],
                                           "sort": ["name"], "limit": 100})
    assert all(r["hour(born)"] in (0, None) for r in res["rows"])
    check(owner, model, "attendance", {"columns": ["id", "day"] + [f"{f}(day)" for f in DATE_FUNCTIONS], "limit": 1000})


def test_functions_on_a_datetime_path_read_the_company_time_zone(owner, model, school):
    columns = ["name", "enrolled_at", "date(enrolled_at)"] + [f"{f}(enrolled_at)" for f in DATE_FUNCTIONS]
    res = check(owner, model, "students", {"columns": columns, "sort": ["name"], "limit": 100})
    by_name = {r["name"]: r for r in res["rows"]}
    # Pacific/Kiritimati is UTC+14: 09:59 UTC is 23:59 the same day, 10:00 UTC is midnight the next
    assert (by_name["Ada"]["date(enrolled_at)"], by_name["Ada"]["hour(enrolled_at)"]) == ("2025-08-31", 23)
    assert (by_name["Alan"]["date(enrolled_at)"], by_name["Alan"]["hour(enrolled_at)"]) == ("2025-09-01", 0)
    # 2026-12-31 10:00 UTC is already 2027 there
    dora = school.named("students", "Dora")
    assert dora["enrolled_at"] == dt.datetime(2026, 12, 31, 10, tzinfo=dt.timezone.utc)
    row = by_name["Dora"]
    assert (row["year(enrolled_at)"], row["quarter(enrolled_at)"], row["month(enrolled_at)"], row["day(enrolled_at)"],
            row["week(enrolled_at)"], row["weekday(enrolled_at)"]) == (2027, 1, 1, 1, 53, 5)


def test_iso_week_and_weekday_edges(owner):
    """2025-12-29 is a Monday in ISO week 1 of 2026; 2026-12-31 a Thursday of week 53."""
    rows = rows_of(owner, "attendance", {"columns": ["day", "year(day)", "week(day)", "weekday(day)"],
                                         "filters": {"day": {"in": ["2025-12-29", "2026-12-31", "2026-01-04"]}},
                                         "limit": 1000})
    got = {r["day"]: (r["year(day)"], r["week(day)"], r["weekday(day)"]) for r in rows}
    assert got == {"2025-12-29": (2025, 1, 1), "2026-12-31": (2026, 53, 4), "2026-01-04": (2026, 1, 7)}


@pytest.mark.parametrize("filters", [
    {"year(born)": 2012}, {"year(born)": {"gt": 2013}}, {"year(born)": {"gte": 2013}}, {"year(born)": {"lt": 2011}},
    {"year(born)": {"lte": 2011}}, {"year(born)": {"between": [2011, 2012]}}, {"year(born)": {"in": [2010, 2014]}},
    {"year(born)": {"neq": 2012}}, {"year(born)": {"nin": [2012, 2013]}}, {"year(born)": None},
    {"month(born)": {"in": [1, 12]}}, {"quarter(born)": 3}, {"week(born)": {"lte": 2}}, {"day(born)": 29},
    {"weekday(born)": {"in": [6, 7]}}, {"hour(born)": 0},
    {"year(enrolled_at)": 2026}, {"year(enrolled_at)": {"between": [2025, 2025]}},
    {"date(enrolled_at)": "2025-09-01"}, {"date(enrolled_at)": {"gt": "2025-12-31"}},
    {"date(enrolled_at)": {"between": ["2025-09-01", "2025-12-31"]}}, {"hour(enrolled_at)": {"in": [0, 23]}},
    {"month(enrolled_at)": 1, "day(enrolled_at)": {"lte": 7}},
    {"year(class_id.created_at)": {"gte": 2000}},
    {"_or": [{"year(born)": 2010}, {"_not": {"month(born)": {"lte": 6}}}]},
])
def test_function_filters(owner, model, filters):
    check(owner, model, "students", {"columns": ["name"], "filters": filters, "sort": ["name"], "limit": 100})


def test_function_filters_through_relations(owner, model):
    for filters in ({"year(student_id.born)": 2012, "present": True}, {"month(student_id.enrolled_at)": 9},
                    {"date(student_id.enrolled_at)": {"lt": "2025-09-02"}}):
        check(owner, model, "attendance", {"columns": ["id"], "filters": filters, "limit": 1000})


def test_the_time_zone_is_the_companys_current_one(school, db_admin):
    """Functions read datetimes in the company's time zone as it is now: after a change of
    settings.time_zone the same instant falls on another day; without one, UTC."""
    with psycopg.connect(school.url) as conn:  # one transaction, rolled back
        set_context(conn, school.company, school.company["owner"])
        spec = {"columns": ["date(enrolled_at)", "hour(enrolled_at)"], "filters": {"name": "Alan"}}
        assert rows_of(conn, "students", spec) == [{"date(enrolled_at)": "2025-09-01", "hour(enrolled_at)": 0}]
        for settings_, want in (({"time_zone": "America/Los_Angeles"}, ("2025-08-31", 3)), ({}, ("2025-08-31", 10))):
            conn.execute("select docpal.update_company(%s, %s)", (school.company["id"], Jsonb({"settings": settings_})))
            got = rows_of(conn, "students", spec)
            assert got == [{"date(enrolled_at)": want[0], "hour(enrolled_at)": want[1]}], settings_
        conn.rollback()


def test_functions_in_sort(owner, model):
    for sort in (["year(born)", "name"], ["-month(born)", "day(born)", "name"], ["-date(enrolled_at)", "name"],
                 ["hour(enrolled_at)", "-name"], ["weekday(born)"], ["-count(tags)", "year(born)"]):
        check(owner, model, "students", {"columns": ["name"], "sort": sort, "limit": 100})
    check(owner, model, "attendance", {"columns": ["id"], "sort": ["-year(student_id.born)", "week(day)"],
                                       "limit": 1000})


@pytest.mark.parametrize("group_by", [
    ["year(day)", "month(day)"], ["quarter(day)"], ["weekday(day)"], ["week(day)", "present"],
    ["year(student_id.born)"], ["date(student_id.enrolled_at)"], ["hour(student_id.enrolled_at)"],
    ["student_id.class_id.name", "year(day)"],
])
def test_functions_in_group_by(owner, model, group_by):
    res = agg(owner, "attendance", {"group_by": group_by, "metrics": {"n": "count", "late": {"sum": "minutes_late"}}})
    got = {tuple(g[p] for p in group_by): g["n"] for g in res["groups"]}
    assert got == model.groups("attendance", group_by)
    assert all(set(g) == {*group_by, "n", "late"} for g in res["groups"])
    # sums per group too, with a filter on a function
    res = agg(owner, "attendance", {"group_by": group_by, "metrics": {"late": {"sum": "minutes_late"}},
                                    "filters": {"year(day)": 2026}})
    want: dict = {}
    for a in model.rows("attendance"):
        if model.matches("attendance", a, {"year(day)": 2026}):
            key = tuple(model.project("attendance", a, group_by).values())
            late = want.get(key)
            want[key] = late if a["minutes_late"] is None else (late or 0) + a["minutes_late"]
    assert {tuple(g[p] for p in group_by): g["late"] for g in res["groups"]} == want


def test_function_as_a_dropdown_label(owner, model):
    """Functions are paths wherever a path is taken: here a dropdown's label."""
    res = fn(owner, "query_dropdown", "students", {"label": "year(born)", "limit": 100})
    want = {s["id"]: s["born"].year if s["born"] else None for s in model.rows("students")}
    assert {o["id"]: o["label"] for o in res["options"]} == want


@pytest.mark.parametrize("slug,path,code", [
    ("students", "year(name)", "22023"), ("students", "month(tags)", "22023"), ("students", "hour(age)", "22023"),
    ("students", "date(born)", "22023"), ("students", "date(name)", "22023"), ("students", "week(class_id)", "22023"),
    ("students", "count(enrolled_at)", "22023"), ("classes", "year(photo)", "22023"),
    ("classes", "day(teacher)", "22023"),
    ("students", "yaer(born)", "42703"), ("students", "YEAR(born)", "42703"), ("students", "now(born)", "42703"),
    ("students", "pg_sleep(born)", "42703"), ("students", "year(nope)", "42703"), ("students", "year(born", "42703"),
    ("students", "year born", "42703"), ("students", "year(born,1)", "42703"), ("students", "year()", "42703"),
    ("students", "year(class_id.nope)", "42703"),
])
def test_function_errors(owner, slug, path, code):
    for spec in ({"columns": [path]}, {"sort": [path]}, {"filters": {path: 1}}):
        with raises(code):
            q(owner, slug, spec)
    with raises(code):
        agg(owner, slug, {"group_by": [path], "metrics": {"n": "count"}})


@pytest.mark.parametrize("filters", [
    {"year(born)": {"gt": "x"}}, {"year(born)": {"in": ["a"]}}, {"year(born)": 2012.5},
    {"date(enrolled_at)": "not a date"}, {"date(enrolled_at)": 5}, {"count(tags)": "two"},
    {f"count({S})": "x"}, {"year(born)": {"like": "20%"}}, {"year(born)": True},
])
def test_wrong_values_for_function_paths(owner, filters):
    slug = "classes" if S in next(iter(filters)) else "students"
    with raises("22023", "22P02", "22007", "22008"):
        q(owner, slug, {"filters": filters})


# --- a function filter an index serves -------------------------------------------------------------

def index_scans(plan, index):
    """Nodes of a JSON plan that scan `index` with an Index Cond (a range, not a full scan)."""
    out = []
    if isinstance(plan, dict):
        if plan.get("Index Name") == index and plan.get("Index Cond"):
            out.append(plan)
        for v in plan.values():
            out += index_scans(v, index)
    elif isinstance(plan, list):
        for v in plan:
            out += index_scans(v, index)
    return out


@pytest.mark.parametrize("slug,column,filters", [
    ("attendance", "day", {"year(day)": 2026}),
    ("attendance", "day", {"year(day)": {"gt": 2025}}),
    ("attendance", "day", {"year(day)": {"gte": 2026}}),
    ("attendance", "day", {"year(day)": {"lt": 2026}}),
    ("attendance", "day", {"year(day)": {"lte": 2025}}),
    ("attendance", "day", {"year(day)": {"between": [2025, 2026]}}),
    ("students", "enrolled_at", {"year(enrolled_at)": 2025}),
    ("students", "enrolled_at", {"year(enrolled_at)": {"lt": 2026}}),
    ("students", "enrolled_at", {"date(enrolled_at)": "2025-09-01"}),
    ("students", "enrolled_at", {"date(enrolled_at)": {"gte": "2025-12-31"}}),
    ("students", "enrolled_at", {"date(enrolled_at)": {"between": ["2025-09-01", "2025-12-31"]}}),
    ("students", "born", {"year(born)": {"between": [2011, 2012]}, "age": {"gt": 10}}),
])
def test_function_filter_on_an_indexed_column_is_a_range(school, slug, column, filters, model):
    """year(day) = 2026 becomes day >= '2026-01-01' and day < '2027-01-01' (on a datetime, those
    instants in the company's time zone): EXPLAIN, with sequential scans off, shows an index scan
    with an Index Cond on the DBA's index of that column. The rows stay the model's."""
    index = f"rel_{column}_idx"
    with psycopg.connect(school.url) as conn:  # one transaction, rolled back: the index is gone after
        set_context(conn, school.company, school.company["owner"])
        conn.execute(f"create index {index} on {school.schema}.{slug} ({column})")
        conn.execute(f"analyze {school.schema}.{slug}")
        conn.execute("set local enable_seqscan = off")
        spec = {"columns": ["id"], "filters": filters, "limit": 1000}
        text = one(conn, "select docpal.explain_query(%s, %s)", slug, Jsonb(spec))
        statement, _, rest = text.partition("\n-- $1 = ")
        params = json.loads(rest.split("\n")[0])
        conn.execute(f"prepare rel_stmt (jsonb, bigint) as {statement}")
        plan = psycopg.ClientCursor(conn).execute("explain (format json) execute rel_stmt (%s, null)",
                                                  (Jsonb(params),)).fetchone()[0]
        assert index_scans(plan, index), json.dumps(plan, indent=1, default=str)[:6000]
        got = {r["id"] for r in fn(conn, "query_table", slug, Jsonb(spec))["rows"]}
        assert got == {r["id"] for r in model.rows(slug) if model.matches(slug, r, filters)}
        conn.rollback()


# --- permissions -------------------------------------------------------------------------------------

#: member -> list of roles, each {table: grant spec} (read)
MEMBERS = {
    "nostudents": [{"classes": {}}],
    "rows": [{"classes": {}, "students": {"row_filter": {"age": {"gte": 12}}},
              "attendance": {"row_filter": {"present": True}}}],
    "cols": [{"classes": {"columns": ["name", "year"]}, "students": {"columns": ["name", "age", "class_id"]},
              "attendance": {"columns": ["student_id", "day"]}}],
    "nolink": [{"classes": {}, "students": {"columns": ["name", "age", "born"]}}],
    "cells": [{"classes": {}, "students": {"columns": ["name", "age", "class_id"]}},
              {"students": {"columns": ["name", "class_id", "born"], "row_filter": {"age": {"gte": 12}}}}],
    "relfilter": [{"classes": {}, "students": {"row_filter": {"class_id.year": 2025, "mentor_id.name": {"neq": "x"}}},
                   "attendance": {}}],
    "linkcells": [{"classes": {}, "students": {"columns": ["name", "age"]}},
                  {"students": {"columns": ["name", "class_id"], "row_filter": {"age": {"gte": 12}}}}],
}


@pytest.fixture(scope="module")
def members(school):
    """member name -> a docpal_service connection acting as a member who holds those roles."""
    o, company = school.conn, school.company
    out = {}
    for name, roles in MEMBERS.items():
        user = one(o, "select docpal.create_user(%s, %s)", f"rel-{name}-{company['slug']}@example.com", name)
        o.execute("select docpal.add_member(%s, %s, 'member')", (company["id"], user))
        for i, grants in enumerate(roles):
            role = f"rel_{name}_{i}"
            o.execute("select docpal.create_role(%s)", (role,))
            for slug, spec in grants.items():
                o.execute("select docpal.grant_permission(%s, %s, array['read'], %s)", (role, slug, Jsonb(spec)))
            o.execute("select docpal.assign_role(%s, %s)", (user, role))
        url = school.url.replace(f"://{o.info.user}@", f"://{SERVICE_LOGIN}@")
        out[name] = set_context(psycopg.connect(url, autocommit=True), company, user)
    yield out
    for conn in out.values():
        conn.close()


def member_model(school, name):
    if name == "rows":
        return Model(school, visible={"students": lambda s: s["age"] is not None and s["age"] >= 12,
                                      "attendance": lambda a: a["present"] is True})
    if name == "cells":
        return Model(school, readable={"students": lambda s, c: c in ("name", "age", "class_id")
                                       or (c == "born" and s["age"] is not None and s["age"] >= 12)})
    if name == "relfilter":
        years = {c["id"]: c["year"] for c in school.rows["classes"]}
        names = {c["id"]: c["name"] for c in school.rows["classes"]}
        return Model(school, visible={"students": lambda s: years.get(s["class_id"]) == 2025
                                      and s["mentor_id"] is not None and names[s["mentor_id"]] != "x"})
    if name == "linkcells":
        return Model(school, readable={"students": lambda s, c: c in ("name", "age")
                                       or (c == "class_id" and s["age"] is not None and s["age"] >= 12)})
    return Model(school)


def test_member_needs_read_on_the_child_table(members):
    m = members["nostudents"]
    expect_codes([
        ("embed", lambda: q(m, "classes", {"columns": ["name", {S: {"columns": ["name"]}}]})),
        ("embed default columns", lambda: q(m, "classes", {"columns": ["name", {S: {}}]})),
        ("_some", lambda: q(m, "classes", {"filters": {S: {"_some": {}}}})),
        ("_none", lambda: q(m, "classes", {"filters": {S: {"_none": {}}}})),
        ("_every", lambda: q(m, "classes", {"filters": {S: {"_every": {}}}})),
        ("count column", lambda: q(m, "classes", {"columns": [f"count({S})"]})),
        ("count sort", lambda: q(m, "classes", {"sort": [f"-count({S})"]})),
        ("count filter", lambda: q(m, "classes", {"filters": {f"count({S})": 0}})),
        ("sum", lambda: q(m, "classes", {"columns": [f"sum({S}.age)"]})),
        ("mentor embed", lambda: q(m, "classes", {"columns": [{"students!mentor_id": {"columns": ["name"]}}]})),
        ("nested in partners", lambda: q(m, "classes", {"columns": [{"partners": {"columns": [{S: {}}]}}]})),
        ("in partners' _some", lambda: q(m, "classes", {"filters": {"partners": {"_some": {S: {"_some": {}}}}}})),
        ("aggregate filter", lambda: agg(m, "classes", {"metrics": {"n": "count"}, "filters": {S: {"_some": {}}}})),
    ], "42501")
    # the classes themselves, and relation_many targets of a readable table, stay readable
    res = q(m, "classes", {"columns": ["name", {"partners": {"columns": ["name"]}}, "count(partners)"]})
    assert len(res["rows"]) == 10


def test_children_are_filtered_by_the_members_row_grants(members, school):
    m, model = members["rows"], member_model(school, "rows")
    check(m, model, "classes", {"columns": ["name", {S: {"columns": ["name", "age", {"attendance": {
        "columns": ["day", "present"], "sort": ["day"], "limit": 3}}], "sort": ["name"]}}], "sort": ["name"]})
    check(m, model, "classes", {"columns": ["name", f"count({S})", f"sum({S}.age)", f"min({S}.age)", f"avg({S}.age)"],
                                "sort": [f"-count({S})", "name"]})
    for filters in ({S: {"_some": {}}}, {S: {"_none": {}}}, {S: {"_every": {"age": {"gte": 13}}}},
                    {S: {"_some": {"attendance": {"_some": {"minutes_late": 30}}}}},
                    {f"count({S})": {"gte": 3}}, {f"min({S}.age)": 12}):
        check(m, model, "classes", {"columns": ["name"], "filters": filters, "sort": ["name"]})
    check(m, model, "students", {"columns": ["name", "count(attendance)", {"attendance": {"columns": ["present"]}}],
                                 "sort": ["name"], "limit": 100})
    # a default-columns embed is what query_table of the child table shows the member
    res = q(m, "classes", {"columns": ["id", {S: {}}], "limit": 100})
    for row in res["rows"]:
        assert row[S] == q(m, "students", {"filters": {"class_id": row["id"]}})["rows"]
    # the model is not vacuous: the member sees fewer students than the owner
    assert sum(len(r[S]) for r in res["rows"]) < sum(1 for s in school.rows["students"] if s["class_id"])


def test_an_unreadable_child_column_is_denied_wherever_named(members):
    m = members["cols"]
    expect_codes([
        ("embed column", lambda: q(m, "classes", {"columns": [{S: {"columns": ["name", "born"]}}]})),
        ("embed function", lambda: q(m, "classes", {"columns": [{S: {"columns": ["year(born)"]}}]})),
        ("embed filter", lambda: q(m, "classes", {"columns": [{S: {"columns": ["name"], "filters": {"born": None}}}]})),
        ("embed sort", lambda: q(m, "classes", {"columns": [{S: {"columns": ["name"], "sort": ["-tags"]}}]})),
        ("embed count of array", lambda: q(m, "classes", {"columns": [{S: {"columns": ["count(tags)"]}}]})),
        ("nested embed column", lambda: q(m, "classes", {"columns": [{S: {"columns": [{"attendance": {
            "columns": ["present"]}}]}}]})),
        ("_some", lambda: q(m, "classes", {"filters": {S: {"_some": {"tags": {"has_any": ["art"]}}}}})),
        ("_none", lambda: q(m, "classes", {"filters": {S: {"_none": {"born": {"is_null": True}}}}})),
        ("_every", lambda: q(m, "classes", {"filters": {S: {"_every": {"month(enrolled_at)": 9}}}})),
        ("nested _some", lambda: q(m, "classes", {"filters": {S: {"_some": {"attendance": {"_some": {
            "present": True}}}}}})),
        ("min", lambda: q(m, "classes", {"columns": [f"min({S}.born)"]})),
        ("max sort", lambda: q(m, "classes", {"sort": [f"max({S}.enrolled_at)"]})),
        ("max filter", lambda: q(m, "classes", {"filters": {f"max({S}.born)": {"gt": "2010-01-01"}}})),
        ("child of child", lambda: q(m, "students", {"columns": ["sum(attendance.minutes_late)"]})),
        ("link column of another reverse relation", lambda: q(m, "classes", {"columns": [{"students!mentor_id": {}}]})),
        ("mentor _some", lambda: q(m, "classes", {"filters": {"students!mentor_id": {"_some": {}}}})),
        ("teacher.email", lambda: q(m, "classes", {"columns": ["teacher.email"]})),
        ("teacher filter", lambda: q(m, "classes", {"filters": {"teacher.display_name": "Teacher One"}})),
        ("photo.mime", lambda: q(m, "classes", {"columns": ["photo.mime"]})),
        ("photo sort", lambda: q(m, "classes", {"sort": ["photo.size"]})),
        ("photo group", lambda: agg(m, "classes", {"group_by": ["photo.mime"], "metrics": {"n": "count"}})),
        ("function on unreadable", lambda: q(m, "students", {"filters": {"year(born)": 2012}})),
        ("group by function", lambda: agg(m, "students", {"group_by": ["month(enrolled_at)"],
                                                          "metrics": {"n": "count"}})),
        ("count(tags)", lambda: q(m, "students", {"sort": ["count(tags)"]})),
        ("attendance function", lambda: q(m, "attendance", {"filters": {"year(student_id.born)": 2012}})),
        # a relation_many list needs read of its column
        ("partners embed", lambda: q(m, "classes", {"columns": ["name", {"partners": {"columns": ["name"]}}]})),
        ("partners _some", lambda: q(m, "classes", {"filters": {"partners": {"_some": {}}}})),
        ("count(partners)", lambda: q(m, "classes", {"columns": ["count(partners)"]})),
        ("min(partners.name)", lambda: q(m, "classes", {"sort": ["min(partners.name)"]})),
    ], "42501")


def test_what_the_column_grants_allow(members, school):
    m, model = members["cols"], Model(school)
    check(m, model, "classes", {"columns": ["name", {S: {"columns": ["name", "age", "count(attendance)"],
                                                         "filters": {"attendance": {"_some": {"year(day)": 2026}}},
                                                         "sort": ["-age", "name"]}},
                                            f"count({S})", f"sum({S}.age)", "created_by.email", "year"],
                                "filters": {S: {"_every": {"age": {"gte": 9}}}}, "sort": ["name"]})
    # created_by is a system column: always readable, and so are the user's email and name
    check(m, model, "classes", {"columns": ["name", "created_by.display_name", "updated_by.email"], "sort": ["name"]})
    # a default embed shows the child columns the member may read
    res = q(m, "classes", {"columns": ["id", {S: {}}], "limit": 100})
    for row in res["rows"]:
        assert row[S] == q(m, "students", {"filters": {"class_id": row["id"]}})["rows"]
        assert all("born" not in c and "tags" not in c for c in row[S])


def test_the_link_column_must_be_readable(members):
    m = members["nolink"]
    expect_codes([
        ("embed", lambda: q(m, "classes", {"columns": [{S: {"columns": ["name"]}}]})),
        ("embed default", lambda: q(m, "classes", {"columns": [{S: {}}]})),
        ("_some", lambda: q(m, "classes", {"filters": {S: {"_some": {}}}})),
        ("_none", lambda: q(m, "classes", {"filters": {S: {"_none": {"age": 10}}}})),
        ("count", lambda: q(m, "classes", {"columns": [f"count({S})"]})),
        ("sum filter", lambda: q(m, "classes", {"filters": {f"sum({S}.age)": 0}})),
        ("mentor", lambda: q(m, "classes", {"columns": [f"count(students!mentor_id)"]})),
    ], "42501")


def test_child_cells_are_masked_as_in_query_table(members, school):
    """Two grants on students: born is readable on the rows of the second only (age >= 12); an
    embed, _some and min() see born there only, as query_table of students does."""
    m, model = members["cells"], member_model(school, "cells")
    res = check(m, model, "classes", {"columns": ["name", {S: {"columns": ["name", "age", "born"], "sort": ["name"]}}],
                                      "sort": ["name"]})
    kids = [k for r in res["rows"] for k in r[S]]
    assert any(k["born"] is None and (k["age"] or 0) < 12 for k in kids)
    assert all(k["born"] is None for k in kids if k["age"] is None or k["age"] < 12)
    for row in q(m, "classes", {"columns": ["id", {S: {"columns": ["name", "born"]}}], "limit": 100})["rows"]:
        assert row[S] == q(m, "students", {"columns": ["name", "born"], "filters": {"class_id": row["id"]}})["rows"]
    for filters in ({S: {"_some": {"born": {"is_null": False}}}}, {S: {"_some": {"year(born)": {"lte": 2012}}}},
                    {f"min({S}.born)": {"lt": "2012-01-01"}}, {S: {"_every": {"born": {"is_null": False}}}}):
        check(m, model, "classes", {"columns": ["name", f"min({S}.born)", f"max({S}.born)"], "filters": filters,
                                    "sort": ["name"]})


def test_a_child_row_filter_through_relations(members, school):
    """The member's row filter of students follows relations (class_id.year, mentor_id.name): the
    children of embeds, quantifiers and child aggregates are filtered by it all the same."""
    m, model = members["relfilter"], member_model(school, "relfilter")
    res = check(m, model, "classes", {"columns": ["name", {S: {"columns": ["name", "class_id.name", {"attendance": {
        "columns": ["day"], "sort": ["day"], "limit": 2}}], "sort": ["name"]}}, f"count({S})",
        "count(students!mentor_id)", f"max({S}.age)"], "sort": ["name"]})
    assert 0 < sum(len(r[S]) for r in res["rows"]) < sum(1 for s in school.rows["students"] if s["class_id"])
    for filters in ({S: {"_some": {"age": {"gte": 12}}}}, {"students!mentor_id": {"_every": {"age": {"gte": 12}}}},
                    {S: {"_none": {}}}, {f"count({S})": {"gt": 0}}):
        check(m, model, "classes", {"columns": ["name"], "filters": filters, "sort": ["name"]})


def test_a_link_readable_on_some_rows_links_those_rows_only(members, school):
    """students.class_id is readable on the students of 12 and over only: a child is linked to its
    class on those rows only, in embeds, quantifiers and child aggregates."""
    m, model = members["linkcells"], member_model(school, "linkcells")
    res = check(m, model, "classes", {"columns": ["name", {S: {"columns": ["name", "age"], "sort": ["name"]}},
                                                  f"count({S})", f"min({S}.age)"], "sort": ["name"]})
    assert all(k["age"] >= 12 for r in res["rows"] for k in r[S])
    assert sum(r[f"count({S})"] for r in res["rows"]) < sum(1 for s in school.rows["students"] if s["class_id"])
    for filters in ({S: {"_some": {"age": {"lt": 12}}}}, {S: {"_every": {"age": {"gte": 12}}}}, {S: {"_none": {}}},
                    {f"count({S})": {"gte": 2}}):
        check(m, model, "classes", {"columns": ["name"], "filters": filters, "sort": ["name"]})


# --- random valid specs against the model --------------------------------------------------------------

NAMES = ["Ada", "Ben", "Emma", "Zoe", "Otto", "Nope"]
DAYS = ["2025-01-01", "2025-06-30", "2025-12-29", "2026-01-01", "2026-03-31", "2026-12-31"]
BORN = ["2010-06-01", "2012-01-01", "2013-07-15", "2015-12-31"]
INSTANTS = ["2025-08-31T10:00:00+00:00", "2025-09-01T00:00:00+00:00", "2025-12-31T10:00:00+00:00",
            "2026-06-01T00:00:00+00:00"]


def numeric(values, extra=()):
    v = st.sampled_from(values)
    return st.one_of(
        st.tuples(st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte", *extra]), v),
        st.tuples(st.sampled_from(["in", "nin"]), st.lists(v, min_size=1, max_size=3)),
        st.tuples(st.just("between"), st.lists(v, min_size=2, max_size=2).map(sorted)),
        st.tuples(st.just("is_null"), st.booleans()),
    )


def text(values):
    v = st.sampled_from(values)
    return st.one_of(st.tuples(st.sampled_from(["eq", "neq", "starts_with"]), v),
                     st.tuples(st.just("in"), st.lists(v, min_size=1, max_size=3)),
                     st.tuples(st.just("is_null"), st.booleans()))


ATTENDANCE_LEAVES = {
    "day": numeric(DAYS), "minutes_late": numeric([0, 2, 5, 15, 30]),
    "present": st.one_of(st.tuples(st.just("eq"), st.booleans()), st.tuples(st.just("is_null"), st.booleans())),
    "year(day)": numeric([2024, 2025, 2026]), "month(day)": numeric([1, 3, 6, 12]),
    "weekday(day)": numeric([1, 5, 7]), "week(day)": numeric([1, 13, 52, 53]), "quarter(day)": numeric([1, 4]),
}
STUDENT_LEAVES = {
    "age": numeric([8, 9, 11, 12, 13, 15]), "name": text(NAMES), "born": numeric(BORN),
    "tags": st.one_of(st.tuples(st.sampled_from(["has_any", "has_all", "contains"]),
                                st.lists(st.sampled_from(TAGS), min_size=1, max_size=2)),
                      st.tuples(st.sampled_from(["is_empty", "is_null"]), st.booleans())),
    "year(born)": numeric([2010, 2012, 2014, 2016]), "month(born)": numeric([1, 6, 12]),
    "weekday(born)": numeric([1, 7]), "date(enrolled_at)": numeric(["2025-08-31", "2025-09-01", "2026-01-01"]),
    "hour(enrolled_at)": numeric([0, 9, 10, 23]), "year(enrolled_at)": numeric([2024, 2025, 2026]),
    "enrolled_at": numeric(INSTANTS), "count(tags)": numeric([0, 1, 2, 3]),
    "class_id.name": text(["Algebra", "Drama", "History", "Nope"]),
    "class_id.teacher.display_name": text(list(TEACHERS.values())),
    "created_by.display_name": text(["Owner", *TEACHERS.values()]),
    "count(attendance)": numeric([0, 5, 10, 12, 50]), "sum(attendance.minutes_late)": numeric([0, 20, 60, 100]),
    "max(attendance.day)": numeric(DAYS), "min(attendance.minutes_late)": numeric([0, 2]),
}
CLASS_LEAVES = {
    "name": text(["Algebra", "Drama", "Italian", "Nope"]), "year": numeric([2025, 2026]),
    "teacher.display_name": text(list(TEACHERS.values())), "photo.mime": text(["image/jpeg", "application/pdf"]),
    "photo.size": numeric([512, 2048, 5000]), f"count({S})": numeric([0, 3, 6, 9]),
    f"sum({S}.age)": numeric([0, 40, 80]), f"avg({S}.age)": numeric([10, 11.5, 12, 13]),
    f"min({S}.born)": numeric(BORN), f"max({S}.name)": text(["Zoe", "Yves", "Ada"]),
    "count(students!mentor_id)": numeric([0, 1, 3]), "count(partners)": numeric([0, 1, 2, 3]),
}


def leaves(table):
    conditions = {"attendance": ATTENDANCE_LEAVES, "students": STUDENT_LEAVES, "classes": CLASS_LEAVES}[table]

    @st.composite
    def draw(draw):
        chosen = draw(st.lists(st.sampled_from(sorted(conditions)), min_size=1, max_size=2, unique=True))
        out = {}
        for path in chosen:
            conds = draw(st.lists(conditions[path], min_size=1, max_size=2, unique_by=lambda c: c[0]))
            out[path] = conds[0][1] if len(conds) == 1 and conds[0][0] == "eq" and draw(st.booleans()) else dict(conds)
        return out

    return draw()


#: the to-many paths of each table, with their child table
TO_MANY = {"classes": [(S, "students"), ("students!mentor_id", "students"), ("partners", "classes")],
           "students": [("attendance", "attendance")], "attendance": []}


def valid_filters(table, depth=2):
    base = leaves(table)
    quantified = [st.builds(lambda q_, f, name=name: {name: {q_: f}}, st.sampled_from(["_some", "_none", "_every"]),
                            valid_filters(child, depth - 1) if depth > 0 else st.just({}))
                  for name, child in TO_MANY[table] if depth > 0]
    leaf = st.one_of(base, *quantified) if quantified else base
    return st.recursive(leaf, lambda inner: st.one_of(
        st.builds(lambda fs: {"_and": fs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda fs: {"_or": fs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda f: {"_not": f}, inner),
        st.builds(lambda a, b: {**a, **b}, inner, base),
    ), max_leaves=4)


SORTABLE = {
    "classes": ["name", "year", "teacher.email", "photo.size", f"count({S})", f"avg({S}.age)", f"max({S}.born)",
                "count(partners)", "created_by.display_name"],
    "students": ["name", "age", "born", "year(born)", "month(born)", "date(enrolled_at)", "hour(enrolled_at)",
                 "count(tags)", "count(attendance)", "sum(attendance.minutes_late)", "max(attendance.day)",
                 "class_id.name", "class_id.teacher.display_name"],
    "attendance": ["day", "minutes_late", "present", "year(day)", "week(day)", "weekday(day)", "student_id.name"],
}
COLUMNS = {
    "classes": ["name", "year", "teacher.email", "photo.mime", f"count({S})", f"sum({S}.age)", "count(partners)"],
    "students": ["name", "age", "born", "tags", "enrolled_at", "year(born)", "date(enrolled_at)", "weekday(born)",
                 "count(tags)", "count(attendance)", "min(attendance.day)", "class_id.name", "mentor_id.name",
                 "created_by.email"],
    "attendance": ["day", "minutes_late", "present", "month(day)", "week(day)", "student_id.name"],
}


def sorts(table):
    return st.lists(st.builds(lambda d, p: ("-" if d else "") + p, st.booleans(), st.sampled_from(SORTABLE[table])),
                    max_size=3, unique_by=lambda s: s.lstrip("-"))


def embed_specs(table, depth):
    @st.composite
    def draw(draw):
        columns = draw(st.lists(st.sampled_from(COLUMNS[table]), min_size=1, max_size=4, unique=True))
        if depth > 0 and TO_MANY[table] and draw(st.booleans()):
            name, child = draw(st.sampled_from(TO_MANY[table]))
            columns.append({name: draw(embed_specs(child, depth - 1))})
        spec = {"columns": columns}
        if draw(st.booleans()):
            spec["filters"] = draw(valid_filters(table, 1))
        if draw(st.booleans()):
            spec["sort"] = draw(sorts(table))
        if draw(st.booleans()):
            spec["limit"] = draw(st.integers(1, 8))
        return spec

    return draw()


@PROPERTY
@given(filters=valid_filters("classes"), sort=sorts("classes"))
def test_random_class_filters_match_the_model(owner, model, filters, sort):
    check(owner, model, "classes", {"columns": ["name"], "filters": filters, "sort": sort, "limit": 1000})


@PROPERTY
@given(filters=valid_filters("students"), sort=sorts("students"), offset=st.integers(0, 20))
def test_random_student_filters_and_sorts_match_the_model(owner, model, filters, sort, offset):
    check(owner, model, "students", {"columns": ["name"], "filters": filters, "sort": sort, "limit": 25,
                                     "offset": offset})


@PROPERTY
@given(embed=st.one_of(st.tuples(st.just(S), embed_specs("students", 1)),
                       st.tuples(st.just("students!mentor_id"), embed_specs("students", 0)),
                       st.tuples(st.just("partners"), embed_specs("classes", 1))),
       filters=st.one_of(st.just({}), valid_filters("classes", 1)), sort=sorts("classes"))
def test_random_embeds_match_the_model(owner, model, embed, filters, sort):
    name, spec = embed
    check(owner, model, "classes", {"columns": ["name", {name: spec}], "filters": filters, "sort": sort})


@PROPERTY
@given(embed=embed_specs("attendance", 0), filters=st.one_of(st.just({}), valid_filters("students", 1)))
def test_random_attendance_embeds_match_the_model(owner, model, embed, filters):
    check(owner, model, "students", {"columns": ["name", {"attendance": embed}], "filters": filters,
                                     "sort": ["name"], "limit": 100})


GROUPS = ["year(day)", "month(day)", "quarter(day)", "weekday(day)", "week(day)", "present", "year(student_id.born)",
          "student_id.class_id.name", "created_by.display_name", "date(student_id.enrolled_at)"]


@PROPERTY
@given(group_by=st.lists(st.sampled_from(GROUPS), min_size=1, max_size=2, unique=True),
       filters=st.one_of(st.just({}), valid_filters("attendance", 0)))
def test_random_group_by_matches_the_model(owner, model, group_by, filters):
    res = agg(owner, "attendance", {"group_by": group_by, "metrics": {"n": "count"}, "filters": filters})
    got = {tuple(g[p] for p in group_by): g["n"] for g in res["groups"]}
    assert got == model.groups("attendance", group_by, filters)


@PROPERTY
@given(filters=valid_filters("classes"))
def test_random_member_filters_match_the_model(members, school, filters):
    """The same random filters as the rows member: children are only the visible ones."""
    check(members["rows"], member_model(school, "rows"), "classes",
          {"columns": ["name", f"count({S})"], "filters": filters, "limit": 1000})


# --- hostile specs: only contract SQLSTATEs, nothing changes ----------------------------------------

def snapshot(conn, schema):
    def md5(slug, order="t::text"):
        return conn.execute(f"select count(*), md5(string_agg(t::text, ',' order by {order})) "
                            f"from {schema}.{slug} t").fetchone()

    return {
        **{slug: md5(slug) for slug in ("classes", "students", "attendance", "_classes__partners", "_catalog",
                                        "_files")},
        "audit": conn.execute(f"select count(*) from {schema}._audit_log").fetchone()[0],
        "relations": conn.execute("select array_agg(relname::text || ':' || relkind::text order by relname) "
                                  "from pg_class where relnamespace = %s::regnamespace", (schema,)).fetchone()[0],
        "all_relations": conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname !~ '^pg_(toast_)?temp'").fetchone()[0],
        "users": conn.execute("select count(*), md5(string_agg(u::text, ',' order by u.id)) "
                              "from docpal_private.users u").fetchone(),
    }


HOSTILE_TO_MANY = [S, "students!mentor_id", "students", "students!nope", "students!name", "students!!class_id",
                   "students!class_id!class_id", "nope", "_files", "_classes__partners", "classes", "attendance",
                   "students!class_id.attendance", "students!class_id; drop table x", "Students!class_id", "",
                   "partners", "partners!x", "teacher", "photo", "name", "students!"]
HOSTILE_FUNCTIONS = ["year", "month", "week", "day", "weekday", "hour", "quarter", "date", "count", "sum", "avg",
                     "min", "max", "YEAR", "yaer", "now", "pg_sleep", "lower", "coalesce", "", "count(", "year)"]
HOSTILE_ARGS = ["born", "enrolled_at", "name", "tags", "age", "class_id", "class_id.name", "photo", "teacher",
                "created_by", "created_at", S, f"{S}.age", f"{S}.name", f"{S}.born", "attendance", "attendance.day",
                "partners", "partners.name", "year(born)", "", "born)", "born; drop table x", "metadata.x", "*",
                "students", "students!nope.age", "1", "'x'"]
VALUES = [None, True, 0, -1, 2025, 2.5, 10 ** 30, "", "x", "2025-09-01", "2026-13-45", "2025-09-01T00:00:00Z", [],
          [2025, 2026], ["a"], {}, {"gt": 1}, {"_some": {}}, "$user", "'; drop table x; --"]

def mix(good, bad):
    """Mostly `good`, one time in eight `bad`: hostile enough to hurt, valid enough that the rest of the
    spec reaches the compiler and the statement runs."""
    return st.integers(0, 7).flatmap(lambda i: bad if i == 7 else good)  # (hypothesis favours 0)


hostile_paths = mix(st.sampled_from(list(CLASS_LEAVES) + COLUMNS["classes"]), st.one_of(
    st.sampled_from(list(STUDENT_LEAVES) + COLUMNS["students"]),
    st.builds(lambda f, a: f"{f}({a})", st.sampled_from(HOSTILE_FUNCTIONS), st.sampled_from(HOSTILE_ARGS)),
    st.builds(lambda t, c: f"{t}.{c}", st.sampled_from(HOSTILE_TO_MANY), st.sampled_from(HOSTILE_ARGS)),
    st.sampled_from(HOSTILE_TO_MANY),
))
hostile_values = st.sampled_from(VALUES)


def hostile_filters():
    leaf = mix(valid_filters("classes", 1), st.dictionaries(hostile_paths, st.one_of(hostile_values, st.dictionaries(
        st.sampled_from(["eq", "gt", "in", "between", "has_any", "is_null", "_some", "bogus"]), hostile_values,
        max_size=2)), max_size=2))
    return st.recursive(leaf, lambda inner: st.one_of(
        st.builds(lambda n, q_, f: {n: {q_: f}}, mix(st.sampled_from([S, "students!mentor_id", "partners"]),
                                                      st.sampled_from(HOSTILE_TO_MANY)),
                  mix(st.sampled_from(["_some", "_none", "_every"]), st.sampled_from(["_any", "eq", "", "_SOME"])),
                  mix(inner, hostile_values)),
        st.builds(lambda fs: {"_and": fs}, mix(st.lists(inner, min_size=1, max_size=3), st.just([]))),
        st.builds(lambda fs: {"_or": fs}, mix(st.lists(inner, min_size=1, max_size=3), hostile_values)),
        st.builds(lambda f: {"_not": f}, inner),
    ), max_leaves=8)


def hostile_embeds(parent="classes", depth=6):
    """An embed item of table `parent`: mostly a valid list with paths of its child table, now and then
    hostile anywhere."""
    @st.composite
    def draw(draw):
        good = TO_MANY[parent] or [("attendance", "attendance")]
        name, child = draw(mix(st.sampled_from(good), st.tuples(st.sampled_from(HOSTILE_TO_MANY), st.just("classes"))))
        paths = mix(st.sampled_from(COLUMNS[child] + SORTABLE[child]), hostile_paths)
        spec = {}
        if draw(st.booleans()):
            cols = draw(st.lists(paths, min_size=draw(mix(st.just(1), st.just(0))), max_size=3))
            if depth > 0 and (TO_MANY[child] or not draw(st.integers(0, 7))) and draw(st.booleans()):
                cols.append(draw(hostile_embeds(child, depth - 1)))
            spec["columns"] = cols
        if draw(st.booleans()):
            spec["filters"] = draw(mix(valid_filters(child, 1), st.one_of(hostile_filters(), hostile_values)))
        if draw(st.booleans()):
            spec["sort"] = draw(st.lists(st.builds(lambda d, p: ("-" if d else "") + p, st.booleans(), paths),
                                         max_size=2))
        if draw(st.booleans()):
            spec["limit"] = draw(mix(st.integers(1, 1000),
                                     st.sampled_from([-1, 0, 1001, 10 ** 30, 2.5, "5", None, [], True])))
        if draw(st.integers(0, 7)) == 0:
            spec[draw(st.sampled_from(["offset", "search", "bogus", "count", ""]))] = draw(hostile_values)
        return {name: spec if draw(st.integers(0, 9)) else draw(hostile_values)}

    return draw()


@FUZZ
@given(caller=mix(st.just("owner"), st.sampled_from(["rows", "cols", "nostudents", "nolink", "cells", "linkcells",
                                                    "relfilter"])),
       slug=mix(st.just("classes"), st.sampled_from(["students", "attendance", "nope"])),
       columns=st.lists(st.one_of(hostile_paths, hostile_embeds()), max_size=4),
       filters=hostile_filters(),
       sort=st.lists(st.builds(lambda d, p: ("-" if d else "") + p, st.booleans(), hostile_paths), max_size=3),
       limit=mix(st.integers(1, 1000), st.sampled_from([0, 1001, 10 ** 30, "x"])),
       function=st.sampled_from(["query_table", "query_table", "query_table", "aggregate", "explain_query"]))
def test_hostile_specs_fail_only_with_contract_codes(school, members, caller, function, slug, columns, filters, sort,
                                                     limit):
    conn = school.conn if caller == "owner" else members[caller]
    before = snapshot(school.conn, school.schema)
    if function == "aggregate":
        spec = {"group_by": [c for c in columns if isinstance(c, str)], "metrics": {"n": "count"}, "filters": filters}
    else:
        spec = {"filters": filters, "sort": sort, "limit": limit}
        if columns:
            spec["columns"] = columns
    note(f"{function}({slug!r}, {json.dumps(spec)})")
    try:
        res = fn(conn, function, slug, Jsonb(spec))
        event(f"{function}: ok")
        if function == "query_table":
            assert isinstance(res["rows"], list) and len(res["rows"]) <= (limit if isinstance(limit, int) else 50)
    except psycopg.Error as exc:
        event(f"{function}: {exc.sqlstate}")
        event(str(exc).splitlines()[0][:70])
        assert exc.sqlstate in ALLOWED, f"{exc.sqlstate}: {exc}"
        assert school.company["slug"] not in str(exc)  # (every user's email holds it: none is echoed)
    assert snapshot(school.conn, school.schema) == before


def nest(name, depth, inner):
    """An embed of `name` in an embed of `name` ... `depth` deep, holding `inner` at the bottom."""
    return inner if depth == 0 else {name: {"columns": ["name", nest(name, depth - 1, inner)]}}


@pytest.mark.parametrize("spec", [
    # embeds nested past any sensible depth, each with its own filters
    {"columns": ["name", {S: {"columns": ["name", {"attendance": {"columns": ["day"], "limit": 1000}}], "limit": 1000}},
                 nest("partners", 5, {S: {"columns": [{"attendance": {"columns": ["day"]}}]}})]},
    {"filters": {S: {"_some": {"attendance": {"_some": {"student_id.class_id.students!class_id": {"_some": {}}}}}}}},
    {"filters": {"_and": [{S: {"_some": {}}}] * 200}},
    {"columns": [{S: {"columns": ["name"], "limit": 1000}}] + [f"count({S})"] * 1, "limit": 1000},
])
def test_deep_and_wide_specs(school, spec):
    before = snapshot(school.conn, school.schema)
    code = code_of(lambda: q(school.conn, "classes", spec))
    assert code in ALLOWED | {None}
    assert snapshot(school.conn, school.schema) == before


# --- limits over the whole statement (contract section 9) ---------------------------------

def test_the_500_condition_limit_counts_embeds_and_quantifiers(owner):
    """Filters inside _some/_none/_every and inside embeds count with the spec's own: 501
    conditions are 54000 wherever they sit, 500 are not."""
    def conds(n):
        return {"_or": [{"name": f"x{i}"} for i in range(n)]}

    for n, code in ((500, None), (501, "54000")):
        for spec in ({"filters": {S: {"_some": conds(n)}}},
                     {"filters": {"name": "a", S: {"_none": conds(n - 1)}}},
                     {"columns": ["name", {S: {"filters": conds(n)}}]},
                     {"columns": [{S: {"columns": [{"attendance": {"filters": {"minutes_late": 1}}}],
                                       "filters": conds(n - 1)}}]}):
            got = code_of(lambda: q(owner, "classes", spec))
            assert got == code, (n, json.dumps(spec)[:80], got)


def test_the_64_relation_path_limit_holds_across_embeds(owner):
    """Joins of child queries count with the top query's: one relation path in each of 64
    embeds is past the limit."""
    embed = {"attendance": {"columns": ["student_id.name"]}}
    ok = {"columns": [{S: {"columns": ["class_id.name"] + [embed] * 1}}]}
    q(owner, "classes", ok)
    too_many = {"columns": [{S: {"columns": ["class_id.name", "mentor_id.name", "class_id.teacher.email"]
                                            + [{f"attendance": {"columns": ["student_id.name", "student_id.class_id.name"]}}]}}]
                           * 22}
    with raises("54000"):
        q(owner, "classes", too_many)
