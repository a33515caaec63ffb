"""`docpal reports run` and `docpal reports run-due`, and `docpal listen --run-due-reports`
(contract sections 8 CLI and 11), against the test cluster.

The commands run in-process (click's CliRunner) except the listener that has to
keep running, which is a real subprocess (as in test_listen.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN
from docpal.cli import main
from helpers import fn, one, set_context, table

DOCPAL = Path(sys.executable).parent / "docpal"
DEADLINE = 60  # seconds a condition may take to come true on a loaded machine

ITEMS = table("items",
              {"name": "title", "type": "text"},
              {"name": "qty", "type": "integer"},
              {"name": "price", "type": "decimal", "precision": 12, "scale": 2},
              {"name": "status", "type": "select", "options": ["todo", "doing", "done"]},
              {"name": "due", "type": "date"},
              {"name": "meta", "type": "json"},
              {"name": "tags", "type": "multi_select", "options": ["a", "b", "c"]},
              {"name": "urgent", "type": "boolean"})

#: Values a CSV writer must quote or carry through: commas, quotes, line breaks, unicode, a
#: leading '=' (left as it is: no formula escaping), a negative number.
RECORDS = [
    {"title": "plain", "qty": 1, "price": "1.50", "status": "todo", "due": "2026-03-02",
     "meta": {"k": [1, "x"], "n": None}, "tags": ["a"], "urgent": True},
    {"title": "comma, here", "qty": 2, "price": "2.25", "status": "doing", "due": "2026-03-05",
     "tags": [], "urgent": False},
    {"title": 'say "hi"', "qty": 3, "price": "10.00", "status": "todo", "due": "2026-03-10",
     "meta": {"q": 'a,"b"\nc'}, "tags": ["a", "b"]},
    {"title": "two\nlines\r\nand crlf", "qty": 4, "status": "done", "due": "2026-04-01"},
    {"title": "ünïcødé — 日本語 🎉", "qty": 5, "status": "done"},
    {"title": "=1+1", "qty": 6, "price": "-3.00", "status": "doing"},
    {"title": "007", "qty": 8, "status": "todo", "tags": ["c"]},
]
COLUMNS = ["title", "qty", "price", "status", "due", "meta", "tags", "urgent"]


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def url_as(dburl: str, login: str) -> str:
    return dburl.replace("://postgres@", f"://{login}@")


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def expected_cell(value) -> str:
    """What a CSV field holds for a JSON value (written independently of docpal.reports)."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def run_json(dburl, *args):
    result = invoke("reports", "run", *args, "--database-url", dburl)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout, parse_float=Decimal)


def run_csv(dburl, *args):
    result = invoke("reports", "run", *args, "--format", "csv", "--database-url", dburl)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode()  # as written (Result.stdout turns CRLF into LF)


@pytest.fixture
def shop(db, company, connect):
    """The company with table `items` holding RECORDS (made by the owner), the member allowed to
    read the rows with qty <= 2 (title and qty only), and the owner's connection `conn`."""
    conn = set_context(connect(), company, company["owner"])
    fn(conn, "create_table", ITEMS)
    for record in RECORDS:
        fn(conn, "create_record", "items", record)
    conn.execute("select docpal.grant_permission('member', 'items', array['read'], %s)",
                 (Jsonb({"columns": ["title", "qty", "due", "status"], "row_filter": {"qty": {"lte": 2}}}),))
    return company | {"conn": conn}


def save(conn, slug, kind, spec, params=None, schedule=None, table_slug="items"):
    report = {"slug": slug, "name": slug.title(), "table": table_slug, "kind": kind, "spec": spec}
    if params is not None:
        report["params"] = params
    if schedule is not None:
        report["schedule"] = schedule
    return fn(conn, "save_report", report)


# --- run: each kind as JSON and CSV ------------------------------------------------

