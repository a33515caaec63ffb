"""Permissions (RBAC): contract section 6, docs/reference.md "Permissions".

Roles, grants, inheritance, groups, check_permission, and their enforcement
in every record and query function. Black-box: only the public functions,
plus plain SQL on the company's tables (as a DBA would) to see what was
really written. ReBAC (define_relations, relate, ...) is not covered here.

Cast: the company owner (everything), an admin (everything), and the members
alice (the company fixture's member), bob and carol, who may do only what is
granted; an outsider is no member at all.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
from psycopg.types.json import Jsonb

from conftest import SERVICE_LOGIN
from helpers import code_of, expect_codes, fn, one, raises, set_context, table, U

SYSTEM = {"id", "version", "created_at", "updated_at", "created_by", "updated_by"}

ACCOUNTS = table("accounts",
                 {"name": "name", "type": "text"},
                 {"name": "region", "type": "text"})
DEALS = table(
    "deals",
    {"name": "name", "type": "text", "required": True, "searchable": True},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "secret", "type": "text", "searchable": True},
    {"name": "stage", "type": "select", "options": ["new", "won", "lost"]},
    {"name": "owner_id", "type": "user"},
    {"name": "account_id", "type": "relation", "target": "accounts", "on_delete": "set_null"},
    {"name": "parent_id", "type": "relation", "target": "deals", "on_delete": "set_null"},
    {"name": "starts", "type": "date"},
    {"name": "ends", "type": "date"},
    {"name": "blockers", "type": "relation_many", "target": "deals"})
DEAL_COLUMNS = {c["name"] for c in DEALS["columns"]}

DENIED = "42501"


# --- helpers -------------------------------------------------------------------------------

def grant(conn, role, actions, spec=None, slug="deals"):
    if spec is None:
        return one(conn, "select docpal.grant_permission(%s, %s, %s::text[])", role, slug, actions)
    return one(conn, "select docpal.grant_permission(%s, %s, %s::text[], %s)", role, slug, actions, Jsonb(spec))


def revoke(conn, role, actions, slug="deals"):
    return one(conn, "select docpal.revoke_permission(%s, %s, %s::text[])", role, slug, actions)


def create_role(conn, name, parent=None):
    if parent is None:
        return fn(conn, "create_role", name)
    return fn(conn, "create_role", name, parent)


def check(conn, user, action, slug="deals", record=None):
    if record is None:
        return one(conn, "select docpal.check_permission(%s, %s, %s)", U(user), action, slug)
    return one(conn, "select docpal.check_permission(%s, %s, %s, %s)", U(user), action, slug, U(record))


def get(conn, rid, slug="deals"):
    return fn(conn, "get_record", slug, U(rid))


def update(conn, rid, patch, slug="deals"):
    return one(conn, "select docpal.update_record(%s, %s, %s)", slug, U(rid), Jsonb(patch))


def delete(conn, rid, slug="deals"):
    return fn(conn, "delete_record", slug, U(rid))


def query(conn, spec=None, slug="deals"):
    return fn(conn, "query_table", slug, spec or {})


def names(result):
    return sorted(r["name"] for r in result["rows"])


def rollback(conn, rid, version, columns=None, slug="deals"):
    return one(conn, "select docpal.rollback_record(%s, %s, %s, %s::text[])", slug, U(rid), version, columns)


def raw(db, env, rid, column):
    return one(db, f"select {column} from {env.schema}.deals where id = %s", U(rid))


def deal_count(db, env):
    return one(db, f"select count(*) from {env.schema}.deals")


def tree_shape(nodes):
    return [(n["name"], tree_shape(n.get("children") or [])) for n in nodes]


# --- the company ------------------------------------------------------------------------------

@pytest.fixture
def env(db, connect, company):
    """Owner context on `db`; users; tables accounts and deals with five deals:
    alice owns a1 (root) and a2 (its child), bob owns b1 (root) and b2 (its
    child), u1 has no owner."""
    owner = set_context(db, company, company["owner"])
    tag = company["slug"]

    def user(name, role=None):
        uid = one(db, "select docpal.create_user(%s, %s)", f"{name}-{tag}@example.com", name.title())
        if role:
            db.execute("select docpal.add_member(%s, %s, %s)", (company["id"], uid, role))
        return uid

    alice = company["member"]
    bob = user("bob", "member")
    carol = user("carol", "member")
    admin = user("admin", "admin")
    outsider = user("outsider")

    fn(owner, "create_table", ACCOUNTS)
    fn(owner, "create_table", DEALS)
    acme = fn(owner, "create_record", "accounts", {"name": "Acme", "region": "EU"})["id"]
    globex = fn(owner, "create_record", "accounts", {"name": "Globex", "region": "US"})["id"]

    def deal(name, amount, secret, stage, who, account=None, parent=None, starts=None, ends=None, blockers=()):
        return fn(owner, "create_record", "deals", {
            "name": name, "amount": amount, "secret": secret, "stage": stage,
            "owner_id": None if who is None else str(who), "account_id": account, "parent_id": parent,
            "starts": starts, "ends": ends, "blockers": list(blockers)})["id"]

    a1 = deal("Alpha", 100, "s-alpha", "new", alice, acme, None, "2026-01-01", "2026-01-10")
    a2 = deal("Alpha child", 50, "s-alpha2", "won", alice, globex, a1, "2026-01-05", "2026-01-20", [a1])
    b1 = deal("Bravo", 200, "s-bravo", "won", bob, acme, None, "2026-02-01", "2026-02-10")
    b2 = deal("Bravo child", 300, "s-bravo2", "lost", bob, None, b1, "2026-02-05", "2026-02-15", [b1])
    u1 = deal("Unowned", 10, "s-none", "new", None)

    conns: dict = {}

    def as_(who):
        """A docpal_service connection acting as `who` (one per user)."""
        if who not in conns:
            conns[who] = set_context(connect(SERVICE_LOGIN), company, who)
        return conns[who]

    return SimpleNamespace(owner=owner, company=company, schema=company["schema"], owner_id=company["owner"],
                           alice=alice, bob=bob, carol=carol, admin=admin, outsider=outsider,
                           acme=acme, globex=globex, a1=a1, a2=a2, b1=b1, b2=b2, u1=u1, as_=as_)


ALL_DEALS = ["Alpha", "Alpha child", "Bravo", "Bravo child", "Unowned"]


# --- create_role ----------------------------------------------------------------------------

def test_create_role_returns_name_and_parent(env):
    assert create_role(env.owner, "sales") == {"name": "sales", "parent": None}
    assert create_role(env.owner, "sales_lead", "sales") == {"name": "sales_lead", "parent": "sales"}
    assert create_role(env.owner, "staff", "member") == {"name": "staff", "parent": "member"}
    # an admin manages roles too
    assert create_role(env.as_(env.admin), "x9_role") == {"name": "x9_role", "parent": None}


def test_create_role_errors(env):
    create_role(env.owner, "sales")
    o = env.owner
    bad_names = ["Sales", "1sales", "_sales", "sales-team", "", "a" * 64, "owner", "admin", "member"]
    expect_codes([(n, lambda n=n: create_role(o, n)) for n in bad_names], "22023")
    with raises("42710"):
        create_role(o, "sales")
    with raises("42704"):
        create_role(o, "other", "nope")
    with raises("42501"):
        create_role(env.as_(env.alice), "mine")


# --- grant_permission / revoke_permission -------------------------------------------------

def by_action(res):
    return {g["action"]: g for g in res["grants"]}


def test_grant_permission_returns_the_roles_grants_on_the_table(env):
    create_role(env.owner, "sales")
    res = grant(env.owner, "sales", ["read", "update"],
                {"columns": ["name", "amount"], "row_filter": {"owner_id": "$user"}})
    assert set(res) == {"role", "table", "grants"}
    assert (res["role"], res["table"]) == ("sales", "deals")
    grants = by_action(res)
    assert set(grants) == {"read", "update"}
    for g in grants.values():
        assert set(g) == {"action", "columns", "row_filter"}
        assert sorted(g["columns"]) == ["amount", "name"]
        assert g["row_filter"] == {"owner_id": "$user"}  # stored as given: "$user" resolves per caller
    res = grant(env.owner, "sales", ["delete"])
    assert set(by_action(res)) == {"read", "update", "delete"}, "grants of other actions stay"
    # a grant without columns or row_filter: every column, every row (null or absent; not asserted further)
    assert not by_action(res)["delete"].get("columns")
    assert not by_action(res)["delete"].get("row_filter")


def test_grant_again_replaces_columns_and_filter(env):
    create_role(env.owner, "sales")
    fn(env.owner, "assign_role", U(env.alice), "sales")
    grant(env.owner, "sales", ["read"], {"columns": ["name"], "row_filter": {"owner_id": "$user"}})
    alice = env.as_(env.alice)
    assert names(query(alice)) == ["Alpha", "Alpha child"]
    res = grant(env.owner, "sales", ["read"], {"columns": ["amount"]})
    assert by_action(res)["read"]["columns"] == ["amount"]
    assert not by_action(res)["read"].get("row_filter")
    rows = query(alice)["rows"]
    assert len(rows) == 5, "the replaced grant has no row filter"
    assert all(set(r) == SYSTEM | {"amount"} for r in rows), "name is no longer readable"
    with raises(DENIED):
        query(alice, {"columns": ["name"]})


def test_grant_to_member_and_builtin_roles(env):
    res = grant(env.owner, "member", ["read"])
    assert res["role"] == "member"
    expect_codes([("owner", lambda: grant(env.owner, "owner", ["read"])),
                  ("admin", lambda: grant(env.owner, "admin", ["read"]))], "22023")


def test_grant_permission_errors(env):
    create_role(env.owner, "sales")
    o = env.owner
    expect_codes([
        ("bad action", lambda: grant(o, "sales", ["write"])),
        ("bad action among good", lambda: grant(o, "sales", ["read", "drop"])),
        ("action case", lambda: grant(o, "sales", ["READ"])),
        ("bad operator in row_filter", lambda: grant(o, "sales", ["read"], {"row_filter": {"amount": {"near": 1}}})),
        # natural reading: spec keys other than columns and row_filter are refused
        ("unknown spec key", lambda: grant(o, "sales", ["read"], {"rows": {}})),
    ], "22023")
    expect_codes([
        ("unknown column", lambda: grant(o, "sales", ["read"], {"columns": ["name", "nope"]})),
        ("unknown row_filter path", lambda: grant(o, "sales", ["read"], {"row_filter": {"nope": 1}})),
    ], "42703")
    with raises("42P01"):
        grant(o, "sales", ["read"], slug="nope")
    with raises("42704"):
        grant(o, "nobody", ["read"])
    # nothing of the failed grants is stored
    assert by_action(grant(o, "sales", ["create"])).keys() == {"create"}


def test_revoke_permission(env):
    create_role(env.owner, "sales")
    fn(env.owner, "assign_role", U(env.alice), "sales")
    grant(env.owner, "sales", ["read", "create"])
    alice = env.as_(env.alice)
    assert len(query(alice)["rows"]) == 5
    assert revoke(env.owner, "sales", ["read"]) in ("", None)  # void
    with raises(DENIED):
        query(alice)
    fn(alice, "create_record", "deals", {"name": "still allowed"})  # create needs no read
    assert one(env.owner, f"select count(*) from {env.schema}.deals where name = 'still allowed'") == 1
    revoke(env.owner, "sales", ["read", "update"])  # revoking what was not granted is no error
    assert check(env.owner, env.alice, "create") is True
    revoke(env.owner, "sales", ["create"])
    assert check(env.owner, env.alice, "create") is False


# --- assign_role / unassign_role --------------------------------------------------------

def test_assign_and_unassign_role(env):
    create_role(env.owner, "sales")
    grant(env.owner, "sales", ["read"])
    alice = env.as_(env.alice)
    with raises(DENIED):
        query(alice)
    assert fn(env.owner, "assign_role", U(env.alice), "sales") in ("", None)  # void
    fn(env.owner, "assign_role", U(env.alice), "sales")  # twice: a no-op
    assert names(query(alice)) == ALL_DEALS
    assert fn(env.owner, "unassign_role", U(env.alice), "sales") in ("", None)  # void
    with raises(DENIED):
        query(alice)
    with raises("P0002"):
        fn(env.owner, "unassign_role", U(env.alice), "sales")


def test_assign_role_errors(env):
    create_role(env.owner, "sales")
    o = env.owner
    with raises("23503"):
        fn(o, "assign_role", U(env.outsider), "sales")
    with raises("23503"):
        fn(o, "assign_role", uuid.uuid4(), "sales")
    with raises("42704"):
        fn(o, "assign_role", U(env.alice), "nope")
    expect_codes([(r, lambda r=r: fn(o, "assign_role", U(env.alice), r)) for r in ("owner", "admin", "member")],
                 "22023")
    with raises("P0002"):
        fn(o, "unassign_role", U(env.bob), "sales")


def test_nobody_assigns_a_role_to_themselves(env):
    create_role(env.owner, "sales")
    admin = env.as_(env.admin)
    with raises(DENIED):
        fn(admin, "assign_role", U(env.admin), "sales")
    with raises(DENIED):
        fn(env.owner, "assign_role", U(env.owner_id), "sales")
    fn(env.owner, "assign_role", U(env.admin), "sales")
    with raises(DENIED):
        fn(admin, "unassign_role", U(env.admin), "sales")
    # a member may neither assign to themselves nor to others
    alice = env.as_(env.alice)
    expect_codes([
        ("self", lambda: fn(alice, "assign_role", U(env.alice), "sales")),
        ("other", lambda: fn(alice, "assign_role", U(env.bob), "sales")),
        ("unassign other", lambda: fn(alice, "unassign_role", U(env.admin), "sales")),
    ], DENIED)
    assert check(env.owner, env.alice, "read") is False


# --- inheritance, the member role, combining grants -----------------------------------------

def test_roles_inherit_their_ancestors_grants(env):
    o = env.owner
    create_role(o, "sales")
    create_role(o, "sales_lead", "sales")
    create_role(o, "sales_vp", "sales_lead")
    grant(o, "sales", ["read"])
    grant(o, "sales_vp", ["create"])
    fn(o, "assign_role", U(env.alice), "sales_vp")   # grandchild: read from sales, create of its own
    fn(o, "assign_role", U(env.bob), "sales")        # parent: does not get the child's create
    alice, bob = env.as_(env.alice), env.as_(env.bob)
    assert names(query(alice)) == ALL_DEALS
    assert fn(alice, "create_record", "deals", {"name": "From Alice"})["name"] == "From Alice"
    assert len(query(bob)["rows"]) == 6
    with raises(DENIED):
        fn(bob, "create_record", "deals", {"name": "From Bob"})
    assert check(o, env.alice, "create") is True
    assert check(o, env.bob, "create") is False
    assert check(o, env.carol, "read") is False


def test_grants_to_member_apply_to_every_member(env):
    grant(env.owner, "member", ["read"], {"columns": ["name"]})
    for who in (env.alice, env.bob, env.carol):
        rows = query(env.as_(who))["rows"]
        assert sorted(r["name"] for r in rows) == ALL_DEALS
        assert all(set(r) == SYSTEM | {"name"} for r in rows)
    # a custom role whose parent is member inherits it
    create_role(env.owner, "staff", "member")
    grant(env.owner, "staff", ["read"], {"columns": ["amount"]})
    fn(env.owner, "assign_role", U(env.alice), "staff")
    assert all(set(r) == SYSTEM | {"name", "amount"} for r in query(env.as_(env.alice))["rows"])
    assert all(set(r) == SYSTEM | {"name"} for r in query(env.as_(env.bob))["rows"])


def test_grants_combine_columns_and_rows(env):
    """Rows matching any grant's filter; each cell readable where one grant covers its row and
    its column (cell by cell, issue 12: not the union of columns on the union of rows)."""
    o = env.owner
    create_role(o, "mine")
    grant(o, "mine", ["read"], {"columns": ["name", "amount"], "row_filter": {"owner_id": "$user"}})
    grant(o, "member", ["read"], {"columns": ["stage"], "row_filter": {"stage": "won"}})
    fn(o, "assign_role", U(env.alice), "mine")
    res = query(env.as_(env.alice))
    assert res["total"] == 3  # her own, or won
    assert all(set(r) == SYSTEM | {"name", "amount", "stage"} for r in res["rows"])
    cells = {r["id"]: (r["name"], r["amount"] is not None, r["stage"]) for r in res["rows"]}
    assert cells == {env.a1: ("Alpha", True, None),         # hers, not won: no stage
                     env.a2: ("Alpha child", True, "won"),  # hers and won: both grants
                     env.b1: (None, False, "won")}          # won, not hers: stage only
    # bob has only the member grant
    res = query(env.as_(env.bob))
    assert sorted(r["id"] for r in res["rows"]) == sorted([env.a2, env.b1])
    assert all(set(r) == SYSTEM | {"stage"} for r in res["rows"])


def test_grants_of_one_table_do_not_open_another(env):
    grant(env.owner, "member", ["read", "create", "update", "delete"])
    alice = env.as_(env.alice)
    assert len(query(alice)["rows"]) == 5
    expect_codes([
        ("query accounts", lambda: query(alice, slug="accounts")),
        ("get account", lambda: get(alice, env.acme, slug="accounts")),
        ("create account", lambda: fn(alice, "create_record", "accounts", {"name": "X"})),
        ("update account", lambda: update(alice, env.acme, {"name": "X"}, slug="accounts")),
        ("delete account", lambda: delete(alice, env.acme, slug="accounts")),
    ], DENIED)


# --- groups -----------------------------------------------------------------------------------

def test_group_roles_apply_to_group_members(env):
    o = env.owner
    create_role(o, "sales")
    create_role(o, "sales_lead", "sales")
    grant(o, "sales", ["read"], {"row_filter": {"owner_id": "$user"}})
    assert fn(o, "create_group", "eng") == {"name": "eng"}
    assert fn(o, "add_group_member", "eng", U(env.alice)) in ("", None)  # void
    fn(o, "add_group_member", "eng", U(env.alice))  # twice: a no-op
    fn(o, "add_group_member", "eng", U(env.bob))
    assert fn(o, "assign_group_role", "eng", "sales_lead") in ("", None)  # void; inherits sales
    assert names(query(env.as_(env.alice))) == ["Alpha", "Alpha child"]
    assert names(query(env.as_(env.bob))) == ["Bravo", "Bravo child"]
    with raises(DENIED):
        query(env.as_(env.carol))
    assert check(o, env.alice, "read") is True
    assert check(o, env.carol, "read") is False


def test_group_errors(env):
    o = env.owner
    create_role(o, "sales")
    fn(o, "create_group", "eng")
    with raises("42710"):
        fn(o, "create_group", "eng")
    expect_codes([(n, lambda n=n: fn(o, "create_group", n)) for n in ("Eng", "1eng", "eng-team", "")], "22023")
    expect_codes([
        ("add to unknown group", lambda: fn(o, "add_group_member", "nope", U(env.alice))),
        ("unknown group role", lambda: fn(o, "assign_group_role", "nope", "sales")),
        ("unknown role", lambda: fn(o, "assign_group_role", "eng", "nope")),
    ], "42704")
    expect_codes([
        ("outsider", lambda: fn(o, "add_group_member", "eng", U(env.outsider))),
        ("unknown user", lambda: fn(o, "add_group_member", "eng", uuid.uuid4())),
    ], "23503")


def test_nobody_adds_themselves_to_a_group(env):
    o = env.owner
    create_role(o, "sales")
    grant(o, "sales", ["read"])
    fn(o, "create_group", "eng")
    fn(o, "assign_group_role", "eng", "sales")
    expect_codes([
        ("admin self", lambda: fn(env.as_(env.admin), "add_group_member", "eng", U(env.admin))),
        ("owner self", lambda: fn(o, "add_group_member", "eng", U(env.owner_id))),
        ("member self", lambda: fn(env.as_(env.alice), "add_group_member", "eng", U(env.alice))),
    ], DENIED)
    with raises(DENIED):
        query(env.as_(env.alice))


def test_members_cannot_manage_permissions(env):
    """Escalation attempts by a member who already holds a role with some grants."""
    o = env.owner
    create_role(o, "sales")
    grant(o, "sales", ["read"])
    fn(o, "create_group", "eng")
    fn(o, "assign_role", U(env.alice), "sales")
    alice = env.as_(env.alice)
    expect_codes([
        ("create_role", lambda: create_role(alice, "mine")),
        ("create_role under member", lambda: create_role(alice, "mine2", "member")),
        ("grant more to own role", lambda: grant(alice, "sales", ["delete"])),
        ("grant what she holds", lambda: grant(alice, "sales", ["read"])),
        ("grant to member", lambda: grant(alice, "member", ["read"])),
        ("revoke", lambda: revoke(alice, "sales", ["read"])),
        ("assign to bob", lambda: fn(alice, "assign_role", U(env.bob), "sales")),
        ("create_group", lambda: fn(alice, "create_group", "mine")),
        ("add bob to group", lambda: fn(alice, "add_group_member", "eng", U(env.bob))),
        ("add self to group", lambda: fn(alice, "add_group_member", "eng", U(env.alice))),
        ("assign_group_role", lambda: fn(alice, "assign_group_role", "eng", "sales")),
    ], DENIED)
    # nothing changed
    assert check(o, env.alice, "delete") is False
    assert check(o, env.bob, "read") is False
    with raises(DENIED):
        delete(alice, env.a1)
    assert deal_count(env.owner, env) == 5


# --- check_permission ---------------------------------------------------------------------

def test_check_permission_for_owner_admin_and_members(env):
    o = env.owner
    grant(o, "member", ["read", "update"], {"row_filter": {"owner_id": "$user"}})
    for action in ("read", "create", "update", "delete"):
        assert check(o, env.owner_id, action) is True
        assert check(o, env.admin, action) is True
        assert check(o, env.admin, action, record=env.b1) is True
    assert check(o, env.alice, "read") is True
    assert check(o, env.alice, "update") is True
    assert check(o, env.alice, "create") is False
    assert check(o, env.alice, "delete") is False
    # with a record: it must exist and match the filter; "$user" is the user checked
    assert check(o, env.alice, "read", record=env.a1) is True
    assert check(o, env.alice, "read", record=env.b1) is False
    assert check(o, env.bob, "read", record=env.b1) is True
    assert check(o, env.alice, "update", record=env.u1) is False
    assert check(o, env.alice, "read", record=uuid.uuid4()) is False
    assert check(o, env.alice, "delete", record=env.a1) is False
    # not a member: false
    assert check(o, env.outsider, "read") is False
    assert check(o, uuid.uuid4(), "read") is False


def test_check_permission_by_a_member(env):
    grant(env.owner, "member", ["read"])
    alice = env.as_(env.alice)
    assert check(alice, env.alice, "read") is True
    assert check(alice, env.alice, "delete") is False
    assert check(alice, env.alice, "read", record=env.b1) is True
    with raises(DENIED):
        check(alice, env.bob, "read")
    with raises(DENIED):
        check(alice, env.owner_id, "delete")
    # an admin may check anyone
    assert check(env.as_(env.admin), env.bob, "read") is True


# --- enforcement: no grant at all --------------------------------------------------------

def every_call(conn, env):
    """One call of each record and query function on deals, valid for an owner."""
    return [
        ("get_record", lambda: get(conn, env.a1)),
        ("create_record", lambda: fn(conn, "create_record", "deals", {"name": "New"})),
        ("create_records", lambda: fn(conn, "create_records", "deals", [{"name": "New 1"}, {"name": "New 2"}])),
        ("update_record", lambda: update(conn, env.a1, {"amount": 1})),
        ("delete_record", lambda: delete(conn, env.u1)),
        ("query_table", lambda: query(conn)),
        ("query_kanban", lambda: fn(conn, "query_kanban", "deals", {"group_by": "stage"})),
        ("query_tree", lambda: fn(conn, "query_tree", "deals", {"parent": "parent_id"})),
        ("query_gantt", lambda: fn(conn, "query_gantt", "deals", {"start": "starts", "end": "ends", "label": "name"})),
        ("query_calendar", lambda: fn(conn, "query_calendar", "deals", {"start": "starts", "end": "ends",
                                                                        "label": "name", "from": "2000-01-01",
                                                                        "to": "2100-01-01"})),
        ("query_dropdown", lambda: fn(conn, "query_dropdown", "deals", {"label": "name"})),
        ("query_breadcrumb", lambda: fn(conn, "query_breadcrumb", "deals",
                                        {"id": env.a2, "parent": "parent_id", "label": "name"})),
        ("aggregate", lambda: fn(conn, "aggregate", "deals", {"metrics": {"n": "count"}})),
        ("explain_query", lambda: fn(conn, "explain_query", "deals", {})),
        ("record_history", lambda: fn(conn, "record_history", "deals", U(env.a1))),
        ("record_version", lambda: one(conn, "select docpal.record_version(%s, %s, %s)", "deals", U(env.a1), 1)),
        ("rollback_record", lambda: rollback(conn, env.a1, 1)),
    ]


def test_a_member_without_grants_is_denied_everything(env):
    before = env.owner.execute(f"select * from {env.schema}.deals order by id").fetchall()
    expect_codes(every_call(env.as_(env.carol), env), DENIED)
    assert env.owner.execute(f"select * from {env.schema}.deals order by id").fetchall() == before


def test_owner_and_admin_need_no_grants(env):
    for who in (env.owner_id, env.admin):
        conn = env.as_(who)
        rec = get(conn, env.a1)
        assert set(rec) == SYSTEM | DEAL_COLUMNS and rec["secret"] == "s-alpha"
        assert set(ALL_DEALS) <= set(names(query(conn)))
        misses = [(label, code_of(call)) for label, call in every_call(conn, env)]
        assert [m for m in misses if m[1] is not None] == []
        fn(env.owner, "restore_record", "deals", U(env.u1))  # deleted by the delete_record above


def test_admin_only_functions_refuse_members_with_every_grant(env):
    grant(env.owner, "member", ["read", "create", "update", "delete"])
    delete(env.owner, env.u1)
    alice = env.as_(env.alice)
    expect_codes([
        ("restore_record", lambda: fn(alice, "restore_record", "deals", U(env.u1))),
        ("rollback_table", lambda: one(alice, "select docpal.rollback_table(%s, now() - interval '1 day')", "deals")),
        ("create_table", lambda: fn(alice, "create_table", table("mine", {"name": "x", "type": "text"}))),
        ("alter_table", lambda: fn(alice, "alter_table", "deals", {"name": "Mine"})),
        ("add_column", lambda: fn(alice, "add_column", "deals", {"name": "extra", "type": "text"})),
        ("alter_column", lambda: fn(alice, "alter_column", "deals", "name", {"max_length": 5})),
        ("rename_column", lambda: fn(alice, "rename_column", "deals", "secret", "open")),
        ("drop_column", lambda: fn(alice, "drop_column", "deals", "secret")),
        ("drop_table", lambda: fn(alice, "drop_table", "deals")),
        ("create_type_list", lambda: fn(alice, "create_type_list", "colors", ["red"])),
        ("audit_report", lambda: fn(alice, "audit_report", {"kind": "changes"})),
        ("maintain_audit_log", lambda: one(alice, "select docpal.maintain_audit_log()")),
    ], DENIED)
    assert raw(env.owner, env, env.a1, "secret") == "s-alpha"
    assert fn(env.owner, "describe_table", "deals")["name"] == "Deals"
    # the admin may
    assert fn(env.as_(env.admin), "restore_record", "deals", U(env.u1))["name"] == "Unowned"


# --- enforcement: read columns --------------------------------------------------------------

@pytest.fixture
def limited(env):
    """alice may read name, starts and ends of every deal (no filter)."""
    grant(env.owner, "member", ["read"], {"columns": ["name", "starts", "ends"]})
    return env.as_(env.alice)


READABLE = SYSTEM | {"name", "starts", "ends"}


def test_unreadable_columns_are_left_out_of_records(env, limited):
    assert set(get(limited, env.a1)) == READABLE
    assert get(limited, env.a1)["name"] == "Alpha"
    res = query(limited, {"sort": ["name"]})
    assert res["total"] == 5 and [r["name"] for r in res["rows"]] == ALL_DEALS
    assert all(set(r) == READABLE for r in res["rows"])
    # system columns are always readable
    rows = query(limited, {"columns": ["id", "version", "created_by", "updated_at", "name"],
                           "filters": {"created_by": str(env.owner_id)}, "sort": ["-version", "name"]})["rows"]
    assert len(rows) == 5 and set(rows[0]) == {"id", "version", "created_by", "updated_at", "name"}
    nodes = fn(limited, "query_dropdown", "deals", {"label": "name"})["options"]
    assert [o["label"] for o in nodes] == ALL_DEALS
    tasks = fn(limited, "query_gantt", "deals", {"start": "starts", "end": "ends", "label": "name",
                                                 "filters": {"starts": {"is_null": False}}})["tasks"]
    assert sorted(t["label"] for t in tasks) == ["Alpha", "Alpha child", "Bravo", "Bravo child"]
    assert fn(limited, "aggregate", "deals", {"metrics": {"n": "count"}})["groups"] == [{"n": 5}]
    with raises(DENIED):  # explain_query is for owners and admins (issue 12: it spells out row filters)
        fn(limited, "explain_query", "deals", {"columns": ["name"]})


def test_unreadable_record_history_and_versions_leave_the_column_out(env, limited):
    update(env.owner, env.a1, {"amount": 150, "secret": "s-changed", "name": "Alpha 2"})
    history = fn(limited, "record_history", "deals", U(env.a1))
    assert [e["action"] for e in history] == ["INSERT", "UPDATE"]
    text = json.dumps(history, default=str)
    for value in ("s-alpha", "s-changed"):
        assert value not in text, f"unreadable value {value!r} leaked through record_history"
    for entry in history:
        for image in (entry.get("old"), entry.get("new")):
            if image:
                assert not set(image) & {"secret", "amount", "stage", "owner_id", "account_id"}, image
        assert "secret" not in (entry.get("changed") or [])  # natural reading: left out of changed too
    assert "name" in history[1]["changed"]
    assert history[1]["summary"] is None, "the summary names secret: null"
    v1 = one(limited, "select docpal.record_version(%s, %s, %s)", "deals", U(env.a1), 1)
    assert v1["name"] == "Alpha" and "secret" not in v1 and "amount" not in v1


def test_naming_an_unreadable_column_is_denied(env, limited):
    c = limited
    q = lambda spec: (lambda: query(c, spec))  # noqa: E731
    view = lambda name, spec: (lambda: fn(c, name, "deals", spec))  # noqa: E731
    gantt = {"start": "starts", "end": "ends", "label": "name"}
    expect_codes([
        ("columns", q({"columns": ["name", "secret"]})),
        ("columns relation_many", q({"columns": ["blockers"]})),
        ("filters", q({"filters": {"secret": "s-alpha"}})),
        ("filter operator", q({"filters": {"amount": {"gt": 100}}})),
        ("filter is_null", q({"filters": {"secret": {"is_null": False}}})),
        ("filter in _or", q({"filters": {"_or": [{"name": "Alpha"}, {"secret": "s-bravo"}]}})),
        ("filter in _and", q({"filters": {"_and": [{"name": "Alpha"}, {"amount": 100}]}})),
        ("filter in _not", q({"filters": {"_not": {"secret": "s-alpha"}}})),
        ("filter on owner_id", q({"filters": {"owner_id": str(env.alice)}})),
        ("sort", q({"sort": ["-amount"]})),
        ("sort among others", q({"sort": ["name", "secret"]})),
        ("kanban group_by", view("query_kanban", {"group_by": "stage"})),
        ("kanban relation", view("query_kanban", {"group_by": "account_id"})),
        ("tree parent", view("query_tree", {"parent": "parent_id"})),
        ("gantt label", view("query_gantt", {**gantt, "label": "secret"})),
        ("gantt dependencies", view("query_gantt", {**gantt, "dependencies": "blockers"})),
        ("gantt filter", view("query_gantt", {**gantt, "filters": {"stage": "won"}})),
        ("dropdown label", view("query_dropdown", {"label": "secret"})),
        ("dropdown filter", view("query_dropdown", {"label": "name", "filters": {"amount": {"gt": 1}}})),
        ("breadcrumb parent", view("query_breadcrumb", {"id": env.a2, "parent": "parent_id", "label": "name"})),
        ("aggregate group_by", view("aggregate", {"group_by": ["stage"], "metrics": {"n": "count"}})),
        ("aggregate sum", view("aggregate", {"metrics": {"total": {"sum": "amount"}}})),
        ("aggregate count_distinct", view("aggregate", {"metrics": {"n": {"count_distinct": "secret"}}})),
        ("aggregate count_if", view("aggregate", {"metrics": {"n": {"count_if": {"secret": "s-alpha"}}}})),
        ("aggregate sum_if", view("aggregate", {"metrics": {"n": {"sum_if": ["amount", {}]}}})),
        ("aggregate count_if in _or", view("aggregate", {"metrics": {"p": {"percentile": ["starts", 0.5]},
                                                                     "n": {"count_if": {"_or": [{"name": "x"},
                                                                                                {"stage": "won"}]}}}})),
        ("aggregate percentile", view("aggregate", {"metrics": {"p": {"percentile": ["amount", 0.5]}}})),
        ("calendar label", view("query_calendar", {**gantt, "label": "secret", "from": "2026-01-01",
                                                   "to": "2026-12-31"})),
        ("calendar color", view("query_calendar", {**gantt, "color": "stage", "from": "2026-01-01",
                                                   "to": "2026-12-31"})),
        ("kanban lane_label", view("query_kanban", {"group_by": "account_id", "lane_label": "name"})),
        ("aggregate filter", view("aggregate", {"metrics": {"n": "count"}, "filters": {"secret": "s-alpha"}})),
        ("explain columns", view("explain_query", {"columns": ["secret"]})),
        ("explain filter", view("explain_query", {"filters": {"amount": 1}})),
    ], DENIED)


def test_views_leave_unreadable_columns_out_of_default_rows(env):
    grant(env.owner, "member", ["read"], {"columns": ["name", "stage", "parent_id"]})
    alice = env.as_(env.alice)
    visible = SYSTEM | {"name", "stage", "parent_id"}
    lanes = fn(alice, "query_kanban", "deals", {"group_by": "stage", "sort": ["name"]})["groups"]
    assert [(g["value"], g["count"]) for g in lanes] == [("new", 2), ("won", 2), ("lost", 1)]
    assert all(set(r) == visible for g in lanes for r in g["rows"])
    nodes = fn(alice, "query_tree", "deals", {"parent": "parent_id", "sort": ["name"]})["nodes"]
    assert tree_shape(nodes) == [("Alpha", [("Alpha child", [])]), ("Bravo", [("Bravo child", [])]),
                                 ("Unowned", [])]
    assert set(nodes[0]) - {"children"} == visible
    assert set(nodes[0]["children"][0]) - {"children"} == visible
    path = fn(alice, "query_breadcrumb", "deals", {"id": env.b2, "parent": "parent_id", "label": "name"})["path"]
    assert [p["label"] for p in path] == ["Bravo", "Bravo child"]


# --- enforcement: relation paths -------------------------------------------------------------

def test_relation_paths_into_an_unreadable_table_are_denied(env):
    grant(env.owner, "member", ["read"])  # every column of deals, nothing on accounts
    alice = env.as_(env.alice)
    rows = query(alice, {"columns": ["name", "account_id"], "filters": {"name": "Alpha"}})["rows"]
    assert rows == [{"name": "Alpha", "account_id": env.acme}]  # the id itself is a deals column
    cases = lambda: [  # noqa: E731
        ("columns", lambda: query(alice, {"columns": ["name", "account_id.name"]})),
        ("filters", lambda: query(alice, {"filters": {"account_id.name": "Acme"}})),
        ("sort", lambda: query(alice, {"sort": ["account_id.name"]})),
        ("deep path", lambda: query(alice, {"columns": ["parent_id.account_id.name"]})),
        ("dropdown label", lambda: fn(alice, "query_dropdown", "deals", {"label": "account_id.name"})),
        ("aggregate group_by", lambda: fn(alice, "aggregate", "deals",
                                          {"group_by": ["account_id.name"], "metrics": {"n": "count"}})),
        ("explain", lambda: fn(alice, "explain_query", "deals", {"columns": ["account_id.name"]})),
    ]
    expect_codes(cases(), DENIED)
    # readable table, unreadable column: still denied; the readable column works
    grant(env.owner, "member", ["read"], {"columns": ["region"]}, slug="accounts")
    expect_codes(cases(), DENIED)
    rows = query(alice, {"columns": ["name", "account_id.region"], "filters": {"account_id.region": "EU"},
                         "sort": ["name"]})["rows"]
    assert rows == [{"name": "Alpha", "account_id.region": "EU"}, {"name": "Bravo", "account_id.region": "EU"}]


def test_relation_paths_honour_the_targets_row_filter(env):
    """Natural reading (as Hasura or Directus do): a row of the target outside
    the reader's row filter is not there through a relation path either."""
    grant(env.owner, "member", ["read"])
    grant(env.owner, "member", ["read"], {"row_filter": {"region": "US"}}, slug="accounts")
    alice = env.as_(env.alice)
    rows = query(alice, {"columns": ["name", "account_id.name"], "filters": {"account_id": {"is_null": False}},
                         "sort": ["name"]})["rows"]
    assert rows == [{"name": "Alpha", "account_id.name": None}, {"name": "Alpha child", "account_id.name": "Globex"},
                    {"name": "Bravo", "account_id.name": None}]
    assert query(alice, {"filters": {"account_id.name": "Acme"}})["total"] == 0
    assert fn(alice, "aggregate", "deals", {"group_by": ["account_id.name"], "metrics": {"n": "count"}})["groups"] == [
        {"account_id.name": "Globex", "n": 1}, {"account_id.name": None, "n": 4}]


