"""Export and import of a whole company: contract section 8 "Export and import",
docs/export-import.md.

docpal.export_company / docpal.import_company and the streaming CLI
(`docpal tenants export` / `docpal tenants import`). The round trip runs on one
company that uses every column type, relation_many, files, roles with column
and row grants, groups, ReBAC definitions and tuples, a workflow with a record
in flight (one of two approvals given), event rules, a type list and a
blueprint, with tables on a relation cycle.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN, unique_slug
from helpers import expect_codes, fn, one, raises, set_context, table, U

from docpal import transfer
from docpal.cli import main

SHA = "c" * 64

#: Every column type (docs/reference.md, docpal_private.type_info).
TYPES = {"text", "long_text", "rich_text", "integer", "bigint", "decimal", "float", "currency", "percent", "boolean",
         "date", "time", "datetime", "duration", "email", "url", "phone", "json", "uuid", "select", "multi_select",
         "relation", "relation_many", "user", "file", "autonumber", "rating", "color", "formula"}

EVERYTHING = table(
    "everything",
    {"name": "title", "type": "text", "required": True, "max_length": 50, "searchable": True},
    {"name": "notes", "type": "long_text"},
    {"name": "body", "type": "rich_text"},
    {"name": "qty", "type": "integer", "min": 0},
    {"name": "big", "type": "bigint"},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "ratio", "type": "float"},
    {"name": "price", "type": "currency", "currency": "EUR"},
    {"name": "share", "type": "percent"},
    {"name": "done", "type": "boolean"},
    {"name": "day", "type": "date"},
    {"name": "at_time", "type": "time"},
    {"name": "moment", "type": "datetime"},
    {"name": "took", "type": "duration"},
    {"name": "mail", "type": "email"},
    {"name": "link", "type": "url"},
    {"name": "phone", "type": "phone"},
    {"name": "data", "type": "json"},
    {"name": "ref", "type": "uuid"},
    {"name": "priority", "type": "select", "type_list": "priorities"},
    {"name": "tags", "type": "multi_select", "options": ["x", "y", "z"]},
    {"name": "project", "type": "relation", "target": "projects"},
    {"name": "related", "type": "relation_many", "target": "projects"},
    {"name": "parent", "type": "relation", "target": "everything"},
    {"name": "assignee", "type": "user"},
    {"name": "attachment", "type": "file"},
    {"name": "number", "type": "autonumber", "prefix": "EV-"},
    {"name": "stars", "type": "rating"},
    {"name": "colour", "type": "color"},
    {"name": "total", "type": "formula", "expression": "qty * 2"})

EXPENSES = table(
    "expenses",
    {"name": "title", "type": "text"},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "status", "type": "select", "options": ["draft", "submitted", "approved", "rejected"]})

WF = {"name": "expense_approval", "table": "expenses", "state_column": "status", "initial": "draft",
      "transitions": [
          {"name": "submit", "from": ["draft", "rejected"], "to": "submitted"},
          {"name": "approve", "from": ["submitted"], "to": "approved", "roles": ["approver"], "approvals": 2},
          {"name": "reject", "from": ["submitted"], "to": "rejected", "roles": ["approver"]}]}


REPORT_BOB = {"slug": "expense_count", "name": "Expenses", "table": "expenses", "kind": "aggregate",
              "spec": {"metrics": {"n": "count"}, "filters": {"amount": {"gte": "$param.min"}}},
              "params": {"min": {"type": "decimal", "default": 0}}}
REPORT_OWNER = {"slug": "by_priority", "name": "By priority", "description": "hourly", "table": "everything",
                "kind": "aggregate", "spec": {"group_by": ["priority"], "metrics": {"qty": {"sum": "qty"}}},
                "schedule": "0 * * * *"}
DASHBOARD = {"slug": "overview", "name": "Overview", "widgets": [
    {"id": "n", "report": "expense_count", "params": {"min": 50}, "chart": "number", "x": 0, "y": 0, "w": 6, "h": 2},
    {"id": "p", "title": "Priorities", "report": "by_priority", "chart": "pie", "x": 6, "y": 0, "w": 6, "h": 4}]}


def export(conn, company, spec=None):
    return one(conn, "select docpal.export_company(%s, %s)", U(company), Jsonb(spec or {}))


def import_(conn, data, slug):
    return one(conn, "select docpal.import_company(%s, %s)", Jsonb(data), slug)


def comparable(doc):
    """The export without what an import changes: the company's slug."""
    doc = copy.deepcopy(doc)
    doc["company"].pop("slug")
    return doc


