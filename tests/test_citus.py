"""Contract section 10 on a real Citus cluster: the contract's behaviours for a
company that is

  local        created with the platform setting `distributed` off (stays a
               local schema on the coordinator),
  distributed  created with `distributed` on (create_company hands the schema
               to Citus),
  distributed_later
               created local, given a table and a record, then handed to Citus
               by the DBA with `citus_schema_distribute` (the recipe of
               docs/scale-out.md: `distribute` below),
  moved        as distributed_later, then moved with `citus_schema_move` to the
               other worker.

Citus is not installable from the package registries of CI, so these tests
run only against a cluster named by DOCPAL_CITUS_URL (a superuser URL of the
coordinator's database, e.g. postgresql://postgres@127.0.0.1:9700/docpal) and
are skipped without it. They migrate that database once per module (docpal
migrate is the one install path), use unique slugs, and drop the companies
they made at the end, so they can run again on the same cluster.

Every public function of schema `docpal` has a case here, in the four modes
where it concerns a company: test_every_public_function_is_covered fails for
one that is neither in COVERED (and called by a test) nor in PLATFORM (with
the reason it holds no company's data).

No connection sets `citus.enable_unsafe_triggers`: docpal sets it for its
own schema changes, and the DBA's recipe for distributing an existing
company (`distribute`) sets it for that transaction. Every connection has a
statement timeout, so a hung distributed statement fails instead of hanging.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import re
import threading
import time
import uuid
from contextlib import contextmanager
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb, set_json_loads

from docpal import blueprints, deploy

CITUS_URL = os.environ.get("DOCPAL_CITUS_URL")

pytestmark = [
    pytest.mark.citus,
    pytest.mark.skipif(not CITUS_URL, reason="needs a Citus cluster: set DOCPAL_CITUS_URL to a superuser "
                                             "URL of the coordinator's database (docs/scale-out.md)"),
]

MODES = ["local", "distributed", "distributed_later", "moved"]
DISTRIBUTED = ["distributed", "distributed_later", "moved"]

#: every connection: bounded waits (module docstring)
OPTIONS = "-c statement_timeout=60s -c lock_timeout=10s"

RUN = uuid.uuid4().hex[:8]  # unique per run: slugs, emails, consumer names
COMPANIES: dict[str, "Company"] = {}  # mode -> company, built on first use
CREATED: list[uuid.UUID] = []  # every company made here, dropped at the end

ITEM_SPEC = {"slug": "items", "name": "Items", "columns": [
    {"name": "name", "type": "text", "required": True, "max_length": 200, "searchable": True},
    {"name": "price", "type": "decimal", "precision": 12, "scale": 2, "min": 0},
    {"name": "status", "type": "select", "options": ["draft", "active"], "default": "draft"},
]}


# --------------------------------------------------------------------------
# Connections and calls


def connect() -> psycopg.Connection:
    conn = psycopg.connect(CITUS_URL, autocommit=True, options=OPTIONS)
    set_json_loads(lambda s: json.loads(s, parse_float=Decimal), conn)
    return conn


def one(conn, sql, *params):
    return conn.execute(sql, params).fetchone()[0]


def fn(conn, name, *args):
    """docpal.<name>(args...); dicts and lists go as jsonb."""
    args = [Jsonb(a) if isinstance(a, (dict, list)) else a for a in args]
    return one(conn, f"select docpal.{name}({', '.join(['%s'] * len(args))})", *args)


def short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    code = getattr(exc, "sqlstate", None)
    return f"{code + ' ' if code else ''}{text[0] if text else type(exc).__name__}"


@contextmanager
def refused(code: str):
    """The block fails with that SQLSTATE (the message is shown when it is another)."""
    with pytest.raises(psycopg.Error) as exc:
        yield exc
    assert exc.value.sqlstate == code, f"expected {code}, got {short(exc.value)}"


class Company:
    """A company in one mode, built on first use (a failure is kept and
    raised again by every test that needs the company, so each test reports
    the first error on its path)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.slug = f"citus-{mode.replace('_', '-')}-{RUN}"
        self.id: uuid.UUID | None = None
        self.schema: str | None = None
        self.owner: uuid.UUID | None = None
        self.conn: psycopg.Connection | None = None  # superuser, in the owner's context
        self.error: BaseException | None = None
        self.steps: list[str] = []

    def step(self, name, call):
        try:
            return call()
        except BaseException as exc:  # noqa: BLE001 - kept and re-raised by ready()
            self.error = exc
            self.steps.append(f"{name}: {short(exc)}")
            raise

    def ready(self) -> "Company":
        if self.error is not None:
            pytest.fail(f"building the {self.mode} company failed at {self.steps[-1]}", pytrace=False)
        assert self.conn is not None
        return self


def node_of(conn, schema) -> tuple[str, int] | None:
    """The worker that holds a distributed schema (its shards' node)."""
    row = conn.execute("""
        select s.nodename, s.nodeport
          from pg_catalog.pg_dist_partition p
          join citus_shards s on s.table_name = p.logicalrelid
          join pg_catalog.pg_class c on c.oid = p.logicalrelid
         where c.relnamespace = %s::regnamespace
         limit 1""", (schema,)).fetchone()
    return None if row is None else (row[0], row[1])


def distribute(admin: psycopg.Connection, schema: str) -> None:
    """The DBA's recipe for distributing an existing company (docs/scale-out.md):
    Citus copies the rows into the new shards with COPY, which would fire the
    capture triggers there and log every record again; replica mode, sent on to
    the workers, keeps them quiet during the copy."""
    with admin.transaction():
        admin.execute("set local citus.enable_unsafe_triggers = on")
        admin.execute("set local citus.propagate_set_commands = 'local'")
        admin.execute("set local session_replication_role = replica")
        admin.execute("select citus_schema_distribute(%s::regnamespace)", (schema,))


def build(admin: psycopg.Connection, mode: str, created: list, slug: str | None = None) -> Company:
    co = Company(mode)
    if slug is not None:  # a company of a test's own (the fixture's slug is taken)
        co.slug = slug
    try:
        distributed_on = mode == "distributed"
        if distributed_on:
            co.step("set_platform_setting distributed on",
                    lambda: admin.execute("select docpal.set_platform_setting('distributed', 'on')"))
        try:
            co.id = co.step("create_company", lambda: fn(admin, "create_company", co.slug, f"Citus {mode}"))
        finally:
            if distributed_on:
                admin.execute("select docpal.set_platform_setting('distributed', 'off')")
        created.append(co.id)
        co.schema = fn(admin, "get_company", str(co.id))["schema"]
        co.owner = co.step("create_user", lambda: fn(admin, "create_user", f"owner-{co.slug}@example.com", "Owner"))
        co.step("add_member", lambda: fn(admin, "add_member", co.id, co.owner, "owner"))
        co.conn = connect()
        co.step("set_context", lambda: co.conn.execute("select docpal.set_context(%s, %s, false)", (co.id, co.owner)))
        co.step("create_table items", lambda: fn(co.conn, "create_table", ITEM_SPEC))
        if mode in ("distributed_later", "moved"):
            # a company with data, then handed to Citus by the DBA
            co.step("create_record before distribute",
                    lambda: fn(co.conn, "create_record", "items", {"name": "before", "price": 1}))
            co.step("citus_schema_distribute", lambda: distribute(admin, co.schema))
        if mode == "moved":
            source = co.step("find the schema's node", lambda: node_of(admin, co.schema))
            assert source is not None, "the distributed schema has no shard placement"
            target = one(admin, """
                select nodename || ':' || nodeport from pg_catalog.pg_dist_node
                 where isactive and noderole = 'primary' and shouldhaveshards
                   and (nodename, nodeport) <> (%s, %s)
                 order by nodeid limit 1""", *source)
            host, port = target.rsplit(":", 1)
            co.step("citus_schema_move", lambda: admin.execute(
                "select citus_schema_move(%s::regnamespace, %s, %s)", (co.schema, host, int(port))))
            co.moved_from, co.moved_to = source, (host, int(port))
    except BaseException as exc:  # noqa: BLE001
        if co.error is None:
            co.error = exc
            co.steps.append(f"setup: {short(exc)}")
    return co


@contextmanager
def own_company(admin: psycopg.Connection, mode: str, tag: str):
    """A company of the test's own in that mode, for a test that changes the
    company itself (its settings, status, members, audit partitions, outbox):
    the shared company of the mode stays as the other tests expect it. The
    module's cleanup drops it."""
    co = build(admin, mode, CREATED, f"citus-{tag}-{mode.replace('_', '-')}-{uuid.uuid4().hex[:8]}")
    try:
        yield co.ready()
    finally:
        if co.conn is not None and not co.conn.closed:
            co.conn.close()


# --------------------------------------------------------------------------
# Module fixtures: migrate once, build each company once, clean up


@pytest.fixture(scope="module")
def admin():
    """Migrate the cluster's database once; a superuser connection to it.
    At the end: drop the companies made here, put `distributed` back."""
    deploy.migrate(CITUS_URL)
    conn = connect()
    before = one(conn, "select value from docpal_private.platform_settings where name = 'distributed'") or "off"
    yield conn
    for co in COMPANIES.values():
        if co.conn is not None:
            co.conn.close()
    problems = []
    for cid in CREATED:
        try:
            conn.execute("select docpal.drop_company(%s)", (cid,))
        except psycopg.Error as exc:
            problems.append(f"drop_company {cid}: {short(exc)}")
    conn.execute("select docpal.set_platform_setting('distributed', %s)", (before,))
    conn.close()
    if problems:
        # cleanup trouble is a finding too, but not one of the tests' results
        print("\n".join(["cleanup:"] + problems))


@pytest.fixture
def company(admin, request) -> Company:
    mode = request.param
    if mode not in COMPANIES:
        COMPANIES[mode] = build(admin, mode, CREATED)
    return COMPANIES[mode]


def modes(*names):
    return pytest.mark.parametrize("company", list(names or MODES), indirect=True)


def ctx(co: Company) -> psycopg.Connection:
    return co.conn


# --------------------------------------------------------------------------
# Section 1: companies


@modes()
def test_create_company(admin, company):
    company.ready()
    got = fn(admin, "get_company", company.slug)
    assert got["id"] == str(company.id)
    assert got["slug"] == company.slug and got["status"] == "active"
    assert got["schema"] == company.schema == "company_" + company.id.hex
    assert one(admin, "select count(*) from pg_namespace where nspname = %s", company.schema) == 1
    distributed = one(admin, "select count(*) from pg_dist_schema where schemaid = %s::regnamespace", company.schema)
    assert distributed == (0 if company.mode == "local" else 1), "citus_schemas lists the company schema iff distributed"


@modes()
def test_list_companies(admin, company):
    company.ready()
    listed = [c for c in fn(admin, "list_companies") if c["id"] == str(company.id)]
    assert listed == [fn(admin, "get_company", str(company.id))]


@modes()
def test_context_functions(company):
    """current_company, current_user_id and clear_context, and a context for
    one transaction (set_context's default, what a pooled connection uses)
    for a write and a read."""
    company.ready()
    conn = connect()
    try:
        assert conn.execute("select docpal.current_company(), docpal.current_user_id()").fetchone() == (None, None)
        conn.execute("select docpal.set_context(%s, %s, false)", (company.id, company.owner))
        assert one(conn, "select docpal.current_company()") == company.id
        assert one(conn, "select docpal.current_user_id()") == company.owner
        conn.execute("select docpal.clear_context()")
        assert conn.execute("select docpal.current_company(), docpal.current_user_id()").fetchone() == (None, None)
        with refused("42501"):
            fn(conn, "list_tables")

        with conn.transaction():
            conn.execute("select docpal.set_context(%s, %s)", (company.id, company.owner))
            assert one(conn, "select docpal.current_user_id()") == company.owner
            rec = fn(conn, "create_record", "items", {"name": "in one transaction", "price": 2})
            assert fn(conn, "get_record", "items", rec["id"]) == rec
        assert one(conn, "select docpal.current_company()") is None, "a local context ends with its transaction"
        assert rec["created_by"] == str(company.owner)
        assert fn(ctx(company), "get_record", "items", rec["id"]) == rec

        with conn.transaction():
            conn.execute("select docpal.set_context(%s, %s)", (company.id, company.owner))
            conn.execute("select docpal.clear_context()")
            assert one(conn, "select docpal.current_company()") is None, "clear_context ends a local context too"
    finally:
        conn.close()


# --------------------------------------------------------------------------
# Section 2: tables


@modes()
def test_create_table(company):
    company.ready()
    spec = {"slug": f"tasks_{company.mode}", "name": "Tasks", "columns": [
        {"name": "title", "type": "text", "required": True},
        {"name": "done", "type": "boolean"},
        {"name": "item_id", "type": "relation", "target": "items", "on_delete": "set_null"}]}
    got = fn(ctx(company), "create_table", spec)
    assert got["slug"] == spec["slug"]
    assert [c["name"] for c in got["columns"] if c["name"] in ("title", "done", "item_id")] == ["title", "done", "item_id"]
    assert fn(ctx(company), "describe_table", spec["slug"])["slug"] == spec["slug"]
    assert spec["slug"] in [t["slug"] for t in fn(ctx(company), "list_tables")]


# --------------------------------------------------------------------------
# Section 3: records


SYSTEM = {"id", "version", "created_at", "updated_at", "created_by", "updated_by"}


@modes()
def test_create_record(company):
    company.ready()
    rec = fn(ctx(company), "create_record", "items", {"name": "Widget", "price": 9.5})
    assert SYSTEM <= rec.keys()
    assert rec["name"] == "Widget" and rec["price"] == Decimal("9.5") and rec["status"] == "draft"
    assert rec["version"] == 1 and rec["created_by"] == str(company.owner)


@modes()
def test_get_record(company):
    company.ready()
    rec = fn(ctx(company), "create_record", "items", {"name": "Gadget", "price": 3})
    assert fn(ctx(company), "get_record", "items", rec["id"]) == rec
    assert fn(ctx(company), "get_record", "items", str(uuid.uuid4())) is None


@modes()
def test_update_record(company):
    company.ready()
    rec = fn(ctx(company), "create_record", "items", {"name": "Old", "price": 1})
    new = fn(ctx(company), "update_record", "items", rec["id"], {"name": "New", "price": 2})
    assert new["name"] == "New" and new["price"] == 2 and new["version"] == 2
    assert fn(ctx(company), "get_record", "items", rec["id"])["version"] == 2
    with pytest.raises(psycopg.Error) as exc:
        fn(ctx(company), "update_record", "items", rec["id"], {"name": "Stale"}, 1)
    assert exc.value.sqlstate == "40001"


@modes()
def test_delete_record(company):
    company.ready()
    rec = fn(ctx(company), "create_record", "items", {"name": "Doomed", "price": 1})
    gone = fn(ctx(company), "delete_record", "items", rec["id"])
    assert gone["id"] == rec["id"] and gone["name"] == "Doomed"
    assert fn(ctx(company), "get_record", "items", rec["id"]) is None
    with pytest.raises(psycopg.Error) as exc:
        fn(ctx(company), "delete_record", "items", rec["id"])
    assert exc.value.sqlstate == "P0002"


# --------------------------------------------------------------------------
# Section 4: queries


@modes()
def test_query_table(company):
    company.ready()
    tag = uuid.uuid4().hex[:6]
    rows = [{"name": f"q-{tag}-{i:02d}", "price": i, "status": "active" if i % 2 else "draft"} for i in range(20)]
    fn(ctx(company), "create_records", "items", rows)
    got = fn(ctx(company), "query_table", "items", {
        "columns": ["name", "price"], "filters": {"name": {"starts_with": f"q-{tag}-"}, "status": "active"},
        "sort": ["-price"], "limit": 5})
    assert got["total"] == 10
    assert got["rows"] == [{"name": f"q-{tag}-{i:02d}", "price": i} for i in (19, 17, 15, 13, 11)]


# --------------------------------------------------------------------------
# Section 5: audit


@modes()
def test_record_history(company):
    company.ready()
    rec = fn(ctx(company), "create_record", "items", {"name": "Hist", "price": 99.99})
    fn(ctx(company), "update_record", "items", rec["id"], {"price": 129.99})
    fn(ctx(company), "delete_record", "items", rec["id"])
    hist = fn(ctx(company), "record_history", "items", rec["id"])
    assert [(h["action"], h["version"]) for h in hist] == [("INSERT", 1), ("UPDATE", 2), ("DELETE", 2)]
    assert all(h["table"] == "items" and h["record_id"] == rec["id"] for h in hist)
    assert hist[1]["changed"] == ["price"] and "99.99" in hist[1]["summary"] and "129.99" in hist[1]["summary"]
    assert hist[0]["user_id"] == str(company.owner)


@modes()
def test_verify_audit_chain(company):
    company.ready()
    fn(ctx(company), "create_record", "items", {"name": "Chain", "price": 1})
    got = fn(ctx(company), "verify_audit_chain")
    assert got["ok"] is True and got["first_broken"] is None and got["checked"] >= 1


# --------------------------------------------------------------------------
# Section 7: events


def drain(conn, consumer):
    while True:
        batch = fn(conn, "poll_events", consumer, 1000)
        if not batch:
            return
        fn(conn, "ack_events", consumer, batch[-1]["event_id"])


