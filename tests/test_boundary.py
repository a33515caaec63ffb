"""The boundary suite of issue 12: every client function, called as company A's
untrusted client with arguments that name company B's objects, leaves B
unchanged and unseen (contract sections 0, 1, 5, 6, 7 and 9).

One database per module holds two companies built the same way through the
public functions: A (the attacker's) and B (the victim). B has tables with
every relation kind (relation, self relation, relation_many, user, file, a
table only B has), records (one deleted, some updated), a file, custom
roles, grants, a group, ReBAC definitions and tuples, a workflow with a record
in flight, an event rule, events in its outbox and a consumer that polled
them, and an API key. Every name and value of B carries a random marker, so
anything of B that reaches the attacker is easy to find.

The attacker is a docpal_app login. Each call runs in its own transaction that
starts with `authenticate(<key of A>, true)` (a key of A's owner or of A's
member, all scopes), and is committed. After every call:
  - B is unchanged: every table of B's schema (row count and md5 of the ordered
    rows), B's rows in every docpal_private table, its company, users and key
    usage rows, and B's functions, triggers and relations;
  - B is unseen: neither the result nor the error (message, detail, hint,
    context) holds one of B's markers, B's ids (every uuid in B's data), B's
    schema, sha256 or channel, unless the attacker itself sent it as an argument;
  - a refusal carries one of the contract's SQLSTATEs (section 9).
The same calls without any context, with a forged context (A's token carrying
B's company id) and with a token copied from B's session are 42501.

Every function in schema docpal that docpal_app may execute must have cases
here (`test_every_client_function_is_covered`), so a new one cannot slip past.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from types import SimpleNamespace

import psycopg
import pytest
from psycopg.types.json import Jsonb
from pytest_postgresql.janitor import DatabaseJanitor

from conftest import APP_LOGIN, SERVICE_LOGIN

#: the contract's SQLSTATEs (section 9) a client call may fail with
ALLOWED = {"22023", "42P01", "42703", "42501", "22P02", "22007", "22008", "23502", "23503", "23505", "23514",
           "2BP01", "40001", "P0002", "28000", "53400", "54000", "55P03",
           "42704"}  # unknown role, group or type list (docs/reference.md)
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: functions that answer without a context (they are how a client gets one, or public by design)
NO_CONTEXT_OK = {"authenticate", "clear_context", "current_company", "current_user_id", "resolve_company",
                 "get_company"}


def J(value):
    return Jsonb(value)


def plain(value):
    """An argument as JSON-able data (for labels and for what the attacker knows)."""
    if isinstance(value, Jsonb):
        return value.obj
    if isinstance(value, (uuid.UUID, dt.datetime)):
        return str(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# --- the two companies ---------------------------------------------------------------------------

def tables(p):
    """Table specs of a company whose names carry the prefix p."""
    return [
        {"slug": "accounts", "name": f"{p}_accounts_name",
         "columns": [{"name": "name", "type": "text", "searchable": True}, {"name": "region", "type": "text"}]},
        {"slug": "deals", "name": f"{p}_deals_name",
         "columns": [{"name": "name", "type": "text", "required": True, "searchable": True},
                     {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
                     {"name": "secret", "type": "text"},
                     {"name": "stage", "type": "select", "options": ["new", "won", "lost"]},
                     {"name": "status", "type": "select", "options": ["draft", "submitted", "approved", "rejected"]},
                     {"name": "kind", "type": "select", "type_list": f"{p}_kinds"},
                     {"name": "account_id", "type": "relation", "target": "accounts", "on_delete": "set_null"},
                     {"name": "parent_id", "type": "relation", "target": "deals", "on_delete": "set_null"},
                     {"name": "blockers", "type": "relation_many", "target": "deals"},
                     {"name": "owner_id", "type": "user"},
                     {"name": "doc", "type": "file"},
                     {"name": "starts", "type": "date"},
                     {"name": "ends", "type": "date"},
                     {"name": "meta", "type": "json"}]},
        {"slug": f"{p}_vault", "name": f"{p}_vault_name",
         "columns": [{"name": "name", "type": "text", "searchable": True},
                     {"name": "deal_id", "type": "relation", "target": "deals", "on_delete": "cascade"},
                     {"name": "note", "type": "text"}]},
        {"slug": "scratch", "name": f"{p}_scratch_name",
         "columns": [{"name": "name", "type": "text"},
                     {"name": "state", "type": "select", "options": ["a", "b"]}]},
    ]


def build(db, url, p):
    """A company whose every name and value carries p, built through the public functions as
    its owner (a docpal_service connection); returns its handles."""
    slug = f"{p}co"
    cid = db.execute("select docpal.create_company(%s, %s)", (slug, f"{p}_company_name")).fetchone()[0]
    users = {}
    for role in ("owner", "member", "approver"):
        users[role] = db.execute("select docpal.create_user(%s, %s)",
                                 (f"{role}_{p}_mail@example.com", f"{p}_{role}_display")).fetchone()[0]
        db.execute("select docpal.add_member(%s, %s, %s)", (cid, users[role], "owner" if role == "owner" else "member"))
    schema = db.execute("select docpal.get_company(%s)->>'schema'", (str(cid),)).fetchone()[0]
    svc = psycopg.connect(url.replace("://postgres@", f"://{SERVICE_LOGIN}@"), autocommit=True)

    def as_user(user, sql, params=()):
        """One transaction acting as user in the company (a transaction-scoped context)."""
        with svc.transaction():
            svc.execute("select docpal.set_context(%s, %s, is_local => true)", (cid, user))
            return svc.execute(sql, params).fetchone()[0]

    def call(name, *args):
        marks = ", ".join(["%s"] * len(args))
        return as_user(users["owner"], f"select docpal.{name}({marks})",
                       [J(a) if isinstance(a, (dict,)) else a for a in args])

    call("create_type_list", f"{p}_kinds", J([f"{p}_kind_one", f"{p}_kind_two"]))
    for spec in tables(p):
        call("create_table", spec)
    sha = uuid.uuid4().hex + uuid.uuid4().hex
    file = call("register_file", {"name": f"{p}_file.pdf", "size": 4321, "mime": "application/pdf",
                                  "sha256": sha, "storage_key": f"s3://{p}_bucket/{sha}"})
    acct = call("create_record", "accounts", {"name": f"{p}_account", "region": f"{p}_region"})["id"]
    top = call("create_record", "deals", {"name": f"{p}_top_deal", "amount": 100, "secret": f"{p}_secret_top",
                                          "stage": "won", "kind": f"{p}_kind_one", "account_id": acct,
                                          "owner_id": str(users["member"]), "doc": file["id"],
                                          "starts": "2026-01-01", "ends": "2026-01-31",
                                          "meta": {"note": f"{p}_meta_note", "n": 1}})["id"]
    child = call("create_record", "deals", {"name": f"{p}_child_deal", "amount": 50, "secret": f"{p}_secret_child",
                                            "stage": "new", "parent_id": top, "blockers": [top],
                                            "starts": "2026-02-01", "ends": "2026-02-10"})["id"]
    gone = call("create_record", "deals", {"name": f"{p}_deleted_deal", "secret": f"{p}_secret_buried"})["id"]
    call("update_record", "deals", uuid.UUID(top), J({"amount": 120, "secret": f"{p}_secret_top_v2"}))
    call("delete_record", "deals", uuid.UUID(gone))
    vault = call("create_record", f"{p}_vault", {"name": f"{p}_vault_row", "deal_id": top,
                                                   "note": f"{p}_vault_note"})["id"]
    call("create_record", "scratch", {"name": f"{p}_scratch_row", "state": "a"})
    # roles, grants, a group
    call("create_role", f"{p}_approver")
    call("create_role", f"{p}_reader", f"{p}_approver")
    call("grant_permission", "member", "deals", ["read", "create", "update"],
         J({"columns": ["name", "amount", "stage", "status", "account_id", "parent_id", "blockers", "starts", "ends"]}))
    call("grant_permission", "member", "accounts", ["read"])
    call("grant_permission", f"{p}_approver", "deals", ["read", "update"], J({"row_filter": {"stage": "new"}}))
    call("assign_role", users["approver"], f"{p}_approver")
    call("create_group", f"{p}_group")
    call("add_group_member", f"{p}_group", users["member"])
    call("assign_group_role", f"{p}_group", f"{p}_reader")
    # ReBAC
    call("define_relations", f"{p}_doc", J({"viewer": ["viewer", "editor", "parent->viewer"],
                                             "editor": ["editor"]}))
    call("relate", f"user:{p}_alice", "viewer", f"{p}_doc:{p}_d1")
    call("relate", f"user:{users['member']}", "editor", f"{p}_doc:{p}_d2")
    # a workflow with a record in flight
    call("define_workflow", {"name": f"{p}_wf", "table": "deals", "state_column": "status", "initial": "draft",
                             "transitions": [
                                 {"name": "submit", "from": ["draft", "rejected"], "to": "submitted"},
                                 {"name": "approve", "from": ["submitted"], "to": "approved",
                                  "roles": [f"{p}_approver"], "approvals": 2},
                                 {"name": "reject", "from": ["submitted"], "to": "rejected",
                                  "roles": [f"{p}_approver"]}]})
    flight = call("create_record", "deals", {"name": f"{p}_flight_deal", "secret": f"{p}_secret_flight",
                                             "stage": "new"})["id"]
    call("transition_record", "deals", uuid.UUID(flight), "submit", f"{p}_comment")
    as_user(users["approver"], "select docpal.transition_record('deals', %s, 'approve')", (uuid.UUID(flight),))
    rule = call("create_event_rule", {"table": "deals", "actions": ["INSERT", "UPDATE"],
                                      "when": {"stage": "won"}, "workflow": f"{p}_evwf", "task_queue": f"{p}_queue"})
    call("update_record", "deals", uuid.UUID(child), J({"stage": "won"}))
    # a scheduled report and a dashboard of it (contract section 11)
    call("save_report", {"slug": f"{p}_dash_report", "name": f"{p}_dash_report_name", "table": "deals",
                         "kind": "aggregate", "spec": {"group_by": ["stage"], "metrics": {"n": "count"}},
                         "schedule": "0 * * * *"})
    call("save_dashboard", {"slug": f"{p}_board", "name": f"{p}_board_name", "widgets": [
        {"id": f"{p}_widget", "report": f"{p}_dash_report", "chart": "bar", "x": 0, "y": 0, "w": 12, "h": 4}]})
    # its scheduled run, stored as a snapshot (the service role, in this company's context)
    as_user(users["owner"], "select docpal.run_due_reports(now() + interval '2 hours')")
    # a consumer that polled the company's events (events stay in the outbox)
    events = call("poll_events", f"{p}_consumer", 5)
    keys = {}
    for who in ("owner", "member"):
        # a platform admin (the superuser) may create a key for any member (contract section 6)
        with db.transaction():
            db.execute("select docpal.set_context(%s, %s, is_local => true)", (cid, users["owner"]))
            keys[who] = db.execute("select docpal.create_api_key(%s, %s, %s::text[])",
                                   (f"{p}_{who}_key", users[who], ["read", "create", "update", "delete"])).fetchone()[0]
    channel = None
    if db.execute("select to_regprocedure('docpal.event_channel()') is not null").fetchone()[0]:
        channel = call("event_channel")
    token = as_user(users["owner"], "select current_setting('docpal.context', true)")
    svc.close()
    return SimpleNamespace(p=p, id=cid, slug=slug, schema=schema, users=users, acct=acct, top=top, child=child,
                           gone=gone, vault=vault, flight=flight, file=file, sha=sha, rule=rule["id"],
                           event_ids=[e["event_id"] for e in events or []], keys=keys, channel=channel,
                           token=token, vault_slug=f"{p}_vault")


# --- B, as it must stay ---------------------------------------------------------------------------

def snapshot(db, b):
    out = {}
    rels = db.execute("select c.oid::regclass::text from pg_class c where c.relnamespace = %s::regnamespace "
                      "and c.relkind = 'r' order by 1", (b.schema,)).fetchall()
    for (rel,) in rels:
        out[rel] = db.execute(f"select count(*), md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) "
                              f"from {rel} t").fetchone()
    out["relations"] = db.execute("select array_agg(relname::text || ':' || relkind::text order by relname) "
                                  "from pg_class where relnamespace = %s::regnamespace", (b.schema,)).fetchone()[0]
    out["functions"] = db.execute(
        "select array_agg(p.oid::regprocedure::text || ':' || md5(pg_get_functiondef(p.oid)) order by p.oid::regprocedure::text) "
        "from pg_proc p where p.pronamespace = %s::regnamespace and p.prokind in ('f', 'p')", (b.schema,)).fetchone()[0]
    out["triggers"] = db.execute(
        "select array_agg(t.tgrelid::regclass::text || ':' || t.tgname || ':' || t.tgenabled::text order by t.tgrelid::regclass::text, t.tgname) "
        "from pg_trigger t join pg_class c on c.oid = t.tgrelid where c.relnamespace = %s::regnamespace",
        (b.schema,)).fetchone()[0]
    private = db.execute("select table_schema || '.' || table_name from information_schema.columns "
                         "where table_schema = 'docpal_private' and column_name = 'company_id' "
                         "order by 1").fetchall()
    for (rel,) in private:
        out[rel] = db.execute(f"select count(*), md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) "
                              f"from {rel} t where t.company_id = %s", (b.id,)).fetchone()
    out["company"] = db.execute("select t::text from docpal_private.companies t where t.id = %s", (b.id,)).fetchall()
    out["users"] = db.execute("select array_agg(t::text order by t::text) from docpal_private.users t "
                              "where t.id = any(%s)", (list(b.users.values()),)).fetchone()[0]
    out["key_usage"] = db.execute(
        "select array_agg(u::text order by u::text) from docpal_private.api_key_usage u "
        "join docpal_private.api_keys k on k.id = u.key_id where k.company_id = %s", (b.id,)).fetchone()[0]
    return out


def secrets_of(db, b, a):
    """Every uuid found in B's data (and not in A's), plus B's schema, hex id, sha256 and channel."""
    def uuids(co):
        found = set()
        for (rel,) in db.execute("select c.oid::regclass::text from pg_class c where c.relnamespace = "
                                 "%s::regnamespace and c.relkind = 'r'", (co.schema,)).fetchall():
            for (text,) in db.execute(f"select t::text from {rel} t").fetchall():
                found |= set(UUID_RE.findall(text))
        for (text,) in db.execute("select t::text from docpal_private.api_keys t where company_id = %s",
                                  (co.id,)).fetchall():
            found |= set(UUID_RE.findall(text))
        return found | {str(co.id), *(str(u) for u in co.users.values())}
    ids = uuids(b) - uuids(a)
    words = {b.schema, str(b.id).replace("-", ""), b.sha, b.slug}
    if b.channel:
        words.add(b.channel)
    return ids, words