@pytest.fixture
def rich(db, connect, company):
    """The company of the module docstring; returns what the tests need."""
    owner = set_context(db, company, company["owner"])
    tag = company["slug"]

    def user(name, role="member"):
        uid = one(db, "select docpal.create_user(%s, %s)", f"{name}-{tag}@example.com", name.title())
        db.execute("select docpal.add_member(%s, %s, %s)", (company["id"], uid, role))
        return uid

    bob, carol = user("bob"), user("carol")
    admin = user("admin", "admin")
    fn(owner, "create_type_list", "priorities", ["low", "high"])
    fn(owner, "create_table", table("projects", {"name": "name", "type": "text", "unique": True}))
    fn(owner, "create_table", EVERYTHING)
    # a relation cycle: projects -> everything -> projects
    fn(owner, "add_column", "projects", {"name": "showcase", "type": "relation", "target": "everything"})
    fn(owner, "create_table", EXPENSES)
    fn(owner, "create_role", "approver")
    fn(owner, "create_role", "senior", "approver")
    fn(owner, "create_role", "viewer")
    fn(owner, "assign_role", U(bob), "approver")
    fn(owner, "assign_role", U(carol), "approver")
    one(owner, "select docpal.grant_permission(%s, %s, %s::text[])", "member", "expenses", ["read", "create"])
    one(owner, "select docpal.grant_permission(%s, %s, %s::text[], %s)", "viewer", "everything", ["read"],
        Jsonb({"columns": ["title", "qty"], "row_filter": {"qty": {"gte": 1}}}))
    fn(owner, "create_group", "finance")
    fn(owner, "add_group_member", "finance", U(company["member"]))
    fn(owner, "assign_group_role", "finance", "viewer")
    fn(owner, "define_relations", "doc", {"viewer": ["viewer", "editor"]})
    owner.execute("select docpal.relate('user:ed', 'editor', 'doc:1')")
    owner.execute("select docpal.relate('group:eng#member', 'viewer', 'doc:2')")
    fn(owner, "define_workflow", WF)
    fn(owner, "create_event_rule", {"table": "expenses", "actions": ["insert"], "workflow": "expense_created"})
    fn(owner, "create_event_rule", {"table": "everything", "when": {"qty": {"gt": 5}}, "workflow": "big_qty",
                                    "task_queue": "q2"})
    fn(owner, "create_event_rule", {"table": "everything", "workflow": "anything"})
    file = fn(owner, "register_file", {"name": "a.pdf", "size": 1234, "mime": "application/pdf", "sha256": SHA,
                                       "storage_key": f"s3://b/{SHA}"})
    p1 = fn(owner, "create_record", "projects", {"name": "Apollo"})["id"]
    p2 = fn(owner, "create_record", "projects", {"name": "Gemini"})["id"]
    e1 = fn(owner, "create_record", "everything", {
        "title": "first", "notes": "line\nline", "body": "<p>x</p>", "qty": 3, "big": 2 ** 40, "amount": 1234.5,
        "ratio": 0.1, "price": 19.99, "share": 12.5, "done": True, "day": "2026-01-31", "at_time": "13:45:00",
        "moment": "2026-02-03T04:05:06.789+02:00", "took": "1 day 02:00:00", "mail": "a@example.com",
        "link": "https://example.com/a?b=c", "phone": "+1 555", "data": {"a": [1, 2.5, None], "b": "ü"},
        "ref": "6f1c1a8e-2b8e-4a57-9b7e-0c6d1f4b2a10", "priority": "high", "tags": ["z", "x"], "project": p1,
        "related": [p2, p1], "assignee": str(bob), "attachment": file["id"], "stars": 4, "colour": "#A1b2C3"})["id"]
    e2 = fn(owner, "create_record", "everything", {"title": "child", "parent": e1, "qty": 9})["id"]
    one(owner, "select docpal.update_record(%s, %s, %s)", "everything", U(e2), Jsonb({"notes": "changed", "related": [p1]}))
    one(owner, "select docpal.update_record(%s, %s, %s)", "projects", U(p1), Jsonb({"showcase": e2}))
    bob_conn = set_context(connect(SERVICE_LOGIN), company, bob)
    x1 = fn(owner, "create_record", "expenses", {"title": "Hotel", "amount": 100})["id"]
    assert one(owner, "select docpal.transition_record(%s, %s, %s)", "expenses", U(x1), "submit")["state"] == "submitted"
    assert one(bob_conn, "select docpal.transition_record(%s, %s, %s, %s)", "expenses", U(x1), "approve", "ok") \
        == {"state": "submitted", "pending_approvals": 1}
    db.execute(f"insert into {company['schema']}._blueprints (name, version, spec, reports_saved)"
               " values ('school', 2, %s, true)",
               (Jsonb({"name": "school", "version": 2}),))
    # reports (one of bob's, one scheduled) and a dashboard of them
    fn(bob_conn, "save_report", REPORT_BOB)
    fn(owner, "save_report", REPORT_OWNER)
    fn(owner, "save_dashboard", DASHBOARD)
    return SimpleNamespace(company=company, owner=owner, bob=bob, carol=carol, admin=admin, e1=e1, e2=e2, p1=p1, p2=p2,
                           x1=x1, file=file, connect=connect, db=db)


