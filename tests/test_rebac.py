"""Relationship-based access (ReBAC): contract section 6, docs/reference.md
"Relationship-based access (ReBAC)" and the sections after it.

define_relations (rules per object type), relate / unrelate (tuples
object#relation@subject), check_relation and lookup_objects: nested folders,
subject sets and nested groups, permissions built from other permissions,
cycles, the depth bound (54000, fail closed), sorting of lookups and the
isolation of companies. Black-box: only the public functions.

Cast: the company owner (manages rules and tuples), an admin (may too), the
company member (may only check and look up). Subjects and objects are plain
`type:id` strings: they need not be docpal users.
"""

from __future__ import annotations

from itertools import pairwise
from types import SimpleNamespace

import psycopg
import pytest
from psycopg.types.json import Jsonb

from conftest import SERVICE_LOGIN, unique_slug
from helpers import expect_codes, one, raises, set_context

DENIED = "42501"
MALFORMED = "22023"
MISSING = "P0002"
TOO_DEEP = "54000"

#: the rules of the brief: folders and documents alike
TREE_RULES = {"viewer": ["viewer", "editor", "parent->viewer"],
              "editor": ["editor", "owner", "parent->editor"],
              "owner": ["owner"]}


# --- helpers -------------------------------------------------------------------------------

def define(conn, object_type, rules):
    return one(conn, "select docpal.define_relations(%s, %s)", object_type, Jsonb(rules))


def relate(conn, subject, relation, obj):
    conn.execute("select docpal.relate(%s, %s, %s)", (subject, relation, obj))


def unrelate(conn, subject, relation, obj):
    conn.execute("select docpal.unrelate(%s, %s, %s)", (subject, relation, obj))


def check(conn, subject, permission, obj):
    return one(conn, "select docpal.check_relation(%s, %s, %s)", subject, permission, obj)


def lookup(conn, subject, permission, object_type):
    return one(conn, "select docpal.lookup_objects(%s, %s, %s)", subject, permission, object_type)


def chain(conn, prefix, n, relation="parent"):
    """Objects prefix:00 .. prefix:(n-1), each one's `relation` pointing at the next:
    returns the list, bottom first."""
    objs = [f"{prefix}{i:02d}" for i in range(n)]
    for child, parent in pairwise(objs):
        relate(conn, parent, relation, child)
    return objs


@pytest.fixture
def env(db, connect, company):
    """Owner context on `db`, plus service connections acting as an admin and as
    the company's member; every connection gives up on a runaway statement."""
    owner = set_context(db, company, company["owner"])
    admin_id = one(db, "select docpal.create_user(%s, 'Admin')", f"admin-{company['slug']}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'admin')", (company["id"], admin_id))
    admin = set_context(connect(SERVICE_LOGIN), company, admin_id)
    member = set_context(connect(SERVICE_LOGIN), company, company["member"])
    for conn in (owner, admin, member):
        conn.execute("set statement_timeout = '20s'")  # a check that never ends fails (57014) instead of hanging
    return SimpleNamespace(owner=owner, admin=admin, member=member, company=company)


# --- define_relations ----------------------------------------------------------------------

def test_define_relations_returns_type_and_rules(env):
    assert define(env.owner, "doc", TREE_RULES) == {"object_type": "doc", "rules": TREE_RULES}
    rules = {"can_read": ["reader", "can_write"], "can_write": ["writer"]}
    assert define(env.owner, "report", rules) == {"object_type": "report", "rules": rules}


def test_define_relations_replaces_the_rules(env):
    define(env.owner, "doc", {"viewer": ["viewer"]})
    relate(env.owner, "user:ed", "editor", "doc:1")
    assert check(env.owner, "user:ed", "viewer", "doc:1") is False
    define(env.owner, "doc", {"viewer": ["viewer", "editor"]})
    assert check(env.owner, "user:ed", "viewer", "doc:1") is True
    define(env.owner, "doc", {"viewer": ["viewer"]})
    assert check(env.owner, "user:ed", "viewer", "doc:1") is False
    # a permission dropped from the rules is the stored relation again
    relate(env.owner, "user:rae", "reader", "doc:1")
    define(env.owner, "doc", {"reader": ["reader", "viewer"], "viewer": ["viewer"]})
    relate(env.owner, "user:vi", "viewer", "doc:1")
    assert check(env.owner, "user:vi", "reader", "doc:1") is True
    define(env.owner, "doc", {"viewer": ["viewer"]})
    assert check(env.owner, "user:vi", "reader", "doc:1") is False
    assert check(env.owner, "user:rae", "reader", "doc:1") is True


