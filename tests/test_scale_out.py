"""The parts of docpal's Citus support (contract section 10, issue 14) that run
the same on plain PostgreSQL, checked here without a cluster (CI has none;
tests/test_citus.py runs the contract against a real one).

The capture trigger of a table takes its worker path when the table it
fires on is not named like the docpal table: on a Citus worker it fires on a
shard (``items_102008``). A copy of a docpal table under another name, with
the same capture function, stands in for a shard: writes to it go through
that path on plain PostgreSQL, with ids from the company's clock, no
transaction id, and no notification. Consumers and the sealer then see a
company that writes like a distributed one.
"""

from __future__ import annotations

import threading

import psycopg
import pytest

from helpers import fn, one, raises, set_context, table


def as_shard(db, schema: str, slug: str, shard: str) -> None:
    """A stand-in for the Citus shard of table slug: same columns and
    defaults, the table's own capture function and version stamping."""
    db.execute(f'create table {schema}."{shard}" (like {schema}."{slug}" including all)')
    for event, referencing in (("insert", "referencing new table as _docpal_new"),
                               ("update", "referencing old table as _docpal_old new table as _docpal_new"),
                               ("delete", "referencing old table as _docpal_old")):
        db.execute(f'create trigger _docpal_audit_{event} after {event} on {schema}."{shard}" {referencing} '
                   f'for each statement execute function {schema}."_audit_{slug}"()')


@pytest.fixture
def shard(db, company, connect):
    """(owner connection, schema, shard table name) with table items and its stand-in shard."""
    owner = set_context(connect(), company, company["owner"])
    fn(owner, "create_table", table("items", {"name": "name", "type": "text"}, {"name": "n", "type": "integer"}))
    as_shard(db, company["schema"], "items", "items_102008")
    return owner, company["schema"], "items_102008"


def entries(db, schema):
    return db.execute(f"select id, txid, action, record_id, user_id from {schema}._audit_log order by id").fetchall()


def test_worker_path_writes_entries_and_events_with_clock_ids(db, company, shard):
    owner, schema, name = shard
    local = fn(owner, "create_record", "items", {"name": "on the coordinator", "n": 1})
    before = entries(db, schema)
    assert [e[1] is not None for e in before] == [True], "the local path keeps its transaction ids"
    # a writer on the "worker" in the owner's context (the settings docpal_private.citus_share sends on)
    owner.execute(f'insert into {schema}."{name}" (name, n) values (%s, 1), (%s, 2)', ("a", "b"))
    owner.execute(f'update {schema}."{name}" set n = n + 10')
    owner.execute(f'delete from {schema}."{name}" where name = %s', ("a",))
    got = entries(db, schema)[1:]
    assert [e[2] for e in got] == ["INSERT", "INSERT", "UPDATE", "UPDATE", "DELETE"]
    assert all(e[1] is None for e in got), "no transaction id on the worker path"
    assert all(e[4] == company["owner"] for e in got), "the user from the context"
    ids = [e[0] for e in got]
    assert ids == list(range(before[-1][0] + 1, before[-1][0] + 6)), "clock ids follow the highest id, no gaps"
    clock = db.execute(f"select audit_id, event_id from {schema}._clock").fetchone()
    events = db.execute(f"select id, xid, action from {schema}._events order by id").fetchall()
    assert clock == (ids[-1], events[-1][0])
    assert [e[2] for e in events] == ["INSERT", "INSERT", "INSERT", "UPDATE", "UPDATE", "DELETE"]
    assert events[0][1] is not None and all(e[1] is None for e in events[1:])
    number = one(db, "select number from docpal_private.companies where id = %s", company["id"])
    assert all(number * 2**32 < e[0] < (number + 1) * 2**32 for e in events), "in the company's id range"
    assert fn(owner, "record_history", "items", local["id"])[0]["action"] == "INSERT"


class Abort(Exception):
    pass