def test_json_is_what_run_report_returns_as_the_saver(dburl, shop):
    save(shop["conn"], "all_items", "query", {"columns": COLUMNS, "sort": ["qty"]})
    printed = run_json(dburl, "all_items", "--company", shop["slug"])
    direct = fn(shop["conn"], "run_report", "all_items")
    assert set(printed) == {"report", "params", "ran_at", "ms", "result"}
    assert (printed["report"], printed["params"], printed["result"]) == ("all_items", {}, direct["result"])
    assert [r["title"] for r in printed["result"]["rows"]] == [r["title"] for r in RECORDS]
    assert printed["result"]["rows"][0]["price"] == Decimal("1.50")  # exact digits, as PostgreSQL gave them


def test_query_csv_round_trips_the_json_result(dburl, shop):
    save(shop["conn"], "all_items", "query", {"columns": COLUMNS, "sort": ["qty"]})
    rows = read_csv(run_csv(dburl, "all_items", "--company", shop["slug"]))
    result = run_json(dburl, "all_items", "--company", shop["slug"])["result"]
    assert rows[0] == COLUMNS  # the spec's order, not jsonb's key order
    assert rows[1:] == [[expected_cell(r[c]) for c in COLUMNS] for r in result["rows"]]
    assert len(rows) == 1 + len(RECORDS)


def test_csv_escaping_of_commas_quotes_newlines_unicode_and_formulas(dburl, shop):
    save(shop["conn"], "titles", "query", {"columns": ["title", "meta", "price"], "sort": ["qty"]})
    out = run_csv(dburl, "titles", "--company", shop["slug"])
    # RFC 4180: CRLF line ends, quoted fields, doubled quotes, line breaks inside quotes
    assert out.startswith("title,meta,price\r\n")
    assert '\r\n"comma, here",,2.25\r\n' in out
    assert '\r\n"say ""hi""","{""q"":""a,\\""b\\""\\nc""}",10.00\r\n' in out
    assert '\r\n"two\nlines\r\nand crlf",,\r\n' in out
    assert "\r\nünïcødé — 日本語 🎉,,\r\n" in out
    assert "\r\n=1+1,,-3.00\r\n" in out  # a leading = is data, written as it is
    assert '\r\nplain,"{""k"":[1,""x""],""n"":null}",1.50\r\n' in out  # nested values: compact JSON
    rows = read_csv(out)
    assert [r[0] for r in rows[1:]] == [r["title"] for r in RECORDS]
    assert json.loads(rows[3][1]) == {"q": 'a,"b"\nc'}


def test_csv_cells_null_booleans_arrays_dates(dburl, shop):
    save(shop["conn"], "flags", "query", {"columns": ["qty", "urgent", "tags", "due"], "sort": ["qty"],
                                          "limit": 3})
    assert read_csv(run_csv(dburl, "flags", "--company", shop["slug"])) == [
        ["qty", "urgent", "tags", "due"],
        ["1", "true", '["a"]', "2026-03-02"],
        ["2", "false", "[]", "2026-03-05"],
        ["3", "", '["a","b"]', "2026-03-10"]]


def test_query_csv_without_columns_orders_id_table_columns_then_system_columns(dburl, shop):
    save(shop["conn"], "everything", "query", {"sort": ["qty"], "limit": 2})
    rows = read_csv(run_csv(dburl, "everything", "--company", shop["slug"]))
    assert rows[0] == ["id", *COLUMNS, "version", "created_at", "created_by", "updated_at", "updated_by"]
    result = run_json(dburl, "everything", "--company", shop["slug"])["result"]
    assert rows[1:] == [[expected_cell(r.get(c)) for c in rows[0]] for r in result["rows"]]


def test_query_csv_with_no_rows_is_the_header(dburl, shop):
    save(shop["conn"], "none", "query", {"columns": ["title", "qty"], "filters": {"qty": {"gt": 100}}})
    assert run_csv(dburl, "none", "--company", shop["slug"]) == "title,qty\r\n"


