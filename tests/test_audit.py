"""Audit, versions, rollback: contract section 5, docs/reference.md
"Audit, versions, rollback". Black-box: only the public functions, plain SQL
on the tenant tables and on `<schema>._audit_log` (as a DBA would)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb, set_json_loads

from conftest import SERVICE_LOGIN
from helpers import fn, one, raises, set_context, table, U

ENTRY_KEYS = {"id", "at", "txid", "user_id", "db_role", "table", "record_id", "action",
              "version", "old", "new", "changed", "summary", "hash"}
SYSTEM = {"id", "version", "created_at", "updated_at", "created_by", "updated_by"}

TAGS = table("tags", {"name": "name", "type": "text"})
PRODUCTS = table(
    "products",
    {"name": "name", "type": "text", "required": True, "max_length": 200},
    {"name": "price", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "status", "type": "select", "options": ["draft", "sent"], "default": "draft"},
    {"name": "note", "type": "text"},
    {"name": "code", "type": "text", "unique": True},
    {"name": "category_id", "type": "relation", "target": "tags"},  # on_delete restrict
    {"name": "tag_ids", "type": "relation_many", "target": "tags"},
    {"name": "num", "type": "autonumber"},
    {"name": "total", "type": "formula", "expression": "round(price * 2, 2)"})
#: the plain data columns of products (relation_many, autonumber and formula left aside)
PRODUCT_DATA = {"name", "price", "status", "note", "code", "category_id"}
NOTES = table("notes", {"name": "title", "type": "text"}, {"name": "n", "type": "integer"})
NOTE_DATA = {"title", "n"}


# --- helpers -------------------------------------------------------------------

def decimals(conn):
    """JSON numbers read back as Decimal on conn (exact)."""
    set_json_loads(lambda s: json.loads(s, parse_float=Decimal), conn)
    return conn


def create(conn, slug, data):
    return fn(conn, "create_record", slug, data)


def update(conn, slug, rid, patch):
    return one(conn, "select docpal.update_record(%s, %s, %s)", slug, U(rid), Jsonb(patch))


def delete(conn, slug, rid):
    return fn(conn, "delete_record", slug, U(rid))


def get(conn, slug, rid):
    return fn(conn, "get_record", slug, U(rid))


def history(conn, slug, rid):
    return fn(conn, "record_history", slug, U(rid))


def version(conn, slug, rid, v):
    return one(conn, "select docpal.record_version(%s, %s, %s)", slug, U(rid), v)


def rollback(conn, slug, rid, v, columns=None):
    return one(conn, "select docpal.rollback_record(%s, %s, %s, %s::text[])", slug, U(rid), v, columns)


def restore(conn, slug, rid):
    return fn(conn, "restore_record", slug, U(rid))


def rollback_table(conn, slug, at):
    return one(conn, "select docpal.rollback_table(%s, %s::timestamptz)", slug, at)


def report(conn, spec):
    return fn(conn, "audit_report", spec)


def verify(conn):
    return one(conn, "select docpal.verify_audit_chain()")


def log_count(db, schema):
    return one(db, f"select count(*) from {schema}._audit_log")


def log_ids(db, schema):
    return [r[0] for r in db.execute(f"select id from {schema}._audit_log order by id")]


def same_time(conn, a, b):
    return one(conn, "select %s::timestamptz = %s::timestamptz", str(a), str(b))


def now(conn):
    return one(conn, "select clock_timestamp()")


def partitions(db, schema):
    return {r[0] for r in db.execute(
        "select c.relname::text from pg_inherits i join pg_class c on c.oid = i.inhrelid "
        "where i.inhparent = %s::regclass", (f"{schema}._audit_log",))}


def month(db, months_ago):
    return one(db, "select to_char(date_trunc('month', now() at time zone 'UTC') - make_interval(months => %s), "
                   "'YYYYMM')", months_ago)


def without(summary, column="total"):
    """The summary without the part of a column (a formula's value changes with its inputs;
    ambiguous whether a formula counts as a data column, so either reading is accepted)."""
    return "; ".join(p for p in summary.split("; ") if not p.startswith(f"{column}: "))


def data_of(rec, drop=("version", "updated_at", "updated_by")):
    return {k: v for k, v in rec.items() if k not in drop}


# --- fixtures ------------------------------------------------------------------

@pytest.fixture
def schema(company):
    return company["schema"]


@pytest.fixture
def dba(db):
    """The superuser connection, without a docpal context."""
    return decimals(db)


@pytest.fixture
def ctx(service, company, dba):
    """A docpal_service connection acting as the company's owner; the tables exist."""
    set_context(service, company, company["owner"])
    for spec in (TAGS, PRODUCTS, NOTES):
        fn(service, "create_table", spec)
    return service


@pytest.fixture
def tags(ctx):
    return [create(ctx, "tags", {"name": f"t{i}"})["id"] for i in range(3)]


@pytest.fixture
def admin(db, company):
    """A second user, admin of the company: (uuid, email)."""
    email = f"admin-{company['slug']}@example.com"
    uid = one(db, "select docpal.create_user(%s, 'Admin')", email)
    db.execute("select docpal.add_member(%s, %s, 'admin')", (company["id"], uid))
    return uid, email


@pytest.fixture
def as_admin(connect, company, admin, ctx):
    return set_context(connect(SERVICE_LOGIN), company, admin[0])


# --- entries written by the record functions -----------------------------------------

def test_insert_update_delete_entries(ctx, company, schema):
    rec = create(ctx, "products", {"name": "Desk", "price": "99.99", "note": "n", "code": "D1"})
    updated = update(ctx, "products", rec["id"], {"price": "129.99"})
    deleted = delete(ctx, "products", rec["id"])
    assert deleted == updated
    entries = history(ctx, "products", rec["id"])
    assert [e["action"] for e in entries] == ["INSERT", "UPDATE", "DELETE"]
    assert [e["version"] for e in entries] == [1, 2, 2]  # DELETE: the version before it
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids) and all(isinstance(i, int) for i in ids)
    for e in entries:
        assert set(e) == ENTRY_KEYS
        assert e["user_id"] == str(company["owner"])
        assert e["db_role"] == SERVICE_LOGIN
        assert e["table"] == "products"
        assert e["record_id"] == rec["id"]
        int(e["txid"])  # xid8 as text
    assert len({e["txid"] for e in entries}) == 3  # three transactions (autocommit)

    ins, upd, dele = entries
    assert ins["old"] is None
    assert ins["new"]["id"] == rec["id"] and ins["new"]["version"] == 1
    assert SYSTEM <= set(ins["new"])  # the whole stored row, system columns included
    assert (ins["new"]["name"], ins["new"]["price"], ins["new"]["code"]) == ("Desk", Decimal("99.99"), "D1")
    assert PRODUCT_DATA <= set(ins["changed"]) and not SYSTEM & set(ins["changed"])
    assert ins["summary"] == "created"
    assert same_time(ctx, ins["at"], rec["created_at"])

    assert [c for c in upd["changed"] if c != "total"] == ["price"]
    assert upd["old"]["price"] == Decimal("99.99") and upd["new"]["price"] == Decimal("129.99")
    assert (upd["old"]["version"], upd["new"]["version"]) == (1, 2)
    # an UPDATE entry holds what changed plus the bookkeeping columns, not the whole row
    # (updated_by only when it changed; updated_at is the entry's "at")
    assert {k for k in upd["new"] if k != "total"} == {"price", "version"}
    assert set(upd["old"]) == set(upd["new"])
    assert without(upd["summary"]) == "price: 99.99 → 129.99"
    assert same_time(ctx, upd["at"], updated["updated_at"])

    assert dele["new"] is None
    assert dele["old"]["price"] == Decimal("129.99") and dele["old"]["version"] == 2
    assert PRODUCT_DATA <= set(dele["changed"])
    assert dele["summary"] == "deleted"