def test_search_does_not_reach_unreadable_columns(env, limited):
    update(env.owner, env.b1, {"secret": "zebra"})
    assert [r["name"] for r in query(env.owner, {"search": "zebra"})["rows"]] == ["Bravo"]
    # the table's searchable columns include secret, which alice may not read: 42501 (finding Bravo would leak)
    expect_codes([("search zebra", lambda: query(limited, {"search": "zebra"})),
                  ("search bravo", lambda: query(limited, {"search": "bravo"})),
                  ("search with columns", lambda: query(limited, {"search": "zebra", "columns": ["name"]}))], DENIED)
    # with every searchable column readable, search works
    grant(env.owner, "member", ["read"], {"columns": ["name", "secret"]})
    assert [r["name"] for r in query(limited, {"search": "zebra"})["rows"]] == ["Bravo"]


# --- enforcement: row filters -----------------------------------------------------------------

@pytest.fixture
def own_rows(env):
    """Every member reads only the deals they own ("$user")."""
    grant(env.owner, "member", ["read"], {"row_filter": {"owner_id": "$user"}})
    return env.as_(env.alice)


def test_row_filter_with_user_per_caller(env, own_rows):
    res = query(own_rows, {"sort": ["name"]})
    assert [r["name"] for r in res["rows"]] == ["Alpha", "Alpha child"] and res["total"] == 2
    assert set(res["rows"][0]) == SYSTEM | DEAL_COLUMNS
    res = query(env.as_(env.bob), {"sort": ["name"]})
    assert [r["name"] for r in res["rows"]] == ["Bravo", "Bravo child"] and res["total"] == 2
    assert query(env.as_(env.carol))["rows"] == []
    # the owner sees everything
    assert query(env.owner)["total"] == 5