@modes()
def test_events_order_and_ack(company):
    company.ready()
    conn = ctx(company)
    consumer = f"citus-{company.mode}-{RUN}"
    drain(conn, consumer)
    recs = [fn(conn, "create_record", "items", {"name": f"ev-{i}", "price": i}) for i in range(3)]
    fn(conn, "update_record", "items", recs[0]["id"], {"price": 7})
    events = fn(conn, "poll_events", consumer, 1000)
    ids = [e["event_id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "events come in id order, once each"
    ours = [(e["record_id"], e["action"], e["version"]) for e in events
            if e["record_id"] in {r["id"] for r in recs}]
    assert ours == [(r["id"], "INSERT", 1) for r in recs] + [(recs[0]["id"], "UPDATE", 2)], "commit order"
    assert all(e["company_id"] == str(company.id) and e["table"] == "items" for e in events
               if e["record_id"] in {r["id"] for r in recs})
    fn(conn, "ack_events", consumer, ids[-1])
    assert fn(conn, "poll_events", consumer, 1000) == [], "nothing after the acknowledgement"
    later = fn(conn, "create_record", "items", {"name": "ev-later", "price": 1})
    after = fn(conn, "poll_events", consumer, 1000)
    assert [(e["record_id"], e["action"]) for e in after] == [(later["id"], "INSERT")]
    assert after[0]["event_id"] > ids[-1]
    fn(conn, "ack_events", consumer, after[-1]["event_id"])


# --------------------------------------------------------------------------
# Section 10: the whole company schema is one co-located unit


def relations(admin, schema):
    """Every table of the schema (partitioned parents and partitions
    included) with its Citus partition method and co-location id (null
    when it is a plain local table)."""
    return admin.execute("""
        select c.relname, p.partmethod::text, p.colocationid
          from pg_catalog.pg_class c
          left join pg_catalog.pg_dist_partition p on p.logicalrelid = c.oid
         where c.relnamespace = %s::regnamespace and c.relkind in ('r', 'p')
         order by c.relname""", (schema,)).fetchall()


@modes(*DISTRIBUTED)
def test_every_relation_distributed_and_colocated(admin, company):
    company.ready()
    # something made by a function after the schema was distributed (rule 8)
    fn(ctx(company), "create_table", {"slug": f"later_{RUN}", "name": "Later",
                                      "columns": [{"name": "tag", "type": "text"}]})
    fn(ctx(company), "create_record", f"later_{RUN}", {"tag": "x"})
    rels = relations(admin, company.schema)
    assert {r[0] for r in rels} >= {"items", f"later_{RUN}"}
    local = [r[0] for r in rels if r[1] is None]
    assert local == [], f"local coordinator tables in a distributed company schema: {local}"
    schema_colocation = one(admin, "select colocationid from pg_dist_schema where schemaid = %s::regnamespace",
                            company.schema)
    others = sorted({r[0] for r in rels if r[2] != schema_colocation})
    assert others == [], f"not co-located with the schema (colocation {schema_colocation}): {others}"
    nodes = admin.execute("""
        select distinct s.nodename, s.nodeport from citus_shards s
          join pg_catalog.pg_class c on c.oid = s.table_name
         where c.relnamespace = %s::regnamespace""", (company.schema,)).fetchall()
    assert len(nodes) == 1, f"a company lives on one node, found {nodes}"
    if company.mode == "moved":
        assert tuple(nodes[0]) == company.moved_to


@modes("local")
def test_local_company_stays_local(admin, company):
    """With `distributed` off a new company is a plain schema on the
    coordinator, nothing of it handed to Citus."""
    company.ready()
    fn(ctx(company), "create_table", {"slug": f"later_{RUN}", "name": "Later",
                                      "columns": [{"name": "tag", "type": "text"}]})
    assert [r[0] for r in relations(admin, company.schema) if r[1] is not None] == []


# --------------------------------------------------------------------------
# More of the contract on every kind of company: each test makes its own
# tables (unique slugs: the company of a mode is shared between tests), roles,
# users and consumers, so the tests stay independent of each other.


def uniq(prefix: str) -> str:
    """A unique slug / role / type name (`^[a-z][a-z0-9_]{0,62}$`)."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def col(desc, name):
    found = [c for c in desc["columns"] if c["name"] == name]
    return found[0] if found else None


def data_of(rec):
    return {k: v for k, v in rec.items() if k not in SYSTEM}


def member_conn(admin, co: Company, role: str = "member") -> tuple[uuid.UUID, psycopg.Connection]:
    """A new user of the company with that company role, and a connection in
    its (session-long) context."""
    uid = fn(admin, "create_user", f"{uniq('u')}-{co.slug}@example.com", "Someone")
    admin.execute("select docpal.add_member(%s, %s, %s)", (co.id, uid, role))
    conn = connect()
    conn.execute("select docpal.set_context(%s, %s, false)", (co.id, uid))
    return uid, conn


def owner_conn(co: Company) -> psycopg.Connection:
    conn = connect()
    conn.execute("select docpal.set_context(%s, %s, false)", (co.id, co.owner))
    return conn


def poll_all(conn, consumer):
    """Everything the consumer gets (each batch acknowledged) until the outbox
    has nothing more for it."""
    got = []
    while True:
        batch = fn(conn, "poll_events", consumer, 1000)
        if not batch:
            return got
        got += batch
        fn(conn, "ack_events", consumer, batch[-1]["event_id"])


def assert_distributed_with_schema(admin, co: Company, names):
    """In a distributed company, the named relations are distributed and
    co-located with the schema (contract section 10, rule 8)."""
    if co.mode == "local":
        assert [r[0] for r in relations(admin, co.schema) if r[1] is not None] == []
        return
    schema_colocation = one(admin, "select colocationid from pg_dist_schema where schemaid = %s::regnamespace",
                            co.schema)
    rels = {r[0]: r for r in relations(admin, co.schema)}
    for name in names:
        assert name in rels, f"{name} is missing from {co.schema}"
        assert rels[name][1] is not None, f"{name} is a local coordinator table in a distributed schema"
        assert rels[name][2] == schema_colocation, f"{name} is not co-located with the schema"


# --------------------------------------------------------------------------
# Section 2: schema changes on a table with records


@modes()
def test_schema_changes_keep_records(admin, company):
    company.ready()
    conn = ctx(company)
    slug = uniq("ddl")
    fn(conn, "create_table", {"slug": slug, "name": "DDL", "columns": [
        {"name": "name", "type": "text", "required": True, "max_length": 10},
        {"name": "code", "type": "text"},
        {"name": "note", "type": "text"},
        {"name": "extra", "type": "text"}]})
    recs = [fn(conn, "create_record", slug, {"name": f"r{i}", "code": str(i * 7), "note": f"n{i}", "extra": "x"})
            for i in range(3)]

    desc = fn(conn, "add_column", slug, {"name": "score", "type": "integer", "default": 5})
    assert col(desc, "score")["data_type"] == "integer"
    assert [fn(conn, "get_record", slug, r["id"])["score"] for r in recs] == [5, 5, 5]

    desc = fn(conn, "rename_column", slug, "note", "remark")
    assert col(desc, "note") is None and col(desc, "remark") is not None
    got = fn(conn, "get_record", slug, recs[1]["id"])
    assert got["remark"] == "n1" and "note" not in got

    desc = fn(conn, "alter_column", slug, "name", {"max_length": 40})
    assert col(desc, "name")["max_length"] == 40
    fn(conn, "update_record", slug, recs[0]["id"], {"name": "a name longer than ten"})
    with pytest.raises(psycopg.Error) as exc:
        fn(conn, "update_record", slug, recs[0]["id"], {"name": "x" * 41})
    assert exc.value.sqlstate == "23514"

    desc = fn(conn, "alter_column", slug, "code", {"type": "integer", "min": 0})
    assert col(desc, "code")["type"] == "integer" and col(desc, "code")["data_type"] == "integer"
    assert [fn(conn, "get_record", slug, r["id"])["code"] for r in recs] == [0, 7, 14]
    with pytest.raises(psycopg.Error) as exc:  # a conversion that fails changes nothing
        fn(conn, "alter_column", slug, "remark", {"type": "integer"})
    assert exc.value.sqlstate == "22P02"
    assert col(fn(conn, "describe_table", slug), "remark")["type"] == "text"

    desc = fn(conn, "drop_column", slug, "extra")
    assert col(desc, "extra") is None
    assert [c["name"] for c in desc["columns"] if c["name"] not in SYSTEM] == ["name", "code", "remark", "score"]

    got = fn(conn, "query_table", slug, {"sort": ["-code"]})
    assert got["total"] == 3
    assert [data_of(r) for r in got["rows"]] == [
        {"name": "r2", "code": 14, "remark": "n2", "score": 5},
        {"name": "r1", "code": 7, "remark": "n1", "score": 5},
        {"name": "a name longer than ten", "code": 0, "remark": "n0", "score": 5}]
    new = fn(conn, "create_record", slug, {"name": "after", "code": 3})
    assert new["code"] == 3 and new["score"] == 5 and "extra" not in new
    changes = [h["change"] for h in fn(conn, "schema_history", slug)]
    assert changes == ["create_table", "add_column", "rename_column", "alter_column", "alter_column",
                       "drop_column"]
    assert fn(conn, "verify_audit_chain")["ok"] is True
    assert_distributed_with_schema(admin, company, [slug])


@modes()
def test_drop_table(admin, company):
    company.ready()
    conn = ctx(company)
    target, source = uniq("dropt"), uniq("dropr")
    fn(conn, "create_table", {"slug": target, "name": "Target", "columns": [{"name": "name", "type": "text"}]})
    fn(conn, "create_table", {"slug": source, "name": "Source", "columns": [
        {"name": "name", "type": "text"},
        {"name": "target_id", "type": "relation", "target": target, "on_delete": "set_null"},
        {"name": "links", "type": "relation_many", "target": target}]})
    t = fn(conn, "create_record", target, {"name": "t"})
    fn(conn, "create_records", source, [{"name": f"s{i}", "target_id": t["id"], "links": [t["id"]]}
                                        for i in range(5)])
    with pytest.raises(psycopg.Error) as exc:  # another table's relation points at it
        fn(conn, "drop_table", target)
    assert exc.value.sqlstate == "2BP01"
    assert fn(conn, "get_record", target, t["id"])["name"] == "t"

    # a report on it: drop_table also deletes the snapshots of the reports linked to it
    # (docpal_private.report_forget_table, a recursive CTE over the catalog and a DELETE ... USING)
    report = uniq("dropq")
    fn(conn, "save_report", {"slug": report, "table": target, "kind": "query", "spec": {"columns": ["name"]}})
    fn(conn, "drop_table", source)
    with pytest.raises(psycopg.Error) as exc:
        fn(conn, "describe_table", source)
    assert exc.value.sqlstate == "42P01"
    assert fn(conn, "run_report", report)["result"]["rows"] == [{"name": "t"}]
    fn(conn, "drop_report", report)
    slugs = [x["slug"] for x in fn(conn, "list_tables")]
    assert source not in slugs and target in slugs
    left = [r[0] for r in relations(admin, company.schema) if r[0] == source or r[0].startswith(f"_{source}")]
    assert left == [], f"drop_table left {left}"
    fn(conn, "drop_table", target)
    assert target not in [x["slug"] for x in fn(conn, "list_tables")]
    assert one(admin, "select to_regclass(%s)", f"{company.schema}.{target}") is None
    if company.mode != "local":
        assert one(admin, """select count(*) from pg_catalog.pg_dist_partition
                              where logicalrelid::text in (%s, %s)""",
                   f"{company.schema}.{source}", f"{company.schema}.{target}") == 0


@modes()
def test_alter_table(company):
    company.ready()
    conn = ctx(company)
    slug = uniq("alt")
    fn(conn, "create_table", {"slug": slug, "name": "Before", "columns": [{"name": "n", "type": "integer"}]})
    rec = fn(conn, "create_record", slug, {"n": 1})
    desc = fn(conn, "alter_table", slug, {"name": "After", "description": "renamed"})
    assert (desc["slug"], desc["name"], desc["description"]) == (slug, "After", "renamed")
    assert fn(conn, "describe_table", slug) == desc
    assert [t["name"] for t in fn(conn, "list_tables") if t["slug"] == slug] == ["After"]
    with refused("22023"):  # only name and description
        fn(conn, "alter_table", slug, {"slug": "other"})
    hist = fn(conn, "schema_history", slug)
    assert [h["change"] for h in hist] == ["create_table", "alter_table"]
    assert (hist[1]["before"]["name"], hist[1]["after"]["name"], hist[1]["after"]["description"]) == \
        ("Before", "After", "renamed")
    assert hist[1]["user_id"] == str(company.owner)
    assert fn(conn, "get_record", slug, rec["id"]) == rec


@modes()
def test_type_lists(admin, company):
    company.ready()
    conn = ctx(company)
    lst, slug = uniq("prio"), uniq("tl")
    got = fn(conn, "create_type_list", lst, ["low", {"value": "high", "label": "High", "color": "#ff0000"}])
    assert got == {"slug": lst, "values": [{"value": "low", "label": "low", "color": None},
                                           {"value": "high", "label": "High", "color": "#ff0000"}]}
    with refused("42710"):
        fn(conn, "create_type_list", lst, ["x"])
    with refused("42704"):
        fn(conn, "update_type_list", uniq("nope"), ["x"])
    fn(conn, "create_table", {"slug": slug, "name": "Prio", "columns": [
        {"name": "p", "type": "select", "type_list": lst},
        {"name": "ps", "type": "multi_select", "type_list": lst}]})
    rec = fn(conn, "create_record", slug, {"p": "low", "ps": ["low", "high"]})
    assert (rec["p"], rec["ps"]) == ("low", ["low", "high"])
    with refused("23514"):
        fn(conn, "create_record", slug, {"p": "urgent"})

    got = fn(conn, "update_type_list", lst, ["low", "high", "urgent"])
    assert [v["value"] for v in got["values"]] == ["low", "high", "urgent"]
    assert fn(conn, "create_record", slug, {"p": "urgent", "ps": ["urgent"]})["ps"] == ["urgent"]
    with refused("23514"):  # 'low' is stored: refused, and nothing changes
        fn(conn, "update_type_list", lst, ["high", "urgent", "extra"])
    assert fn(conn, "create_record", slug, {"p": "low"})["p"] == "low"
    with refused("23514"):
        fn(conn, "create_record", slug, {"p": "extra"})
    fn(conn, "update_type_list", lst, ["low", "high", "urgent", "extra"])
    assert fn(conn, "create_record", slug, {"p": "extra"})["p"] == "extra"
    assert fn(conn, "query_table", slug, {})["total"] == 4
    assert fn(conn, "verify_audit_chain")["ok"] is True
    assert_distributed_with_schema(admin, company, [slug])


# --------------------------------------------------------------------------
# Relations: relation and relation_many


def relation_tables(conn):
    """Three new tables (unique slugs): cats, tags, and prods with a relation
    to cats (on_delete set_null) and a relation_many to tags."""
    cats, tags, prods = uniq("cat"), uniq("tag"), uniq("prod")
    fn(conn, "create_table", {"slug": cats, "name": "Cats", "columns": [{"name": "name", "type": "text"}]})
    fn(conn, "create_table", {"slug": tags, "name": "Tags", "columns": [{"name": "label", "type": "text"}]})
    fn(conn, "create_table", {"slug": prods, "name": "Prods", "columns": [
        {"name": "name", "type": "text"},
        {"name": "cat_id", "type": "relation", "target": cats, "on_delete": "set_null"},
        {"name": "tags", "type": "relation_many", "target": tags}]})
    return cats, tags, prods


@modes()
def test_relations(admin, company):
    company.ready()
    conn = ctx(company)
    cats, tags, prods = relation_tables(conn)
    phones = fn(conn, "create_record", cats, {"name": "Phones"})
    tvs = fn(conn, "create_record", cats, {"name": "TVs"})
    t = [fn(conn, "create_record", tags, {"label": f"t{i}"}) for i in range(3)]

    p = fn(conn, "create_record", prods, {"name": "P1", "cat_id": phones["id"], "tags": [t[0]["id"], t[1]["id"]]})
    assert p["cat_id"] == phones["id"] and p["tags"] == [t[0]["id"], t[1]["id"]]
    bare = fn(conn, "create_record", prods, {"name": "P2"})
    assert bare["tags"] == [] and bare["cat_id"] is None
    assert fn(conn, "get_record", prods, p["id"]) == p

    with pytest.raises(psycopg.Error) as exc:  # a link to a record that does not exist
        fn(conn, "create_record", prods, {"name": "bad", "tags": [str(uuid.uuid4())]})
    assert exc.value.sqlstate == "23503"
    with pytest.raises(psycopg.Error) as exc:
        fn(conn, "create_record", prods, {"name": "bad", "cat_id": str(uuid.uuid4())})
    assert exc.value.sqlstate == "23503"

    new = fn(conn, "update_record", prods, p["id"], {"cat_id": tvs["id"], "tags": [t[2]["id"], t[0]["id"]]})
    assert new["cat_id"] == tvs["id"] and new["tags"] == [t[2]["id"], t[0]["id"]]
    assert fn(conn, "get_record", prods, p["id"]) == new

    got = fn(conn, "query_table", prods, {"columns": ["name", "cat_id.name", "tags"], "sort": ["name"]})
    assert got == {"total": 2, "rows": [
        {"name": "P1", "cat_id.name": "TVs", "tags": [t[2]["id"], t[0]["id"]]},
        {"name": "P2", "cat_id.name": None, "tags": []}]}
    got = fn(conn, "query_table", prods, {"columns": ["name"], "filters": {"tags": {"contains": t[2]["id"]}}})
    assert got == {"total": 1, "rows": [{"name": "P1"}]}
    got = fn(conn, "query_table", prods, {"columns": ["name"], "filters": {"cat_id.name": "TVs"}})
    assert got["rows"] == [{"name": "P1"}]

    hist = fn(conn, "record_history", prods, p["id"])
    links = [h for h in hist if h["changed"] == ["tags"]]
    assert links, f"no link entry in {hist}"
    assert links[-1]["action"] == "UPDATE"
    assert links[-1]["old"] == {"tags": [t[0]["id"], t[1]["id"]]}
    assert links[-1]["new"] == {"tags": [t[2]["id"], t[0]["id"]]}
    assert [h for h in hist if "cat_id" in h["changed"]][-1]["new"]["cat_id"] == tvs["id"]
    v1 = fn(conn, "record_version", prods, p["id"], 1)
    assert v1["tags"] == [t[0]["id"], t[1]["id"]] and v1["cat_id"] == phones["id"]

    assert fn(conn, "verify_audit_chain")["ok"] is True
    junctions = [r[0] for r in relations(admin, company.schema) if r[0].startswith(f"_{prods}")]
    assert junctions, "relation_many made no junction table"
    assert_distributed_with_schema(admin, company, [cats, tags, prods, *junctions])


@modes()
def test_relations_both_ways(company):
    """Contract 4.1 on a distributed company: embeds, _some/_none, child
    aggregates, functions on paths and user paths compile to one statement
    the company's node runs (every table of the company, the users a
    reference table)."""
    company.ready()
    conn = ctx(company)
    cats, tags, prods = relation_tables(conn)
    phones = fn(conn, "create_record", cats, {"name": "Phones"})
    fn(conn, "create_record", cats, {"name": "Empty"})
    t = fn(conn, "create_record", tags, {"label": "t0"})
    fn(conn, "create_record", prods, {"name": "P1", "cat_id": phones["id"], "tags": [t["id"]]})
    fn(conn, "create_record", prods, {"name": "P2", "cat_id": phones["id"]})

    got = fn(conn, "query_table", cats, {
        "columns": ["name", "count(" + prods + ")", "created_by.email",
                    {prods: {"columns": ["name", {"tags": {"columns": ["label", "created_by.email"]}}],
                             "sort": ["name"]}}],
        "sort": ["name"]})
    assert got["rows"] == [
        {"name": "Empty", "count(" + prods + ")": 0, "created_by.email": f"owner-{company.slug}@example.com", prods: []},
        {"name": "Phones", "count(" + prods + ")": 2, "created_by.email": f"owner-{company.slug}@example.com", prods: [
            {"name": "P1", "tags": [{"label": "t0", "created_by.email": f"owner-{company.slug}@example.com"}]},
            {"name": "P2", "tags": []}]}]
    got = fn(conn, "query_table", cats, {"columns": ["name"], "filters": {prods: {"_some": {"tags": {"_some": {}}}}}})
    assert got["rows"] == [{"name": "Phones"}]
    got = fn(conn, "query_table", cats, {"columns": ["name"], "filters": {prods: {"_none": {}}}})
    assert got["rows"] == [{"name": "Empty"}]
    year = fn(conn, "query_table", prods, {"columns": ["year(created_at)"], "limit": 1})["rows"][0]["year(created_at)"]
    got = fn(conn, "aggregate", prods, {"group_by": ["year(created_at)"], "metrics": {"n": "count"},
                                        "filters": {"year(created_at)": year}})
    assert got["groups"] == [{"year(created_at)": year, "n": 2}]


@modes()
def test_deletes_through_relations(company):
    """Deleting a relation's target (on_delete set_null), a relation_many
    link's target and a record with links: the links go with it and the
    link entries are logged (docs/reference.md, Audit)."""
    company.ready()
    conn = ctx(company)
    cats, tags, prods = relation_tables(conn)
    cat = fn(conn, "create_record", cats, {"name": "Phones"})
    t = [fn(conn, "create_record", tags, {"label": f"t{i}"}) for i in range(3)]
    p = fn(conn, "create_record", prods, {"name": "P1", "cat_id": cat["id"], "tags": [t[0]["id"], t[1]["id"]]})
    q = fn(conn, "create_record", prods, {"name": "P2", "tags": [t[2]["id"]]})
    failures = []

    def attempt(what, call):
        try:
            call()
        except psycopg.Error as exc:
            failures.append(f"{what}: {short(exc)}")

    attempt("delete_record of a relation's target", lambda: fn(conn, "delete_record", cats, cat["id"]))
    attempt("delete_record of a relation_many link's target", lambda: fn(conn, "delete_record", tags, t[1]["id"]))
    attempt("delete_record of a record with links", lambda: fn(conn, "delete_record", prods, q["id"]))
    assert failures == [], "; ".join(failures)
    after = fn(conn, "get_record", prods, p["id"])
    assert after["cat_id"] is None and after["tags"] == [t[0]["id"]]
    assert fn(conn, "get_record", prods, q["id"]) is None
    hist = fn(conn, "record_history", prods, q["id"])
    assert [(h["action"], h["changed"]) for h in hist][-2:] == [("DELETE", ["name", "cat_id"]), ("UPDATE", ["tags"])]
    assert hist[-1]["old"] == {"tags": [t[2]["id"]]} and hist[-1]["version"] is None
    restored = fn(conn, "restore_record", prods, q["id"])
    assert restored["tags"] == [t[2]["id"]], "restore brings the links back"
    assert fn(conn, "verify_audit_chain")["ok"] is True


# --------------------------------------------------------------------------
# Section 3: files (register_file, file columns)


@modes()
def test_register_file(admin, company):
    company.ready()
    conn = ctx(company)
    sha = uuid.uuid4().hex + uuid.uuid4().hex  # unique content: the company is shared
    spec = {"name": "report.pdf", "size": 1234, "mime": "application/pdf", "sha256": sha,
            "storage_key": f"s3://bucket/{sha}"}
    file = fn(conn, "register_file", spec)
    assert set(file) == {"id", "name", "size", "mime", "sha256", "storage_key"}
    assert {k: file[k] for k in spec} == spec
    assert fn(conn, "register_file", {**spec, "name": "copy.pdf", "storage_key": "elsewhere"}) == file, \
        "the same sha256 returns the file already registered"
    with refused("22023"):
        fn(conn, "register_file", {**spec, "sha256": "xyz"})

    slug = uniq("docs")
    fn(conn, "create_table", {"slug": slug, "name": "Docs", "columns": [
        {"name": "title", "type": "text"}, {"name": "attachment", "type": "file"}]})
    rec = fn(conn, "create_record", slug, {"title": "a", "attachment": file["id"]})
    assert rec["attachment"] == file["id"]
    assert fn(conn, "query_table", slug, {"columns": ["title", "attachment"]}) == \
        {"total": 1, "rows": [{"title": "a", "attachment": file["id"]}]}
    with refused("23503"):
        fn(conn, "create_record", slug, {"title": "b", "attachment": str(uuid.uuid4())})

    uid, member = member_conn(admin, company)
    try:
        other = dict(spec, sha256=uuid.uuid4().hex * 2, storage_key="mine")
        with refused("42501"):  # no create or update grant on a table with a file column
            fn(member, "register_file", other)
        role = uniq("uploader")
        fn(conn, "create_role", role)
        one(conn, "select docpal.grant_permission(%s, %s, %s::text[])", role, slug, ["create"])
        fn(conn, "assign_role", uid, role)
        mine = fn(member, "register_file", other)
        assert mine["storage_key"] == "mine" and mine["sha256"] == other["sha256"]
        theirs = fn(member, "register_file", {**spec, "storage_key": "guess"})
        assert theirs["id"] == file["id"] and theirs["storage_key"] is None, \
            "where another user's bytes are is for owners, admins and the registrant"
    finally:
        member.close()


# --------------------------------------------------------------------------
# Section 4: search, views, aggregates, explain_query (the same data in every
# mode, the expected results written out from it)


VIEW_CATEGORIES = [("Electronics", None), ("Phones", "Electronics"), ("Smartphones", "Phones"),
                   ("Laptops", "Electronics"), ("Home", None), ("Kitchen", "Home"), ("Garden", None)]
VIEW_TASKS = [  # name, status, category, price, starts, ends, blockers, notes
    ("Design", "todo", "Phones", 10, "2026-01-05", "2026-01-10", [], "sketch the case"),
    ("Build", "doing", "Phones", 20, "2026-01-11", "2026-01-20", ["Design"], "solder the boards"),
    ("Test", "doing", "Laptops", 5, "2026-01-21", "2026-01-25", ["Build", "Design"], "run the suite"),
    ("Ship", "todo", "Laptops", 50, "2026-01-26", "2026-01-27", ["Test"], None),
    ("Paint fence", "done", "Garden", 7, "2026-01-02", "2026-01-03", [], "white paint"),
    ("Idea", None, None, None, None, None, [], "maybe a fence"),
]
VIEWS: dict[str, dict] = {}  # mode -> the tables and ids of make_views, made on first use (read only)


def make_views(conn) -> dict:
    cats, tasks = uniq("vcat"), uniq("vtask")
    fn(conn, "create_table", {"slug": cats, "name": "Categories", "columns": [
        {"name": "name", "type": "text", "required": True},
        {"name": "parent_id", "type": "relation", "target": cats, "on_delete": "set_null"}]})
    fn(conn, "create_table", {"slug": tasks, "name": "Tasks", "columns": [
        {"name": "name", "type": "text", "required": True, "searchable": True},
        {"name": "notes", "type": "long_text", "searchable": True},
        {"name": "status", "type": "select", "options": ["todo", "doing", "done", "blocked"]},
        {"name": "cat_id", "type": "relation", "target": cats, "on_delete": "set_null"},
        {"name": "price", "type": "decimal", "precision": 12, "scale": 2},
        {"name": "starts", "type": "date"}, {"name": "ends", "type": "date"},
        {"name": "blockers", "type": "relation_many", "target": tasks}]})
    c: dict = {}
    for name, parent in VIEW_CATEGORIES:
        c[name] = fn(conn, "create_record", cats, {"name": name, "parent_id": c.get(parent)})["id"]
    t: dict = {}
    for name, status, cat, price, starts, ends, blockers, notes in VIEW_TASKS:
        t[name] = fn(conn, "create_record", tasks, {
            "name": name, "status": status, "cat_id": c.get(cat), "price": price, "starts": starts, "ends": ends,
            "blockers": [t[b] for b in blockers], "notes": notes})["id"]
    return {"cats": cats, "tasks": tasks, "c": c, "t": t}


@pytest.fixture
def views(company) -> dict:
    company.ready()
    if company.mode not in VIEWS:
        VIEWS[company.mode] = make_views(ctx(company))
    return VIEWS[company.mode]


def shape(nodes):
    """(name, children) of query_tree nodes."""
    return [(n["name"], shape(n["children"])) for n in nodes]


@modes()
def test_query_search(company, views):
    conn = ctx(company)
    tasks = views["tasks"]

    def found(text):
        return [r["name"] for r in fn(conn, "query_table", tasks, {"search": text, "columns": ["name"],
                                                                    "sort": ["name"]})["rows"]]

    assert found("fence") == ["Idea", "Paint fence"]
    assert found("boards") == ["Build"]
    assert found("paint") == ["Paint fence"]
    assert found("nothing-like-this") == []
    got = fn(conn, "query_table", tasks, {"search": "fence", "filters": {"status": "done"}, "columns": ["name"]})
    assert got == {"total": 1, "rows": [{"name": "Paint fence"}]}


@modes()
def test_query_kanban(company, views):
    conn = ctx(company)
    got = fn(conn, "query_kanban", views["tasks"], {"group_by": "status", "sort": ["name"], "columns": ["name"]})
    lanes = [("todo", ["Design", "Ship"]), ("doing", ["Build", "Test"]), ("done", ["Paint fence"]),
             ("blocked", []), (None, ["Idea"])]
    assert got == {"groups": [{"value": v, "count": len(names), "rows": [{"name": n} for n in names]}
                              for v, names in lanes]}
    got = fn(conn, "query_kanban", views["tasks"], {"group_by": "status", "sort": ["-price"], "columns": ["name"],
                                                    "limit_per_group": 1, "filters": {"price": {"gte": 7}}})
    assert [(g["value"], g["count"], [r["name"] for r in g["rows"]]) for g in got["groups"]] == [
        ("todo", 2, ["Ship"]), ("doing", 1, ["Build"]), ("done", 1, ["Paint fence"]), ("blocked", 0, [])]


@modes()
def test_query_tree(company, views):
    conn = ctx(company)
    c = views["c"]
    got = fn(conn, "query_tree", views["cats"], {"parent": "parent_id", "sort": ["name"], "columns": ["id", "name"]})
    assert shape(got["nodes"]) == [("Electronics", [("Laptops", []), ("Phones", [("Smartphones", [])])]),
                                   ("Garden", []), ("Home", [("Kitchen", [])])]
    assert [(n["id"], set(n)) for n in got["nodes"]] == [(c[k], {"id", "name", "children"})
                                                         for k in ("Electronics", "Garden", "Home")]
    got = fn(conn, "query_tree", views["cats"], {"parent": "parent_id", "root": c["Electronics"], "sort": ["-name"]})
    assert shape(got["nodes"]) == [("Phones", [("Smartphones", [])]), ("Laptops", [])]
    assert got["nodes"][0]["parent_id"] == c["Electronics"], "a node carries its row"
    got = fn(conn, "query_tree", views["cats"], {"parent": "parent_id", "max_depth": 1, "sort": ["name"]})
    assert shape(got["nodes"]) == [("Electronics", []), ("Garden", []), ("Home", [])]


@modes()
def test_query_breadcrumb(company, views):
    conn = ctx(company)
    c = views["c"]

    def path(rid):
        return fn(conn, "query_breadcrumb", views["cats"], {"id": rid, "parent": "parent_id", "label": "name"})

    assert path(c["Smartphones"]) == {"path": [{"id": c[k], "label": k} for k in ("Electronics", "Phones",
                                                                                  "Smartphones")]}
    assert path(c["Garden"]) == {"path": [{"id": c["Garden"], "label": "Garden"}]}
    with refused("P0002"):
        path(str(uuid.uuid4()))


@modes()
def test_query_dropdown(company, views):
    conn = ctx(company)
    c, t = views["c"], views["t"]
    got = fn(conn, "query_dropdown", views["cats"], {"label": "name", "search": "PHONE"})
    assert got == {"options": [{"id": c["Phones"], "label": "Phones"},
                               {"id": c["Smartphones"], "label": "Smartphones"}]}
    got = fn(conn, "query_dropdown", views["cats"], {"label": "name", "limit": 2})
    assert got == {"options": [{"id": c["Electronics"], "label": "Electronics"},
                               {"id": c["Garden"], "label": "Garden"}]}
    got = fn(conn, "query_dropdown", views["tasks"], {"label": "cat_id.name", "search": "lap"})
    assert sorted((o["id"], o["label"]) for o in got["options"]) == sorted([(t["Test"], "Laptops"),
                                                                            (t["Ship"], "Laptops")])


@modes()
def test_query_gantt(company, views):
    conn = ctx(company)
    t = views["t"]
    got = fn(conn, "query_gantt", views["tasks"], {"start": "starts", "end": "ends", "label": "name",
                                                   "dependencies": "blockers",
                                                   "filters": {"starts": {"is_null": False}}})
    expected = [(t[name], name, starts, ends, sorted(t[b] for b in blockers))
                for name, _, _, _, starts, ends, blockers, _ in sorted(VIEW_TASKS[:5], key=lambda x: x[4])]
    assert [(x["id"], x["label"], x["start"], x["end"], sorted(x["dependencies"])) for x in got["tasks"]] == expected
    assert all(set(x) == {"id", "label", "start", "end", "dependencies"} for x in got["tasks"])


@modes()
def test_aggregate(company, views):
    conn = ctx(company)
    got = fn(conn, "aggregate", views["tasks"], {"group_by": ["status"],
                                                 "metrics": {"n": "count", "total": {"sum": "price"},
                                                             "top": {"max": "price"}}})
    assert [(g["status"], g["n"], g["total"], g["top"]) for g in got["groups"]] == [
        ("doing", 2, 25, 20), ("done", 1, 7, 7), ("todo", 2, 60, 50), (None, 1, None, None)]
    got = fn(conn, "aggregate", views["tasks"], {"group_by": ["cat_id.name"], "metrics": {"n": "count",
                                                 "total": {"sum": "price"}}, "having": {"n": {"gte": 2}}})
    assert got == {"groups": [{"cat_id.name": "Laptops", "n": 2, "total": 55},
                              {"cat_id.name": "Phones", "n": 2, "total": 30}]}
    got = fn(conn, "aggregate", views["tasks"], {"metrics": {"n": "count", "avg": {"avg": "price"},
                                                             "cats": {"count_distinct": "cat_id"},
                                                             "first": {"min": "starts"}},
                                                 "filters": {"name": {"neq": "Ship"}}})
    [g] = got["groups"]
    assert (g["n"], g["cats"], g["first"]) == (5, 3, "2026-01-02")
    assert abs(g["avg"] - Decimal("10.5")) < Decimal("1e-9")


@modes()
def test_aggregate_count_if_sum_if_percentile_expr(company, views):
    conn = ctx(company)
    got = fn(conn, "aggregate", views["tasks"], {"group_by": ["status"], "metrics": {
        "n": "count", "pricey": {"count_if": {"price": {"gt": 8}}},
        "paid": {"sum_if": ["price", {"cat_id.name": "Phones"}]}, "p50": {"percentile": ["price", 0.5]},
        "rate": {"expr": "pricey / n"}}, "having": {"rate": {"lt": 1}}})
    assert [(g["status"], g["n"], g["pricey"], g["paid"], g["p50"], g["rate"]) for g in got["groups"]] == [
        ("doing", 2, 1, 20, Decimal("12.5"), Decimal("0.5")), ("done", 1, 0, None, 7, 0), (None, 1, 0, None, None, 0)]


@modes()
def test_query_calendar(company, views):
    conn = ctx(company)
    t = views["t"]
    got = fn(conn, "query_calendar", views["tasks"], {"start": "starts", "end": "ends", "label": "name",
                                                      "color": "cat_id.name", "from": "2026-01-10",
                                                      "to": "2026-01-21"})
    assert got == {"events": [
        {"id": t["Design"], "label": "Design", "start": "2026-01-05", "end": "2026-01-10", "color": "Phones"},
        {"id": t["Build"], "label": "Build", "start": "2026-01-11", "end": "2026-01-20", "color": "Phones"},
        {"id": t["Test"], "label": "Test", "start": "2026-01-21", "end": "2026-01-25", "color": "Laptops"}]}
    got = fn(conn, "query_calendar", views["tasks"], {"start": "starts", "end": "ends", "label": "name",
                                                      "from": "2026-01-10", "to": "2026-01-21", "max_days": 3})
    assert [e["label"] for e in got["events"]] == ["Build", "Test"]  # Design starts 5 days before from
    with refused("22007"):
        fn(conn, "query_calendar", views["tasks"], {"start": "starts", "label": "name", "from": "soon",
                                                    "to": "2026-01-21"})


@modes()
def test_kanban_lane_label(company, views):
    conn = ctx(company)
    c = views["c"]
    got = fn(conn, "query_kanban", views["tasks"], {"group_by": "cat_id", "lane_label": "name", "columns": ["name"],
                                                    "sort": ["name"]})
    names = {v: k for k, v in c.items()}
    assert [(g["value"] and names[g["value"]], g["label"], g["count"]) for g in got["groups"]] == sorted(
        [("Phones", "Phones", 2), ("Laptops", "Laptops", 2), ("Garden", "Garden", 1)],
        key=lambda x: uuid.UUID(c[x[0]])) + [(None, None, 1)]


@modes()
def test_explain_query(admin, company, views):
    conn = ctx(company)
    text = fn(conn, "explain_query", views["tasks"], {"columns": ["name", "cat_id.name"],
                                                      "filters": {"name": "zebra-needle-42"}, "sort": ["-price"]})
    assert company.schema in text and views["tasks"] in text and "select" in text.lower()
    sql = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    assert "zebra-needle-42" not in sql, "the value is bound, not spliced"
    assert "-- $1" in text and "zebra-needle-42" in text
    with refused("42703"):
        fn(conn, "explain_query", views["tasks"], {"columns": ["nope"]})
    uid, member = member_conn(admin, company)
    try:
        with refused("42501"):  # owners and admins only
            fn(member, "explain_query", views["tasks"], {})
    finally:
        member.close()


@modes()
def test_query_cache(admin, company, views):
    """query_table's compiled-statement cache (migration 0016) in every mode: the same spec again is
    served from it (docpal.query_cache_stats counts the hit), with the same result."""
    conn = ctx(company)
    spec = {"columns": ["name", "cat_id.name"], "sort": ["name"], "limit": 3}
    first = fn(conn, "query_table", views["tasks"], spec)
    before = one(admin, "select docpal.query_cache_stats()")
    assert fn(conn, "query_table", views["tasks"], spec) == first
    assert one(admin, "select docpal.query_cache_stats()")["hits"] == before["hits"] + 1


# --------------------------------------------------------------------------
# Section 5: versions, rollback, restore


@modes()
def test_rollback_restore_and_versions(company):
    company.ready()
    conn = ctx(company)
    slug = uniq("aud")
    fn(conn, "create_table", {"slug": slug, "name": "Audited", "columns": [
        {"name": "name", "type": "text"}, {"name": "qty", "type": "integer"}, {"name": "note", "type": "text"}]})
    rec = fn(conn, "create_record", slug, {"name": "a", "qty": 1, "note": "first"})
    fn(conn, "update_record", slug, rec["id"], {"qty": 2})
    fn(conn, "update_record", slug, rec["id"], {"qty": 3, "note": "third"})

    v1 = fn(conn, "record_version", slug, rec["id"], 1)
    assert data_of(v1) == {"name": "a", "qty": 1, "note": "first"} and v1["version"] == 1
    assert data_of(fn(conn, "record_version", slug, rec["id"], 2)) == {"name": "a", "qty": 2, "note": "first"}
    assert fn(conn, "record_version", slug, rec["id"], 9) is None

    back = one(conn, "select docpal.rollback_record(%s, %s, %s, %s::text[])", slug, rec["id"], 1, ["qty"])
    assert data_of(back) == {"name": "a", "qty": 1, "note": "third"} and back["version"] == 4
    back = fn(conn, "rollback_record", slug, rec["id"], 1)
    assert data_of(back) == {"name": "a", "qty": 1, "note": "first"} and back["version"] == 5
    assert fn(conn, "get_record", slug, rec["id"]) == back

    fn(conn, "delete_record", slug, rec["id"])
    assert fn(conn, "get_record", slug, rec["id"]) is None
    restored = fn(conn, "restore_record", slug, rec["id"])
    assert restored["id"] == rec["id"] and data_of(restored) == data_of(back) and restored["version"] == 6
    assert fn(conn, "get_record", slug, rec["id"]) == restored
    with pytest.raises(psycopg.Error) as exc:
        fn(conn, "restore_record", slug, rec["id"])
    assert exc.value.sqlstate == "23505"
    assert fn(conn, "seal_audit_chain") >= 0
    got = fn(conn, "verify_audit_chain")
    assert got["ok"] is True and got["first_broken"] is None
    hist = [(h["action"], h["version"]) for h in fn(conn, "record_history", slug, rec["id"])]
    assert hist == [("INSERT", 1), ("UPDATE", 2), ("UPDATE", 3), ("ROLLBACK", 4), ("ROLLBACK", 5),
                    ("DELETE", 5), ("RESTORE", 6)], f"actions logged: {hist}"


@modes()
def test_rollback_table(company):
    company.ready()
    conn = ctx(company)
    slug = uniq("rbt")
    fn(conn, "create_table", {"slug": slug, "name": "Rolled", "columns": [
        {"name": "name", "type": "text"}, {"name": "qty", "type": "integer"}]})
    recs = fn(conn, "create_records", slug, [{"name": f"r{i}", "qty": i} for i in range(4)])
    before = {r["id"]: data_of(fn(conn, "get_record", slug, r["id"])) for r in recs}
    at = one(conn, "select clock_timestamp()")
    one(conn, "select pg_sleep(0.05)")
    fn(conn, "update_record", slug, recs[0]["id"], {"qty": 100})
    fn(conn, "update_record", slug, recs[1]["id"], {"name": "changed"})
    fn(conn, "delete_record", slug, recs[2]["id"])
    born = fn(conn, "create_record", slug, {"name": "born after", "qty": 9})

    got = one(conn, "select docpal.rollback_table(%s, %s::timestamptz)", slug, at)
    assert got == {"updated": 2, "restored": 1, "deleted": 1}
    rows = fn(conn, "query_table", slug, {"limit": 100})
    assert rows["total"] == 4
    assert {r["id"]: data_of(r) for r in rows["rows"]} == before
    assert fn(conn, "get_record", slug, born["id"]) is None
    assert one(conn, "select docpal.rollback_table(%s, %s::timestamptz)", slug, at) == \
        {"updated": 0, "restored": 0, "deleted": 0}
    fn(conn, "seal_audit_chain")
    assert fn(conn, "verify_audit_chain")["ok"] is True
    last = [fn(conn, "record_history", slug, r["id"])[-1]["action"] for r in (recs[0], recs[1], recs[2], born)]
    assert last == ["ROLLBACK", "ROLLBACK", "RESTORE", "DELETE"], f"last actions logged: {last}"


# --------------------------------------------------------------------------
# Section 5: audit reports and the audit log's upkeep


ENTRY_KEYS = {"id", "at", "txid", "user_id", "db_role", "table", "record_id", "action", "version", "old", "new",
              "changed", "summary", "hash"}


@modes()
def test_audit_report(admin, company):
    """The three kinds, narrowed to a table of the test's own (the company is
    shared): the owner makes 2 records, updates one and rolls it back; an
    admin makes one and deletes one."""
    company.ready()
    conn = ctx(company)
    slug = uniq("rep")
    fn(conn, "create_table", {"slug": slug, "name": "Reported", "columns": [
        {"name": "title", "type": "text"}, {"name": "n", "type": "integer"}]})
    email = f"{uniq('adm')}@example.com"
    uid = fn(admin, "create_user", email, "An admin")
    admin.execute("select docpal.add_member(%s, %s, 'admin')", (company.id, uid))
    second = connect()
    try:
        second.execute("select docpal.set_context(%s, %s, false)", (company.id, uid))
        a = fn(conn, "create_record", slug, {"title": "a", "n": 1})
        b = fn(conn, "create_record", slug, {"title": "b", "n": 2})
        fn(conn, "update_record", slug, a["id"], {"n": 10})
        one(conn, "select pg_sleep(0.05)")
        middle = one(conn, "select clock_timestamp()")
        one(conn, "select pg_sleep(0.05)")
        c = fn(second, "create_record", slug, {"title": "c", "n": 3})
        fn(second, "delete_record", slug, b["id"])
        fn(conn, "rollback_record", slug, a["id"], 1)
    finally:
        second.close()
    owner_email = f"owner-{company.slug}@example.com"
    actions = ["INSERT", "INSERT", "UPDATE", "INSERT", "DELETE", "ROLLBACK"]

    got = fn(conn, "audit_report", {"kind": "changes", "table": slug})
    assert got["report_type"] == "changes" and set(got["period"]) == {"from", "to"}
    assert got["total"] == 6 and [e["action"] for e in got["entries"]] == actions
    assert all(set(e) == ENTRY_KEYS and e["table"] == slug for e in got["entries"])
    assert [e["record_id"] for e in got["entries"]] == [a["id"], b["id"], a["id"], c["id"], b["id"], a["id"]]
    assert [e["action"] for e in fn(conn, "audit_report", {"kind": "changes", "table": slug,
                                                          "user_id": str(uid)})["entries"]] == ["INSERT", "DELETE"]
    late = fn(conn, "audit_report", {"kind": "changes", "table": slug, "from": middle.isoformat()})
    assert [e["action"] for e in late["entries"]] == ["INSERT", "DELETE", "ROLLBACK"]
    early = fn(conn, "audit_report", {"kind": "changes", "table": slug, "to": middle.isoformat()})
    assert early["total"] == 3

    got = fn(conn, "audit_report", {"kind": "user_activity", "table": slug})
    assert got["report_type"] == "user_activity"
    counts = ("changes", "inserts", "updates", "deletes", "rollbacks", "restores")
    assert [(u["user_id"], u["user"], [u[k] for k in counts], u["tables"]) for u in got["users"]] == [
        (str(company.owner), owner_email, [4, 2, 1, 0, 1, 0], [slug]),
        (str(uid), email, [2, 1, 0, 1, 0, 0], [slug])]

    got = fn(conn, "audit_report", {"kind": "compliance", "table": slug})
    assert got["report_type"] == "compliance"
    assert got["summary"] == {"total_changes": 6, "users_active": 2, "tables_modified": 1}
    assert [(d["user"], d["action"], d["table"], d["record_id"]) for d in got["details"]] == [
        (owner_email, "INSERT", slug, a["id"]), (owner_email, "INSERT", slug, b["id"]),
        (owner_email, "UPDATE", slug, a["id"]), (email, "INSERT", slug, c["id"]),
        (email, "DELETE", slug, b["id"]), (owner_email, "ROLLBACK", slug, a["id"])]
    assert got["details"][0]["change_summary"] == "created" and got["details"][2]["change_summary"] == "n: 1 → 10"
    with refused("22023"):
        fn(conn, "audit_report", {"kind": "nope"})


def month_partition(admin, months_from_now: int) -> tuple[str, str, str]:
    """(_audit_log_YYYYMM, from, to) of the month months_from_now (UTC), as
    docpal names and bounds its audit partitions."""
    return admin.execute("""
        select '_audit_log_' || to_char(m, 'YYYYMM'), (m at time zone 'UTC')::text,
               ((m + interval '1 month') at time zone 'UTC')::text
          from (select date_trunc('month', now() at time zone 'UTC') + make_interval(months => %s) as m) x""",
                         (months_from_now,)).fetchone()


def audit_partitions(admin, schema) -> set[str]:
    return {r[0] for r in admin.execute(
        """select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = format('%%I._audit_log', %s::text)::regclass""", (schema,))}


@pytest.mark.parametrize("mode", MODES)
def test_maintain_audit_log_retention(admin, mode):
    """maintain_audit_log archives (archive) and drops the monthly partitions
    past keep_months and keeps the chain exact. The old partitions are made,
    empty, by the DBA (a new company has no old entries); the coming months'
    partitions all exist, so nothing is created."""
    with own_company(admin, mode, "retain") as co:
        conn = co.conn
        recs = [fn(conn, "create_record", "items", {"name": f"m{i}", "price": i}) for i in range(3)]
        fn(conn, "update_record", "items", recs[0]["id"], {"price": 9})
        old, archived = month_partition(admin, -4), month_partition(admin, -5)

        def old_partition(name, start, end):
            admin.execute(f"create table {co.schema}.{name} partition of {co.schema}._audit_log"
                          f" for values from ('{start}') to ('{end}')")
            admin.execute(f"alter table {co.schema}.{name} owner to docpal_owner")  # as docpal's own

        got = fn(conn, "maintain_audit_log")
        assert (got["created"], got["dropped"], got["anchors"]) == ([], [], 0)
        assert got["sealed"] >= 0

        old_partition(*archived)
        got = one(conn, "select docpal.maintain_audit_log(keep_months => 2, archive => true)")
        assert (got["created"], got.get("archived"), got["anchors"]) == ([], [archived[0]], 0)
        assert archived[0] not in audit_partitions(admin, co.schema)
        archive = archived[0].replace("_audit_log_", "_audit_archive_")
        assert one(admin, "select to_regclass(%s) is not null", f"{co.schema}.{archive}"), "detached and renamed"

        old_partition(*old)
        got = one(conn, "select docpal.maintain_audit_log(keep_months => 2)")
        assert (got["created"], got["dropped"], got["anchors"]) == ([], [old[0]], 0)
        assert old[0] not in audit_partitions(admin, co.schema)
        assert one(admin, "select to_regclass(%s)", f"{co.schema}.{old[0]}") is None

        checked = one(admin, f"select count(*) from {co.schema}._audit_log")
        assert fn(conn, "verify_audit_chain") == {"ok": True, "checked": checked, "first_broken": None}
        assert [h["action"] for h in fn(conn, "record_history", "items", recs[0]["id"])] == ["INSERT", "UPDATE"]
        uid, member = member_conn(admin, co)
        try:
            with refused("42501"):  # owners and admins only
                fn(member, "maintain_audit_log")
        finally:
            member.close()


@pytest.mark.parametrize("mode", MODES)
def test_maintain_audit_log_creates_partitions(admin, mode):
    """maintain_audit_log makes the coming month's partition when it is
    missing (as when a month begins), distributed and co-located with the
    schema in a distributed company; the company's writes go on into it. The
    DBA drops the (empty) partition of next month to have one missing."""
    with own_company(admin, mode, "parts") as co:
        conn = co.conn
        rec = fn(conn, "create_record", "items", {"name": "before", "price": 1})
        coming = month_partition(admin, 1)[0]
        assert coming in audit_partitions(admin, co.schema)
        admin.execute(f"drop table {co.schema}.{coming}")  # empty: the entries are this month's

        got = fn(conn, "maintain_audit_log")
        assert (got["created"], got["dropped"], got["anchors"]) == ([coming], [], 0)
        assert coming in audit_partitions(admin, co.schema)
        assert_distributed_with_schema(admin, co, [coming])
        assert fn(conn, "maintain_audit_log")["created"] == []
        fn(conn, "update_record", "items", rec["id"], {"price": 2})
        assert [h["action"] for h in fn(conn, "record_history", "items", rec["id"])] == ["INSERT", "UPDATE"]
        assert fn(conn, "verify_audit_chain")["ok"] is True


# --------------------------------------------------------------------------
# Bulk writes


@modes()
def test_bulk_create_and_events(company):
    company.ready()
    conn = ctx(company)
    slug = uniq("bulk")
    fn(conn, "create_table", {"slug": slug, "name": "Bulk", "columns": [
        {"name": "name", "type": "text"}, {"name": "n", "type": "integer"}]})
    consumer = f"bulk-{company.mode}-{RUN}-{uuid.uuid4().hex[:6]}"
    poll_all(conn, consumer)  # start after everything so far
    recs = fn(conn, "create_records", slug, [{"name": f"b{i:03d}", "n": i} for i in range(200)])
    assert len(recs) == 200 and [r["n"] for r in recs] == list(range(200))
    got = fn(conn, "query_table", slug, {"columns": ["n"], "sort": ["n"], "limit": 1000})
    assert got["total"] == 200 and [r["n"] for r in got["rows"]] == list(range(200))
    got = fn(conn, "query_table", slug, {"columns": ["n"], "filters": {"n": {"gte": 150}}, "limit": 10})
    assert got["total"] == 50 and len(got["rows"]) == 10

    events = fn(conn, "poll_events", consumer, 1000)
    ids = [e["event_id"] for e in events]
    assert ids == sorted(set(ids)), "event ids strictly increasing"
    assert [(e["table"], e["action"], e["version"]) for e in events] == [(slug, "INSERT", 1)] * 200
    assert [e["record_id"] for e in events] == [r["id"] for r in recs], "one event per row, in insert order"
    fn(conn, "ack_events", consumer, ids[-1])
    assert fn(conn, "poll_events", consumer, 1000) == []


@modes()
def test_many_updates(company):
    company.ready()
    conn = ctx(company)
    slug = uniq("upd")
    fn(conn, "create_table", {"slug": slug, "name": "Upd", "columns": [{"name": "n", "type": "integer"}]})
    consumer = f"upd-{company.mode}-{RUN}-{uuid.uuid4().hex[:6]}"
    poll_all(conn, consumer)
    rec = fn(conn, "create_record", slug, {"n": 0})
    for i in range(1, 51):
        got = fn(conn, "update_record", slug, rec["id"], {"n": i}, i)  # expected_version
        assert got["version"] == i + 1 and got["n"] == i
    assert fn(conn, "get_record", slug, rec["id"])["version"] == 51
    hist = fn(conn, "record_history", slug, rec["id"])
    assert [h["version"] for h in hist] == list(range(1, 52))
    assert fn(conn, "record_version", slug, rec["id"], 26)["n"] == 25
    events = poll_all(conn, consumer)
    assert [(e["action"], e["version"]) for e in events] == [("INSERT", 1)] + [("UPDATE", v) for v in range(2, 52)]
    assert fn(conn, "verify_audit_chain")["ok"] is True


# --------------------------------------------------------------------------
# Section 6: permissions


@modes()
def test_member_with_a_custom_role(admin, company):
    company.ready()
    conn = ctx(company)
    slug = uniq("deal")
    fn(conn, "create_table", {"slug": slug, "name": "Deals", "columns": [
        {"name": "name", "type": "text"}, {"name": "region", "type": "text"},
        {"name": "amount", "type": "integer"}, {"name": "secret", "type": "text"}]})
    fn(conn, "create_records", slug, [
        {"name": f"d{i}", "region": "eu" if i % 2 else "us", "amount": i, "secret": f"s{i}"} for i in range(6)])
    uid, member = member_conn(admin, company)
    try:
        with pytest.raises(psycopg.Error) as exc:  # nothing granted yet
            fn(member, "query_table", slug, {})
        assert exc.value.sqlstate == "42501"

        role = uniq("eu_reader")
        assert fn(conn, "create_role", role)["name"] == role
        got = one(conn, "select docpal.grant_permission(%s, %s, %s::text[], %s)", role, slug, ["read"],
                  Jsonb({"columns": ["name", "region", "amount"], "row_filter": {"region": "eu"}}))
        assert got["role"] == role and got["table"] == slug
        fn(conn, "assign_role", uid, role)
        assert one(conn, "select docpal.check_permission(%s, 'read', %s)", uid, slug) is True
        assert one(conn, "select docpal.check_permission(%s, 'create', %s)", uid, slug) is False

        got = fn(member, "query_table", slug, {"sort": ["name"]})
        assert got["total"] == 3
        assert [data_of(r) for r in got["rows"]] == [
            {"name": f"d{i}", "region": "eu", "amount": i} for i in (1, 3, 5)]
        with pytest.raises(psycopg.Error) as exc:  # a column no grant covers
            fn(member, "query_table", slug, {"columns": ["secret"]})
        assert exc.value.sqlstate == "42501"
        us = fn(conn, "query_table", slug, {"filters": {"region": "us"}, "limit": 1})["rows"][0]
        assert fn(member, "get_record", slug, us["id"]) is None
        with pytest.raises(psycopg.Error) as exc:  # no create grant
            fn(member, "create_record", slug, {"name": "mine", "region": "eu"})
        assert exc.value.sqlstate == "42501"
        with pytest.raises(psycopg.Error) as exc:
            fn(member, "update_record", slug, us["id"], {"amount": 0})
        assert exc.value.sqlstate in ("42501", "P0002")

        # a write grant with a row filter: inside it works, outside 23514
        one(conn, "select docpal.grant_permission(%s, %s, %s::text[], %s)", role, slug, ["create"],
            Jsonb({"columns": ["name", "region"], "row_filter": {"region": "eu"}}))
        made = fn(member, "create_record", slug, {"name": "mine", "region": "eu"})
        assert made["name"] == "mine" and made["created_by"] == str(uid)
        with pytest.raises(psycopg.Error) as exc:
            fn(member, "create_record", slug, {"name": "theirs", "region": "us"})
        assert exc.value.sqlstate == "23514"
        assert fn(member, "query_table", slug, {})["total"] == 4
    finally:
        member.close()


@modes()
def test_groups_unassign_and_revoke(admin, company):
    """A role reaches a member through a group; a role assigned and then
    unassigned, a grant revoked: access goes with them. check_permission of a
    record follows the row filter."""
    company.ready()
    conn = ctx(company)
    slug = uniq("team")
    fn(conn, "create_table", {"slug": slug, "name": "Team", "columns": [
        {"name": "name", "type": "text"}, {"name": "region", "type": "text"}]})
    recs = fn(conn, "create_records", slug, [{"name": f"t{i}", "region": "eu" if i % 2 else "us"} for i in range(4)])
    eu, us = recs[1], recs[0]
    role = uniq("eu_reader")
    fn(conn, "create_role", role)
    one(conn, "select docpal.grant_permission(%s, %s, %s::text[], %s)", role, slug, ["read"],
        Jsonb({"row_filter": {"region": "eu"}}))
    ann, ann_conn = member_conn(admin, company)
    bob, bob_conn = member_conn(admin, company)
    try:
        group = uniq("crew")
        assert fn(conn, "create_group", group) == {"name": group}
        with refused("42710"):
            fn(conn, "create_group", group)
        conn.execute("select docpal.add_group_member(%s, %s)", (group, ann))
        conn.execute("select docpal.add_group_member(%s, %s)", (group, ann))  # again: no change
        with refused("42501"):  # nothing reaches ann yet
            fn(ann_conn, "query_table", slug, {})
        conn.execute("select docpal.assign_group_role(%s, %s)", (group, role))
        got = fn(ann_conn, "query_table", slug, {"columns": ["name"], "sort": ["name"]})
        assert got == {"total": 2, "rows": [{"name": "t1"}, {"name": "t3"}]}
        check = "select docpal.check_permission(%s, %s, %s, %s)"
        assert one(conn, check, ann, "read", slug, eu["id"]) is True
        assert one(conn, check, ann, "read", slug, us["id"]) is False
        assert one(conn, check, ann, "update", slug, eu["id"]) is False

        with refused("42501"):
            fn(bob_conn, "query_table", slug, {})
        fn(conn, "assign_role", bob, role)
        assert fn(bob_conn, "query_table", slug, {})["total"] == 2
        conn.execute("select docpal.unassign_role(%s, %s)", (bob, role))
        with refused("42501"):
            fn(bob_conn, "query_table", slug, {})
        assert one(conn, check, bob, "read", slug, eu["id"]) is False
        with refused("P0002"):  # not assigned any more
            conn.execute("select docpal.unassign_role(%s, %s)", (bob, role))

        conn.execute("select docpal.revoke_permission(%s, %s, %s::text[])", (role, slug, ["read"]))
        with refused("42501"):
            fn(ann_conn, "query_table", slug, {})
        assert one(conn, check, ann, "read", slug, None) is False
        conn.execute("select docpal.revoke_permission(%s, %s, %s::text[])", (role, slug, ["read"]))  # not an error
    finally:
        ann_conn.close()
        bob_conn.close()


# --------------------------------------------------------------------------
# Section 6: ReBAC; section 7: workflows


@modes()
def test_rebac(company):
    company.ready()
    conn = ctx(company)
    doc, folder = uniq("doc"), uniq("folder")
    rules = {"viewer": ["viewer", "editor", "parent->viewer"], "editor": ["editor", "owner"]}
    assert fn(conn, "define_relations", doc, rules) == {"object_type": doc, "rules": rules}
    fn(conn, "define_relations", folder, {"viewer": ["viewer"]})
    conn.execute("select docpal.relate(%s, %s, %s)", ("user:ann", "editor", f"{doc}:1"))
    conn.execute("select docpal.relate(%s, %s, %s)", (f"{folder}:f", "parent", f"{doc}:2"))
    conn.execute("select docpal.relate(%s, %s, %s)", ("user:bob", "viewer", f"{folder}:f"))
    conn.execute("select docpal.relate(%s, %s, %s)", ("group:eng#member", "viewer", f"{doc}:3"))
    conn.execute("select docpal.relate(%s, %s, %s)", ("user:cy", "member", "group:eng"))

    def check(subject, permission, obj):
        return one(conn, "select docpal.check_relation(%s, %s, %s)", subject, permission, obj)

    assert check("user:ann", "viewer", f"{doc}:1") is True
    assert check("user:ann", "editor", f"{doc}:1") is True
    assert check("user:ann", "viewer", f"{doc}:2") is False
    assert check("user:bob", "viewer", f"{doc}:2") is True
    assert check("user:bob", "editor", f"{doc}:2") is False
    assert check("user:cy", "viewer", f"{doc}:3") is True
    conn.execute("select docpal.unrelate(%s, %s, %s)", ("user:cy", "member", "group:eng"))
    assert check("user:cy", "viewer", f"{doc}:3") is False
    with pytest.raises(psycopg.Error) as exc:
        conn.execute("select docpal.unrelate(%s, %s, %s)", ("user:cy", "member", "group:eng"))
    assert exc.value.sqlstate == "P0002"
    lookup = "select docpal.lookup_objects(%s, %s, %s)"
    assert one(conn, lookup, "user:bob", "viewer", doc) == [f"{doc}:2"]
    assert one(conn, lookup, "user:ann", "viewer", doc) == [f"{doc}:1"]
    conn.execute("select docpal.unrelate(%s, %s, %s)", ("user:bob", "viewer", f"{folder}:f"))
    assert check("user:bob", "viewer", f"{doc}:2") is False
    assert one(conn, lookup, "user:bob", "viewer", doc) == []


@modes()
def test_workflow(admin, company):
    company.ready()
    conn = ctx(company)
    slug = uniq("exp")
    fn(conn, "create_table", {"slug": slug, "name": "Expenses", "columns": [
        {"name": "title", "type": "text"},
        {"name": "status", "type": "select", "options": ["draft", "submitted", "approved"]}]})
    name = uniq("wf")
    spec = {"name": name, "table": slug, "state_column": "status", "initial": "draft",
            "transitions": [{"name": f"{name}_submit", "from": ["draft"], "to": "submitted"},
                            {"name": f"{name}_approve", "from": ["submitted"], "to": "approved", "approvals": 2}]}
    got = fn(conn, "define_workflow", spec)
    assert got["name"] == name and [(t["name"], t["approvals"], t["roles"]) for t in got["transitions"]] == [
        (f"{name}_submit", 1, []), (f"{name}_approve", 2, [])]
    rec = fn(conn, "create_record", slug, {"title": "Taxi"})
    assert rec["status"] == "draft"
    with pytest.raises(psycopg.Error) as exc:
        fn(conn, "update_record", slug, rec["id"], {"status": "approved"})
    assert exc.value.sqlstate == "23514"
    with pytest.raises(psycopg.Error) as exc:  # from the wrong state
        fn(conn, "transition_record", slug, rec["id"], f"{name}_approve")
    assert exc.value.sqlstate == "22023"
    assert fn(conn, "transition_record", slug, rec["id"], f"{name}_submit") == \
        {"state": "submitted", "pending_approvals": 0}
    assert fn(conn, "transition_record", slug, rec["id"], f"{name}_approve") == \
        {"state": "submitted", "pending_approvals": 1}
    assert fn(conn, "transition_record", slug, rec["id"], f"{name}_approve") == \
        {"state": "submitted", "pending_approvals": 1}, "the same user again changes nothing"
    uid, second = member_conn(admin, company, "admin")
    try:
        assert one(second, "select docpal.transition_record(%s, %s, %s, %s)", slug, rec["id"],
                   f"{name}_approve", "ok") == {"state": "approved", "pending_approvals": 0}
    finally:
        second.close()
    now = fn(conn, "get_record", slug, rec["id"])
    assert now["status"] == "approved" and now["version"] == 3 and now["updated_by"] == str(uid)
    hist = fn(conn, "workflow_history", slug, rec["id"])
    assert [(h["kind"], h["transition"], h["from"], h["to"]) for h in hist] == [
        ("transition", f"{name}_submit", "draft", "submitted"),
        ("approval", f"{name}_approve", "submitted", None),
        ("transition", f"{name}_approve", "submitted", "approved")]
    assert [h["action"] for h in fn(conn, "record_history", slug, rec["id"])] == ["INSERT", "UPDATE", "UPDATE"]


# --------------------------------------------------------------------------
# Section 7: events


@modes()
def test_replay_events(company):
    company.ready()
    conn = ctx(company)
    consumer = f"replay-{company.mode}-{RUN}-{uuid.uuid4().hex[:6]}"
    poll_all(conn, consumer)
    slug = uniq("rep")
    fn(conn, "create_table", {"slug": slug, "name": "Replay", "columns": [{"name": "n", "type": "integer"}]})
    recs = [fn(conn, "create_record", slug, {"n": i}) for i in range(4)]
    events = fn(conn, "poll_events", consumer, 1000)
    assert [e["record_id"] for e in events] == [r["id"] for r in recs]
    ids = [e["event_id"] for e in events]
    fn(conn, "ack_events", consumer, ids[-1])
    assert fn(conn, "poll_events", consumer, 1000) == []

    conn.execute("select docpal.replay_events(%s, %s)", (consumer, ids[1]))
    again = fn(conn, "poll_events", consumer, 1000)
    assert [e["event_id"] for e in again] == ids[1:]
    assert again == events[1:]
    fn(conn, "ack_events", consumer, ids[-1])
    assert fn(conn, "poll_events", consumer, 1000) == []
    later = fn(conn, "create_record", slug, {"n": 9})
    assert [e["record_id"] for e in fn(conn, "poll_events", consumer, 1000)] == [later["id"]]


def test_consumer_follows_distribute_and_move(admin):
    """A consumer that acknowledged before the company was distributed, and
    again before it moved, gets exactly what was written after each step,
    once (contract section 7 and section 10, rule 11); a consumer that
    stopped before the distribution gets everything written since. Every
    step is checked and the differences reported together."""
    co = build(admin, "local", CREATED, f"citus-follow-{RUN}")
    co.ready()
    conn = co.conn
    steady, behind = f"steady-{RUN}", f"behind-{RUN}"
    names: dict = {}
    wrong: list[str] = []

    def write(tag):
        rid = fn(conn, "create_record", "items", {"name": tag, "price": 1})["id"]
        names[rid] = tag
        return tag

    def step(label, consumer, expected):
        """Poll (expecting exactly `expected`), acknowledge what came, and
        expect nothing more after the acknowledgement."""
        try:
            events = fn(conn, "poll_events", consumer, 1000)
            got = [(names.get(e["record_id"], e["record_id"]), e["action"]) for e in events]
            if got != expected:
                wrong.append(f"{label}: {consumer} got {got}, expected {expected}")
            if events:
                fn(conn, "ack_events", consumer, events[-1]["event_id"])
            again = fn(conn, "poll_events", consumer, 1000)
            if again:
                wrong.append(f"{label}: {consumer} got {len(again)} events again after acknowledging")
        except psycopg.Error as exc:
            wrong.append(f"{label}: {consumer}: {short(exc)}")

    try:
        a = write("a, local")
        step("local", steady, [(a, "INSERT")])
        step("local", behind, [(a, "INSERT")])

        distribute(admin, co.schema)
        step("right after citus_schema_distribute", steady, [])
        b = write("b, distributed")
        step("after citus_schema_distribute", steady, [(b, "INSERT")])

        source = node_of(admin, co.schema)
        target = one(admin, """
            select nodename || ':' || nodeport from pg_catalog.pg_dist_node
             where isactive and noderole = 'primary' and shouldhaveshards
               and (nodename, nodeport) <> (%s, %s)
             order by nodeid limit 1""", *source)
        host, port = target.rsplit(":", 1)
        admin.execute("select citus_schema_move(%s::regnamespace, %s, %s)", (co.schema, host, int(port)))
        assert node_of(admin, co.schema) == (host, int(port))
        step("right after citus_schema_move", steady, [])
        c = write("c, moved")
        step("after citus_schema_move", steady, [(c, "INSERT")])
        step("after distribute and move", behind, [(b, "INSERT"), (c, "INSERT")])
        d = write("d, moved")
        step("second write after the move", steady, [(d, "INSERT")])
        step("second write after the move", behind, [(d, "INSERT")])
    finally:
        conn.close()
    assert wrong == [], "\n".join(wrong)


@modes()
def test_concurrent_writers(company):
    company.ready()
    slug = uniq("conc")
    fn(ctx(company), "create_table", {"slug": slug, "name": "Concurrent",
                                      "columns": [{"name": "who", "type": "text"}, {"name": "n", "type": "integer"}]})
    consumer = f"conc-{company.mode}-{RUN}-{uuid.uuid4().hex[:6]}"
    poll_all(ctx(company), consumer)
    conns = [owner_conn(company), owner_conn(company)]
    made: dict[int, list] = {0: [], 1: []}
    errors: list = []
    start = threading.Barrier(2)

    def writer(k):
        try:
            start.wait(10)
            for i in range(20):
                made[k].append(fn(conns[k], "create_record", slug, {"who": f"w{k}", "n": i})["id"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(f"writer {k}: {short(exc)}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in (0, 1)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for c in conns:
            c.close()
    assert errors == []
    assert len(made[0]) == len(made[1]) == 20
    assert fn(ctx(company), "query_table", slug, {"count": "exact"})["total"] == 40

    events = poll_all(ctx(company), consumer)
    ids = [e["event_id"] for e in events]
    assert all(x < y for x, y in zip(ids, ids[1:])), "event ids strictly increasing"
    assert [e["action"] for e in events] == ["INSERT"] * 40
    assert sorted(e["record_id"] for e in events) == sorted(made[0] + made[1]), "each record once"
    for k in (0, 1):  # each writer's events in its own order
        assert [e["record_id"] for e in events if e["record_id"] in set(made[k])] == made[k]


# --------------------------------------------------------------------------
# Section 7: event rules, the company's channel, the outbox's upkeep


RULE_KEYS = {"id", "table", "actions", "when", "workflow", "task_queue", "created_at"}


@modes()
def test_event_rules(company):
    company.ready()
    conn = ctx(company)
    slug = uniq("ruled")
    fn(conn, "create_table", {"slug": slug, "name": "Ruled", "columns": [
        {"name": "title", "type": "text"}, {"name": "amount", "type": "integer"}]})
    consumer = f"rules-{company.mode}-{RUN}-{uuid.uuid4().hex[:6]}"
    poll_all(conn, consumer)
    big_rule = fn(conn, "create_event_rule", {"table": slug, "actions": ["INSERT", "UPDATE"],
                                              "when": {"amount": {"gt": 100}}, "workflow": "big-order",
                                              "task_queue": "orders"})
    assert set(big_rule) == RULE_KEYS
    assert (big_rule["table"], big_rule["actions"], big_rule["when"], big_rule["workflow"], big_rule["task_queue"]) == \
        (slug, ["INSERT", "UPDATE"], {"amount": {"gt": 100}}, "big-order", "orders")
    gone_rule = fn(conn, "create_event_rule", {"table": slug, "actions": ["delete"], "workflow": "gone"})
    assert (gone_rule["actions"], gone_rule["when"], gone_rule["task_queue"]) == (["DELETE"], None, "docpal")
    with refused("42703"):
        fn(conn, "create_event_rule", {"table": slug, "when": {"nope": 1}, "workflow": "w"})
    ours = {big_rule["id"], gone_rule["id"]}
    listed = [r for r in fn(conn, "list_event_rules") if r["id"] in ours]
    assert [{k: r[k] for k in RULE_KEYS - {"created_at"}} for r in listed] == \
        [{k: r[k] for k in RULE_KEYS - {"created_at"}} for r in (big_rule, gone_rule)]

    big = fn(conn, "create_record", slug, {"title": "big", "amount": 150})
    small = fn(conn, "create_record", slug, {"title": "small", "amount": 50})
    fn(conn, "update_record", slug, small["id"], {"amount": 200})  # the new row matches
    fn(conn, "update_record", slug, big["id"], {"amount": 10})  # the new row does not
    fn(conn, "delete_record", slug, small["id"])
    events = poll_all(conn, consumer)
    wf, gone = {"name": "big-order", "task_queue": "orders"}, {"name": "gone", "task_queue": "docpal"}
    assert [(e["record_id"], e["action"], e.get("workflow")) for e in events] == [
        (big["id"], "INSERT", wf), (small["id"], "INSERT", None), (small["id"], "UPDATE", wf),
        (big["id"], "UPDATE", None), (small["id"], "DELETE", gone)]

    conn.execute("select docpal.drop_event_rule(%s)", (big_rule["id"],))
    assert [r["id"] for r in fn(conn, "list_event_rules") if r["id"] in ours] == [gone_rule["id"]]
    later = fn(conn, "create_record", slug, {"title": "later", "amount": 500})
    assert [(e["record_id"], e.get("workflow")) for e in poll_all(conn, consumer)] == [(later["id"], None)]
    with refused("P0002"):
        conn.execute("select docpal.drop_event_rule(%s)", (big_rule["id"],))


@modes()
def test_event_channel(admin, company):
    """event_channel names the company's channel for the service role, and
    for an owner or admin (42501 for a member; both asked through an API key
    as docpal_app). A local company's change is announced there; a
    distributed company sends no notifications (docs/scale-out.md, "Not
    supported"; contract section 10, rule 4): there the outbox, which always
    holds the event, is what is checked."""
    company.ready()
    conn = ctx(company)
    channel = fn(conn, "event_channel")
    assert re.fullmatch(r"docpal_[0-9a-f]{32}", channel), channel
    assert fn(conn, "event_channel") == channel
    for role, expected in (("member", None), ("admin", channel)):
        uid, own = member_conn(admin, company, role)
        app = connect()
        try:  # the user itself, through an API key (every scope) as an untrusted client
            key = one(own, "select docpal.create_api_key(%s, %s, %s::text[])", "channel", uid,
                      ["read", "create", "update", "delete"])
            app.execute("set role docpal_app")
            app.execute("select docpal.authenticate(%s, false)", (key["key"],))
            if expected is None:
                with refused("42501"):
                    fn(app, "event_channel")
            else:
                assert fn(app, "event_channel") == expected
        finally:
            app.close()
            own.close()

    consumer = f"channel-{company.mode}-{RUN}-{uuid.uuid4().hex[:6]}"
    poll_all(conn, consumer)
    ear = connect()
    try:
        ear.execute(f'listen "{channel}"')
        rec = fn(conn, "create_record", "items", {"name": "announced", "price": 1})
        heard = [json.loads(n.payload) for n in ear.notifies(timeout=3, stop_after=1)] \
            if company.mode == "local" else []
    finally:
        ear.close()
    events = poll_all(conn, consumer)
    assert [(e["record_id"], e["action"]) for e in events] == [(rec["id"], "INSERT")]
    if company.mode == "local":
        assert [(n["record_id"], n["action"], n["event_id"]) for n in heard] == \
            [(rec["id"], "INSERT", events[0]["event_id"])]
        assert set(heard[0]) == {"event_id", "company_id", "table", "record_id", "action", "version", "changed",
                                 "user_id", "at"}


@modes()
def test_read_events(company):
    """read_events (a client's own position, under GET /api/events): from now,
    then the company's committed changes in order, paged by max with nothing
    twice; rolled-back work never; a bare event id reads the events after it.
    In a distributed company the events carry no transaction id and take
    their ids from the company's clock, in commit order: the cursor's done id
    covers them."""
    company.ready()
    conn = ctx(company)
    start = fn(conn, "read_events")
    assert start["events"] == [] and not start["more"]
    recs = [fn(conn, "create_record", "items", {"name": f"read-{i}", "price": i}) for i in range(3)]
    try:
        with conn.transaction():
            fn(conn, "create_record", "items", {"name": "rolled back", "price": 1})
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    got, cursor = [], start["cursor"]
    for _ in range(10):
        page = one(conn, "select docpal.read_events(%s, 2)", cursor)
        got += page["events"]
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert [(e["record_id"], e["action"]) for e in got] == [(r["id"], "INSERT") for r in recs]
    assert one(conn, "select docpal.read_events(%s)", cursor)["events"] == []
    later = one(conn, "select docpal.read_events(%s)", str(got[0]["event_id"]))
    assert [e["record_id"] for e in later["events"]] == [r["id"] for r in recs[1:]]
    newer = fn(conn, "create_record", "items", {"name": "read-newer", "price": 9})
    assert [e["record_id"] for e in one(conn, "select docpal.read_events(%s)", cursor)["events"]] == [newer["id"]]


@pytest.mark.parametrize("mode", MODES)
def test_maintain_events(admin, mode):
    """Within the retention period nothing goes; past it (settings.event_retention
    of 1 hour, the events made 2 hours older by the DBA) what every consumer
    active within it has consumed goes, then the rest once the slow consumer
    is inactive; consumers carry on with what comes next."""
    with own_company(admin, mode, "outbox") as co:
        conn = co.conn
        fast, slow = f"fast-{RUN}", f"slow-{RUN}"
        poll_all(conn, fast)
        poll_all(conn, slow)
        recs = [fn(conn, "create_record", "items", {"name": f"e{i}", "price": i}) for i in range(3)]
        assert [e["record_id"] for e in poll_all(conn, fast)] == [r["id"] for r in recs]
        batch = fn(conn, "poll_events", slow, 1000)
        assert [e["record_id"] for e in batch] == [r["id"] for r in recs]
        fn(conn, "ack_events", slow, batch[0]["event_id"])
        held = one(admin, f"select count(*) from {co.schema}._events")

        assert fn(admin, "maintain_events", co.id) == {"deleted": 0, "companies": 1, "more": False}
        got = fn(admin, "update_company", co.id, {"settings": {"event_retention": "1 hour"}})
        assert got["settings"] == {"event_retention": "1 hour"}
        # a constant: Citus refuses a stable expression over a column in an UPDATE
        aged = one(admin, "select now() - interval '2 hours'")
        admin.execute(f"update {co.schema}._events set at = %s", (aged,))
        assert fn(admin, "maintain_events", co.id) == {"deleted": held - 2, "companies": 1, "more": False}, \
            "the slow consumer still wants its last two"
        admin.execute("update docpal_private.event_consumers set updated_at = now() - interval '2 hours'"
                      " where consumer = %s and company_id = %s", (slow, co.id))
        assert one(admin, "select docpal.maintain_events(%s, 1)", co.id) == \
            {"deleted": 1, "companies": 1, "more": True}
        assert fn(admin, "maintain_events", co.id) == {"deleted": 1, "companies": 1, "more": False}
        assert one(admin, f"select count(*) from {co.schema}._events") == 0
        with refused("22023"):
            one(admin, "select docpal.maintain_events(%s, 0)", co.id)

        later = fn(conn, "create_record", "items", {"name": "later", "price": 1})
        for consumer in (fast, slow):
            assert [e["record_id"] for e in poll_all(conn, consumer)] == [later["id"]], consumer


# --------------------------------------------------------------------------
# Section 6: API keys


@modes()
def test_api_key(admin, company):
    company.ready()
    conn = ctx(company)
    slug = uniq("keyed")
    fn(conn, "create_table", {"slug": slug, "name": "Keyed", "columns": [{"name": "title", "type": "text"}]})
    fn(conn, "create_records", slug, [{"title": f"k{i}"} for i in range(3)])
    key = one(conn, "select docpal.create_api_key(%s, %s, %s::text[])", "citus", company.owner, ["read"])
    assert set(key) == {"id", "key"}

    app = connect()
    try:
        app.execute("set role docpal_app")  # an untrusted client
        got = one(app, "select docpal.authenticate(%s, false)", key["key"])
        assert got == {"company_id": str(company.id), "user_id": str(company.owner), "scopes": ["read"]}
        rows = fn(app, "query_table", slug, {"columns": ["title"], "sort": ["title"]})
        assert rows == {"total": 3, "rows": [{"title": f"k{i}"} for i in range(3)]}
        with pytest.raises(psycopg.Error) as exc:  # the key has only the read scope
            fn(app, "create_record", slug, {"title": "no"})
        assert exc.value.sqlstate == "42501"
        with pytest.raises(psycopg.Error) as exc:
            one(app, "select docpal.authenticate(%s)", key["key"][:-2] + "xx")
        assert exc.value.sqlstate == "28000"
        conn.execute("select docpal.revoke_api_key(%s)", (key["id"],))
        with pytest.raises(psycopg.Error) as exc:
            fn(app, "query_table", slug, {})
        assert exc.value.sqlstate == "42501"
    finally:
        app.close()


# --------------------------------------------------------------------------
# Section 1: a company's lifecycle, drop_company


@pytest.mark.parametrize("mode", MODES)
def test_drop_company(admin, mode):
    mine: list = []
    co = build(admin, mode, mine, f"citus-drop-{mode.replace('_', '-')}-{uuid.uuid4().hex[:8]}")
    try:
        co.ready()
        fn(co.conn, "create_table", {"slug": "extra", "name": "Extra", "columns": [
            {"name": "n", "type": "integer"}, {"name": "links", "type": "relation_many", "target": "items"}]})
        fn(co.conn, "create_record", "extra", {"n": 1})
        if mode != "local":
            assert one(admin, "select count(*) from pg_dist_schema where schemaid = %s::regnamespace", co.schema) == 1
        co.conn.close()
        admin.execute("select docpal.drop_company(%s)", (co.id,))
        mine.remove(co.id)
        assert one(admin, "select count(*) from pg_namespace where nspname = %s", co.schema) == 0
        assert one(admin, "select count(*) from pg_dist_partition where logicalrelid::text like %s",
                   co.schema + ".%") == 0
        assert one(admin, "select count(*) from pg_dist_schema where schemaid::regnamespace::text = %s",
                   co.schema) == 0
        on_workers = admin.execute(
            "select nodename, nodeport, result from run_command_on_workers(%s)",
            (f"select count(*) from pg_namespace where nspname = '{co.schema}'",)).fetchall()
        assert [r[2] for r in on_workers] == ["0"] * len(on_workers), f"schema left on a worker: {on_workers}"
        assert fn(admin, "get_company", str(co.id)) is None
        assert str(co.id) not in [c["id"] for c in fn(admin, "list_companies")]
    finally:
        if co.conn is not None and not co.conn.closed:
            co.conn.close()
        CREATED.extend(mine)  # dropped by the module's cleanup if the test did not


@pytest.mark.parametrize("mode", MODES)
def test_company_lifecycle(admin, mode):
    """update_company (name, settings; the events switch makes the capture
    functions afresh), resolve_company, suspend_company / activate_company
    and remove_member on a company of the test's own."""
    with own_company(admin, mode, "life") as co:
        conn = co.conn
        rec = fn(conn, "create_record", "items", {"name": "kept", "price": 1})
        got = fn(admin, "update_company", co.id, {"name": "Renamed", "settings": {"time_zone": "Europe/Berlin"}})
        assert (got["id"], got["slug"], got["name"], got["settings"]) == \
            (str(co.id), co.slug, "Renamed", {"time_zone": "Europe/Berlin"})
        assert fn(admin, "get_company", co.slug) == got
        for host in (co.slug, f"{co.slug}.example.com", f"https://{co.slug}.example.com:8443/login"):
            assert one(admin, "select docpal.resolve_company(%s)", host) == co.id, host

        consumer = f"life-{RUN}"
        poll_all(conn, consumer)
        fn(admin, "update_company", co.id, {"settings": {"events": False}})
        quiet = fn(conn, "create_record", "items", {"name": "no event", "price": 2})
        assert poll_all(conn, consumer) == [], "events off"
        assert [h["action"] for h in fn(conn, "record_history", "items", quiet["id"])] == ["INSERT"], \
            "the audit log goes on"
        fn(admin, "update_company", co.id, {"settings": {}})
        loud = fn(conn, "create_record", "items", {"name": "event", "price": 3})
        assert [(e["record_id"], e["action"]) for e in poll_all(conn, consumer)] == [(loud["id"], "INSERT")]
        assert fn(conn, "verify_audit_chain")["ok"] is True

        got = fn(admin, "suspend_company", co.id, "unpaid invoices")
        assert (got["status"], got["status_reason"]) == ("suspended", "unpaid invoices")
        assert one(admin, "select docpal.resolve_company(%s)", co.slug) is None
        with refused("42501"):  # a context of the company stops working
            fn(conn, "get_record", "items", rec["id"])
        other = connect()
        try:
            with refused("42501"):
                other.execute("select docpal.set_context(%s, %s, false)", (co.id, co.owner))
        finally:
            other.close()
        assert fn(admin, "get_company", str(co.id))["status"] == "suspended", "platform admins still read it"
        got = fn(admin, "activate_company", co.id)
        assert (got["status"], got["status_reason"]) == ("active", None)
        assert one(admin, "select docpal.resolve_company(%s)", co.slug) == co.id
        assert fn(conn, "get_record", "items", rec["id"]) == rec

        uid, member = member_conn(admin, co)
        try:
            assert one(member, "select docpal.current_company()") == co.id
            roles = {m["user_id"]: m["role"] for m in fn(admin, "list_members", co.id)}
            assert (roles[str(co.owner)], roles[str(uid)]) == ("owner", "member")
            email = fn(admin, "get_user", str(uid))["email"]
            assert fn(admin, "get_user", email.upper())["id"] == str(uid)
            fn(member, "list_tables")
            admin.execute("select docpal.remove_member(%s, %s)", (co.id, uid))
            with refused("42501"):
                fn(member, "list_tables")
            with refused("P0002"):
                admin.execute("select docpal.remove_member(%s, %s)", (co.id, uid))
        finally:
            member.close()


@modes()
def test_truncate(admin, company):
    """A TRUNCATE is logged row by row in a local company; Citus puts no
    TRUNCATE trigger on a shard, so a distributed company refuses it (0A000)
    and keeps its rows, rather than lose them from the audit log."""
    company.ready()
    slug = f"trunc_{uuid.uuid4().hex[:6]}"
    fn(ctx(company), "create_table", {"slug": slug, "name": "Trunc", "columns": [{"name": "tag", "type": "text"}]})
    recs = [fn(ctx(company), "create_record", slug, {"tag": t}) for t in ("a", "b")]
    if company.mode == "local":
        admin.execute(f'truncate {company.schema}."{slug}"')
        assert fn(ctx(company), "get_record", slug, recs[0]["id"]) is None
        assert [h["action"] for h in fn(ctx(company), "record_history", slug, recs[0]["id"])] == ["INSERT", "DELETE"]
    else:
        with pytest.raises(psycopg.Error) as exc:
            admin.execute(f'truncate {company.schema}."{slug}"')
        assert exc.value.sqlstate == "0A000"
        assert fn(ctx(company), "query_table", slug, {})["total"] == 2


# --------------------------------------------------------------------------
# Section 8: operations (quotas, metrics, export and import, blueprints,
# adopting a table). Each test that changes a company's quota or adds a
# blueprint's tables does it on a company of its own.


NO_QUOTA = {"max_tables": None, "max_records": None, "max_bytes": None, "max_file_bytes": None}


def total_records(conn) -> int:
    """The records of every table of the company in the connection's context."""
    return sum(fn(conn, "query_table", t["slug"], {"limit": 1})["total"] for t in fn(conn, "list_tables"))


def schema_bytes(admin, co: Company) -> int:
    """What quota max_bytes and company_metrics' bytes count: every table of
    the schema with its indexes and TOAST, measured where its data is (for a
    distributed company: its shards, on the worker)."""
    if co.mode == "local":
        return one(admin, "select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint from pg_class c"
                          " where c.relnamespace = %s::regnamespace and c.relkind in ('r', 'm')", co.schema)
    return one(admin, "select coalesce(sum(citus_total_relation_size(c.oid)), 0)::bigint from pg_class c"
                      " where c.relnamespace = %s::regnamespace and c.relkind in ('r', 'm')", co.schema)


@pytest.mark.parametrize("mode", MODES)
def test_set_quota(admin, mode):
    """set_quota (contract section 8): max_records counted by the capture
    functions (on the worker for a distributed company), deletes counted,
    the first quota seeding the count from the shards, max_tables,
    max_bytes, and no quota again."""
    with own_company(admin, mode, "quota") as co:
        conn = co.conn
        had = total_records(conn)  # 1 in the modes distributed later
        got = fn(admin, "set_quota", co.id, {"max_records": had + 3, "max_tables": 2})
        assert got == {**NO_QUOTA, "max_records": had + 3, "max_tables": 2}
        recs = fn(conn, "create_records", "items", [{"name": f"q{i}", "price": i} for i in range(3)])
        with refused("53400"):
            fn(conn, "create_records", "items", [{"name": "one too many", "price": 1}])
        with refused("53400"):
            fn(conn, "create_record", "items", {"name": "one too many", "price": 1})
        assert total_records(conn) == had + 3, "a refused insert leaves nothing"
        fn(conn, "delete_record", "items", recs[0]["id"])
        fn(conn, "create_record", "items", {"name": "fits again", "price": 1})
        with refused("53400"):
            fn(conn, "create_record", "items", {"name": "full again", "price": 1})

        fn(conn, "create_table", {"slug": "second", "name": "Second", "columns": [{"name": "tag", "type": "text"}]})
        with refused("53400"):
            fn(conn, "create_table", {"slug": "third", "name": "Third", "columns": [{"name": "tag", "type": "text"}]})
        with refused("53400"):  # the records of every table count
            fn(conn, "create_record", "second", {"tag": "x"})
        assert fn(admin, "company_metrics", co.id)["quota"] == got

        assert fn(admin, "set_quota", co.id, {}) == NO_QUOTA
        fn(conn, "create_records", "second", [{"tag": str(i)} for i in range(5)])
        fn(conn, "create_table", {"slug": "third", "name": "Third", "columns": [{"name": "tag", "type": "text"}]})
        # a first quota again counts the rows the company holds (its shards, for a distributed one)
        assert fn(admin, "set_quota", co.id, {"max_records": had + 8}) == {**NO_QUOTA, "max_records": had + 8}
        with refused("53400"):
            fn(conn, "create_record", "third", {"tag": "over"})
        fn(conn, "delete_record", "items", recs[1]["id"])
        fn(conn, "create_record", "third", {"tag": "fits"})

        fn(admin, "set_quota", co.id, {"max_bytes": 1})
        with refused("53400"):
            fn(conn, "create_record", "third", {"tag": "too big"})
        fn(admin, "set_quota", co.id, {"max_bytes": schema_bytes(admin, co) * 10})
        fn(conn, "create_record", "third", {"tag": "small enough"})
        assert total_records(conn) == had + 9
        with refused("22023"):
            fn(admin, "set_quota", co.id, {"max_records": -1})


def table_rows(admin, co: Company) -> dict[str, int]:
    return {t["slug"]: fn(co.conn, "query_table", t["slug"], {"limit": 1})["total"]
            for t in fn(co.conn, "list_tables")}


@modes()
def test_company_metrics(admin, company):
    """company_metrics of one company (its owner, a platform admin) and of
    every company: tables, records, audit entries, files and bytes of a
    distributed company are those of its shards."""
    company.ready()
    conn = ctx(company)
    slug = uniq("met")
    fn(conn, "create_table", {"slug": slug, "name": "Met", "columns": [{"name": "n", "type": "integer"}]})
    recs = fn(conn, "create_records", slug, [{"n": i} for i in range(4)])
    fn(conn, "update_record", slug, recs[0]["id"], {"n": 40})
    fn(conn, "delete_record", slug, recs[1]["id"])
    rows = table_rows(admin, company)
    assert rows[slug] == 3

    mine = fn(conn, "company_metrics", company.id)
    got = fn(admin, "company_metrics", company.id)
    for m in (mine, got):
        assert (m["company_id"], m["slug"], m["status"]) == (str(company.id), company.slug, "active")
        assert m["tables"] == len(rows)
        assert m["records"] == sum(rows.values())
        assert m["audit_entries"] == one(admin, f"select count(*) from {company.schema}._audit_log")
        assert m["files"] == one(admin, f"select count(*) from {company.schema}._files")
        assert m["file_bytes"] == one(admin, f"select coalesce(sum(size), 0)::bigint from {company.schema}._files")
        assert m["quota"] == NO_QUOTA
        assert m["last_activity"] is not None
    assert got["bytes"] == schema_bytes(admin, company) > 0

    # every company at once: the statistics' live rows and sizes, where the rows are
    conn.execute("select pg_stat_force_next_flush()")
    for _ in range(50):  # the workers' backends send their statistics within a second or so
        listed = fn(admin, "company_metrics")
        assert [m["company_id"] for m in listed].count(str(company.id)) == 1
        entry = next(m for m in listed if m["company_id"] == str(company.id))
        if entry["records"] > 0 and entry["activity"]["inserts"] >= 4 and entry["activity"]["deletes"] >= 1:
            break
        time.sleep(0.1)
    assert entry["tables"] == got["tables"] and entry["files"] == got["files"]
    assert entry["activity"]["inserts"] >= 4 and entry["activity"]["deletes"] >= 1, \
        "the statistics of the node that holds the rows"
    assert entry["bytes"] == schema_bytes(admin, company)
    assert 0 < entry["records"] <= got["records"] + 10, "an estimate, from the node that holds the rows"


@pytest.mark.parametrize("mode", MODES)
def test_apply_blueprint(admin, mode):
    """The shipped `mes` blueprint on a company of each mode: its tables,
    records, roles, workflow and event rules, every table co-located with
    the company; company_blueprints lists it; a second apply does nothing."""
    document = blueprints.load("mes")
    with own_company(admin, mode, "bp") as co:
        conn = co.conn
        got = fn(conn, "apply_blueprint", document)
        assert (got["name"], got["version"], got["previous_version"]) == ("mes", document["version"], None)
        assert got["created"]["tables"] == [t["slug"] for t in document["tables"]]
        assert got["created"]["reports"] == [r["slug"] for r in document["reports"]]
        assert fn(conn, "run_report", "oee", {})["result"]["groups"]  # the KPIs: tests/test_blueprint_reports.py
        assert fn(conn, "company_blueprints") == [{"name": "mes", "version": document["version"],
                                                   "applied_at": fn(conn, "company_blueprints")[0]["applied_at"]}]
        for slug, rows in document["records"].items():
            assert fn(conn, "query_table", slug, {"limit": 1})["total"] == len(rows), slug
        assert_distributed_with_schema(admin, co, [t["slug"] for t in document["tables"]]
                                       + ["_blueprints", "_quota", "_usage", "_reports", "_report_snapshots"])
        if mode != "local":
            local = [r[0] for r in relations(admin, co.schema) if r[1] is None]
            assert local == [], f"local coordinator tables in a distributed company schema: {local}"
        # the blueprint's workflow works in the company
        material = document["records"]["materials"][3]["id"]
        ncr = fn(conn, "create_record", "non_conformance_reports",
                 {"title": "Burr on edge", "material_id": material, "severity": "minor", "defect_codes": ["surface"]})
        assert ncr["status"] == "open"
        assert one(conn, "select docpal.transition_record('non_conformance_reports', %s, 'submit_ncr')",
                   ncr["id"])["state"] is not None
        again = fn(conn, "apply_blueprint", document)
        assert again["version"] == document["version"] and again["created"]["tables"] == []
        assert again["created"]["reports"] == []
        assert fn(conn, "verify_audit_chain")["ok"] is True


@pytest.mark.parametrize("mode", DISTRIBUTED)
def test_new_tenant_steps_on_a_distributed_company(admin, mode):
    """docpal migrate bringing a distributed company to tenant steps 0010
    (quotas) and 0011 (blueprints): the tables those steps make join the
    company, distributed and co-located (apply_tenant_steps ->
    citus_colocate), and quotas and blueprints work on them. The company is
    set back to before those steps first: their tables dropped, its schema
    version 9."""
    with own_company(admin, mode, "steps") as co:
        fn(co.conn, "create_records", "items", [{"name": f"s{i}", "price": i} for i in range(2)])
        had = total_records(co.conn)
        with admin.transaction():
            admin.execute("set local citus.enable_unsafe_triggers = on")
            admin.execute(f"drop table {co.schema}._blueprints, {co.schema}._usage, {co.schema}._quota")
            admin.execute("update docpal_private.companies set schema_version = 9 where id = %s", (co.id,))
        result = deploy.upgrade_tenants(admin)
        assert result.failed == [], result.failed
        assert one(admin, "select schema_version from docpal_private.companies where id = %s", co.id) >= 11
        assert_distributed_with_schema(admin, co, ["_quota", "_usage", "_blueprints"])
        local = [r[0] for r in relations(admin, co.schema) if r[1] is None]
        assert local == [], f"local coordinator tables in a distributed company schema: {local}"
        assert fn(co.conn, "company_blueprints") == []
        fn(admin, "set_quota", co.id, {"max_records": had + 1})
        fn(co.conn, "create_record", "items", {"name": "last one", "price": 1})
        with refused("53400"):
            fn(co.conn, "create_record", "items", {"name": "one too many", "price": 1})


# --------------------------------------------------------------------------
# Section 11: dashboards (their widgets' data live or from a snapshot)


@modes()
def test_dashboards(admin, company):
    """save_dashboard, list_dashboards, get_dashboard (live, from a fresh
    snapshot made by run_due_reports, a member's own live run, a widget the
    member may not read) and drop_dashboard on a company of each mode; the
    report tables are co-located with the schema. The report and dashboard
    stay, so test_import_company_distributed imports them too."""
    company.ready()
    conn = ctx(company)
    report, board = uniq("dash_report"), uniq("dash")
    fn(conn, "save_report", {"slug": report, "name": "Items by status", "table": "items", "kind": "aggregate",
                             "spec": {"group_by": ["status"], "metrics": {"n": "count"}}, "schedule": "0 * * * *"})
    saved = fn(conn, "save_dashboard", {"slug": board, "name": "Board", "widgets": [
        {"id": "status", "report": report, "chart": "pie", "x": 0, "y": 0, "w": 12, "h": 4}]})
    assert saved["widgets"][0]["title"] == "Items by status"
    assert [d["widgets"] for d in fn(conn, "list_dashboards") if d["slug"] == board] == [1]
    assert_distributed_with_schema(admin, company, ["_reports", "_report_snapshots", "_dashboards"])
    live = fn(conn, "get_dashboard", board)["widgets"][0]
    assert live["source"] == "live" and live["data"] == fn(conn, "run_report", report)["result"]
    # a scheduled run (due at the top of this hour), for this company only (a context)
    admin.execute("update docpal_private.report_schedule set next_run_at = date_trunc('hour', now()) "
                  "where company_id = %s and report = %s", (company.id, report))
    runner = owner_conn(company)
    try:
        ran = fn(runner, "run_due_reports")
        assert ran["ran"] >= 1 and ran["failed"] == 0, ran
    finally:
        runner.close()
    fn(conn, "create_record", "items", {"name": "after the snapshot", "price": 1})
    snap = fn(conn, "get_dashboard", board)["widgets"][0]
    assert snap["source"] == "snapshot" and snap["data"] == live["data"] != fn(conn, "run_report", report)["result"]
    # a member without a grant on items: its own live run, refused, and no data
    uid, member = member_conn(admin, company)
    try:
        mine = fn(member, "get_dashboard", board)["widgets"][0]
        assert mine["error"]["sqlstate"] == "42501" and "data" not in mine
        with refused("42501"):
            fn(member, "drop_dashboard", board)
    finally:
        member.close()
    other = uniq("dash")
    fn(conn, "save_dashboard", {"slug": other, "name": "Other", "widgets": []})
    fn(conn, "drop_dashboard", other)
    with refused("P0002"):
        fn(conn, "get_dashboard", other)


# --------------------------------------------------------------------------
# Section 11: reports (params, the caller's grants, scheduled runs as the saver, snapshots)


@modes()
def test_reports(admin, company):
    """save_report (params, a schedule), list_reports, run_report (as
    query_table shows the same member), run_due_reports with a frozen clock
    in the company's context (the saver's view stored), report_snapshots
    (retention, hidden from a member who reads otherwise) and drop_report on
    a company of each mode."""
    company.ready()
    conn = ctx(company)
    slug, report = uniq("rep"), uniq("report")
    fn(conn, "create_table", {"slug": slug, "name": "Rep", "columns": [
        {"name": "name", "type": "text"}, {"name": "region", "type": "select", "options": ["eu", "us"]},
        {"name": "amount", "type": "integer"}, {"name": "day", "type": "date"}]})
    fn(conn, "create_records", slug, [{"name": f"r{i}", "region": "eu" if i % 2 else "us", "amount": i,
                                       "day": f"2026-01-{i + 1:02d}"} for i in range(6)])
    spec = {"columns": ["name", "amount"], "sort": ["name"],
            "filters": {"amount": {"gte": "$param.min"}, "day": {"lte": "$param.until"}}}
    saved = fn(conn, "save_report", {"slug": report, "table": slug, "kind": "query", "spec": spec,
                                     "params": {"min": {"type": "integer", "default": 1},
                                                "until": {"type": "date", "default": "2026-12-31"}},
                                     "schedule": "*/10 * * * *"})
    assert saved["schedule"] == "*/10 * * * *" and saved["next_run_at"]
    assert [r["slug"] for r in fn(conn, "list_reports") if r["slug"] == report] == [report]
    bound = {"amount": {"gte": 2}, "day": {"lte": "2026-01-05"}}
    got = fn(conn, "run_report", report, {"min": "2", "until": "2026-01-05"})
    assert got["params"] == {"min": 2, "until": "2026-01-05"}
    assert got["result"] == fn(conn, "query_table", slug, {**spec, "filters": bound})
    with refused("22023"):
        fn(conn, "run_report", report, {"min": "many"})
    # a member with a row filter and a column limit sees what query_table shows it
    role = uniq("eu_only")
    fn(conn, "create_role", role)
    one(conn, "select docpal.grant_permission(%s, %s, %s::text[], %s)", role, slug, ["read"],
        Jsonb({"columns": ["name", "amount", "day"], "row_filter": {"region": "eu"}}))
    uid, member = member_conn(admin, company)
    try:
        fn(conn, "assign_role", uid, role)
        mine = fn(member, "run_report", report, {})["result"]
        assert mine == fn(member, "query_table", slug, {**spec, "filters": {"amount": {"gte": 1},
                                                                           "day": {"lte": "2026-12-31"}}})
        assert [r["name"] for r in mine["rows"]] == ["r1", "r3", "r5"]
        # the member's own scheduled report: its run stores what the member reads
        theirs = uniq("mine")
        fn(member, "save_report", {"slug": theirs, "table": slug, "kind": "aggregate",
                                   "spec": {"metrics": {"n": "count", "total": {"sum": "amount"}}},
                                   "schedule": "0 * * * *"})
        with refused("42501"):  # not the member's to replace
            fn(member, "save_report", {"slug": report, "table": slug, "kind": "query"})
        clock = one(admin, "select max(next_run_at) from docpal_private.report_schedule where company_id = %s",
                    company.id)
        runner = owner_conn(company)  # the service's context: this company only
        try:
            for i in range(3):
                ran = fn(runner, "run_due_reports", clock + dt.timedelta(hours=i))
                assert ran["ran"] >= 2 and ran["failed"] == 0, ran
        finally:
            runner.close()
        [snap, *_] = fn(member, "report_snapshots", theirs, 10)
        assert snap["result"] == {"groups": [{"n": 3, "total": 9}]}
        assert fn(member, "report_snapshots", report) == []  # the owner's view, not the member's
        assert len(fn(conn, "report_snapshots", report, 2)) == 2
        assert fn(conn, "list_reports") == [r for r in fn(member, "list_reports")]
        fn(member, "drop_report", theirs)
    finally:
        member.close()
    fn(conn, "drop_report", report)
    with refused("P0002"):
        fn(conn, "run_report", report)
    assert one(admin, "select count(*) from docpal_private.report_schedule where company_id = %s and report = %s",
               company.id, report) == 0


@modes("local", "distributed")
def test_report_schedule_follows_the_time_zone(admin, company):
    """update_company moving the company's time zone moves its next runs."""
    company.ready()
    with own_company(admin, company.mode, "tz") as co:
        fn(co.conn, "save_report", {"slug": "daily", "table": "items", "kind": "query", "schedule": "0 9 * * *"})
        fn(admin, "update_company", co.id, {"settings": {"time_zone": "Asia/Tokyo"}})
        local = one(admin, "select (next_run_at at time zone 'Asia/Tokyo') from docpal_private.report_schedule "
                           "where company_id = %s", co.id)
        assert (local.hour, local.minute) == (9, 0)


@modes()
def test_report_claims(admin, company):
    """claim_due_report and run_claimed_report (the loop runners' protocol: each claim committed
    before its run) on a company of each mode, in its context: the claim moves the report to its
    next time and marks it "started, not finished"; the run stores the snapshot as the saver and
    clears the mark; a claim runs once."""
    company.ready()
    conn = ctx(company)
    report = uniq("claimed")
    fn(conn, "save_report", {"slug": report, "table": "items", "kind": "aggregate",
                             "spec": {"metrics": {"n": "count"}}, "schedule": "0 * * * *"})
    next_sql = "select next_run_at from docpal_private.report_schedule where company_id = %s and report = %s"
    due = one(admin, next_sql, company.id, report)
    runner = owner_conn(company)  # the service's context: this company only
    try:
        claims = []
        while (got := one(runner, "select docpal.claim_due_report(%s)", due)) is not None:
            claims.append(got)
        assert {c["company"] for c in claims} == {str(company.id)}
        [mine] = [c for c in claims if c["report"] == report]
        assert one(admin, next_sql, company.id, report) > due
        [marked] = [r for r in fn(conn, "list_reports") if r["slug"] == report]
        assert marked["last_error"]["message"] == "started, not finished"
        for claim in claims:
            ran = one(runner, "select docpal.run_claimed_report(%s)", Jsonb(claim))
            assert ran["ran"] + ran["failed"] == 1, (claim, ran)
        assert one(runner, "select docpal.run_claimed_report(%s)", Jsonb(mine)) == {"ran": 0, "failed": 0}
    finally:
        runner.close()
    [snap] = fn(conn, "report_snapshots", report)
    assert snap["result"] == fn(conn, "run_report", report)["result"]
    assert [r["last_error"] for r in fn(conn, "list_reports") if r["slug"] == report] == [None]
    fn(conn, "drop_report", report)


def export_doc(admin, co_id, spec=None):
    return fn(admin, "export_company", co_id, spec or {})


@modes()
def test_export_and_import_company(admin, company):
    """export_company of a company of each mode (whole, and in pages), and
    import_company of it into a new company (the platform setting
    `distributed` off: a local company), which holds the same."""
    company.ready()
    conn = ctx(company)
    slug = uniq("exp")
    fn(conn, "create_table", {"slug": slug, "name": "Exp", "columns": [
        {"name": "title", "type": "text"}, {"name": "item", "type": "relation", "target": "items"},
        {"name": "no", "type": "autonumber"}]})
    item = fn(conn, "create_record", "items", {"name": "exported", "price": 12.5})
    recs = fn(conn, "create_records", slug, [{"title": f"t{i}", "item": item["id"]} for i in range(3)])

    doc = export_doc(admin, company.id)
    assert fn(conn, "export_company", company.id) == doc, "an owner exports its own company"
    assert doc["company"]["slug"] == company.slug
    assert {t["slug"] for t in doc["tables"]} == {t["slug"] for t in fn(conn, "list_tables")}
    assert sorted(r["id"] for r in doc["records"][slug]) == sorted(r["id"] for r in recs)
    page1 = export_doc(admin, company.id, {"part": "records", "table": slug, "limit": 2})
    page2 = export_doc(admin, company.id, {"part": "records", "table": slug, "limit": 2,
                                           "after": page1[-1]["id"]})
    assert page1 + page2 == doc["records"][slug]
    history = export_doc(admin, company.id, {"part": "history", "limit": 10000})
    assert len(history) == one(admin, f"select count(*) from {company.schema}._audit_log")

    new_slug = f"citus-import-{company.mode.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    # in SQL: the numbers travel as PostgreSQL wrote them
    new = one(admin, "select docpal.import_company(docpal.export_company(%s), %s)", company.id, new_slug)
    CREATED.append(new)
    copy = export_doc(admin, new)
    assert copy["company"]["slug"] == new_slug
    assert {k: v for k, v in copy.items() if k != "company"} == {k: v for k, v in doc.items() if k != "company"}
    schema = fn(admin, "get_company", str(new))["schema"]
    assert one(admin, "select count(*) from pg_dist_schema where schemaid = %s::regnamespace", schema) == 0
    owner = owner_conn(company)
    try:
        owner.execute("select docpal.set_context(%s, %s, false)", (new, company.owner))
        assert fn(owner, "get_record", slug, recs[0]["id"]) == fn(conn, "get_record", slug, recs[0]["id"])
        assert fn(owner, "verify_audit_chain")["ok"] is True
    finally:
        owner.close()

    # with the audit log (history): the same entries, sealed again in the new company
    new_slug = f"citus-import-hist-{company.mode.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    new = one(admin, "select docpal.import_company(docpal.export_company(%s, '{\"history\": true}'), %s)",
              company.id, new_slug)
    CREATED.append(new)
    owner = owner_conn(company)
    try:
        owner.execute("select docpal.set_context(%s, %s, false)", (new, company.owner))
        verified = fn(owner, "verify_audit_chain")
        assert verified["ok"] is True, verified
        assert verified["checked"] == len(history)
    finally:
        owner.close()


@modes()
def test_import_company_distributed(admin, company):
    """import_company with the platform setting `distributed` on, of the
    export (with history) of each mode's company with all the other tests
    made in it: the new company is distributed, every table co-located,
    and holds what the export holds."""
    company.ready()
    doc = export_doc(admin, company.id, {"history": True})
    new_slug = f"citus-import-dist-{company.mode.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    admin.execute("select docpal.set_platform_setting('distributed', 'on')")
    try:
        new = one(admin, "select docpal.import_company(docpal.export_company(%s, '{\"history\": true}'), %s)",
                  company.id, new_slug)
    finally:
        admin.execute("select docpal.set_platform_setting('distributed', 'off')")
    CREATED.append(new)
    schema = fn(admin, "get_company", str(new))["schema"]
    assert one(admin, "select count(*) from pg_dist_schema where schemaid = %s::regnamespace", schema) == 1
    local = [r[0] for r in relations(admin, schema) if r[1] is None]
    assert local == [], f"local coordinator tables in a distributed company schema: {local}"
    copy = export_doc(admin, new, {"history": True})
    assert {k: v for k, v in copy.items() if k != "company"} == {k: v for k, v in doc.items() if k != "company"}
    owner = owner_conn(company)
    try:
        owner.execute("select docpal.set_context(%s, %s, false)", (new, company.owner))
        rec = fn(owner, "create_record", "items", {"name": "after the import", "price": 1})
        assert fn(owner, "get_record", "items", rec["id"]) == rec
        numbered = [(t["slug"], c["name"]) for t in doc["tables"] for c in t["columns"] if c["type"] == "autonumber"]
        assert numbered, "the company has an autonumber column (test_export_and_import_company)"
        for table, column in numbered:
            imported = [r[column] for r in doc["records"].get(table, [])]
            rec = fn(owner, "create_record", table, {})
            assert rec[column] == max(imported, default=0) + 1, "the numbers go on after the imported ones"
        verified = fn(owner, "verify_audit_chain")
        assert verified["ok"] is True, verified
    finally:
        owner.close()


LEGACY = """
create table {s}.suppliers (
    id serial primary key,
    name varchar(100) not null,
    rating numeric(4,1) check (rating between 0 and 10)
);
create table {s}.parts (
    code varchar(20) primary key,
    title text not null,
    supplier_id integer references {s}.suppliers (id),
    added timestamp without time zone
);
insert into {s}.suppliers (name, rating) values ('Acme', 7.5), ('Bolt & Co', null);
insert into {s}.parts values ('P-1', 'Bolt', 1, '2024-01-02 03:04'), ('P-2', 'Nut', 2, null), ('P-3', 'Pin', null, null);
grant usage on schema {s} to docpal_owner;
grant select on all tables in schema {s} to docpal_owner;
"""


@modes()
def test_adopt_table(admin, company):
    """adopt_table of plain tables on the coordinator into a company of each
    mode: the rows are read from the coordinator and inserted into the
    company's (distributed) table, a foreign key becomes a relation."""
    company.ready()
    conn = ctx(company)
    source = f"legacy_{uuid.uuid4().hex[:8]}"
    admin.execute(f"create schema {source}")
    try:
        admin.execute(LEGACY.format(s=source))
        dry = fn(conn, "adopt_table", f"{source}.parts", uniq("parts"), {"dry_run": True})
        assert dry["dry_run"] is True and dry["rows"] == 3
        suppliers, parts = uniq("suppliers"), uniq("parts")
        got = one(conn, "select docpal.adopt_table(%s::regclass, %s, %s)", f"{source}.suppliers", suppliers, Jsonb({}))
        assert got["rows"] == 2
        got = one(conn, "select docpal.adopt_table(%s::regclass, %s, %s)", f"{source}.parts", parts, Jsonb({}))
        assert got["rows"] == 3
        relation = [m for m in got["mapping"] if m["source_column"] == "supplier_id"][0]
        assert relation["type"] == "relation"
        rows = fn(conn, "query_table", parts, {"sort": ["legacy_code"]})["rows"]
        assert [r["legacy_code"] for r in rows] == ["P-1", "P-2", "P-3"], "a key that is not a uuid is kept"
        names = {r["id"]: r["name"] for r in fn(conn, "query_table", suppliers, {})["rows"]}
        assert [names.get(r[relation["column"]]) for r in rows] == ["Acme", "Bolt & Co", None]
        assert_distributed_with_schema(admin, company, [suppliers, parts])
        history = fn(conn, "record_history", parts, rows[0]["id"])
        assert [(h["action"], h["user_id"]) for h in history] == [("INSERT", str(company.owner))]
    finally:
        admin.execute(f"drop schema {source} cascade")


# --------------------------------------------------------------------------
# Every public function has a case here


#: every function of schema `docpal` that a test of this module calls on a
#: company of the four modes (or, for the platform-admin functions that act on
#: one company, on companies of the four modes)
COVERED = {
    # section 1: companies, users, context
    "create_company", "get_company", "list_companies", "update_company", "suspend_company", "activate_company",
    "drop_company", "resolve_company", "add_member", "remove_member", "list_members", "get_user", "set_context",
    "installed_version",
    "clear_context",
    "current_company", "current_user_id",
    # section 2: tables
    "create_table", "describe_table", "list_tables", "alter_table", "drop_table", "add_column", "alter_column",
    "rename_column", "drop_column", "schema_history", "create_type_list", "update_type_list",
    # section 3: records
    "create_record", "create_records", "get_record", "update_record", "delete_record", "register_file",
    # section 4: queries
    "query_table", "query_kanban", "query_tree", "query_gantt", "query_calendar", "query_dropdown", "query_breadcrumb",
    "aggregate",
    "explain_query", "query_cache_stats",
    # section 5: audit
    "record_history", "record_version", "rollback_record", "restore_record", "rollback_table", "audit_report",
    "verify_audit_chain", "seal_audit_chain", "maintain_audit_log",
    # section 6: permissions, ReBAC, API keys
    "create_role", "grant_permission", "revoke_permission", "assign_role", "unassign_role", "create_group",
    "add_group_member", "assign_group_role", "check_permission", "define_relations", "relate", "unrelate",
    "check_relation", "lookup_objects", "create_api_key", "revoke_api_key", "authenticate",
    # section 7: events and workflows
    "poll_events", "ack_events", "replay_events", "maintain_events", "event_channel", "create_event_rule", "read_events",
    "list_event_rules", "drop_event_rule", "define_workflow", "transition_record", "workflow_history",
    # section 8: operations
    # section 11: dashboards
    "save_dashboard", "get_dashboard", "list_dashboards", "drop_dashboard",
    # section 11: reports
    "save_report", "run_report", "list_reports", "drop_report", "report_snapshots", "run_due_reports",
    "claim_due_report", "run_claimed_report",
    "set_quota", "company_metrics", "export_company", "import_company", "apply_blueprint", "company_blueprints",
    "adopt_table",
}

#: platform-wide functions that hold no company's data, with why
def test_installed_version(admin):
    """docpal serve's /readyz: the version migrate installed on the coordinator."""
    from docpal import __version__
    assert admin.execute("select docpal.installed_version()").fetchone()[0] == __version__


PLATFORM = {
    "create_user": "a platform user (and its id in the user_ids reference table), in no company's schema; "
                   "every company here makes its users with it",
    "set_platform_setting": "a platform switch; build turns `distributed` on for the distributed mode with it",
}


def called_here() -> set[str]:
    """The strings of this module outside COVERED and PLATFORM, and every
    name in them written as `docpal.<name>(`: what the tests call."""
    tree = ast.parse(open(__file__, encoding="utf-8").read())
    texts: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in ("COVERED", "PLATFORM") for t in targets):
                continue
        texts |= {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return texts | {m for t in texts for m in re.findall(r"docpal\.([a-z_]+)\(", t)}


def test_every_public_function_is_covered(admin):
    """A new public function fails here until it has a case in this module
    (or is listed in PLATFORM with its reason)."""
    names = {r[0] for r in admin.execute("select proname from pg_proc where pronamespace = 'docpal'::regnamespace")}
    assert not COVERED & PLATFORM.keys()
    missing = sorted(names - COVERED - PLATFORM.keys())
    assert missing == [], f"public functions without a Citus case: {missing}"
    stale = sorted((COVERED | PLATFORM.keys()) - names)
    assert stale == [], f"listed here but not a function of schema docpal: {stale}"
    uncalled = sorted(COVERED - called_here())
    assert uncalled == [], f"in COVERED but called by no test of this module: {uncalled}"


def test_owner_logs_in_on_the_workers_only(admin):
    """Citus connects to the workers as the current user, docpal_owner inside
    docpal's functions: docpal migrate lets it log in there, and only there
    (contract section 0 holds where clients connect)."""
    assert one(admin, "select rolcanlogin from pg_roles where rolname = 'docpal_owner'") is False
    workers = admin.execute(
        "select success, result from run_command_on_workers("
        "'select rolcanlogin from pg_roles where rolname = ''docpal_owner''')").fetchall()
    assert workers and all(ok and result == "t" for ok, result in workers)
    assert one(admin, "select rolsuper from pg_roles where rolname = 'docpal_owner'") is False


@modes()
def test_labels_whatever_the_client_time_zone(company):
    """A signed switch is bound to Citus' distributed transaction id, whose
    start must read the same on the coordinator and on the worker: a client
    whose TimeZone and DateStyle differ from the worker's still gets its
    rollback logged as ROLLBACK (contract section 0)."""
    company.ready()
    conn = connect()
    try:
        conn.execute("set timezone = 'America/New_York'")
        conn.execute("set datestyle = 'SQL, DMY'")
        conn.execute("select docpal.set_context(%s, %s, false)", (company.id, company.owner))
        slug = f"tz_{uuid.uuid4().hex[:6]}"
        fn(conn, "create_table", {"slug": slug, "name": "Tz", "columns": [{"name": "qty", "type": "integer"}]})
        rec = fn(conn, "create_record", slug, {"qty": 1})
        fn(conn, "update_record", slug, rec["id"], {"qty": 2})
        fn(conn, "rollback_record", slug, rec["id"], 1)
        actions = [h["action"] for h in fn(conn, "record_history", slug, rec["id"])]
        assert actions == ["INSERT", "UPDATE", "ROLLBACK"]
    finally:
        conn.close()