BAD_RULES = [
    [], "viewer", 1, None, True,
    {"viewer": "viewer"}, {"viewer": {"viewer": True}}, {"viewer": None},
    {"viewer": [1]}, {"viewer": [None]}, {"viewer": [["viewer"]]}, {"viewer": [""]},
    {"Viewer": ["viewer"]}, {"": ["viewer"]}, {"view er": ["viewer"]}, {"1viewer": ["viewer"]},
    {"viewer": ["Viewer"]}, {"viewer": ["view er"]}, {"viewer": ["a#b"]}, {"viewer": ["doc:1"]},
    {"viewer": ["viewer; drop table x"]}, {"viewer": ["viewer'"]}, {"v" * 64: ["viewer"]},
    {"viewer": ["parent->"]}, {"viewer": ["->viewer"]}, {"viewer": ["parent->Viewer"]},
    {"viewer": ["a->b->c"]}, {"viewer": ["parent -> viewer"]}, {"viewer": ["parent=>viewer"]},
]


def test_define_relations_rejects_malformed_rules(env):
    define(env.owner, "doc", {"viewer": ["viewer", "editor"]})
    expect_codes([(repr(rules), lambda rules=rules: define(env.owner, "doc", rules)) for rules in BAD_RULES],
                 MALFORMED)
    # the rules in force are unchanged
    relate(env.owner, "user:ed", "editor", "doc:1")
    assert check(env.owner, "user:ed", "viewer", "doc:1") is True


def test_define_relations_rejects_a_malformed_object_type(env):
    bad = ["", "Doc", "doc:1", "do c", "1doc", "doc#x", "d" * 64, "doc'", "-doc"]
    expect_codes([(t, lambda t=t: define(env.owner, t, {"viewer": ["viewer"]})) for t in bad], MALFORMED)


def test_only_owners_and_admins_manage_relations(env):
    define(env.owner, "doc", {"viewer": ["viewer"]})
    relate(env.owner, "user:v", "viewer", "doc:1")
    m = env.member
    expect_codes([
        ("define_relations", lambda: define(m, "doc", {"viewer": ["viewer", "editor"]})),
        ("define_relations new type", lambda: define(m, "folder", {"viewer": ["viewer"]})),
        ("relate", lambda: relate(m, "user:m", "viewer", "doc:1")),
        ("relate self", lambda: relate(m, f"user:{env.company['member']}", "viewer", "doc:1")),
        ("unrelate", lambda: unrelate(m, "user:v", "viewer", "doc:1")),
    ], DENIED)
    relate(env.owner, "user:ed", "editor", "doc:1")
    assert check(env.owner, "user:ed", "viewer", "doc:1") is False  # rules unchanged
    assert check(env.owner, "user:m", "viewer", "doc:1") is False  # not related
    assert check(env.owner, "user:v", "viewer", "doc:1") is True  # not unrelated
    # an admin may do all of it
    assert define(env.admin, "doc", {"viewer": ["viewer", "editor"]})["object_type"] == "doc"
    relate(env.admin, "user:a", "viewer", "doc:2")
    unrelate(env.admin, "user:v", "viewer", "doc:1")
    assert check(env.admin, "user:ed", "viewer", "doc:1") is True
    assert check(env.admin, "user:a", "viewer", "doc:2") is True
    assert check(env.admin, "user:v", "viewer", "doc:1") is False


def test_any_member_may_check_and_look_up(env):
    define(env.owner, "doc", {"viewer": ["viewer", "editor"]})
    relate(env.owner, "user:ed", "editor", "doc:1")
    assert check(env.member, "user:ed", "viewer", "doc:1") is True
    assert check(env.member, "user:nobody", "viewer", "doc:1") is False
    assert lookup(env.member, "user:ed", "viewer", "doc") == ["doc:1"]


def test_without_context_everything_is_refused(connect, env):
    define(env.owner, "doc", {"viewer": ["viewer"]})
    relate(env.owner, "user:v", "viewer", "doc:1")
    bare = connect(SERVICE_LOGIN)
    expect_codes([
        ("define_relations", lambda: define(bare, "doc", {"viewer": ["viewer"]})),
        ("relate", lambda: relate(bare, "user:x", "viewer", "doc:1")),
        ("unrelate", lambda: unrelate(bare, "user:v", "viewer", "doc:1")),
        ("check_relation", lambda: check(bare, "user:v", "viewer", "doc:1")),
        ("lookup_objects", lambda: lookup(bare, "user:v", "viewer", "doc")),
    ], DENIED)
    assert check(env.owner, "user:v", "viewer", "doc:1") is True


# --- relate / unrelate -----------------------------------------------------------------------

def test_relate_twice_changes_nothing_and_unrelate_removes(env):
    o = env.owner
    relate(o, "user:ann", "viewer", "doc:1")
    relate(o, "user:ann", "viewer", "doc:1")  # no error, no second tuple
    assert check(o, "user:ann", "viewer", "doc:1") is True
    assert lookup(o, "user:ann", "viewer", "doc") == ["doc:1"]
    unrelate(o, "user:ann", "viewer", "doc:1")
    assert check(o, "user:ann", "viewer", "doc:1") is False
    with raises(MISSING):
        unrelate(o, "user:ann", "viewer", "doc:1")