def test_rows_outside_the_filter_are_invisible_by_id(env, own_rows):
    a = own_rows
    assert get(a, env.a1)["secret"] == "s-alpha"
    assert get(a, env.b1) is None
    assert get(a, env.u1) is None
    assert query(a, {"filters": {"id": env.b1}}) == {"rows": [], "total": 0}
    assert query(a, {"filters": {"id": {"in": [env.b1, env.a1]}}})["total"] == 1
    # an explicit filter cannot widen the row filter
    assert query(a, {"filters": {"_or": [{"owner_id": str(env.bob)}, {"owner_id": {"is_null": True}}]}})["total"] == 0
    assert query(a, {"filters": {"_not": {"owner_id": str(env.alice)}}})["total"] == 0
    assert fn(a, "record_history", "deals", U(env.b1)) == []
    assert one(a, "select docpal.record_version(%s, %s, %s)", "deals", U(env.b1), 1) is None
    with raises("P0002"):  # natural reading: an invisible record does not exist for query_breadcrumb
        fn(a, "query_breadcrumb", "deals", {"id": env.b2, "parent": "parent_id", "label": "name"})


def test_row_filter_applies_to_every_view(env, own_rows):
    a = own_rows
    lanes = fn(a, "query_kanban", "deals", {"group_by": "stage", "sort": ["name"], "columns": ["name"]})["groups"]
    assert [(g["value"], g["count"], [r["name"] for r in g["rows"]]) for g in lanes] == [
        ("new", 1, ["Alpha"]), ("won", 1, ["Alpha child"]), ("lost", 0, [])]
    nodes = fn(a, "query_tree", "deals", {"parent": "parent_id", "sort": ["name"]})["nodes"]
    assert tree_shape(nodes) == [("Alpha", [("Alpha child", [])])]
    tasks = fn(a, "query_gantt", "deals", {"start": "starts", "end": "ends", "label": "name",
                                           "dependencies": "blockers"})["tasks"]
    assert [(t["label"], t["dependencies"]) for t in tasks] == [("Alpha", []), ("Alpha child", [env.a1])]
    options = fn(a, "query_dropdown", "deals", {"label": "name"})["options"]
    assert [(o["id"], o["label"]) for o in options] == [(env.a1, "Alpha"), (env.a2, "Alpha child")]
    path = fn(a, "query_breadcrumb", "deals", {"id": env.a2, "parent": "parent_id", "label": "name"})["path"]
    assert path == [{"id": env.a1, "label": "Alpha"}, {"id": env.a2, "label": "Alpha child"}]
    groups = fn(a, "aggregate", "deals", {"group_by": ["stage"], "metrics": {"n": "count", "total": {"sum": "amount"}}})
    assert [(g["stage"], g["n"], Decimal(str(g["total"]))) for g in groups["groups"]] == [
        ("new", 1, Decimal("100")), ("won", 1, Decimal("50"))]
    total = fn(a, "aggregate", "deals", {"metrics": {"n": "count", "total": {"sum": "amount"}}})["groups"]
    assert [(g["n"], Decimal(str(g["total"]))) for g in total] == [(2, Decimal("150"))]
    # explain_query would spell out the row filter: for owners and admins only (issue 12)
    with raises(DENIED):
        fn(a, "explain_query", "deals", {})