def test_aggregate_csv_is_one_line_per_group_keys_then_metrics(dburl, shop):
    save(shop["conn"], "by_status", "aggregate",
         {"group_by": ["status"], "metrics": {"n": "count", "total": {"sum": "qty"}, "avg_price": {"avg": "price"}}})
    rows = read_csv(run_csv(dburl, "by_status", "--company", shop["slug"]))
    groups = run_json(dburl, "by_status", "--company", shop["slug"])["result"]["groups"]
    assert rows[0][0] == "status" and sorted(rows[0][1:]) == ["avg_price", "n", "total"]
    assert rows[1:] == [[expected_cell(g[c]) for c in rows[0]] for g in groups]
    by_status = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert set(by_status) == {"todo", "doing", "done"}
    assert (by_status["todo"]["n"], by_status["todo"]["total"]) == ("3", "12")  # qty 1 + 3 + 8
    assert Decimal(by_status["doing"]["avg_price"]) == Decimal("-0.375")  # (2.25 - 3.00) / 2
    assert by_status["done"]["avg_price"] == ""  # no prices: null


def test_aggregate_csv_group_by_a_param_and_no_groups(dburl, shop):
    save(shop["conn"], "count_by", "aggregate",
         {"group_by": ["$param.by"], "metrics": {"n": "count"}, "filters": {"qty": {"gte": "$param.min"}}},
         params={"by": {"type": "text", "default": "status"}, "min": {"type": "integer", "default": 0}})
    rows = read_csv(run_csv(dburl, "count_by", "--company", shop["slug"], "--param", "by=urgent"))
    assert rows == [["urgent", "n"], ["false", "1"], ["true", "1"], ["", "5"]]
    empty = read_csv(run_csv(dburl, "count_by", "--company", shop["slug"], "--param", "min=100"))
    assert empty == [["status", "n"]]


def test_kanban_csv_is_one_line_per_card_lane_first(dburl, shop):
    save(shop["conn"], "board", "kanban", {"group_by": "status", "columns": ["title", "qty"], "sort": ["qty"]})
    rows = read_csv(run_csv(dburl, "board", "--company", shop["slug"]))
    lanes = run_json(dburl, "board", "--company", shop["slug"])["result"]["groups"]
    assert rows[0] == ["lane", "title", "qty"]
    assert rows[1:] == [[lane["value"], card["title"], str(card["qty"])] for lane in lanes for card in lane["rows"]]
    assert [r[0] for r in rows[1:]] == ["todo"] * 3 + ["doing"] * 2 + ["done"] * 2  # option order
    save(shop["conn"], "whole_cards", "kanban", {"group_by": "status", "sort": ["qty"], "limit_per_group": 1})
    whole = read_csv(run_csv(dburl, "whole_cards", "--company", shop["slug"]))
    assert whole[0] == ["lane", "id", *COLUMNS, "version", "created_at", "created_by", "updated_at", "updated_by"]
    assert [(r[0], r[2]) for r in whole[1:]] == [("todo", "plain"), ("doing", "comma, here"), ("done", "two\nlines\r\nand crlf")]


def test_kanban_csv_with_lane_labels(dburl, shop):
    conn = shop["conn"]
    fn(conn, "create_table", table("teams", {"name": "name", "type": "text"}))
    fn(conn, "create_table", table("tasks", {"name": "title", "type": "text"},
                                   {"name": "team", "type": "relation", "target": "teams"}))
    red = fn(conn, "create_record", "teams", {"name": "Red, Inc."})["id"]
    fn(conn, "create_record", "tasks", {"title": "paint", "team": red})
    fn(conn, "create_record", "tasks", {"title": "orphan"})
    save(conn, "tasks_board", "kanban", {"group_by": "team", "lane_label": "name", "columns": ["title"]},
         table_slug="tasks")
    assert read_csv(run_csv(dburl, "tasks_board", "--company", shop["slug"])) == [
        ["lane", "lane_label", "title"], [red, "Red, Inc.", "paint"], ["", "", "orphan"]]