def test_unrelate_of_a_missing_tuple_is_not_found(env):
    o = env.owner
    relate(o, "user:ann", "viewer", "doc:1")
    relate(o, "group:eng#member", "viewer", "doc:1")
    cases = [("user:bob", "viewer", "doc:1"),   # other subject
             ("user:ann", "editor", "doc:1"),   # other relation
             ("user:ann", "viewer", "doc:2"),   # other object
             ("user:ann", "viewer", "folder:1"),  # other object type
             ("group:eng", "viewer", "doc:1"),  # the set's object, not the set
             ("group:eng#admin", "viewer", "doc:1"),  # another set of that object
             ("user:ann#member", "viewer", "doc:1")]
    expect_codes([(repr(c), lambda c=c: unrelate(o, *c)) for c in cases], MISSING)
    assert check(o, "user:ann", "viewer", "doc:1") is True
    unrelate(o, "group:eng#member", "viewer", "doc:1")
    with raises(MISSING):
        unrelate(o, "group:eng#member", "viewer", "doc:1")
    assert check(o, "user:ann", "viewer", "doc:1") is True


BAD_REFS = ["", "user", "user:", ":ann", "User:ann", "1user:ann", "us er:ann", "user:an n", "user:ann\t",
            "user:\nann", "user:a#", "user:#member", "user:a#b#c", "user:a#Member", "user:a#mem ber",
            "user:" + "x" * 201, "u" * 64 + ":ann", "user-x:ann", "user.x:ann"]
BAD_OBJECTS = BAD_REFS + ["group:eng#member", "doc:1#viewer"]  # an object is never a set


def test_malformed_subjects_are_refused_everywhere(env):
    o = env.owner
    relate(o, "user:ann", "viewer", "doc:1")
    cases = []
    for ref in BAD_REFS:
        cases += [(f"relate {ref!r}", lambda ref=ref: relate(o, ref, "viewer", "doc:1")),
                  (f"unrelate {ref!r}", lambda ref=ref: unrelate(o, ref, "viewer", "doc:1")),
                  (f"check_relation {ref!r}", lambda ref=ref: check(o, ref, "viewer", "doc:1")),
                  (f"lookup_objects {ref!r}", lambda ref=ref: lookup(o, ref, "viewer", "doc"))]
    expect_codes(cases, MALFORMED)
    assert lookup(o, "user:ann", "viewer", "doc") == ["doc:1"]


def test_malformed_objects_are_refused_everywhere(env):
    o = env.owner
    cases = []
    for ref in BAD_OBJECTS:
        cases += [(f"relate {ref!r}", lambda ref=ref: relate(o, "user:ann", "viewer", ref)),
                  (f"unrelate {ref!r}", lambda ref=ref: unrelate(o, "user:ann", "viewer", ref)),
                  (f"check_relation {ref!r}", lambda ref=ref: check(o, "user:ann", "viewer", ref))]
    expect_codes(cases, MALFORMED)
    assert lookup(o, "user:ann", "viewer", "doc") == []


BAD_NAMES = ["", "Viewer", "view er", "viewer#x", "parent->viewer", "viewer;", "v" * 64, "1v"]


def test_malformed_relation_and_permission_names(env):
    o = env.owner
    cases = []
    for name in BAD_NAMES:
        cases += [(f"relate {name!r}", lambda name=name: relate(o, "user:ann", name, "doc:1")),
                  (f"check_relation {name!r}", lambda name=name: check(o, "user:ann", name, "doc:1")),
                  (f"lookup_objects {name!r}", lambda name=name: lookup(o, "user:ann", name, "doc"))]
    expect_codes(cases, MALFORMED)


def test_unrelate_refuses_a_malformed_relation_name(env):
    """As relate does: a name that can never be stored is malformed, not merely absent."""
    o = env.owner
    relate(o, "user:ann", "viewer", "doc:1")
    expect_codes([(name, lambda name=name: unrelate(o, "user:ann", name, "doc:1")) for name in BAD_NAMES],
                 MALFORMED)


def test_lookup_objects_rejects_a_malformed_type(env):
    bad = ["", "Doc", "doc:1", "do c", "doc#viewer"]
    expect_codes([(t, lambda t=t: lookup(env.owner, "user:ann", "viewer", t)) for t in bad], MALFORMED)


def test_ids_may_hold_any_character_but_hash_and_whitespace(env):
    o = env.owner
    ids = ["a:b", "x'y", 'q"r', "semi;colon--", "../up", "ünï©ødé", "%s$1", "\\back", "x" * 200,
           "00000000-0000-0000-0000-000000000000"]
    for i in ids:
        relate(o, f"user:{i}", "viewer", f"doc:{i}")
    for i in ids:
        assert check(o, f"user:{i}", "viewer", f"doc:{i}") is True
        assert lookup(o, f"user:{i}", "viewer", "doc") == [f"doc:{i}"]
    assert check(o, "user:x'y", "viewer", "doc:q\"r") is False
    for i in ids:
        unrelate(o, f"user:{i}", "viewer", f"doc:{i}")
        assert check(o, f"user:{i}", "viewer", f"doc:{i}") is False


