"""Dashboards: contract section 11 (save_dashboard, get_dashboard,
list_dashboards, drop_dashboard), docs/reports.md "Dashboards".

One company with a table of tasks, an owner, and three members: alice (the
company fixture's member) and bob, who read only team a's tasks and not their
secret column (a grant with a row filter), and carol, who reads everything
but the secret column. Reports are saved by the owner unless a test says
otherwise; a scheduled report's snapshot is made by run_due_reports (the
service role), with its clock moved where a test needs it.
"""

from __future__ import annotations

import json
import threading
import uuid
from types import SimpleNamespace

import psycopg
import pytest
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN
from helpers import expect_codes, fn, one, raises, set_context, table, U

TASKS = table("tasks",
              {"name": "title", "type": "text"},
              {"name": "team", "type": "select", "options": ["a", "b"]},
              {"name": "hours", "type": "integer"},
              {"name": "due", "type": "date"},
              {"name": "secret", "type": "text"})

ROWS = [("t1", "a", 1, "2026-01-05"), ("t2", "a", 2, "2026-01-06"), ("t3", "b", 4, "2026-01-07"),
        ("t4", "b", 8, "2026-02-01"), ("t5", "a", 16, "2026-02-02")]

#: reports: a parameterized aggregate, a list with a required param, a kanban, a scheduled
#: aggregate, and a scheduled report whose spec names $user
REPORTS = [
    {"slug": "by_team", "name": "Hours by team", "table": "tasks", "kind": "aggregate",
     "spec": {"group_by": ["team"], "metrics": {"n": "count", "hours": {"sum": "hours"}},
              "filters": {"hours": {"gte": "$param.min_hours"}}},
     "params": {"min_hours": {"type": "integer", "default": 0}}},
    {"slug": "list", "name": "Tasks of a team", "table": "tasks", "kind": "query",
     "spec": {"columns": ["title", "hours"], "filters": {"team": "$param.team", "due": {"gte": "$param.since"}},
              "sort": ["title"]},
     "params": {"team": {"type": "select", "options": ["a", "b"]}, "since": {"type": "date", "default": "2000-01-01"}}},
    {"slug": "board", "name": "Board", "table": "tasks", "kind": "kanban",
     "spec": {"group_by": "team", "columns": ["title"], "sort": ["title"]}},
    {"slug": "hourly", "name": "Hourly totals", "table": "tasks", "kind": "aggregate",
     "spec": {"group_by": ["team"], "metrics": {"n": "count", "hours": {"sum": "hours"}},
              "filters": {"hours": {"gte": "$param.min_hours"}}},
     "params": {"min_hours": {"type": "integer", "default": 0}}, "schedule": "0 * * * *"},
    {"slug": "mine", "name": "My tasks", "table": "tasks", "kind": "aggregate",
     "spec": {"metrics": {"n": "count"}, "filters": {"created_by": "$user"}}, "schedule": "0 * * * *"},
]


def widget(wid, report, chart="bar", x=0, y=0, w=6, h=4, **extra):
    return {"id": wid, "report": report, "chart": chart, "x": x, "y": y, "w": w, "h": h, **extra}


BOARD = {"slug": "ops", "name": "Operations", "widgets": [
    widget("teams", "by_team", params={"min_hours": 2}),
    widget("list_a", "list", "table", x=6, params={"team": "a"}),
    widget("board", "board", "kanban", y=4, w=12, title="The board"),
    widget("hourly", "hourly", "number", x=12, w=12)]}


@pytest.fixture
def env(db, connect, company):
    owner = set_context(connect(SERVICE_LOGIN), company, company["owner"])

    def user(name, role="member"):
        uid = one(db, "select docpal.create_user(%s, %s)", f"{name}-{company['slug']}@example.com", name.title())
        db.execute("select docpal.add_member(%s, %s, %s)", (company["id"], uid, role))
        return uid

    bob, carol, admin = user("bob"), user("carol"), user("admin", "admin")
    fn(owner, "create_table", TASKS)
    for title, team, hours, due in ROWS:
        fn(owner, "create_record", "tasks", {"title": title, "team": team, "hours": hours, "due": due,
                                             "secret": f"secret-{title}"})
    one(owner, "select docpal.grant_permission('member', 'tasks', array['read'], %s)",
        Jsonb({"columns": ["title", "team", "hours", "due"], "row_filter": {"team": "a"}}))
    fn(owner, "create_role", "lead")
    one(owner, "select docpal.grant_permission('lead', 'tasks', array['read'], %s)",
        Jsonb({"columns": ["title", "team", "hours", "due"]}))
    fn(owner, "assign_role", U(carol), "lead")
    for spec in REPORTS:
        fn(owner, "save_report", spec)

    def conn_of(uid):
        return set_context(connect(SERVICE_LOGIN), company, uid)

    return SimpleNamespace(db=db, company=company, schema=company["schema"], owner=owner,
                           alice=conn_of(company["member"]), bob=conn_of(bob), carol=conn_of(carol),
                           admin=conn_of(admin), ids={"owner": company["owner"], "alice": company["member"],
                                                      "bob": bob, "carol": carol, "admin": admin},
                           connect=connect)