def test_calendar_csv_is_one_line_per_event_with_date_params(dburl, shop):
    save(shop["conn"], "month", "calendar",
         {"start": "due", "label": "title", "color": "status", "from": "$param.from", "to": "$param.to"},
         params={"from": {"type": "date", "default": "2026-03-01"}, "to": {"type": "date", "default": "2026-03-31"}})
    rows = read_csv(run_csv(dburl, "month", "--company", shop["slug"]))
    events = run_json(dburl, "month", "--company", shop["slug"])["result"]["events"]
    assert rows[0] == ["id", "label", "start", "end", "color"]
    assert rows[1:] == [[e["id"], e["label"], e["start"], "", e["color"]] for e in events]
    assert [r[1:3] for r in rows[1:]] == [["plain", "2026-03-02"], ["comma, here", "2026-03-05"],
                                          ['say "hi"', "2026-03-10"]]
    april = read_csv(run_csv(dburl, "month", "--company", shop["slug"],
                             "--param", "from=2026-04-01", "--param", "to=2026-04-30"))
    assert [r[1] for r in april[1:]] == ["two\nlines\r\nand crlf"]


# --- parameters ----------------------------------------------------------------------

def test_param_values_are_typed_by_the_reports_params(dburl, shop):
    save(shop["conn"], "typed", "query",
         {"columns": ["title"], "sort": ["qty"],
          "filters": {"qty": {"gte": "$param.min"}, "title": {"neq": "$param.not"},
                      "_or": [{"tags": {"has_any": "$param.tags"}}, {"urgent": "$param.urgent"}]}},
         params={"min": {"type": "integer", "default": 0}, "not": {"type": "text", "default": "-"},
                 "tags": {"type": "multi_select", "options": ["a", "b", "c"], "default": ["c"]},
                 "urgent": {"type": "boolean", "default": False}})

    def titles(*params):
        args = [a for p in params for a in ("--param", p)]
        out = run_json(dburl, "typed", "--company", shop["slug"], *args)
        return out["params"], [r["title"] for r in out["result"]["rows"]]

    assert titles() == ({"min": 0, "not": "-", "tags": ["c"], "urgent": False}, ["comma, here", "007"])
    assert titles("urgent=true")[1] == ["plain", "007"]
    bound, rows = titles('tags=["b"]', "min=2", "urgent=true")  # plain is urgent, but its qty is 1
    assert bound == {"min": 2, "not": "-", "tags": ["b"], "urgent": True} and rows == ['say "hi"']
    # a text param keeps its text: 007 is not the number 7, true is not a boolean
    assert titles("not=007", "min=7") == ({"min": 7, "not": "007", "tags": ["c"], "urgent": False}, [])
    assert titles("not=7", "min=7")[1] == ["007"]
    assert titles("not=true")[0]["not"] == "true"
    # name:=JSON passes JSON as it is
    assert titles("min:=3", 'not:="plain"', "urgent:=true") == (
        {"min": 3, "not": "plain", "tags": ["c"], "urgent": True}, ["007"])


@pytest.mark.parametrize("params, message", [
    (["min=abc"], 'param "min"'),  # not an integer
    (["min=1.5"], 'param "min"'),
    (["nope=1"], "nope"),  # unknown param
    (["day=2026-02-30"], 'param "day"'),
])
def test_a_bad_param_fails_with_22023(dburl, shop, params, message):
    save(shop["conn"], "p", "query", {"columns": ["title"], "filters": {"qty": {"gte": "$param.min"},
                                                                       "due": {"gte": "$param.day"}}},
         params={"min": {"type": "integer", "default": 0}, "day": {"type": "date", "default": "2026-01-01"}})
    result = invoke("reports", "run", "p", "--company", shop["slug"], "--database-url", dburl,
                    *[a for p in params for a in ("--param", p)])
    assert result.exit_code == 1, result.output
    assert "Error: 22023:" in result.output and message in result.output