def test_user_anywhere_in_the_row_filter(env):
    o = env.owner
    create_role(o, "mine_or_won")
    create_role(o, "in_list")
    grant(o, "mine_or_won", ["read"], {"row_filter": {"_or": [{"owner_id": "$user"}, {"stage": "won"}]}})
    grant(o, "in_list", ["read"], {"row_filter": {"owner_id": {"in": ["$user"]}}})
    fn(o, "assign_role", U(env.alice), "mine_or_won")
    fn(o, "assign_role", U(env.bob), "in_list")
    assert names(query(env.as_(env.alice))) == ["Alpha", "Alpha child", "Bravo"]
    assert names(query(env.as_(env.bob))) == ["Bravo", "Bravo child"]


def test_row_filter_on_created_by(env):
    o = env.owner
    grant(o, "member", ["read", "create"], {"row_filter": {"created_by": "$user"}})
    alice, bob = env.as_(env.alice), env.as_(env.bob)
    assert query(alice)["rows"] == []
    mine = fn(alice, "create_record", "deals", {"name": "Mine"})
    fn(bob, "create_record", "deals", {"name": "Bob's"})
    assert names(query(alice)) == ["Mine"]
    assert names(query(bob)) == ["Bob's"]
    assert get(bob, mine["id"]) is None