# --- the round trip -----------------------------------------------------------------------

def test_export_holds_everything(rich, service):
    doc = export(service, rich.company["id"])
    assert doc["format"] == "docpal-export" and doc["version"] == 1
    assert doc["company"] == {"slug": rich.company["slug"], "name": "Test Co", "settings": {}}
    # an order that can be created: everything and projects are on a cycle, expenses stands alone
    assert [t["slug"] for t in doc["tables"]] == ["expenses", "everything", "projects"]
    assert not any("objects" in c for c in doc["tables"][1]["columns"])
    assert {c["type"] for c in doc["tables"][1]["columns"]} == TYPES
    assert {len(v) for v in doc["records"].values()} == {1, 2}
    e1 = next(r for r in doc["records"]["everything"] if r["id"] == rich.e1)
    assert e1["related"] == [rich.p2, rich.p1] and e1["total"] == 6 and e1["number"] == 1
    assert e1["took"] == "1 day 02:00:00" and e1["moment"] == "2026-02-03T02:05:06.789+00:00"
    assert [f["id"] for f in doc["files"]] == [rich.file["id"]]
    assert {m["email"].split("-")[0]: m["role"] for m in doc["members"]} == {
        "owner": "owner", "member": "member", "bob": "member", "carol": "member", "admin": "admin"}
    assert [r["name"] for r in doc["roles"]] == ["approver", "viewer", "senior"]
    assert {(g["role"], g["table"], g["action"]) for g in doc["grants"]} == {
        ("member", "expenses", "read"), ("member", "expenses", "create"), ("viewer", "everything", "read")}
    assert doc["groups"][0]["name"] == "finance" and doc["groups"][0]["roles"] == ["viewer"]
    assert [w["name"] for w in doc["workflows"]] == ["expense_approval"]
    assert [r["workflow"] for r in doc["event_rules"]] == ["expense_created", "big_qty", "anything"]
    assert doc["relations"]["definitions"] == [{"object_type": "doc", "rules": {"viewer": ["viewer", "editor"]}}]
    assert len(doc["relations"]["tuples"]) == 2
    assert [(e["kind"], e["transition"]) for e in doc["workflow_log"]] == [("transition", "submit"), ("approval", "approve")]
    assert doc["blueprints"] == [{"name": "school", "version": 2, "spec": {"name": "school", "version": 2},
                                  "reports_saved": True}]
    # reports and dashboards: definitions with their saver, no snapshots
    assert [(r["slug"], r["saved_by"]) for r in doc["reports"]] == [("by_priority", str(rich.company["owner"])),
                                                                     ("expense_count", str(rich.bob))]
    assert set(doc["reports"][0]) == {"slug", "name", "description", "table", "kind", "spec", "params", "schedule",
                                      "saved_by", "saved_at"}
    assert doc["reports"][0]["schedule"] == "0 * * * *" and doc["reports"][1]["params"]["min"]["type"] == "decimal"
    assert [(d["slug"], [w["id"] for w in d["widgets"]]) for d in doc["dashboards"]] == [("overview", ["n", "p"])]
    assert "history" not in doc