# --- the module's world ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(docpal_template):
    t = docpal_template
    dbname = f"docpal_boundary_{uuid.uuid4().hex[:8]}"
    janitor = DatabaseJanitor(user=t.user, host=t.host, port=t.port, dbname=dbname,
                              template_dbname=t.template_dbname, version=None, password=t.password)
    janitor.init()
    url = f"postgresql://{t.user}@{t.host}:{t.port}/{dbname}"
    conns = []

    def connect(user=None):
        conn = psycopg.connect(url if user is None else url.replace("://postgres@", f"://{user}@"), autocommit=True)
        conn.execute("set statement_timeout = '30s'")
        conns.append(conn)
        return conn

    try:
        db = connect()
        # docpal_owner creates the company schemas; a database cloned from the template does not
        # inherit the template's database-level grants (work in progress of the OWNER area)
        db.execute(f"do $$ begin if exists (select from pg_roles where rolname = 'docpal_owner') then "
                   f"grant create on database {dbname} to docpal_owner; end if; end $$")
        a = build(db, url, "zqa" + uuid.uuid4().hex[:10])
        b = build(db, url, "zqb" + uuid.uuid4().hex[:10])
        ids, words = secrets_of(db, b, a)
        w = SimpleNamespace(db=db, url=url, a=a, b=b, app=connect(APP_LOGIN), connect=connect,
                            b_ids=ids, b_words=words, mark=re.compile(re.escape(b.p) + r"[a-z0-9_]*"))
        w.before = snapshot(db, b)
        yield w
    finally:
        for conn in conns:
            conn.close()
        janitor.drop()


