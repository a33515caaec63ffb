"""ReBAC as compiled by docpal_private.rebac_compile (issue 19): one recursive
query per check, the rules flattened at compile time, lookups walked backwards
from the subject. Every answer of check_relation and lookup_objects is
compared with a reference computed here, in Python, as the least fixed point
of the rules (docs/reference.md, "Relationship-based access"), on graphs made
to exercise what the compiler does on its own: permissions that include each
other (an arrow left out where another target covers it), relations stored by
a rule that are no permission of their type, subject sets of computed
permissions, cycles, types that are nobody's subject (pruned by lookups),
and the rules changing under the same tuples. Black-box: only the public
functions, from a member's session.
"""

from __future__ import annotations

import random

import pytest
from psycopg.types.json import Jsonb

from helpers import one
from test_rebac import check, define, env, lookup, relate, unrelate  # noqa: F401 (fixture)

#: rules of three types; "folder" viewer and editor include each other (both reach the other)
RULES = {
    "folder": {"viewer": ["viewer", "editor", "parent->viewer", "parent->editor"],
               "editor": ["editor", "viewer_too", "owner", "parent->editor", "parent->viewer_too"],
               "viewer_too": ["editor"]},
    "doc": {"viewer": ["viewer", "reader", "editor", "parent->viewer", "parent->editor"],
            "editor": ["editor", "owner", "parent->editor"],
            "commenter": ["viewer", "team->member"]},
    "team": {"member": ["member", "lead", "parent->member"]},
}
TYPES = {"folder": 6, "doc": 8, "team": 4, "group": 3}
USERS = 4


def reference(rules: dict, tuples: set) -> dict:
    """(type, id, permission) -> set of subjects (type, id, relation) that have it: the least
    fixed point, iterated until nothing changes."""
    objects = {(t, i) for t, n in TYPES.items() for i in range(n)}
    perms = {p for r in rules.values() for p in r} | {rel for (_, _, rel, _, _, _) in tuples}
    subjects = {("user", str(u), "") for u in range(USERS)} | {(t, str(i), p) for t, i in objects for p in perms}
    has: dict = {}

    def stored(t, i, rel, subject) -> bool:
        for (ot, oid, r, st, sid, srel) in tuples:
            if (ot, oid, r) == (t, str(i), rel):
                if (st, sid, srel) == subject:
                    return True
                if srel and subject in has.get((st, sid, srel), set()):
                    return True
        return False

    def holds(t, i, p, subject, path=()) -> bool:
        if (t, p) in path:
            return False
        if t in rules and p in rules[t]:
            for item in rules[t][p]:
                if "->" in item:
                    r, q = item.split("->")
                    for (ot, oid, rel, st, sid, srel) in tuples:
                        if (ot, oid, rel) == (t, str(i), r) and not srel and subject in has.get((st, sid, q), set()):
                            return True
                elif item != p and item in rules[t]:
                    if holds(t, i, item, subject, path + ((t, p),)):
                        return True
                elif stored(t, i, item, subject):
                    return True
            return False
        return stored(t, i, p, subject)

    changed = True
    while changed:
        changed = False
        for t, i in objects:
            for p in perms:
                key = (t, str(i), p)
                for subject in subjects:
                    if subject not in has.get(key, set()) and holds(t, i, p, subject):
                        has.setdefault(key, set()).add(subject)
                        changed = True
    return has


def random_tuples(rng: random.Random) -> set:
    tuples = set()
    for i in range(1, TYPES["folder"]):
        tuples.add(("folder", str(i), "parent", "folder", str(rng.randrange(i)), ""))  # a tree
    tuples.add(("folder", "0", "parent", "folder", "5", ""))  # and one cycle
    for i in range(TYPES["doc"]):
        tuples.add(("doc", str(i), "parent", "folder", str(rng.randrange(TYPES["folder"])), ""))
        tuples.add(("doc", str(i), "team", "team", str(rng.randrange(TYPES["team"])), ""))
    for i in range(1, TYPES["team"]):
        tuples.add(("team", str(i), "parent", "team", str(i - 1), ""))
    for _ in range(14):
        t = rng.choice(["folder", "doc", "team", "group"])
        rel = rng.choice({"folder": ["viewer", "editor", "owner"], "doc": ["viewer", "reader", "editor", "owner"],
                          "team": ["member", "lead"], "group": ["member"]}[t])
        if rng.random() < 0.6:
            subject = ("user", str(rng.randrange(USERS)), "")
        else:
            st = rng.choice(["group", "team", "folder"])
            subject = (st, str(rng.randrange(TYPES[st])), {"group": "member", "team": "member", "folder": "editor"}[st])
        tuples.add((t, str(rng.randrange(TYPES[t])), rel) + subject)
    tuples.add(("group", "0", "member", "group", "1", "member"))  # nested groups, in a cycle
    tuples.add(("group", "1", "member", "group", "0", "member"))
    return tuples


