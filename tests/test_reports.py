"""Reports: save_report, run_report, list_reports, drop_report, report_snapshots and
run_due_reports (contract section 11, docs/reference.md "Reports").

Cast: the company's owner, an admin (ada), and the members alice (the company fixture's
member), bob and carol. alice and carol hold the same custom role, which reads some columns of
open tasks only; bob's role reads every column of done tasks. Expected results come from the
inserted data, or from query_table called by the same user with the same spec, never from the
function under test.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from decimal import Decimal
from types import SimpleNamespace

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN
from helpers import code_of, expect_codes, fn, one, raises, set_context, table

UTC = dt.timezone.utc

TEAMS = table("teams", {"name": "name", "type": "text"})
TASKS = table(
    "tasks",
    {"name": "title", "type": "text", "required": True},
    {"name": "points", "type": "integer"},
    {"name": "secret", "type": "text"},
    {"name": "state", "type": "select", "options": ["open", "done"]},
    {"name": "due", "type": "date"},
    {"name": "owner_id", "type": "user"},
    {"name": "team_id", "type": "relation", "target": "teams", "on_delete": "set_null"})


def J(value):
    return Jsonb(value)


def save(conn, spec):
    return fn(conn, "save_report", spec)


def run(conn, slug, params=None):
    if params is None:
        return one(conn, "select docpal.run_report(%s)", slug)
    return one(conn, "select docpal.run_report(%s, %s)", slug, J(params))


def due(svc, as_of=None):
    return one(svc, "select docpal.run_due_reports(%s)", as_of)


def snapshots(conn, slug, limit=None):
    if limit is None:
        return one(conn, "select docpal.report_snapshots(%s)", slug)
    return one(conn, "select docpal.report_snapshots(%s, %s)", slug, limit)


def schedule_row(db, company, slug):
    row = db.execute("select next_run_at from docpal_private.report_schedule where company_id = %s and report = %s",
                     (company["id"], slug)).fetchone()
    return row and row[0]


def report_of(conn, slug):
    return next(r for r in fn(conn, "list_reports") if r["slug"] == slug)


def ts(text):
    return dt.datetime.fromisoformat(text)


# --- the world -------------------------------------------------------------------------------------

@pytest.fixture
def w(db, company, connect):
    owner = set_context(connect(), company, company["owner"])
    users = {"owner": company["owner"], "alice": company["member"]}
    for name, role in (("bob", "member"), ("carol", "member"), ("ada", "admin")):
        users[name] = one(db, "select docpal.create_user(%s, %s)", f"{name}-{company['slug']}@example.com", name)
        db.execute("select docpal.add_member(%s, %s, %s)", (company["id"], users[name], role))
    fn(owner, "create_table", TEAMS)
    fn(owner, "create_table", TASKS)
    red = fn(owner, "create_record", "teams", {"name": "red"})["id"]
    blue = fn(owner, "create_record", "teams", {"name": "blue"})["id"]
    rows = [("t1", 3, "open", "2024-01-05", "alice", red), ("t2", 5, "open", "2024-02-10", "bob", blue),
            ("t3", 8, "done", "2024-02-20", "alice", red), ("t4", 1, "done", "2024-03-01", "carol", None),
            ("t5", 2, "open", "2024-03-15", "carol", blue)]
    ids = {}
    for title, points, state, due_, who, team in rows:
        ids[title] = fn(owner, "create_record", "tasks", {
            "title": title, "points": points, "secret": f"s-{title}", "state": state, "due": due_,
            "owner_id": str(users[who]), "team_id": team})["id"]
    fn(owner, "create_role", "openers")
    fn(owner, "create_role", "closers")
    one(owner, "select docpal.grant_permission('openers', 'tasks', array['read'], %s)",
        J({"columns": ["title", "points", "state", "due", "team_id"], "row_filter": {"state": "open"}}))
    one(owner, "select docpal.grant_permission('openers', 'teams', array['read'])")
    one(owner, "select docpal.grant_permission('closers', 'tasks', array['read'], %s)",
        J({"row_filter": {"state": "done"}}))
    for who, role in (("alice", "openers"), ("carol", "openers"), ("bob", "closers")):
        one(owner, "select docpal.assign_role(%s, %s)", users[who], role)
    conns = {"owner": owner}
    for who in ("alice", "bob", "carol", "ada"):
        conns[who] = set_context(connect(), company, users[who])
    svc = connect(SERVICE_LOGIN)
    return SimpleNamespace(db=db, co=company, users=users, c=conns, svc=svc, ids=ids, red=red, blue=blue,
                           connect=connect)


OPEN_TITLES = {"query": {"columns": ["title"], "sort": ["title"]}}


def titles(result):
    return [r["title"] for r in result["result"]["rows"]]


# --- save_report --------------------------------------------------------------------------------------

def test_save_report_returns_the_report_and_list_reports_shows_it(w):
    got = save(w.c["alice"], {"slug": "open_tasks", "name": "Open tasks", "description": "what is open",
                              "table": "tasks", "kind": "query", "spec": {"columns": ["title"]}})
    assert got["slug"] == "open_tasks" and got["name"] == "Open tasks" and got["description"] == "what is open"
    assert got["table"] == "tasks" and got["kind"] == "query" and got["spec"] == {"columns": ["title"]}
    assert got["params"] == {} and got["schedule"] is None and got["next_run_at"] is None
    assert got["last_run_at"] is None and got["last_error"] is None
    assert got["saved_by"] == str(w.users["alice"]) and got["saved_at"]
    # every member sees every report (definitions, not data)
    assert fn(w.c["bob"], "list_reports") == [got]
    assert fn(w.c["owner"], "list_reports") == [got]


def test_name_defaults_to_the_slug_and_spec_to_everything(w):
    got = save(w.c["owner"], {"slug": "all_tasks", "table": "tasks", "kind": "query"})
    assert got["name"] == "all_tasks" and got["spec"] == {}
    assert sorted(titles(run(w.c["owner"], "all_tasks"))) == ["t1", "t2", "t3", "t4", "t5"]


def test_list_reports_is_empty_before_the_first_report(w):
    assert fn(w.c["alice"], "list_reports") == []
    assert one(w.db, "select to_regclass(%s)", f"{w.co['schema']}._reports") is None


def test_list_reports_in_slug_order(w):
    for slug in ("zeta", "alpha", "mid"):
        save(w.c["owner"], {"slug": slug, "table": "teams", "kind": "query"})
    assert [r["slug"] for r in fn(w.c["alice"], "list_reports")] == ["alpha", "mid", "zeta"]


@pytest.mark.parametrize("kind,spec,check", [
    ("query", {"columns": ["title"], "sort": ["title"]}, lambda r: [x["title"] for x in r["rows"]] == ["t1", "t2", "t3", "t4", "t5"]),
    ("aggregate", {"group_by": ["state"], "metrics": {"n": "count", "p": {"sum": "points"}}},
     lambda r: r == {"groups": [{"state": "done", "n": 2, "p": 9}, {"state": "open", "n": 3, "p": 10}]}),
    ("kanban", {"group_by": "state", "columns": ["title"], "sort": ["title"]},
     lambda r: [(g["value"], g["count"]) for g in r["groups"]] == [("open", 3), ("done", 2)]),
    ("calendar", {"start": "due", "label": "title", "from": "2024-02-01", "to": "2024-02-29"},
     lambda r: [e["label"] for e in r["events"]] == ["t2", "t3"]),
])
def test_every_kind_runs_its_query_function(w, kind, spec, check):
    save(w.c["owner"], {"slug": f"k_{kind}", "table": "tasks", "kind": kind, "spec": spec})
    got = run(w.c["owner"], f"k_{kind}")
    assert check(got["result"]), got["result"]
    direct = {"query": "query_table", "aggregate": "aggregate", "kanban": "query_kanban",
              "calendar": "query_calendar"}[kind]
    assert got["result"] == fn(w.c["owner"], direct, "tasks", spec)


def test_run_report_shape(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["title"]}})
    before = dt.datetime.now(UTC)
    got = run(w.c["owner"], "r")
    assert set(got) == {"report", "params", "ran_at", "ms", "result"}
    assert got["report"] == "r" and got["params"] == {}
    assert before - dt.timedelta(seconds=5) <= ts(got["ran_at"]) <= dt.datetime.now(UTC) + dt.timedelta(seconds=5)
    assert isinstance(got["ms"], (int, Decimal)) and got["ms"] >= 0


MALFORMED = [
    ("not an object", ["x"]),
    ("null", None),
    ("unknown key", {"slug": "r", "table": "tasks", "kind": "query", "owner": "me"}),
    ("slug missing", {"table": "tasks", "kind": "query"}),
    ("slug bad", {"slug": "Bad-Slug", "table": "tasks", "kind": "query"}),
    ("slug number", {"slug": 5, "table": "tasks", "kind": "query"}),
    ("slug too long", {"slug": "a" * 64, "table": "tasks", "kind": "query"}),
    ("name empty", {"slug": "r", "name": " ", "table": "tasks", "kind": "query"}),
    ("name number", {"slug": "r", "name": 3, "table": "tasks", "kind": "query"}),
    ("description object", {"slug": "r", "description": {}, "table": "tasks", "kind": "query"}),
    ("kind missing", {"slug": "r", "table": "tasks"}),
    ("kind unknown", {"slug": "r", "table": "tasks", "kind": "tree"}),
    ("table missing", {"slug": "r", "kind": "query"}),
    ("table number", {"slug": "r", "table": 1, "kind": "query"}),
    ("spec array", {"slug": "r", "table": "tasks", "kind": "query", "spec": []}),
    ("spec bad key", {"slug": "r", "table": "tasks", "kind": "query", "spec": {"colums": ["title"]}}),
    ("spec bad operator", {"slug": "r", "table": "tasks", "kind": "query", "spec": {"filters": {"points": {"near": 1}}}}),
    ("spec bad value", {"slug": "r", "table": "tasks", "kind": "query", "spec": {"filters": {"points": "many"}}}),
    ("aggregate without metrics", {"slug": "r", "table": "tasks", "kind": "aggregate", "spec": {"metrics": {"n": "median"}}}),
    ("calendar without range", {"slug": "r", "table": "tasks", "kind": "calendar", "spec": {"start": "due"}}),
    ("kanban on text", {"slug": "r", "table": "tasks", "kind": "kanban", "spec": {"group_by": "title"}}),
    ("schedule number", {"slug": "r", "table": "tasks", "kind": "query", "schedule": 5}),
    ("schedule bad", {"slug": "r", "table": "tasks", "kind": "query", "schedule": "every day"}),
    ("schedule field out of range", {"slug": "r", "table": "tasks", "kind": "query", "schedule": "61 * * * *"}),
    ("undeclared param", {"slug": "r", "table": "tasks", "kind": "query", "spec": {"filters": {"points": "$param.n"}}}),
    ("undeclared param in an array", {"slug": "r", "table": "tasks", "kind": "query",
                                      "spec": {"filters": {"points": {"in": [1, "$param.n"]}}},
                                      "params": {"m": {"type": "integer", "default": 1}}}),
    ("params array", {"slug": "r", "table": "tasks", "kind": "query", "params": [{"type": "integer"}]}),
    ("param name bad", {"slug": "r", "table": "tasks", "kind": "query", "params": {"Day": {"type": "date"}}}),
    ("param not object", {"slug": "r", "table": "tasks", "kind": "query", "params": {"d": "date"}}),
    ("param without type", {"slug": "r", "table": "tasks", "kind": "query", "params": {"d": {"default": 1}}}),
    ("param unknown type", {"slug": "r", "table": "tasks", "kind": "query", "params": {"d": {"type": "money"}}}),
    ("param formula", {"slug": "r", "table": "tasks", "kind": "query",
                       "params": {"d": {"type": "formula", "expression": "1"}}}),
    ("param unique", {"slug": "r", "table": "tasks", "kind": "query", "params": {"d": {"type": "text", "unique": True}}}),
    ("param on_delete", {"slug": "r", "table": "tasks", "kind": "query",
                         "params": {"d": {"type": "relation", "target": "teams", "on_delete": "cascade"}}}),
    ("param rule of another type", {"slug": "r", "table": "tasks", "kind": "query",
                                    "params": {"d": {"type": "boolean", "max": 1}}}),
    ("param min above max", {"slug": "r", "table": "tasks", "kind": "query",
                             "params": {"d": {"type": "integer", "min": 5, "max": 1}}}),
    ("param default of another type", {"slug": "r", "table": "tasks", "kind": "query",
                                       "params": {"d": {"type": "date", "default": "soon"}}}),
    ("param default breaks a rule", {"slug": "r", "table": "tasks", "kind": "query",
                                     "params": {"d": {"type": "integer", "max": 10, "default": 11}}}),
    ("param default outside options", {"slug": "r", "table": "tasks", "kind": "query",
                                       "params": {"d": {"type": "select", "options": ["a"], "default": "b"}}}),
    ("param select without options", {"slug": "r", "table": "tasks", "kind": "query", "params": {"d": {"type": "select"}}}),
    ("param unknown type list", {"slug": "r", "table": "tasks", "kind": "query",
                                 "params": {"d": {"type": "select", "type_list": "nope"}}}),
    ("param relation without target", {"slug": "r", "table": "tasks", "kind": "query",
                                       "params": {"d": {"type": "relation"}}}),
    ("param required not boolean", {"slug": "r", "table": "tasks", "kind": "query",
                                    "params": {"d": {"type": "text", "required": "yes"}}}),
    ("param of the wrong kind for its path", {"slug": "r", "table": "tasks", "kind": "query",
                                              "spec": {"filters": {"points": "$param.d"}},
                                              "params": {"d": {"type": "text", "default": "many"}}}),
]


@pytest.mark.parametrize("label,spec", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_report_is_22023_and_saves_nothing(w, label, spec):
    with raises("22023"):
        one(w.c["owner"], "select docpal.save_report(%s)", None if spec is None else J(spec))
    assert fn(w.c["owner"], "list_reports") == []
    assert one(w.db, "select count(*) from docpal_private.report_schedule where company_id = %s", w.co["id"]) == 0


def test_param_errors_name_the_param(w):
    with raises("22023") as exc:
        save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query",
                            "params": {"day": {"type": "date", "default": "soon"}}})
    assert 'param "day"' in exc.value.diag.message_primary
    with raises("22023") as exc:
        save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query",
                            "params": {"n": {"type": "integer", "max": 3, "default": 4}}})
    assert 'param "n"' in exc.value.diag.message_primary and "max" in exc.value.diag.message_primary


def test_unknown_table_is_42p01(w):
    with raises("42P01"):
        save(w.c["owner"], {"slug": "r", "table": "nope", "kind": "query"})
    with raises("42P01"):
        save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query",
                            "params": {"t": {"type": "relation", "target": "nope"}}})
    assert fn(w.c["owner"], "list_reports") == []


def test_unknown_path_is_42703(w):
    with raises("42703"):
        save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["nope"]}})


def test_spec_over_256_kb_is_54000(w):
    with raises("54000"):
        save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "description": "x" * 270_000})
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query",
                        "params": {"q": {"type": "text", "default": "x"}}})
    with raises("54000"):
        run(w.c["owner"], "r", {"q": "x" * 270_000})
    assert fn(w.c["owner"], "list_reports")[0]["description"] is None


def test_at_most_64_params(w):
    """Each param is checked at save and bound at every run and every dashboard widget: their
    number is a size limit (54000, the message naming it), for owners too."""
    params = {f"p{i:02}": {"type": "integer", "default": i} for i in range(64)}
    spec = {"columns": ["title"], "sort": ["title"],
            "filters": {"_or": [{"points": f"$param.p{i:02}"} for i in range(64)]}}
    save(w.c["owner"], {"slug": "many", "table": "tasks", "kind": "query", "params": params, "spec": spec})
    got = run(w.c["owner"], "many", {"p03": 60})
    assert len(got["params"]) == 64 and got["params"]["p03"] == 60
    assert titles(got) == ["t2", "t3", "t4", "t5"]  # 3 points no longer asked for
    for slug in ("many", "other"):  # neither a replacement nor a new report
        with raises("54000") as exc:
            save(w.c["owner"], {"slug": slug, "table": "tasks", "kind": "query",
                                "params": params | {"p64": {"type": "integer", "default": 0}}})
        assert "65 params, over the limit of 64" in exc.value.diag.message_primary
    assert [r["slug"] for r in fn(w.c["owner"], "list_reports")] == ["many"]
    assert report_of(w.c["owner"], "many")["params"] == params


def deep_spec(depth, leaf):
    """The JSON text of a report whose filter holds `leaf` inside `depth` nested arrays (too deep
    for Python's json, so written as text)."""
    return ('{"slug": "deep", "table": "tasks", "kind": "query", '
            '"params": {"n": {"type": "integer", "default": 1}}, '
            '"spec": {"filters": {"points": {"in": %s}}}}' % ("[" * depth + leaf + "]" * depth))


def test_a_param_nested_thousands_of_levels_deep_is_54000(w):
    """Putting params in walks the spec down to them, at most 64 levels: a hostile spec gets a
    contract error (not the server's stack depth error, 54001) and saves nothing."""
    with raises("54000") as exc:
        one(w.c["owner"], "select docpal.save_report(%s::jsonb)", deep_spec(2000, '"$param.n"'))
    assert "more than 64 levels deep" in exc.value.diag.message_primary
    # the same spec without a param is not walked: the query function's own error
    with raises("22023"):
        one(w.c["owner"], "select docpal.save_report(%s::jsonb)", deep_spec(2000, "1"))
    assert fn(w.c["owner"], "list_reports") == []


@pytest.mark.parametrize("depth", [64, 65])
def test_params_are_put_in_down_to_64_levels(w, depth):
    """The spec is level 1: a param inside 64 nested arrays is put in, inside 65 it is 54000."""
    sql = """select docpal_private.report_substitute(%s::jsonb, '{"n": 7}')"""
    spec = "[" * depth + '"$param.n"' + "]" * depth
    if depth > 64:
        with raises("54000"):
            one(w.db, sql, spec)
    else:
        assert one(w.db, sql, spec) == json.loads("[" * depth + "7" + "]" * depth)


def test_params_are_put_in_along_their_paths_only(w, connect):
    """One search of the spec's text, then a walk down only the values holding "$param.": a
    spec of thousands of values with one param deep down costs a call per level on its path
    (the function statistics of the session), not one per value or a search per level of the
    whole text."""
    spec = {"a": list(range(5000)), "b": {"c": [1, {"d": "$param.n"}], "e": 'say "$param.n"'},
            "f": [{"g": str(i)} for i in range(2000)], "$param.k": "keys are not values"}
    conn = connect()
    conn.execute("set track_functions = 'all'")

    def walked(spec, params):
        with conn.transaction():
            count = ("select coalesce(sum(calls), 0) from pg_stat_xact_user_functions "
                     "where schemaname = 'docpal_private' and funcname = 'report_substitute_at'")
            before = one(conn, count)
            got = one(conn, "select docpal_private.report_substitute(%s, %s)", J(spec), J(params))
            return got, one(conn, count) - before

    got, calls = walked(spec, {"n": 7})
    assert got == spec | {"b": {"c": [1, {"d": 7}], "e": 'say "$param.n"'}}
    # the spec, b, c, c[1], c[1].d, and b.e (its text holds "$param. but it is not a param)
    assert calls == 6
    # only a key holds it: the spec itself, no further
    assert walked(spec | {"b": 1}, {}) == (spec | {"b": 1}, 1)
    # none: not walked at all
    assert walked({"a": list(range(5000))}, {}) == ({"a": list(range(5000))}, 0)


def test_at_most_1000_reports_per_company(w):
    """A new slug past 1,000 reports is 54000 (the message naming the limit); replacing one is
    always allowed, and dropping one makes room."""
    save(w.c["owner"], {"slug": "r0000", "table": "teams", "kind": "query"})
    w.db.execute(f"insert into {w.co['schema']}._reports (slug, name, table_slug, kind, spec, saved_by) "
                 "select 'r' || lpad(g::text, 4, '0'), 'filler', 'teams', 'query', '{}', %s "
                 "from generate_series(1, 999) g", (w.users["alice"],))
    for who in ("alice", "owner"):
        with raises("54000") as exc:
            save(w.c[who], {"slug": "one_more", "table": "teams", "kind": "query"})
        assert "1000 reports, the limit of 1000" in exc.value.diag.message_primary
    assert save(w.c["alice"], {"slug": "r0500", "table": "teams", "kind": "query", "name": "mine"})["name"] == "mine"
    one(w.c["alice"], "select docpal.drop_report('r0001')")
    save(w.c["alice"], {"slug": "one_more", "table": "teams", "kind": "query"})
    with raises("54000"):
        save(w.c["alice"], {"slug": "two_more", "table": "teams", "kind": "query"})
    assert len(fn(w.c["owner"], "list_reports")) == 1000


def test_a_member_saves_reports_only_on_what_it_may_read(w):
    with raises("42501"):  # a column outside its grant
        save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["title", "secret"]}})
    fn(w.c["owner"], "create_table", table("hidden", {"name": "x", "type": "text"}))
    with raises("42501"):  # no grant on the table at all
        save(w.c["alice"], {"slug": "r", "table": "hidden", "kind": "query"})
    with raises("42501"):  # a column outside its grant, in a filter
        save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "aggregate",
                            "spec": {"metrics": {"n": "count"}, "filters": {"secret": "s-t1"}}})
    assert fn(w.c["owner"], "list_reports") == []
    # what it may read is fine
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["title"]}})