# --- calling as the attacker -------------------------------------------------------------------------

def client_functions(db):
    rows = db.execute("select p.proname::text from pg_proc p where p.pronamespace = 'docpal'::regnamespace "
                      "and has_function_privilege('docpal_app', p.oid, 'EXECUTE') order by 1").fetchall()
    return sorted({r[0] for r in rows})


def attack(w, name, args, *, key=None, conn=None, token=None):
    """Call docpal.<name>(*args) as the attacker in one transaction (authenticated with `key`,
    or with the session's context as it is when key is None); returns (result, error)."""
    conn = conn or w.app
    res = err = None
    try:
        with conn.transaction():
            conn.execute("set local statement_timeout = '20s'")
            conn.execute("set local lock_timeout = '5s'")
            if key is not None:
                conn.execute("select docpal.authenticate(%s, is_local => true)", (key,))
            marks = ", ".join(["%s"] * len(args))
            res = conn.execute(f"select docpal.{name}({marks})", list(args)).fetchone()[0]
    except psycopg.Error as exc:
        err = exc
    return res, err


def a_data_uuids(w):
    found = set()
    for (rel,) in w.db.execute("select c.oid::regclass::text from pg_class c where c.relnamespace = "
                               "%s::regnamespace and c.relkind = 'r' and c.relname !~ '^_audit'",
                               (w.a.schema,)).fetchall():
        for (text,) in w.db.execute(f"select t::text from {rel} t").fetchall():
            found |= set(UUID_RE.findall(text))
    return found


