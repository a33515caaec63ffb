"""Contract section 10, rule 9, on plain PostgreSQL (no Citus here): what
Citus refuses on a distributed company schema, checked statically on the
templates and on what a company's functions generate, and the changed
functions checked to behave as before.

- one statement per EXECUTE: Citus refuses several commands in one prepared
  statement (lint rule execute-one-statement; tenant steps are split too);
- INSERT ... ON CONFLICT DO UPDATE SET and RETURNING on a company-schema
  table use only immutable functions (Citus: "functions used in the DO
  UPDATE SET clause of INSERTs on distributed tables must be marked
  IMMUTABLE", and the same for RETURNING).
"""

from __future__ import annotations

import re

import pglast
import pytest
from pglast import ast, parser
from pglast.enums import OnConflictAction

from docpal import lint, render, resources
from helpers import fn, one, plpgsql_expressions, set_context, table

SCHEMA_DUMMY = "_docpal_i"  # what %I becomes: the schema of a tenant table


# --- finding the tenant DML of the templates ------------------------------------------------


def _dummies(text: str) -> str:
    return lint._CONVERSION_RE.sub(
        lambda m: "%" if not m.group("type") else {"I": f'"{SCHEMA_DUMMY}"', "L": "'x'", "s": "x"}[m.group("type")],
        text)


def _strings(fn_: lint._Function) -> list[str]:
    """Every string constant of the expressions and statements of a
    PL/pgSQL function (format() strings among them)."""
    queries = plpgsql_expressions(lint._plpgsql_source(fn_))
    out = []
    for query, mode in queries:
        try:
            nodes, _ = lint._parse_expr(query, mode)
        except parser.ParseError:
            continue
        out += [n.val.sval for n in nodes if isinstance(n, ast.A_Const) and isinstance(n.val, ast.String)]
    return out


def _tenant_dml(schemas: set[str], stmt) -> list:
    """The INSERT/UPDATE/DELETE statements (CTEs included) of a parse tree
    whose target table is in one of ``schemas``."""
    return [n for n in lint._Nodes()(stmt)
            if isinstance(n, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt))
            and n.relation.schemaname in schemas]


def _checked_clauses(dml) -> list:
    """The parts of a DML statement where Citus wants immutable functions."""
    returning = getattr(dml, "returningClause", None)  # PostgreSQL 18 grammar (pglast 8); returningList before
    parts = list(getattr(returning, "exprs", None) or getattr(dml, "returningList", None) or ())
    conflict = getattr(dml, "onConflictClause", None)
    if conflict is not None and conflict.action == OnConflictAction.ONCONFLICT_UPDATE:
        where = getattr(conflict, "whereClause", None)
        parts += list(getattr(conflict, "targetList", None) or ()) + ([where] if where is not None else [])
    return parts


def _calls(parts) -> set[str]:
    """Functions (schema-qualified, pg_catalog when not), operators (op:<name>)
    and SQL value functions (sqlvalue:<op>: now(), current_user...) used."""
    out = set()
    for part in parts:
        for n in lint._Nodes()(part):
            if isinstance(n, ast.FuncCall):
                names = [s.sval for s in n.funcname]
                out.add(".".join(names) if len(names) > 1 else f"pg_catalog.{names[0]}")
            elif isinstance(n, ast.A_Expr) and n.name:
                out.add("op:" + n.name[-1].sval)
            elif isinstance(n, ast.SQLValueFunction):
                out.add(f"sqlvalue:{getattr(n.op, 'name', n.op)}")
    return out


def template_tenant_dml() -> list[tuple[str, str, set[str]]]:
    """(file, statement text, functions in its RETURNING / DO UPDATE SET)
    for every format() string or literal of the function and trigger
    templates that is an INSERT/UPDATE/DELETE on a %I-schema table."""
    out = []
    for item in render.templates(resources.template_root()):
        if item.kind not in ("function", "trigger"):
            continue
        for f in lint._functions(item)[0]:
            if f.language != "plpgsql" or f.body is None:
                continue
            for text in _strings(f):
                if "%" not in text or not re.search(r"\b(returning|on\s+conflict)\b", text, re.I):
                    continue
                try:
                    stmts = parser.parse_sql(_dummies(text))
                except parser.ParseError:
                    continue  # a fragment (a CTE piece): its whole is generated, checked below
                for raw in stmts:
                    for dml in _tenant_dml({SCHEMA_DUMMY}, raw.stmt):
                        out.append((item.source.as_posix(), text, _calls(_checked_clauses(dml))))
    return out