def save(conn, spec):
    return fn(conn, "save_dashboard", spec)


def get(conn, slug, params=None):
    if params is None:
        return fn(conn, "get_dashboard", slug)
    return fn(conn, "get_dashboard", slug, params)


def run(conn, slug, params=None):
    return fn(conn, "run_report", slug, params or {})


def widgets(board):
    return {w["id"]: w for w in board["widgets"]}


def make_due(env, report="hourly"):
    """Runs `report`'s schedule once now (its due time put back to the top of this hour, then
    run_due_reports as the service role): its snapshot is fresh for the hour."""
    env.db.execute("update docpal_private.report_schedule set next_run_at = date_trunc('hour', now()) "
                   "where company_id = %s and report = %s", (env.company["id"], report))
    service = env.connect(SERVICE_LOGIN)
    result = one(service, "select docpal.run_due_reports()")
    assert result["failed"] == 0 and result["ran"] >= 1, result
    return one(env.db, f"select to_jsonb(s) from {env.schema}._report_snapshots s where report = %s "
                       "order by ran_at desc limit 1", report)


# --- save_dashboard ---------------------------------------------------------------------------

def test_save_dashboard_returns_it_normalized(env):
    saved = save(env.owner, BOARD)
    assert saved["slug"] == "ops" and saved["name"] == "Operations"
    assert saved["saved_by"] == str(env.ids["owner"]) and saved["saved_at"]
    by_id = widgets(saved)
    assert list(by_id) == ["teams", "list_a", "board", "hourly"]
    # the title defaults to the report's name; every widget has every key
    assert by_id["teams"] == {"id": "teams", "title": "Hours by team", "report": "by_team", "params": {"min_hours": 2},
                              "chart": "bar", "x": 0, "y": 0, "w": 6, "h": 4}
    assert by_id["board"]["title"] == "The board" and by_id["hourly"]["params"] == {}
    assert fn(env.owner, "get_dashboard", "ops")["widgets"][0]["params"] == {"min_hours": 2}


def test_widget_params_are_normalized_when_saved(env):
    saved = save(env.owner, {"slug": "n", "name": "N", "widgets": [
        widget("w", "list", params={"team": "a", "since": "2026-1-5"}), widget("z", "by_team", params=None)]})
    assert widgets(saved)["w"]["params"] == {"team": "a", "since": "2026-01-05"}
    assert widgets(saved)["z"]["params"] == {}


def test_any_member_may_save_a_new_dashboard(env):
    saved = save(env.alice, {"slug": "alices", "name": "Alice's", "widgets": [widget("w", "by_team")]})
    assert saved["saved_by"] == str(env.ids["alice"])
    # an empty dashboard is one too (widgets are added later)
    assert save(env.bob, {"slug": "empty", "name": "Empty", "widgets": []})["widgets"] == []


def test_replacing_is_for_the_saver_owners_and_admins(env):
    save(env.alice, {"slug": "alices", "name": "v1", "widgets": [widget("w", "by_team")]})
    with raises("42501"):
        save(env.bob, {"slug": "alices", "name": "bob's", "widgets": []})
    assert get(env.alice, "alices")["name"] == "v1"
    assert save(env.alice, {"slug": "alices", "name": "v2", "widgets": []})["name"] == "v2"
    replaced = save(env.admin, {"slug": "alices", "name": "v3", "widgets": [widget("w", "board", "kanban")]})
    # the one who saved this version is its saver now
    assert replaced["saved_by"] == str(env.ids["admin"])
    assert save(env.owner, {"slug": "alices", "name": "v4", "widgets": []})["name"] == "v4"
    assert [(d["slug"], d["name"], d["widgets"]) for d in fn(env.alice, "list_dashboards")] == [("alices", "v4", 0)]