def test_a_missing_param_without_default_fails_with_22023(dburl, shop):
    save(shop["conn"], "need", "query", {"columns": ["title"], "filters": {"qty": {"gte": "$param.min"}}},
         params={"min": {"type": "integer"}})
    result = invoke("reports", "run", "need", "--company", shop["slug"], "--database-url", dburl)
    assert result.exit_code == 1 and "Error: 22023:" in result.output and "min" in result.output
    assert run_json(dburl, "need", "--company", shop["slug"], "--param", "min=6")["result"]["total"] == 2


@pytest.mark.parametrize("param, message", [
    ("novalue", "give name=value"), ("=1", "give name=value"), ("x:=not json", "needs JSON")])
def test_a_malformed_param_is_a_usage_error(dburl, shop, param, message):
    save(shop["conn"], "all", "query", {"columns": ["title"]})
    result = invoke("reports", "run", "all", "--company", shop["slug"], "--param", param, "--database-url", dburl)
    assert result.exit_code == 2 and message in result.output


def test_a_param_given_twice_is_a_usage_error(dburl, shop):
    save(shop["conn"], "all", "query", {"columns": ["title"]})
    result = invoke("reports", "run", "all", "--company", shop["slug"], "--param", "a=1", "--param", "a=2",
                    "--database-url", dburl)
    assert result.exit_code == 2 and "given twice" in result.output


# --- what is run, and as whom -------------------------------------------------------

def test_unknown_company_and_unknown_report(dburl, shop):
    save(shop["conn"], "all", "query", {"columns": ["title"]})
    nobody = invoke("reports", "run", "all", "--company", "no-such-co", "--database-url", dburl)
    assert nobody.exit_code == 1 and "no company 'no-such-co'" in nobody.output
    missing = invoke("reports", "run", "nope", "--company", shop["slug"], "--database-url", dburl)
    assert missing.exit_code == 1 and "Error: P0002:" in missing.output
    as_user = invoke("reports", "run", "nope", "--company", shop["slug"], "--user", str(shop["owner"]),
                     "--database-url", dburl)
    assert as_user.exit_code == 1 and "Error: P0002:" in as_user.output


def test_a_company_without_reports_says_p0002(dburl, db, company):
    result = invoke("reports", "run", "any", "--company", company["slug"], "--database-url", dburl)
    assert result.exit_code == 1 and "Error: P0002:" in result.output


def test_user_runs_with_that_members_grants(dburl, shop):
    save(shop["conn"], "titles", "query", {"columns": ["title", "qty"], "sort": ["qty"]})
    as_saver = run_json(dburl, "titles", "--company", shop["slug"])["result"]
    assert as_saver["total"] == len(RECORDS)
    email = f"member-{shop['slug']}@example.com"
    for ref in (str(shop["member"]), email, email.upper()):
        as_member = run_json(dburl, "titles", "--company", shop["slug"], "--user", ref)["result"]
        assert [r["title"] for r in as_member["rows"]] == ["plain", "comma, here"]  # its row filter
    # naming a column the member may not read
    save(shop["conn"], "prices", "query", {"columns": ["title", "price"]})
    refused = invoke("reports", "run", "prices", "--company", shop["slug"], "--user", str(shop["member"]),
                     "--database-url", dburl)
    assert refused.exit_code == 1 and "Error: 42501:" in refused.output


def test_user_who_is_not_a_member_or_unknown(dburl, db, shop):
    save(shop["conn"], "titles", "query", {"columns": ["title"]})
    stranger = one(db, "select docpal.create_user('stranger@example.com', 'Stranger')")
    refused = invoke("reports", "run", "titles", "--company", shop["slug"], "--user", str(stranger),
                     "--database-url", dburl)
    assert refused.exit_code == 1 and "Error: 42501:" in refused.output
    unknown = invoke("reports", "run", "titles", "--company", shop["slug"], "--user", "ghost@example.com",
                     "--database-url", dburl)
    assert unknown.exit_code == 1 and "no user 'ghost@example.com'" in unknown.output