def scans(conn, rel):
    """Scans of rel in this transaction so far (pg_stat_xact_user_tables)."""
    return one(conn, "select coalesce(seq_scan, 0) + coalesce(idx_scan, 0) from pg_stat_xact_user_tables "
                     "where relid = %s::regclass", rel)


def test_save_report_checks_the_spec_without_running_it(w):
    """save_report compiles the spec as the caller (errors above) but reads no row of the
    table; run_report does."""
    rel = f"{w.co['schema']}.tasks"
    conn = w.c["alice"]
    with conn.transaction():
        save(conn, {"slug": "r", "table": "tasks", "kind": "aggregate",
                    "spec": {"group_by": ["team_id.name"], "metrics": {"n": "count"}}})
        assert scans(conn, rel) == 0
        run(conn, "r")
        assert scans(conn, rel) > 0


# --- replacing and dropping ----------------------------------------------------------------------

def test_the_saver_replaces_its_report(w):
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["title"]}})
    got = save(w.c["alice"], {"slug": "r", "name": "Again", "table": "tasks", "kind": "query",
                              "spec": {"columns": ["points"]}})
    assert got["name"] == "Again" and got["spec"] == {"columns": ["points"]}
    assert len(fn(w.c["alice"], "list_reports")) == 1


def test_a_member_may_not_replace_or_drop_another_users_report(w):
    saved = save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["title"]}})
    with raises("42501"):
        save(w.c["carol"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["points"]}})
    with raises("42501"):
        one(w.c["carol"], "select docpal.drop_report('r')")
    assert fn(w.c["owner"], "list_reports") == [saved]


