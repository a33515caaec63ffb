"""The tenant boundary, tested as an attacker: contract sections 0, 1, 6 and 9.

Two companies hold data: A (the attacker's) and B (the victim). The attacker
is an untrusted docpal_app login that authenticates with an API key of
company A's owner (created by A's owner through a docpal_service
connection), so it may do everything inside A. From there it throws hostile
slugs, specs, values, tuples and keys at every client function, and tries to
forge its context, reach private objects directly, and hijack name lookups
with objects of its own in pg_temp.

What must hold: every refusal carries one of the contract's SQLSTATEs (never
a syntax error 42601 or an internal error XX000, which would mean input
reached SQL text), no result and no error message ever holds data of company
B, and company B's tables, tuples, rules, catalog and audit log are exactly
as they were.
"""

from __future__ import annotations

import json
import re
import uuid
from types import SimpleNamespace

import psycopg
import pytest
from hypothesis import HealthCheck, assume, currently_in_test_context, event, given, note, settings, strategies as st
from psycopg.types.json import Jsonb

from conftest import APP_LOGIN, SERVICE_LOGIN, unique_slug
from helpers import one, set_context, table

#: the contract's SQLSTATEs (section 9) a client call may fail with; anything else is a bug
ALLOWED = {"22023", "42P01", "42703", "42501", "22P02", "22007", "22008", "23502", "23503", "23505", "23514",
           "2BP01", "40001", "P0002", "28000", "53400", "54000"}
DENIED = "42501"

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ACCOUNTS = table("accounts", {"name": "name", "type": "text", "searchable": True}, {"name": "region", "type": "text"})
DEALS = table(
    "deals",
    {"name": "name", "type": "text", "required": True, "searchable": True},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "secret", "type": "text"},
    {"name": "stage", "type": "select", "options": ["new", "won", "lost"]},
    {"name": "account_id", "type": "relation", "target": "accounts", "on_delete": "set_null"},
    {"name": "parent_id", "type": "relation", "target": "deals", "on_delete": "set_null"},
    {"name": "starts", "type": "date"},
    {"name": "ends", "type": "date"},
    {"name": "meta", "type": "json"},
    {"name": "blockers", "type": "relation_many", "target": "deals"})
TREE_RULES = {"viewer": ["viewer", "editor", "parent->viewer"], "editor": ["editor", "owner", "parent->editor"],
              "owner": ["owner"]}


# --- the two companies ---------------------------------------------------------------------