def test_an_admin_through_a_narrowed_key_replaces_only_its_own(env, connect):
    """An admin's API key without every scope acts as a member here (as for reports)."""
    save(env.alice, {"slug": "alices", "name": "A", "widgets": []})
    with env.db.transaction():
        env.db.execute("select docpal.set_context(%s, %s, is_local => true)", (env.company["id"], env.ids["owner"]))
        key = one(env.db, "select docpal.create_api_key('narrow', %s, array['read'])", U(env.ids["admin"]))
    client = connect(APP_LOGIN)
    client.execute("select docpal.authenticate(%s, false)", (key["key"],))
    expect_codes([
        ("replace", lambda: save(client, {"slug": "alices", "name": "mine now", "widgets": []})),
        ("drop", lambda: fn(client, "drop_dashboard", "alices")),
    ], "42501")
    # its own it may change
    save(client, {"slug": "admins", "name": "v1", "widgets": []})
    assert save(client, {"slug": "admins", "name": "v2", "widgets": []})["name"] == "v2"
    fn(client, "drop_dashboard", "admins")
    assert [d["slug"] for d in fn(env.owner, "list_dashboards")] == ["alices"]


@pytest.mark.parametrize("patch, what", [
    (None, "not an object"),
    ({"slug": "Bad Slug"}, "slug"),
    ({"slug": 7}, "slug type"),
    ({"name": " "}, "blank name"),
    ({"name": "x" * 201}, "long name"),
    ({"widgets": {"a": 1}}, "widgets not an array"),
    ({"extra": 1}, "unknown key"),
    ({"widgets": [1]}, "widget not an object"),
    ({"widgets": [widget("w", "by_team", colour="red")]}, "unknown widget key"),
    ({"widgets": [widget("w", "by_team"), widget("w", "board")]}, "repeated id"),
    ({"widgets": [widget("", "by_team")]}, "empty id"),
    ({"widgets": [widget("a b", "by_team")]}, "id with a space"),
    ({"widgets": [widget("w", "nope")]}, "unknown report"),
    ({"widgets": [{"id": "w", "chart": "bar", "x": 0, "y": 0, "w": 1, "h": 1}]}, "no report"),
    ({"widgets": [widget("w", "by_team", "donut")]}, "unknown chart"),
    ({"widgets": [widget("w", "by_team", "kanban")]}, "kanban chart of an aggregate"),
    ({"widgets": [widget("w", "by_team", title=5)]}, "title type"),
    ({"widgets": [widget("w", "by_team", x=-1)]}, "x < 0"),
    ({"widgets": [widget("w", "by_team", x=24, w=1)]}, "x > 23"),
    ({"widgets": [widget("w", "by_team", x=20, w=6)]}, "x + w > 24"),
    ({"widgets": [widget("w", "by_team", w=0)]}, "w = 0"),
    ({"widgets": [widget("w", "by_team", w=25)]}, "w > 24"),
    ({"widgets": [widget("w", "by_team", h=0)]}, "h = 0"),
    ({"widgets": [widget("w", "by_team", h=101)]}, "h > 100"),
    ({"widgets": [widget("w", "by_team", y=1000)]}, "y > 999"),
    ({"widgets": [widget("w", "by_team", y=1.5)]}, "y not whole"),
    ({"widgets": [widget("w", "by_team", h="2")]}, "h a string"),
    ({"widgets": [{k: v for k, v in widget("w", "by_team").items() if k != "h"}]}, "h missing"),
    ({"widgets": [widget("w", "by_team", params={"nope": 1})]}, "unknown param"),
    ({"widgets": [widget("w", "by_team", params={"min_hours": "many"})]}, "param of the wrong type"),
    ({"widgets": [widget("w", "list", params={"team": "c"})]}, "param outside its options"),
    ({"widgets": [widget("w", "by_team", params=[1])]}, "params not an object"),
])
def test_save_dashboard_refuses_a_malformed_spec(env, patch, what):
    spec = None if patch is None else {"slug": "bad", "name": "Bad", "widgets": [widget("w", "by_team")]} | patch
    with raises("22023") as exc:
        save(env.owner, spec)
    if what == "unknown report":
        assert 'widget "w": report "nope" does not exist' in str(exc.value)
    if what == "param of the wrong type":
        assert 'widget "w": param "min_hours"' in str(exc.value)
    assert fn(env.owner, "list_dashboards") == []


def test_save_dashboard_size_limits(env):
    many = {"slug": "many", "name": "Many", "widgets": [widget(f"w{i}", "by_team") for i in range(51)]}
    with raises("54000"):
        save(env.owner, many)
    many["widgets"].pop()
    assert len(save(env.owner, many)["widgets"]) == 50
    with raises("54000"):
        save(env.owner, {"slug": "huge", "name": "x" * 300_000, "widgets": []})