def check(w, name, args, res, err, *, exempt=()):
    """B unchanged and unseen after one call; returns a list of problems (empty when fine)."""
    label = f"{name}({', '.join(json.dumps(plain(a), default=str)[:120] for a in args)})"
    known = json.dumps([plain(a) for a in args], default=str).lower()
    problems = []
    if err is not None:
        d = err.diag
        seen = " ".join(str(x) for x in (d.message_primary, d.message_detail, d.message_hint, d.context) if x)
        if err.sqlstate not in ALLOWED:
            problems.append(f"{label}: failed with {err.sqlstate} (not a contract SQLSTATE): {d.message_primary}")
    else:
        seen = json.dumps(res, default=str)
    low = seen.lower()
    leaks = {m for m in w.mark.findall(low) if m not in known}
    leaks |= {u for u in UUID_RE.findall(low) if u in w.b_ids and u not in known and u not in exempt}
    if leaks - set(w.mark.findall(low)):
        # a B id the attacker itself stored in A's data earlier (a user column, say) is A's own data
        leaks -= a_data_uuids(w)
    leaks |= {x for x in w.b_words if x.lower() in low and x.lower() not in known}
    if leaks:
        problems.append(f"{label}: shows company B's {sorted(leaks)} in {'error' if err else 'result'}: {seen[:400]}")
    after = snapshot(w.db, w.b)
    if after != w.before:
        changed = sorted(k for k in set(after) | set(w.before) if after.get(k) != w.before.get(k))
        problems.append(f"{label}: changed company B: {changed}")
        w.before = after  # report each change once, at the call that made it
    return problems


# --- the cases: arguments that name B's objects --------------------------------------------------