@pytest.mark.parametrize("who", ["owner", "ada"])
def test_owners_and_admins_replace_and_drop_any_report(w, who):
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["title"]}})
    got = save(w.c[who], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["secret"]}})
    assert got["saved_by"] == str(w.users[who])  # scheduled runs now run as the replacer
    one(w.c[who], "select docpal.drop_report('r')")
    assert fn(w.c["owner"], "list_reports") == []


def test_an_owner_through_a_narrowed_key_may_not_replace_anothers_report(w):
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["title"]}})
    key = one(w.c["owner"], "select docpal.create_api_key('k', %s, array['read'])", w.users["owner"])["key"]
    app = w.connect(APP_LOGIN)
    with app.transaction():
        app.execute("select docpal.authenticate(%s, true)", (key,))
        with raises("42501"):
            with app.transaction():
                save(app, {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["points"]}})
        with raises("42501"):
            with app.transaction():
                app.execute("select docpal.drop_report('r')")


def test_drop_report(w):
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    assert schedule_row(w.db, w.co, "r") is not None
    assert one(w.c["alice"], "select docpal.drop_report('r')") in (None, "")  # void
    assert fn(w.c["alice"], "list_reports") == []
    assert schedule_row(w.db, w.co, "r") is None
    with raises("P0002"):
        run(w.c["alice"], "r")