def _company(db, connect, prefix, tag):
    """A company with an owner, tables accounts and deals holding rows named after `tag`,
    ReBAC rules and tuples; returns its handles (a service connection acting as the owner)."""
    slug = unique_slug(prefix)
    cid = one(db, "select docpal.create_company(%s, %s)", slug, f"{prefix} corp")
    owner = one(db, "select docpal.create_user(%s, 'Owner')", f"owner-{slug}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
    schema = one(db, "select docpal.get_company(%s)->>'schema'", str(cid))
    svc = set_context(connect(SERVICE_LOGIN), {"id": cid}, owner)

    def call(name, *args):
        args = [Jsonb(a) if isinstance(a, (dict, list)) else a for a in args]
        return one(svc, f"select docpal.{name}({', '.join(['%s'] * len(args))})", *args)

    call("create_table", ACCOUNTS)
    call("create_table", DEALS)
    acct = call("create_record", "accounts", {"name": f"{tag} account", "region": f"{tag}-region"})["id"]
    top = call("create_record", "deals", {"name": f"{tag} top deal", "amount": 100, "secret": f"{tag} secret",
                                          "stage": "won", "account_id": acct, "starts": "2026-01-01",
                                          "ends": "2026-01-31", "meta": {"note": tag, "n": 1}})["id"]
    child = call("create_record", "deals", {"name": f"{tag} child deal", "amount": 50, "secret": f"{tag} hush",
                                            "stage": "new", "parent_id": top, "blockers": [top],
                                            "starts": "2026-02-01", "ends": "2026-02-10", "meta": {"note": tag}})["id"]
    gone = call("create_record", "deals", {"name": f"{tag} deleted deal", "secret": f"{tag} buried"})["id"]
    call("update_record", "deals", uuid.UUID(top), {"amount": 120})
    call("delete_record", "deals", uuid.UUID(gone))
    call("define_relations", "doc", TREE_RULES)
    call("define_relations", "folder", TREE_RULES)
    call("relate", f"user:{tag}", "viewer", f"folder:{tag}")
    call("relate", f"folder:{tag}", "parent", f"doc:{tag}")
    call("relate", "user:alice", "member", "group:eng")
    call("relate", "group:eng#member", "viewer", f"doc:{tag}-eng")
    key = one(svc, "select docpal.create_api_key(%s, %s, %s::text[])", "attacker key", owner,
              ["read", "create", "update", "delete"])["key"]
    return SimpleNamespace(id=cid, slug=slug, owner=owner, schema=schema, svc=svc, acct=acct, top=top,
                           child=child, gone=gone, key=key, tag=tag)


@pytest.fixture
def world(db, connect, app):
    """Companies A and B; `app` authenticated with the key of A's owner."""
    a = _company(db, connect, "atk", "attacker" + uuid.uuid4().hex[:8])
    mark = "zqvictim" + uuid.uuid4().hex[:12]  # in every row and tuple of B, and in nothing an attacker sends
    b = _company(db, connect, "vic", mark)
    app.execute("set statement_timeout = '20s'")  # a runaway statement fails (57014, not allowed) instead of hanging
    res = one(app, "select docpal.authenticate(%s, false)", a.key)
    assert res["company_id"] == str(a.id)
    w = SimpleNamespace(db=db, app=app, a=a, b=b, mark=mark, connect=connect)
    w.before = snapshot(db, b)
    yield w
    assert snapshot(db, b) == w.before, "company B changed"


def snapshot(db, company):
    """Every table of the company schema (content hash), its relations, its company and
    membership rows, and the relations of the whole database."""
    out, schema = {}, company.schema
    rels = db.execute("select c.oid::regclass::text from pg_class c where c.relnamespace = %s::regnamespace "
                      "and c.relkind = 'r' order by 1", (schema,)).fetchall()
    for (rel,) in rels:
        out[rel] = db.execute(f"select count(*), md5(coalesce(string_agg(t::text, ',' order by t::text), '')) "
                              f"from {rel} t").fetchone()
    out["relations"] = db.execute("select array_agg(relname::text || ':' || relkind::text order by relname) "
                                  "from pg_class where relnamespace = %s::regnamespace", (schema,)).fetchone()[0]
    out["functions"] = db.execute("select array_agg(p.oid::regprocedure::text order by 1) from pg_proc p "
                                  "where p.pronamespace = %s::regnamespace", (schema,)).fetchone()[0]
    out["company"] = db.execute("select t::text from docpal_private.companies t where t.id = %s",
                                (company.id,)).fetchall()
    out["all_relations"] = db.execute(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname !~ '^pg_(toast_)?temp'").fetchone()[0]
    out["schemas"] = db.execute("select array_agg(nspname::text order by nspname) from pg_namespace "
                                "where nspname !~ '^pg_(toast_)?temp'").fetchone()[0]
    return out


# --- calling as the attacker ---------------------------------------------------------------

def fill(value, w):
    """Replace the placeholders {A} {B} (schemas), {BDEAL} {BACCT} {BGONE} {ADEAL} (ids) and
    {BCO} (B's company id) anywhere in a generated value."""
    if isinstance(value, str):
        for k, v in (("{A}", w.a.schema), ("{B}", w.b.schema), ("{BDEAL}", w.b.top), ("{BACCT}", w.b.acct),
                     ("{BGONE}", w.b.gone), ("{ADEAL}", w.a.top), ("{BCO}", str(w.b.id))):
            value = value.replace(k, v)
        return value
    if isinstance(value, list):
        return [fill(v, w) for v in value]
    if isinstance(value, dict):
        return {fill(k, w): fill(v, w) for k, v in value.items()}
    return value


def attempt(w, name, *args, conn=None):
    """Call docpal.<name>(args) as the attacker. Returns the result, or the SQLSTATE (a str
    wrapped in Refused) when refused; asserts the refusal is a contract SQLSTATE and that
    neither result nor message carries anything of company B."""
    conn = conn or w.app
    args = [Jsonb(a) if isinstance(a, (dict, list)) else a for a in args]
    label = f"{name}({', '.join(repr(getattr(a, 'obj', a))[:200] for a in args)})"
    if currently_in_test_context():
        note(label)
    echoed = w.mark in label  # a crafted call that names B's objects may see them named back in a refusal
    try:
        res = conn.execute(f"select docpal.{name}({', '.join(['%s'] * len(args))})", args).fetchone()[0]
    except psycopg.Error as exc:
        if currently_in_test_context():
            event(f"{name}: {exc.sqlstate}")
        assert exc.sqlstate in ALLOWED, f"{label} failed with {exc.sqlstate}: {exc}"
        text = " ".join(str(x) for x in (exc, exc.diag.message_detail, exc.diag.message_hint, exc.diag.context))
        assert echoed or w.mark not in text, f"{label}: the error shows data of company B: {text}"
        return Refused(exc.sqlstate)
    if currently_in_test_context():
        event(f"{name}: ok")
    assert w.mark not in json.dumps(res, default=str), f"{label} returned data of company B: {res}"
    return res


class Refused(str):
    pass


def refused(res, *codes):
    return isinstance(res, Refused) and (not codes or res in codes)


def still_a(w):
    """The attacker's context is still company A (and never became B)."""
    assert w.app.execute("select docpal.current_company()").fetchone()[0] == w.a.id


# --- hostile input -----------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
HOSTILE = ["'", "''", '"', "\\", "\\'", ";", "--", "/*", "*/", "' or '1'='1", "'; drop table deals; --",
           "$1", "$$", "$q$ select 1 $q$", "%s", "%I", "%L", "{B}", "{B}.deals", "{B}.deals.name", '"{B}"."deals"',
           "../{B}/deals", "../../etc/passwd", "pg_catalog.pg_class", "docpal_private.companies",
           "docpal_private.api_keys", "{BDEAL}", "{BACCT}", "{BCO}", "ünïcødé", "ｄｅａｌｓ", "deals\u200b",
           "\u202edeals", "𝕕𝕖𝕒𝕝𝕤", "x" * 3000, "1; select pg_sleep(30)", "current_setting('docpal.context')",
           "E'\\x41'", "null", "NaN", "Infinity", "-0", "1e999", "' || (select string_agg(name, ',') from {B}.deals) || '"]
SLUGS = ["deals", "accounts", "deals'", 'deals"', "deals;", "deals; drop table deals", "deals--", "{B}.deals",
         '"{B}".deals', '"{B}"."deals"', '{B}"."deals', "{B}.accounts", "{A}.deals", "public.deals", "pg_temp.deals",
         "pg_catalog.pg_class", "docpal_private.companies", "docpal_private.api_keys", "../deals", "../{B}/deals",
         "./deals", "deals/../accounts", "DEALS", "Deals", " deals", "deals ", "déals", "ｄｅａｌｓ", "deals\u200b",
         "_catalog", "_audit_log", "_tuples", "_relation_rules", "_schema_history", "_deals__blockers",
         "deals__blockers", "pg_class", "{B}", "a" * 63, "a" * 64, "a" * 5000, "", "*", "%", "deals%", "$1", "%I",
         "deals\nunion select 1", "deals)", "(deals)"]
slugs = st.one_of(st.sampled_from(SLUGS), TEXT, st.integers(60, 3000).map(lambda n: "d" * n))
PATHS = ["name", "amount", "stage", "secret", "id", "version", "created_by", "account_id", "account_id.name",
         "account_id.region", "parent_id.name", "parent_id.parent_id.account_id.name", "meta", "meta.note",
         "meta.'; drop", "meta.{B}", "blockers", "blockers.name", "{B}.deals.name", "{B}.accounts.name",
         "account_id.{B}", "{B}", "name; drop table deals", "name)--", '"name"', "name'", "../name",
         "pg_catalog.current_setting", "docpal_private.secrets.value", "x" * 100, "ñame", "name.", ".name",
         "name..x", "_catalog.spec", "-name", "--name", "*", "deals.name", "{A}.deals.name"]
VALID_PATHS = ["name", "amount", "stage", "secret", "id", "version", "created_at", "starts", "ends", "account_id",
               "account_id.name", "parent_id.name", "parent_id.account_id.region", "meta", "meta.note", "meta.n",
               "blockers"]
valid_paths = st.sampled_from(VALID_PATHS)
paths = st.one_of(valid_paths, valid_paths, valid_paths, st.sampled_from(PATHS), TEXT)
OPS = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "between", "like", "ilike", "contains", "icontains",
       "starts_with", "ends_with", "is_null", "is_empty", "has_any", "has_all", "EQ", "= 1 or 1=1 --", "eq;", "",
       "$1", "~", "regex", "similar_to", "_or", "_and", "_not", "sum", "count"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 6, 10 ** 6),
                    st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from(HOSTILE), TEXT)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.sampled_from(OPS + PATHS), c, max_size=3), max_leaves=8)