def test_round_trip_is_exact(rich, db, service):
    doc = export(service, rich.company["id"])
    slug = unique_slug("copy")
    new = import_(db, doc, slug)
    again = export(service, new)
    assert again["company"]["slug"] == slug
    assert comparable(again) == comparable(doc)
    # the copy works: the record in flight takes its second approval there
    carol = set_context(rich.connect(SERVICE_LOGIN), {"id": new}, rich.carol)
    assert one(carol, "select docpal.transition_record(%s, %s, %s)", "expenses", U(rich.x1), "approve") \
        == {"state": "approved", "pending_approvals": 0}
    # sequences go on after the imported values; the import is the new company's history
    owner = set_context(rich.connect(SERVICE_LOGIN), {"id": new}, rich.company["owner"])
    rec = fn(owner, "create_record", "everything", {"title": "next"})
    assert rec["number"] == 3
    # ReBAC tuples and rules, groups and their roles work in the copy
    assert one(owner, "select docpal.check_relation('user:ed', 'viewer', 'doc:1')") is True
    member = set_context(rich.connect(SERVICE_LOGIN), {"id": new}, rich.company["member"])
    assert one(member, "select docpal.check_permission(%s, 'read', 'everything')", U(rich.company["member"])) is True
    assert one(owner, "select docpal.verify_audit_chain()")["ok"] is True
    # the reports run in the copy, the scheduled one is due again, the dashboard shows them
    assert one(db, "select count(*) from docpal_private.report_schedule where company_id = %s", U(new)) == 1
    board = fn(owner, "get_dashboard", "overview")
    assert [w["data"] for w in board["widgets"]] == [
        fn(owner, "run_report", "expense_count", {"min": 50})["result"], fn(owner, "run_report", "by_priority")["result"]]
    inserts = one(db, f"select count(*) from {one(db, 'select docpal.get_company(%s)->>%s', str(new), 'schema')}._audit_log "
                      "where action = 'INSERT'")
    assert inserts == 5 + 1  # the imported records, then the new one


def test_round_trip_with_history_keeps_the_log_and_its_chain(rich, db, service):
    one(rich.owner, "select docpal.seal_audit_chain()")
    # in SQL, so that the numbers travel as PostgreSQL wrote them (Python would read 1234.50 as a float)
    slug = unique_slug("hist")
    new = one(db, "select docpal.import_company(docpal.export_company(%s, '{\"history\": true}'), %s)",
              U(rich.company["id"]), slug)
    doc = export(service, rich.company["id"], {"history": True})
    assert len(doc["history"]) >= 8 and doc["history"] == sorted(doc["history"], key=lambda e: e["id"])
    again = export(service, new, {"history": True})
    assert comparable(again) == comparable(doc)
    owner = set_context(rich.connect(SERVICE_LOGIN), {"id": new}, rich.company["owner"])
    result = one(owner, "select docpal.verify_audit_chain()")
    assert result["ok"] is True and result["checked"] == len(doc["history"])
    # the same entries chain to the same hashes in both companies: copied verbatim, chained again
    src, dst = rich.company["schema"], one(db, "select docpal.get_company(%s)->>'schema'", str(new))
    assert db.execute(f"select seal, entry_id, hash from {src}._audit_chain order by seal").fetchall() \
        == db.execute(f"select seal, entry_id, hash from {dst}._audit_chain order by seal").fetchall()
    # no entry of the import itself
    assert one(db, f"select count(*) from {dst}._audit_log") == len(doc["history"])
    # the record's history reads the same, and new writes go after it
    assert fn(owner, "record_history", "everything", U(rich.e2)) == fn(rich.owner, "record_history", "everything", U(rich.e2))
    one(owner, "select docpal.update_record(%s, %s, %s)", "everything", U(rich.e2), Jsonb({"qty": 10}))
    one(owner, "select docpal.seal_audit_chain()")
    assert one(owner, "select docpal.verify_audit_chain()")["ok"] is True


def test_an_import_sends_no_events(rich, db, service):
    # the source's inserts matched its event rules (rules are matched when a row is written)
    assert one(db, f"select count(*) from {rich.company['schema']}._events where workflow is not null") > 0
    new = import_(db, export(service, rich.company["id"]), unique_slug("quiet"))
    schema = one(db, "select docpal.get_company(%s)->>'schema'", str(new))
    # a restore: no event, so no workflow starts for an imported record
    assert one(db, f"select count(*) from {schema}._events") == 0
    # what the copy writes afterwards sends events as usual, its rules matched
    owner = set_context(rich.connect(SERVICE_LOGIN), {"id": new}, rich.company["owner"])
    fn(owner, "create_record", "expenses", {"title": "after"})
    assert one(db, f"select workflow->>'name' from {schema}._events") == "expense_created"