def test_entry_txid_and_at_are_the_transaction(connect, company, ctx):
    conn = set_context(connect(SERVICE_LOGIN, autocommit=False), company, company["owner"])
    conn.commit()
    started = one(conn, "select now()")
    txid = one(conn, "select pg_current_xact_id()::text")
    rec = create(conn, "notes", {"title": "a"})
    update(conn, "notes", rec["id"], {"title": "b"})
    conn.commit()
    entries = history(ctx, "notes", rec["id"])
    assert [e["action"] for e in entries] == ["INSERT", "UPDATE"]
    assert {e["txid"] for e in entries} == {txid}
    assert all(same_time(ctx, e["at"], started) for e in entries)
    assert entries[1]["version"] == 2 and entries[1]["changed"] == ["title"]


def test_summary_of_several_columns_and_long_values(ctx):
    rec = create(ctx, "products", {"name": "Desk", "price": "99.99", "note": "short", "code": "c"})
    update(ctx, "products", rec["id"], {"price": "129.99", "status": "sent"})
    long = "abcdefghij" * 5  # 50 characters
    forty = "0123456789" * 4  # exactly 40: not cut
    update(ctx, "products", rec["id"], {"note": long, "code": forty})
    update(ctx, "products", rec["id"], {"note": "tiny"})
    entries = history(ctx, "products", rec["id"])
    # ambiguous: the order of the parts; we take the table's column order
    assert without(entries[1]["summary"]) == "price: 99.99 → 129.99; status: draft → sent"
    assert sorted(set(entries[1]["changed"]) - {"total"}) == ["price", "status"]
    assert entries[2]["summary"] == f"note: short → {long[:39]}…; code: c → {forty}"
    assert entries[3]["summary"] == f"note: {long[:39]}… → tiny"
    assert entries[3]["new"]["note"] == "tiny" and entries[3]["old"]["note"] == long  # old/new are never cut


def test_create_records_one_entry_per_record(ctx, schema, dba):
    before = log_count(dba, schema)
    recs = fn(ctx, "create_records", "notes", [{"title": f"n{i}", "n": i} for i in range(5)])
    assert log_count(dba, schema) == before + 5
    for i, rec in enumerate(recs):
        [entry] = history(ctx, "notes", rec["id"])
        assert (entry["action"], entry["version"], entry["old"]) == ("INSERT", 1, None)
        assert entry["new"]["title"] == f"n{i}" and entry["new"]["n"] == i
        assert sorted(entry["changed"]) == sorted(NOTE_DATA)


def test_no_op_updates_write_nothing(ctx, dba, schema):
    rec = create(ctx, "notes", {"title": "same", "n": 1})
    before = log_count(dba, schema)
    assert update(ctx, "notes", rec["id"], {"title": "same", "n": 1}) == rec
    assert update(ctx, "notes", rec["id"], {}) == rec
    dba.execute(f"update {schema}.notes set title = title")
    dba.execute(f"update {schema}.notes set n = 1 where id = %s", (U(rec["id"]),))
    assert log_count(dba, schema) == before
    assert get(ctx, "notes", rec["id"])["version"] == 1
    assert len(history(ctx, "notes", rec["id"])) == 1


def test_rolled_back_transaction_leaves_no_entry(connect, company, ctx, dba, schema):
    before = log_count(dba, schema)
    conn = set_context(connect(SERVICE_LOGIN, autocommit=False), company, company["owner"])
    rec = create(conn, "notes", {"title": "gone"})
    update(conn, "notes", rec["id"], {"title": "gone again"})
    conn.rollback()
    plain = connect(autocommit=False)
    plain.execute(f"insert into {schema}.notes (title) values ('x')")
    plain.execute(f"update {schema}.notes set n = 5")
    plain.rollback()
    assert log_count(dba, schema) == before
    assert history(ctx, "notes", rec["id"]) == []


# --- plain SQL by a DBA -------------------------------------------------------------

def test_plain_sql_without_context_is_logged(ctx, dba, schema):
    role = one(dba, "select session_user::text")
    rid = one(dba, f"insert into {schema}.notes (title, n) values ('plain', 1) returning id")
    dba.execute(f"update {schema}.notes set n = 2 where id = %s", (rid,))
    dba.execute(f"delete from {schema}.notes where id = %s", (rid,))
    entries = history(ctx, "notes", rid)
    assert [e["action"] for e in entries] == ["INSERT", "UPDATE", "DELETE"]
    assert [e["version"] for e in entries] == [1, 2, 2]
    assert all(e["user_id"] is None and e["db_role"] == role and e["table"] == "notes" for e in entries)
    assert entries[1]["changed"] == ["n"] and entries[1]["summary"] == "n: 1 → 2"
    assert (entries[1]["old"]["n"], entries[1]["new"]["n"]) == (1, 2)
    assert entries[2]["old"]["title"] == "plain"


def test_plain_sql_with_context_carries_the_user(ctx, company, connect, schema):
    conn = set_context(connect(), company, company["owner"])  # a superuser with a docpal context
    role = one(conn, "select session_user::text")
    rid = one(conn, f"insert into {schema}.notes (title) values ('ctx') returning id")
    conn.execute(f"update {schema}.notes set title = 'ctx2' where id = %s", (rid,))
    entries = history(ctx, "notes", rid)
    assert [e["action"] for e in entries] == ["INSERT", "UPDATE"]
    assert all(e["user_id"] == str(company["owner"]) and e["db_role"] == role for e in entries)


def test_plain_sql_multi_row_statements_and_truncate(ctx, dba, schema):
    rids = [r[0] for r in dba.execute(
        f"insert into {schema}.notes (title, n) select 'bulk ' || i, i from generate_series(1, 20) i returning id")]
    assert all(len(history(ctx, "notes", r)) == 1 for r in rids)
    dba.execute(f"update {schema}.notes set n = n + 100 where n <= 10")
    before = log_count(dba, schema)
    dba.execute(f"truncate {schema}.notes")
    assert log_count(dba, schema) == before + 20
    for r in rids:
        entries = history(ctx, "notes", r)
        assert entries[-1]["action"] == "DELETE" and entries[-1]["new"] is None
        assert entries[-1]["old"]["id"] == str(r)
    assert [e["action"] for e in history(ctx, "notes", rids[0])] == ["INSERT", "UPDATE", "DELETE"]
    assert history(ctx, "notes", rids[0])[-1]["version"] == 2
    assert [e["action"] for e in history(ctx, "notes", rids[-1])] == ["INSERT", "DELETE"]
    back = restore(ctx, "notes", rids[0])  # a truncated row comes back from its DELETE entry
    assert (back["title"], back["n"], back["version"]) == ("bulk 1", 101, 3)


