"""Golden files of the query compiler: the SQL and parameters a spec compiles to.

Each file of tests/golden/query/ is one case: the public function (query_table,
query_kanban, query_tree, query_gantt, query_calendar, query_dropdown,
query_breadcrumb, aggregate, explain_query), the table, the caller (``owner``, or a member with
the grants of ``member_rows`` / ``member_columns`` / ``member_cells`` below),
the spec, and what it compiles to: ``sql`` (as a list of lines) and ``params``
($1; query_breadcrumb adds $2 ``kept`` and $3 ``labels``). Names that differ
from run to run are normalised: the company schema reads ``company_X``, user
ids ``<user:owner>`` / ``<user:member_rows>`` / ..., the company id
``<company>``, record ids
``CATEGORY_<key>`` / ``PRODUCT_<n>`` (the same placeholders may be written in
a spec).

Each case is compiled through the private function its public function runs
(docpal_private.q_compile + q_table_statement for query_table and
explain_query, q_<view>_statement for the views), so the golden SQL is the
statement that runs; the test also checks that explain_query shows exactly
that statement, and runs the compiled statement with its parameters and
compares with what the public function returns.

To rewrite the golden files after a deliberate change of the compiler::

    DOCPAL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_query_golden.py

(then read the diff: it is the change in the SQL every spec runs). A new case
is a new file holding function, table, caller and spec; run the same command
to fill in its SQL.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from helpers import one, set_context
from test_query_data import CATEGORY_IDS, PRODUCT_IDS, shop  # noqa: F401 (shop: the module's database)

GOLDEN = Path(__file__).parent / "golden" / "query"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))
UPDATE = os.environ.get("DOCPAL_UPDATE_GOLDEN") == "1"

#: member callers: role -> grants ({table: spec}) given to a member holding that role
#: (member_cells holds two roles on products, combined cell by cell)
MEMBERS = {
    "member_rows": [{"products": {"row_filter": {"status": "active"}},
                     "categories": {"row_filter": {"parent_id": {"is_null": False}}}}],
    "member_columns": [{"products": {"columns": ["name", "price", "category_id"]}, "categories": {}}],
    "member_cells": [{"products": {"columns": ["name", "price", "status"], "row_filter": {"status": "active"}},
                      "categories": {}},
                     {"products": {"columns": ["name", "qty", "status"], "row_filter": {"qty": {"gt": 10}}}}],
}

#: the private function each public function compiles with: SQL returning (sql, params[, kept, labels])
BUILDERS = {
    "query_table": "select docpal_private.q_table_statement(s), s->'params' from docpal_private.q_compile(%s, %s, %s) s",
    "explain_query": "select docpal_private.q_table_statement(s), s->'params' from docpal_private.q_compile(%s, %s, %s) s",
    "query_kanban": "select o_sql, o_params from docpal_private.q_kanban_statement(%s, %s, %s)",
    "query_tree": "select o_sql, o_params from docpal_private.q_tree_statement(%s, %s, %s)",
    "query_gantt": "select o_sql, o_params from docpal_private.q_gantt_statement(%s, %s, %s)",
    "query_calendar": "select o_sql, o_params from docpal_private.q_calendar_statement(%s, %s, %s)",
    "query_dropdown": "select o_sql, o_params from docpal_private.q_dropdown_statement(%s, %s, %s)",
    "aggregate": "select o_sql, o_params from docpal_private.q_aggregate_statement(%s, %s, %s)",
    "query_breadcrumb": "select o_sql, o_params, o_kept, o_labels from docpal_private.q_breadcrumb_statement(%s, %s, %s)",
}
#: the key of a view's result that holds what its statement returns
RESULT_KEY = {"query_kanban": "groups", "query_gantt": "tasks", "query_calendar": "events",
              "query_dropdown": "options", "aggregate": "groups", "query_breadcrumb": "path"}


@pytest.fixture(scope="module")
def callers(shop):  # noqa: F811
    """caller name -> (connection in that caller's context, the caller as require_company() gives it)."""
    o, company = shop.conn, shop.company
    out = {"owner": o}
    users = {"owner": company["owner"]}
    for name, roles in MEMBERS.items():
        user = one(o, "select docpal.create_user(%s, %s)", f"{name}-{company['slug']}@example.com", name)
        o.execute("select docpal.add_member(%s, %s, 'member')", (company["id"], user))
        for i, grants in enumerate(roles):
            role = f"{name}_{i}"
            o.execute("select docpal.create_role(%s)", (role,))
            for slug, spec in grants.items():
                o.execute("select docpal.grant_permission(%s, %s, array['read'], %s)", (role, slug, Jsonb(spec)))
            o.execute("select docpal.assign_role(%s, %s)", (user, role))
        conn = psycopg.connect(shop.url, autocommit=True)
        out[name] = set_context(conn, company, user)
        users[name] = user
    yield {name: (conn, one(conn, "select pg_catalog.to_jsonb(c) from docpal_private.require_company() c"))
           for name, conn in out.items()}, users
    for name, conn in out.items():
        if name != "owner":
            conn.close()


def placeholders(shop, users):  # noqa: F811
    """(actual text, placeholder) pairs, longest first."""
    pairs = [(shop.company["schema"], "company_X")]
    pairs += [(str(shop.company["id"]), "<company>")]
    pairs += [(str(u), f"<user:{name}>") for name, u in users.items()]
    pairs += [(v, f"CATEGORY_{k}") for k, v in CATEGORY_IDS.items()]
    pairs += [(v, f"PRODUCT_{i}") for i, v in enumerate(PRODUCT_IDS)]
    return sorted(pairs, key=lambda p: -len(p[0]))


def substitute(value, pairs):
    """value (any JSON) with every string's occurrences of pairs[i][0] replaced by pairs[i][1]."""
    text = json.dumps(value)
    for old, new in pairs:
        text = text.replace(old, new)
    return json.loads(text)


def prepared(conn, sql, types, args):
    """Run sql ($1.. of the given types) with args, as EXECUTE ... USING does."""
    conn.execute(f"prepare golden_stmt ({', '.join(types)}) as {sql}")
    try:
        marks = ", ".join(["%s"] * len(args))
        # (EXECUTE takes no bind parameters: a client-side cursor writes them in as literals)
        return psycopg.ClientCursor(conn).execute(f"execute golden_stmt ({marks})", args).fetchone()[0]
    finally:
        conn.execute("deallocate golden_stmt")


@pytest.mark.parametrize("name", CASES)
def test_golden(name, shop, callers):  # noqa: F811
    path = GOLDEN / f"{name}.json"
    case = json.loads(path.read_text())
    conns, users = callers
    conn, caller = conns[case["caller"]]
    pairs = placeholders(shop, users)
    spec = substitute(case["spec"], [(new, old) for old, new in pairs])  # placeholders -> real ids
    function, slug = case["function"], case["table"]

    row = conn.execute(BUILDERS[function], (Jsonb(caller), slug, Jsonb(spec))).fetchone()
    sql, params = row[0], json.loads(json.dumps(row[1], default=float))  # (fractions read back as Decimal)
    got = {"sql": substitute(sql, pairs).split("\n"), "params": substitute(params, pairs)}
    if function == "query_breadcrumb":
        got["kept"] = substitute([str(i) for i in row[2]], pairs)
        got["labels"] = substitute(row[3], pairs)

    if UPDATE:
        path.write_text(json.dumps({k: case[k] for k in ("function", "table", "caller", "spec")} | got,
                                   indent=2, ensure_ascii=False) + "\n")
    else:
        assert "sql" in case, f"{path.name} has no SQL yet: run with DOCPAL_UPDATE_GOLDEN=1"
        assert got == {k: case[k] for k in got}, f"{name}: the compiled SQL changed"

    # what runs is what was compiled: the same statement, run by hand, gives the function's result
    if function in ("query_table", "explain_query"):
        result = one(conn, "select docpal.query_table(%s, %s)", slug, Jsonb(spec))
        if spec.get("count") == "estimated":
            estimate = one(conn, "select docpal_private.q_estimated_total(s) from docpal_private.q_compile(%s, %s, %s) s",
                           Jsonb(caller), slug, Jsonb(spec))
            assert prepared(conn, sql, ["jsonb", "bigint"], [Jsonb(params), estimate]) == result
        else:
            assert prepared(conn, sql, ["jsonb", "bigint"], [Jsonb(params), None]) == result
        if case["caller"] == "owner":
            text = one(conn, "select docpal.explain_query(%s, %s)", slug, Jsonb(spec))
            statement, _, comments = text.partition("\n-- $1 = ")
            assert statement == sql
            assert json.loads(comments.split("\n")[0]) == params
    elif function == "query_breadcrumb":
        result = one(conn, f"select docpal.{function}(%s, %s)", slug, Jsonb(spec))
        assert {"path": prepared(conn, sql, ["jsonb", "uuid[]", "jsonb"], [Jsonb(params), row[2], Jsonb(row[3])])} == result
    elif function in RESULT_KEY:
        result = one(conn, f"select docpal.{function}(%s, %s)", slug, Jsonb(spec))
        assert {RESULT_KEY[function]: prepared(conn, sql, ["jsonb"], [Jsonb(params)])} == result
    else:  # query_tree nests the flat result it reads
        flat = prepared(conn, sql, ["jsonb"], [Jsonb(params)])
        nodes = one(conn, f"select docpal.{function}(%s, %s)", slug, Jsonb(spec))["nodes"]

        def count(ns):
            return sum(1 + count(n["children"]) for n in ns)
        assert count(nodes) == len(flat or [])


def test_enough_cases():
    """Every function and operator family has a case (issue 13: at least 40)."""
    assert len(CASES) >= 40
    text = " ".join((GOLDEN / f"{c}.json").read_text() for c in CASES)
    for word in ("query_table", "query_kanban", "query_tree", "query_gantt", "query_dropdown", "query_breadcrumb",
                 "aggregate", "explain_query", '"eq"', '"neq"', '"gt"', '"gte"', '"lt"', '"lte"', '"in"', '"nin"',
                 '"between"', '"like"', '"ilike"', '"contains"', '"icontains"', '"starts_with"', '"ends_with"',
                 '"is_null"', '"is_empty"', '"has_any"', '"has_all"', '"_and"', '"_or"', '"_not"', '"search"',
                 '"sort"', '"limit"', '"offset"', '"estimated"', '"none"', '"exact"', '"having"', '"metrics"',
                 "member_rows", "member_columns", "member_cells"):
        assert word in text, word
    assert re.search(r"category_id\.parent_id\.name", text) and "metadata.size.w" in text
    for word in ("query_calendar", '"count_if"', '"sum_if"', '"percentile"', '"expr"', '"lane_label"', '"max_days"'):
        assert word in text, word  # issue 16: the new metrics, query_calendar, kanban lane labels
