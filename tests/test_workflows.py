"""Approval workflows: contract section 7, docs/reference.md "Approval workflows".

define_workflow, transition_record, workflow_history, and the rules a
workflow puts on the record functions (insert starts at the initial state,
update_record may not move the state) and on schema changes.

Cast: the company owner, an admin, and the members alice (the company
fixture's member), bob, carol and dave. Members may read and create
expenses (a grant to `member`); approvers hold the custom role `approver`
(or `senior`, which inherits from it); payers are in the group `finance`,
which holds the role `payer`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from types import SimpleNamespace

import psycopg
import pytest
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN
from helpers import expect_codes, fn, one, raises, set_context, table, U

EXPENSES = table(
    "expenses",
    {"name": "title", "type": "text"},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "owner_id", "type": "user"},
    {"name": "status", "type": "select", "options": ["draft", "submitted", "approved", "rejected", "paid", "void"]},
    {"name": "priority", "type": "select", "options": ["low", "high"]})

WF = {"name": "expense_approval", "table": "expenses", "state_column": "status", "initial": "draft",
      "transitions": [
          {"name": "submit", "from": ["draft", "rejected"], "to": "submitted"},
          {"name": "approve", "from": ["submitted"], "to": "approved", "roles": ["approver"], "approvals": 2},
          {"name": "reject", "from": ["submitted"], "to": "rejected", "roles": ["approver"]},
          {"name": "pay", "from": ["approved"], "to": "paid", "roles": ["payer"]}]}


def define(conn, spec):
    return fn(conn, "define_workflow", spec)


def move(conn, rid, transition, comment=None, slug="expenses"):
    if comment is None:
        return one(conn, "select docpal.transition_record(%s, %s, %s)", slug, U(rid), transition)
    return one(conn, "select docpal.transition_record(%s, %s, %s, %s)", slug, U(rid), transition, comment)


def history(conn, rid, slug="expenses"):
    return fn(conn, "workflow_history", slug, U(rid))


def update(conn, rid, patch, slug="expenses"):
    return one(conn, "select docpal.update_record(%s, %s, %s)", slug, U(rid), Jsonb(patch))


def create(conn, data, slug="expenses"):
    return fn(conn, "create_record", slug, data)


def raw_status(db, env, rid):
    return one(db, f"select status from {env.schema}.expenses where id = %s", U(rid))


def log_rows(db, env, rid=None):
    sql = f"select kind, transition, from_state, to_state, user_id from {env.schema}._workflow_log"
    if rid is None:
        return db.execute(sql + " order by id").fetchall()
    return db.execute(sql + " where record_id = %s order by id", (U(rid),)).fetchall()


@pytest.fixture
def env(db, connect, company):
    owner = set_context(db, company, company["owner"])
    tag = company["slug"]

    def user(name, role="member"):
        uid = one(db, "select docpal.create_user(%s, %s)", f"{name}-{tag}@example.com", name.title())
        db.execute("select docpal.add_member(%s, %s, %s)", (company["id"], uid, role))
        return uid

    alice = company["member"]
    bob, carol, dave, erin = user("bob"), user("carol"), user("dave"), user("erin")
    admin = user("admin", "admin")

    fn(owner, "create_table", EXPENSES)
    fn(owner, "create_role", "approver")
    fn(owner, "create_role", "senior", "approver")
    fn(owner, "create_role", "payer")
    one(owner, "select docpal.grant_permission(%s, %s, %s::text[])", "member", "expenses", ["read", "create"])
    for who in (bob, carol, dave):
        fn(owner, "assign_role", U(who), "approver")

    conns: dict = {}

    def as_(who):
        """A docpal_service connection acting as `who` (one per user)."""
        if who not in conns:
            conns[who] = set_context(connect(SERVICE_LOGIN), company, who)
        return conns[who]

    return SimpleNamespace(db=db, owner=owner, company=company, schema=company["schema"], owner_id=company["owner"],
                           alice=alice, bob=bob, carol=carol, dave=dave, erin=erin, admin=admin, as_=as_,
                           connect=connect)


@pytest.fixture
def wf(env):
    """env with the expense workflow defined and one draft expense by alice."""
    define(env.owner, WF)
    env.rid = create(env.as_(env.alice), {"title": "Taxi", "amount": 42, "owner_id": str(env.alice)})["id"]
    return env


def submitted(env, title="Hotel"):
    rid = create(env.as_(env.alice), {"title": title, "amount": 100})["id"]
    assert move(env.as_(env.alice), rid, "submit") == {"state": "submitted", "pending_approvals": 0}
    return rid


# --- define_workflow ----------------------------------------------------------------------

def test_define_returns_the_stored_spec(env):
    assert one(env.db, "select to_regclass(%s)", f"{env.schema}._workflow_log") is None, \
        "create_company makes no workflow log"
    res = define(env.owner, WF)
    assert res == {
        "name": "expense_approval", "table": "expenses", "state_column": "status", "initial": "draft",
        "transitions": [
            {"name": "submit", "from": ["draft", "rejected"], "to": "submitted", "roles": [], "approvals": 1},
            {"name": "approve", "from": ["submitted"], "to": "approved", "roles": ["approver"], "approvals": 2},
            {"name": "reject", "from": ["submitted"], "to": "rejected", "roles": ["approver"], "approvals": 1},
            {"name": "pay", "from": ["approved"], "to": "paid", "roles": ["payer"], "approvals": 1}]}
    stored = one(env.db, f"select spec from {env.schema}._catalog where kind = 'workflow' and slug = %s",
                 "expense_approval")
    assert stored == res
    assert one(env.db, "select to_regclass(%s)::text", f"{env.schema}._workflow_log") is not None
    desc = fn(env.owner, "describe_table", "expenses")
    assert desc["workflows"] == [res]
    assert [c["name"] for c in desc["columns"]] == [c["name"] for c in EXPENSES["columns"]]


def test_describe_table_without_workflows_is_unchanged(env):
    desc = fn(env.owner, "describe_table", "expenses")
    assert "workflows" not in desc
    define(env.owner, WF)
    fn(env.owner, "create_table", table("other", {"name": "x", "type": "text"}))
    assert "workflows" not in fn(env.owner, "describe_table", "other")
    listed = {t["slug"]: t for t in fn(env.owner, "list_tables")}
    assert listed["expenses"]["workflows"][0]["name"] == "expense_approval"
    assert "workflows" not in listed["other"]


def test_define_normalizes_duplicates_and_roles(env):
    res = define(env.owner, {**WF, "transitions": [
        {"name": "submit", "from": ["draft", "rejected", "draft"], "to": "submitted",
         "roles": ["member", "approver", "member"], "approvals": None},
        {"name": "approve", "from": ["submitted"], "to": "approved", "roles": None, "approvals": 3}]})
    assert res["transitions"] == [
        {"name": "submit", "from": ["draft", "rejected"], "to": "submitted", "roles": ["member", "approver"], "approvals": 1},
        {"name": "approve", "from": ["submitted"], "to": "approved", "roles": [], "approvals": 3}]


def test_define_again_replaces(env):
    define(env.owner, WF)
    res = define(env.owner, {**WF, "initial": "submitted", "transitions": [
        {"name": "approve", "from": ["submitted"], "to": "approved"}]})
    assert res["initial"] == "submitted"
    assert [t["name"] for t in res["transitions"]] == ["approve"]
    assert one(env.db, f"select count(*) from {env.schema}._catalog where kind = 'workflow'") == 1
    # the new initial state applies to new records, the old transitions are gone
    rec = create(env.owner, {"title": "x"})
    assert rec["status"] == "submitted"
    with raises("22023"):
        move(env.owner, rec["id"], "submit")
    assert move(env.owner, rec["id"], "approve")["state"] == "approved"


def test_define_validation_22023(env):
    o = env.owner
    t = WF["transitions"]

    def with_(**kw):
        return lambda: define(o, {**WF, **kw})

    def without(key):
        return lambda: define(o, {k: v for k, v in WF.items() if k != key})

    def step(**kw):
        return lambda: define(o, {**WF, "transitions": [{**t[0], **kw}]})

    def step_without(key):
        return lambda: define(o, {**WF, "transitions": [{k: v for k, v in t[0].items() if k != key}]})

    expect_codes([
        ("not an object", lambda: define(o, ["x"])),
        ("null spec", lambda: one(o, "select docpal.define_workflow(null)")),
        ("unknown key", with_(color="red")),
        ("no name", without("name")),
        ("no table", without("table")),
        ("no state_column", without("state_column")),
        ("no initial", without("initial")),
        ("no transitions", without("transitions")),
        ("name not a string", with_(name=5)),
        ("bad name", with_(name="Expense Approval")),
        ("empty transitions", with_(transitions=[])),
        ("transitions not an array", with_(transitions={"name": "submit"})),
        ("transition not an object", with_(transitions=["submit"])),
        ("transition unknown key", step(when="now")),
        ("transition without name", step_without("name")),
        ("transition bad name", step(name="Submit!")),
        ("duplicate transition names", with_(transitions=[t[0], {**t[1], "name": "submit"}])),
        ("from missing", step_without("from")),
        ("from empty", step(**{"from": []})),
        ("from a string", step(**{"from": "draft"})),
        ("from with a number", step(**{"from": [1]})),
        ("from outside options", step(**{"from": ["draft", "lost"]})),
        ("to missing", step_without("to")),
        ("to outside options", step(to="lost")),
        ("to not a string", step(to=["submitted"])),
        ("initial outside options", with_(initial="lost")),
        ("approvals 0", step(approvals=0)),
        ("approvals negative", step(approvals=-1)),
        ("approvals fractional", step(approvals=1.5)),
        ("approvals a string", step(approvals="2")),
        ("approvals too many", step(approvals=1001)),
        ("roles not an array", step(roles="approver")),
        ("roles with a number", step(roles=[1])),
        ("unknown role", step(roles=["approver", "auditor"])),
        ("state column not a select", with_(state_column="title")),
    ], "22023")
    assert one(env.db, f"select count(*) from {env.schema}._catalog where kind = 'workflow'") == 0


def test_define_unknown_table_and_column(env):
    with raises("42P01"):
        define(env.owner, {**WF, "table": "nope"})
    with raises("42703"):
        define(env.owner, {**WF, "state_column": "stage"})


def test_define_builtin_roles_and_roles_without_permission_tables(db, company):
    """Without any custom role made (no permission tables), built-in roles
    are known and any other name is 22023."""
    owner = set_context(db, company, company["owner"])
    fn(owner, "create_table", EXPENSES)
    res = define(owner, {**WF, "transitions": [
        {"name": "approve", "from": ["draft"], "to": "approved", "roles": ["owner", "admin", "member"]}]})
    assert res["transitions"][0]["roles"] == ["owner", "admin", "member"]
    with raises("22023"):
        define(owner, {**WF, "transitions": [{"name": "approve", "from": ["draft"], "to": "approved",
                                              "roles": ["approver"]}]})
    # and a transition by the owner works without the permission tables
    rid = create(owner, {"title": "x"})["id"]
    assert move(owner, rid, "approve") == {"state": "approved", "pending_approvals": 0}


def test_define_conflicts_42710(env):
    define(env.owner, WF)
    fn(env.owner, "create_table", table("trips", {"name": "status", "type": "select", "options": ["draft", "done"]},
                                        {"name": "stage", "type": "select", "options": ["a", "b"]}))
    # another workflow on the same column
    with raises("42710"):
        define(env.owner, {**WF, "name": "other"})
    # the same name on another table, or on another column of the same table
    with raises("42710"):
        define(env.owner, {"name": "expense_approval", "table": "trips", "state_column": "status", "initial": "draft",
                           "transitions": [{"name": "finish", "from": ["draft"], "to": "done"}]})
    with raises("42710"):
        define(env.owner, {**WF, "state_column": "priority", "initial": "low",
                           "transitions": [{"name": "raise", "from": ["low"], "to": "high"}]})
    # a second workflow on another column of the table: its transition names must be new there
    with raises("42710"):
        define(env.owner, {"name": "triage", "table": "expenses", "state_column": "priority", "initial": "low",
                           "transitions": [{"name": "submit", "from": ["low"], "to": "high"}]})
    res = define(env.owner, {"name": "triage", "table": "expenses", "state_column": "priority", "initial": "low",
                             "transitions": [{"name": "escalate", "from": ["low"], "to": "high"}]})
    assert res["state_column"] == "priority"
    # the same transition name on another table is fine
    define(env.owner, {"name": "trip_flow", "table": "trips", "state_column": "status", "initial": "draft",
                       "transitions": [{"name": "submit", "from": ["draft"], "to": "done"}]})
    rec = create(env.owner, {"title": "x"})
    assert rec["status"] == "draft" and rec["priority"] == "low"
    assert move(env.owner, rec["id"], "escalate")["state"] == "high"
    assert fn(env.owner, "get_record", "expenses", U(rec["id"]))["status"] == "draft"


def test_define_owner_or_admin_only(env):
    with raises("42501"):
        define(env.as_(env.alice), WF)
    with raises("42501"):
        define(env.as_(env.bob), WF)
    assert define(env.as_(env.admin), WF)["name"] == "expense_approval"


# --- inserts ------------------------------------------------------------------------------

def test_insert_starts_at_initial(wf):
    alice = wf.as_(wf.alice)
    assert fn(alice, "get_record", "expenses", U(wf.rid))["status"] == "draft"
    assert create(alice, {"title": "null state", "status": None})["status"] == "draft"
    assert create(alice, {"title": "initial given", "status": "draft"})["status"] == "draft"
    rows = fn(alice, "create_records", "expenses", [
        {"title": "a"}, {"title": "b", "status": None}, {"title": "c", "status": "draft", "amount": 3}])
    assert [r["status"] for r in rows] == ["draft", "draft", "draft"]
    assert [r["title"] for r in rows] == ["a", "b", "c"]
    rows = fn(alice, "create_records", "expenses", [{"title": "d"}, {"title": "e"}])
    assert [r["status"] for r in rows] == ["draft", "draft"]
    assert one(wf.db, f"select count(*) from {wf.schema}.expenses where status is distinct from 'draft'") == 0


def test_insert_with_another_state_is_refused(wf):
    alice = wf.as_(wf.alice)
    before = one(wf.db, f"select count(*) from {wf.schema}.expenses")
    with raises("23514") as exc:
        create(alice, {"title": "sneaky", "status": "approved"})
    assert json.loads(exc.value.diag.message_detail) == {"column": "status", "rule": "workflow", "value": "approved"}
    with raises("23514") as exc:
        fn(alice, "create_records", "expenses", [{"title": "ok"}, {"title": "sneaky", "status": "paid"}])
    assert json.loads(exc.value.diag.message_detail) == {"column": "status", "rule": "workflow", "value": "paid"}
    with raises("23514"):
        create(wf.owner, {"title": "even the owner", "status": "submitted"})
    assert one(wf.db, f"select count(*) from {wf.schema}.expenses") == before


def test_insert_fills_the_state_without_a_grant_on_it(wf):
    """A member allowed to create only some columns still gets the initial
    state (docpal writes it); giving it is a write of that column."""
    fn(wf.owner, "create_role", "clerk")
    one(wf.owner, "select docpal.revoke_permission(%s, %s, %s::text[])", "member", "expenses", ["create"])
    one(wf.owner, "select docpal.grant_permission(%s, %s, %s::text[], %s)", "clerk", "expenses", ["create"],
        Jsonb({"columns": ["title", "amount"]}))
    fn(wf.owner, "assign_role", U(wf.erin), "clerk")
    erin = wf.as_(wf.erin)
    assert create(erin, {"title": "mine"})["status"] == "draft"
    assert [r["status"] for r in fn(erin, "create_records", "expenses", [{"title": "a"}, {"title": "b"}])] == \
        ["draft", "draft"]
    with raises("42501"):
        create(erin, {"title": "mine", "status": "draft"})


def test_existing_records_keep_their_state(env):
    rid_null = create(env.owner, {"title": "old, no state"})["id"]
    rid_paid = create(env.owner, {"title": "old, paid", "status": "paid"})["id"]
    define(env.owner, WF)
    assert fn(env.owner, "get_record", "expenses", U(rid_null))["status"] is None
    assert fn(env.owner, "get_record", "expenses", U(rid_paid))["status"] == "paid"
    with raises("22023"):
        move(env.owner, rid_null, "submit")  # no transition starts from null
    # the null state is not moved by updates either (it would be a change)
    with raises("23514"):
        update(env.owner, rid_null, {"status": "draft"})
    assert update(env.owner, rid_null, {"title": "still old"})["status"] is None


def test_restore_record_brings_the_state_back(wf):
    rid = submitted(wf)
    fn(wf.owner, "delete_record", "expenses", U(rid))
    rec = fn(wf.owner, "restore_record", "expenses", U(rid))
    assert rec["status"] == "submitted"
    assert raw_status(wf.db, wf, rid) == "submitted"
    assert fn(wf.owner, "record_history", "expenses", U(rid))[-1]["action"] == "RESTORE"
    # and the workflow goes on from there
    assert move(wf.as_(wf.bob), rid, "reject")["state"] == "rejected"


# --- update_record ------------------------------------------------------------------------

def test_update_record_refuses_to_move_the_state(wf):
    with raises("23514") as exc:
        update(wf.owner, wf.rid, {"status": "approved"})
    assert exc.value.diag.message_detail is not None
    assert json.loads(exc.value.diag.message_detail) == {"column": "status", "rule": "workflow", "value": "approved"}
    assert "workflow" in exc.value.diag.message_primary
    with raises("23514"):
        update(wf.owner, wf.rid, {"status": None, "title": "x"})
    rec = fn(wf.owner, "get_record", "expenses", U(wf.rid))
    assert (rec["status"], rec["title"], rec["version"]) == ("draft", "Taxi", 1)
    # other columns, and the state it already has, pass
    rec = update(wf.owner, wf.rid, {"title": "Taxi to airport", "status": "draft"})
    assert (rec["status"], rec["title"], rec["version"]) == ("draft", "Taxi to airport", 2)
    # a record that does not exist is still P0002
    with raises("P0002"):
        update(wf.owner, uuid.uuid4(), {"status": "approved"})


def test_rollback_across_a_state_change_is_refused(wf):
    rid = submitted(wf)                                   # v1 draft, v2 submitted
    update(wf.owner, rid, {"title": "Hotel, 2 nights"})   # v3
    with raises("23514"):
        one(wf.owner, "select docpal.rollback_record(%s, %s, %s)", "expenses", U(rid), 1)
    assert raw_status(wf.db, wf, rid) == "submitted"
    rec = one(wf.owner, "select docpal.rollback_record(%s, %s, %s, %s::text[])", "expenses", U(rid), 1, ["title"])
    assert (rec["title"], rec["status"]) == ("Hotel", "submitted")
    # a rollback to a version in the same state passes
    update(wf.owner, rid, {"title": "Hotel, 3 nights"})
    rec = one(wf.owner, "select docpal.rollback_record(%s, %s, %s)", "expenses", U(rid), 3)
    assert (rec["title"], rec["status"]) == ("Hotel, 2 nights", "submitted")


# --- transition_record --------------------------------------------------------------------

def test_simple_transition(wf):
    alice = wf.as_(wf.alice)
    res = move(alice, wf.rid, "submit", "please")
    assert res == {"state": "submitted", "pending_approvals": 0}
    rec = fn(alice, "get_record", "expenses", U(wf.rid))
    assert (rec["status"], rec["version"], rec["updated_by"]) == ("submitted", 2, str(wf.alice))
    hist = history(alice, wf.rid)
    assert len(hist) == 1
    h = hist[0]
    assert set(h) == {"id", "at", "workflow", "transition", "kind", "from", "to", "user_id", "comment"}
    assert (h["workflow"], h["transition"], h["kind"], h["from"], h["to"], h["user_id"], h["comment"]) == \
        ("expense_approval", "submit", "transition", "draft", "submitted", str(wf.alice), "please")


def test_transition_errors(wf):
    alice = wf.as_(wf.alice)
    with raises("22023"):
        move(alice, wf.rid, "approve_all")             # no such transition
    with raises("22023"):
        move(wf.as_(wf.bob), wf.rid, "approve")        # draft is not a from state of approve
    with raises("42P01"):
        move(alice, wf.rid, "submit", slug="nope")
    with raises("P0002"):
        move(alice, uuid.uuid4(), "submit")
    fn(wf.owner, "create_table", table("notes", {"name": "body", "type": "text"}))
    note = create(wf.owner, {"body": "x"}, slug="notes")["id"]
    with raises("22023"):
        move(wf.owner, note, "submit", slug="notes")   # a table without workflows
    assert history(alice, wf.rid) == []
    assert raw_status(wf.db, wf, wf.rid) == "draft"


def test_transition_needs_a_listed_role(wf):
    rid = submitted(wf)
    expect_codes([
        ("member without the role", lambda: move(wf.as_(wf.alice), rid, "approve")),
        ("member without the role, reject", lambda: move(wf.as_(wf.erin), rid, "reject")),
        ("owner is not implied", lambda: move(wf.owner, rid, "approve")),
        ("admin is not implied", lambda: move(wf.as_(wf.admin), rid, "reject")),
    ], "42501")
    assert raw_status(wf.db, wf, rid) == "submitted"
    assert [r[0] for r in log_rows(wf.db, wf, rid)] == ["transition"]  # only the submit
    # listed built-in roles are honoured, and roles can be given to owners and admins
    fn(wf.owner, "assign_role", U(wf.admin), "approver")
    assert move(wf.as_(wf.admin), rid, "reject") == {"state": "rejected", "pending_approvals": 0}
    define(wf.owner, {**WF, "transitions": WF["transitions"] + [
        {"name": "void", "from": ["rejected", "draft"], "to": "void", "roles": ["owner"]}]})
    with raises("42501"):
        move(wf.as_(wf.admin), rid, "void")
    assert move(wf.owner, rid, "void")["state"] == "void"


def test_member_role_means_the_company_role_member(wf):
    define(wf.owner, {**WF, "transitions": [{"name": "submit", "from": ["draft"], "to": "submitted", "roles": ["member"]}]})
    with raises("42501"):
        move(wf.owner, wf.rid, "submit")
    assert move(wf.as_(wf.erin), wf.rid, "submit")["state"] == "submitted"


def test_role_inheritance_and_groups(wf):
    rid = submitted(wf)
    # erin holds senior, which inherits from approver
    fn(wf.owner, "assign_role", U(wf.erin), "senior")
    assert move(wf.as_(wf.erin), rid, "approve") == {"state": "submitted", "pending_approvals": 1}
    assert move(wf.as_(wf.bob), rid, "approve") == {"state": "approved", "pending_approvals": 0}
    # pay needs payer: alice gets it through the group finance
    with raises("42501"):
        move(wf.as_(wf.alice), rid, "pay")
    fn(wf.owner, "create_group", "finance")
    fn(wf.owner, "add_group_member", "finance", U(wf.alice))
    with raises("42501"):
        move(wf.as_(wf.alice), rid, "pay")             # the group has no role yet
    fn(wf.owner, "assign_group_role", "finance", "payer")
    assert move(wf.as_(wf.alice), rid, "pay") == {"state": "paid", "pending_approvals": 0}
    # a role inherited through a group role
    fn(wf.owner, "create_role", "head_payer", "payer")
    fn(wf.owner, "create_group", "heads")
    fn(wf.owner, "add_group_member", "heads", U(wf.dave))
    fn(wf.owner, "assign_group_role", "heads", "head_payer")
    rid2 = submitted(wf, "Flight")
    move(wf.as_(wf.bob), rid2, "approve")
    move(wf.as_(wf.carol), rid2, "approve")
    assert move(wf.as_(wf.dave), rid2, "pay")["state"] == "paid"


def test_quorum_of_two(wf):
    rid = submitted(wf)
    bob, carol = wf.as_(wf.bob), wf.as_(wf.carol)
    assert move(bob, rid, "approve", "fine by me") == {"state": "submitted", "pending_approvals": 1}
    assert raw_status(wf.db, wf, rid) == "submitted"
    version = fn(bob, "get_record", "expenses", U(rid))["version"]
    # the same user again changes nothing
    assert move(bob, rid, "approve", "again") == {"state": "submitted", "pending_approvals": 1}
    assert move(bob, rid, "approve") == {"state": "submitted", "pending_approvals": 1}
    assert len(log_rows(wf.db, wf, rid)) == 2
    assert fn(bob, "get_record", "expenses", U(rid))["version"] == version
    assert move(carol, rid, "approve") == {"state": "approved", "pending_approvals": 0}
    assert raw_status(wf.db, wf, rid) == "approved"
    assert log_rows(wf.db, wf, rid) == [
        ("transition", "submit", "draft", "submitted", U(wf.alice)),
        ("approval", "approve", "submitted", None, U(wf.bob)),
        ("transition", "approve", "submitted", "approved", U(wf.carol))]
    # once moved, approving again is a transition from the wrong state
    with raises("22023"):
        move(bob, rid, "approve")
    with raises("22023"):
        move(carol, rid, "approve")


def test_quorum_of_three(wf):
    define(wf.owner, {**WF, "transitions": [WF["transitions"][0],
                                            {**WF["transitions"][1], "approvals": 3}]})
    rid = submitted(wf)
    assert move(wf.as_(wf.bob), rid, "approve") == {"state": "submitted", "pending_approvals": 2}
    assert move(wf.as_(wf.carol), rid, "approve") == {"state": "submitted", "pending_approvals": 1}
    assert move(wf.as_(wf.bob), rid, "approve") == {"state": "submitted", "pending_approvals": 1}
    assert move(wf.as_(wf.carol), rid, "approve") == {"state": "submitted", "pending_approvals": 1}
    assert raw_status(wf.db, wf, rid) == "submitted"
    assert move(wf.as_(wf.dave), rid, "approve") == {"state": "approved", "pending_approvals": 0}
    kinds = [(r[0], r[4]) for r in log_rows(wf.db, wf, rid)]
    assert kinds == [("transition", U(wf.alice)), ("approval", U(wf.bob)), ("approval", U(wf.carol)),
                     ("transition", U(wf.dave))]


def test_approvals_count_afresh_after_a_state_change(wf):
    rid = submitted(wf)
    bob, carol, dave, alice = (wf.as_(u) for u in (wf.bob, wf.carol, wf.dave, wf.alice))
    assert move(bob, rid, "approve")["pending_approvals"] == 1
    assert move(carol, rid, "reject") == {"state": "rejected", "pending_approvals": 0}
    assert move(alice, rid, "submit") == {"state": "submitted", "pending_approvals": 0}
    # bob's approval was made before the record left submitted: it no longer counts
    assert move(dave, rid, "approve") == {"state": "submitted", "pending_approvals": 1}
    assert move(bob, rid, "approve") == {"state": "approved", "pending_approvals": 0}
    assert [(k, t) for k, t, *_ in log_rows(wf.db, wf, rid)] == [
        ("transition", "submit"), ("approval", "approve"), ("transition", "reject"), ("transition", "submit"),
        ("approval", "approve"), ("transition", "approve")]


def test_approvals_of_one_record_do_not_count_for_another(wf):
    r1, r2 = submitted(wf, "one"), submitted(wf, "two")
    assert move(wf.as_(wf.bob), r1, "approve")["pending_approvals"] == 1
    assert move(wf.as_(wf.carol), r2, "approve")["pending_approvals"] == 1
    assert raw_status(wf.db, wf, r1) == raw_status(wf.db, wf, r2) == "submitted"


def test_transition_respects_read_permission_and_row_filter(wf):
    # erin may read only her own expenses
    one(wf.owner, "select docpal.revoke_permission(%s, %s, %s::text[])", "member", "expenses", ["read"])
    fn(wf.owner, "create_role", "own_reader")
    one(wf.owner, "select docpal.grant_permission(%s, %s, %s::text[], %s)", "own_reader", "expenses", ["read"],
        Jsonb({"row_filter": {"owner_id": "$user"}}))
    fn(wf.owner, "assign_role", U(wf.erin), "own_reader")
    fn(wf.owner, "assign_role", U(wf.alice), "own_reader")
    erin = wf.as_(wf.erin)
    with raises("P0002"):
        move(erin, wf.rid, "submit")          # alice's expense: invisible to erin
    with raises("P0002"):
        history(erin, wf.rid)
    assert move(wf.as_(wf.alice), wf.rid, "submit")["state"] == "submitted"
    # bob has no read grant at all any more
    with raises("42501"):
        move(wf.as_(wf.bob), wf.rid, "approve")
    with raises("42501"):
        history(wf.as_(wf.bob), wf.rid)


def test_api_key_needs_the_update_scope(wf, connect):
    keys = {}
    for scopes in (["read"], ["read", "update"]):
        keys[tuple(scopes)] = one(wf.owner, "select docpal.create_api_key(%s, %s, %s::text[])",
                                  "k" + "".join(scopes), U(wf.alice), scopes)["key"]
    reader = connect(APP_LOGIN)
    one(reader, "select docpal.authenticate(%s, false)", keys[("read",)])
    with raises("42501"):
        move(reader, wf.rid, "submit")
    assert history(reader, wf.rid) == []
    writer = connect(APP_LOGIN)
    one(writer, "select docpal.authenticate(%s, false)", keys[("read", "update")])
    assert move(writer, wf.rid, "submit")["state"] == "submitted"


def test_the_state_change_is_audited_as_an_update_by_the_approver(wf):
    rid = submitted(wf)
    move(wf.as_(wf.bob), rid, "approve")
    move(wf.as_(wf.carol), rid, "approve", "ok")
    hist = fn(wf.owner, "record_history", "expenses", U(rid))
    assert [e["action"] for e in hist] == ["INSERT", "UPDATE", "UPDATE"]
    submit, approve = hist[1], hist[2]
    assert submit["user_id"] == str(wf.alice)
    assert (approve["user_id"], approve["changed"], approve["version"]) == (str(wf.carol), ["status"], 3)
    assert approve["old"]["status"] == "submitted" and approve["new"]["status"] == "approved"
    rec = fn(wf.owner, "get_record", "expenses", U(rid))
    assert (rec["version"], rec["updated_by"]) == (3, str(wf.carol))
    # approvals that do not move the state write no version
    rid2 = submitted(wf, "second")
    move(wf.as_(wf.bob), rid2, "approve")
    assert [e["action"] for e in fn(wf.owner, "record_history", "expenses", U(rid2))] == ["INSERT", "UPDATE"]


def test_concurrent_approvers_move_the_state_once(wf, connect):
    """Two approvers of a quorum of two, at the same time: the second waits
    for the first's row lock, then sees its approval and moves the state."""
    rid = submitted(wf)
    c1 = set_context(connect(SERVICE_LOGIN), wf.company, wf.bob)
    c2 = set_context(connect(SERVICE_LOGIN), wf.company, wf.carol)
    c1.autocommit = c2.autocommit = False
    pid2 = c2.info.backend_pid
    first = move(c1, rid, "approve")                  # holds the row lock, not committed
    assert first == {"state": "submitted", "pending_approvals": 1}
    results, errors = [], []

    def second():
        try:
            results.append(move(c2, rid, "approve"))
            c2.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if one(wf.db, "select wait_event_type from pg_stat_activity where pid = %s", pid2) == "Lock":
            break
        time.sleep(0.02)
    else:
        pytest.fail("the second approver did not wait for the row lock")
    c1.commit()
    thread.join(10)
    assert not errors, errors
    assert results == [{"state": "approved", "pending_approvals": 0}]
    assert raw_status(wf.db, wf, rid) == "approved"
    rows = log_rows(wf.db, wf, rid)
    assert [r[0] for r in rows].count("transition") == 2   # submit and approve
    assert [r for r in rows if r[1] == "approve"] == [
        ("approval", "approve", "submitted", None, U(wf.bob)),
        ("transition", "approve", "submitted", "approved", U(wf.carol))]
    assert [e["action"] for e in fn(wf.owner, "record_history", "expenses", U(rid))].count("UPDATE") == 2