def test_relation_on_delete_changes_are_logged(ctx, dba, schema):
    """A foreign key's cascade and set null are changes by another route: logged too."""
    fn(ctx, "create_table", table("parents", {"name": "name", "type": "text"}))
    fn(ctx, "create_table", table("kids", {"name": "name", "type": "text"},
                                  {"name": "p_cascade", "type": "relation", "target": "parents", "on_delete": "cascade"},
                                  {"name": "p_null", "type": "relation", "target": "parents", "on_delete": "set_null"}))
    a = create(ctx, "parents", {"name": "a"})
    b = create(ctx, "parents", {"name": "b"})
    doomed = create(ctx, "kids", {"name": "doomed", "p_cascade": a["id"]})
    orphan = create(ctx, "kids", {"name": "orphan", "p_null": a["id"], "p_cascade": b["id"]})
    delete(ctx, "parents", a["id"])
    last = history(ctx, "kids", doomed["id"])[-1]
    assert (last["action"], last["version"], last["old"]["name"]) == ("DELETE", 1, "doomed")
    last = history(ctx, "kids", orphan["id"])[-1]
    assert (last["action"], last["version"], last["changed"]) == ("UPDATE", 2, ["p_null"])
    assert last["old"]["p_null"] == a["id"] and last["new"]["p_null"] is None
    assert get(ctx, "kids", orphan["id"])["version"] == 2
    assert verify(ctx)["ok"] is True


def test_plain_sql_copy_is_logged(ctx, dba, schema):
    with dba.cursor().copy(f"copy {schema}.notes (title, n) from stdin") as copy:
        copy.write_row(("copied", 7))
        copy.write_row(("copied", 8))
    rids = [r[0] for r in dba.execute(f"select id from {schema}.notes where title = 'copied'")]
    assert len(rids) == 2
    for r in rids:
        [entry] = history(ctx, "notes", r)
        assert entry["action"] == "INSERT" and entry["user_id"] is None


# --- relation_many ------------------------------------------------------------------

def test_links_in_history_rollback_and_restore(ctx, tags, dba, schema):
    t0, t1, t2 = tags
    rec = create(ctx, "products", {"name": "P", "tag_ids": [t0]})
    assert version(ctx, "products", rec["id"], 1)["tag_ids"] == [t0]
    v2 = update(ctx, "products", rec["id"], {"tag_ids": [t0, t1]})
    assert v2["tag_ids"] == [t0, t1] and v2["version"] == 2
    link = history(ctx, "products", rec["id"])[-1]
    assert link["action"] == "UPDATE" and link["changed"] == ["tag_ids"]
    assert link["old"] == {"tag_ids": [t0]} and link["new"] == {"tag_ids": [t0, t1]}
    # ambiguous: "at the record's current version" read as the version after the change
    assert link["version"] == 2

    v3 = update(ctx, "products", rec["id"], {"tag_ids": [t2], "price": 5})
    assert v3["version"] == 3
    last = [e for e in history(ctx, "products", rec["id"]) if e["version"] == 3]
    assert sorted(c for e in last for c in e["changed"] if c != "total") == ["price", "tag_ids"]
    assert version(ctx, "products", rec["id"], 2)["tag_ids"] == [t0, t1]
    assert version(ctx, "products", rec["id"], 3)["tag_ids"] == [t2]

    back = rollback(ctx, "products", rec["id"], 2)
    assert back["tag_ids"] == [t0, t1] and back["price"] is None and back["version"] == 4
    assert get(ctx, "products", rec["id"]) == back
    assert {e["action"] for e in history(ctx, "products", rec["id"]) if e["version"] == 4} == {"ROLLBACK"}

    only_links = rollback(ctx, "products", rec["id"], 1, ["tag_ids"])
    assert only_links["tag_ids"] == [t0] and only_links["version"] == 5

    delete(ctx, "products", rec["id"])
    assert one(dba, f"select count(*) from {schema}._products__tag_ids where source_id = %s", U(rec["id"])) == 0
    restored = restore(ctx, "products", rec["id"])
    assert restored["tag_ids"] == [t0] and restored["version"] == 6
    assert get(ctx, "products", rec["id"]) == restored


def test_plain_sql_on_junction_table(ctx, tags, dba, schema):
    t0, t1, _ = tags
    rec = create(ctx, "products", {"name": "P"})
    before = len(history(ctx, "products", rec["id"]))
    dba.execute(f"insert into {schema}._products__tag_ids (source_id, target_id, position) values (%s, %s, 1), (%s, %s, 2)",
                (U(rec["id"]), U(t0), U(rec["id"]), U(t1)))
    entries = history(ctx, "products", rec["id"])
    assert len(entries) == before + 1  # one per statement and source record
    assert entries[-1]["action"] == "UPDATE" and entries[-1]["changed"] == ["tag_ids"]
    assert entries[-1]["old"] == {"tag_ids": []} and entries[-1]["new"] == {"tag_ids": [t0, t1]}
    assert entries[-1]["version"] == get(ctx, "products", rec["id"])["version"]
    assert entries[-1]["user_id"] is None


# --- append-only --------------------------------------------------------------------

@pytest.fixture
def logged(ctx, dba, schema):
    """A few entries; returns the id of the first one."""
    rec = create(ctx, "notes", {"title": "a", "n": 1})
    update(ctx, "notes", rec["id"], {"n": 2})
    create(ctx, "notes", {"title": "b"})
    return log_ids(dba, schema)[0]


def partition_of(db, schema, entry_id):
    return one(db, f"select tableoid::regclass::text from {schema}._audit_log where id = %s", entry_id)


APPEND_ONLY = [
    "update {log} set summary = 'forged' where id = {id}",
    "update {log} set new = '{{}}' where id = {id}",
    "delete from {log} where id = {id}",
    "delete from {log}",
    "truncate {log}",
]


def refused(conn, sql, *params):
    """The statement fails, and not because the test got a name wrong."""
    with pytest.raises(psycopg.Error) as exc:
        conn.execute(sql, params or None)
    assert exc.value.sqlstate not in ("42601", "42703", "42P01", "42883", "42704"), exc.value


def log_content(db, schema):
    return db.execute(f"select to_jsonb(l) from {schema}._audit_log l order by id").fetchall()


def test_log_is_append_only_for_the_superuser(dba, schema, logged):
    before = log_content(dba, schema)
    for log in (f"{schema}._audit_log", partition_of(dba, schema, logged)):  # the log and a partition directly
        for statement in APPEND_ONLY:
            refused(dba, statement.format(log=log, id=logged))
    for partition in (f"{schema}._audit_log_default", f"{schema}._audit_log_{month(dba, -1)}"):  # empty ones
        refused(dba, f"truncate {partition}")
    assert log_content(dba, schema) == before


def test_log_is_append_only_for_its_owner(dba, connect, schema, logged):
    owner = one(dba, "select tableowner::text from pg_tables where schemaname = %s and tablename = '_audit_log'",
                schema)
    conn = connect(autocommit=False)
    for statement in APPEND_ONLY[:3]:
        conn.execute(f'set local role "{owner}"')
        refused(conn, statement.format(log=f"{schema}._audit_log", id=logged))
        conn.rollback()
    assert one(dba, f"select summary from {schema}._audit_log where id = %s", logged) == "created"


def test_maintenance_switch_allows_delete_never_update(ctx, dba, connect, schema, logged):
    conn = connect(autocommit=False)
    for statement in ("update {log} set summary = 'forged' where id = {id}",
                      "update {log} set new = null, old = null where id = {id}",
                      "update {log} set at = at - interval '1 day' where id = {id}"):
        conn.execute("select docpal_private.switch_set('audit_maintenance', 'on')")
        refused(conn, statement.format(log=f"{schema}._audit_log", id=logged))
        conn.rollback()
    assert verify(ctx)["ok"] is True  # sealed now: the chain is not writable either
    for switch in (True, False):
        if switch:
            conn.execute("select docpal_private.switch_set('audit_maintenance', 'on')")
        refused(conn, f"update {schema}._audit_chain set hash = '\\x00'::bytea where entry_id = %s", logged)
        conn.rollback()
        if switch:
            conn.execute("select docpal_private.switch_set('audit_maintenance', 'on')")
        refused(conn, f"update {schema}._audit_seals set hash = '\\x00'::bytea")
        conn.rollback()
    before = log_count(dba, schema)
    conn.execute("select docpal_private.switch_set('audit_maintenance', 'on')")
    assert conn.execute(f"delete from {schema}._audit_log where id = %s", (logged,)).rowcount == 1
    conn.commit()
    assert log_count(dba, schema) == before - 1
    # the switch is local to its transaction
    refused(conn, f"delete from {schema}._audit_log")
    conn.rollback()
    assert log_count(dba, schema) == before - 1
    conn.execute("select docpal_private.switch_set('audit_maintenance', 'on')")
    conn.execute(f"truncate {schema}._audit_log")
    conn.commit()
    assert log_count(dba, schema) == 0