conditions = st.one_of(values, st.dictionaries(st.sampled_from(OPS), values, min_size=1, max_size=2))
filters = st.recursive(
    st.dictionaries(paths, conditions, max_size=3),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda fs: {"_or": fs}),
        st.lists(inner, max_size=3).map(lambda fs: {"_and": fs}),
        inner.map(lambda f: {"_not": f}),
        st.tuples(inner, inner).map(lambda ab: {**ab[0], **ab[1]})),
    max_leaves=10)
metric_names = st.one_of(st.sampled_from(["n", "total", "x; drop", "{B}", "N", ""]), TEXT)
metrics = st.dictionaries(metric_names, st.one_of(
    st.sampled_from(["count", "sum", "'; drop"]),
    st.dictionaries(st.sampled_from(["sum", "avg", "min", "max", "count_distinct", "'; drop", "pg_sleep"]),
                    paths, min_size=1, max_size=1),
    filters.map(lambda f: {"count_if": f}), st.tuples(paths, filters).map(lambda pf: {"sum_if": list(pf)}),
    st.tuples(paths, values).map(lambda pv: {"percentile": list(pv)}),
    st.one_of(st.sampled_from(["n / total", "n; drop", "{B}", "pg_sleep(1)"]), TEXT).map(lambda e: {"expr": e})),
    max_size=3)
specs = st.tuples(
    st.fixed_dictionaries({}, optional={
        "columns": st.one_of(st.lists(paths, max_size=4), values),
        "filters": st.one_of(filters, filters, values),
        "sort": st.one_of(st.lists(st.one_of(paths, paths.map(lambda p: "-" + p)), max_size=3), values),
        "limit": st.one_of(st.integers(-5, 2000), values),
        "offset": st.one_of(st.integers(-5, 10 ** 12), values),
        "search": st.one_of(st.sampled_from(HOSTILE), TEXT),
        "count": st.one_of(st.sampled_from(["exact", "estimated", "none", "'; drop"]), values),
        "having": filters,
        "limit_per_group": st.one_of(st.integers(-5, 2000), values),
        "max_depth": st.one_of(st.integers(-5, 200), values),
        "parent": st.one_of(st.just("parent_id"), paths), "label": paths, "start": paths, "end": paths,
        "dependencies": st.one_of(st.just("blockers"), paths), "color": paths, "lane_label": paths,
        "from": st.one_of(st.sampled_from(["2026-01-01", "{BDEAL}", "'"]), values),
        "to": st.one_of(st.sampled_from(["2026-12-31", "2026-01-01T00:00:00Z"]), values),
        "max_days": st.one_of(st.integers(-5, 40000), values),
        "root": st.sampled_from(["{BDEAL}", "{ADEAL}", None, "not-a-uuid", "'"]),
        "id": st.sampled_from(["{BDEAL}", "{ADEAL}", "{BGONE}", "x", None]),
        "metrics": st.one_of(metrics, values),
    }),
    st.one_of(paths, st.lists(paths, max_size=2), values),  # group_by: a path for kanban, a list for aggregate
    st.one_of(st.just({}), st.just({}), st.dictionaries(TEXT, values, max_size=2)),  # unknown keys
    st.booleans(),  # send every key to every function (or only the ones it takes)
)
#: the spec keys each view function takes (docs/reference.md "Queries"); the others are 22023
TAKES = {
    "query_table": {"columns", "filters", "search", "sort", "limit", "offset", "count"},
    "explain_query": {"columns", "filters", "search", "sort", "limit", "offset", "count"},
    "aggregate": {"filters", "search", "group_by", "metrics", "having"},
    "query_kanban": {"columns", "filters", "search", "sort", "group_by", "limit_per_group", "lane_label"},
    "query_tree": {"columns", "filters", "search", "sort", "parent", "root", "max_depth"},
    "query_gantt": {"filters", "search", "sort", "start", "end", "label", "dependencies", "limit", "offset"},
    "query_dropdown": {"filters", "search", "label", "limit", "offset", "sort"},
    "query_calendar": {"filters", "search", "start", "end", "from", "to", "label", "color", "max_days", "limit"},
    "query_breadcrumb": {"id", "parent", "label"},
}


def spec_for(name, drawn):
    base, group_by, unknown, everything = drawn
    spec = {**base, "group_by": group_by if name == "aggregate" or not isinstance(group_by, list) else group_by[0]
            if group_by else "stage"}
    if not everything:
        spec = {k: v for k, v in spec.items() if k in TAKES[name]}
    return {**unknown, **spec}