def cases(w):
    """name -> [(args, extra check or None)]: every client function, aimed at B."""
    a, b = w.a, w.b
    U = uuid.UUID
    btop, bchild, bgone, bacct, bflight, bvault = (U(x) for x in (b.top, b.child, b.gone, b.acct, b.flight, b.vault))
    bowner, bmember, bapprover = b.users["owner"], b.users["member"], b.users["approver"]
    bv, bq = b.vault_slug, f"{b.schema}.deals"
    brole, bgroup, bdoc = f"{b.p}_approver", f"{b.p}_group", f"{b.p}_doc"
    bfile = b.file["id"]

    def refused(*codes):
        def f(res, err):
            # a member may be stopped by its grants first (42501), which reveals nothing either
            assert err is not None and (not codes or err.sqlstate in {*codes, "42501"}), \
                f"expected refusal {codes}, got {err.sqlstate if err else 'success: ' + str(res)[:200]}"
        return f

    def not_true(res, err):
        assert res is not True, "answered true about company B's objects"

    def empty_or_refused(res, err):
        assert err is not None or res in (None, [], {}), f"expected nothing, got {str(res)[:300]}"

    col = {"name": "zzextra", "type": "text"}
    rel_b = {"name": "zzrel", "type": "relation", "target": bv}
    q_ids = {"filters": {"id": {"in": [str(btop), str(bchild), str(bflight)]}}}
    return {
        # B's tables, docpal's own and the system's are never read through adopt_table (42501)
        "adopt_table": [((f"{b.schema}.deals", "zzadopt", J({})), refused("42501")),
                        ((f"{b.schema}.deals", "zzadopt", J({"dry_run": True})), refused("42501")),
                        ((f"{b.schema}._audit_log", "zzadopt", J({"dry_run": True})), refused("42501")),
                        (("docpal_private.users", "zzadopt", J({"dry_run": True})), refused("42501")),
                        (("docpal_private.companies", "zzadopt", J({})), refused("42501"))],
        "add_column": [((bv, J(col)), refused("42P01")), ((bq, J(col)), refused()),
                       (("scratch", J(rel_b)), refused()),
                       (("scratch", J({"name": "zzrel2", "type": "relation", "target": bq})), refused())],
        "add_group_member": [((bgroup, bmember), None), ((bgroup, a.users["member"]), None)],
        "aggregate": [((bv, J({"metrics": {"n": "count"}})), refused("42P01")),
                      (("deals", J({**q_ids, "metrics": {"n": "count"}, "group_by": ["account_id.name"]})), None),
                      (("deals", J({"metrics": {"n": "count"}, "group_by": ["kind"]})), None),
                      (("deals", J({"metrics": {"n": "count", "b": {"count_if": q_ids["filters"]},
                                                "s": {"sum_if": ["amount", {"account_id.name": {"is_null": False}}]},
                                                "r": {"expr": "b / n"}}})), None)],
        "alter_column": [((bv, "note", J({"label": "x"})), refused("42P01")),
                         ((bq, "secret", J({"label": "x"})), refused())],
        "alter_table": [((bv, J({"name": "pwned"})), refused("42P01")), ((bq, J({"name": "pwned"})), refused())],
        "apply_blueprint": [((J({"name": "zzb", "version": 1, "tables": [{"slug": "zzb1", "columns": [rel_b]}]}),),
                             refused("42P01")),
                            ((J({"name": "zzb", "version": 1, "tables": [
                                {"slug": "zzb2", "columns": [{"name": "r", "type": "relation", "target": bq}]}]}),),
                             refused()),
                            ((J({"name": "zzb", "version": 1,
                                 "records": {"deals": [{"name": "zz", "account_id": str(bacct)}]}}),), refused("23503")),
                            ((J({"name": "zzb", "version": 1,
                                 "grants": [{"role": brole, "table": bv, "actions": ["read"]}]}),), refused())],
        "assign_group_role": [((bgroup, brole), None)],
        "assign_role": [((bmember, brole), None), ((bapprover, "admin"), None),
                        ((a.users["member"], brole), None)],
        "audit_report": [((J({"kind": "changes", "table": bv}),), None),
                         ((J({"kind": "user_activity", "user_id": str(bowner)}),), None),
                         ((J({"kind": "changes", "table": "deals", "from": "2000-01-01", "to": "2100-01-01"}),), None),
                         ((J({"kind": "compliance", "from": "2000-01-01", "to": "2100-01-01"}),), None)],
        "authenticate": [((str(b.keys["owner"]["id"]),), refused("28000")),
                         ((b.keys["owner"]["key"][:-4] + "AAAA",), refused("28000"))],
        "check_permission": [((bmember, "read", "deals", btop), not_true), ((bowner, "delete", bv, bvault), not_true),
                             ((a.users["member"], "read", "deals", btop), not_true),
                             ((bapprover, "update", "deals", bchild), not_true)],
        "check_relation": [((f"user:{b.p}_alice", "viewer", f"{bdoc}:{b.p}_d1"), not_true),
                           ((f"user:{bmember}", "editor", f"{bdoc}:{b.p}_d2"), not_true)],
        "clear_context": [((), None)],
        "company_metrics": [((U(str(b.id)),), refused("42501")), ((None,), refused("42501"))],
        "company_blueprints": [((), None)],
        "create_api_key": [(("zz", bowner, ["read"]), refused("42501")),
                           (("zz", bmember, ["read", "create", "update", "delete"]), refused("42501"))],
        "create_event_rule": [((J({"table": bv, "workflow": "zz"}),), refused("42P01")),
                              ((J({"table": bq, "workflow": "zz"}),), refused())],
        "create_group": [((bgroup,), None)],
        "create_record": [((bv, J({"name": "zz"})), refused("42P01")),
                          ((bq, J({"name": "zz"})), refused()),
                          (("deals", J({"name": "zz", "account_id": str(bacct)})), refused("23503")),
                          (("deals", J({"name": "zz", "parent_id": str(btop)})), refused("23503")),
                          (("deals", J({"name": "zz", "blockers": [str(btop)]})), refused("23503")),
                          (("deals", J({"name": "zz", "doc": bfile})), refused("23503")),
                          (("deals", J({"name": "zz", "kind": f"{b.p}_kind_one"})), refused("23514")),
                          # a user of B only (not a member of A): if accepted, query_table below must not
                          # show its email or name through owner_id.email
                          (("deals", J({"name": "zz_b_user", "owner_id": str(bmember)})), None)],
        "create_records": [((bv, J([{"name": "zz"}])), refused("42P01")),
                           (("deals", J([{"name": "zz", "account_id": str(bacct)}])), refused("23503"))],
        "create_role": [((f"zz_{b.p}", brole), None)],
        "create_table": [((J({"slug": "zzt", "columns": [rel_b]}),), refused("42P01")),
                         ((J({"slug": "zzt2", "columns": [{"name": "r", "type": "relation", "target": bq}]}),),
                          refused()),
                         ((J({"slug": "zzt3", "columns": [{"name": "k", "type": "select",
                                                            "type_list": f"{b.p}_kinds"}]}),), refused())],
        "create_type_list": [((f"{b.p}_kinds", J(["x"])), None)],
        "current_company": [((), lambda res, err: res == a.id or pytest.fail(f"context is {res}"))],
        "current_user_id": [((), lambda res, err: res in a.users.values() or pytest.fail(f"user is {res}"))],
        "define_relations": [((bdoc, J({"viewer": ["viewer"]})), None)],
        "define_workflow": [((J({"name": f"{b.p}_wf", "table": bv, "state_column": "note", "initial": "x",
                                 "transitions": []}),), refused()),
                            ((J({"name": f"{b.p}_wf", "table": "scratch", "state_column": "state", "initial": "a",
                                 "transitions": [{"name": "go", "from": ["a"], "to": "b", "roles": [brole]}]}),),
                             None)],
        "delete_record": [(("deals", btop), refused("P0002")), (("deals", bflight), refused("P0002")),
                          ((bv, bvault), refused("42P01")), (("accounts", bacct), refused("P0002"))],
        "describe_table": [((bv,), refused("42P01")), ((bq,), refused())],
        "drop_dashboard": [((f"{b.p}_board",), refused("P0002"))],
        "drop_report": [((f"{b.p}_dash_report",), refused("P0002"))],
        "drop_column": [((bv, "note"), refused("42P01")), ((bq, "secret"), refused())],
        "drop_event_rule": [((U(b.rule),), None)],
        "drop_table": [((bv,), refused("42P01")), ((bq,), refused())],
        "event_channel": [((), lambda res, err: res != b.channel or pytest.fail("B's channel"))],
        "export_company": [((U(str(b.id)),), refused("42501")),
                           ((U(str(b.id)), J({"part": "records", "table": "deals", "limit": 10})), refused("42501")),
                           ((U(str(b.id)), J({"history": True})), refused("42501"))],
        "explain_query": [((bv, J({})), refused()), (("deals", J(q_ids)), None)],
        "get_company": [((str(b.id),), empty_or_refused), ((b.slug,), empty_or_refused),
                        ((b.schema,), empty_or_refused)],
        "get_record": [(("deals", btop), empty_or_refused), (("deals", bgone), empty_or_refused),
                       (("accounts", bacct), empty_or_refused), ((bv, bvault), refused("42P01"))],
        "grant_permission": [((brole, bv, ["read"]), refused()), (("member", bq, ["read"]), refused())],
        "get_dashboard": [((f"{b.p}_board",), refused("P0002")),
                          ((f"{b.p}_board", J({"stage": "won"})), refused("P0002"))],
        "list_dashboards": [((), None)],
        "list_reports": [((), None)],
        "list_event_rules": [((), None)],
        "list_tables": [((), None)],
        "lookup_objects": [((f"user:{b.p}_alice", "viewer", bdoc), empty_or_refused),
                           ((f"user:{bmember}", "editor", bdoc), empty_or_refused)],
        "maintain_audit_log": [((), None), ((1200, False), None)],
        "query_breadcrumb": [(("deals", J({"id": str(bchild), "parent": "parent_id", "label": "name"})), None),
                             ((bv, J({"id": str(bvault), "parent": "deal_id", "label": "name"})), refused("42P01"))],
        "query_dropdown": [(("deals", J({"label": "name", **q_ids})), None),
                           (("accounts", J({"label": "name", "search": b.p})), None),
                           ((bv, J({"label": "name"})), refused("42P01"))],
        "query_calendar": [(("deals", J({"start": "starts", "end": "ends", "label": "name", "color": "account_id.name",
                                         "from": "2000-01-01", "to": "2100-01-01", **q_ids})), None),
                           ((bv, J({"start": "starts", "label": "name", "from": "2000-01-01", "to": "2100-01-01"})),
                            refused("42P01")),
                           ((bq, J({"start": "starts", "label": "name", "from": "2000-01-01", "to": "2100-01-01"})),
                            refused())],
        "query_gantt": [(("deals", J({"start": "starts", "end": "ends", "label": "name",
                                      "dependencies": "blockers", **q_ids})), None)],
        "query_kanban": [(("deals", J({"group_by": "account_id", **q_ids})), None),
                         (("deals", J({"group_by": "kind"})), None),
                         (("deals", J({"group_by": "account_id", "lane_label": "name", **q_ids})), None)],
        "query_table": [(("deals", J(q_ids)), None),
                        (("deals", J({"search": b.p})), None),
                        (("deals", J({"columns": ["name", "account_id.name", "owner_id.email", "doc.storage_key"],
                                      "filters": {"owner_id": str(bmember)}})), None),
                        (("deals", J({"filters": {"doc.sha256": b.sha}})), None),
                        (("deals", J({"columns": ["name", "owner_id", "owner_id.email", "owner_id.display_name"],
                                      "filters": {"name": "zz_b_user"}})), None),
                        (("deals", J({"columns": [f"{b.schema}.deals.name"]})), refused()),
                        (("deals", J({"columns": ["name", {bv: {"columns": ["name", "note"]}}]})), refused()),
                        (("deals", J({"filters": {bv: {"_some": {"name": {"starts_with": b.p}}}}})), refused()),
                        (("deals", J({"filters": {"id": "$company"}})), None),
                        ((bv, J({})), refused("42P01")), ((bq, J({})), refused())],
        "query_tree": [(("deals", J({"parent": "parent_id", "root": str(btop)})), None)],
        # A's events from the oldest held (a bare event id) or from now: none of B's
        "read_events": [((None, 1000), None), (("0", 1000), None), ((str(min(b.event_ids or [0])), 1000), None)],
        "record_history": [(("deals", btop), empty_or_refused), (("deals", bgone), empty_or_refused),
                           ((bv, bvault), refused("42P01"))],
        "record_version": [(("deals", btop, 1), empty_or_refused), (("deals", bgone, 1), empty_or_refused)],
        "register_file": [((J({"name": "zz.pdf", "size": 1, "mime": "application/pdf", "sha256": b.sha,
                                "storage_key": "s3://zz/x"}),), None)],
        "relate": [((f"user:{b.p}_alice", "viewer", f"{bdoc}:{b.p}_d9"), None)],
        "rename_column": [((bv, "note", "zz"), refused("42P01")), ((bq, "secret", "zz"), refused())],
        "resolve_company": [((b.slug,), None)],
        "restore_record": [(("deals", bgone), refused("P0002")), ((bv, bvault), refused("42P01"))],
        "revoke_api_key": [((U(str(b.keys["owner"]["id"])),), None), ((U(str(b.keys["member"]["id"])),), None)],
        "revoke_permission": [((brole, "deals", ["read", "update"]), None), (("member", bv, ["read"]), refused())],
        "report_snapshots": [((f"{b.p}_dash_report",), refused("P0002")),
                             ((f"{b.p}_dash_report", 1000), refused("P0002"))],
        "rollback_record": [(("deals", btop, 1), refused()), (("deals", bflight, 1), refused())],
        "run_report": [((f"{b.p}_dash_report",), refused("P0002")),
                       ((f"{b.p}_dash_report", J({"stage": "won"})), refused("P0002"))],
        # B's tables by name or path, a param whose relation targets B's table: nothing of B
        "save_report": [((J({"slug": "zz_rep", "table": bv, "kind": "query"}),), refused("42P01")),
                        ((J({"slug": "zz_rep", "table": bq, "kind": "query"}),), refused()),
                        ((J({"slug": "zz_rep", "table": "deals", "kind": "query",
                             "spec": {"columns": ["name", {bv: {"columns": ["note"]}}]}}),), refused()),
                        ((J({"slug": "zz_rep", "table": "deals", "kind": "query",
                             "params": {"t": {"type": "relation", "target": bv}}}),), refused("42P01"))],
        # a widget naming B's report: no such report in A
        "save_dashboard": [((J({"slug": "zz_board", "name": "zz", "widgets": [
            {"id": "w", "report": f"{b.p}_dash_report", "chart": "bar", "x": 0, "y": 0, "w": 1, "h": 1}]}),),
            refused("22023"))],
        "rollback_table": [((bv, dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)), refused("42P01")),
                           ((bq, dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)), refused())],
        "schema_history": [((bv,), refused("42P01")), ((bq,), refused())],
        "seal_audit_chain": [((), None)],
        "transition_record": [(("deals", bflight, "approve"), refused()), (("deals", bflight, "reject"), refused()),
                              ((bv, bvault, "approve"), refused())],
        "unassign_role": [((bapprover, brole), None), ((bmember, "member"), None)],
        "unrelate": [((f"user:{b.p}_alice", "viewer", f"{bdoc}:{b.p}_d1"), None),
                     ((f"user:{b.p}_alice", "viewer", f"{bdoc}:{b.p}_d9"), None)],
        "update_record": [(("deals", btop, J({})), refused("P0002")),
                          (("deals", btop, J({"name": "pwned"})), refused("P0002")),
                          (("deals", bflight, J({"status": "approved"})), refused()),
                          ((bv, bvault, J({"note": "pwned"})), refused("42P01"))],
        "update_type_list": [((f"{b.p}_kinds", J(["x", "y"])), None)],
        "verify_audit_chain": [((), None)],
        "workflow_history": [(("deals", bflight), empty_or_refused), ((bv, bvault), refused())],
    }