def test_concurrent_last_approvers_race(wf, connect):
    """After one approval, two more approvers at once: exactly one moves the
    state; the other then finds the record already moved (22023)."""
    rid = submitted(wf)
    move(wf.as_(wf.bob), rid, "approve")
    conns = [set_context(connect(SERVICE_LOGIN), wf.company, u) for u in (wf.carol, wf.dave)]
    for c in conns:
        c.autocommit = False
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(conn):
        barrier.wait()
        try:
            outcomes.append(move(conn, rid, "approve"))
            conn.commit()
        except psycopg.Error as exc:
            outcomes.append(exc.sqlstate)
            conn.rollback()

    threads = [threading.Thread(target=approve, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(map(str, outcomes)) == sorted(["22023", str({"state": "approved", "pending_approvals": 0})])
    assert raw_status(wf.db, wf, rid) == "approved"
    assert [r[0] for r in log_rows(wf.db, wf, rid) if r[1] == "approve"] == ["approval", "transition"]


# --- workflow_history ---------------------------------------------------------------------

def test_workflow_history_content(wf):
    rid = submitted(wf)
    move(wf.as_(wf.bob), rid, "approve", "looks right")
    move(wf.as_(wf.carol), rid, "approve", "agreed")
    hist = history(wf.as_(wf.alice), rid)
    assert [(h["kind"], h["transition"], h["from"], h["to"], h["user_id"], h["comment"]) for h in hist] == [
        ("transition", "submit", "draft", "submitted", str(wf.alice), None),
        ("approval", "approve", "submitted", None, str(wf.bob), "looks right"),
        ("transition", "approve", "submitted", "approved", str(wf.carol), "agreed")]
    assert all(h["workflow"] == "expense_approval" for h in hist)
    ids = [h["id"] for h in hist]
    assert ids == sorted(ids)
    assert all(h["at"] for h in hist)
    assert history(wf.as_(wf.alice), wf.rid) == []


def test_workflow_history_errors_and_empty(env):
    rid = create(env.owner, {"title": "x"})["id"]
    # no workflow in the company yet: no log table, an empty history
    assert history(env.owner, rid) == []
    with raises("42P01"):
        history(env.owner, rid, slug="nope")
    with raises("P0002"):
        history(env.owner, uuid.uuid4())


# --- schema changes -----------------------------------------------------------------------

def test_drop_column_of_a_state_column_is_refused(wf):
    with raises("2BP01"):
        fn(wf.owner, "drop_column", "expenses", "status")
    assert "status" in [c["name"] for c in fn(wf.owner, "describe_table", "expenses")["columns"]]
    fn(wf.owner, "drop_column", "expenses", "priority")   # other columns drop as before


def test_alter_column_must_keep_the_workflow_states(wf):
    o = wf.owner
    fn(o, "create_type_list", "sizes", ["draft", "small"])
    expect_codes([
        ("state removed", lambda: fn(o, "alter_column", "expenses", "status",
                                     {"options": ["draft", "submitted", "approved", "rejected"]})),
        ("to multi_select", lambda: fn(o, "alter_column", "expenses", "status", {"type": "multi_select"})),
        ("to a type list without the states", lambda: fn(o, "alter_column", "expenses", "status",
                                                         {"options": None, "type_list": "sizes"})),
    ], "2BP01")
    # an option no state uses may go, new ones may come
    res = fn(o, "alter_column", "expenses", "status",
             {"options": ["draft", "submitted", "approved", "rejected", "paid", "archived"]})
    assert next(c for c in res["columns"] if c["name"] == "status")["options"][-1] == "archived"
    fn(o, "alter_column", "expenses", "status", {"label": "State"})
    assert move(wf.as_(wf.alice), wf.rid, "submit")["state"] == "submitted"


def test_type_list_states_are_kept(env):
    fn(env.owner, "create_type_list", "stages", ["new", "open", "closed", "spare"])
    fn(env.owner, "create_table", table("tickets", {"name": "stage", "type": "select", "type_list": "stages"}))
    define(env.owner, {"name": "ticket_flow", "table": "tickets", "state_column": "stage", "initial": "new",
                       "transitions": [{"name": "open", "from": ["new"], "to": "open"},
                                       {"name": "close", "from": ["open"], "to": "closed"}]})
    with raises("22023"):
        define(env.owner, {"name": "ticket_flow", "table": "tickets", "state_column": "stage", "initial": "gone",
                           "transitions": [{"name": "open", "from": ["new"], "to": "open"}]})
    with raises("2BP01"):
        fn(env.owner, "update_type_list", "stages", ["new", "open", "spare"])
    fn(env.owner, "update_type_list", "stages", ["new", "open", "closed"])
    rid = create(env.owner, {}, slug="tickets")["id"]
    assert move(env.owner, rid, "open", slug="tickets")["state"] == "open"


def test_rename_column_takes_the_workflow_along(wf):
    fn(wf.owner, "rename_column", "expenses", "status", "state")
    stored = one(wf.db, f"select spec from {wf.schema}._catalog where kind = 'workflow' and slug = 'expense_approval'")
    assert stored["state_column"] == "state"
    assert fn(wf.owner, "describe_table", "expenses")["workflows"][0]["state_column"] == "state"
    assert create(wf.as_(wf.alice), {"title": "new"})["state"] == "draft"
    with raises("23514") as exc:
        update(wf.owner, wf.rid, {"state": "approved"})
    assert json.loads(exc.value.diag.message_detail)["column"] == "state"
    assert move(wf.as_(wf.alice), wf.rid, "submit")["state"] == "submitted"
    assert one(wf.db, f"select state from {wf.schema}.expenses where id = %s", U(wf.rid)) == "submitted"
    # defining it again names the new column
    with raises("42703"):
        define(wf.owner, WF)
    assert define(wf.owner, {**WF, "state_column": "state"})["state_column"] == "state"


def test_drop_table_removes_its_workflows(wf):
    move(wf.as_(wf.alice), wf.rid, "submit")
    fn(wf.owner, "drop_table", "expenses")
    assert one(wf.db, f"select count(*) from {wf.schema}._catalog where kind = 'workflow'") == 0
    assert one(wf.db, f"select count(*) from {wf.schema}._workflow_log") == 0
    fn(wf.owner, "create_table", EXPENSES)
    rec = create(wf.owner, {"title": "free again", "status": "paid"})
    assert rec["status"] == "paid"
    assert update(wf.owner, rec["id"], {"status": "void"})["status"] == "void"
    assert define(wf.owner, WF)["name"] == "expense_approval"


def test_tables_without_workflows_are_untouched(wf):
    fn(wf.owner, "create_table", table("notes", {"name": "state", "type": "select", "options": ["a", "b"]}))
    rec = create(wf.owner, {"state": "b"}, slug="notes")
    assert update(wf.owner, rec["id"], {"state": "a"}, slug="notes")["state"] == "a"
    assert fn(wf.owner, "create_records", "notes", [{"state": "b"}, {}])[1]["state"] is None