def test_history_lines_before_records_lines(rich, db, service):
    """Records after history lines (not how the export writes them) take their own entries out."""
    doc = export(service, rich.company["id"], {"history": True})
    lines = list(transfer.document_lines(doc))
    data = [i for i, line in enumerate(lines) if line.startswith('{"records"')]
    history = [line for line in lines if line.startswith('{"history"')]
    rest = [line for line in lines if not line.startswith('{"history"')]
    lines = rest[:data[0]] + history + rest[data[0]:]
    new = transfer.import_lines(db, iter(lines), unique_slug("histfirst"))
    assert comparable(export(service, new, {"history": True})) == comparable(doc)
    schema = one(db, "select docpal.get_company(%s)->>'schema'", str(new))
    assert one(db, f"select count(*) from {schema}._audit_log") == len(doc["history"])
    owner = set_context(rich.connect(SERVICE_LOGIN), {"id": new}, rich.company["owner"])
    assert one(owner, "select docpal.verify_audit_chain()")["ok"] is True
    # the capture of inserts, off while the records went in, is back
    fn(owner, "create_record", "expenses", {"title": "after"})
    assert one(db, f"select count(*) from {schema}._audit_log") == len(doc["history"]) + 1
    assert one(db, f"select count(*) from {schema}._events") == 1


def test_numbers_travel_exactly(rich, db, service):
    doc = one(db, "select docpal.export_company(%s)::text", U(rich.company["id"]))
    assert '"amount": 1234.50' in doc and '"price": 19.9900' in doc
    new = one(db, "select docpal.import_company(%s::jsonb, %s)", doc, unique_slug("num"))
    assert one(db, "select docpal.export_company(%s)->'records'", U(new)) \
        == one(db, "select docpal.export_company(%s)->'records'", U(rich.company["id"]))
    assert '"amount": 1234.50' in one(db, "select docpal.export_company(%s)::text", U(new))


def test_members_missing_on_the_platform_are_created(rich, db, service):
    doc = export(service, rich.company["id"])
    doc = comparable(doc) | {"company": {"slug": "x", "name": "Elsewhere", "settings": {}}}
    extra = {"id": "0b8c6a52-9d6f-4a3b-8a55-3a4f6c0b1d2e", "email": "newcomer@example.org",
             "display_name": "Newcomer", "role": "member"}
    doc["members"].append(extra)
    new = import_(db, doc, unique_slug("members"))
    assert one(db, "select id::text from docpal_private.users where email = 'newcomer@example.org'") == extra["id"]
    assert one(db, "select role from docpal_private.memberships where company_id = %s and user_id = %s",
               U(new), U(extra["id"])) == "member"


def test_a_member_known_under_another_id_is_mapped(rich, db, service):
    """An export from another docpal: bob's email is known here under another id. Records,
    files and the workflow log that name the exported id name bob's id here."""
    doc = export(service, rich.company["id"])
    elsewhere = "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
    text = json.dumps(doc).replace(str(rich.bob), elsewhere)
    new = import_(db, json.loads(text), unique_slug("mapped"))
    again = export(service, new)
    assert comparable(again) == comparable(doc)
    assert one(db, "select count(*) from docpal_private.users where id = %s", U(elsewhere)) == 0


# --- errors -------------------------------------------------------------------------------

def app_as(db, connect, company, user, scopes=("read", "create", "update", "delete")):
    """A docpal_app connection authenticated with an API key of `user` (an untrusted client)."""
    with db.transaction():
        db.execute("select docpal.set_context(%s, %s, is_local => true)", (company["id"], company["owner"]))
        key = one(db, "select docpal.create_api_key(%s, %s, %s::text[])", f"k{uuid.uuid4().hex[:8]}", U(user), list(scopes))
    conn = connect(APP_LOGIN)
    conn.execute("select docpal.authenticate(%s, false)", (key["key"],))
    return conn


def test_export_permissions(rich, db, connect, company):
    other = one(db, "select docpal.create_company(%s, 'Other')", unique_slug("other"))
    owner = app_as(db, connect, company, company["owner"])
    expect_codes([
        ("member", lambda: export(app_as(db, connect, company, company["member"]), company["id"])),
        ("admin", lambda: export(app_as(db, connect, company, rich.admin), company["id"])),
        ("owner, narrowed key", lambda: export(app_as(db, connect, company, company["owner"], ["read"]), company["id"])),
        ("owner, other company", lambda: export(owner, other)),
        ("owner, unknown company", lambda: export(owner, "00000000-0000-4000-8000-000000000000")),
        ("no context", lambda: export(connect(APP_LOGIN), company["id"])),
    ], "42501")
    assert export(owner, company["id"])["company"]["slug"] == company["slug"]
    assert export(owner, company["id"], {"part": "records", "table": "projects", "limit": 1})[0]["name"] in ("Apollo", "Gemini")
    with raises("P0002"):
        export(db, "00000000-0000-4000-8000-000000000000")