def test_unknown_report_is_p0002(w):
    expect_codes([("run before any", lambda: run(w.c["alice"], "nope")),
                  ("drop before any", lambda: one(w.c["alice"], "select docpal.drop_report('nope')")),
                  ("snapshots before any", lambda: snapshots(w.c["alice"], "nope"))], "P0002")
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query"})
    expect_codes([("run", lambda: run(w.c["alice"], "nope")),
                  ("drop", lambda: one(w.c["alice"], "select docpal.drop_report('nope')")),
                  ("snapshots", lambda: snapshots(w.c["alice"], "nope"))], "P0002")


def test_everything_is_42501_without_a_context(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query"})
    bare = w.connect()
    expect_codes([
        ("save_report", lambda: save(bare, {"slug": "x", "table": "tasks", "kind": "query"})),
        ("run_report", lambda: run(bare, "r")),
        ("list_reports", lambda: fn(bare, "list_reports")),
        ("drop_report", lambda: one(bare, "select docpal.drop_report('r')")),
        ("report_snapshots", lambda: snapshots(bare, "r"))], "42501")
    assert len(fn(w.c["owner"], "list_reports")) == 1


def test_a_former_member_is_42501(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query"})
    w.db.execute("select docpal.remove_member(%s, %s)", (w.co["id"], w.users["bob"]))
    with raises("42501"):
        run(w.c["bob"], "r")


def test_run_due_reports_is_not_for_clients(w):
    app = w.connect(APP_LOGIN)
    with raises("42501"):
        due(app)
    # the service role, and a superuser, may
    assert due(w.svc) == {"ran": 0, "failed": 0}


# --- params --------------------------------------------------------------------------------------

def test_param_defaults_given_values_and_errors(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query",
                        "spec": {"columns": ["title"], "sort": ["title"],
                                 "filters": {"points": {"gte": "$param.min"}, "state": "$param.state"}},
                        "params": {"min": {"type": "integer", "default": 3},
                                   "state": {"type": "select", "options": ["open", "done"]}}})
    got = run(w.c["owner"], "r", {"state": "open"})
    assert got["params"] == {"min": 3, "state": "open"} and titles(got) == ["t1", "t2"]
    got = run(w.c["owner"], "r", {"state": "done", "min": "1"})
    assert got["params"] == {"min": 1, "state": "done"} and titles(got) == ["t3", "t4"]
    assert isinstance(got["params"]["min"], int)
    expect_codes([
        ("missing without default", lambda: run(w.c["owner"], "r")),
        ("missing, others given", lambda: run(w.c["owner"], "r", {"min": 1})),
        ("unknown", lambda: run(w.c["owner"], "r", {"state": "open", "max": 1})),
        ("not an object", lambda: run(w.c["owner"], "r", ["open"])),
        ("wrong type", lambda: run(w.c["owner"], "r", {"state": "open", "min": "three"})),
        ("outside options", lambda: run(w.c["owner"], "r", {"state": "closed"})),
        ("array for a scalar", lambda: run(w.c["owner"], "r", {"state": ["open"]}))], "22023")
    with raises("22023") as exc:
        run(w.c["owner"], "r", {"state": "open", "min": "three"})
    assert exc.value.diag.message_primary.startswith('param "min":')


def test_a_param_anywhere_in_the_spec(w):
    """In nested objects and arrays, any key's value (limit, sort items, in lists, metric args)."""
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query",
                        "spec": {"columns": ["title"], "sort": ["$param.order"], "limit": "$param.n",
                                 "filters": {"_or": [{"title": {"in": ["$param.a", "t5"]}},
                                                     {"points": {"between": ["$param.lo", 8]}}]}},
                        "params": {"order": {"type": "text", "default": "-title"},
                                   "n": {"type": "integer", "min": 1, "max": 1000, "default": 2},
                                   "a": {"type": "text"}, "lo": {"type": "integer", "default": 8}}})
    assert titles(run(w.c["owner"], "r", {"a": "t1"})) == ["t5", "t3"]
    assert titles(run(w.c["owner"], "r", {"a": "t1", "n": 10, "order": "title"})) == ["t1", "t3", "t5"]
    # a string that only contains "$param." is a literal
    save(w.c["owner"], {"slug": "lit", "table": "tasks", "kind": "query",
                        "spec": {"filters": {"title": "x $param.n"}}})
    assert run(w.c["owner"], "lit")["result"]["total"] == 0


def test_a_required_param_refuses_null_and_an_optional_one_takes_it(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query",
                        "spec": {"filters": {"team_id": "$param.team"}, "columns": ["title"]},
                        "params": {"team": {"type": "relation", "target": "teams", "default": None}}})
    assert titles(run(w.c["owner"], "r")) == ["t4"]  # null: the tasks without a team
    save(w.c["owner"], {"slug": "q", "table": "tasks", "kind": "query",
                        "spec": {"filters": {"team_id": "$param.team"}},
                        "params": {"team": {"type": "relation", "target": "teams", "required": True}}})
    with raises("22023") as exc:
        run(w.c["owner"], "q", {"team": None})
    assert "required" in exc.value.diag.message_primary


def test_datetime_params_are_read_in_the_company_time_zone(w):
    w.db.execute("select docpal.update_company(%s, %s)", (w.co["id"], J({"settings": {"time_zone": "Europe/Berlin"}})))
    fn(w.c["owner"], "add_column", "tasks", {"name": "at", "type": "datetime"})
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query",
                        "spec": {"filters": {"at": {"gte": "$param.since"}}},
                        "params": {"since": {"type": "datetime"}, "day": {"type": "date", "default": "today"}}})
    got = run(w.c["owner"], "r", {"since": "2024-03-01 10:00"})
    assert got["params"]["since"] == "2024-03-01T10:00:00+01:00"
    today = one(w.db, "select (now() at time zone 'Europe/Berlin')::date")
    assert got["params"]["day"] == today.isoformat()
    # whatever the session's own time zone
    w.c["owner"].execute("set timezone = 'America/Los_Angeles'")
    assert run(w.c["owner"], "r", {"since": "2024-03-01 10:00"})["params"]["since"] == "2024-03-01T10:00:00+01:00"
    assert run(w.c["owner"], "r", {"since": "2024-03-01T09:00:00Z"})["params"]["since"] == "2024-03-01T10:00:00+01:00"


# every column type: (type, column rules, good value given, normalized value, bad value)
TYPES = [
    ("text", {"max_length": 10}, "hello", "hello", "x" * 11),
    ("long_text", {}, "long words", "long words", ["a"]),
    ("rich_text", {}, "<b>r</b>", "<b>r</b>", {"b": 1}),
    ("integer", {"min": 0}, "42", 42, "4.5"),
    ("bigint", {}, "9000000000", 9000000000, "lots"),
    ("decimal", {"precision": 10, "scale": 2}, "12.35", Decimal("12.35"), "1e20"),
    ("float", {}, 1.5, Decimal("1.5"), "one"),
    ("currency", {"currency": "EUR"}, "9.99", Decimal("9.99"), "9,99 €"),
    ("percent", {"max": 100}, 50, 50, 150),
    ("boolean", {}, "true", True, "maybe"),
    ("date", {}, "2024-03-01", "2024-03-01", "2024-13-01"),
    ("time", {}, "10:30", "10:30:00", "25:00"),
    ("datetime", {}, "2024-03-01T10:00:00Z", "2024-03-01T10:00:00+00:00", "the day after"),
    ("duration", {}, "1 day 2 hours", "1 day 02:00:00", "forever"),
    ("email", {}, "a@b.co", "a@b.co", "not-an-email"),
    ("url", {}, "https://x.org/a", "https://x.org/a", "ftp:/x"),
    ("phone", {}, "+1 555 0100", "+1 555 0100", "call me"),
    ("json", {}, {"k": 1}, {"k": 1}, None),  # any JSON fits a json param; required below
    ("uuid", {}, "UUID", "UUID", "123"),
    ("select", {"options": ["a", "b"]}, "a", "a", "c"),
    ("multi_select", {"options": ["x", "y", "z"]}, ["x"], ["x"], ["q"]),
    ("relation", {"target": "targets"}, "REL", "REL", "nope"),
    ("relation_many", {"target": "targets"}, ["REL"], ["REL"], "REL"),
    ("user", {}, "USER", "USER", "me"),
    ("file", {}, "FILE", "FILE", 5),
    ("autonumber", {}, "1", 1, "first"),
    ("rating", {}, 3, 3, 6),
    ("color", {}, "#aabbcc", "#aabbcc", "red"),
]
assert len(TYPES) == 28