def test_at_most_200_dashboards_per_company(env):
    """A new slug past 200 dashboards is 54000 (the message naming the limit); replacing one is
    always allowed, and dropping one makes room."""
    save(env.owner, {"slug": "d000", "widgets": []})
    env.db.execute(f"insert into {env.schema}._dashboards (slug, name, widgets, saved_by) "
                   "select 'd' || lpad(g::text, 3, '0'), 'filler', '[]', %s from generate_series(1, 199) g",
                   (env.ids["alice"],))
    for conn in (env.alice, env.owner):
        with raises("54000") as exc:
            save(conn, {"slug": "one_more", "widgets": []})
        assert "200 dashboards, the limit of 200" in exc.value.diag.message_primary
    assert save(env.alice, {"slug": "d100", "name": "Mine", "widgets": []})["name"] == "Mine"
    fn(env.alice, "drop_dashboard", "d001")
    save(env.alice, {"slug": "one_more", "widgets": []})
    with raises("54000"):
        save(env.alice, {"slug": "two_more", "widgets": []})
    assert len(fn(env.owner, "list_dashboards")) == 200


def test_bad_input_changes_nothing(env):
    save(env.owner, BOARD)
    before = get(env.owner, "ops")
    with raises("22023"):
        save(env.owner, BOARD | {"name": "Changed", "widgets": [widget("w", "nope")]})
    assert get(env.owner, "ops")["name"] == before["name"]


def test_a_company_without_reports_has_no_dashboards(db, connect, company):
    owner = set_context(connect(SERVICE_LOGIN), company, company["owner"])
    assert fn(owner, "list_dashboards") == []
    with raises("P0002"):
        get(owner, "nothing")
    with raises("P0002"):
        fn(owner, "drop_dashboard", "nothing")
    with raises("22023"):
        save(owner, {"slug": "x", "name": "X", "widgets": [widget("w", "by_team")]})
    # nothing was made for the refused save: the company still has no report tables
    assert one(db, "select to_regclass(%s) is null", f"{company['schema']}._dashboards")


def test_without_a_context_everything_is_refused(env, connect):
    save(env.owner, BOARD)
    nobody = connect(SERVICE_LOGIN)
    expect_codes([
        ("save", lambda: save(nobody, BOARD)),
        ("get", lambda: get(nobody, "ops")),
        ("list", lambda: fn(nobody, "list_dashboards")),
        ("drop", lambda: fn(nobody, "drop_dashboard", "ops")),
    ], "42501")


def test_a_removed_member_is_refused(env):
    save(env.alice, {"slug": "alices", "name": "A", "widgets": []})
    env.db.execute("select docpal.remove_member(%s, %s)", (env.company["id"], env.ids["alice"]))
    expect_codes([
        ("get", lambda: get(env.alice, "alices")),
        ("drop", lambda: fn(env.alice, "drop_dashboard", "alices")),
    ], "42501")


def test_two_new_saves_of_one_slug_race(env, connect):
    """Two members save the same new slug at once: the second waits for the first, then is a
    replace of alice's dashboard, which bob may not do."""
    first = set_context(connect(SERVICE_LOGIN, autocommit=False), env.company, env.ids["alice"])
    save(first, {"slug": "race", "name": "alice", "widgets": []})
    outcome = {}

    def second():
        try:
            save(env.bob, {"slug": "race", "name": "bob", "widgets": []})
            outcome["code"] = None
        except psycopg.Error as exc:
            outcome["code"] = exc.sqlstate

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the second save waits for the first's row"
    first.commit()
    thread.join(10)
    assert outcome == {"code": "42501"}
    assert get(env.alice, "race")["name"] == "alice"


# --- list_dashboards and drop_dashboard ---------------------------------------------------------

def test_list_dashboards(env):
    save(env.owner, BOARD)
    save(env.alice, {"slug": "alices", "name": "Alice's", "widgets": [widget("w", "by_team")]})
    listed = fn(env.bob, "list_dashboards")
    assert [(d["slug"], d["name"], d["widgets"], d["saved_by"]) for d in listed] == [
        ("alices", "Alice's", 1, str(env.ids["alice"])), ("ops", "Operations", 4, str(env.ids["owner"]))]
    assert all(d["saved_at"] for d in listed) and set(listed[0]) == {"slug", "name", "widgets", "saved_by", "saved_at"}