def not_immutable(db, calls: set[str]) -> set[str]:
    """The calls some overload of which is not immutable (or that do not exist)."""
    bad = {c for c in calls if c.startswith("sqlvalue:")}
    for c in calls - bad:
        if c.startswith("op:"):
            ok = one(db, "select coalesce(bool_and(p.provolatile = 'i'), false) from pg_operator o"
                         " join pg_proc p on p.oid = o.oprcode where o.oprname = %s", c[3:])
        else:
            schema, name = c.rsplit(".", 1)
            ok = one(db, "select coalesce(bool_and(p.provolatile = 'i'), false) from pg_proc p"
                         " where p.pronamespace::regnamespace::text = %s and p.proname = %s", schema, name)
        if not ok:
            bad.add(c)
    return bad


# --- static: no database ------------------------------------------------------------------


def test_every_execute_runs_one_statement():
    violations = [v for v in lint.lint() if v.rule == "execute-one-statement"]
    assert violations == [], "\n".join(map(str, violations))


def test_every_tenant_step_statement_is_one_statement():
    """Tenant steps (sql/tenant/**) are stored one statement per array item
    and executed one per EXECUTE (docpal_private.apply_tenant_steps)."""
    steps = render.tenant_steps(render.templates(resources.template_root()))
    assert steps
    for step in steps:
        for statement in step.statements:
            assert lint._statement_count(statement) == 1, f"{step.module} {step.version}: {statement[:200]}"


def test_the_template_scan_finds_the_tenant_upserts():
    """The scan below is not vacuous: it finds the catalog upsert and the
    record writes, and it would flag now() in DO UPDATE SET."""
    found = template_tenant_dml()
    files = {f for f, _, _ in found}
    assert "functions/catalog/private/save_table_spec.sql" in files
    assert "functions/records/public/create_record.sql" in files
    assert "functions/events/public/drop_event_rule.sql" in files
    stmt = parser.parse_sql(_dummies(
        "insert into %I._catalog as c (kind, slug, spec) values ($1, $2, $3)"
        " on conflict (kind, slug) do update set spec = excluded.spec, updated_at = pg_catalog.now()"
        " returning current_timestamp, pg_catalog.to_jsonb(c)"))[0].stmt
    (dml,) = _tenant_dml({SCHEMA_DUMMY}, stmt)
    assert _calls(_checked_clauses(dml)) == {"pg_catalog.now", "pg_catalog.to_jsonb", "sqlvalue:SVFOP_CURRENT_TIMESTAMP"}


# --- with a database ----------------------------------------------------------------------


def test_tenant_returning_and_do_update_use_only_immutable_functions(db):
    offenders = [(f, text[:160], sorted(bad)) for f, text, calls in template_tenant_dml()
                 if (bad := not_immutable(db, calls))]
    assert offenders == []


def test_the_volatility_check_knows_stable_functions(db):
    assert not_immutable(db, {"pg_catalog.now", "pg_catalog.to_jsonb", "op:->>", "pg_catalog.lower"}) == {
        "pg_catalog.now", "pg_catalog.to_jsonb"}


LINKED = table("notes", {"name": "title", "type": "text"})
DOCS = table("docs", {"name": "title", "type": "text"},
             {"name": "notes", "type": "relation_many", "target": "notes"})


@pytest.fixture
def owner(db, company):
    set_context(db, company, company["owner"])
    fn(db, "create_table", LINKED)
    fn(db, "create_table", DOCS)
    return db


def _audit_triggers(db, schema, relname):
    return sorted(db.execute(
        "select t.tgname, pg_get_triggerdef(t.oid) from pg_trigger t"
        " where t.tgrelid = format('%%I.%%I', %s::text, %s::text)::regclass and t.tgname like '\\_docpal\\_audit\\_%%'"
        " order by 1", (schema, relname)).fetchall())