def test_default_user_is_the_one_who_saved_it(dburl, connect, shop):
    member = set_context(connect(), shop, shop["member"])
    save(member, "mine", "query", {"columns": ["title"], "sort": ["qty"]})
    save(shop["conn"], "owners", "query", {"columns": ["title"], "sort": ["qty"]})
    assert run_json(dburl, "mine", "--company", shop["slug"])["result"]["total"] == 2  # the member's rows
    assert run_json(dburl, "owners", "--company", str(shop["id"]))["result"]["total"] == len(RECORDS)
    assert run_json(dburl, "mine", "--company", shop["slug"], "--user", str(shop["owner"]))["result"]["total"] == 7
    # a saver who has left the company: the run is refused, as a scheduled run fails
    one(shop["conn"], "select docpal.remove_member(%s, %s)", shop["id"], shop["member"])
    gone = invoke("reports", "run", "mine", "--company", shop["slug"], "--database-url", dburl)
    assert gone.exit_code == 1 and "Error: 42501:" in gone.output


def test_a_service_login_runs_as_a_given_user_id_only(dburl, shop):
    save(shop["conn"], "titles", "query", {"columns": ["title"]})
    service = url_as(dburl, SERVICE_LOGIN)
    ok = run_json(service, "titles", "--company", shop["slug"], "--user", str(shop["owner"]))
    assert ok["result"]["total"] == len(RECORDS)
    for extra in ([], ["--user", f"owner-{shop['slug']}@example.com"]):
        result = invoke("reports", "run", "titles", "--company", shop["slug"], *extra, "--database-url", service)
        assert result.exit_code == 1 and "needs a superuser login" in result.output and "--user ID" in result.output


def test_an_app_login_cannot_act_in_a_company(dburl, shop):
    """docpal_app sees no company without a context (get_company), and may not set_context."""
    save(shop["conn"], "titles", "query", {"columns": ["title"]})
    result = invoke("reports", "run", "titles", "--company", shop["slug"], "--user", str(shop["owner"]),
                    "--database-url", url_as(dburl, APP_LOGIN))
    assert result.exit_code == 1 and f"no company '{shop['slug']}'" in result.output


def test_run_needs_a_database_url():
    result = CliRunner().invoke(main, ["reports", "run", "x", "--company", "y"], env={"DATABASE_URL": ""})
    assert result.exit_code == 2 and "DATABASE_URL" in result.output


# --- run-due -------------------------------------------------------------------------

def snapshots(db, company, slug):
    return one(db, f"select count(*) from {company['schema']}._report_snapshots where report = %s", slug)


def next_run(db, company, slug):
    return one(db, "select next_run_at from docpal_private.report_schedule where company_id = %s and report = %s",
               company["id"], slug)


def test_run_due_runs_what_is_due_at_as_of(dburl, db, shop):
    save(shop["conn"], "hourly", "query", {"columns": ["title"]}, schedule="0 * * * *")
    due = next_run(db, shop, "hourly")
    before = invoke("reports", "run-due", "--as-of", (due - timedelta(seconds=1)).isoformat(), "--database-url", dburl)
    assert before.exit_code == 0 and before.output == "ran 0, failed 0\n"
    assert snapshots(db, shop, "hourly") == 0
    ran = invoke("reports", "run-due", "--as-of", due.isoformat(), "--database-url", dburl)
    assert ran.exit_code == 0, ran.output
    assert ran.output == "ran 1, failed 0\n"
    assert snapshots(db, shop, "hourly") == 1
    snap = fn(shop["conn"], "report_snapshots", "hourly")
    assert len(snap) == 1 and snap[0]["result"]["total"] == len(RECORDS)
    again = invoke("reports", "run-due", "--as-of", due.isoformat(), "--json", "--database-url", dburl)
    assert again.exit_code == 0 and json.loads(again.output) == {"ran": 0, "failed": 0}
    assert next_run(db, shop, "hourly") > due