def test_drop_dashboard(env):
    save(env.alice, {"slug": "alices", "name": "A", "widgets": [widget("w", "by_team")]})
    with raises("P0002"):
        fn(env.alice, "drop_dashboard", "nope")
    with raises("42501"):
        fn(env.bob, "drop_dashboard", "alices")
    fn(env.alice, "drop_dashboard", "alices")
    with raises("P0002"):
        get(env.alice, "alices")
    # its reports stay
    assert run(env.owner, "by_team")["result"]["groups"]
    save(env.alice, {"slug": "again", "name": "A", "widgets": []})
    fn(env.owner, "drop_dashboard", "again")
    save(env.alice, {"slug": "again", "name": "A", "widgets": []})
    fn(env.admin, "drop_dashboard", "again")
    assert fn(env.owner, "list_dashboards") == []


# --- get_dashboard: live data ----------------------------------------------------------------

def test_get_dashboard_runs_each_widget_as_the_caller(env):
    save(env.owner, BOARD)
    for who in ("owner", "alice", "carol"):
        conn = getattr(env, who)
        board = get(conn, "ops")
        assert board["slug"] == "ops" and board["name"] == "Operations"
        by_id = widgets(board)
        # no snapshot yet: every widget ran now, as this caller, and shows what run_report shows it
        assert {w["source"] for w in by_id.values()} == {"live"}
        assert by_id["teams"]["data"] == run(conn, "by_team", {"min_hours": 2})["result"], who
        assert by_id["list_a"]["data"] == run(conn, "list", {"team": "a"})["result"], who
        assert by_id["board"]["data"] == run(conn, "board")["result"], who
        assert by_id["hourly"]["data"] == run(conn, "hourly")["result"], who
        assert all(w["ran_at"] for w in by_id.values())
    # alice reads team a only: her numbers are hers
    assert widgets(get(env.alice, "ops"))["teams"]["data"]["groups"] == [{"team": "a", "n": 2, "hours": 18}]
    assert widgets(get(env.owner, "ops"))["teams"]["data"]["groups"] == [
        {"team": "a", "n": 2, "hours": 18}, {"team": "b", "n": 2, "hours": 12}]


def test_call_params_apply_to_the_widgets_that_declare_them(env):
    save(env.owner, {"slug": "p", "name": "P", "widgets": [
        widget("mine", "by_team", params={"min_hours": 2}),
        widget("default", "hourly"),
        widget("list", "list", "table", params={"team": "a"}),
        widget("board", "board", "kanban")]})
    board = widgets(get(env.owner, "p", {"min_hours": 4, "since": "2026-02-01"}))
    # the call's value over the widget's own, and over the default
    assert board["mine"]["data"] == run(env.owner, "by_team", {"min_hours": 4})["result"]
    assert board["default"]["data"] == run(env.owner, "hourly", {"min_hours": 4})["result"]
    # since applies to list only, whose team stays the widget's
    assert board["list"]["data"] == run(env.owner, "list", {"team": "a", "since": "2026-02-01"})["result"]
    assert [r["title"] for r in board["list"]["data"]["rows"]] == ["t5"]
    assert board["board"]["data"] == run(env.owner, "board")["result"]
    # a widget keeps its saved params: the call changed nothing
    assert widgets(get(env.owner, "p"))["mine"]["data"] == run(env.owner, "by_team", {"min_hours": 2})["result"]
    assert widgets(get(env.owner, "p"))["mine"]["params"] == {"min_hours": 2}


def test_get_dashboard_refuses_bad_call_params(env):
    save(env.owner, BOARD)
    with raises("22023") as exc:
        get(env.owner, "ops", {"nope": 1})
    assert 'param "nope"' in str(exc.value)
    with raises("22023") as exc:
        get(env.owner, "ops", {"min_hours": "lots"})
    assert 'param "min_hours"' in str(exc.value)
    with raises("22023"):
        get(env.owner, "ops", {"team": "c"})
    with raises("22023"):
        get(env.owner, "ops", [1])
    with raises("P0002"):
        get(env.owner, "nope")
    with raises("54000"):
        get(env.owner, "ops", {"min_hours": "x" * 300_000})


def test_a_widget_missing_a_required_param_says_so(env):
    save(env.owner, {"slug": "m", "name": "M", "widgets": [widget("list", "list", "table"),
                                                           widget("teams", "by_team")]})
    board = widgets(get(env.owner, "m"))
    assert board["list"]["error"]["sqlstate"] == "22023" and 'param "team"' in board["list"]["error"]["message"]
    assert "data" not in board["list"] and board["teams"]["source"] == "live"
    # the call may give it
    assert widgets(get(env.owner, "m", {"team": "b"}))["list"]["data"] == run(env.owner, "list", {"team": "b"})["result"]