# --- check_relation: nested folders ------------------------------------------------------------

@pytest.fixture
def tree(env):
    """doc:readme in folder:f1 in f2 in f3 in f4 in f5 (the top); doc:other in f1."""
    o = env.owner
    define(o, "doc", TREE_RULES)
    define(o, "folder", TREE_RULES)
    relate(o, "folder:f1", "parent", "doc:readme")
    relate(o, "folder:f1", "parent", "doc:other")
    for child, parent in (("f1", "f2"), ("f2", "f3"), ("f3", "f4"), ("f4", "f5")):
        relate(o, f"folder:{parent}", "parent", f"folder:{child}")
    relate(o, "user:vic", "viewer", "folder:f5")
    relate(o, "user:ed", "editor", "folder:f3")
    relate(o, "user:own", "owner", "folder:f5")
    relate(o, "user:dora", "viewer", "doc:readme")
    relate(o, "user:eli", "editor", "doc:readme")
    return env


NESTED_CASES = [
    # a viewer at the top sees all the way down, and nothing more
    ("user:vic", "viewer", "doc:readme", True),
    ("user:vic", "viewer", "folder:f1", True),
    ("user:vic", "viewer", "folder:f5", True),
    ("user:vic", "editor", "doc:readme", False),
    ("user:vic", "owner", "folder:f5", False),
    # an editor in the middle: edits and views below, nothing above
    ("user:ed", "editor", "doc:readme", True),
    ("user:ed", "viewer", "doc:readme", True),
    ("user:ed", "editor", "folder:f1", True),
    ("user:ed", "editor", "folder:f3", True),
    ("user:ed", "viewer", "folder:f4", False),
    ("user:ed", "editor", "folder:f5", False),
    ("user:ed", "owner", "doc:readme", False),
    # owner: edits and views below, but ownership itself is not inherited
    ("user:own", "owner", "folder:f5", True),
    ("user:own", "editor", "doc:readme", True),
    ("user:own", "viewer", "doc:readme", True),
    ("user:own", "owner", "doc:readme", False),
    ("user:own", "owner", "folder:f4", False),
    # grants on the document go nowhere else
    ("user:dora", "viewer", "doc:readme", True),
    ("user:dora", "viewer", "doc:other", False),
    ("user:dora", "viewer", "folder:f1", False),
    ("user:dora", "editor", "doc:readme", False),
    ("user:eli", "viewer", "doc:readme", True),
    ("user:eli", "viewer", "folder:f1", False),
    # strangers
    ("user:stranger", "viewer", "doc:readme", False),
    ("user:stranger", "owner", "folder:f5", False),
    ("folder:f5", "viewer", "doc:readme", False),
    # objects nobody ever mentioned
    ("user:vic", "viewer", "doc:unknown", False),
    ("user:vic", "viewer", "folder:f9", False),
]


def test_nested_folders(tree):
    got = {(s, p, o): check(tree.owner, s, p, o) for s, p, o, _ in NESTED_CASES}
    assert got == {(s, p, o): expected for s, p, o, expected in NESTED_CASES}


def test_nested_folders_follow_tuple_changes(tree):
    o = tree.owner
    assert check(o, "user:vic", "viewer", "doc:readme") is True
    unrelate(o, "folder:f4", "parent", "folder:f3")  # cut f3 loose from f4
    assert check(o, "user:vic", "viewer", "doc:readme") is False
    assert check(o, "user:vic", "viewer", "folder:f4") is True
    assert check(o, "user:ed", "viewer", "doc:readme") is True
    relate(o, "folder:f5", "parent", "folder:f3")  # f3 straight under the top
    assert check(o, "user:vic", "viewer", "doc:readme") is True
    # a document in two folders is seen through either
    relate(o, "user:zed", "viewer", "folder:side")
    assert check(o, "user:zed", "viewer", "doc:readme") is False
    relate(o, "folder:side", "parent", "doc:readme")
    assert check(o, "user:zed", "viewer", "doc:readme") is True
    assert check(o, "user:zed", "viewer", "doc:other") is False


def test_lookup_objects_on_nested_folders(tree):
    o = tree.owner
    assert lookup(o, "user:vic", "viewer", "folder") == ["folder:f1", "folder:f2", "folder:f3", "folder:f4", "folder:f5"]
    assert lookup(o, "user:vic", "viewer", "doc") == ["doc:other", "doc:readme"]
    assert lookup(o, "user:ed", "viewer", "folder") == ["folder:f1", "folder:f2", "folder:f3"]
    assert lookup(o, "user:ed", "editor", "doc") == ["doc:other", "doc:readme"]
    assert lookup(o, "user:own", "owner", "folder") == ["folder:f5"]
    assert lookup(o, "user:own", "owner", "doc") == []
    assert lookup(o, "user:dora", "viewer", "doc") == ["doc:readme"]
    assert lookup(o, "user:dora", "viewer", "folder") == []
    assert lookup(o, "user:stranger", "viewer", "doc") == []


