"""The tenant baseline (docpal_private.tenant_baseline; issue 19, tenants at
scale): create_company builds a new company from the base steps up to the
baseline's version in one step, then the steps after it. Every company has
one upgrade path only if what the baseline makes is what replaying the
shipped steps makes: compared here object by object."""

from __future__ import annotations

import threading

import psycopg
import pytest

from docpal import render, resources
from helpers import U, fn, set_context, table


def one(conn, sql, *params):
    return conn.execute(sql, params).fetchone()[0]


SHAPE = {
    "relations": """
        select c.relname, c.relkind, c.relpersistence, coalesce(c.reloptions, '{}'), c.relispartition,
               coalesce(pg_get_expr(c.relpartbound, c.oid), ''), c.reltoastrelid <> 0
          from pg_class c where c.relnamespace = %(s)s::regnamespace order by 1""",
    "columns": """
        select c.relname, row_number() over (partition by c.oid order by a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
               coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attstorage, coalesce(a.attcollation, 0)
          from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
          left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
         -- an index's own column names are labels (step 0004 renamed the table's column only)
         where c.relnamespace = %(s)s::regnamespace and c.relkind in ('r', 'p', 'S') order by 1, 2""",
    "constraints": """
        select conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), convalidated
          from pg_constraint where connamespace = %(s)s::regnamespace order by 1, 2""",
    "indexes": """
        select c.relname, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisunique,
               coalesce((select p.inhparent::regclass::text from pg_inherits p where p.inhrelid = i.indexrelid), '')
          from pg_index i join pg_class c on c.oid = i.indexrelid
         where c.relnamespace = %(s)s::regnamespace order by 1""",
    "triggers": """
        select t.tgname, t.tgrelid::regclass::text, pg_get_triggerdef(t.oid), t.tgenabled
          from pg_trigger t join pg_class c on c.oid = t.tgrelid
         where c.relnamespace = %(s)s::regnamespace and not t.tgisinternal order by 2, 1""",
    "comments": """
        select c.relname, d.objsubid, d.description
          from pg_description d join pg_class c on c.oid = d.objoid and d.classoid = 'pg_class'::regclass
         where c.relnamespace = %(s)s::regnamespace order by 1, 2""",
    "sequences": """
        select c.relname, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache,
               s.seqcycle, coalesce((select r.relname || '.' || a.attname from pg_depend d
                                       join pg_class r on r.oid = d.refobjid
                                       join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                                      where d.classid = 'pg_class'::regclass and d.objid = c.oid
                                        and d.deptype = 'a'), '')
          from pg_sequence s join pg_class c on c.oid = s.seqrelid
         where c.relnamespace = %(s)s::regnamespace order by 1""",
    "privileges": """
        select c.relname, coalesce(c.relacl::text, '') from pg_class c
         where c.relnamespace = %(s)s::regnamespace order by 1""",
}


def shape(conn, schema: str) -> dict:
    out = {}
    for name, sql in SHAPE.items():
        rows = conn.execute(sql, {"s": schema}).fetchall()
        out[name] = [tuple(str(v).replace(schema, "SCHEMA") for v in row) for row in rows]
    for table in ("_clock", "_usage", "_quota", "_catalog", "_blueprints", "_files"):
        out[f"rows {table}"] = conn.execute(f'select * from "{schema}"."{table}" order by 1').fetchall()
    return out


def replay(db, schema: str, upto: int | None = None) -> None:
    """Build a schema the way every company was built before the baseline:
    every shipped base step (up to `upto`), statement by statement, as docpal_owner."""
    steps = [s for s in render.tenant_steps(render.templates(resources.template_root()))
             if s.module == "base" and (upto is None or s.version <= upto)]
    db.execute("set role docpal_owner")
    try:
        db.execute(f'create schema "{schema}"')
        db.execute(f'revoke all on schema "{schema}" from public')
        for step in sorted(steps, key=lambda s: s.version):
            for statement in step.statements:
                db.execute(one(db, "select format(%s::text, %s::text)", statement, schema))
    finally:
        db.execute("reset role")