# --- get_dashboard: broken widgets -------------------------------------------------------------

def test_a_widget_the_caller_may_not_read_shows_an_error_not_data(env, db):
    # a report on a table only owners and admins read
    fn(env.owner, "create_table", table("vault", {"name": "note", "type": "text"}))
    fn(env.owner, "create_record", "vault", {"note": "hidden-note"})
    fn(env.owner, "save_report", {"slug": "vault", "name": "Vault", "table": "vault", "kind": "query",
                                  "spec": {"columns": ["note"]}, "schedule": "0 * * * *"})
    save(env.owner, {"slug": "v", "name": "V", "widgets": [widget("vault", "vault", "table"),
                                                           widget("teams", "by_team")]})
    make_due(env, "vault")
    board = widgets(get(env.alice, "v"))
    assert board["vault"]["error"]["sqlstate"] == "42501"
    assert "data" not in board["vault"] and "source" not in board["vault"]
    assert "hidden-note" not in json.dumps(board)
    assert board["teams"]["data"] == run(env.alice, "by_team")["result"]
    # the owner sees it (from the snapshot)
    assert widgets(get(env.owner, "v"))["vault"]["data"]["rows"] == [{"note": "hidden-note"}]


def test_a_widget_whose_report_or_table_is_gone_shows_an_error(env):
    fn(env.owner, "create_table", table("scratch", {"name": "note", "type": "text"}))
    fn(env.owner, "save_report", {"slug": "scratch", "name": "Scratch", "table": "scratch", "kind": "query",
                                  "spec": {"columns": ["note"]}})
    fn(env.owner, "save_report", {"slug": "temp", "name": "Temp", "table": "tasks", "kind": "query",
                                  "spec": {"columns": ["title"]}})
    save(env.owner, {"slug": "g", "name": "G", "widgets": [
        widget("scratch", "scratch", "table"), widget("temp", "temp", "table"), widget("teams", "by_team")]})
    fn(env.owner, "drop_table", "scratch")
    fn(env.owner, "drop_report", "temp")
    board = widgets(get(env.owner, "g"))
    assert board["scratch"]["error"]["sqlstate"] == "42P01"
    assert board["temp"]["error"] == {"sqlstate": "P0002", "message": 'report "temp" does not exist'}
    assert board["teams"]["source"] == "live" and board["teams"]["data"]["groups"]
    # the call's params are checked against the reports still there
    with raises("22023"):
        get(env.owner, "g", {"nope": 1})


def test_a_widget_whose_params_no_longer_fit_shows_an_error(env):
    save(env.owner, {"slug": "f", "name": "F", "widgets": [widget("teams", "by_team", params={"min_hours": 2})]})
    # the report replaced without that param
    fn(env.owner, "save_report", {"slug": "by_team", "name": "Hours by team", "table": "tasks", "kind": "aggregate",
                                  "spec": {"group_by": ["team"], "metrics": {"n": "count"}}})
    error = widgets(get(env.owner, "f"))["teams"]["error"]
    assert error["sqlstate"] == "22023" and 'param "min_hours"' in error["message"]


# --- get_dashboard: snapshots ----------------------------------------------------------------------

def test_a_fresh_snapshot_is_used(env):
    save(env.owner, BOARD)
    snap = make_due(env)
    # the data changes after the snapshot: the widget shows the snapshot, not a new run
    fn(env.owner, "create_record", "tasks", {"title": "t6", "team": "a", "hours": 32})
    for who in ("owner", "admin"):
        w = widgets(get(getattr(env, who), "ops"))["hourly"]
        assert w["source"] == "snapshot", who
        assert w["data"] == snap["result"]
        assert w["data"] != run(env.owner, "hourly")["result"]
        assert one(env.db, "select %s::timestamptz = %s::timestamptz", w["ran_at"], snap["ran_at"])
    # the other widgets (no schedule) ran live
    assert widgets(get(env.owner, "ops"))["teams"]["source"] == "live"


def test_a_stale_snapshot_is_not_used(env):
    save(env.owner, BOARD)
    make_due(env)
    # two hours older: past its schedule's period (an hour) since it was due
    env.db.execute(f"update {env.schema}._report_snapshots set ran_at = ran_at - interval '2 hours', "
                   "due_at = due_at - interval '2 hours'")
    fn(env.owner, "create_record", "tasks", {"title": "t6", "team": "a", "hours": 32})
    w = widgets(get(env.owner, "ops"))["hourly"]
    assert w["source"] == "live" and w["data"] == run(env.owner, "hourly")["result"]


