"""Audit entries across a change of the capture (issue 19): the images of an
UPDATE entry are built column by column, no longer as the whole row less its
unchanged columns, and record_history reads through the company's generated
_audit_history. Entries written before (by the previous release, or by any
earlier capture) and after must read, roll back, restore and verify alike."""

from __future__ import annotations

import psycopg

from docpal import deploy
from helpers import U, fn, one, raises, set_context, table
from test_release_upgrade import release_db  # noqa: F401 (fixture)

SYSTEM = {"id", "version", "created_at", "updated_at", "created_by", "updated_by"}
MIXED = table(
    "mixed",
    {"name": "title", "type": "text"},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "n", "type": "integer"},
    {"name": "flag", "type": "boolean"},
    {"name": "day", "type": "date"},
    {"name": "moment", "type": "datetime"},
    {"name": "kind", "type": "select", "options": ["a", "b"]},
    {"name": "owner_id", "type": "user"})
DATA = ["title", "amount", "n", "flag", "day", "moment", "kind", "owner_id"]
NOTES = table("notes", {"name": "title", "type": "text"}, {"name": "n", "type": "integer"})


def rows(dba, schema: str) -> dict:
    """Every row of mixed as to_jsonb shows it with the capture's settings: id -> row."""
    dba.execute("set timezone = 'UTC'; set extra_float_digits = 1; set datestyle = 'ISO, MDY'")
    return {r["id"]: r for (r,) in dba.execute(f"select to_jsonb(t) from {schema}.mixed t").fetchall()}


def test_update_images_hold_the_changed_columns_as_the_whole_row_shows_them(service, company, db):
    """The column-by-column images are exactly the whole row's values of the changed columns,
    plus version (and updated_by when it changed), for every type; the summary reads them."""
    schema = company["schema"]
    set_context(service, company, company["owner"])
    fn(service, "create_table", MIXED)
    long = "x" * 45
    db.execute(f"""insert into {schema}.mixed (title, amount, n, flag, day, moment, kind, owner_id)
                   values ('one', 1.5, 1, true, '2026-01-02', '2026-01-02 03:04:05+00', 'a', %s),
                          (null, null, null, null, null, null, null, null),
                          ('three', 3, 3, false, '2026-03-03', '2026-03-03 00:00:00+00', 'b', null)""",
               (company["owner"],))
    before = rows(db, schema)
    # one statement, several rows, different columns changed per row (nulls both ways)
    db.execute(f"""update {schema}.mixed set
                     title = case when title = 'one' then %s when title is null then 'two' else title end,
                     amount = case when amount = 1.5 then null when amount is null then 2.25 else amount end,
                     moment = case when title = 'three' then moment + interval '1 hour' else moment end,
                     owner_id = case when owner_id is null and title is null then %s else owner_id end""",
               (long, company["member"]))
    after = rows(db, schema)
    entries = {e["record_id"]: e for (e,) in db.execute(
        f"select to_jsonb(e) from {schema}._audit_log e where e.action = 'UPDATE'").fetchall()}
    assert len(entries) == 3
    for rid, entry in entries.items():
        old, new = before[rid], after[rid]
        changed = [c for c in DATA if old[c] != new[c]]
        keys = set(changed) | {"version"} | ({"updated_by"} if old["updated_by"] != new["updated_by"] else set())
        assert entry["changed"] == changed
        assert entry["old"] == {k: old[k] for k in keys}
        assert entry["new"] == {k: new[k] for k in keys}

        def shown(v):
            text = "empty" if v is None else v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) \
                else str(v)
            return text[:39] + "…" if len(text) > 40 else text
        if all(not isinstance(old[c], (int, float)) or isinstance(old[c], bool) for c in changed):
            assert entry["summary"] == "; ".join(f"{c}: {shown(old[c])} → {shown(new[c])}" for c in changed)
    one_id = next(r for r, row in before.items() if row["title"] == "one")
    assert entries[one_id]["summary"] == f"title: one → {'x' * 39}…; amount: 1.50 → empty"
    # an UPDATE that changes no data column writes no entry
    count = one(db, f"select count(*) from {schema}._audit_log")
    db.execute(f"update {schema}.mixed set title = title")
    assert one(db, f"select count(*) from {schema}._audit_log") == count
    # the history reads them (through the generated _audit_history)
    assert one(db, "select to_regprocedure(%s) is not null", f"{schema}._audit_history(text,uuid)")
    history = fn(service, "record_history", "mixed", U(one_id))
    assert [e["action"] for e in history] == ["INSERT", "UPDATE"]
    assert history[1]["old"] == entries[one_id]["old"]