def filter_for(type_, column):
    if type_ in ("multi_select", "relation_many"):
        return {column: {"has_any": "$param.p"}}
    if type_ == "json":
        return {column: {"contains": "$param.p"}}
    return {column: "$param.p"}


@pytest.fixture
def every(w):
    """A table with a column of every type (but formula) and two records; returns the values
    of the first, which the good values of TYPES stand for."""
    o = w.c["owner"]
    fn(o, "create_table", table("targets", {"name": "name", "type": "text"}))
    rel = fn(o, "create_record", "targets", {"name": "one"})["id"]
    other = fn(o, "create_record", "targets", {"name": "two"})["id"]
    file = fn(o, "register_file", {"name": "f.pdf", "size": 1, "mime": "application/pdf",
                                   "sha256": "ab" * 32, "storage_key": "s3://b/f"})["id"]
    uid = str(uuid.uuid4())
    cols = []
    for type_, rules, *_ in TYPES:
        col = {"name": f"c_{type_}", "type": type_, **rules}
        if type_ in ("percent",):
            col.pop("max")
        cols.append(col)
    fn(o, "create_table", table("every", *cols))
    subst = {"UUID": uid, "REL": rel, "USER": str(w.users["owner"]), "FILE": file}
    first, second = {}, {}
    for type_, rules, good, norm, bad in TYPES:
        if type_ == "autonumber":
            continue
        value = subst.get(good, good) if isinstance(good, str) else [subst.get(x, x) for x in good] \
            if isinstance(good, list) else good
        first[f"c_{type_}"] = value
    second = {"c_text": "other", "c_integer": 7, "c_select": "b", "c_multi_select": ["y"], "c_relation": other,
              "c_relation_many": [other], "c_json": {"k": 2}, "c_boolean": False, "c_uuid": str(uuid.uuid4()),
              "c_user": str(w.users["alice"]), "c_date": "2025-01-01", "c_rating": 1, "c_color": "#000000"}
    a = fn(o, "create_record", "every", first)
    fn(o, "create_record", "every", second)
    return SimpleNamespace(subst=subst, first=a)


@pytest.mark.parametrize("type_,rules,good,norm,bad", TYPES, ids=[t[0] for t in TYPES])
def test_params_of_every_column_type(w, every, type_, rules, good, norm, bad):
    o = w.c["owner"]

    def sub(v):
        if isinstance(v, str):
            return every.subst.get(v, v)
        if isinstance(v, list):
            return [sub(x) for x in v]
        return v

    good, norm, bad = sub(good), sub(norm), sub(bad)
    param = {"type": type_, **rules}
    if type_ == "json":
        param["required"] = True
    save(o, {"slug": "r", "table": "every", "kind": "query",
             "spec": {"columns": ["id"], "filters": filter_for(type_, f"c_{type_}")}, "params": {"p": param}})
    got = run(o, "r", {"p": good})
    assert got["params"] == {"p": norm}
    assert type(got["params"]["p"]) is type(norm)
    # substituted, typed, in the query: the first record matches, the second does not
    assert [r["id"] for r in got["result"]["rows"]] == [every.first["id"]]
    with raises("22023") as exc:
        run(o, "r", {"p": bad})
    assert exc.value.diag.message_primary.startswith('param "p"'), exc.value.diag.message_primary
    # as a default it must fit too
    if type_ != "json":
        with raises("22023"):
            save(o, {"slug": "d", "table": "every", "kind": "query", "params": {"p": {**param, "default": bad}}})
    saved = save(o, {"slug": "d", "table": "every", "kind": "query",
                     "spec": {"columns": ["id"], "filters": filter_for(type_, f"c_{type_}")},
                     "params": {"p": {**param, "default": good}}})
    assert saved["params"]["p"]["default"] == good
    assert [r["id"] for r in run(o, "d")["result"]["rows"]] == [every.first["id"]]


def test_type_list_params_follow_the_list(w):
    o = w.c["owner"]
    fn(o, "create_type_list", "sizes", J(["s", "m"]))
    save(o, {"slug": "r", "table": "tasks", "kind": "query", "params": {"size": {"type": "select", "type_list": "sizes"}}})
    assert run(o, "r", {"size": "m"})["params"] == {"size": "m"}
    with raises("22023"):
        run(o, "r", {"size": "xl"})
    fn(o, "update_type_list", "sizes", J(["s", "m", "xl"]))
    assert run(o, "r", {"size": "xl"})["params"] == {"size": "xl"}


# --- a report shows a member no more than query_table ------------------------------------------------

def test_run_report_runs_with_the_callers_grants_not_the_savers(w):
    spec = {"columns": ["title"], "sort": ["title"]}
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "spec": spec})
    assert titles(run(w.c["owner"], "r")) == ["t1", "t2", "t3", "t4", "t5"]
    assert titles(run(w.c["alice"], "r")) == ["t1", "t2", "t5"]  # open tasks only
    assert titles(run(w.c["bob"], "r")) == ["t3", "t4"]  # done tasks only
    # a column outside the caller's grant stays 42501, whoever saved the report
    save(w.c["owner"], {"slug": "s", "table": "tasks", "kind": "query", "spec": {"columns": ["title", "secret"]}})
    with raises("42501"):
        run(w.c["alice"], "s")
    assert run(w.c["ada"], "s")["result"]["total"] == 5  # an admin reads it all
    fn(w.c["owner"], "create_table", table("hidden", {"name": "x", "type": "text"}))
    save(w.c["owner"], {"slug": "h", "table": "hidden", "kind": "query"})
    with raises("42501"):
        run(w.c["alice"], "h")


REPORT_SPECS = [
    ("query", {}),
    ("query", {"columns": ["title", "points", "team_id.name"], "sort": ["-points"]}),
    ("query", {"filters": {"points": {"gte": 2}}, "columns": ["title"]}),
    ("aggregate", {"group_by": ["state"], "metrics": {"n": "count", "p": {"sum": "points"}}}),
    ("aggregate", {"group_by": ["team_id.name"], "metrics": {"n": "count"}}),
    ("kanban", {"group_by": "state", "columns": ["title"], "sort": ["title"]}),
    ("calendar", {"start": "due", "label": "title", "from": "2024-01-01", "to": "2024-12-31"}),
]


def compare_as_each_member(w, kind, spec):
    slug = f"cmp_{uuid.uuid4().hex[:8]}"
    save(w.c["owner"], {"slug": slug, "table": "tasks", "kind": kind, "spec": spec})
    direct = {"query": "query_table", "aggregate": "aggregate", "kanban": "query_kanban",
              "calendar": "query_calendar"}[kind]
    for who in ("owner", "alice", "bob", "carol"):
        want = code_of(lambda: fn(w.c[who], direct, "tasks", spec))
        got = code_of(lambda: run(w.c[who], slug))
        assert got == want, (who, kind, spec, got, want)
        if want is None:
            assert run(w.c[who], slug)["result"] == fn(w.c[who], direct, "tasks", spec), (who, kind, spec)


@pytest.mark.parametrize("kind,spec", REPORT_SPECS)
def test_a_report_shows_each_member_what_query_table_shows_it(w, kind, spec):
    compare_as_each_member(w, kind, spec)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=st.lists(st.sampled_from(["title", "points", "state", "due", "team_id.name", "secret", "owner_id"]),
                        min_size=1, max_size=4, unique=True),
       low=st.integers(0, 9), sort=st.sampled_from([["title"], ["-points", "title"], ["due"]]))
