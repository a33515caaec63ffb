"""Upgrading a database built by the previous release (issue 13).

The database is installed from v0.1.0's own install script (``git show
v0.1.0:sql/docpal.sql``, run by psql), filled through v0.1.0's functions
(companies with tables of several column types, grants, ReBAC types,
workflows with a record in flight, event rules, events in the outbox), then
migrated to HEAD with ``docpal.deploy.migrate``. Every company must then work
(reads, writes, queries, permission and relation checks, transitions, events
old and new in order), and every object a generator made in it must be what
HEAD generates (its tenant modules recorded, its generated functions and
triggers made again by HEAD's generators).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from docpal import deploy, resources
from helpers import U, fn, one, set_context, table
from test_migrate import empty_db, project_copy  # noqa: F401 (fixtures)

#: the previous release, and the commit it was tagged on
RELEASE, RELEASE_COMMIT = "v0.1.0", "179e1ee"

MODULE_TABLES = {"data": ["_events"],
                 "permissions": ["_roles", "_grants", "_role_members", "_groups", "_group_members", "_group_roles"],
                 "rebac": ["_relation_rules", "_tuples"],
                 "workflows": ["_workflow_log"]}

TAGS = table("tags", {"name": "label", "type": "text"})
EXPENSES = table(
    "expenses",
    {"name": "title", "type": "text"},
    {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "owner_id", "type": "user"},
    {"name": "doc", "type": "file"},
    {"name": "tags", "type": "relation_many", "target": "tags"},
    {"name": "status", "type": "select", "options": ["draft", "submitted", "approved"]})
WORKFLOW = {"name": "expense_approval", "table": "expenses", "state_column": "status", "initial": "draft",
            "transitions": [{"name": "submit", "from": ["draft"], "to": "submitted"},
                            {"name": "approve", "from": ["submitted"], "to": "approved", "roles": ["approver"]}]}
RULES = {"viewer": ["viewer", "editor", "parent->viewer"], "editor": ["editor", "owner"], "owner": ["owner"]}


def release_script() -> str:
    root = resources.checkout_root()
    if root is None or shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("needs a git checkout with the previous release")
    for ref in (RELEASE, RELEASE_COMMIT):
        shown = subprocess.run(["git", "show", f"{ref}:sql/docpal.sql"], cwd=root, capture_output=True, text=True)
        if shown.returncode == 0:
            return shown.stdout
    pytest.skip(f"neither {RELEASE} nor {RELEASE_COMMIT} is in this checkout")


@pytest.fixture
def release_db(db, dburl):
    """A fresh database with the previous release installed; yields its URL."""
    script = release_script()
    name = f"release_{uuid.uuid4().hex[:12]}"
    db.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = dburl.rsplit("/", 1)[0] + "/" + name
    done = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-", url],
                          input=script, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    yield url
    db.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def build_company(conn, slug: str) -> dict:
    """A company made and used through the previous release's functions only."""
    cid = one(conn, "select docpal.create_company(%s, 'Co')", slug)
    owner = one(conn, "select docpal.create_user(%s, 'Owner')", f"owner-{slug}@example.com")
    member = one(conn, "select docpal.create_user(%s, 'Member')", f"member-{slug}@example.com")
    conn.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
    conn.execute("select docpal.add_member(%s, %s, 'member')", (cid, member))
    company = {"id": cid, "slug": slug, "schema": f"company_{cid.hex}", "owner": owner, "member": member}
    # v0.1.0: set_context(company, user, is_local default false)
    conn.execute("select docpal.set_context(%s, %s)", (cid, owner))
    fn(conn, "create_table", TAGS)
    fn(conn, "create_table", EXPENSES)
    tags = [fn(conn, "create_record", "tags", {"label": label})["id"] for label in ("red", "blue")]
    file = fn(conn, "register_file", {"name": "r.pdf", "size": 10, "mime": "application/pdf",
                                      "sha256": "a" * 64, "storage_key": "s3://b/a"})
    fn(conn, "create_role", "approver")
    fn(conn, "assign_role", member, "approver")
    one(conn, "select docpal.grant_permission(%s, %s, %s::text[], %s)", "member", "expenses",
        ["read", "create", "update"], Jsonb({"row_filter": {"owner_id": "$user"}}))
    fn(conn, "create_event_rule", {"table": "expenses", "actions": ["INSERT", "UPDATE"],
                                   "when": {"amount": {"gt": 100}}, "workflow": "big", "task_queue": "q"})
    fn(conn, "define_workflow", WORKFLOW)
    one(conn, "select docpal.define_relations(%s, %s)", "doc", Jsonb(RULES))
    conn.execute("select docpal.relate('user:alice', 'owner', 'doc:1')")
    conn.execute("select docpal.relate('doc:1', 'parent', 'doc:2')")
    company["expense"] = fn(conn, "create_record", "expenses", {
        "title": "old", "amount": 250, "owner_id": str(member), "doc": file["id"], "tags": [tags[1], tags[0]]})["id"]
    fn(conn, "transition_record", "expenses", U(company["expense"]), "submit")  # in flight
    first = fn(conn, "poll_events", "c1")
    conn.execute("select docpal.ack_events('c1', %s::bigint)", (first[0]["event_id"],))
    # (ids move below 2^53 on upgrade: migration 0004)
    company["old_events"] = [(e["record_id"], e["action"], e["version"]) for e in first[1:]]
    company["tags"] = tags
    return company


