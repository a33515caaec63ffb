"""Contract section 10, rules 10 and 1, checked on plain PostgreSQL: the
global tables (everything in docpal_private) can become Citus reference
tables without breaking the platform, and company schemas stay units that
Citus can distribute and move. Structural checks on a migrated database
(from the catalogs) and over the rendered templates (pglast), plus the
`distributed` platform setting that opts in to distribution.
"""

from __future__ import annotations

import re

import pglast
import pytest
from pglast import ast, parser

from docpal import lint, render, resources

from helpers import fn, one, plpgsql_expressions, raises


# --------------------------------------------------------------------------
# The catalogs of a migrated database


def test_no_identity_columns(db):
    """Citus restarts an identity when it makes a table a reference table:
    bigint columns with a sequence default (regclass) instead (rule 5)."""
    found = db.execute("""
        select a.attrelid::regclass::text, a.attname
          from pg_attribute a join pg_class c on c.oid = a.attrelid
         where c.relnamespace in ('docpal'::regnamespace, 'docpal_private'::regnamespace)
           and a.attnum > 0 and not a.attisdropped and a.attidentity <> ''""").fetchall()
    assert found == []


def test_company_number_is_a_sequence_default(db):
    default, seq = db.execute("""
        select pg_get_expr(d.adbin, d.adrelid), pg_get_serial_sequence('docpal_private.companies', 'number')
          from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
         where d.adrelid = 'docpal_private.companies'::regclass and a.attname = 'number'""").fetchone()
    assert default == "nextval('docpal_private.companies_number_seq'::regclass)"
    assert seq == "docpal_private.companies_number_seq"
    assert one(db, "select max_value from pg_sequences"
                   " where schemaname = 'docpal_private' and sequencename = 'companies_number_seq'") == 2097151
    check = one(db, "select pg_get_constraintdef(oid) from pg_constraint"
                    " where conrelid = 'docpal_private.companies'::regclass and conname = 'companies_number_range'")
    assert "2097151" in check
    a = fn(db, "create_company", "dist-a-co", "A")
    b = fn(db, "create_company", "dist-b-co", "B")
    na, nb = (one(db, "select number from docpal_private.companies where id = %s", c) for c in (a, b))
    assert 1 <= na < nb


def test_identity_becomes_a_sequence_keeping_numbers(db):
    """Migration 0009 on a database from before it (companies.number an
    identity): the numbers stay, the next company gets the next number, and
    replaying the migration (and 0004, which set the identity's maxvalue)
    changes nothing."""
    first = fn(db, "create_company", "dist-old-a", "A")
    second = fn(db, "create_company", "dist-old-b", "B")
    before = dict(db.execute("select id, number from docpal_private.companies").fetchall())
    top = max(before.values())
    # back to the shape of 0.2.0: an identity that has handed out top + 5
    db.execute("alter table docpal_private.companies alter column number drop default")
    db.execute("drop sequence docpal_private.companies_number_seq")
    db.execute("alter table docpal_private.companies alter column number add generated always as identity"
               f" (maxvalue 2097151 start {top + 6})")
    one(db, "select nextval(pg_get_serial_sequence('docpal_private.companies', 'number'))")  # top + 6, unused
    assert one(db, "select attidentity from pg_attribute where attrelid = 'docpal_private.companies'::regclass"
                   " and attname = 'number'") == "a"
    root = resources.template_root() / "migrations"
    for name in ("0004_events_boundary.sql", "0009_distributable_globals.sql", "0009_distributable_globals.sql",
                 "0004_events_boundary.sql"):
        db.execute((root / name).read_text())
    assert dict(db.execute("select id, number from docpal_private.companies").fetchall()) == before
    assert one(db, "select attidentity from pg_attribute where attrelid = 'docpal_private.companies'::regclass"
                   " and attname = 'number'") == ""
    third = fn(db, "create_company", "dist-old-c", "C")
    # after everything the identity handed out, not after the highest number only
    assert one(db, "select number from docpal_private.companies where id = %s", third) == top + 7
    assert first and second


def test_no_function_on_a_global_row_type(db):
    """No function takes or returns the row type of a docpal_private table
    (or an array of it): Citus renames a reference table's relation."""
    found = db.execute("""
        with rowtypes as (
            select t.oid, t.typname from pg_type t join pg_class c on c.oid = t.typrelid
             where c.relnamespace = 'docpal_private'::regnamespace and c.relkind in ('r', 'p', 'f')
            union all
            select a.oid, a.typname from pg_type a join pg_type t on t.oid = a.typelem
              join pg_class c on c.oid = t.typrelid
             where c.relnamespace = 'docpal_private'::regnamespace and c.relkind in ('r', 'p', 'f')
        )
        select p.oid::regprocedure::text, r.typname
          from pg_proc p
          join rowtypes r on r.oid = p.prorettype
                          or r.oid = any (coalesce(p.proallargtypes, p.proargtypes::oid[]))
         where p.pronamespace in ('docpal'::regnamespace, 'docpal_private'::regnamespace)
         order by 1""").fetchall()
    assert found == []


def test_every_global_table_has_a_primary_key(db):
    """A reference table needs a primary key. install_lock (no columns, never
    a row) is only the migrating coordinator's: it stays a local table."""
    found = db.execute("""
        select c.oid::regclass::text from pg_class c
         where c.relnamespace = 'docpal_private'::regnamespace and c.relkind in ('r', 'p')
           and c.oid <> 'docpal_private.install_lock'::regclass
           and not exists (select from pg_constraint k where k.conrelid = c.oid and k.contype = 'p')
         order by 1""").fetchall()
    assert found == []