# --- types and permissions without rules --------------------------------------------------------

def test_without_rules_a_permission_is_the_stored_relation(env):
    o = env.owner
    relate(o, "user:ann", "assignee", "ticket:1")
    assert check(o, "user:ann", "assignee", "ticket:1") is True
    assert check(o, "user:ann", "viewer", "ticket:1") is False
    assert check(o, "user:bob", "assignee", "ticket:1") is False
    assert lookup(o, "user:ann", "assignee", "ticket") == ["ticket:1"]
    # a type with rules: a name that is no permission of it is its stored relation
    define(o, "doc", {"viewer": ["viewer", "editor"]})
    relate(o, "user:cy", "commenter", "doc:1")
    assert check(o, "user:cy", "commenter", "doc:1") is True
    assert check(o, "user:cy", "viewer", "doc:1") is False
    # an arrow into a type without rules reads the stored relation there
    define(o, "task", {"viewer": ["viewer", "ticket->assignee"]})
    relate(o, "ticket:1", "ticket", "task:7")
    assert check(o, "user:ann", "viewer", "task:7") is True
    assert check(o, "user:bob", "viewer", "task:7") is False


# --- subject sets and groups -------------------------------------------------------------------

def test_subject_sets(env):
    o = env.owner
    define(o, "doc", {"viewer": ["viewer", "editor"], "editor": ["editor"]})
    relate(o, "user:alice", "member", "group:eng")
    relate(o, "group:eng#member", "viewer", "doc:1")
    relate(o, "group:eng#lead", "editor", "doc:1")
    assert check(o, "user:alice", "member", "group:eng") is True
    assert check(o, "user:alice", "viewer", "doc:1") is True
    assert check(o, "user:alice", "editor", "doc:1") is False
    assert check(o, "user:bob", "viewer", "doc:1") is False
    relate(o, "user:bob", "member", "group:eng")
    assert check(o, "user:bob", "viewer", "doc:1") is True
    relate(o, "user:lee", "lead", "group:eng")
    assert check(o, "user:lee", "editor", "doc:1") is True
    assert check(o, "user:lee", "viewer", "doc:1") is True
    unrelate(o, "user:alice", "member", "group:eng")
    assert check(o, "user:alice", "viewer", "doc:1") is False
    assert check(o, "user:bob", "viewer", "doc:1") is True
    # the group object itself is not a member of its own set
    assert check(o, "group:eng", "viewer", "doc:1") is False
    # a member of another group gets nothing
    relate(o, "user:ops", "member", "group:ops")
    assert check(o, "user:ops", "viewer", "doc:1") is False
    assert lookup(o, "user:bob", "viewer", "doc") == ["doc:1"]
    assert lookup(o, "user:ops", "viewer", "doc") == []


def test_nested_groups(env):
    o = env.owner
    define(o, "doc", {"viewer": ["viewer"]})
    # backend ⊂ eng ⊂ staff; platform ⊂ backend
    relate(o, "group:backend#member", "member", "group:eng")
    relate(o, "group:eng#member", "member", "group:staff")
    relate(o, "group:platform#member", "member", "group:backend")
    relate(o, "user:carol", "member", "group:backend")
    relate(o, "user:pat", "member", "group:platform")
    relate(o, "user:sam", "member", "group:staff")
    relate(o, "group:eng#member", "viewer", "doc:design")
    relate(o, "group:staff#member", "viewer", "doc:handbook")
    for who in ("user:carol", "user:pat"):
        assert check(o, who, "member", "group:eng") is True
        assert check(o, who, "member", "group:staff") is True
        assert check(o, who, "viewer", "doc:design") is True
        assert check(o, who, "viewer", "doc:handbook") is True
        assert lookup(o, who, "viewer", "doc") == ["doc:design", "doc:handbook"]
    assert check(o, "user:carol", "member", "group:platform") is False
    assert check(o, "user:sam", "member", "group:eng") is False
    assert check(o, "user:sam", "viewer", "doc:design") is False
    assert check(o, "user:sam", "viewer", "doc:handbook") is True
    assert lookup(o, "user:sam", "viewer", "doc") == ["doc:handbook"]
    assert lookup(o, "user:pat", "member", "group") == ["group:backend", "group:eng", "group:platform", "group:staff"]
    # cutting the middle link takes everything below it out
    unrelate(o, "group:backend#member", "member", "group:eng")
    assert check(o, "user:pat", "viewer", "doc:design") is False
    assert check(o, "user:pat", "viewer", "doc:handbook") is False
    assert check(o, "user:carol", "member", "group:backend") is True


