"""Blueprints: contract section 8 "Blueprints", docs/blueprints.md.

apply_blueprint and company_blueprints, the shipped blueprints (school,
workforce, mes) with their records, workflows and report specs, all or
nothing, errors, upgrades across versions on a company whose users changed
things, `docpal tenants apply-blueprint` (in-process and as a subprocess)
and `docpal demo --blueprint`.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from conftest import unique_slug
from docpal import blueprints
from docpal.cli import main
from helpers import U, expect_codes, fn, one, raises, set_context

CHECKOUT = Path(__file__).resolve().parent.parent


def new_company(db, slug=None):
    """A company with an owner, an admin and a member."""
    slug = slug or unique_slug("bp")
    cid = one(db, "select docpal.create_company(%s, 'Blueprint Co')", slug)
    users = {}
    for role in ("owner", "admin", "member"):
        users[role] = one(db, "select docpal.create_user(%s, %s)", f"{role}-{slug}@example.com", role.title())
        db.execute("select docpal.add_member(%s, %s, %s)", (cid, users[role], role))
    return {"id": cid, "slug": slug, **users}


def member(db, company, name, role=None):
    """A new member of company, with a custom role."""
    uid = one(db, "select docpal.create_user(%s, %s)", f"{name}-{company['slug']}@example.com", name)
    db.execute("select docpal.add_member(%s, %s, 'member')", (company["id"], uid))
    if role:
        set_context(db, company, company["owner"])
        db.execute("select docpal.assign_role(%s, %s)", (uid, role))
    return uid


def apply(conn, blueprint):
    return fn(conn, "apply_blueprint", blueprint)


def slugs(conn):
    return sorted(t["slug"] for t in fn(conn, "list_tables"))


def columns(conn, slug):
    return {c["name"]: c for c in fn(conn, "describe_table", slug)["columns"]}


def count(conn, slug):
    return fn(conn, "query_table", slug, {"limit": 1})["total"]


# ---------------------------------------------------------------- the shipped blueprints


@pytest.mark.parametrize("name", blueprints.SHIPPED)
def test_shipped_blueprint_applies_to_a_new_company(db, name):
    document = blueprints.load(name)
    assert len(json.dumps(document).encode()) < 256 * 1024
    assert blueprints.names() == sorted(blueprints.SHIPPED)
    company = new_company(db)
    set_context(db, company, company["owner"])
    started = time.perf_counter()
    result = apply(db, document)
    elapsed = time.perf_counter() - started
    print(f"apply_blueprint({name}) on a new company: {elapsed * 1000:.0f} ms")
    assert result["name"] == name and result["version"] == document["version"] and result["previous_version"] is None
    created = result["created"]
    assert created["tables"] == [t["slug"] for t in document["tables"]]
    assert slugs(db) == sorted(created["tables"])
    assert created["roles"] == [r["name"] for r in document["roles"]]
    assert created["type_lists"] == [t["slug"] for t in document["type_lists"]]
    assert created["workflows"] == [w["name"] for w in document["workflows"]]
    assert len(created["event_rules"]) == len(document["event_rules"]) == len(fn(db, "list_event_rules"))
    assert created["reports"] == [r["slug"] for r in document["reports"]]
    assert result["added"] == {"columns": [], "options": [], "type_list_values": []}
    # every record, with its fixed id and its relations (those set after a cycle too)
    assert created["records"] == {slug: len(rows) for slug, rows in document["records"].items()}
    for slug, rows in document["records"].items():
        assert count(db, slug) == len(rows)
        for row in rows[:3]:
            stored = fn(db, "get_record", slug, U(row["id"]))
            for key, value in row.items():
                if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
                    assert str(stored[key]) == value, (slug, key)
                elif isinstance(value, list) and value and isinstance(value[0], str) and len(value[0]) == 36:
                    assert sorted(map(str, stored[key])) == sorted(value), (slug, key)
    # at least 20 of the 28 column types across the three, formulas included
    kinds = {c["type"] for t in document["tables"] for c in t["columns"]}
    assert {"select", "relation", "formula", "date", "decimal"} <= kinds and len(kinds) >= 15
    # the reports are saved as the blueprint gives them, scheduled, and run (their KPIs:
    # tests/test_blueprint_reports.py)
    saved = {r["slug"]: r for r in fn(db, "list_reports")}
    for report in document["reports"]:
        mine = saved[report["slug"]]
        assert (mine["name"], mine["kind"], mine["schedule"]) == (report["name"], report["kind"], report["schedule"])
        assert report["schedule"], report["slug"]
        out = fn(db, "run_report", report["slug"], {})
        assert out["report"] == report["slug"] and out["result"], report["slug"]
    listed = fn(db, "company_blueprints")
    assert [(b["name"], b["version"]) for b in listed] == [(name, document["version"])]
    assert fn(db, "verify_audit_chain")["ok"]


def test_workforce_leave_request_goes_through_approval(db):
    company = new_company(db)
    set_context(db, company, company["owner"])
    apply(db, blueprints.load("workforce"))
    supervisor = member(db, company, "sam", "supervisor")
    worker = member(db, company, "wes", "employee")
    wes = fn(db, "create_record", "employees", {"first_name": "Wes", "last_name": "Worker", "user_id": str(worker)})
    # the employee asks for leave (own rows only: row_filter employee_id.user_id = $user)
    set_context(db, company, worker)
    request = fn(db, "create_record", "leave_requests",
                 {"employee_id": wes["id"], "starts_on": "2026-12-01", "ends_on": "2026-12-02", "days": 2})
    assert request["status"] == "draft"
    assert fn(db, "query_table", "leave_requests", {})["total"] == 1  # not the sample requests of others
    assert one(db, "select docpal.transition_record('leave_requests', %s, 'submit')", U(request["id"]))["state"] == "submitted"
    with raises("42501"):  # only a supervisor approves
        one(db, "select docpal.transition_record('leave_requests', %s, 'approve')", U(request["id"]))
    set_context(db, company, supervisor)
    assert one(db, "select docpal.transition_record('leave_requests', %s, 'approve')", U(request["id"]))["state"] == "approved"
    set_context(db, company, company["owner"])
    assert fn(db, "get_record", "leave_requests", U(request["id"]))["status"] == "approved"
    assert [h["transition"] for h in fn(db, "workflow_history", "leave_requests", U(request["id"]))] == ["submit", "approve"]
    # the event rule tagged the submission
    events = fn(db, "poll_events", "bp-test", 1000)
    assert any(e.get("workflow", {}).get("name") == "notify_leave_approver" for e in events)


def test_mes_ncr_goes_through_approval(db):
    company = new_company(db)
    set_context(db, company, company["owner"])
    document = blueprints.load("mes")
    apply(db, document)
    operator = member(db, company, "otto", "operator")
    manager = member(db, company, "quinn", "quality_manager")
    material = document["records"]["materials"][3]["id"]
    set_context(db, company, operator)
    ncr = fn(db, "create_record", "non_conformance_reports",
             {"title": "Burr on edge", "material_id": material, "severity": "minor", "defect_codes": ["surface"]})
    assert ncr["status"] == "open" and ncr["ncr_no"] > 2
    one(db, "select docpal.transition_record('non_conformance_reports', %s, 'submit_ncr')", U(ncr["id"]))
    with raises("42501"):
        one(db, "select docpal.transition_record('non_conformance_reports', %s, 'approve_ncr')", U(ncr["id"]))
    set_context(db, company, manager)
    assert one(db, "select docpal.transition_record('non_conformance_reports', %s, 'approve_ncr')",
               U(ncr["id"]))["state"] == "approved"
    assert one(db, "select docpal.transition_record('non_conformance_reports', %s, 'close_ncr')",
               U(ncr["id"]))["state"] == "closed"
    with raises("23514"):  # the workflow governs the column
        one(db, "select docpal.update_record('non_conformance_reports', %s, %s)", U(ncr["id"]), Jsonb({"status": "open"}))


def test_school_guardian_reads_only_their_children(db):
    company = new_company(db)
    set_context(db, company, company["owner"])
    document = blueprints.load("school")
    apply(db, document)
    parent = member(db, company, "maria", "guardian")
    teacher = member(db, company, "tina", "teacher")
    maria = document["records"]["guardians"][0]  # Maria Keller: Lena and Sofia
    fn(db, "update_record", "guardians", U(maria["id"]), {"portal_user": str(parent)})
    set_context(db, company, parent)
    names = sorted(r["first_name"] for r in fn(db, "query_table", "students", {})["rows"])
    assert names == ["Lena", "Sofia"]
    mine = {s["id"] for s in document["records"]["students"] if s["primary_guardian_id"] == maria["id"]}
    grades = fn(db, "query_table", "grades", {"limit": 100})["rows"]
    assert grades and {g["student_id"] for g in grades} == mine
    with raises("42501"):
        fn(db, "create_record", "attendance", {"student_id": next(iter(mine)), "day": "2026-12-01"})
    set_context(db, company, teacher)
    row = fn(db, "create_record", "attendance", {"student_id": next(iter(mine)), "day": "2026-12-01", "status": "absent"})
    assert row["period"] == 202612


# ---------------------------------------------------------------- errors, all or nothing


def small(version=1, **extra):
    return {"name": "small", "version": version, "description": "a test blueprint",
            "type_lists": [{"slug": "sizes", "values": ["s", "m", "l"]}],
            "roles": ["clerk"],
            "tables": [{"slug": "items", "name": "Items", "columns": [
                {"name": "title", "type": "text", "required": True, "label": "Title"},
                {"name": "size", "type": "select", "type_list": "sizes"},
                {"name": "state", "type": "select", "options": ["new", "used"]}]}],
            "grants": [{"role": "clerk", "table": "items", "actions": ["read"]}],
            "records": {"items": [{"title": "first"}]}, **extra}


def test_a_bad_last_table_leaves_nothing(db):
    company = new_company(db)
    set_context(db, company, company["owner"])
    bad = small(event_rules=[{"table": "items", "workflow": "w"}])
    bad["tables"].append({"slug": "broken", "columns": [{"name": "x", "type": "no_such_type"}]})
    with raises("22023"):
        apply(db, bad)
    bad["tables"][-1] = {"slug": "broken", "columns": [{"name": "x", "type": "relation", "target": "nowhere"}]}
    with raises("42P01"):
        apply(db, bad)
    bad["tables"].pop()
    bad["records"]["items"].append({"title": None})  # a bad record, applied last but one
    with raises("23502"):
        apply(db, bad)
    assert slugs(db) == [] and fn(db, "company_blueprints") == [] and fn(db, "list_event_rules") == []
    with raises("42P01"):
        fn(db, "describe_table", "items")
    fn(db, "create_type_list", "sizes", ["x"])  # the list was not left behind
    fn(db, "create_role", "clerk")  # nor the role


def test_errors(db, app):
    company = new_company(db)
    set_context(db, company, company["member"])
    with raises("42501"):
        apply(db, small())
    assert fn(db, "company_blueprints") == []  # any member may list them
    db.execute("select docpal.clear_context()")
    with raises("42501"):
        apply(db, small())
    with raises("42501"):
        fn(db, "company_blueprints")
    set_context(db, company, company["admin"])
    malformed = [
        "not an object", [], {"version": 1}, {"name": "x", "version": 1, "extra": 1},
        {"name": "Bad Name", "version": 1}, {"name": "x"}, {"name": "x", "version": 0}, {"name": "x", "version": 1.5},
        {"name": "x", "version": "1"}, {"name": "x", "version": 2147483648}, {"name": "x", "version": 1, "tables": {}},
        {"name": "x", "version": 1, "tables": [{"name": "no slug"}]},
        {"name": "x", "version": 1, "tables": [{"slug": "a"}, {"slug": "a"}]},
        {"name": "x", "version": 1, "records": []}, {"name": "x", "version": 1, "records": {"a": {}}},
        {"name": "x", "version": 1, "roles": [1]}, {"name": "x", "version": 1, "roles": ["a", "a"]},
        {"name": "x", "version": 1, "roles": [{"name": "a", "colour": 1}]},
        {"name": "x", "version": 1, "grants": [{"role": "a", "table": "t"}]},
        {"name": "x", "version": 1, "grants": [{"role": "a", "table": "t", "actions": ["read"], "extra": 1}]},
        {"name": "x", "version": 1, "event_rules": [{"workflow": "w"}]},
        {"name": "x", "version": 1, "workflows": [{"table": "t"}]},
        {"name": "x", "version": 1, "reports": [{"name": "no slug"}]},
        {"name": "x", "version": 1, "description": 5},
        {"name": "x", "version": 1, "type_lists": [{"slug": "a", "values": ["x"], "colour": 1}]},
        {"name": "x", "version": 1, "tables": [{"slug": "a", "columns": {}}]},
    ]
    expect_codes([(repr(m), lambda m=m: one(db, "select docpal.apply_blueprint(%s)", Jsonb(m))) for m in malformed],
                 "22023")
    huge = small()
    huge["records"]["items"] = [{"title": "x" * 1000} for _ in range(300)]
    with raises("54000"):
        apply(db, huge)
    assert slugs(db) == [] and fn(db, "company_blueprints") == []


def test_cycles_and_self_relations(db):
    company = new_company(db)
    set_context(db, company, company["owner"])
    doc = {"name": "cyclic", "version": 1, "tables": [
        {"slug": "a", "columns": [{"name": "name", "type": "text"},
                                  {"name": "b_id", "type": "relation", "target": "b", "on_delete": "set_null"},
                                  {"name": "bs", "type": "relation_many", "target": "b"},
                                  {"name": "parent_id", "type": "relation", "target": "a", "on_delete": "set_null"},
                                  {"name": "label", "type": "formula", "expression": "upper(name)"}]},
        {"slug": "b", "columns": [{"name": "a_id", "type": "relation", "target": "a", "required": True},
                                  {"name": "n", "type": "integer"}]}],
        "records": {
            "a": [{"id": "00000000-0000-4000-8000-00000000000a", "name": "root", "b_id": "00000000-0000-4000-8000-00000000000b",
                   "bs": ["00000000-0000-4000-8000-00000000000b"]},
                  {"id": "00000000-0000-4000-8000-0000000000aa", "name": "child",
                   "parent_id": "00000000-0000-4000-8000-00000000000a"}],
            "b": [{"id": "00000000-0000-4000-8000-00000000000b", "a_id": "00000000-0000-4000-8000-00000000000a", "n": 1}]}}
    result = apply(db, doc)
    assert result["created"]["tables"] == ["a", "b"] and result["created"]["records"] == {"a": 2, "b": 1}
    root = fn(db, "get_record", "a", U("00000000-0000-4000-8000-00000000000a"))
    assert root["b_id"] == "00000000-0000-4000-8000-00000000000b" and root["bs"] == [root["b_id"]] and root["label"] == "ROOT"
    child = fn(db, "get_record", "a", U("00000000-0000-4000-8000-0000000000aa"))
    assert child["parent_id"] == root["id"]
    assert list(columns(db, "a")) == ["name", "parent_id", "b_id", "bs", "label"]  # relations made after b, formula last


# ---------------------------------------------------------------- upgrades


def version_two():
    doc = small(2)
    doc["type_lists"][0]["values"] = ["s", "m", "l", "xl"]  # a new value
    doc["roles"] = ["clerk", {"name": "manager", "parent": "clerk"}]
    items = doc["tables"][0]["columns"]
    items[0]["label"] = "Item title"  # the blueprint renames the label: the company's stays
    items[2]["options"] = ["new", "used", "broken", "refurbished"]  # broken was removed by the user in v1
    items.append({"name": "price", "type": "currency", "currency": "EUR"})
    items.append({"name": "notes", "type": "long_text"})  # the user has a column of that name already
    doc["tables"].append({"slug": "moves", "columns": [
        {"name": "item_id", "type": "relation", "target": "items", "required": True},
        {"name": "state", "type": "select", "options": ["requested", "done"]}]})
    doc["grants"] = [{"role": "clerk", "table": "items", "actions": ["read", "update"]},
                     {"role": "manager", "table": "moves", "actions": ["read", "create"]}]
    doc["workflows"] = [{"name": "move_flow", "table": "moves", "state_column": "state", "initial": "requested",
                         "transitions": [{"name": "finish", "from": ["requested"], "to": "done", "roles": ["manager"]}]}]
    doc["event_rules"] = [{"table": "moves", "actions": ["INSERT"], "workflow": "on_move"}]
    doc["records"]["moves"] = [{"item_id": "00000000-0000-4000-8000-000000000001"}]  # records: first apply only
    return doc


def test_upgrade_adds_what_is_new_and_keeps_what_users_changed(db):
    company = new_company(db)
    set_context(db, company, company["owner"])
    v1 = small()
    v1["tables"][0]["columns"][2]["options"] = ["new", "used", "broken"]
    v1["tables"][0]["columns"].append({"name": "legacy", "type": "text"})
    v1["tables"].append({"slug": "extras", "columns": [{"name": "x", "type": "text"}]})
    first = apply(db, v1)
    assert first["created"]["tables"] == ["items", "extras"] and first["created"]["records"] == {"items": 1}
    # the company's users change things
    fn(db, "alter_column", "items", "title", {"label": "Name of the thing"})
    fn(db, "alter_table", "items", {"name": "Our items"})
    fn(db, "add_column", "items", {"name": "notes", "type": "text", "label": "Our notes"})
    fn(db, "alter_column", "items", "state", {"options": ["new", "used"]})
    fn(db, "drop_column", "items", "legacy")
    db.execute("select docpal.revoke_permission('clerk', 'items', array['read'])")
    db.execute("select docpal.drop_table('extras')")
    fn(db, "create_record", "items", {"title": "mine", "notes": "kept"})

    v2 = version_two()
    v2["tables"][0]["columns"].append({"name": "legacy", "type": "text"})
    # the dropped table stays dropped, with what v2 adds on it and the relations to it
    v2["tables"].append({"slug": "extras", "columns": [{"name": "x", "type": "text"}, {"name": "y", "type": "integer"}]})
    v2["tables"][0]["columns"].append({"name": "extra_id", "type": "relation", "target": "extras"})
    v2["grants"].append({"role": "clerk", "table": "extras", "actions": ["read"]})
    v2["event_rules"].append({"table": "extras", "workflow": "x"})
    result = apply(db, v2)
    assert result["version"] == 2 and result["previous_version"] == 1
    assert result["created"] == {
        "type_lists": [], "roles": ["manager"], "tables": ["moves"],
        "grants": [{"role": "clerk", "table": "items", "actions": ["update"]},
                   {"role": "manager", "table": "moves", "actions": ["read", "create"]}],
        "records": {}, "workflows": ["move_flow"],
        "event_rules": [{"id": result["created"]["event_rules"][0]["id"], "table": "moves", "workflow": "on_move"}],
        "reports": []}
    assert result["added"] == {"columns": [{"table": "items", "column": "price"}],
                               "options": [{"table": "items", "column": "state", "values": ["refurbished"]}],
                               "type_list_values": [{"type_list": "sizes", "values": ["xl"]}]}
    cols = columns(db, "items")
    assert cols["title"]["label"] == "Name of the thing"  # the user's label stays
    assert cols["notes"]["type"] == "text" and cols["notes"]["label"] == "Our notes"  # the user's column stays as it is
    assert cols["state"]["options"] == ["new", "used", "refurbished"]  # broken stays removed
    assert "legacy" not in cols and "price" in cols  # a dropped column is not brought back
    assert "extras" not in slugs(db) and "extra_id" not in cols
    assert fn(db, "describe_table", "items")["name"] == "Our items"
    assert count(db, "items") == 2 and count(db, "moves") == 0  # no records on an upgrade
    grants = one(db, f"select array_agg(action order by action) from {company_schema(db, company)}._grants "
                     "where role = 'clerk' and table_slug = 'items'")
    assert grants == ["update"]  # the revoked read stays revoked
    assert [b["version"] for b in fn(db, "company_blueprints")] == [2]

    # the same version, or a lower one: nothing
    for again in (v2, v1):
        before = slugs(db), columns(db, "items"), fn(db, "list_event_rules")
        unchanged = apply(db, again)
        assert unchanged["version"] == 2 and unchanged["previous_version"] == 2
        assert not any(unchanged["created"][k] for k in unchanged["created"])
        assert not any(unchanged["added"][k] for k in unchanged["added"])
        assert (slugs(db), columns(db, "items"), fn(db, "list_event_rules")) == before
    stored = one(db, f"select spec from {company_schema(db, company)}._blueprints where name = 'small'")
    assert stored == v2

    # version 3 has nothing new beyond a report: no change, version moves on
    v3 = copy.deepcopy(v2)
    v3["version"] = 3
    v3["reports"] = [{"slug": "items_by_size", "name": "Items by size", "table": "items", "kind": "aggregate",
                      "spec": {"group_by": ["size"], "metrics": {"n": "count"}}}]
    third = apply(db, v3)
    assert third["previous_version"] == 2 and not any(third["added"][k] for k in third["added"])
    assert third["created"]["reports"] == ["items_by_size"]
    assert not any(third["created"][k] for k in third["created"] if k != "reports")


def company_schema(db, company):
    return one(db, "select docpal.get_company(%s)->>'schema'", str(company["id"]))


def test_two_blueprints_share_a_table(db):
    company = new_company(db)
    set_context(db, company, company["owner"])
    apply(db, small())
    other = {"name": "other", "version": 1,
             "tables": [{"slug": "items", "columns": [{"name": "title", "type": "long_text"},
                                                      {"name": "weight", "type": "decimal", "precision": 8, "scale": 3},
                                                      {"name": "state", "type": "select", "options": ["used", "lost"]}]},
                        {"slug": "places", "columns": [{"name": "name", "type": "text"}]}]}
    result = apply(db, other)
    assert result["created"]["tables"] == ["places"]
    assert result["added"]["columns"] == [{"table": "items", "column": "weight"}]
    assert result["added"]["options"] == [{"table": "items", "column": "state", "values": ["lost"]}]
    assert columns(db, "items")["title"]["type"] == "text"  # an existing column is taken as it is
    assert [b["name"] for b in fn(db, "company_blueprints")] == ["other", "small"]


# ---------------------------------------------------------------- the command line


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_apply_blueprint(db, dburl, tmp_path):
    companies = [new_company(db) for _ in range(3)]
    result = invoke("tenants", "apply-blueprint", "school", "--company", companies[0]["slug"], "--database-url", dburl)
    assert result.exit_code == 0, result.output
    assert f"{companies[0]['slug']}: school v2 (new): 7 tables" in result.output
    assert "2 reports" in result.output
    again = invoke("tenants", "apply-blueprint", "school", "--company", companies[0]["slug"], "--database-url", dburl)
    assert "school v2 (unchanged): nothing to add" in again.output

    v1, v2 = tmp_path / "v1.json", tmp_path / "v2.json"
    v1.write_text(json.dumps(small()))
    doc2 = small(2)
    doc2["tables"][0]["columns"].append({"name": "code", "type": "text", "required": True})  # no default
    v2.write_text(json.dumps(doc2))
    for company in companies[1:]:
        assert invoke("tenants", "apply-blueprint", str(v1), "--company", company["slug"], "--database-url", dburl).exit_code == 0
    # the first of them gets rows: a required column without default cannot be added there
    set_context(db, companies[2], companies[2]["owner"])
    db.execute("select docpal.delete_record('items', id) from " + company_schema(db, companies[2]) + ".items")
    db.execute("select docpal.clear_context()")
    result = invoke("tenants", "apply-blueprint", str(v2), "--all", "--database-url", dburl)
    assert result.exit_code == 1, result.output
    assert f"FAILED {companies[1]['slug']}: 23502" in result.output
    assert f"{companies[2]['slug']}: small v2 (from v1): +1 columns" in result.output
    assert "1 of 2 companies with blueprint small applied, 1 failed" in result.output
    assert companies[0]["slug"] not in result.output  # it has no blueprint small
    as_json = json.loads(invoke("tenants", "apply-blueprint", str(v2), "--all", "--json", "--database-url", dburl).output)
    assert {i["company"]: ("error" in i) for i in as_json} == {companies[1]["slug"]: True, companies[2]["slug"]: False}
    set_context(db, companies[1], companies[1]["owner"])
    assert [b["version"] for b in fn(db, "company_blueprints")] == [1]  # the failed one changed nothing
    assert "code" not in columns(db, "items")
    # usage errors
    for args in (("school",), ("school", "--company", "x", "--all"), ("nope", "--all"),
                 ("school", "--company", "no-such-company"), (str(tmp_path / "missing.json"), "--all")):
        out = invoke("tenants", "apply-blueprint", *args, "--database-url", dburl)
        assert out.exit_code == 2, (args, out.output)
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    assert invoke("tenants", "apply-blueprint", str(bad), "--all", "--database-url", dburl).exit_code == 2


def test_cli_apply_blueprint_subprocess(db, dburl):
    company = new_company(db)
    proc = subprocess.run([str(CHECKOUT / ".venv/bin/docpal"), "tenants", "apply-blueprint", "mes",
                           "--company", company["slug"], "--database-url", dburl],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{company['slug']}: mes v2 (new): 10 tables")
    set_context(db, company, company["owner"])
    assert [b["name"] for b in fn(db, "company_blueprints")] == ["mes"]
    fail = subprocess.run([str(CHECKOUT / ".venv/bin/docpal"), "tenants", "apply-blueprint", "mes",
                           "--database-url", dburl], capture_output=True, text=True, timeout=120)
    assert fail.returncode == 2 and "give --company SLUG or --all" in fail.stderr


def test_demo_blueprint(db, dburl):
    result = invoke("demo", "--blueprint", "workforce", "--database-url", dburl)
    assert result.exit_code == 0, result.output
    assert "workforce v2 (new): 10 tables" in result.output
    assert "table leave_requests" in result.output and "workflows: leave_approval" in result.output
    assert "report overdue_tasks: Overdue tasks per team (aggregate, schedule 0 7 * * 1-5; saved now)" in result.output
    assert "run_report('overdue_tasks') in " in result.output and "team_id.name Line 1, open 2" in result.output
    again = invoke("demo", "--blueprint", "workforce", "--database-url", dburl)
    assert again.exit_code == 0 and "(unchanged)" in again.output
    assert "report leave_days: Leave days per department and kind (aggregate, schedule 0 6 1 * *; saved before)" \
        in again.output
    assert invoke("demo", "--blueprint", "nope", "--database-url", dburl).exit_code == 2


def test_two_applies_at_once_go_one_after_the_other(db, connect):
    """The second apply waits for the first (the company's apply_blueprint lock), then finds the
    version applied and changes nothing; no 23505 or 42P07 from a race."""
    import threading

    company = new_company(db)
    first, second = connect(autocommit=False), connect()
    set_context(first, company, company["owner"])
    set_context(second, company, company["admin"])
    assert apply(first, small())["created"]["tables"] == ["items"]  # not committed yet
    out = {}

    def run():
        try:
            out["result"] = apply(second, small())
        except psycopg.Error as exc:  # pragma: no cover - reported below
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()  # waiting for the first
    first.commit()
    thread.join(10)
    assert "error" not in out, out.get("error")
    assert out["result"]["previous_version"] == 1
    assert not any(out["result"]["created"][k] for k in out["result"]["created"])
    set_context(db, company, company["owner"])
    assert count(db, "items") == 1


def test_quota_stops_a_blueprint_and_leaves_nothing(db):
    company = new_company(db)
    db.execute("select docpal.set_quota(%s, %s)", (company["id"], Jsonb({"max_tables": 5})))
    set_context(db, company, company["owner"])
    with raises("53400"):
        apply(db, blueprints.load("mes"))  # 10 tables
    assert slugs(db) == [] and fn(db, "company_blueprints") == []
    with raises("53400"):
        apply(db, blueprints.load("school"))  # 7 tables: also over
    assert apply(db, small())["created"]["tables"] == ["items"]