def test_a_report_never_shows_more_than_query_table_property(w, columns, low, sort):
    compare_as_each_member(w, "query", {"columns": columns, "filters": {"points": {"gte": low}}, "sort": sort})


# --- schedules ------------------------------------------------------------------------------------

def saved_next(w, slug):
    return schedule_row(w.db, w.co, slug)


def test_schedule_next_run_at_and_list_reports(w):
    got = save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": OPEN_TITLES["query"],
                              "schedule": "30 9 * * *"})
    nxt = ts(got["next_run_at"])
    assert nxt == saved_next(w, "r")
    now = one(w.db, "select now()")
    assert now < nxt <= now + dt.timedelta(days=1)
    assert (nxt.astimezone(UTC).hour, nxt.minute) == (9, 30)
    listed = report_of(w.c["bob"], "r")
    assert listed["schedule"] == "30 9 * * *" and ts(listed["next_run_at"]) == nxt
    assert listed["last_run_at"] is None and listed["last_error"] is None
    assert listed["saved_by"] == str(w.users["alice"])
    # no schedule: no row
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": None})
    assert saved_next(w, "r") is None and report_of(w.c["bob"], "r")["next_run_at"] is None


def test_next_run_is_in_the_company_time_zone(w):
    w.db.execute("select docpal.update_company(%s, %s)",
                 (w.co["id"], J({"settings": {"time_zone": "America/New_York"}})))
    got = save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 9 * * *"})
    local = ts(got["next_run_at"]).astimezone(dt.timezone(dt.timedelta(0)))
    ny = one(w.db, "select (%s::timestamptz at time zone 'America/New_York')", got["next_run_at"])
    assert (ny.hour, ny.minute) == (9, 0) and local.hour in (13, 14)
    # after a run, the next one is computed in that zone too
    nxt = saved_next(w, "r")
    assert due(w.svc, nxt) == {"ran": 1, "failed": 0}
    ny2 = one(w.db, "select (next_run_at at time zone 'America/New_York') from docpal_private.report_schedule "
                    "where company_id = %s", w.co["id"])
    assert (ny2.hour, ny2.minute) == (9, 0) and ny2.date() == (ny + dt.timedelta(days=1)).date()


def test_a_time_zone_change_moves_the_next_run(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 9 * * *"})
    w.db.execute("select docpal.update_company(%s, %s)", (w.co["id"], J({"settings": {"time_zone": "Asia/Tokyo"}})))
    nxt = saved_next(w, "r")
    tokyo = one(w.db, "select (%s::timestamptz at time zone 'Asia/Tokyo')", nxt)
    assert (tokyo.hour, tokyo.minute) == (9, 0)
    assert nxt > one(w.db, "select now()")
    assert ts(report_of(w.c["owner"], "r")["next_run_at"]) == nxt


def test_not_due_before_due_at_and_one_catch_up_run(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "spec": OPEN_TITLES["query"],
                        "schedule": "0 * * * *"})
    nxt = saved_next(w, "r")
    assert due(w.svc, nxt - dt.timedelta(minutes=1)) == {"ran": 0, "failed": 0}
    assert snapshots(w.c["owner"], "r") == []
    assert due(w.svc, nxt) == {"ran": 1, "failed": 0}
    [snap] = snapshots(w.c["owner"], "r")
    assert ts(snap["ran_at"]) == nxt and ts(snap["due_at"]) == nxt
    assert [r["title"] for r in snap["result"]["rows"]] == ["t1", "t2", "t3", "t4", "t5"]
    assert set(snap) == {"ran_at", "due_at", "ms", "params", "result"}
    assert saved_next(w, "r") == nxt + dt.timedelta(hours=1)
    listed = report_of(w.c["owner"], "r")
    assert ts(listed["last_run_at"]) == nxt and listed["last_error"] is None
    # the same clock again: nothing is due
    assert due(w.svc, nxt) == {"ran": 0, "failed": 0}
    # three days of missed hours: one run catches up, the next is after the clock
    late = nxt + dt.timedelta(days=3, minutes=20)
    assert due(w.svc, late) == {"ran": 1, "failed": 0}
    assert len(snapshots(w.c["owner"], "r")) == 2
    assert saved_next(w, "r") == (late + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    [newest, _] = snapshots(w.c["owner"], "r")
    assert ts(newest["ran_at"]) == late and ts(newest["due_at"]) == nxt + dt.timedelta(hours=1)


def test_scheduled_runs_bind_the_defaults(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *",
                        "spec": {"columns": ["title"], "sort": ["title"], "filters": {"points": {"gte": "$param.min"}}},
                        "params": {"min": {"type": "integer", "default": 5}}})
    assert due(w.svc, saved_next(w, "r")) == {"ran": 1, "failed": 0}
    [snap] = snapshots(w.c["owner"], "r")
    assert snap["params"] == {"min": 5} and [r["title"] for r in snap["result"]["rows"]] == ["t2", "t3"]


def test_a_scheduled_run_needing_a_param_without_default_fails(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *",
                        "spec": {"filters": {"points": "$param.n"}}, "params": {"n": {"type": "integer"}}})
    nxt = saved_next(w, "r")
    assert due(w.svc, nxt) == {"ran": 0, "failed": 1}
    err = report_of(w.c["owner"], "r")["last_error"]
    assert err["sqlstate"] == "22023" and 'param "n"' in err["message"] and ts(err["at"]) == nxt


def test_scheduled_runs_run_as_the_saver(w):
    """alice (open tasks only) saved it; the service runs it acting as the owner: the snapshot
    holds what alice reads."""
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": OPEN_TITLES["query"],
                        "schedule": "*/5 * * * *"})
    nxt = saved_next(w, "r")
    with w.svc.transaction():
        w.svc.execute("select docpal.set_context(%s, %s, true)", (w.co["id"], w.users["owner"]))
        assert due(w.svc, nxt) == {"ran": 1, "failed": 0}
        assert one(w.svc, "select docpal.current_user_id()") == w.users["owner"]  # the context is put back
    [snap] = snapshots(w.c["alice"], "r")
    assert [r["title"] for r in snap["result"]["rows"]] == ["t1", "t2", "t5"]
    assert set(snap["result"]["rows"][0]) == {"title"}


def test_with_a_context_only_that_company_runs(w, db):
    other = one(db, "select docpal.create_company(%s, 'Other')", f"o-{uuid.uuid4().hex[:8]}")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (other, w.users["owner"]))
    oc = w.connect()
    oc.execute("select docpal.set_context(%s, %s, false)", (other, w.users["owner"]))
    fn(oc, "create_table", TEAMS)
    save(oc, {"slug": "r", "table": "teams", "kind": "query", "schedule": "0 * * * *"})
    save(w.c["owner"], {"slug": "r", "table": "teams", "kind": "query", "schedule": "0 * * * *"})
    later = one(db, "select now() + interval '2 hours'")
    with w.svc.transaction():
        w.svc.execute("select docpal.set_context(%s, %s, true)", (other, w.users["owner"]))
        assert due(w.svc, later) == {"ran": 1, "failed": 0}
    assert len(snapshots(oc, "r")) == 1 and snapshots(w.c["owner"], "r") == []
    assert due(w.svc, later) == {"ran": 1, "failed": 0}  # without a context: every company
    assert len(snapshots(w.c["owner"], "r")) == 1