def test_subject_sets_inside_rules(env):
    """A folder shared with a group: members of the group view the folder's documents."""
    o = env.owner
    define(o, "doc", TREE_RULES)
    define(o, "folder", TREE_RULES)
    relate(o, "folder:shared", "parent", "doc:1")
    relate(o, "group:eng#member", "editor", "folder:shared")
    relate(o, "group:backend#member", "member", "group:eng")
    relate(o, "user:kim", "member", "group:backend")
    assert check(o, "user:kim", "editor", "doc:1") is True
    assert check(o, "user:kim", "viewer", "doc:1") is True
    assert check(o, "user:kim", "owner", "doc:1") is False
    assert check(o, "user:other", "viewer", "doc:1") is False
    assert lookup(o, "user:kim", "editor", "doc") == ["doc:1"]


def test_objects_with_many_tuples_are_probed_not_scanned(env):
    """A doc with many direct viewers and a group set whose group has many members (issue 19:
    one primary-key probe per relation, whatever the object holds): every answer still right."""
    o = env.owner
    define(o, "doc", TREE_RULES)
    relate(o, "group:big#member", "editor", "doc:big")
    o.execute("select docpal.relate('user:v' || i, 'viewer', 'doc:big'), docpal.relate('user:m' || i, 'member', 'group:big')"
              " from generate_series(1, 150) i")
    assert check(o, "user:v77", "viewer", "doc:big") is True
    assert check(o, "user:v77", "editor", "doc:big") is False
    assert check(o, "user:m150", "editor", "doc:big") is True
    assert check(o, "user:m1", "viewer", "doc:big") is True
    assert check(o, "user:stranger", "viewer", "doc:big") is False
    assert check(o, "user:v1", "member", "group:big") is False
    assert lookup(o, "user:m9", "viewer", "doc") == ["doc:big"]
    assert lookup(o, "user:v9", "editor", "doc") == []


# --- permissions built from permissions ------------------------------------------------------------

def test_permissions_that_use_other_permissions(env):
    o = env.owner
    define(o, "report", {"read": ["reader", "write"], "write": ["writer", "admin"], "admin": ["admin"],
                         "share": ["admin", "sharer"]})
    relate(o, "user:ad", "admin", "report:r1")
    relate(o, "user:wr", "writer", "report:r1")
    relate(o, "user:rd", "reader", "report:r1")
    relate(o, "user:sh", "sharer", "report:r1")
    expected = {  # subject: (read, write, admin, share)
        "user:ad": (True, True, True, True),
        "user:wr": (True, True, False, False),
        "user:rd": (True, False, False, False),
        "user:sh": (False, False, False, True),
        "user:no": (False, False, False, False),
    }
    for subject, answers in expected.items():
        got = tuple(check(o, subject, p, "report:r1") for p in ("read", "write", "admin", "share"))
        assert got == answers, subject
    # a relation named like a permission of this type means that permission, not its tuples:
    # "write" in read is the permission, so a stored `write` tuple gives nothing
    relate(o, "user:tw", "write", "report:r1")
    assert check(o, "user:tw", "read", "report:r1") is False
    assert check(o, "user:tw", "write", "report:r1") is False


def test_permissions_and_arrows_combine(env):
    o = env.owner
    define(o, "folder", {"view": ["viewer", "edit", "parent->view"], "edit": ["editor", "parent->edit"]})
    define(o, "doc", {"view": ["viewer", "edit", "folder->view"], "edit": ["editor", "folder->edit"],
                      "comment": ["commenter", "edit"]})
    relate(o, "folder:top", "parent", "folder:sub")
    relate(o, "folder:sub", "folder", "doc:d")
    relate(o, "user:ed", "editor", "folder:top")
    relate(o, "user:vi", "viewer", "folder:top")
    relate(o, "user:co", "commenter", "doc:d")
    assert [check(o, "user:ed", p, "doc:d") for p in ("view", "edit", "comment")] == [True, True, True]
    assert [check(o, "user:vi", p, "doc:d") for p in ("view", "edit", "comment")] == [True, False, False]
    assert [check(o, "user:co", p, "doc:d") for p in ("view", "edit", "comment")] == [False, False, True]
    assert lookup(o, "user:ed", "comment", "doc") == ["doc:d"]
    assert lookup(o, "user:vi", "edit", "folder") == []
    assert lookup(o, "user:ed", "edit", "folder") == ["folder:sub", "folder:top"]


# --- cycles --------------------------------------------------------------------------------------

def test_cycles_terminate(env):
    o = env.owner
    define(o, "folder", TREE_RULES)
    define(o, "doc", TREE_RULES)
    relate(o, "folder:b", "parent", "folder:a")  # a's parent is b
    relate(o, "folder:a", "parent", "folder:b")  # b's parent is a
    relate(o, "folder:c", "parent", "folder:c")  # c is its own parent
    relate(o, "folder:a", "parent", "doc:d")
    relate(o, "user:v", "viewer", "folder:a")
    for obj in ("folder:a", "folder:b", "doc:d"):
        assert check(o, "user:v", "viewer", obj) is True, obj
        assert check(o, "user:stranger", "viewer", obj) is False, obj
        assert check(o, "user:v", "editor", obj) is False, obj
    assert check(o, "user:stranger", "viewer", "folder:c") is False
    assert check(o, "user:stranger", "owner", "folder:c") is False
    relate(o, "user:cc", "editor", "folder:c")
    assert check(o, "user:cc", "viewer", "folder:c") is True
    assert lookup(o, "user:v", "viewer", "folder") == ["folder:a", "folder:b"]
    assert lookup(o, "user:stranger", "viewer", "folder") == []
    assert lookup(o, "user:cc", "viewer", "folder") == ["folder:c"]