#: the functions the cases cover (names only, so the coverage test can run without a world)
COVERED = {"add_column", "add_group_member", "adopt_table", "aggregate", "alter_column", "alter_table", "apply_blueprint",
           "assign_group_role", "company_blueprints",
           "assign_role", "audit_report", "authenticate", "check_permission", "check_relation", "clear_context",
           "company_metrics",
           "create_api_key", "create_event_rule", "create_group", "create_record",
           "create_records", "create_role", "create_table", "create_type_list", "current_company", "current_user_id",
           "define_relations", "define_workflow", "delete_record", "describe_table", "drop_column",
           "drop_dashboard", "get_dashboard", "list_dashboards", "save_dashboard",
           "drop_report", "list_reports", "report_snapshots", "run_report", "save_report",
           "drop_event_rule", "drop_table", "event_channel", "explain_query", "export_company", "get_company",
           "get_record", "grant_permission", "list_event_rules", "list_tables", "lookup_objects",
           "maintain_audit_log", "query_breadcrumb", "query_calendar", "query_dropdown", "query_gantt", "query_kanban",
           "query_table",
           "query_tree", "read_events", "record_history", "record_version", "register_file", "relate", "rename_column",
           "resolve_company", "restore_record", "revoke_api_key", "revoke_permission", "rollback_record",
           "rollback_table", "schema_history", "seal_audit_chain", "transition_record", "unassign_role", "unrelate",
           "update_record", "update_type_list", "verify_audit_chain", "workflow_history"}