def test_a_saver_no_longer_member_fails_the_run(w):
    save(w.c["bob"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    w.db.execute("select docpal.remove_member(%s, %s)", (w.co["id"], w.users["bob"]))
    nxt = saved_next(w, "r")
    assert due(w.svc, nxt) == {"ran": 0, "failed": 1}
    listed = report_of(w.c["owner"], "r")
    assert listed["last_error"]["sqlstate"] == "42501" and ts(listed["last_run_at"]) == nxt
    assert snapshots(w.c["owner"], "r") == []
    assert saved_next(w, "r") == nxt + dt.timedelta(hours=1)  # tried again at the next time, not at once
    # a success clears the error
    w.db.execute("select docpal.add_member(%s, %s, 'member')", (w.co["id"], w.users["bob"]))
    assert due(w.svc, nxt + dt.timedelta(hours=1)) == {"ran": 1, "failed": 0}
    assert report_of(w.c["owner"], "r")["last_error"] is None


def test_one_failing_report_does_not_stop_the_others(w):
    save(w.c["bob"], {"slug": "a", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    save(w.c["alice"], {"slug": "b", "table": "tasks", "kind": "query", "schedule": "0 * * * *",
                        "spec": {"columns": ["title"]}})
    w.db.execute("select docpal.remove_member(%s, %s)", (w.co["id"], w.users["bob"]))
    assert due(w.svc, saved_next(w, "a")) == {"ran": 1, "failed": 1}
    assert len(snapshots(w.c["alice"], "b")) == 1


def test_a_suspended_companys_reports_wait(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    nxt = saved_next(w, "r")
    w.db.execute("select docpal.suspend_company(%s, 'unpaid')", (w.co["id"],))
    assert due(w.svc, nxt + dt.timedelta(hours=5)) == {"ran": 0, "failed": 0}
    assert saved_next(w, "r") == nxt
    w.db.execute("select docpal.activate_company(%s)", (w.co["id"],))
    assert due(w.svc, nxt + dt.timedelta(hours=5)) == {"ran": 1, "failed": 0}


def test_a_locked_due_report_is_skipped_not_waited_for(w, connect):
    """SKIP LOCKED: a second runner passes over what the first one holds, and finds it done
    once the first commits."""
    save(w.c["owner"], {"slug": "a", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    save(w.c["owner"], {"slug": "b", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    clock = saved_next(w, "a")
    runner = connect(SERVICE_LOGIN)
    runner.execute("set lock_timeout = '1s'")
    # another runner's claim on report a, held open
    holder = connect(autocommit=False)
    holder.execute("select 1 from docpal_private.report_schedule where report = 'a' for update")
    assert due(runner, clock) == {"ran": 1, "failed": 0}  # b only, without waiting for a
    holder.rollback()
    assert due(runner, clock) == {"ran": 1, "failed": 0}  # a, now free
    assert due(runner, clock) == {"ran": 0, "failed": 0}
    assert len(snapshots(w.c["owner"], "a")) == 1 and len(snapshots(w.c["owner"], "b")) == 1


def test_a_call_past_its_budget_leaves_the_rest_for_the_next_one(w):
    """max_ms bounds one call's work: it starts no report past it and says "more", so a backlog is
    worked off in calls that each commit; the CLI's run_due loops while "more" comes back."""
    for slug in ("a", "b", "c"):
        save(w.c["owner"], {"slug": slug, "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    clock = max(saved_next(w, s) for s in ("a", "b", "c"))
    budget0 = "select docpal.run_due_reports(%s, max_ms => 0)"
    assert one(w.svc, budget0, clock) == {"ran": 1, "failed": 0, "more": True}
    assert one(w.svc, budget0, clock) == {"ran": 1, "failed": 0, "more": True}
    assert one(w.svc, budget0, clock) == {"ran": 1, "failed": 0}  # the last: nothing left
    assert due(w.svc, clock) == {"ran": 0, "failed": 0}
    assert all(len(snapshots(w.c["owner"], s)) == 1 for s in ("a", "b", "c"))
    # the CLI's loop (claim, commit, run, commit): one report past its time limit, then the rest
    from docpal import reports
    later = clock + dt.timedelta(hours=1)
    assert reports.run_due(w.svc, later.isoformat(), max_seconds=0) == {"ran": 1, "failed": 0, "more": True}
    assert reports.run_due(w.svc, later.isoformat()) == {"ran": 2, "failed": 0}
    assert all(len(snapshots(w.c["owner"], s)) == 2 for s in ("a", "b", "c"))


def test_two_concurrent_runners_run_each_due_report_once(w, connect):
    slugs = [f"r{i}" for i in range(8)]
    for slug in slugs:
        save(w.c["owner"], {"slug": slug, "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    clock = saved_next(w, "r0")
    runners = [connect(SERVICE_LOGIN, autocommit=False) for _ in range(2)]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def go(conn):
        try:
            barrier.wait()
            results.append(one(conn, "select docpal.run_due_reports(%s)", clock))
            conn.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(c,)) for c in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(r["ran"] for r in results) == len(slugs) and all(r["failed"] == 0 for r in results)
    for slug in slugs:
        assert len(snapshots(w.c["owner"], slug)) == 1, slug


def test_while_one_runner_holds_the_reports_the_other_runs_none(w, connect):
    for slug in ("a", "b"):
        save(w.c["owner"], {"slug": slug, "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    clock = saved_next(w, "a")
    first, second = connect(SERVICE_LOGIN, autocommit=False), connect(SERVICE_LOGIN)
    second.execute("set lock_timeout = '2s'")
    assert one(first, "select docpal.run_due_reports(%s)", clock) == {"ran": 2, "failed": 0}
    assert due(second, clock) == {"ran": 0, "failed": 0}  # skipped, not waited for
    first.commit()
    assert due(second, clock) == {"ran": 0, "failed": 0}  # done by the first
    assert [len(snapshots(w.c["owner"], s)) for s in ("a", "b")] == [1, 1]


# --- snapshots --------------------------------------------------------------------------------------

def test_retention_keeps_the_newest_n(w):
    w.db.execute("select docpal.set_platform_setting('report_snapshots_kept', '3')")
    try:
        save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
        clock = saved_next(w, "r")
        runs = [clock + dt.timedelta(hours=i) for i in range(5)]
        for at in runs:
            assert due(w.svc, at) == {"ran": 1, "failed": 0}
        got = snapshots(w.c["owner"], "r")
        assert [ts(s["ran_at"]) for s in got] == runs[::-1][:3]
        assert one(w.db, f"select count(*) from {w.co['schema']}._report_snapshots") == 3
    finally:
        w.db.execute("select docpal.set_platform_setting('report_snapshots_kept', '10')")


def test_retention_default_is_ten_and_limit_pages(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    clock = saved_next(w, "r")
    for i in range(12):
        due(w.svc, clock + dt.timedelta(hours=i))
    assert len(snapshots(w.c["owner"], "r", 1000)) == 10
    assert len(snapshots(w.c["owner"], "r")) == 10
    got = snapshots(w.c["owner"], "r", 2)
    assert [ts(s["ran_at"]) for s in got] == [clock + dt.timedelta(hours=11), clock + dt.timedelta(hours=10)]
    for bad in (0, 1001, None):
        with raises("22023"):
            one(w.c["owner"], "select docpal.report_snapshots('r', %s)", bad)


@pytest.mark.parametrize("value", ["0", "1001", "-1", "ten", "", "3.5"])
def test_report_snapshots_kept_setting_range(w, value):
    with raises("22023"):
        w.db.execute("select docpal.set_platform_setting('report_snapshots_kept', %s)", (value,))


def test_report_snapshots_kept_is_for_the_service_role(w):
    assert one(w.svc, "select docpal.set_platform_setting('report_snapshots_kept', '1000')") == "1000"
    w.svc.execute("select docpal.set_platform_setting('report_snapshots_kept', '10')")
    with raises("42501"):
        w.connect(APP_LOGIN).execute("select docpal.set_platform_setting('report_snapshots_kept', '5')")


def test_snapshots_are_shown_only_to_who_reads_the_same(w):
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": OPEN_TITLES["query"],
                        "schedule": "0 * * * *"})
    assert due(w.svc, saved_next(w, "r")) == {"ran": 1, "failed": 0}
    assert len(snapshots(w.c["alice"], "r")) == 1
    assert len(snapshots(w.c["carol"], "r")) == 1  # the same role: the same reads
    assert snapshots(w.c["bob"], "r") == []  # reads other rows
    assert len(snapshots(w.c["owner"], "r")) == 1 and len(snapshots(w.c["ada"], "r")) == 1
    # a change of carol's grants hides it from her
    one(w.c["owner"], "select docpal.assign_role(%s, 'closers')", w.users["carol"])
    assert snapshots(w.c["carol"], "r") == []


def test_an_owners_snapshot_is_hidden_from_members(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    assert due(w.svc, saved_next(w, "r")) == {"ran": 1, "failed": 0}
    assert snapshots(w.c["alice"], "r") == [] and snapshots(w.c["bob"], "r") == []
    assert len(snapshots(w.c["ada"], "r")) == 1


def test_a_user_row_filter_makes_snapshots_per_user(w):
    fn(w.c["owner"], "create_role", "mine")
    one(w.c["owner"], "select docpal.grant_permission('mine', 'tasks', array['read'], %s)",
        J({"row_filter": {"owner_id": "$user"}}))
    for who in ("alice", "carol"):
        one(w.c["owner"], "select docpal.unassign_role(%s, 'openers')", w.users[who])
        one(w.c["owner"], "select docpal.assign_role(%s, 'mine')", w.users[who])
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": OPEN_TITLES["query"],
                        "schedule": "0 * * * *"})
    due(w.svc, saved_next(w, "r"))
    [snap] = snapshots(w.c["alice"], "r")
    assert [r["title"] for r in snap["result"]["rows"]] == ["t1", "t3"]
    assert snapshots(w.c["carol"], "r") == []  # the same role, another user's rows


def test_a_spec_naming_user_makes_snapshots_per_user(w):
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *",
                        "spec": {"columns": ["title"], "filters": {"team_id": {"is_null": False}, "id": {"neq": "$user"}}}})
    due(w.svc, saved_next(w, "r"))
    assert len(snapshots(w.c["alice"], "r")) == 1
    assert snapshots(w.c["carol"], "r") == []  # same grants, but "$user" is another user


def test_an_api_key_without_read_sees_no_snapshot(w):
    save(w.c["alice"], {"slug": "r", "table": "tasks", "kind": "query", "spec": OPEN_TITLES["query"],
                        "schedule": "0 * * * *"})
    due(w.svc, saved_next(w, "r"))
    key = one(w.c["alice"], "select docpal.create_api_key('k', %s, array['create'])", w.users["alice"])["key"]
    app = w.connect(APP_LOGIN)
    with app.transaction():
        app.execute("select docpal.authenticate(%s, true)", (key,))
        assert snapshots(app, "r") == []


def test_replacing_a_report_clears_its_snapshots(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    clock = saved_next(w, "r")
    due(w.svc, clock)
    assert len(snapshots(w.c["owner"], "r")) == 1
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *",
                        "spec": {"columns": ["title"]}})
    assert snapshots(w.c["owner"], "r") == []
    listed = report_of(w.c["owner"], "r")
    assert listed["last_run_at"] is None


def test_dropping_a_report_drops_its_snapshots(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    due(w.svc, saved_next(w, "r"))
    one(w.c["owner"], "select docpal.drop_report('r')")
    assert one(w.db, f"select count(*) from {w.co['schema']}._report_snapshots") == 0


def forgetting_world(w):
    """Scheduled reports on tasks, on teams (a list of its tasks' secrets: tasks link to teams)
    and on notes (linked to nothing), each with a snapshot."""
    owner = w.c["owner"]
    fn(owner, "create_table", table("notes", {"name": "body", "type": "text"}))
    fn(owner, "create_record", "notes", {"body": "kept"})
    reports = {"on_tasks": ("tasks", {"columns": ["title", "secret"]}),
               "on_teams": ("teams", {"columns": ["name", {"tasks": {"columns": ["secret"]}}]}),
               "on_notes": ("notes", {"columns": ["body"]})}
    for slug, (on, spec) in reports.items():
        save(owner, {"slug": slug, "table": on, "kind": "query", "spec": spec, "schedule": "0 * * * *"})
    assert due(w.svc, max(saved_next(w, slug) for slug in reports)) == {"ran": 3, "failed": 0}
    assert "s-t1" in json.dumps(snapshots(owner, "on_teams"), default=str)
    return owner


def test_drop_table_deletes_the_snapshots_that_could_show_its_data(w):
    """A snapshot would keep showing a dropped table's rows (report_snapshots, a dashboard)
    while run_report says 42P01: the snapshots of the reports on it and on every table linked to
    it go with it, in its transaction; a refused drop_table deletes nothing."""
    owner = forgetting_world(w)
    with raises("2BP01"):  # tasks.team_id points at teams
        fn(owner, "drop_table", "teams")
    assert [len(snapshots(owner, s)) for s in ("on_tasks", "on_teams", "on_notes")] == [1, 1, 1]
    fn(owner, "drop_table", "tasks")
    assert snapshots(owner, "on_tasks") == [] and snapshots(owner, "on_teams") == []
    assert [r["rows"] for r in (s["result"] for s in snapshots(owner, "on_notes"))] == [[{"body": "kept"}]]
    assert one(w.db, f"select count(*) from {w.co['schema']}._report_snapshots") == 1
    with raises("42P01"):
        run(owner, "on_tasks")
    # the reports stay: definitions, for their savers to drop or fix
    assert [r["slug"] for r in fn(owner, "list_reports")] == ["on_notes", "on_tasks", "on_teams"]


def test_drop_column_deletes_the_snapshots_that_could_show_it(w):
    owner = forgetting_world(w)
    fn(owner, "drop_column", "tasks", "secret")
    assert snapshots(owner, "on_tasks") == [] and snapshots(owner, "on_teams") == []
    assert len(snapshots(owner, "on_notes")) == 1
    with raises("42703"):
        run(owner, "on_tasks")


def test_a_report_dropped_while_due_leaves_no_schedule(w):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    clock = saved_next(w, "r")
    # as if a runner had claimed the row while the report went away (plain SQL by a DBA)
    w.db.execute(f"delete from {w.co['schema']}._reports")
    assert due(w.svc, clock) == {"ran": 0, "failed": 0}
    assert saved_next(w, "r") is None


def test_a_report_being_replaced_is_left_for_the_next_run(w, connect):
    """A runner never waits on a client: a report whose row an open transaction holds (a save
    or drop in flight) stays due and runs at the next call."""
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    clock = saved_next(w, "r")
    w.svc.execute("set lock_timeout = '1s'")
    # the report's row alone held (its schedule row free)
    holder = connect(autocommit=False)
    holder.execute(f"select 1 from {w.co['schema']}._reports where slug = 'r' for update")
    assert due(w.svc, clock) == {"ran": 0, "failed": 0}
    assert saved_next(w, "r") == clock  # still due
    holder.rollback()
    assert due(w.svc, clock) == {"ran": 1, "failed": 0}
    # a replacement in flight holds both
    clock = saved_next(w, "r")
    saver = connect(autocommit=False)
    set_context(saver, w.co, w.users["owner"])
    saver.commit()
    save(saver, {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *",
                 "spec": {"columns": ["title"]}})
    assert due(w.svc, clock) == {"ran": 0, "failed": 0}
    saver.commit()
    assert snapshots(w.c["owner"], "r") == []  # the replacement cleared them
    nxt = saved_next(w, "r")
    assert due(w.svc, nxt) == {"ran": 1, "failed": 0}
    [snap] = snapshots(w.c["owner"], "r")
    assert set(snap["result"]["rows"][0]) == {"title"}


def test_saving_a_report_a_runner_holds_waits_at_most_the_lock_timeout(w, connect):
    save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "schedule": "0 * * * *"})
    clock = saved_next(w, "r")
    w.db.execute("select docpal.set_platform_setting('lock_timeout', '200ms')")
    try:
        runner = connect(SERVICE_LOGIN, autocommit=False)
        assert one(runner, "select docpal.run_due_reports(%s)", clock) == {"ran": 1, "failed": 0}
        with raises("55P03"):
            save(w.c["owner"], {"slug": "r", "table": "tasks", "kind": "query", "spec": {"columns": ["title"]}})
        runner.commit()
        assert report_of(w.c["owner"], "r")["spec"] == {}  # nothing changed
        assert len(snapshots(w.c["owner"], "r")) == 1
    finally:
        w.db.execute("select docpal.set_platform_setting('lock_timeout', '2s')")