def _foreign_keys(db):
    return db.execute("""
        select k.conrelid::regclass::text, s.nspname, k.confrelid::regclass::text, t.nspname
          from pg_constraint k
          join pg_class sc on sc.oid = k.conrelid join pg_namespace s on s.oid = sc.relnamespace
          join pg_class tc on tc.oid = k.confrelid join pg_namespace t on t.oid = tc.relnamespace
         where k.contype = 'f'""").fetchall()


def _company_schemas(db):
    return {r[0] for r in db.execute("select schema_name from docpal_private.companies")}


def test_foreign_keys_stay_inside_a_company(db, company):
    """Rule 1: nothing outside a company schema references into it; a
    company's tables reference their own schema or global tables that can
    become reference tables (docpal_private, with a primary key)."""
    other = fn(db, "create_company", "dist-other-co", "Other")
    assert other
    schemas = _company_schemas(db)
    assert company["schema"] in schemas
    bad = []
    for table, source, target_table, target in _foreign_keys(db):
        if target in schemas and source != target:
            bad.append((table, target_table))  # into a company from outside it
        elif source in schemas and target not in (source, "docpal_private"):
            bad.append((table, target_table))  # out of a company, not to a global table
    assert bad == []


# --------------------------------------------------------------------------
# The rendered templates


#: words that start a statement line, not a declaration
_KEYWORDS = {"from", "join", "update", "into", "insert", "delete", "on", "table", "references", "lock",
             "select", "using", "and", "or", "where", "with", "returning", "set", "perform", "truncate"}


def _global_tables() -> set[str]:
    """Tables the migrations create in docpal_private."""
    names = set()
    for item in render.templates():
        if item.kind != "migration":
            continue
        for raw in parser.parse_sql(item.sql):
            stmt = raw.stmt
            if isinstance(stmt, ast.CreateStmt) and stmt.relation.schemaname == "docpal_private":
                names.add(stmt.relation.relname)
    return names


def test_global_tables_known():
    assert {"users", "companies", "memberships", "api_keys", "platform_settings"} <= _global_tables()


def test_no_variable_of_a_global_row_type():
    """No PL/pgSQL variable is declared as a docpal_private table's row type
    (`record` instead): nothing in a function body names the relation as a type."""
    tables = _global_tables()
    bad = []
    for item in render.templates():
        if item.kind not in ("function", "trigger"):
            continue
        functions, _ = lint._functions(item)
        for f in functions:
            if f.body is None or f.language != "plpgsql":
                continue
            for m in re.finditer(r"^\s*([a-z_][a-z0-9_]*)\s+docpal_private\.([a-z_]+)\b(%rowtype)?",
                                 f.body, re.IGNORECASE | re.MULTILINE):
                if m.group(1).lower() not in _KEYWORDS and m.group(2) in tables:
                    bad.append((item.source.as_posix(), f.name, m.group(0).strip()))
    assert bad == []


def _statements(f) -> list[ast.Node]:
    """Parse trees of every SQL statement in a function body."""
    if f.body is None:
        return []
    if f.language == "sql":
        return [raw.stmt for raw in parser.parse_sql(f.body)]
    if f.language != "plpgsql":
        return []
    queries = [q for q, mode in plpgsql_expressions(lint._plpgsql_source(f)) if mode == 0]
    out = []
    for q in queries:
        try:
            out += [raw.stmt for raw in parser.parse_sql(q)]
        except parser.ParseError:
            pass  # a PL/pgSQL-only form; lint reports real parse errors
    return out


class _Sublinks(pglast.visitors.Visitor):
    def __call__(self, node):
        self.found = 0
        super().__call__(node)
        return self.found

    def visit(self, ancestors, node):
        if isinstance(node, ast.SubLink):
            self.found += 1


def _inserts(stmt):
    """INSERT statements in stmt, also those inside WITH."""
    nodes = []

    class V(pglast.visitors.Visitor):
        def visit(self, ancestors, node):
            if isinstance(node, ast.InsertStmt):
                nodes.append(node)

    V()(stmt)
    return nodes


def test_no_subquery_in_an_insert_into_a_global_table():
    """Citus refuses a subquery in an INSERT into a reference table
    (`values ((select ...))`, `array(select ...)`, `insert ... select ... (select ...)`)."""
    bad = []
    checked = 0
    for item in render.templates():
        if item.kind not in ("function", "trigger"):
            continue
        functions, errors = lint._functions(item)
        assert errors == []
        for f in functions:
            for stmt in _statements(f):
                for ins in _inserts(stmt):
                    if ins.relation.schemaname != "docpal_private":
                        continue
                    checked += 1
                    if _Sublinks()(ins.selectStmt) or ins.onConflictClause and _Sublinks()(ins.onConflictClause):
                        bad.append((item.source.as_posix(), f.name, ins.relation.relname))
    assert checked > 10  # the walk does find the inserts
    assert bad == []


# --------------------------------------------------------------------------
# The opt-in: platform setting `distributed`


def test_distributed_setting_defaults_off(db):
    assert one(db, "select docpal_private.platform_setting('distributed')") == "off"


def test_distributed_on_refused_without_citus(db):
    assert not one(db, "select exists (select from pg_extension where extname = 'citus')")
    with raises("22023"):
        fn(db, "set_platform_setting", "distributed", "on")
    assert one(db, "select docpal_private.platform_setting('distributed')") == "off"
    assert fn(db, "set_platform_setting", "distributed", "off") == "off"
    with raises("22023"):
        fn(db, "set_platform_setting", "distributed", "maybe")


def test_session_setting_does_not_opt_in(db):
    """A client-writable setting changes nothing: create_company reads the
    platform setting only."""
    db.execute("set docpal.distributed = 'on'")
    cid = fn(db, "create_company", "dist-session-co", "Session")
    assert one(db, "select status from docpal_private.companies where id = %s", cid) == "active"
    db.execute("reset docpal.distributed")