#: the order the attacks run in: ones that could make A hold B's names run last
ORDER = sorted(COVERED, key=lambda n: (n in {"create_group", "create_role", "create_type_list", "define_relations",
                                              "define_workflow", "relate", "register_file"}, n))


# --- the tests -----------------------------------------------------------------------------------------

def test_every_client_function_is_covered(world):
    fns = client_functions(world.db)
    assert fns, "no client function found"
    assert "set_context" not in fns, "docpal_app may call set_context"
    missing = sorted(set(fns) - COVERED)
    assert not missing, f"client functions the boundary suite does not attack: {missing}"
    assert set(cases(world)) == COVERED


def test_the_detector_sees_b(world):
    """The unseen and unchanged checks do notice B (so a pass means something)."""
    w, b = world, world.b
    assert check(w, "probe", (), {"v": f"{b.p}_secret_top"}, None)
    assert check(w, "probe", (), [b.top], None)
    assert check(w, "probe", (), f"x {b.schema} y", None)
    assert not check(w, "probe", (b.top,), [b.top], None)
    assert not check(w, "probe", (), {"v": f"{w.a.p}_secret_top", "id": w.a.top}, None)
    before = w.before
    try:
        with w.db.transaction():
            w.db.execute(f"set local session_replication_role = replica")  # no audit trigger, rolled back anyway
            w.db.execute(f"update {b.schema}.scratch set name = 'changed'")
            assert check(w, "probe", (), None, None), "a change of B's rows went unnoticed"
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    w.before = before
    assert snapshot(w.db, b) == before