def test_insert_into_the_log_is_allowed(dba, schema, logged):
    before = log_count(dba, schema)
    dba.execute(f"""insert into {schema}._audit_log ("table", record_id, action, version, new, changed, summary)
                    values ('notes', gen_random_uuid(), 'INSERT', 1, '{{}}', '{{title}}', 'created')""")
    assert log_count(dba, schema) == before + 1


# --- tamper evidence -----------------------------------------------------------------

def test_verify_clean_chain(ctx, dba, schema, logged):
    result = verify(ctx)
    assert result == {"ok": True, "checked": log_count(dba, schema), "first_broken": None}
    assert result["checked"] == 3
    assert verify(ctx) == result  # verifying again changes nothing


def test_chain_does_not_depend_on_session_settings(ctx, connect, company, dba, schema):
    odd = connect(SERVICE_LOGIN)
    set_context(odd, company, company["owner"])
    odd.execute("set extra_float_digits = -3")
    odd.execute("set timezone = 'Pacific/Chatham'")
    odd.execute("set datestyle = 'SQL, DMY'")
    odd.execute("set intervalstyle = 'sql_standard'")
    rec = create(odd, "products", {"name": "tz", "price": "1.10"})
    update(odd, "products", rec["id"], {"price": "2.20"})
    assert verify(odd) == {"ok": True, "checked": 2, "first_broken": None}  # sealed under odd settings
    create(ctx, "notes", {"title": "plain settings"})
    assert verify(ctx) == {"ok": True, "checked": 3, "first_broken": None}
    assert verify(odd) == verify(ctx)


def test_verify_empty_log(ctx):
    assert verify(ctx) == {"ok": True, "checked": 0, "first_broken": None}


@pytest.fixture
def sealed(ctx, dba, schema):
    """Ten entries, all sealed; returns their ids in chain order (id order: one writer)."""
    recs = [create(ctx, "notes", {"title": f"n{i}", "n": i}) for i in range(5)]
    for rec in recs:
        update(ctx, "notes", rec["id"], {"n": 100})
    assert verify(ctx)["ok"] is True
    ids = log_ids(dba, schema)
    assert len(ids) == 10
    return ids


def tamper(dba, sql, *params):
    with dba.transaction():
        dba.execute("set local session_replication_role = replica")
        dba.execute(sql, params)


def test_changed_entry_is_found(ctx, dba, schema, sealed):
    for entry in (sealed[0], sealed[4], sealed[9]):
        original = one(dba, f"select new::text from {schema}._audit_log where id = %s", entry)
        tamper(dba, f"update {schema}._audit_log set new = jsonb_set(new, '{{n}}', '7') where id = %s", entry)
        result = verify(ctx)
        assert result["ok"] is False and result["first_broken"] == entry
        tamper(dba, f"update {schema}._audit_log set new = %s::jsonb where id = %s", original, entry)
        assert verify(ctx) == {"ok": True, "checked": 10, "first_broken": None}


def test_changed_summary_is_found(ctx, dba, schema, sealed):
    tamper(dba, f"update {schema}._audit_log set summary = 'nothing to see' where id = %s", sealed[3])
    result = verify(ctx)
    assert (result["ok"], result["first_broken"]) == (False, sealed[3])


@pytest.mark.parametrize("index", [0, 4])
def test_deleted_entry_is_found(ctx, dba, schema, sealed, index):
    tamper(dba, f"delete from {schema}._audit_log where id = %s", sealed[index])
    result = verify(ctx)
    # the chain still names the removed entry: first_broken is its id
    assert result["ok"] is False and result["first_broken"] == sealed[index]


def test_inserted_forgery_does_not_break_sealed_chain_but_is_sealed(ctx, dba, schema, sealed):
    """An INSERT is allowed: the new entry is simply sealed at the end of the chain."""
    dba.execute(f"""insert into {schema}._audit_log ("table", record_id, action, version, new, changed, summary)
                    values ('notes', gen_random_uuid(), 'INSERT', 1, '{{}}', '{{title}}', 'created')""")
    assert verify(ctx) == {"ok": True, "checked": 11, "first_broken": None}


# --- sealing ---------------------------------------------------------------------

def test_seal_audit_chain(ctx, dba, schema, connect, company):
    recs = [create(ctx, "notes", {"title": f"n{i}"}) for i in range(3)]
    assert one(ctx, "select docpal.seal_audit_chain()") == 3
    assert one(ctx, "select docpal.seal_audit_chain()") == 0
    open_tx = set_context(connect(SERVICE_LOGIN, autocommit=False), company, company["owner"])
    create(open_tx, "notes", {"title": "late"})  # an entry of a running transaction: not sealed
    update(ctx, "notes", recs[0]["id"], {"title": "changed"})
    assert one(ctx, "select docpal.seal_audit_chain()") == 1
    assert verify(ctx) == {"ok": True, "checked": 4, "first_broken": None}
    open_tx.commit()
    assert verify(ctx) == {"ok": True, "checked": 5, "first_broken": None}
    assert one(ctx, "select docpal.seal_audit_chain()") == 0
    assert log_count(dba, schema) == 5


def test_entry_of_the_newest_running_transaction_is_sealed_after_it_commits(ctx, connect, company, dba, schema):
    # the writer's transaction id is the newest one, so the sealer's snapshot does not list it as
    # running (it is at the snapshot's xmax): its entry must still not be taken as settled
    create(ctx, "notes", {"title": "before"})
    held = set_context(connect(SERVICE_LOGIN, autocommit=False), company, company["owner"])
    create(held, "notes", {"title": "held"})
    for _ in range(3):
        one(ctx, "select docpal.seal_audit_chain()")
    held.commit()
    assert one(ctx, "select docpal.seal_audit_chain()") == 1
    assert verify(ctx) == {"ok": True, "checked": log_count(dba, schema), "first_broken": None}


def test_chain_intact_after_concurrent_writers(ctx, company, connect, dba, schema):
    owner = company["owner"]
    held = set_context(connect(SERVICE_LOGIN, autocommit=False), company, owner)
    create(held, "notes", {"title": "held"})  # a small id, committed last
    errors: list = []

    def quick(k):
        try:
            conn = set_context(connect(SERVICE_LOGIN), company, owner)
            for i in range(15):
                rec = create(conn, "notes", {"title": f"q{k}-{i}", "n": i})
                update(conn, "notes", rec["id"], {"n": i + 1000})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def slow(k, pause):
        try:
            conn = set_context(connect(SERVICE_LOGIN, autocommit=False), company, owner)
            conn.commit()
            for i in range(3):
                recs = [create(conn, "notes", {"title": f"s{k}-{i}-{j}"}) for j in range(3)]
                time.sleep(pause + random.random() * 0.05)
                update(conn, "notes", recs[0]["id"], {"n": 1})
                conn.commit()
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=quick, args=(k,)) for k in range(6)]
    threads += [threading.Thread(target=slow, args=(6, 0.15)), threading.Thread(target=slow, args=(7, 0.03))]
    for t in threads:
        t.start()
    sealer = decimals(connect())
    set_context(sealer, company, owner)
    while any(t.is_alive() for t in threads):
        one(sealer, "select docpal.seal_audit_chain()")
        time.sleep(0.01)
    for t in threads:
        t.join()
    assert not errors, errors
    committed = 6 * 15 * 2 + 2 * 3 * 4
    assert log_count(dba, schema) == committed
    assert verify(ctx) == {"ok": True, "checked": committed, "first_broken": None}
    held.commit()
    assert log_count(dba, schema) == committed + 1
    assert verify(ctx) == {"ok": True, "checked": committed + 1, "first_broken": None}