def test_freshness_is_the_schedule_period_from_the_due_time(env):
    """A snapshot is fresh while now < ran_at + (next due after due_at - due_at)."""
    save(env.owner, BOARD)
    make_due(env)
    # 59 minutes ago, for a due time an hour before that: still fresh (ran late, counted from the run)
    env.db.execute(f"update {env.schema}._report_snapshots set ran_at = now() - interval '59 minutes', "
                   "due_at = date_trunc('hour', now()) - interval '2 hours'")
    assert widgets(get(env.owner, "ops"))["hourly"]["source"] == "snapshot"
    env.db.execute(f"update {env.schema}._report_snapshots set ran_at = now() - interval '61 minutes'")
    assert widgets(get(env.owner, "ops"))["hourly"]["source"] == "live"
    # a daily schedule has a day's period
    spec = next(r for r in REPORTS if r["slug"] == "hourly") | {"schedule": "0 6 * * *"}
    fn(env.owner, "save_report", spec)  # replacing a report drops its snapshots
    assert one(env.db, f"select count(*) from {env.schema}._report_snapshots") == 0
    env.db.execute("update docpal_private.report_schedule set next_run_at = now() - interval '1 minute' "
                   "where company_id = %s", (env.company["id"],))
    one(env.connect(SERVICE_LOGIN), "select docpal.run_due_reports()")
    env.db.execute(f"update {env.schema}._report_snapshots set ran_at = now() - interval '23 hours', "
                   "due_at = date_trunc('day', now()) - interval '2 days' + interval '6 hours'")
    assert widgets(get(env.owner, "ops"))["hourly"]["source"] == "snapshot"


def test_a_snapshot_of_other_params_is_not_used(env):
    save(env.owner, BOARD)
    make_due(env)
    # a call param the scheduled report declares: the snapshot (defaults) does not answer it
    w = widgets(get(env.owner, "ops", {"min_hours": 4}))["hourly"]
    assert w["source"] == "live" and w["data"] == run(env.owner, "hourly", {"min_hours": 4})["result"]
    # nor for a widget whose own params differ from the defaults
    save(env.owner, {"slug": "own", "name": "Own", "widgets": [widget("h", "hourly", params={"min_hours": 8})]})
    assert widgets(get(env.owner, "own"))["h"]["source"] == "live"
    # giving the default explicitly binds to the same params: the snapshot serves
    assert widgets(get(env.owner, "ops", {"min_hours": 0}))["hourly"]["source"] == "snapshot"


def test_a_member_with_a_row_filter_never_gets_the_owners_snapshot(env):
    save(env.owner, BOARD)
    snap = make_due(env)
    assert snap["view"] == "all"
    for who in ("alice", "carol"):
        conn = getattr(env, who)
        w = widgets(get(conn, "ops"))["hourly"]
        assert w["source"] == "live", who
        assert w["data"] == run(conn, "hourly")["result"], who
    assert widgets(get(env.alice, "ops"))["hourly"]["data"]["groups"] == [{"team": "a", "n": 3, "hours": 19}]


def test_a_members_snapshot_serves_who_reads_the_same(env):
    """A report saved by alice runs as alice on schedule: bob, granted what alice is, gets her
    snapshot; carol (another grant) and a member whose grants changed since do not; owners do."""
    fn(env.alice, "save_report", next(r for r in REPORTS if r["slug"] == "hourly") | {"slug": "alices_hourly"})
    save(env.alice, {"slug": "a", "name": "A", "widgets": [widget("h", "alices_hourly")]})
    snap = make_due(env, "alices_hourly")
    assert snap["view"] != "all"
    fn(env.owner, "create_record", "tasks", {"title": "t6", "team": "a", "hours": 32})
    for who in ("alice", "bob", "owner"):
        w = widgets(get(getattr(env, who), "a"))["h"]
        assert (w["source"], w["data"]) == ("snapshot", snap["result"]), who
    w = widgets(get(env.carol, "a"))["h"]
    assert w["source"] == "live" and w["data"] == run(env.carol, "alices_hourly")["result"]
    # bob is given more: his view is no longer alice's
    fn(env.owner, "assign_role", U(env.ids["bob"]), "lead")
    w = widgets(get(env.bob, "a"))["h"]
    assert w["source"] == "live" and w["data"] == run(env.bob, "alices_hourly")["result"]