QUERY_FUNCTIONS = ["query_table", "aggregate", "query_kanban", "query_tree", "query_gantt", "query_calendar",
                   "query_dropdown", "query_breadcrumb", "explain_query"]
record_keys = st.one_of(st.sampled_from(["name", "amount", "stage", "secret", "account_id", "parent_id", "meta",
                                         "blockers", "starts"]), st.sampled_from(["name", "amount", "stage", "secret", "account_id", "parent_id", "meta",
                                         "blockers", "starts", "id", "version", "created_by", "updated_at",
                                         "{B}.deals.name", "name'", "name; drop table deals", "x" * 80]), TEXT)
record_values = st.one_of(values, st.sampled_from(["{BDEAL}", "{BACCT}", "{BGONE}", ["{BDEAL}"], "{ADEAL}"]))
records = st.one_of(st.dictionaries(record_keys, record_values, max_size=4),
                    st.dictionaries(record_keys, record_values, max_size=4).map(lambda d: {"name": "n", **d}), values)
ids = st.sampled_from(["{BDEAL}", "{BACCT}", "{BGONE}", "{ADEAL}", str(uuid.UUID(int=0)), str(uuid.uuid4())])
#: ids as the docs allow them (1-200 characters, no # and no whitespace), hostile otherwise
ID_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="#\x00", exclude_categories=("Zs", "Zl", "Zp", "Cc")),
                  min_size=1, max_size=40).filter(lambda t: not any(c.isspace() for c in t))
refs = st.one_of(st.sampled_from(["user:alice", "group:eng#member", "doc:{B}", "doc:x'y", "user:' or 1=1 --",
                                  "doc:{B}.deals", "folder:../../x", "user:%", "user:*", "doc:_tuples", "user:{BCO}",
                                  "{B}:x", "doc:" + "x" * 300, "user:a#b#c", "user:ünï", "doc:$1", "user:"]),
                 TEXT, st.tuples(st.sampled_from(["user", "doc", "folder", "group"]), TEXT).map(":".join),
                 st.tuples(st.sampled_from(["user", "doc", "folder", "group", "group"]), ID_TEXT,
                           st.sampled_from(["", "", "#member", "#viewer"])).map(lambda t: f"{t[0]}:{t[1]}{t[2]}"))
names = st.one_of(st.sampled_from(["viewer", "editor", "owner", "member", "parent"]),
                  st.sampled_from(["parent->viewer", "Viewer", "viewer'", "viewer; drop", "{B}", "", "x" * 70]), TEXT)


# --- the fuzzers ---------------------------------------------------------------------------------

@FUZZ
@given(slug=slugs)
def test_hostile_slugs_at_every_client_function(world, slug):
    w = world
    slug = fill(slug, w)
    b_top, b_gone, a_top = uuid.UUID(w.b.top), uuid.UUID(w.b.gone), uuid.UUID(w.a.top)
    res = attempt(w, "get_record", slug, b_top)
    assert res is None or refused(res), "a record of company B by id"
    attempt(w, "get_record", slug, a_top)
    for name, spec in (("query_table", {}), ("aggregate", {"metrics": {"n": "count"}}),
                       ("query_kanban", {"group_by": "stage"}), ("explain_query", {}),
                       ("query_dropdown", {"label": "name"}),
                       ("query_tree", {"parent": "parent_id"}),
                       ("query_breadcrumb", {"id": w.b.top, "parent": "parent_id", "label": "name"})):
        attempt(w, name, slug, spec)
    res = attempt(w, "record_history", slug, b_top)
    assert res == [] or refused(res)
    res = attempt(w, "record_version", slug, b_top, 1)
    assert res is None or refused(res)
    attempt(w, "describe_table", slug)
    attempt(w, "schema_history", slug)
    attempt(w, "create_record", slug, {"name": "created by the attacker"})
    attempt(w, "create_records", slug, [{"name": "attacker 1"}, {"name": "attacker 2"}])
    for name, args in (("update_record", (b_top, {"name": "pwned"})), ("delete_record", (b_top,)),
                       ("restore_record", (b_gone,)), ("rollback_record", (b_top, 1))):
        res = attempt(w, name, slug, *args)
        assert refused(res), f"{name}({slug!r}) on a record of company B succeeded: {res}"
    still_a(w)


@FUZZ
@given(slug=st.sampled_from(["deals"] * 8 + ["accounts", "{B}.deals", "DEALS"]), drawn=specs)
def test_hostile_specs_at_every_query_function(world, slug, drawn):
    w = world
    slug = fill(slug, w)
    for name in QUERY_FUNCTIONS:
        res = attempt(w, name, slug, Jsonb(fill(spec_for(name, drawn), w)))
        if name == "explain_query" and not refused(res):
            statement = res.split("-- $1")[0]
            assert not re.search(rf'"?{w.b.schema}"?\s*\.', statement), f"B's schema in the statement: {res}"
    still_a(w)


@FUZZ
@given(slug=st.sampled_from(["deals"] * 8 + ["accounts", "{B}.deals", "DEALS"]), data=records, target=ids,
       patch=records)
def test_hostile_writes(world, slug, data, target, patch):
    w = world
    slug, data, target, patch = fill(slug, w), fill(data, w), uuid.UUID(fill(target, w)), fill(patch, w)
    created = attempt(w, "create_record", slug, Jsonb(data))
    if isinstance(created, dict) and slug == "deals":
        # written into A, where the attacker's context is
        assert one(w.db, f"select count(*) from {w.a.schema}.deals where id = %s", uuid.UUID(created["id"])) == 1
    attempt(w, "create_records", slug, Jsonb([data, data] if isinstance(data, dict) else data))
    res = attempt(w, "update_record", slug, target, Jsonb(patch))
    if target in (uuid.UUID(w.b.top), uuid.UUID(w.b.acct), uuid.UUID(w.b.gone)):
        assert refused(res), f"update of a record of company B: {res}"
        assert refused(attempt(w, "delete_record", slug, target))
    still_a(w)