def test_baseline_is_a_shipped_version():
    versions = [s.version for s in render.tenant_steps(render.templates(resources.template_root()))
                if s.module == "base"]
    baseline = 12
    assert baseline in versions


def test_baseline_company_has_the_shape_of_the_replayed_steps(db):
    version = one(db, "select version from docpal_private.tenant_baseline()")
    assert version <= one(db, "select max(version) from docpal_private.tenant_steps where module = 'base'")
    cid = one(db, "select docpal.create_company('baseline-new', 'New')")
    new = f"company_{cid.hex}"
    replay(db, "company_replayed_by_steps")
    built, replayed = shape(db, new), shape(db, "company_replayed_by_steps")
    for part in built:
        assert built[part] == replayed[part], part
    assert one(db, "select schema_version from docpal_private.companies where id = %s", cid) == \
        one(db, "select max(version) from docpal_private.tenant_steps where module = 'base'")
    # nothing is behind: `docpal migrate` has nothing to do in a new company
    assert not one(db, "select docpal_private.company_behind(%s, schema_version)"
                       " from docpal_private.companies where id = %s", cid, cid)


def test_audit_default_partition_comes_with_the_first_table_as_the_steps_made_it(db, company, service):
    """Step 0013 takes the audit log's empty default partition from a company
    without tables (a new one never makes it); the first table makes it with
    the names, index and guard that steps 0002-0012 gave every company."""
    replay(db, "company_replayed_to_12", upto=12)
    assert one(db, "select to_regclass('company_replayed_to_12._audit_log_default') is not null")
    schema = company["schema"]
    assert one(db, "select to_regclass(%s) is null", f"{schema}._audit_log_default")
    set_context(service, company, company["owner"])
    fn(service, "create_table", table("notes", {"name": "title", "type": "text"}))
    made, replayed = shape(db, schema), shape(db, "company_replayed_to_12")
    for part in ("constraints", "indexes", "triggers", "privileges"):
        mine = [r for r in made[part] if "_audit_log_default" in " ".join(r)]
        theirs = [r for r in replayed[part] if "_audit_log_default" in " ".join(r)]
        assert mine == theirs and mine, part
    # the step keeps a default partition that a table or an entry needs
    db.execute("set role docpal_owner")
    try:
        assert one(db, "select docpal_private.audit_default_partition(%s, false)", schema) is True
        assert one(db, "select docpal_private.audit_default_partition('company_replayed_to_12', false)") is False
        assert one(db, "select to_regclass('company_replayed_to_12._audit_log_default') is null")
    finally:
        db.execute("reset role")


def test_baseline_company_upgrades_like_an_old_one(db):
    """A step after the baseline reaches a company made from it."""
    cid = one(db, "select docpal.create_company('baseline-up', 'Up')")
    target = one(db, "select max(version) from docpal_private.tenant_steps where module = 'base'") + 1
    db.execute("insert into docpal_private.tenant_steps (module, version, name, statements, checksum)"
               " values ('base', %s, 'test_step', array['alter table %%1$I._catalog add column test_col int'], 'x')",
               (target,))
    assert one(db, "select docpal_private.upgrade_company(%s)", cid) == target
    assert one(db, "select count(*) from pg_attribute where attrelid = %s::regclass and attname = 'test_col'",
               f"company_{cid.hex}._catalog") == 1
    # a company made now takes the baseline, then every step after it
    other = one(db, "select docpal.create_company('baseline-after', 'After')")
    assert one(db, "select schema_version from docpal_private.companies where id = %s", other) == target
    assert one(db, "select count(*) from pg_attribute where attrelid = %s::regclass and attname = 'test_col'",
               f"company_{other.hex}._catalog") == 1