def test_row_filter_may_use_relation_paths(env):
    grant(env.owner, "member", ["read"], {"row_filter": {"account_id.region": "EU"}})
    grant(env.owner, "member", ["read"], slug="accounts")
    alice = env.as_(env.alice)
    assert names(query(alice)) == ["Alpha", "Bravo"]
    assert get(alice, env.a2) is None


# --- enforcement: writes ------------------------------------------------------------------------

def test_create_needs_the_grant_and_writable_columns(env):
    o = env.owner
    grant(o, "member", ["read"])
    alice = env.as_(env.alice)
    with raises(DENIED):
        fn(alice, "create_record", "deals", {"name": "No grant"})
    grant(o, "member", ["create"], {"columns": ["name", "amount", "owner_id"]})
    rec = fn(alice, "create_record", "deals", {"name": "Mine", "amount": 5, "owner_id": str(env.alice)})
    assert (rec["name"], rec["amount"], rec["created_by"]) == ("Mine", 5, str(env.alice))
    recs = fn(alice, "create_records", "deals", [{"name": "M1"}, {"name": "M2", "amount": 1}])
    assert [r["name"] for r in recs] == ["M1", "M2"]
    assert deal_count(o, env) == 8
    expect_codes([
        ("create secret", lambda: fn(alice, "create_record", "deals", {"name": "Bad", "secret": "x"})),
        ("create null secret", lambda: fn(alice, "create_record", "deals", {"name": "Bad", "secret": None})),
        ("create stage", lambda: fn(alice, "create_record", "deals", {"name": "Bad", "stage": "won"})),
        ("create relation_many", lambda: fn(alice, "create_record", "deals", {"name": "Bad", "blockers": []})),
        ("create_records one bad row", lambda: fn(alice, "create_records", "deals",
                                                   [{"name": "ok"}, {"name": "bad", "secret": "x"}])),
    ], DENIED)
    assert deal_count(o, env) == 8, "a denied create writes nothing (all or nothing)"