@FUZZ
@given(subject=refs, name=names, obj=refs, object_type=st.one_of(st.sampled_from(["doc", "folder", "group"]), TEXT),
       rules=st.one_of(st.dictionaries(names, st.lists(names, max_size=3), max_size=3), values))
def test_hostile_relations(world, subject, name, obj, object_type, rules):
    w = world
    subject, name, obj, object_type, rules = (fill(x, w) for x in (subject, name, obj, object_type, rules))
    res = attempt(w, "check_relation", subject, name, obj)
    assert res in (True, False) or refused(res, "22023", "54000")
    res = attempt(w, "lookup_objects", subject, name, object_type)
    assert isinstance(res, list) or res is None or refused(res, "22023", "54000")
    attempt(w, "relate", subject, name, obj)
    attempt(w, "unrelate", subject, name, obj)
    attempt(w, "define_relations", object_type, Jsonb(rules))
    still_a(w)


KEY_MUTATIONS = {
    "drop last": lambda k: k[:-1],
    "add one": lambda k: k + "x",
    "change last": lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),
    "upper": lambda k: k.upper(),
    "lower": lambda k: k.lower(),
    "leading space": lambda k: " " + k,
    "trailing space": lambda k: k + " ",
    "newline": lambda k: k + "\n",
    "quote": lambda k: k + "'",
    "injection": lambda k: k + "' or '1'='1",
    "like all": lambda k: k[:10] + "%",
    "like one": lambda k: k[:-1] + "_",
    "prefix": lambda k: k[:4],
    "reversed": lambda k: k[::-1],
    "doubled": lambda k: k + k,
    "no prefix": lambda k: k[4:],
    "other prefix": lambda k: "dpk-" + k[4:],
    "hex of it": lambda k: k.encode().hex(),
}
keys = st.one_of(
    st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(sorted(KEY_MUTATIONS))),
    st.sampled_from(["", "dpk_", "dpk_" + "A" * 43, "dpk_" + "_" * 43, "dpk_%", "%", "_", "*", "' or 1=1 --",
                     "x" * 10000, "dpk_" + "é" * 43, "null"]),
    TEXT,
    st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), min_size=43,
            max_size=43).map(lambda s: "dpk_" + s))


@FUZZ
@given(key=keys)
def test_hostile_keys(world, key):
    w = world
    if isinstance(key, tuple):
        key = KEY_MUTATIONS[key[1]]((w.a if key[0] == "a" else w.b).key)
    assume(key not in (w.a.key, w.b.key))
    res = attempt(w, "authenticate", key, False)
    assert refused(res, "28000"), f"authenticate({key!r}) gave {res}"
    company = w.app.execute("select docpal.current_company()").fetchone()[0]
    assert company in (w.a.id, None), "a refused key left a context of another company"
    res = attempt(w, "authenticate", w.a.key, False)
    assert res["company_id"] == str(w.a.id)


# --- crafted attacks ----------------------------------------------------------------------------

def test_records_of_company_b_are_out_of_reach_by_id(world):
    w = world
    b_top, b_child, b_gone, b_acct = (uuid.UUID(x) for x in (w.b.top, w.b.child, w.b.gone, w.b.acct))
    for rid in (b_top, b_child, b_gone):
        assert attempt(w, "get_record", "deals", rid) is None
        assert attempt(w, "record_history", "deals", rid) == []
        assert attempt(w, "record_version", "deals", rid, 1) is None
        assert attempt(w, "update_record", "deals", rid, {"name": "pwned"}) == "P0002"
        assert attempt(w, "delete_record", "deals", rid) == "P0002"
        assert refused(attempt(w, "rollback_record", "deals", rid, 1), "P0002")
        assert refused(attempt(w, "restore_record", "deals", rid), "P0002")
        assert attempt(w, "query_breadcrumb", "deals", {"id": str(rid), "parent": "parent_id", "label": "name"}) \
            == "P0002"
    assert attempt(w, "get_record", "accounts", b_acct) is None
    # B's ids in filters, trees and relations find nothing of B
    assert attempt(w, "query_table", "deals", {"filters": {"id": w.b.top}})["rows"] == []
    assert attempt(w, "query_table", "deals", {"filters": {"id": {"in": [w.b.top, w.b.child]}}})["rows"] == []
    assert attempt(w, "query_table", "deals", {"filters": {"account_id": w.b.acct}})["rows"] == []
    assert attempt(w, "query_table", "deals", {"filters": {"parent_id": w.b.top}})["rows"] == []
    assert attempt(w, "query_table", "deals", {"filters": {"blockers": {"has_any": [w.b.top]}}})["rows"] == []
    assert attempt(w, "query_tree", "deals", {"parent": "parent_id", "root": w.b.top})["nodes"] == []
    # records of A cannot point into B
    assert attempt(w, "create_record", "deals", {"name": "x", "account_id": w.b.acct}) == "23503"
    assert attempt(w, "create_record", "deals", {"name": "x", "parent_id": w.b.top}) == "23503"
    assert attempt(w, "create_record", "deals", {"name": "x", "blockers": [w.b.top]}) == "23503"
    assert attempt(w, "update_record", "deals", uuid.UUID(w.a.child), {"parent_id": w.b.top}) == "23503"
    # A's own data is all there, and nothing else
    rows = attempt(w, "query_table", "deals", {"columns": ["name", "account_id.name", "parent_id.name"]})["rows"]
    assert sorted(r["name"] for r in rows) == sorted([f"{w.a.tag} top deal", f"{w.a.tag} child deal"])
    groups = attempt(w, "aggregate", "deals", {"group_by": ["stage"], "metrics": {"n": "count"}})["groups"]
    assert sum(g["n"] for g in groups) == 2
    tables = attempt(w, "list_tables")
    assert w.mark not in json.dumps(tables)
    assert w.mark not in json.dumps(attempt(w, "audit_report", {"kind": "changes"}))
    assert attempt(w, "get_company", w.b.slug) is None
    assert attempt(w, "get_company", str(w.b.id)) is None