def generated_objects(conn, schema: str) -> dict:
    """Every function and trigger in a company schema: definition by name."""
    functions = dict(conn.execute(
        "select p.proname::text, pg_get_functiondef(p.oid) from pg_proc p where p.pronamespace = %s::regnamespace",
        (schema,)).fetchall())
    triggers = dict(conn.execute(
        "select t.tgrelid::regclass::text || '.' || t.tgname, pg_get_triggerdef(t.oid) from pg_trigger t "
        "join pg_class c on c.oid = t.tgrelid where c.relnamespace = %s::regnamespace and not t.tgisinternal",
        (schema,)).fetchall())
    return {"functions": functions, "triggers": triggers}


def regenerated_by_head(conn, schema: str) -> dict:
    """What HEAD's generators make for this very company, made in a
    transaction that is rolled back."""
    conn.execute("begin")
    try:
        for (regenerate,) in conn.execute("select regenerate from docpal_private.generators order by name").fetchall():
            conn.execute(sql.SQL("select {}(%s)").format(sql.SQL(regenerate)), (schema,))
        return generated_objects(conn, schema)
    finally:
        conn.execute("rollback")


def module_shape(conn, schema: str) -> list:
    """The tables of the tenant modules as a schema-independent description."""
    names = [t for tables in MODULE_TABLES.values() for t in tables]
    return conn.execute("""
        select c.relname::text, 'col ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
               || coalesce(' default ' || replace(pg_get_expr(d.adbin, d.adrelid), %(schema)s, 'S'), '')
               || case when a.attnotnull then ' not null' else '' end
          from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
          left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
         where c.relnamespace = %(schema)s::regnamespace and c.relname = any (%(names)s)
        union all
        select c.relname::text, 'con ' || replace(pg_get_constraintdef(k.oid), %(schema)s, 'S')
          from pg_constraint k join pg_class c on c.oid = k.conrelid
         where c.relnamespace = %(schema)s::regnamespace and c.relname = any (%(names)s)
        union all
        select c.relname::text, 'idx ' || replace(pg_get_indexdef(i.indexrelid), %(schema)s, 'S')
          from pg_index i join pg_class c on c.oid = i.indrelid
         where c.relnamespace = %(schema)s::regnamespace and c.relname = any (%(names)s)
        union all
        select c.relname::text, 'trg ' || replace(pg_get_triggerdef(t.oid), %(schema)s, 'S')
          from pg_trigger t join pg_class c on c.oid = t.tgrelid
         where c.relnamespace = %(schema)s::regnamespace and c.relname = any (%(names)s) and not t.tgisinternal
        order by 1, 2""", {"schema": schema, "names": names}).fetchall()