def test_longer_cycles_terminate(env):
    o = env.owner
    define(o, "folder", TREE_RULES)
    ring = chain(o, "folder:r", 6)
    relate(o, ring[0], "parent", ring[-1])  # close the ring: r05's parent is r00
    relate(o, "user:v", "viewer", "folder:r03")
    for obj in ring:
        assert check(o, "user:v", "viewer", obj) is True, obj
        assert check(o, "user:stranger", "viewer", obj) is False, obj
        assert check(o, "user:stranger", "editor", obj) is False, obj
    assert lookup(o, "user:v", "viewer", "folder") == sorted(ring)


def test_group_cycles_terminate(env):
    o = env.owner
    relate(o, "group:x#member", "member", "group:y")
    relate(o, "group:y#member", "member", "group:x")
    relate(o, "user:u", "member", "group:x")
    relate(o, "group:y#member", "viewer", "doc:1")
    assert check(o, "user:u", "member", "group:y") is True
    assert check(o, "user:u", "viewer", "doc:1") is True
    assert check(o, "user:stranger", "member", "group:x") is False
    assert check(o, "user:stranger", "viewer", "doc:1") is False
    assert lookup(o, "user:u", "member", "group") == ["group:x", "group:y"]
    assert lookup(o, "user:stranger", "member", "group") == []


# --- the depth bound ----------------------------------------------------------------------------

def test_a_path_deeper_than_the_bound_fails_closed(env):
    o = env.owner
    define(o, "folder", TREE_RULES)
    objs = chain(o, "folder:c", 30)  # c00 (bottom) .. c29 (top)
    relate(o, "user:top", "viewer", objs[-1])
    with raises(TOO_DEEP):
        check(o, "user:top", "viewer", objs[0])
    with raises(TOO_DEEP):
        check(o, "user:top", "viewer", objs[1])
    # a stranger never gets true either (false, or the same refusal)
    try:
        assert check(o, "user:stranger", "viewer", objs[0]) is False
    except psycopg.Error as exc:
        assert exc.sqlstate == TOO_DEEP, exc
    # shallow checks in the same chain still answer, and the connection is fine after the error
    assert check(o, "user:top", "viewer", objs[-1]) is True
    assert check(o, "user:top", "viewer", objs[-5]) is True
    assert check(o, "user:top", "editor", objs[-5]) is False
    # a grant close to the object answers true whatever lies above
    relate(o, "user:near", "viewer", objs[0])
    assert check(o, "user:near", "viewer", objs[0]) is True


def test_the_depth_bound_holds_for_lookups(env):
    o = env.owner
    define(o, "folder", TREE_RULES)
    objs = chain(o, "folder:c", 30)
    relate(o, "user:top", "viewer", objs[-1])
    try:
        found = lookup(o, "user:top", "viewer", "folder")
    except psycopg.Error as exc:
        assert exc.sqlstate == TOO_DEEP, exc
    else:
        assert found == sorted(found)
        assert objs[-1] in found and objs[-2] in found
        assert objs[0] not in found, "fail closed: an object beyond the depth bound is never granted"


def test_a_chain_of_nested_groups_deeper_than_the_bound_fails_closed(env):
    o = env.owner
    groups = [f"group:g{i:02d}" for i in range(30)]
    for inner, outer in pairwise(groups):
        relate(o, f"{inner}#member", "member", outer)  # g00 ⊂ g01 ⊂ ... ⊂ g29
    relate(o, "user:deep", "member", groups[0])
    assert check(o, "user:deep", "member", groups[0]) is True
    assert check(o, "user:deep", "member", groups[3]) is True
    with raises(TOO_DEEP):
        check(o, "user:deep", "member", groups[-1])


def test_five_deep_is_well_within_the_bound(env):
    o = env.owner
    define(o, "folder", TREE_RULES)
    objs = chain(o, "folder:c", 6)
    relate(o, "user:own", "owner", objs[-1])
    # viewer -> editor -> parent->editor (x5) -> owner at the top
    assert check(o, "user:own", "viewer", objs[0]) is True
    assert check(o, "user:own", "editor", objs[0]) is True


# --- lookup_objects -------------------------------------------------------------------------------