def test_relations_of_company_b_are_out_of_reach(world):
    w = world
    m = w.mark
    assert attempt(w, "check_relation", f"user:{m}", "viewer", f"doc:{m}") is False
    assert attempt(w, "check_relation", f"user:{m}", "viewer", f"folder:{m}") is False
    assert attempt(w, "lookup_objects", f"user:{m}", "viewer", "doc") == []
    assert attempt(w, "lookup_objects", "user:alice", "viewer", "doc") == [f"doc:{w.a.tag}-eng"]
    assert attempt(w, "check_relation", "user:alice", "viewer", f"doc:{m}-eng") is False
    assert attempt(w, "unrelate", f"user:{m}", "viewer", f"folder:{m}") == "P0002"
    assert attempt(w, "unrelate", f"folder:{m}", "parent", f"doc:{m}") == "P0002"
    # what the attacker does in A does not reach B
    attempt(w, "relate", "user:attacker", "owner", f"folder:{m}")
    attempt(w, "define_relations", "doc", {"viewer": ["viewer", "anyone"]})
    b = w.b.svc
    assert one(b, "select docpal.check_relation(%s, 'viewer', %s)", "user:attacker", f"doc:{m}") is False
    assert one(b, "select docpal.check_relation(%s, 'viewer', %s)", f"user:{m}", f"doc:{m}") is True
    assert one(b, "select docpal.lookup_objects('user:attacker', 'viewer', 'doc')") == []


def test_deep_and_huge_specs(world):
    w = world
    deep_not = {"name": "x"}
    for _ in range(200):
        deep_not = {"_not": deep_not}
    deep_or = {"name": "x"}
    for _ in range(200):
        deep_or = {"_or": [deep_or, {"amount": {"gt": 1}}]}
    cases = [
        {"filters": deep_not},
        {"filters": deep_or},
        {"columns": ["parent_id." * 60 + "name"]},
        {"filters": {"parent_id." * 60 + "name": "x"}},
        {"columns": ["meta." + ".".join(["k"] * 500)]},
        {"filters": {"meta." + ".".join(["'k"] * 300): {"eq": "'"}}},
        {"columns": ["name"] * 3000},
        {"filters": {f"meta.k{i}": i for i in range(1000)}},
        {"filters": {"name": {"in": ["'; drop table deals; --"] * 5000}}},
        {"sort": ["-name", "amount"] * 500},
        {"search": "' & | ! <-> :* " * 200},
    ]
    for spec in cases:
        for name in ("query_table", "aggregate", "explain_query"):
            attempt(w, name, "deals", spec)
    still_a(w)


# --- the context --------------------------------------------------------------------------------

def test_a_forged_context_is_refused(world, connect):
    w = world
    token = one(w.app, "select current_setting('docpal.context')")
    parts = token.split("|")
    assert parts[0] == str(w.a.id)
    b_session = one(w.b.svc, "select current_setting('docpal.context')")
    pid, start = w.app.execute("select pid, extract(epoch from backend_start)::text from pg_stat_activity "
                               "where pid = pg_backend_pid()").fetchone()
    forged = {
        "company swapped": "|".join([str(w.b.id)] + parts[1:]),
        "user swapped": "|".join([parts[0], str(w.b.owner)] + parts[2:]),
        "both swapped": "|".join([str(w.b.id), str(w.b.owner)] + parts[2:]),
        "B's session token": b_session,
        "B's token, this pid": "|".join(b_session.split("|")[:2] + [str(pid), start] + b_session.split("|")[4:]),
        "made up": f"{w.b.id}|{w.b.owner}|{pid}|{start}|{'0' * 64}",
        "extra field": token + "|x",
        "scopes widened": token.replace("read", "read,admin") if "read" in token else token + ",admin",
    }
    for label, value in forged.items():
        w.app.execute("select set_config('docpal.context', %s, false)", (value,))
        for name, args in (("current_company", ()), ("get_record", ("deals", uuid.UUID(w.b.top))),
                           ("query_table", ("deals", {})), ("check_relation", (f"user:{w.mark}", "viewer",
                                                                                f"doc:{w.mark}")),
                           ("lookup_objects", (f"user:{w.mark}", "viewer", "doc")),
                           ("create_record", ("deals", {"name": "forged"}))):
            res = attempt(w, name, *args)
            assert res == DENIED, f"{label}: {name} gave {res}"
        # also inside a transaction, set locally
        with w.app.transaction():
            w.app.execute("select set_config('docpal.context', %s, true)", (value,))
            assert attempt(w, "query_table", "deals", {}) == DENIED
    one(w.app, "select docpal.authenticate(%s, false)", w.a.key)
    still_a(w)


def test_the_app_cannot_set_or_borrow_a_context(world):
    w = world
    app = w.app
    for sql, args in (("select docpal.set_context(%s, %s, false)", (w.b.id, w.b.owner)),
                      ("select docpal.set_context(company => %s, user_id => %s, is_local => true)", (w.b.id, w.b.owner)),
                      ("select docpal.set_context(%s, %s, false)", (w.a.id, w.a.owner)),
                      ("set role docpal_service", ()),
                      ("set role postgres", ()),
                      ("set session authorization postgres", ()),
                      (f"set role {SERVICE_LOGIN}", ())):
        with pytest.raises(psycopg.Error) as exc:
            app.execute(sql, args)
        assert exc.value.sqlstate in (DENIED, "42704"), f"{sql}: {exc.value.sqlstate} {exc.value}"
    still_a(w)
    assert one(app, "select current_user") == APP_LOGIN