def test_rolled_back_worker_write_gives_its_ids_back(db, company, shard):
    owner, schema, name = shard
    owner.execute(f'insert into {schema}."{name}" (name) values (%s)', ("kept",))
    kept = one(db, f"select audit_id from {schema}._clock")
    with pytest.raises(Abort):
        with owner.transaction():
            owner.execute(f'insert into {schema}."{name}" (name) values (%s)', ("gone",))
            assert one(db, f"select audit_id from {schema}._clock") == kept, "not visible before commit"
            raise Abort
    owner.execute(f'insert into {schema}."{name}" (name) values (%s)', ("next",))
    ids = [e[0] for e in entries(db, schema)]
    assert ids == [kept, kept + 1], f"gapless: {ids}"
    assert one(db, f"select audit_id from {schema}._clock") == kept + 1


def test_consumers_get_worker_events_once_in_order(db, company, shard):
    owner, schema, name = shard
    consumer = "scale-out"
    fn(owner, "create_record", "items", {"name": "local"})
    first = fn(owner, "poll_events", consumer, 100)
    assert [e["action"] for e in first] == ["INSERT"]
    fn(owner, "ack_events", consumer, first[-1]["event_id"])
    owner.execute(f'insert into {schema}."{name}" (name) select %s || g from generate_series(1, 5) g', ("w",))
    owner.execute(f'insert into {schema}."{name}" (name) values (%s)', ("w6",))
    got = []
    while batch := fn(owner, "poll_events", consumer, 2):
        got += batch
        fn(owner, "ack_events", consumer, batch[-1]["event_id"])
    ids = [e["event_id"] for e in got]
    assert len(got) == 6 and len(set(ids)) == 6
    assert fn(owner, "poll_events", consumer, 100) == []
    assert ids == sorted(ids) and ids[0] > first[-1]["event_id"]
    # a new consumer gets all of them; replay from the first worker event re-delivers
    fresh = fn(owner, "poll_events", "scale-out-new", 100)
    assert len(fresh) == 7
    worker_first = got[2]["event_id"]
    fn(owner, "replay_events", consumer, worker_first)
    again = fn(owner, "poll_events", consumer, 100)
    assert [e["event_id"] for e in again] == sorted(e["event_id"] for e in got if e["event_id"] >= worker_first)
    # acknowledging an event not handed out yet is refused
    owner.execute(f'insert into {schema}."{name}" (name) values (%s)', ("late",))
    late = one(db, f"select max(id) from {schema}._events")
    fn(owner, "ack_events", consumer, again[-1]["event_id"])
    with raises("22023"):
        fn(owner, "ack_events", consumer, late)


def test_concurrent_worker_writers_commit_in_clock_order(db, company, shard, connect):
    """Two writers of one company on the worker path: the second waits for
    the clock row until the first commits, so ids follow commit order."""
    owner, schema, name = shard
    other = set_context(connect(), company, company["owner"])
    first = connect()
    set_context(first, company, company["owner"])
    with first.transaction():
        first.execute(f'insert into {schema}."{name}" (name) values (%s)', ("first",))
        done = threading.Event()

        def write_second():
            other.execute(f'insert into {schema}."{name}" (name) values (%s)', ("second",))
            done.set()

        worker = threading.Thread(target=write_second)
        worker.start()
        assert not done.wait(0.5), "the second writer waits for the clock row"
    worker.join(10)
    assert done.is_set()
    rows = db.execute(f"select e.id, r.name from {schema}._events e join {schema}.\"{name}\" r on r.id = e.record_id"
                      " order by e.id").fetchall()
    assert [r[1] for r in rows] == ["first", "second"]


def test_sealer_settles_worker_entries(db, company, shard):
    owner, schema, name = shard
    fn(owner, "create_record", "items", {"name": "local"})
    owner.execute(f'insert into {schema}."{name}" (name) select %s || g from generate_series(1, 3) g', ("w",))
    fn(owner, "seal_audit_chain")
    got = fn(owner, "verify_audit_chain")
    assert got["ok"] is True and got["checked"] == 4


def test_user_ids_mirror_users(db):
    user = fn(db, "create_user", "mirror@example.com", "Mirror")
    assert one(db, "select count(*) from docpal_private.user_ids where id = %s", user) == 1
    db.execute("delete from docpal_private.users where id = %s", (user,))
    assert one(db, "select count(*) from docpal_private.user_ids where id = %s", user) == 0
    assert one(db, """select count(*) from docpal_private.users u
                       where not exists (select from docpal_private.user_ids i where i.id = u.id)""") == 0