def test_history_without_the_generated_function_still_reads(service, company, db):
    """A company whose _audit_history is gone (made before it existed) reads its history the
    old way; an unknown table is 42P01 either way."""
    schema = company["schema"]
    set_context(service, company, company["owner"])
    fn(service, "create_table", NOTES)
    rec = fn(service, "create_record", "notes", {"title": "a"})
    fn(service, "update_record", "notes", U(rec["id"]), {"n": 1})
    with_function = fn(service, "record_history", "notes", U(rec["id"]))
    db.execute(f"drop function {schema}._audit_history(text, uuid)")
    assert fn(service, "record_history", "notes", U(rec["id"])) == with_function
    with raises("42P01"):
        fn(service, "record_history", "nope", U(rec["id"]))
    fn(service, "create_table", table("more", {"name": "x", "type": "text"}))  # made again with a table
    assert one(db, "select to_regprocedure(%s) is not null", f"{schema}._audit_history(text,uuid)")
    assert fn(service, "record_history", "notes", U(rec["id"])) == with_function
    with raises("42P01"):
        fn(service, "record_history", "nope", U(rec["id"]))


def test_old_entries_of_an_upgraded_company(release_db):  # noqa: F811
    """Entries written by the previous release, then by HEAD after the upgrade: one history,
    versions, rollback to an old version, restore of a record deleted before the upgrade,
    and a chain that verifies over both."""
    with psycopg.connect(release_db, autocommit=True) as conn:
        cid = one(conn, "select docpal.create_company('olden', 'Co')")
        owner = one(conn, "select docpal.create_user('owner-olden@example.com', 'Owner')")
        conn.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
        company = {"id": cid, "schema": f"company_{cid.hex}"}
        conn.execute("select docpal.set_context(%s, %s)", (cid, owner))
        fn(conn, "create_table", NOTES)
        rec = fn(conn, "create_record", "notes", {"title": "first", "n": 1})
        fn(conn, "update_record", "notes", U(rec["id"]), {"n": 2})
        fn(conn, "update_record", "notes", U(rec["id"]), {"title": "second"})
        gone = fn(conn, "create_record", "notes", {"title": "gone", "n": 9})
        fn(conn, "delete_record", "notes", U(gone["id"]))
        old_entries = one(conn, f"select count(*) from {company['schema']}._audit_log")

    assert deploy.migrate(release_db).upgrade.failed == []

    with psycopg.connect(release_db, autocommit=True) as conn:
        set_context(conn, company, owner)
        schema = company["schema"]
        assert one(conn, "select to_regprocedure(%s) is not null", f"{schema}._audit_history(text,uuid)")
        fn(conn, "update_record", "notes", U(rec["id"]), {"n": 3})  # a new entry
        history = fn(conn, "record_history", "notes", U(rec["id"]))
        assert [(e["action"], e["version"]) for e in history] == \
            [("INSERT", 1), ("UPDATE", 2), ("UPDATE", 3), ("UPDATE", 4)]
        for entry in history[1:]:
            assert set(entry["old"]) == set(entry["new"]) == set(entry["changed"]) | {"version"}
        assert [e["changed"] for e in history[1:]] == [["n"], ["title"], ["n"]]
        assert history[3]["old"] == {"n": 2, "version": 3} and history[3]["new"] == {"n": 3, "version": 4}
        assert fn(conn, "record_version", "notes", U(rec["id"]), 2)["n"] == 2
        assert fn(conn, "record_version", "notes", U(rec["id"]), 3)["title"] == "second"
        # back to version 1, written before the upgrade
        back = fn(conn, "rollback_record", "notes", U(rec["id"]), 1)
        assert (back["title"], back["n"], back["version"]) == ("first", 1, 5)
        last = fn(conn, "record_history", "notes", U(rec["id"]))[-1]
        assert (last["action"], last["old"], last["new"]) == \
            ("ROLLBACK", {"title": "second", "n": 3, "version": 4}, {"title": "first", "n": 1, "version": 5})
        # a record deleted before the upgrade comes back
        restored = fn(conn, "restore_record", "notes", U(gone["id"]))
        assert (restored["title"], restored["n"]) == ("gone", 9)
        # the chain covers both
        result = fn(conn, "verify_audit_chain")
        total = one(conn, f"select count(*) from {schema}._audit_log")
        assert total > old_entries
        assert result["ok"] is True and result["checked"] == total