# --- record_history, record_version ---------------------------------------------------

def test_record_history_order_and_unknowns(ctx):
    rec = create(ctx, "notes", {"title": "a"})
    for i in range(5):
        update(ctx, "notes", rec["id"], {"n": i})
    entries = history(ctx, "notes", rec["id"])
    assert [e["version"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    other = create(ctx, "notes", {"title": "b"})
    assert all(e["record_id"] == rec["id"] for e in history(ctx, "notes", rec["id"]))
    assert len(history(ctx, "notes", other["id"])) == 1
    assert history(ctx, "notes", uuid.uuid4()) == []
    assert history(ctx, "products", rec["id"]) == []  # same id, other table
    with raises("42P01"):
        history(ctx, "nope", rec["id"])


def test_record_version(ctx, tags):
    v1 = create(ctx, "products", {"name": "A", "price": 10, "tag_ids": [tags[0]], "category_id": tags[1]})
    v2 = update(ctx, "products", v1["id"], {"price": 20, "status": "sent"})
    v3 = update(ctx, "products", v1["id"], {"name": "B", "tag_ids": []})
    assert version(ctx, "products", v1["id"], 1) == v1
    assert version(ctx, "products", v1["id"], 2) == v2
    assert version(ctx, "products", v1["id"], 3) == v3
    assert version(ctx, "products", v1["id"], 4) is None
    assert version(ctx, "products", v1["id"], 0) is None
    assert version(ctx, "products", uuid.uuid4(), 1) is None
    delete(ctx, "products", v1["id"])
    assert version(ctx, "products", v1["id"], 2) == v2  # the past stays readable
    with raises("42P01"):
        version(ctx, "nope", v1["id"], 1)


def test_record_version_of_plain_sql_changes(ctx, dba, schema):
    rid = one(dba, f"insert into {schema}.notes (title, n) values ('x', 1) returning id")
    dba.execute(f"update {schema}.notes set n = 2 where id = %s", (rid,))
    v1 = version(ctx, "notes", rid, 1)
    assert (v1["title"], v1["n"], v1["version"], v1["created_by"]) == ("x", 1, 1, None)
    assert version(ctx, "notes", rid, 2) == get(ctx, "notes", rid)


# --- rollback_record -----------------------------------------------------------------

@pytest.fixture
def three(ctx):
    """A product at version 3: v1 (A, 10, draft, C1), v2 (price 20, sent), v3 (name B)."""
    v1 = create(ctx, "products", {"name": "A", "price": 10, "code": "C1", "note": "keep"})
    v2 = update(ctx, "products", v1["id"], {"price": 20, "status": "sent"})
    v3 = update(ctx, "products", v1["id"], {"name": "B", "code": "C2"})
    return v1, v2, v3


def test_rollback_record_whole(ctx, three, company):
    v1, _, v3 = three
    back = rollback(ctx, "products", v1["id"], 1)
    assert back["version"] == 4
    assert data_of(back) == data_of(v1)  # created_*, autonumber and formula as they are
    assert back["num"] == v3["num"] and back["total"] == 20
    assert get(ctx, "products", v1["id"]) == back
    last = history(ctx, "products", v1["id"])[-1]
    assert (last["action"], last["version"]) == ("ROLLBACK", 4)
    assert sorted(set(last["changed"]) - {"total"}) == ["code", "name", "price", "status"]
    assert last["user_id"] == str(company["owner"])
    assert version(ctx, "products", v1["id"], 4) == back


def test_rollback_record_columns(ctx, three):
    v1, _, v3 = three
    back = rollback(ctx, "products", v1["id"], 1, ["price"])
    assert (back["price"], back["total"], back["name"], back["status"], back["version"]) == (10, 20, "B", "sent", 4)
    last = history(ctx, "products", v1["id"])[-1]
    assert (last["action"], [c for c in last["changed"] if c != "total"], without(last["summary"])) == \
        ("ROLLBACK", ["price"], "price: 20.00 → 10.00")
    again = rollback(ctx, "products", v1["id"], 2, ["name", "code"])
    assert (again["name"], again["code"], again["price"], again["version"]) == ("A", "C1", 10, 5)


def test_rollback_record_that_changes_nothing(ctx, three, dba, schema):
    v1, _, v3 = three
    before = log_count(dba, schema)
    assert rollback(ctx, "products", v1["id"], 3) == v3
    assert rollback(ctx, "products", v1["id"], 1, ["note"]) == v3
    assert log_count(dba, schema) == before


def test_rollback_record_errors(ctx, three, dba, schema):
    v1, _, v3 = three
    before = log_count(dba, schema)
    for args, code in [((1, ["nope"]), "42703"), ((1, ["price", "nope"]), "42703"), ((1, []), "22023"), ((9, None), "P0002"), ((0, None), "P0002")]:
        with raises(code):
            rollback(ctx, "products", v1["id"], *args)
    assert get(ctx, "products", v1["id"]) == v3
    assert log_count(dba, schema) == before
    # ambiguous: a system column is a column, but not one that can be rolled back
    with raises("42703", "22023"):
        rollback(ctx, "products", v1["id"], 1, ["id"])
    assert get(ctx, "products", v1["id"]) == v3


def test_rollback_record_unknown_or_deleted(ctx, three):
    v1 = three[0]
    with raises("P0002"):
        rollback(ctx, "products", uuid.uuid4(), 1)
    delete(ctx, "products", v1["id"])
    with raises("P0002"):
        rollback(ctx, "products", v1["id"], 1)
    with raises("42P01"):
        rollback(ctx, "nope", v1["id"], 1)


def test_rollback_record_breaking_a_new_validation(ctx, three, dba, schema):
    v1, _, v3 = three
    fn(ctx, "alter_column", "products", "price", {"min": 15})
    before = log_count(dba, schema)
    with raises("23514") as exc:
        rollback(ctx, "products", v1["id"], 1)
    detail = json.loads(exc.value.diag.message_detail)
    assert (detail["column"], detail["rule"]) == ("price", "min")
    assert get(ctx, "products", v1["id"]) == v3
    assert log_count(dba, schema) == before


def test_rollback_record_unique_taken(ctx, three, dba, schema):
    v1, _, v3 = three
    create(ctx, "products", {"name": "Other", "code": "C1"})
    before = log_count(dba, schema)
    with raises("23505"):
        rollback(ctx, "products", v1["id"], 1)
    assert get(ctx, "products", v1["id"]) == v3
    assert log_count(dba, schema) == before


def test_rollback_record_relation_target_gone(ctx, tags, dba, schema):
    rec = create(ctx, "products", {"name": "A", "category_id": tags[0], "tag_ids": [tags[1]]})
    now_ = update(ctx, "products", rec["id"], {"category_id": None, "tag_ids": []})
    delete(ctx, "tags", tags[0])
    before = log_count(dba, schema)
    with raises("23503"):
        rollback(ctx, "products", rec["id"], 1)
    with raises("23503"):
        rollback(ctx, "products", rec["id"], 1, ["category_id"])
    assert get(ctx, "products", rec["id"]) == now_
    assert log_count(dba, schema) == before
    delete(ctx, "tags", tags[1])
    with raises("23503"):
        rollback(ctx, "products", rec["id"], 1, ["tag_ids"])
    assert get(ctx, "products", rec["id"]) == now_


# --- restore_record -------------------------------------------------------------------

def test_restore_record(ctx, tags, company):
    rec = create(ctx, "products", {"name": "A", "price": 3, "category_id": tags[0], "tag_ids": [tags[1], tags[2]]})
    last = update(ctx, "products", rec["id"], {"price": 4})
    delete(ctx, "products", rec["id"])
    assert get(ctx, "products", rec["id"]) is None
    back = restore(ctx, "products", rec["id"])
    assert back["id"] == rec["id"] and back["version"] == 3
    # ambiguous: "its last values" read as every stored value but version/updated_* (created_* kept)
    assert data_of(back) == data_of(last)
    assert back["tag_ids"] == [tags[1], tags[2]] and back["category_id"] == tags[0]
    assert get(ctx, "products", rec["id"]) == back
    entries = history(ctx, "products", rec["id"])
    dele = [i for i, e in enumerate(entries) if e["action"] == "DELETE"][-1]
    # the links went with the DELETE: one link entry, no version, right after it
    cascade = entries[dele + 1]
    assert (cascade["action"], cascade["version"], cascade["changed"]) == ("UPDATE", None, ["tag_ids"])
    assert cascade["old"] == {"tag_ids": [tags[1], tags[2]]} and cascade["new"] == {"tag_ids": []}
    new = entries[dele + 2:]
    assert new[0]["action"] == "RESTORE" and new[0]["version"] == 3 and new[0]["old"] is None
    assert new[0]["summary"] == "restored"
    assert PRODUCT_DATA <= set(new[0]["changed"])
    assert all(e["version"] == 3 for e in new)
    assert version(ctx, "products", rec["id"], 3) == back
    # deleted and restored again: last version + 1
    delete(ctx, "products", rec["id"])
    assert restore(ctx, "products", rec["id"])["version"] == 4


def test_restore_record_errors(ctx, tags, dba, schema):
    alive = create(ctx, "notes", {"title": "alive"})
    before = log_count(dba, schema)
    with raises("P0002"):
        restore(ctx, "notes", uuid.uuid4())
    # ambiguous: a record never deleted that exists matches both P0002 and 23505
    with raises("P0002", "23505"):
        restore(ctx, "notes", alive["id"])
    assert log_count(dba, schema) == before
    delete(ctx, "notes", alive["id"])
    before = log_count(dba, schema)
    with raises("23505"):  # an id names one record for ever (contract section 3)
        create(ctx, "notes", {"id": alive["id"], "title": "reborn"})
    assert log_count(dba, schema) == before
    back = restore(ctx, "notes", alive["id"])
    assert back["title"] == "alive"
    before = log_count(dba, schema)
    with raises("P0002", "23505"):  # restored: not deleted any more
        restore(ctx, "notes", alive["id"])
    assert log_count(dba, schema) == before
    with raises("42P01"):
        restore(ctx, "nope", alive["id"])


@pytest.mark.parametrize("column", ["category_id", "tag_ids"])
def test_restore_record_target_gone(ctx, tags, dba, schema, column):
    data = {"name": "A", column: tags[0] if column == "category_id" else [tags[0]]}
    rec = create(ctx, "products", data)
    delete(ctx, "products", rec["id"])
    delete(ctx, "tags", tags[0])
    before = log_count(dba, schema)
    with raises("23503"):
        restore(ctx, "products", rec["id"])
    assert get(ctx, "products", rec["id"]) is None
    assert log_count(dba, schema) == before


# --- rollback_table ------------------------------------------------------------------

def snapshot(ctx, dba, schema, slug):
    rids = [r[0] for r in dba.execute(f"select id from {schema}.{slug} order by id")]
    return {str(r): get(ctx, slug, r) for r in rids}


def test_rollback_table(ctx, tags, dba, schema):
    recs = [create(ctx, "products", {"name": f"p{i}", "price": i, "code": f"c{i}", "tag_ids": [tags[i % 3]]})
            for i in range(6)]
    update(ctx, "products", recs[1]["id"], {"note": "before T"})
    at = now(dba)
    before = snapshot(ctx, dba, schema, "products")
    time.sleep(0.01)
    update(ctx, "products", recs[0]["id"], {"price": 100, "status": "sent"})
    update(ctx, "products", recs[1]["id"], {"note": "after T"})
    update(ctx, "products", recs[1]["id"], {"code": "moved", "name": "renamed"})
    update(ctx, "products", recs[2]["id"], {"tag_ids": [tags[0], tags[1]]})  # links only
    delete(ctx, "products", recs[3]["id"])
    dba.execute(f"delete from {schema}.products where id = %s", (U(recs[4]["id"]),))  # plain SQL
    created = [create(ctx, "products", {"name": "new", "code": "c3"}),  # takes a code of a deleted record
               create(ctx, "products", {"name": "new2", "tag_ids": [tags[2]]})]
    dba.execute(f"insert into {schema}.products (name) values ('plain new')")
    gone = create(ctx, "products", {"name": "born and gone after T"})  # absent at T and now: not counted
    delete(ctx, "products", gone["id"])
    untouched = get(ctx, "products", recs[5]["id"])
    untouched_history = history(ctx, "products", recs[5]["id"])

    result = rollback_table(ctx, "products", at)
    assert result == {"updated": 3, "restored": 2, "deleted": 3}
    after = snapshot(ctx, dba, schema, "products")
    assert set(after) == set(before)
    for rid, rec in before.items():
        assert data_of(after[rid]) == data_of(rec), rid
    assert get(ctx, "products", recs[5]["id"]) == untouched
    assert history(ctx, "products", recs[5]["id"]) == untouched_history
    assert history(ctx, "products", recs[0]["id"])[-1]["action"] == "ROLLBACK"
    assert after[recs[0]["id"]]["version"] == 3
    assert "RESTORE" in [e["action"] for e in history(ctx, "products", recs[3]["id"])]
    assert after[recs[3]["id"]]["version"] == 2  # last version 1 + 1
    assert history(ctx, "products", created[0]["id"])[-1]["action"] == "DELETE"
    # nothing to do the second time
    assert rollback_table(ctx, "products", at) == {"updated": 0, "restored": 0, "deleted": 0}
    assert verify(ctx)["ok"] is True


def test_rollback_table_errors_change_nothing(ctx, dba, schema):
    recs = [create(ctx, "notes", {"title": f"n{i}", "n": i}) for i in range(3)]
    at = now(dba)
    time.sleep(0.01)
    update(ctx, "notes", recs[0]["id"], {"n": 50})
    delete(ctx, "notes", recs[1]["id"])
    fn(ctx, "alter_column", "notes", "n", {"min": 2})  # n = 0 and 1 (of T) now break a rule
    state = snapshot(ctx, dba, schema, "notes")
    count = log_count(dba, schema)
    with raises("23514"):
        rollback_table(ctx, "notes", at)
    assert snapshot(ctx, dba, schema, "notes") == state
    assert log_count(dba, schema) == count
    with raises("22023"):
        rollback_table(ctx, "notes", one(dba, "select now() + interval '1 hour'"))
    with raises("42P01"):
        rollback_table(ctx, "nope", at)
    assert snapshot(ctx, dba, schema, "notes") == state


# --- audit_report ----------------------------------------------------------------------

@pytest.fixture
def activity(ctx, as_admin, company, admin):
    """Owner: 3 inserts, 1 update, 1 rollback on notes; admin: 1 insert on tags, 1 delete on notes."""
    start = now(ctx)
    time.sleep(0.01)
    n = [create(ctx, "notes", {"title": f"n{i}", "n": i}) for i in range(3)]
    update(ctx, "notes", n[0]["id"], {"n": 10})
    middle = now(ctx)
    time.sleep(0.01)
    tag = create(as_admin, "tags", {"name": "x"})
    delete(as_admin, "notes", n[1]["id"])
    rollback(ctx, "notes", n[0]["id"], 1)
    time.sleep(0.01)
    end = now(ctx)
    return {"start": start, "middle": middle, "end": end, "notes": n, "tag": tag}


def test_report_changes(ctx, activity, admin, company):
    r = report(ctx, {"kind": "changes"})
    assert r["report_type"] == "changes" and set(r["period"]) == {"from", "to"}
    assert r["total"] == 7 == len(r["entries"])
    assert [e["action"] for e in r["entries"]] == ["INSERT"] * 3 + ["UPDATE", "INSERT", "DELETE", "ROLLBACK"]
    assert all(set(e) == ENTRY_KEYS for e in r["entries"])
    assert [e["id"] for e in r["entries"]] == sorted(e["id"] for e in r["entries"])
    notes = report(ctx, {"kind": "changes", "table": "notes"})
    assert notes["total"] == 6 and {e["table"] for e in notes["entries"]} == {"notes"}
    by_admin = report(ctx, {"kind": "changes", "user_id": str(admin[0])})
    assert [e["action"] for e in by_admin["entries"]] == ["INSERT", "DELETE"]
    late = report(ctx, {"kind": "changes", "from": activity["middle"].isoformat()})
    assert [e["action"] for e in late["entries"]] == ["INSERT", "DELETE", "ROLLBACK"]
    early = report(ctx, {"kind": "changes", "to": activity["middle"].isoformat()})
    assert early["total"] == 4
    # from inclusive, to exclusive, at an entry's own time
    first_at = r["entries"][0]["at"]
    assert report(ctx, {"kind": "changes", "from": first_at})["total"] == 7
    assert report(ctx, {"kind": "changes", "to": first_at})["total"] == 0
    none = report(ctx, {"kind": "changes", "from": activity["end"].isoformat()})
    assert (none["total"], none["entries"]) == (0, [])
    both = report(ctx, {"kind": "changes", "from": activity["start"].isoformat(),
                        "to": activity["end"].isoformat(), "table": "notes", "user_id": str(company["owner"])})
    assert both["total"] == 5
    assert same_time(ctx, both["period"]["from"], activity["start"])
    assert same_time(ctx, both["period"]["to"], activity["end"])


def test_report_user_activity(ctx, activity, admin, company, dba, schema):
    role = one(dba, "select session_user::text")
    dba.execute(f"insert into {schema}.notes (title) values ('dba')")
    r = report(ctx, {"kind": "user_activity"})
    assert r["report_type"] == "user_activity" and set(r["period"]) == {"from", "to"}
    users = r["users"]
    assert len(users) == 3
    keys = {"user_id", "user", "changes", "inserts", "updates", "deletes", "rollbacks", "restores",
            "tables", "first_at", "last_at"}
    assert all(set(u) == keys for u in users)
    owner, adm, plain = users  # most active first
    assert owner["user_id"] == str(company["owner"]) and owner["user"] == f"owner-{company['slug']}@example.com"
    # ambiguous: "updates" counts UPDATE entries only (ROLLBACK has its own count)
    assert [owner[k] for k in ("changes", "inserts", "updates", "deletes", "rollbacks", "restores")] == [5, 3, 1, 0, 1, 0]
    assert owner["tables"] == ["notes"]
    assert adm["user_id"] == str(admin[0]) and adm["user"] == admin[1]
    assert [adm[k] for k in ("changes", "inserts", "updates", "deletes", "rollbacks", "restores")] == [2, 1, 0, 1, 0, 0]
    assert sorted(adm["tables"]) == ["notes", "tags"]
    assert plain["user_id"] is None and plain["user"] == role and plain["changes"] == 1 and plain["inserts"] == 1
    assert one(ctx, "select %s::timestamptz <= %s::timestamptz", owner["first_at"], owner["last_at"])
    only_admin = report(ctx, {"kind": "user_activity", "user_id": str(admin[0])})
    assert [u["user_id"] for u in only_admin["users"]] == [str(admin[0])]
    tags_only = report(ctx, {"kind": "user_activity", "table": "tags"})
    assert [(u["user_id"], u["changes"]) for u in tags_only["users"]] == [(str(admin[0]), 1)]


def test_report_compliance(ctx, activity, admin, company):
    r = report(ctx, {"kind": "compliance"})
    assert r["report_type"] == "compliance" and set(r["period"]) == {"from", "to"}
    assert r["summary"] == {"total_changes": 7, "users_active": 2, "tables_modified": 2}
    details = r["details"]
    assert len(details) == 7
    assert all(set(d) == {"at", "user", "action", "table", "record_id", "change_summary"} for d in details)
    assert [d["action"] for d in details] == ["INSERT"] * 3 + ["UPDATE", "INSERT", "DELETE", "ROLLBACK"]
    owner_email = f"owner-{company['slug']}@example.com"
    assert [d["user"] for d in details] == [owner_email] * 4 + [admin[1]] * 2 + [owner_email]
    assert details[0]["change_summary"] == "created" and details[0]["table"] == "notes"
    assert details[0]["record_id"] == activity["notes"][0]["id"]
    assert details[3]["change_summary"] == "n: 0 → 10"
    assert details[4]["table"] == "tags" and details[5]["change_summary"] == "deleted"
    narrowed = report(ctx, {"kind": "compliance", "table": "tags"})
    assert narrowed["summary"] == {"total_changes": 1, "users_active": 1, "tables_modified": 1}


def test_report_errors(ctx):
    for spec, code in [({"kind": "nope"}, "22023"), ({}, "22023"), ({"kind": "changes", "extra": 1}, "22023"),
                       ({"kind": "changes", "from": "not a time"}, "22023"),
                       ({"kind": "changes", "to": "2020-13-45"}, "22023"),
                       ({"kind": "changes", "user_id": "not a uuid"}, "22023"),
                       ({"kind": "changes", "table": "nope"}, "42P01")]:
        with raises(code):
            report(ctx, spec)


# --- partitions and retention -----------------------------------------------------------

def test_monthly_partitions_come_with_the_first_table(dba, schema, service, company):
    # a company without tables has no partition (create_company stays cheap:
    # creating one reads all of pg_constraint), and audit upkeep runs there
    assert partitions(dba, schema) == set()
    assert one(dba, "select docpal_private.maintain_audit(%s, 0)", schema)["dropped"] == []
    assert partitions(dba, schema) == {f"_audit_log_{month(dba, 0)}", f"_audit_log_{month(dba, -1)}"}
    set_context(service, company, company["owner"])
    fn(service, "create_table", NOTES)
    names = partitions(dba, schema)
    assert {f"_audit_log_{month(dba, 0)}", f"_audit_log_{month(dba, -1)}", "_audit_log_default"} <= names


def test_entries_land_in_their_month(ctx, dba, schema):
    create(ctx, "notes", {"title": "x"})
    assert one(dba, f"select tableoid::regclass::text from {schema}._audit_log") == \
        f"{schema}._audit_log_{month(dba, 0)}"


def test_maintain_creates_missing_partitions(ctx, dba, schema):
    dba.execute(f"drop table {schema}._audit_log_{month(dba, -1)}")  # empty
    result = one(ctx, "select docpal.maintain_audit_log()")
    assert set(result) == {"created", "dropped", "sealed", "anchors"}
    assert any(p.endswith(f"_audit_log_{month(dba, -1)}") for p in result["created"])
    assert result["dropped"] == []
    assert f"_audit_log_{month(dba, -1)}" in partitions(dba, schema)
    assert one(ctx, "select docpal.maintain_audit_log()")["created"] == []


def insert_old(dba, schema, months_ago, n):
    for i in range(n):
        dba.execute(
            f"""insert into {schema}._audit_log ("table", record_id, action, version, new, changed, summary, at)
                values ('notes', gen_random_uuid(), 'INSERT', 1, '{{"title": "old"}}', '{{title}}', 'created',
                        date_trunc('month', now() at time zone 'UTC') at time zone 'UTC'
                          - make_interval(months => %s) + interval '14 days' + make_interval(mins => %s))""",
            (months_ago, i))


@pytest.fixture
def aged(ctx, dba, schema):
    """Old entries 6 and 5 months ago and 1 month ago (in the default partition), then live ones."""
    insert_old(dba, schema, 6, 3)
    insert_old(dba, schema, 5, 2)
    insert_old(dba, schema, 1, 2)
    for i in range(3):
        rec = create(ctx, "notes", {"title": f"n{i}"})
        update(ctx, "notes", rec["id"], {"n": i})
    assert log_count(dba, schema) == 13
    return ctx


def test_maintain_moves_rows_out_of_the_default_partition(aged, dba, schema):
    assert one(dba, f"select count(*) from {schema}._audit_log_default") == 7
    result = one(aged, "select docpal.maintain_audit_log()")
    assert result["dropped"] == []
    assert result["sealed"] == 13
    assert one(dba, f"select count(*) from {schema}._audit_log_default") == 0
    assert {f"_audit_log_{month(dba, m)}" for m in (6, 5, 1)} <= partitions(dba, schema)
    assert log_count(dba, schema) == 13
    assert verify(aged) == {"ok": True, "checked": 13, "first_broken": None}


def test_maintain_retention_keeps_the_chain_exact(aged, dba, schema):
    assert verify(aged) == {"ok": True, "checked": 13, "first_broken": None}
    result = one(aged, "select docpal.maintain_audit_log(keep_months => 2)")
    assert sorted(p.rsplit(".", 1)[-1] for p in result["dropped"]) == \
        [f"_audit_log_{month(dba, 6)}", f"_audit_log_{month(dba, 5)}"]
    # ambiguous: anchors is a count; one kept entry chains to a dropped one
    assert result["anchors"] == 1
    names = partitions(dba, schema)
    assert f"_audit_log_{month(dba, 6)}" not in names and f"_audit_log_{month(dba, 1)}" in names
    assert log_count(dba, schema) == 8
    assert verify(aged) == {"ok": True, "checked": 8, "first_broken": None}
    create(aged, "notes", {"title": "later"})
    assert verify(aged) == {"ok": True, "checked": 9, "first_broken": None}
    again = one(aged, "select docpal.maintain_audit_log(keep_months => 2)")
    assert again["dropped"] == []
    assert verify(aged)["ok"] is True


def test_retention_without_sealing_first(aged, dba, schema):
    """Nothing sealed yet: maintain seals everything before dropping."""
    result = one(aged, "select docpal.maintain_audit_log(keep_months => 2)")
    assert len(result["dropped"]) == 2 and result["sealed"] == 13
    assert verify(aged) == {"ok": True, "checked": 8, "first_broken": None}


def test_partition_dropped_by_hand_breaks_the_chain(aged, dba, schema):
    one(aged, "select docpal.maintain_audit_log()")
    assert verify(aged)["ok"] is True
    first_dropped = one(dba, f"select min(id) from {schema}._audit_log_{month(dba, 6)}")
    # chain order is id order here: one writer at a time
    dba.execute(f"drop table {schema}._audit_log_{month(dba, 6)}")
    dba.execute(f"drop table {schema}._audit_log_{month(dba, 5)}")
    result = verify(aged)
    # the chain still names the removed entries: first_broken is the first of them
    assert result["ok"] is False and result["first_broken"] == first_dropped


def test_maintain_needs_owner_admin_or_service(ctx, company, connect, as_admin):
    member = set_context(connect(SERVICE_LOGIN), company, company["member"])
    with raises("42501"):
        one(member, "select docpal.maintain_audit_log()")
    with raises("42501"):
        one(member, "select docpal.maintain_audit_log(keep_months => 1)")
    assert set(one(as_admin, "select docpal.maintain_audit_log()")) == {"created", "dropped", "sealed", "anchors"}
    assert set(one(ctx, "select docpal.maintain_audit_log()")) == {"created", "dropped", "sealed", "anchors"}
    # ambiguous: "or docpal_service" may mean the service role without a context maintaining
    # every company, so a context-less call is not tested here


# --- context -----------------------------------------------------------------------------

def test_audit_functions_need_a_context(ctx, connect):
    conn = connect(SERVICE_LOGIN)
    rid = uuid.uuid4()
    for sql, args in [
        ("select docpal.record_history('notes', %s)", (rid,)),
        ("select docpal.record_version('notes', %s, 1)", (rid,)),
        ("select docpal.rollback_record('notes', %s, 1)", (rid,)),
        ("select docpal.restore_record('notes', %s)", (rid,)),
        ("select docpal.rollback_table('notes', now())", ()),
        ("select docpal.audit_report('{\"kind\": \"changes\"}')", ()),
        ("select docpal.verify_audit_chain()", ()),
    ]:
        with raises("42501"):
            conn.execute(sql, args)


def test_log_is_per_company(ctx, db, dba, schema, connect):
    other = db.execute("select docpal.create_company(%s, 'Other')", (f"other-{uuid.uuid4().hex[:8]}",)).fetchone()[0]
    user = one(db, "select docpal.create_user(%s, 'O')", f"o-{uuid.uuid4().hex[:8]}@example.com")
    db.execute("select docpal.add_member(%s, %s, 'owner')", (other, user))
    conn = set_context(connect(SERVICE_LOGIN), {"id": other}, user)
    fn(conn, "create_table", NOTES)
    rec = create(conn, "notes", {"title": "theirs"})
    create(ctx, "notes", {"title": "ours"})
    assert history(ctx, "notes", rec["id"]) == []
    assert len(history(conn, "notes", rec["id"])) == 1
    assert verify(ctx)["checked"] == 1 and verify(conn)["checked"] == 1
    assert report(ctx, {"kind": "changes"})["total"] == 1


def test_capture_plans_never_join_by_nested_loop(ctx, dba, schema):
    """The generated capture function keeps its plans for the session; one made
    for a one-row UPDATE must still hash-join the old and new rows of a bulk
    one (a nested loop over transition tables is quadratic)."""
    config = one(dba, f"select proconfig from pg_proc where oid = '{schema}._audit_notes()'::regprocedure")
    assert "enable_nestloop=off" in config
    recs = [create(ctx, "notes", {"title": f"n{i}"}) for i in range(3)]
    update(ctx, "notes", recs[0]["id"], {"n": 1})  # the first UPDATE: one row
    dba.execute(f"insert into {schema}.notes (title) select 'bulk ' || i from generate_series(1, 2000) i")
    assert dba.execute(f"update {schema}.notes set n = 7").rowcount == 2003
    assert one(dba, f"""select count(*) from {schema}._audit_log where "table" = 'notes' and action = 'UPDATE'
                         and new->>'n' = '7'""") == 2003