def ref(t, i, rel=""):
    return f"{t}:{i}" + (f"#{rel}" if rel else "")


def compare(env, has: dict) -> None:
    m = env.member
    asked = [("user", str(u), "") for u in range(USERS)] + [("group", "0", "member"), ("team", "1", "member")]
    for st, sid, srel in asked:
        subject = ref(st, sid, srel)
        for t, n in TYPES.items():
            for p in {"folder": ("viewer", "editor", "viewer_too", "owner"), "doc": ("viewer", "editor", "commenter", "reader"),
                      "team": ("member", "lead"), "group": ("member",)}[t]:
                want = sorted(ref(t, i) for i in range(n) if (st, sid, srel) in has.get((t, str(i), p), set()))
                got_lookup = lookup(m, subject, p, t)
                got_checks = sorted(ref(t, i) for i in range(n) if check(m, subject, p, ref(t, i)))
                assert got_checks == want, (subject, p, t)
                # a lookup lists objects that appear in some tuple: all of these do
                assert got_lookup == sorted(got_lookup) and set(got_lookup) == set(want), (subject, p, t)


@pytest.mark.parametrize("seed", [1, 2])
def test_checks_and_lookups_agree_with_the_rules(env, seed):  # noqa: F811
    rng = random.Random(seed)
    tuples = random_tuples(rng)
    for t, rules in RULES.items():
        define(env.owner, t, rules)
    for (ot, oid, rel, st, sid, srel) in tuples:
        relate(env.owner, ref(st, sid, srel), rel, ref(ot, oid))
    compare(env, reference(RULES, tuples))


def test_changed_rules_and_tuples_are_followed(env):  # noqa: F811
    rng = random.Random(7)
    tuples = random_tuples(rng)
    for t, rules in RULES.items():
        define(env.owner, t, rules)
    for (ot, oid, rel, st, sid, srel) in tuples:
        relate(env.owner, ref(st, sid, srel), rel, ref(ot, oid))
    # the rules change: documents no longer inherit from folders, teams no longer nest
    changed = {**RULES, "doc": {"viewer": ["viewer", "editor"], "editor": ["editor"]}, "team": {"member": ["member"]}}
    define(env.owner, "doc", changed["doc"])
    define(env.owner, "team", changed["team"])
    gone = sorted(tuples)[0]
    unrelate(env.owner, ref(*gone[3:]), gone[2], ref(*gone[:2]))
    tuples.discard(gone)
    compare(env, reference(changed, tuples))


def test_the_compiled_functions_are_docpals_alone(db, env):  # noqa: F811
    """The generated functions live in the company schema, owned by docpal, with EXECUTE
    revoked from public: a client can neither call nor replace them, and a member's
    session settings (plan_cache_mode, search_path) do not steer them."""
    define(env.owner, "doc", RULES["doc"])
    relate(env.owner, "user:0", "viewer", "doc:1")
    schema = env.company["schema"] if "schema" in env.company else one(
        db, "select schema_name from docpal_private.companies where id = %s", env.company["id"])
    rows = db.execute(
        "select p.proname, pg_catalog.pg_get_userbyid(p.proowner), p.proacl::text, p.proconfig::text"
        "  from pg_catalog.pg_proc p where p.pronamespace = %s::regnamespace and p.proname like '\\_rebac\\_%%'"
        " order by 1", (schema,)).fetchall()
    assert [r[0] for r in rows] == ["_rebac_check", "_rebac_lookup"]
    for _name, owner, acl, config in rows:
        assert owner == "docpal_owner" and acl, (owner, acl)
        assert not any(entry.startswith("=") for entry in acl.strip("{}").split(",")), acl  # nothing for public
        assert "search_path=pg_catalog, pg_temp" in config and "plan_cache_mode=force_generic_plan" in config
    m = env.member
    m.execute("set plan_cache_mode = force_custom_plan")
    m.execute("set search_path = pg_temp, public")
    assert check(m, "user:0", "viewer", "doc:1") is True
    assert lookup(m, "user:0", "viewer", "doc") == ["doc:1"]
    m.execute("reset plan_cache_mode")
    m.execute("reset search_path")