def test_run_due_as_of_without_a_zone_is_utc(dburl, db, shop):
    save(shop["conn"], "hourly", "query", {"columns": ["title"]}, schedule="0 * * * *")
    due = next_run(db, shop, "hourly")
    zoneless = due.astimezone(timezone.utc).replace(tzinfo=None)
    early = invoke("reports", "run-due", "--as-of", f"{zoneless.isoformat()}+01:00", "--database-url", dburl)
    assert early.output == "ran 0, failed 0\n"  # an hour before it is due
    on_time = invoke("reports", "run-due", "--as-of", zoneless.isoformat(), "--database-url", dburl)
    assert on_time.output == "ran 1, failed 0\n"


def test_run_due_exits_1_when_a_run_failed(dburl, db, connect, shop):
    member = set_context(connect(), shop, shop["member"])
    save(member, "members", "query", {"columns": ["title"]}, schedule="*/5 * * * *")
    save(shop["conn"], "owners", "query", {"columns": ["title"]}, schedule="*/5 * * * *")
    one(shop["conn"], "select docpal.remove_member(%s, %s)", shop["id"], shop["member"])
    later = max(next_run(db, shop, "members"), next_run(db, shop, "owners")).isoformat()
    result = invoke("reports", "run-due", "--as-of", later, "--json", "--database-url", dburl)
    assert result.exit_code == 1
    assert json.loads(result.output) == {"ran": 1, "failed": 1}
    assert snapshots(db, shop, "owners") == 1 and snapshots(db, shop, "members") == 0
    plain = invoke("reports", "run-due", "--as-of", "2100-01-01T00:00:00Z", "--database-url", dburl)
    assert plain.exit_code == 1 and plain.output == "ran 1, failed 1\n"


def test_run_due_stops_starting_reports_after_max_seconds(dburl, db, shop):
    for slug in ("one", "two"):
        save(shop["conn"], slug, "query", {"columns": ["title"]}, schedule="0 * * * *")
    later = max(next_run(db, shop, "one"), next_run(db, shop, "two")).isoformat()
    first = invoke("reports", "run-due", "--as-of", later, "--max-seconds", "1", "--json", "--database-url", dburl)
    assert first.exit_code == 0 and json.loads(first.output) in ({"ran": 2, "failed": 0},
                                                                 {"ran": 1, "failed": 0, "more": True})
    bad = invoke("reports", "run-due", "--max-seconds", "0", "--database-url", dburl)
    assert bad.exit_code == 2 and "--max-seconds" in bad.output


def test_run_due_a_run_cancelled_by_statement_timeout_fails_alone(dburl, db, shop):
    """The login's statement_timeout cancels one run (here: one waiting on a lock on its table);
    its claim was committed, so the other report runs and the cancelled one waits for its next
    time, marked "started, not finished"."""
    fn(shop["conn"], "create_table", table("others", {"name": "title", "type": "text"}))
    save(shop["conn"], "blocked", "query", {"columns": ["title"]}, schedule="0 * * * *")
    save(shop["conn"], "free", "query", {"columns": ["title"]}, schedule="0 * * * *",
         table_slug="others")
    due = max(next_run(db, shop, "blocked"), next_run(db, shop, "free"))
    holder = psycopg.connect(dburl)
    try:
        holder.execute(f"lock table {shop['schema']}.items in access exclusive mode")
        url = url_as(dburl, SERVICE_LOGIN) + "?options=-c%20statement_timeout%3D500"
        result = invoke("reports", "run-due", "--as-of", due.isoformat(), "--database-url", url)
    finally:
        holder.close()
    assert result.exit_code == 1 and result.output == "ran 1, failed 1\n", result.output
    assert snapshots(db, shop, "free") == 1 and snapshots(db, shop, "blocked") == 0
    assert next_run(db, shop, "blocked") > due
    blocked = next(r for r in fn(shop["conn"], "list_reports") if r["slug"] == "blocked")
    assert blocked["last_error"]["message"] == "started, not finished"