def test_baseline_company_works(db, company, service):
    """A company made from the baseline takes a table, records, files and
    their audit entries (as test_audit checks for every company)."""
    set_context(service, company, company["owner"])
    fn(service, "create_table", table("notes", {"name": "title", "type": "text"}))
    record = fn(service, "create_record", "notes", {"title": "first"})
    fn(service, "update_record", "notes", U(record["id"]), {"title": "second"})
    schema = company["schema"]
    assert db.execute(f"select action from {schema}._audit_log order by id").fetchall() == [("INSERT",), ("UPDATE",)]
    assert fn(service, "get_record", "notes", U(record["id"]))["title"] == "second"


def test_two_connections_create_companies_at_once(dburl):
    """create_company from two connections at the same time: both companies
    are built, each from the baseline."""
    errors: list[BaseException] = []
    made: list = []
    barrier = threading.Barrier(2)

    def create(slug: str) -> None:
        try:
            with psycopg.connect(dburl, autocommit=True) as conn:
                barrier.wait()
                made.append(conn.execute("select docpal.create_company(%s, 'C')", (slug,)).fetchone()[0])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(f"together-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(made) == 2


def behind_both(db) -> tuple[set, set]:
    one_by_one = {r[0] for r in db.execute(
        "select c.id from docpal_private.companies c where docpal_private.company_behind(c.id, c.schema_version)")}
    at_once = {r[0] for r in db.execute("select company_id from docpal_private.companies_behind()")}
    return one_by_one, at_once


def test_companies_behind_agrees_with_company_behind(db, company, service):
    """upgrade_tenants finds the companies to upgrade in one pass
    (companies_behind); it names the same ones as company_behind."""
    bare = one(db, "select docpal.create_company('behind-bare', 'Bare')")
    set_context(service, company, company["owner"])
    fn(service, "create_table", table("notes", {"name": "title", "type": "text"}))  # module data
    assert behind_both(db) == (set(), set())

    # a generator of a module the company has changed: only that company
    db.execute("update docpal_private.generators set fingerprint = 'changed' where name = 'audit_triggers'")
    assert behind_both(db) == ({company["id"]}, {company["id"]})
    # its fingerprint never recorded: the same
    db.execute("delete from docpal_private.company_generators where company_id = %s", (company["id"],))
    assert behind_both(db) == ({company["id"]}, {company["id"]})
    db.execute("update docpal_private.generators set fingerprint = docpal_private.generator_fingerprint(name)")
    db.execute("insert into docpal_private.company_generators (company_id, generator, fingerprint)"
               " select %s, g.name, g.fingerprint from docpal_private.generators g where g.module = 'data'",
               (company["id"],))
    assert behind_both(db) == (set(), set())

    # a module step the company has not had
    db.execute("update docpal_private.company_modules set version = version - 1"
               " where company_id = %s and module = 'data'", (company["id"],))
    assert behind_both(db) == ({company["id"]}, {company["id"]})
    db.execute("update docpal_private.company_modules set version = version + 1"
               " where company_id = %s and module = 'data'", (company["id"],))

    # the base template behind: every company
    db.execute("update docpal_private.companies set schema_version = schema_version - 1 where id = %s", (bare,))
    assert behind_both(db) == ({bare}, {bare})
    db.execute("call docpal_private.upgrade_tenants()")
    assert behind_both(db) == (set(), set())


def test_migrate_hands_over_company_objects_when_the_version_changes(db, dburl, company):
    """hand_over.sql visits the company schemas on the first migrate of a
    docpal version (meta key hand_over), not on every migrate: an object a
    superuser left in a company schema is then docpal_owner's."""
    from docpal import deploy

    db.execute(f'create table "{company["schema"]}".by_hand (a int)')
    db.execute("delete from docpal_private.meta where key = 'hand_over'")
    deploy.migrate(dburl)
    assert one(db, "select relowner::regrole::text from pg_class where oid = %s::regclass",
               f'{company["schema"]}.by_hand') == "docpal_owner"
    assert one(db, "select value from docpal_private.meta where key = 'hand_over'") == \
        one(db, "select value from docpal_private.meta where key = 'version'")