PRIVATE = [
    "select * from {B}.deals", "select * from {A}.deals", "select * from {B}.accounts", "select * from {B}._catalog",
    "select * from {B}._audit_log", "select * from {B}._tuples", "select * from {B}._relation_rules",
    "select * from {B}._schema_history", "select * from {B}._deals__blockers",
    "insert into {B}.deals (name) values ('x')", "update {B}.deals set name = 'x'", "delete from {B}.deals",
    "truncate {B}.deals", "copy {B}.deals to stdout", "alter table {B}.deals add column x int",
    "create table {B}.evil (id int)", "create index on {B}.deals (name)", "drop table {B}.deals",
    "create view pg_temp.peek as select * from {B}.deals",
    "select * from docpal_private.companies", "select * from docpal_private.memberships",
    "select * from docpal_private.api_keys", "select * from docpal_private.secrets",
    "select * from docpal_private.auth_attempts", "select * from docpal_private.tenant_steps",
    "select docpal_private.require_company()", "select docpal_private.rebac_ref('user:x', true)",
    "select docpal_private.context_token('{BCO}', '{BOWNER}', '')",
    "select docpal_ext.dblink_connect('dbname=postgres')",
    "create function docpal.evil() returns int language sql as 'select 1'",
    "create table docpal.evil (id int)",
    "create table docpal_private.evil (id int)",
]


def test_the_app_reaches_no_tenant_schema_or_private_table_directly(world):
    w = world
    misses = []
    for sql in PRIVATE:
        sql = fill(sql, w).replace("{BOWNER}", str(w.b.owner))
        try:
            w.app.execute(sql)
        except psycopg.Error as exc:
            if exc.sqlstate != DENIED:
                misses.append((sql, exc.sqlstate, str(exc)))
            assert w.mark not in str(exc)
        else:
            misses.append((sql, "ran", None))
    assert not misses, misses


# --- search_path hijacking ---------------------------------------------------------------------

def reads(w, conn=None):
    """What the attacker reads through docpal: a stable set of answers."""
    a_top = uuid.UUID(w.a.top)
    calls = [
        ("current_company", ()), ("current_user_id", ()),
        ("get_record", ("deals", a_top)),
        ("get_record", ("deals", uuid.UUID(w.b.top))),
        ("query_table", ("deals", {"columns": ["name", "amount", "account_id.name", "parent_id.name", "meta.note"],
                                   "filters": {"_or": [{"name": {"icontains": "deal"}}, {"amount": {"gt": 10}}]},
                                   "sort": ["-amount"]})),
        ("query_table", ("deals", {"search": "deal", "columns": ["name"], "sort": ["name"]})),
        ("aggregate", ("deals", {"group_by": ["stage"], "metrics": {"n": "count", "s": {"sum": "amount"}}})),
        ("query_kanban", ("deals", {"group_by": "stage", "columns": ["name"]})),
        ("query_tree", ("deals", {"parent": "parent_id", "columns": ["name"]})),
        ("record_history", ("deals", a_top)),
        ("record_version", ("deals", a_top, 1)),
        ("describe_table", ("deals",)),
        ("list_tables", ()),
        ("check_relation", (f"user:{w.a.tag}", "viewer", f"doc:{w.a.tag}")),
        ("check_relation", ("user:stranger", "viewer", f"doc:{w.a.tag}")),
        ("lookup_objects", ("user:alice", "viewer", "doc")),
        ("get_company", (w.a.slug,)),
        ("get_company", (w.b.slug,)),
        ("resolve_company", ("nope.example.com",)),
        ("get_record", ("_catalog", a_top)),
        ("query_table", ("{B}.deals", {})),
    ]
    out = []
    for name, args in calls:
        args = tuple(fill(a, w) for a in args)
        out.append((name, attempt(w, name, *args, conn=conn)))
    return out


HIJACK_FUNCTIONS = [
    ("format", "a text", "text"), ("format", "a text, b text", "text"), ("format", "a text, variadic b text[]", "text"),
    ("jsonb_build_object", "a text, b text", "jsonb"), ("jsonb_build_object", "variadic a text[]", "jsonb"),
("to_jsonb", "a text", "jsonb"), ("quote_ident", "a text", "text"),
    ("quote_literal", "a text", "text"), ("lower", "a text", "text"), ("now", "", "timestamptz"),
    ("gen_random_uuid", "", "uuid"), ("current_setting", "a text", "text"), ("set_config", "a text, b text, c boolean",
                                                                              "text"),
    ("hmac", "a bytea, b bytea, c text", "bytea"), ("digest", "a text, b text", "bytea"),
    ("encode", "a bytea, b text", "text"), ("regexp_match", "a text, b text", "text[]"),
    ("require_company", "", "record"), ("rebac_ref", "a text, b boolean", "record"),
]