def test_a_snapshot_of_a_report_naming_user_is_the_savers_own(env):
    """mine filters on $user: its snapshot (run as the owner who saved it) serves owners and
    admins, and no member, whose $user is someone else."""
    save(env.owner, {"slug": "u", "name": "U", "widgets": [widget("mine", "mine", "number")]})
    snap = make_due(env, "mine")
    assert widgets(get(env.owner, "u"))["mine"]["source"] == "snapshot"
    w = widgets(get(env.alice, "u"))["mine"]
    assert w["source"] == "live" and w["data"] == run(env.alice, "mine")["result"] != snap["result"]


def test_the_callers_view_is_computed_once_per_call(env):
    """Ten widgets of a scheduled report with a fresh snapshot: report_view runs once for the
    call, not once per widget (the function statistics of the call's own transaction)."""
    save(env.alice, {"slug": "ten", "name": "Ten", "widgets": [widget(f"w{i}", "hourly") for i in range(10)]})
    make_due(env)
    conn = env.connect()  # a superuser may count function calls (track_functions)
    conn.execute("set track_functions = 'all'")
    set_context(conn, env.company, env.ids["bob"])
    with conn.transaction():
        board = get(conn, "ten")
        calls = one(conn, "select coalesce(sum(calls), 0) from pg_stat_xact_user_functions "
                          "where schemaname = 'docpal_private' and funcname = 'report_view'")
    # bob reads what alice reads, but the snapshot is the owner's: every widget ran live
    assert {w["source"] for w in board["widgets"]} == {"live"}
    assert calls == 1


def test_each_report_and_params_is_bound_once_per_call(env):
    """A widget's params are bound once, not once to look for a snapshot and again to run, and
    widgets showing the same report with the same params share that binding: report_bind runs
    once per distinct (report, params) of the call (plus once per report to check the call's
    own params), and each widget still shows what run_report shows the caller."""
    shared = ([widget(f"a{i}", "by_team", params={"min_hours": 2}) for i in range(6)]
              + [widget(f"b{i}", "by_team") for i in range(3)]
              + [widget(f"l{i}", "list", "table", params={"team": "a"}) for i in range(4)])
    save(env.owner, {"slug": "shared", "name": "Shared", "widgets": shared})
    conn = env.connect()  # a superuser may count function calls (track_functions)
    conn.execute("set track_functions = 'all'")
    set_context(conn, env.company, env.ids["carol"])

    def binds(params):
        with conn.transaction():
            count = ("select coalesce(sum(calls), 0) from pg_stat_xact_user_functions "
                     "where schemaname = 'docpal_private' and funcname = 'report_bind'")
            before = one(conn, count)
            board = get(conn, "shared", params)
            return board, one(conn, count) - before

    board, calls = binds(None)
    assert calls == 3
    expected = {"a": run(env.carol, "by_team", {"min_hours": 2})["result"], "b": run(env.carol, "by_team")["result"],
                "l": run(env.carol, "list", {"team": "a"})["result"]}
    assert expected["a"] != expected["b"]
    for w in board["widgets"]:
        assert (w["source"], w["data"]) == ("live", expected[w["id"][0]]), w["id"]
    # the call's min_hours goes over both by_team widgets' own: one binding for them (and the
    # call's params are checked once against each of the two reports)
    board, calls = binds({"min_hours": 4})
    assert calls == 2 + 2
    expected = run(env.carol, "by_team", {"min_hours": 4})["result"]
    assert [w["data"] for w in board["widgets"] if w["report"] == "by_team"] == [expected] * 9


def test_a_dropped_tables_snapshot_is_shown_nowhere(env):
    """After drop_table, a widget of a scheduled report on that table shows the error run_report
    gives (42P01), not its fresh snapshot, and report_snapshots has none."""
    fn(env.owner, "create_table", table("notes", {"name": "body", "type": "text"}))
    fn(env.owner, "create_record", "notes", {"body": "gone-note"})
    fn(env.owner, "save_report", {"slug": "notes", "name": "Notes", "table": "notes", "kind": "query",
                                  "spec": {"columns": ["body"]}, "schedule": "0 * * * *"})
    save(env.owner, {"slug": "n", "name": "N", "widgets": [widget("notes", "notes", "table"),
                                                             widget("teams", "by_team")]})
    make_due(env, "notes")
    assert widgets(get(env.owner, "n"))["notes"]["source"] == "snapshot"
    fn(env.owner, "drop_table", "notes")
    board = get(env.owner, "n")
    assert widgets(board)["notes"]["error"]["sqlstate"] == "42P01"
    assert "gone-note" not in json.dumps(board, default=str)
    assert fn(env.owner, "report_snapshots", "notes") == []
    assert widgets(board)["teams"]["source"] == "live"