def test_run_due_errors(dburl, shop):
    bad = invoke("reports", "run-due", "--as-of", "not a time", "--database-url", dburl)
    assert bad.exit_code == 1 and "Error: 22007:" in bad.output
    app = invoke("reports", "run-due", "--database-url", url_as(dburl, APP_LOGIN))
    assert app.exit_code == 1 and "Error: 42501:" in app.output
    service = invoke("reports", "run-due", "--database-url", url_as(dburl, SERVICE_LOGIN))
    assert service.exit_code == 0 and service.output == "ran 0, failed 0\n"


# --- the listener's reports loop ------------------------------------------------------

def make_due(db, company, slug):
    """The report's schedule says it is due now (run_due_reports without as_of uses now())."""
    db.execute("update docpal_private.report_schedule set next_run_at = now() - interval '1 minute'"
               " where company_id = %s and report = %s", (company["id"], slug))


def test_listen_once_runs_due_reports_only_when_asked(dburl, db, shop):
    save(shop["conn"], "hourly", "query", {"columns": ["title"]}, schedule="0 * * * *")
    make_due(db, shop, "hourly")
    plain = CliRunner().invoke(main, ["listen", "--consumer", "c1", "--once", "--database-url", dburl])
    assert plain.exit_code == 0, plain.output
    assert snapshots(db, shop, "hourly") == 0  # default: off
    asked = CliRunner().invoke(main, ["listen", "--consumer", "c1", "--once", "--run-due-reports", "60",
                                      "--database-url", dburl])
    assert asked.exit_code == 0, asked.output
    assert snapshots(db, shop, "hourly") == 1
    assert "scheduled reports: ran 1, failed 0" in asked.stderr


def test_listen_keeps_delivering_when_run_due_reports_fails(dburl, db, shop):
    save(shop["conn"], "hourly", "query", {"columns": ["title"]}, schedule="0 * * * *")
    make_due(db, shop, "hourly")
    db.execute("revoke execute on function docpal.claim_due_report(timestamptz) from docpal_service")
    result = CliRunner().invoke(main, ["listen", "--consumer", "c2", "--once", "--run-due-reports", "5",
                                       "--database-url", url_as(dburl, SERVICE_LOGIN)])
    assert result.exit_code == 0, result.output
    assert "scheduled reports failed (42501:" in result.stderr
    assert len(result.stdout.splitlines()) >= len(RECORDS)  # the events were delivered all the same
    assert snapshots(db, shop, "hourly") == 0


def test_listen_option_must_be_at_least_a_second(dburl):
    result = CliRunner().invoke(main, ["listen", "--consumer", "c", "--run-due-reports", "0.5",
                                       "--database-url", dburl])
    assert result.exit_code == 2


def test_listener_runs_due_reports_every_period(dburl, db, shop):
    save(shop["conn"], "hourly", "query", {"columns": ["title"]}, schedule="0 * * * *")
    make_due(db, shop, "hourly")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(DOCPAL), "listen", "--consumer", "loop", "--run-due-reports", "1",
                             "--poll-interval", "30", "--database-url", dburl],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        wait_until(lambda: snapshots(db, shop, "hourly") == 1, "the first scheduled run")
        # due again: the next period runs it, although no event woke the listener
        make_due(db, shop, "hourly")
        wait_until(lambda: snapshots(db, shop, "hourly") == 2, "the second scheduled run")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0
        reader.join(timeout=DEADLINE)
        log = "".join(err)
        assert "scheduled reports every 1s" in log
        assert log.count("scheduled reports: ran 1, failed 0") == 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_until(predicate, what):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {DEADLINE}s waiting for {what}")