def test_nothing_citus_without_citus(db, company, connect):
    """Without the citus extension: no staging, no reference tables, the
    owner stays NOLOGIN, switches are bound to the transaction id."""
    assert one(db, "select rolcanlogin from pg_roles where rolname = 'docpal_owner'") is False
    assert one(db, "select docpal_private.company_distributed(%s)", company["schema"]) is False
    db.execute("select docpal_private.citus_colocate(%s)", (company["schema"],))
    with db.transaction():
        xid = one(db, "select pg_current_xact_id()::text")
        assert one(db, "select docpal_private.switch_transaction()") == xid
        db.execute("select docpal_private.switch_set('audit_action', 'ROLLBACK')")
        assert one(db, "select docpal_private.switch('audit_action')") == "ROLLBACK"
    with raises("22023"):
        fn(db, "set_platform_setting", "distributed", "on")


def specs_match(db, company):
    """docpal_private.table_specs holds exactly the company's table specs."""
    catalog = dict(db.execute(f"select slug, spec from {company['schema']}._catalog where kind = 'table'").fetchall())
    copy = dict(db.execute("select slug, spec from docpal_private.table_specs where company_id = %s",
                           (company["id"],)).fetchall())
    assert copy == catalog
    return catalog


def test_table_specs_follow_the_catalog(db, company, connect):
    """The coordinator's copy of the table specs (what a distributed company's
    queries compile from) is the catalog's, after every kind of schema change."""
    owner = set_context(connect(), company, company["owner"])
    fn(owner, "create_type_list", "sizes", ["s", "m"])
    fn(owner, "create_table", table("tags", {"name": "label", "type": "text"}))
    fn(owner, "create_table", table("items", {"name": "name", "type": "text"},
                                    {"name": "size", "type": "select", "type_list": "sizes"},
                                    {"name": "tag_ids", "type": "relation_many", "target": "tags"}))
    specs_match(db, company)
    fn(owner, "add_column", "items", {"name": "price", "type": "decimal"})
    fn(owner, "rename_column", "items", "price", "cost")
    fn(owner, "alter_column", "items", "name", {"max_length": 80})
    fn(owner, "update_type_list", "sizes", ["s", "m", "l"])
    specs_match(db, company)
    fn(owner, "drop_column", "items", "cost")
    fn(owner, "drop_table", "items")
    assert set(specs_match(db, company)) == {"tags"}
    fn(owner, "query_table", "tags", {})  # compiles from _catalog on plain PostgreSQL
    # a company made before the copy existed gets it from tenant step 9
    db.execute("delete from docpal_private.table_specs where company_id = %s", (company["id"],))
    step = one(db, "select version from docpal_private.tenant_steps where module = 'base' and name = 'table_specs'")
    db.execute("update docpal_private.companies set schema_version = %s where id = %s", (step - 1, company["id"]))
    db.execute("call docpal_private.upgrade_tenants()")
    assert set(specs_match(db, company)) == {"tags"}
    fn(db, "drop_company", company["id"])
    assert one(db, "select count(*) from docpal_private.table_specs where company_id = %s", company["id"]) == 0


def test_clock_starts_after_ids_that_are_gone(db, company, shard, connect):
    """A company distributed after its outbox was emptied by retention, or
    after writes were rolled back, never hands out an id again."""
    owner, schema, name = shard
    fn(owner, "create_record", "items", {"name": "old"})
    with pytest.raises(Abort):
        with owner.transaction():
            fn(owner, "create_record", "items", {"name": "rolled back"})
            raise Abort
    fn(owner, "seal_audit_chain")  # records the sequence's mark, past the rolled-back entry
    last_entry = one(db, f"select max(greatest(entry_id, id_mark, settled)) from {schema}._audit_seals")
    last_event = one(db, f"select max(id) from {schema}._events")
    fn(db, "update_company", company["id"], {"settings": {"event_retention": "1 hour"}})
    db.execute(f"update {schema}._events set at = at - interval '2 hours'")
    assert fn(db, "maintain_events")["deleted"] >= 1
    assert one(db, f"select count(*) from {schema}._events") == 0
    owner.execute(f'insert into {schema}."{name}" (name) values (%s)', ("worker",))
    assert one(db, f"select min(id) from {schema}._audit_log where txid is null") > last_entry
    assert one(db, f"select min(id) from {schema}._events where xid is null") > last_event