def test_written_records_come_back_with_readable_columns_only(env):
    """Natural reading: the record a write returns is read like get_record, so
    a write-only column is not echoed back."""
    o = env.owner
    grant(o, "member", ["read"], {"columns": ["name"]})
    grant(o, "member", ["create", "update", "delete"], {"columns": ["name", "secret"]})
    alice = env.as_(env.alice)
    rec = fn(alice, "create_record", "deals", {"name": "W", "secret": "write-only"})
    assert set(rec) == SYSTEM | {"name"}
    assert one(o, f"select secret from {env.schema}.deals where id = %s", U(rec["id"])) == "write-only"
    recs = fn(alice, "create_records", "deals", [{"name": "W2", "secret": "w2"}])
    assert set(recs[0]) == SYSTEM | {"name"}
    rec = update(alice, rec["id"], {"secret": "changed"})
    assert set(rec) == SYSTEM | {"name"} and rec["version"] == 2
    assert set(delete(alice, rec["id"])) == SYSTEM | {"name"}
    # an update that changes nothing must not become a way to read a row's other columns
    rec = update(alice, env.a1, {"name": "Alpha"})
    assert rec["name"] == "Alpha" and "amount" not in rec and "secret" not in rec, rec


def test_create_columns_are_the_union_of_create_grants(env):
    o = env.owner
    create_role(o, "sales")
    grant(o, "member", ["create"], {"columns": ["name"]})
    grant(o, "sales", ["create"], {"columns": ["amount"]})
    grant(o, "sales", ["read"], {"columns": ["secret"]})  # a read grant writes nothing
    fn(o, "assign_role", U(env.alice), "sales")
    alice = env.as_(env.alice)
    created = fn(alice, "create_record", "deals", {"name": "Both", "amount": 2})
    # alice reads only secret: the record comes back without name and amount
    assert created["id"] and "name" not in created and "amount" not in created
    assert one(o, "select docpal.get_record('deals', %s)->>'name'", U(created["id"])) == "Both"
    with raises(DENIED):
        fn(alice, "create_record", "deals", {"name": "Bad", "secret": "x"})
    with raises(DENIED):
        fn(env.as_(env.bob), "create_record", "deals", {"name": "Bob", "amount": 2})