def test_a_release_database_upgrades_to_head(release_db):
    with psycopg.connect(release_db, autocommit=True) as conn:
        old = [build_company(conn, slug) for slug in ("acme", "beta")]
        bare = one(conn, "select docpal.create_company('bare', 'No tables')")
        before = {c["slug"]: generated_objects(conn, c["schema"]) for c in old}

    result = deploy.migrate(release_db)
    assert result.upgrade.failed == []
    assert result.upgrade.upgraded == 3

    with psycopg.connect(release_db, autocommit=True) as conn:
        # a fresh HEAD company used the same way: the shape every module must have
        fresh_id = one(conn, "select docpal.create_company('fresh', 'Fresh')")
        fresh_owner = one(conn, "select docpal.create_user('owner-fresh@example.com', 'Owner')")
        conn.execute("select docpal.add_member(%s, %s, 'owner')", (fresh_id, fresh_owner))
        set_context(conn, {"id": fresh_id}, fresh_owner)
        fn(conn, "create_table", TAGS)
        fn(conn, "create_table", EXPENSES)
        fn(conn, "create_role", "approver")
        fn(conn, "define_workflow", WORKFLOW)
        one(conn, "select docpal.define_relations(%s, %s)", "doc", Jsonb(RULES))
        fresh_shape = module_shape(conn, f"company_{fresh_id.hex}")
        conn.execute("select docpal.clear_context()")

        modules = conn.execute("select c.slug, m.module, m.version from docpal_private.company_modules m "
                               "join docpal_private.companies c on c.id = m.company_id order by 1, 2").fetchall()
        # each module at its newest step
        every = conn.execute("select module, max(version) from docpal_private.tenant_steps"
                             " where module <> 'base' group by module order by module").fetchall()
        assert [m for m, _ in every] == ["data", "permissions", "rebac", "reports", "workflows"]
        # no company here saved a report (the release had none): each has every other module
        made = [(m, v) for m, v in every if m != "reports"]
        assert modules == [(s, m, v) for s in ("acme", "beta", "fresh") for m, v in made]
        assert one(conn, "select count(*) from docpal_private.companies c"
                         " where docpal_private.company_behind(c.id, c.schema_version)") == 0
        assert one(conn, "select schema_version from docpal_private.companies where id = %s", bare) == \
            one(conn, "select max(version) from docpal_private.tenant_steps where module = 'base'")

        for company in old:
            schema = company["schema"]
            # the module tables are what a company made today has
            assert module_shape(conn, schema) == fresh_shape
            # every generated object is what HEAD generates for this company ...
            upgraded = generated_objects(conn, schema)
            assert upgraded == regenerated_by_head(conn, schema)
            # ... and the capture and _permission functions were made again
            assert upgraded["functions"]["_permission"] != before[company["slug"]]["functions"]["_permission"]
            assert upgraded["functions"]["_audit_expenses"] != before[company["slug"]]["functions"]["_audit_expenses"]

            # reads
            owner = set_context(conn, company, company["owner"])
            record = fn(owner, "get_record", "expenses", U(company["expense"]))
            assert (record["title"], record["status"], record["tags"]) == \
                ("old", "submitted", [company["tags"][1], company["tags"][0]])
            assert fn(owner, "query_table", "expenses", {"filters": {"amount": {"gt": 100}}})["total"] == 1
            # writes
            new = fn(owner, "create_record", "expenses", {"title": "new", "amount": 500, "owner_id": str(company["member"])})
            assert new["status"] == "draft"
            fn(owner, "update_record", "expenses", U(new["id"]), {"amount": 600})
            assert fn(owner, "query_table", "expenses", {"sort": ["title"]})["total"] == 2
            # permissions and relations
            assert one(owner, "select docpal.check_permission(%s, 'read', 'expenses')", company["member"]) is True
            assert one(owner, "select docpal.check_permission(%s, 'delete', 'expenses')", company["member"]) is False
            assert one(owner, "select docpal.check_relation('user:alice', 'viewer', 'doc:2')") is True
            assert one(owner, "select docpal.check_relation('user:bob', 'viewer', 'doc:2')") is False
            owner.execute("select docpal.relate('user:bob', 'editor', 'doc:1')")
            assert one(owner, "select docpal.check_relation('user:bob', 'viewer', 'doc:2')") is True
            # the workflow in flight moves on, for the member holding the role
            member = set_context(conn, company, company["member"])
            fn(member, "transition_record", "expenses", U(company["expense"]), "approve")
            assert fn(member, "get_record", "expenses", U(company["expense"]))["status"] == "approved"
            # events: the old ones not yet acknowledged, then the new ones, in order
            reader = set_context(conn, company, company["owner"])
            events = []
            while batch := fn(reader, "poll_events", "c1", 1000):  # the open batch first, then the rest
                events += batch
                reader.execute("select docpal.ack_events('c1', %s::bigint)", (batch[-1]["event_id"],))
            ids = [e["event_id"] for e in events]
            assert ids == sorted(ids)
            assert [(e["record_id"], e["action"], e["version"]) for e in events[:len(company["old_events"])]] == \
                company["old_events"]
            new_events = events[len(company["old_events"]):]
            assert [(e["record_id"], e["action"]) for e in new_events] == [
                (new["id"], "INSERT"), (new["id"], "UPDATE"), (company["expense"], "UPDATE")]
            assert new_events[0]["workflow"] is not None  # the rule's when (amount > 100) still applies
            conn.execute("select docpal.clear_context()")

    # a second migrate has nothing to do
    again = deploy.migrate(release_db)
    assert (again.upgrade.pending, again.upgrade.upgraded, again.upgrade.failed) == (0, 0, [])


def test_a_generator_change_reaches_every_company(empty_db, project_copy):
    """Changing a generator (here the text of the _permission function it
    writes) regenerates its objects in every company that has them on the
    next migrate, and nowhere else."""
    deploy.migrate(empty_db, root=project_copy)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute(f'grant create on database "{conn.info.dbname}" to docpal_owner')
        ids = [one(conn, "select docpal.create_company(%s, 'Co')", slug) for slug in ("one", "two", "three")]
        owner = one(conn, "select docpal.create_user('o@example.com', 'O')")
        for cid in ids[:2]:
            conn.execute("select docpal.add_member(%s, %s, 'owner')", (cid, owner))
            set_context(conn, {"id": cid}, owner)
            fn(conn, "create_role", "approver")
        conn.execute("select docpal.clear_context()")
    generator = project_copy / "functions/permissions/private/permission_compile.sql"
    generator.write_text(generator.read_text().replace("begin\n             return (", "begin\n             -- v2\n             return (", 1))
    result = deploy.migrate(empty_db, root=project_copy)
    assert (result.upgrade.pending, result.upgrade.upgraded) == (2, 2)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for cid in ids[:2]:
            assert "-- v2" in one(conn, "select prosrc from pg_proc where oid = %s::regprocedure",
                                  f"company_{cid.hex}._permission(uuid, text, text)")
        assert one(conn, "select count(*) from docpal_private.company_modules where company_id = %s", ids[2]) == 0