def test_objects_the_app_creates_in_pg_temp_are_never_used(world):
    w = world
    app = w.app
    before = reads(w)
    audit_before = one(w.db, f"select count(*) from {w.a.schema}._audit_log")
    app.execute("create temp table hijack_log (what text)")
    app.execute("grant all on pg_temp.hijack_log to public")
    for name, args, returns in HIJACK_FUNCTIONS:
        if returns == "record":
            app.execute(f"create function pg_temp.{name}({args}) returns setof record language plpgsql as $$ begin "
                        f"insert into pg_temp.hijack_log values ('{name}'); return; end $$")
            continue
        value = {"text": "'hijacked'", "jsonb": "'{\"hijacked\": true}'", "timestamptz": "'2000-01-01'",
                 "uuid": "'00000000-0000-0000-0000-000000000000'", "bytea": "'\\x00'", "text[]": "'{hijacked}'"}
        app.execute(f"create function pg_temp.{name}({args}) returns {returns} language plpgsql as $$ begin "
                    f"insert into pg_temp.hijack_log values ('{name}'); return {value[returns]}::{returns}; end $$")
    # tables named like every table of docpal_private and of the company schemas
    names = {r[0] for r in w.db.execute(
        "select relname::text from pg_class where relkind in ('r', 'p', 'v') and relnamespace in "
        "(%s::regnamespace, %s::regnamespace, 'docpal_private'::regnamespace)", (w.a.schema, w.b.schema))}
    names |= {"deals", "accounts", "_catalog", "_audit_log", "_tuples", "_relation_rules", "companies",
              "memberships", "api_keys", "secrets", "jsonb", "uuid", "text", "record", "int4", "pg_class",
              "pg_namespace"}
    for name in sorted(names):
        # pg_catalog-qualified types: a temp table named jsonb or uuid is a type that pg_temp,
        # searched first for types when not in search_path, would otherwise give these columns
        app.execute(f'create temp table "{name}" (hijack pg_catalog.text default \'hijacked\', id pg_catalog.uuid, '
                    f'name pg_catalog.text, company_id pg_catalog.uuid, schema_name pg_catalog.text, '
                    f'object_type pg_catalog.text, rules pg_catalog.jsonb, spec pg_catalog.jsonb)')
        app.execute(f'insert into pg_temp."{name}" (id, name, company_id, schema_name, object_type, rules) '
                    f"values (%s, 'hijacked', %s, %s, 'doc', '{{\"viewer\": [\"viewer\"]}}')",
                    (uuid.UUID(w.b.top), w.b.id, w.b.schema))
    app.execute("set search_path = pg_temp, pg_catalog, docpal, public")

    after = reads(w)
    assert after == before
    # writes go where they belong
    res = attempt(w, "create_record", "deals", {"name": "after hijack", "account_id": w.a.acct})
    assert isinstance(res, dict), res
    assert one(w.db, f"select count(*) from {w.a.schema}.deals where id = %s", uuid.UUID(res["id"])) == 1
    assert one(w.db, f"select count(*) from {w.a.schema}._audit_log") > audit_before
    attempt(w, "relate", "user:after", "viewer", "doc:after")
    assert attempt(w, "check_relation", "user:after", "viewer", "doc:after") is True
    # nothing of the app was touched
    assert one(app, "select count(*) from pg_temp.hijack_log") == 0
    for name in sorted(names):
        assert app.execute(f'select hijack, name from pg_temp."{name}"').fetchall() == [("hijacked", "hijacked")], name


HOSTILE_SETTINGS = [
    "set standard_conforming_strings = off", "set backslash_quote = on", "set escape_string_warning = off",
    "set datestyle = 'SQL, DMY'", "set search_path = pg_temp, public", "set check_function_bodies = off",
    "set transform_null_equals = on", "set enable_indexscan = off", "set enable_hashjoin = off",
    "set plan_cache_mode = force_generic_plan", "set default_transaction_isolation = 'serializable'",
    "set row_security = off", "set application_name = $$'; drop table deals; --$$", "set lock_timeout = '1s'",
    "set docpal.ddl_lock_timeout = '0'", "set synchronize_seqscans = off", "set constraint_exclusion = off",
]


def _comparable(results):
    """Results with what differs between two calls by nature (new ids, times) left out."""
    out = []
    for name, res in results:
        if isinstance(res, dict) and not isinstance(res, Refused) and "id" in res and "created_at" in res:
            res = {k: v for k, v in res.items() if k not in ("id", "created_at", "updated_at")}
        out.append((name, res))
    return out


def test_hostile_session_settings_change_nothing(world, connect):
    """Attacker sessions set what a client may set before their first docpal call (plans
    and compiled PL/pgSQL are per session), then must see exactly what a plain session
    sees: the same reads, the same refusals, the same values written."""
    w = world
    probes = [
        ("get_record", ("deals'", uuid.UUID(w.a.top))), ("query_table", ("deals", {"columns": ["name\\'"]})),
        ("query_table", ("deals", {"filters": {"name": {"like": "\\%"}}, "columns": ["name"]})),
        ("query_table", ("deals", {"filters": {"amount": {"between": [10, "200.5"]}}, "columns": ["name"]})),
        ("check_relation", ("user:a\\ b", "viewer", "doc:1")), ("check_relation", ("user:a b", "viewer", "doc:1")),
        ("check_relation", ("user:a\\b", "viewer", "doc:1")),
        ("relate", ("user:\\t", "view\\er", "doc:1")), ("create_table", ({"slug": "x\\y", "columns": []},)),
        ("create_record", ("deals", {"name": "back\\slash 'quote'", "amount": "12.5", "starts": "2026-03-04"})),
    ]
    written = []

    def take_written():
        """The values the probe's create_record stored, as plain SQL reads them; then gone again."""
        written.append(w.db.execute(f"select name, amount::text, starts::text from {w.a.schema}.deals "
                                    f"where name like 'back%%'").fetchall())
        w.db.execute(f"delete from {w.a.schema}.deals where name like 'back%%'")

    plain = reads(w)
    plain_probes = _comparable([(name, attempt(w, name, *args)) for name, args in probes])
    take_written()
    differ = []
    for settings_ in [[s] for s in HOSTILE_SETTINGS] + [HOSTILE_SETTINGS]:
        evil = connect(APP_LOGIN)
        for sql in settings_:
            evil.execute(sql)
        one(evil, "select docpal.authenticate(%s, false)", w.a.key)
        evil.execute("set statement_timeout = '20s'")
        got_reads = reads(w, conn=evil)
        got_probes = _comparable([(name, attempt(w, name, *args, conn=evil)) for name, args in probes])
        take_written()
        label = settings_[0] if len(settings_) == 1 else "all of them"
        differ += [(label, want, got) for want, got in zip(plain + plain_probes, got_reads + got_probes) if want != got]
        evil.close()
    assert not differ, "\n".join(f"{label}: expected {want!r:.300}, got {got!r:.300}" for label, want, got in differ)
    assert written == [[("back\\slash 'quote'", "12.50", "2026-03-04")]] * len(written)