def test_audit_triggers_are_made_one_by_one_as_before(owner, company):
    schema = company["schema"]
    junction = one(owner, f'select c.spec->\'columns\'->1->\'objects\'->>\'junction\' from "{schema}"._catalog c'
                          " where c.kind = 'table' and c.slug = 'docs'")
    for relname in ("docs", junction):
        triggers = dict(_audit_triggers(owner, schema, relname))
        assert sorted(triggers) == ["_docpal_audit_delete", "_docpal_audit_insert",
                                    "_docpal_audit_truncate", "_docpal_audit_update"]
        assert "AFTER INSERT" in triggers["_docpal_audit_insert"]
        assert "REFERENCING NEW TABLE AS _docpal_new" in triggers["_docpal_audit_insert"]
        assert "REFERENCING OLD TABLE AS _docpal_old NEW TABLE AS _docpal_new" in triggers["_docpal_audit_update"]
        assert "REFERENCING OLD TABLE AS _docpal_old" in triggers["_docpal_audit_delete"]
        assert "BEFORE TRUNCATE" in triggers["_docpal_audit_truncate"]
        assert all("FOR EACH STATEMENT" in d for d in triggers.values())
    # re-made by a column change, and capture still works
    fn(owner, "add_column", "docs", {"name": "body", "type": "text"})
    assert len(_audit_triggers(owner, schema, "docs")) == 4
    note = fn(owner, "create_record", "notes", {"title": "n"})
    doc = fn(owner, "create_record", "docs", {"title": "d", "body": "b", "notes": [note["id"]]})
    entries = owner.execute(f'select "table", action from "{schema}"._audit_log where record_id = %s order by id',
                            (doc["id"],)).fetchall()
    assert ("docs", "INSERT") in entries


def test_generated_capture_functions_return_only_immutable_functions(owner, company):
    """What audit_triggers writes into the company schema: its RETURNING
    clauses (on the company's own tables) are immutable too."""
    schema = company["schema"]
    found = 0
    for (source,) in owner.execute(
            "select pg_get_functiondef(p.oid) from pg_proc p where p.pronamespace = %s::regnamespace"
            " and p.proname like '\\_audit\\_%%'", (schema,)).fetchall():
        queries = [q for q, _ in plpgsql_expressions(source)]
        for query in queries:
            try:
                stmts = parser.parse_sql(query)
            except parser.ParseError:
                continue  # an expression, not a statement
            for raw in stmts:
                for dml in _tenant_dml({schema}, raw.stmt):
                    found += 1
                    assert not_immutable(owner, _calls(_checked_clauses(dml))) == set(), query[:300]
    assert found >= 4


def test_catalog_upsert_stamps_the_time_of_its_transaction(owner, company):
    """save_table_spec, define_relations and define_workflow pass the time
    as a parameter now: updated_at is still the writing transaction's now()."""
    schema = company["schema"]
    with owner.transaction():
        fn(owner, "add_column", "docs", {"name": "state", "type": "select", "options": ["open", "done"]})
        assert one(owner, f"select c.updated_at = now() and c.updated_at > c.created_at from \"{schema}\"._catalog c"
                          " where c.kind = 'table' and c.slug = 'docs'")
    assert fn(owner, "describe_table", "docs")["columns"][-1]["name"] == "state"

    fn(owner, "define_relations", "doc", {"view": ["viewer"]})
    with owner.transaction():
        assert fn(owner, "define_relations", "doc", {"view": ["viewer", "editor"]}) == {
            "object_type": "doc", "rules": {"view": ["viewer", "editor"]}}
        assert one(owner, f"select r.updated_at = now() and r.rules = %s::jsonb from \"{schema}\"._relation_rules r"
                          " where r.object_type = 'doc'", '{"view": ["viewer", "editor"]}')

    spec = {"name": "flow", "table": "docs", "state_column": "state", "initial": "open",
            "transitions": [{"name": "finish", "from": ["open"], "to": "done"}]}
    fn(owner, "define_workflow", spec)
    with owner.transaction():
        fn(owner, "define_workflow", spec | {"transitions": [{"name": "close", "from": ["open"], "to": "done"}]})
        row = owner.execute(f"select c.updated_at = now(), c.updated_at > c.created_at, c.spec->'transitions'->0->>'name'"
                            f" from \"{schema}\"._catalog c where c.kind = 'workflow' and c.slug = 'flow'").fetchone()
        assert row == (True, True, "close")