def test_update_needs_the_grant_writable_columns_and_rows(env):
    o = env.owner
    grant(o, "member", ["read"])  # every row is visible...
    alice = env.as_(env.alice)
    with raises(DENIED):
        update(alice, env.a1, {"amount": 1})
    # ...but only her own rows may be updated, and only name and amount
    grant(o, "member", ["update"], {"columns": ["name", "amount"], "row_filter": {"owner_id": "$user"}})
    rec = update(alice, env.a1, {"amount": 101, "name": "Alpha!"})
    assert (rec["amount"], rec["name"], rec["version"], rec["updated_by"]) == (101, "Alpha!", 2, str(env.alice))
    expect_codes([
        ("secret", lambda: update(alice, env.a1, {"secret": "mine"})),
        ("secret with allowed", lambda: update(alice, env.a1, {"amount": 5, "secret": "mine"})),
        ("owner_id (give away)", lambda: update(alice, env.a1, {"owner_id": str(env.bob)})),
        ("parent", lambda: update(alice, env.a2, {"parent_id": None})),
    ], DENIED)
    expect_codes([
        ("bob's row", lambda: update(alice, env.b1, {"amount": 1})),
        ("unowned row", lambda: update(alice, env.u1, {"amount": 1})),
        ("missing row", lambda: update(alice, uuid.uuid4(), {"amount": 1})),
    ], "P0002")
    assert raw(o, env, env.a1, "secret") == "s-alpha"
    assert raw(o, env, env.a1, "amount") == Decimal("101")
    assert raw(o, env, env.a1, "version") == 2
    assert raw(o, env, env.b1, "amount") == Decimal("200") and raw(o, env, env.b1, "version") == 1
    assert raw(o, env, env.u1, "amount") == Decimal("10")