def test_lookup_objects_is_sorted_and_of_one_type(env):
    o = env.owner
    for obj in ("doc:b", "doc:a", "doc:c10", "doc:c9", "doc:aa", "folder:a", "report:a"):
        relate(o, "user:u", "viewer", obj)
    relate(o, "user:other", "viewer", "doc:z")
    relate(o, "user:u", "editor", "doc:y")
    assert lookup(o, "user:u", "viewer", "doc") == ["doc:a", "doc:aa", "doc:b", "doc:c10", "doc:c9"]
    assert lookup(o, "user:u", "viewer", "folder") == ["folder:a"]
    assert lookup(o, "user:u", "editor", "doc") == ["doc:y"]
    assert lookup(o, "user:u", "viewer", "nothing") == []
    assert lookup(o, "user:nobody", "viewer", "doc") == []
    # with rules, lookups follow them
    define(o, "doc", {"viewer": ["viewer", "editor"]})
    assert lookup(o, "user:u", "viewer", "doc") == ["doc:a", "doc:aa", "doc:b", "doc:c10", "doc:c9", "doc:y"]


def test_lookup_objects_through_subject_sets(env):
    o = env.owner
    relate(o, "user:u", "member", "group:eng")
    relate(o, "group:eng#member", "viewer", "doc:2")
    relate(o, "group:ops#member", "viewer", "doc:3")
    relate(o, "user:u", "viewer", "doc:1")
    assert lookup(o, "user:u", "viewer", "doc") == ["doc:1", "doc:2"]


# --- companies are isolated ---------------------------------------------------------------------

def test_companies_do_not_share_tuples_or_rules(db, connect, env):
    a = env.owner
    slug = unique_slug()
    b_id = one(db, "select docpal.create_company(%s, 'Other Co')", slug)
    b_owner = one(db, "select docpal.create_user(%s, 'Other owner')", f"owner-{slug}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (b_id, b_owner))
    b = set_context(connect(SERVICE_LOGIN), {"id": b_id}, b_owner)

    define(a, "doc", {"viewer": ["viewer", "editor"]})
    relate(a, "user:alice", "viewer", "doc:1")
    relate(a, "user:ed", "editor", "doc:1")
    relate(a, "user:alice", "member", "group:eng")
    relate(a, "group:eng#member", "viewer", "doc:2")

    # nothing of A is visible in B
    assert check(b, "user:alice", "viewer", "doc:1") is False
    assert check(b, "user:alice", "viewer", "doc:2") is False
    assert check(b, "user:alice", "member", "group:eng") is False
    assert lookup(b, "user:alice", "viewer", "doc") == []
    with raises(MISSING):
        unrelate(b, "user:alice", "viewer", "doc:1")
    # B's rules are B's own: without them, editor does not imply viewer there
    relate(b, "user:ed", "editor", "doc:1")
    assert check(b, "user:ed", "viewer", "doc:1") is False
    assert check(a, "user:ed", "viewer", "doc:1") is True
    define(b, "doc", {"viewer": ["viewer"], "editor": ["editor", "viewer"]})
    relate(b, "user:bob", "viewer", "doc:1")
    assert check(b, "user:bob", "editor", "doc:1") is True
    assert check(a, "user:bob", "viewer", "doc:1") is False
    assert check(a, "user:alice", "editor", "doc:1") is False  # A's rules did not change
    assert lookup(a, "user:bob", "viewer", "doc") == []
    # removing in B leaves A alone, and the other way round
    unrelate(b, "user:ed", "editor", "doc:1")
    assert check(a, "user:ed", "viewer", "doc:1") is True
    unrelate(a, "user:alice", "viewer", "doc:1")
    assert check(b, "user:bob", "viewer", "doc:1") is True
    assert lookup(a, "user:alice", "viewer", "doc") == ["doc:2"]
    # the same user switching company sees only the company in context
    db.execute("select docpal.add_member(%s, %s, 'member')", (b_id, env.company["member"]))
    m = env.member
    assert lookup(m, "user:ed", "viewer", "doc") == ["doc:1"]
    set_context(m, {"id": b_id}, env.company["member"])
    assert lookup(m, "user:ed", "viewer", "doc") == []
    assert lookup(m, "user:bob", "viewer", "doc") == ["doc:1"]


def test_dropping_a_company_leaves_the_others_relations(db, connect, env):
    a = env.owner
    slug = unique_slug()
    b_id = one(db, "select docpal.create_company(%s, 'Doomed Co')", slug)
    b_owner = one(db, "select docpal.create_user(%s, 'Doomed owner')", f"owner-{slug}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (b_id, b_owner))
    b = set_context(connect(SERVICE_LOGIN), {"id": b_id}, b_owner)
    define(a, "doc", TREE_RULES)
    define(b, "doc", TREE_RULES)
    relate(a, "user:v", "viewer", "doc:1")
    relate(b, "user:v", "viewer", "doc:1")
    b.close()
    db.execute("select docpal.drop_company(%s)", (b_id,))
    assert check(a, "user:v", "viewer", "doc:1") is True
    assert check(a, "user:v", "editor", "doc:1") is False