def test_export_bad_spec(rich, service):
    cid = rich.company["id"]
    expect_codes([
        ("unknown key", lambda: export(service, cid, {"bogus": 1})),
        ("history not boolean", lambda: export(service, cid, {"history": "yes"})),
        ("unknown part", lambda: export(service, cid, {"part": "secrets"})),
        ("records without table", lambda: export(service, cid, {"part": "records"})),
        ("limit too big", lambda: export(service, cid, {"part": "files", "limit": 10001})),
        ("after not an id", lambda: export(service, cid, {"part": "records", "table": "projects", "after": 3})),
        ("page keys without part", lambda: export(service, cid, {"limit": 5})),
    ], "22023")
    with raises("42P01"):
        export(service, cid, {"part": "records", "table": "nope"})
    with raises("54000"):
        export(service, cid, {"part": "files", "after": "x" * 300000})


def test_export_pages_follow_the_keys(rich, service):
    cid = rich.company["id"]
    first = export(service, cid, {"part": "records", "table": "projects", "limit": 1})
    second = export(service, cid, {"part": "records", "table": "projects", "limit": 1, "after": first[0]["id"]})
    whole = export(service, cid)["records"]["projects"]
    assert first + second == whole
    assert export(service, cid, {"part": "records", "table": "projects", "after": second[0]["id"]}) == []


def test_import_is_for_platform_admins(rich, connect, service):
    doc = export(service, rich.company["id"])
    with raises("42501"):  # not even granted to docpal_app
        import_(connect(APP_LOGIN), doc, unique_slug())
    with raises("42501"):  # an owner acting through the service role is not a platform admin either
        rich.db.execute("set role docpal_owner")
        try:
            import_(rich.db, doc, unique_slug())
        finally:
            rich.db.execute("reset role")


def test_import_slug_rules(rich, db, service):
    doc = export(service, rich.company["id"])
    with raises("23505"):
        import_(db, doc, rich.company["slug"])
    with raises("22023"):
        import_(db, doc, "Bad Slug")


def test_two_imports_racing_for_one_slug(rich, connect, service):
    """The second waits for the first and then finds the slug taken; the first's company is whole."""
    import threading

    doc = export(service, rich.company["id"])
    slug = unique_slug("race")
    first, second = connect(autocommit=False), connect()
    new = import_(first, doc, slug)
    outcome = {}

    def run():
        try:
            import_(second, doc, slug)
        except psycopg.Error as exc:
            outcome["code"] = exc.sqlstate

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(1)
    assert thread.is_alive(), "the second import waits for the first's slug"
    first.commit()
    thread.join(30)
    assert outcome == {"code": "23505"}
    assert comparable(export(service, new)) == comparable(doc)


@pytest.mark.parametrize("patch", [
    {"format": "something-else"},
    {"version": 2},
    {"company": "acme"},
    {"tables": {"a": 1}},
    {"members": [{"email": "x@example.com"}]},
    {"records": {"nope": [{"id": "6f1c1a8e-2b8e-4a57-9b7e-0c6d1f4b2a10"}]}},
    {"surprise": True},
    {"members": []},
    {"relations": {"definitions": [], "rules": []}},
    {"records": {"projects": [{"name": "no id"}]}},
    {"reports": {"a": 1}},
    {"dashboards": [1]},
    {"reports": [REPORT_OWNER | {"saved_by": "bob"}]},
    {"dashboards": [DASHBOARD | {"widgets": [{"id": "x", "report": "missing", "chart": "bar",
                                              "x": 0, "y": 0, "w": 1, "h": 1}]}]},
], ids=["format", "version", "company", "tables", "members", "unknown-table-records", "unknown-key", "no-owner",
        "relations-key", "record-without-id", "reports-not-an-array", "dashboard-not-an-object", "report-saved-by",
        "dashboard-of-an-unknown-report"])
def test_malformed_documents_are_refused(rich, db, service, patch):
    doc = export(service, rich.company["id"]) | patch
    slug = unique_slug("bad")
    with raises("22023"):
        import_(db, doc, slug)
    assert one(db, "select count(*) from docpal_private.companies where slug = %s", slug) == 0