def test_delete_needs_the_grant_and_rows(env):
    o = env.owner
    grant(o, "member", ["read"])
    alice = env.as_(env.alice)
    with raises(DENIED):
        delete(alice, env.a2)
    grant(o, "member", ["delete"], {"row_filter": {"owner_id": "$user"}})
    expect_codes([
        ("bob's row", lambda: delete(alice, env.b2)),
        ("unowned row", lambda: delete(alice, env.u1)),
        ("missing row", lambda: delete(alice, uuid.uuid4())),
    ], "P0002")
    assert deal_count(o, env) == 5
    assert delete(alice, env.a2)["name"] == "Alpha child"
    assert deal_count(o, env) == 4
    assert one(o, f"select count(*) from {env.schema}.deals where id = %s", U(env.a2)) == 0


def test_update_invisible_to_the_read_filter_is_not_found(env):
    """With update but reads limited to her rows, another's row is still P0002."""
    o = env.owner
    grant(o, "member", ["read"], {"row_filter": {"owner_id": "$user"}})
    grant(o, "member", ["update", "delete"], {"row_filter": {"owner_id": "$user"}})
    bob = env.as_(env.bob)
    with raises("P0002"):
        update(bob, env.a1, {"name": "Hijacked"})
    with raises("P0002"):
        delete(bob, env.a1)
    assert update(bob, env.b1, {"name": "Bravo!"})["name"] == "Bravo!"
    assert raw(o, env, env.a1, "name") == "Alpha"


def test_rollback_record_needs_update_on_the_row_and_columns(env):
    o = env.owner
    update(o, env.a1, {"amount": 150, "secret": "s-new"})
    update(o, env.b1, {"amount": 250})
    grant(o, "member", ["read"])
    alice = env.as_(env.alice)
    with raises(DENIED):
        rollback(alice, env.a1, 1, ["amount"])
    grant(o, "member", ["update"], {"columns": ["name", "amount"], "row_filter": {"owner_id": "$user"}})
    with raises(DENIED):
        rollback(alice, env.a1, 1, ["secret"])
    with raises(DENIED):  # natural reading: a whole-record rollback writes secret too
        rollback(alice, env.a1, 1)
    with raises("P0002"):
        rollback(alice, env.b1, 1, ["amount"])
    assert raw(o, env, env.a1, "secret") == "s-new" and raw(o, env, env.b1, "amount") == Decimal("250")
    rec = rollback(alice, env.a1, 1, ["amount"])
    assert rec["amount"] == 100 and rec["secret"] == "s-new" and rec["version"] == 3
    assert raw(o, env, env.a1, "amount") == Decimal("100")


def test_inherited_and_group_grants_enforce_writes(env):
    o = env.owner
    create_role(o, "editor")
    create_role(o, "senior", "editor")
    grant(o, "editor", ["read", "update"], {"columns": ["name"], "row_filter": {"stage": "new"}})
    fn(o, "create_group", "team")
    fn(o, "assign_group_role", "team", "senior")
    fn(o, "add_group_member", "team", U(env.carol))
    carol = env.as_(env.carol)
    assert names(query(carol)) == ["Alpha", "Unowned"]
    assert update(carol, env.u1, {"name": "Renamed"})["name"] == "Renamed"
    with raises("P0002"):
        update(carol, env.b1, {"name": "Nope"})
    with raises(DENIED):
        update(carol, env.a1, {"amount": 1})
    with raises(DENIED):
        fn(carol, "create_record", "deals", {"name": "Nope"})