def test_the_attacker_is_in_company_a(world):
    for who in ("owner", "member"):
        res, err = attack(world, "current_company", (), key=world.a.keys[who]["key"])
        assert err is None and res == world.a.id, (who, res, err)
    assert world.app.execute("select docpal.current_company()").fetchone()[0] is None, \
        "the attacker's context outlived its transaction"


@pytest.mark.parametrize("who", ["owner", "member"])
@pytest.mark.parametrize("name", ORDER)
def test_client_function_leaves_b_unchanged_and_unseen(world, name, who):
    w = world
    assert name in client_functions(w.db), f"docpal.{name} is not a client function"
    problems = []
    for args, extra in cases(w)[name]:
        res, err = attack(w, name, args, key=w.a.keys[who]["key"])
        exempt = {str(w.b.id)} if name == "resolve_company" else ()  # host -> company id is public by design
        problems += check(w, name, args, res, err, exempt=exempt)
        if extra is not None:
            try:
                extra(res, err)
            except AssertionError as exc:
                label = f"{name}({', '.join(json.dumps(plain(a), default=str)[:80] for a in args)})"
                problems.append(f"{label}: {exc}".splitlines()[0])
    assert not problems, "\n".join(problems)


def _expect_denied(w, name, conn, how):
    problems = []
    for args, _ in cases(w)[name]:
        res, err = attack(w, name, args, conn=conn)
        exempt = {str(w.b.id)} if name == "resolve_company" else ()
        problems += check(w, name, args, res, err, exempt=exempt)
        if name in NO_CONTEXT_OK:
            if name == "authenticate":
                ok = err is not None and err.sqlstate in ("28000", "42501")
            else:
                ok = (err is not None and err.sqlstate == "42501") or res in (None, "") or name == "resolve_company"
            if not ok:
                problems.append(f"{name} {how}: got {err.sqlstate if err else repr(res)[:200]}")
        elif err is None or err.sqlstate != "42501":
            problems.append(f"{name} {how}: expected 42501, got "
                            f"{err.sqlstate + ' ' + err.diag.message_primary if err else 'success: ' + repr(res)[:200]}")
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def nocontext(world):
    """A docpal_app session that never authenticated."""
    return world.connect(APP_LOGIN)


@pytest.fixture(scope="module")
def forged(world):
    """A docpal_app session whose context is A's own valid token with B's company id put in."""
    conn = world.connect(APP_LOGIN)
    with conn.transaction():
        conn.execute("select docpal.authenticate(%s, is_local => true)", (world.a.keys["owner"]["key"],))
        token = conn.execute("select current_setting('docpal.context')").fetchone()[0]
    assert str(world.a.id) in token, "A's token does not name its company; the forgery below needs rethinking"
    conn.execute("select set_config('docpal.context', %s, false)", (token.replace(str(world.a.id), str(world.b.id)),))
    return conn


@pytest.fixture(scope="module")
def copied(world):
    """A docpal_app session holding the context token of a docpal_service session acting in B."""
    conn = world.connect(APP_LOGIN)
    conn.execute("select set_config('docpal.context', %s, false)", (world.b.token,))
    return conn


@pytest.mark.parametrize("name", ORDER)
def test_without_context_everything_is_denied(world, nocontext, name):
    assert name in client_functions(world.db), f"docpal.{name} is not a client function"
    _expect_denied(world, name, nocontext, "without context")


@pytest.mark.parametrize("name", ORDER)
def test_forged_context_is_denied(world, forged, name):
    assert name in client_functions(world.db), f"docpal.{name} is not a client function"
    _expect_denied(world, name, forged, "with A's token naming company B")


@pytest.mark.parametrize("name", ORDER)
def test_token_copied_from_another_session_is_denied(world, copied, name):
    assert name in client_functions(world.db), f"docpal.{name} is not a client function"
    assert world.b.token, "B's service session had no context token"
    _expect_denied(world, name, copied, "with a token copied from B's session")


def test_b_is_still_whole(world):
    """After everything: B's records read back as B's owner would see them."""
    svc = world.connect(SERVICE_LOGIN)
    with svc.transaction():
        svc.execute("select docpal.set_context(%s, %s, true)", (world.b.id, world.b.users["owner"]))
        rec = svc.execute("select docpal.get_record('deals', %s)", (uuid.UUID(world.b.top),)).fetchone()[0]
        assert rec["secret"] == f"{world.b.p}_secret_top_v2"
        chain = svc.execute("select docpal.verify_audit_chain()").fetchone()[0]
        assert chain["ok"], chain