def test_an_export_from_before_reports_imports(rich, db, service):
    """An export made before docpal had reports and dashboards (no such keys): none in the copy."""
    doc = export(service, rich.company["id"])
    old = {k: v for k, v in doc.items() if k not in ("reports", "dashboards")}
    old["blueprints"] = [{k: v for k, v in b.items() if k != "reports_saved"} for b in doc["blueprints"]]
    new = import_(db, old, unique_slug("old"))
    again = export(service, new)
    assert again["reports"] == [] and again["dashboards"] == []
    # its blueprints saved no reports then: a later upgrade saves them (apply_blueprint)
    assert [b["reports_saved"] for b in again["blueprints"]] == [False]
    assert comparable(again) == comparable(doc) | {"reports": [], "dashboards": [],
                                                   "blueprints": [b | {"reports_saved": False} for b in doc["blueprints"]]}


def test_report_savers_are_mapped_or_must_exist(rich, db, service):
    """A report's saved_by follows the member's id here; one the platform does not know is 23503."""
    doc = export(service, rich.company["id"])
    stranger = str(uuid.uuid4())
    doc["reports"][0]["saved_by"] = stranger
    slug = unique_slug("saver")
    with raises("23503"):
        import_(db, doc, slug)
    assert one(db, "select count(*) from docpal_private.companies where slug = %s", slug) == 0


def test_import_is_all_or_nothing(rich, db, service):
    """The last table's last record holds a value its column refuses: nothing is left."""
    doc = export(service, rich.company["id"])
    last = doc["tables"][-1]["slug"]
    assert last == "projects"
    doc["records"][last][-1]["name"] = doc["records"][last][0]["name"]  # a unique value given twice
    slug = unique_slug("half")
    companies = one(db, "select count(*) from docpal_private.companies")
    users = one(db, "select count(*) from docpal_private.users")
    with raises("23505"):
        import_(db, doc, slug)
    assert one(db, "select count(*) from docpal_private.companies") == companies
    assert one(db, "select count(*) from docpal_private.users") == users
    doc = export(service, rich.company["id"])
    doc["records"]["everything"][0]["qty"] = "many"
    with raises("22P02"):
        import_(db, doc, slug)
    doc = export(service, rich.company["id"])
    doc["records"]["everything"][0]["project"] = "6f1c1a8e-2b8e-4a57-9b7e-0c6d1f4b2a10"
    with raises("23503"):
        import_(db, doc, slug)
    assert one(db, "select count(*) from docpal_private.companies") == companies


def test_history_pieces_need_a_history_header(rich, db, service):
    doc = export(service, rich.company["id"], {"history": True})
    lines = list(transfer.document_lines(doc))
    header = json.loads(lines[0])
    assert header["history"] is True
    header["history"] = False
    lines[0] = json.dumps(header)
    with raises("22023"):
        transfer.import_lines(db, iter(lines), unique_slug("nohist"))


# --- the CLI ------------------------------------------------------------------------------

def test_cli_round_trip_json_lines(rich, dburl, service, tmp_path):
    out = tmp_path / "co.jsonl"
    runner = CliRunner()
    result = runner.invoke(main, ["tenants", "export", rich.company["slug"], "-o", str(out), "--history",
                                  "--database-url", dburl, "--batch", "1"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "docpal-export"
    assert all(len(json.loads(line)) == 1 for line in lines[1:])
    assert sum(1 for line in lines if '"records"' in line[:12]) >= 5  # one record per line with --batch 1
    slug = unique_slug("cli")
    result = runner.invoke(main, ["tenants", "import", str(out), "--slug", slug, "--database-url", dburl])
    assert result.exit_code == 0, result.output
    new = one(service, "select (docpal.get_company(%s)->>'id')::uuid", slug)
    assert comparable(export(service, new, {"history": True})) == comparable(export(service, rich.company["id"], {"history": True}))
    owner = set_context(rich.connect(SERVICE_LOGIN), {"id": new}, rich.company["owner"])
    assert one(owner, "select docpal.verify_audit_chain()")["ok"] is True
    assert '"amount": 1234.50' in one(service, "select docpal.export_company(%s)::text", new)  # numbers as written


def test_cli_export_reads_the_same_as_the_dba_and_as_a_service_login(rich, db, service):
    # the DBA reads each part through one cursor on docpal_private.export_sql; a service login,
    # which may not, reads export_company's pages: the same content
    assert transfer._fast(db) and not transfer._fast(service)
    with db.transaction():
        fast = list(transfer.export_lines(db, rich.company["id"], True, 2))
    with service.transaction():
        paged = list(transfer.export_lines(service, rich.company["id"], True, 2))
    assert [json.loads(line) for line in fast] == [json.loads(line) for line in paged]
    assert sum(1 for line in fast if line.startswith('{"records"')) >= 3  # two entries a line


def test_cli_export_writes_text_exactly(db, company):
    """Backslashes, quotes, control characters and non-ASCII text come out of the DBA's COPY
    as they are in the database, and the same as export_company's pages."""
    owner = set_context(db, company, company["owner"])
    fn(owner, "create_table", table("notes", {"name": "body", "type": "long_text"}, {"name": "data", "type": "json"}))
    values = ["back\\slash \\n not a newline", 'a "quoted" word', "line\nbreak\ttab\rreturn\x01",
              "naïve 日本 \u2028 emoji 🎉", "\\\\", ""]
    for body in values:
        fn(owner, "create_record", "notes", {"body": body, "data": {"k": body, "list": [body, 1.50]}})
    with db.transaction():
        fast = list(transfer.export_lines(db, company["id"], False, 4))
    records = [r for line in fast if line.startswith('{"records"') for r in json.loads(line)["records"]["notes"]]
    assert sorted(r["body"] for r in records) == sorted(values)
    assert all(r["data"]["k"] == r["body"] and r["data"]["list"] == [r["body"], 1.5] for r in records)
    assert all("\n" not in line for line in fast)  # one line each
    pages = transfer._pages(db, company["id"], {"part": "records", "table": "notes", "limit": 100}, "id")
    assert records == json.loads(next(pages)[0])


def test_cli_import_reads_one_json_document(rich, dburl, service, tmp_path):
    doc = export(service, rich.company["id"])
    path = tmp_path / "co.json"
    path.write_text(json.dumps(doc, indent=2))
    slug = unique_slug("doc")
    result = CliRunner().invoke(main, ["tenants", "import", str(path), "--slug", slug, "--database-url", dburl])
    assert result.exit_code == 0, result.output
    new = one(service, "select (docpal.get_company(%s)->>'id')::uuid", slug)
    assert comparable(export(service, new)) == comparable(doc)


def test_cli_export_to_stdout_and_errors(rich, dburl, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["tenants", "export", rich.company["slug"], "--database-url", dburl])
    assert result.exit_code == 0
    assert json.loads(result.output.splitlines()[0])["company"]["slug"] == rich.company["slug"]
    result = runner.invoke(main, ["tenants", "export", "no-such-company", "--database-url", dburl])
    assert result.exit_code != 0 and "no-such-company" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "docpal-export", "version": 1, "company": {"name": "X"}}\n{"tables": [{"slug": "t", "columns": 3}]}\n')
    slug = unique_slug("bad")
    result = runner.invoke(main, ["tenants", "import", str(bad), "--slug", slug, "--database-url", dburl])
    assert result.exit_code != 0 and "22023" in result.output
    bad.write_text("not json\n")
    result = runner.invoke(main, ["tenants", "import", str(bad), "--slug", slug, "--database-url", dburl])
    assert result.exit_code != 0 and "JSON" in result.output


def test_cli_import_is_all_or_nothing(rich, dburl, db, tmp_path):
    out = tmp_path / "co.jsonl"
    runner = CliRunner()
    assert runner.invoke(main, ["tenants", "export", rich.company["slug"], "-o", str(out),
                                "--database-url", dburl]).exit_code == 0
    lines = out.read_text().splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith('{"records"'))
    item = json.loads(lines[last])
    [(slug, rows)] = item["records"].items()
    rows[-1]["version"] = "two"
    lines[last] = json.dumps(item)
    out.write_text("\n".join(lines) + "\n")
    slug = unique_slug("cli-half")
    companies = one(db, "select count(*) from docpal_private.companies")
    result = runner.invoke(main, ["tenants", "import", str(out), "--slug", slug, "--database-url", dburl])
    assert result.exit_code != 0 and "22023" in result.output
    assert one(db, "select count(*) from docpal_private.companies") == companies


def test_cli_as_a_subprocess(rich, dburl, service, tmp_path):
    out = tmp_path / "co.jsonl"
    env = os.environ | {"DATABASE_URL": dburl}
    docpal = [sys.executable, "-m", "docpal.cli"]
    subprocess.run(docpal + ["tenants", "export", rich.company["slug"], "-o", str(out)], env=env, check=True,
                   capture_output=True, timeout=120)
    slug = unique_slug("sub")
    subprocess.run(docpal + ["tenants", "import", str(out), "--slug", slug], env=env, check=True,
                   capture_output=True, timeout=120)
    new = one(service, "select (docpal.get_company(%s)->>'id')::uuid", slug)
    assert comparable(export(service, new)) == comparable(export(service, rich.company["id"]))
