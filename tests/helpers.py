"""Small helpers the test modules share: calling docpal functions, checking
SQLSTATEs, building table specs."""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb, set_json_loads


def one(conn, sql, *params):
    return conn.execute(sql, params).fetchone()[0]


def fn(conn, name, *args):
    """Call docpal.<name>(args...); dicts and lists are passed as jsonb."""
    args = [Jsonb(a) if isinstance(a, (dict, list)) else a for a in args]
    marks = ", ".join(["%s"] * len(args))
    return conn.execute(f"select docpal.{name}({marks})", args).fetchone()[0]


@contextmanager
def raises(*codes):
    """The block raises a database error with one of these SQLSTATEs."""
    with pytest.raises(psycopg.Error) as exc:
        yield exc
    assert exc.value.sqlstate in codes, f"expected {codes}, got {exc.value.sqlstate}: {exc.value}"


def set_context(conn, company, user, is_local=False):
    """Act as user in company on conn; JSON numbers read back as Decimal (exact). For the rest of
    the session unless is_local (set_context's own default is the transaction: these connections
    are the tests' own, never shared through a pooler)."""
    set_json_loads(lambda s: json.loads(s, parse_float=Decimal), conn)
    conn.execute("select docpal.set_context(%s, %s, %s)", (company["id"], user, is_local))
    return conn


def server_log_size(db):
    """The length of the test cluster's server log (the embedded cluster logs to server.log in
    its data directory), to read what is logged after it with server_log_since. Superuser."""
    return one(db, "select (pg_stat_file('server.log')).size")


def server_log_since(db, offset):
    """What the server log got after `offset` (LOG lines are written before the statement that
    raised them returns)."""
    return one(db, "select pg_read_file('server.log', %s, (pg_stat_file('server.log')).size - %s)",
               offset, offset)


def table(slug, *columns, name=None):
    return {"slug": slug, "name": name or slug.title(), "columns": list(columns)}


def U(value):
    """value as a uuid.UUID (ids come back from JSON as text)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def code_of(call):
    """The SQLSTATE a call fails with, or None when it succeeds."""
    try:
        call()
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


def expect_codes(cases, *codes):
    """Run every (label, call); one assertion naming every call that did not fail with one of
    `codes` (instead of stopping at the first)."""
    misses = [(label, code_of(call)) for label, call in cases]
    misses = [(label, got) for label, got in misses if got not in codes]
    assert not misses, f"expected {codes} from all, got: {misses}"


def plpgsql_expressions(source: str) -> list[tuple[str, int]]:
    """Every SQL expression and statement of a PL/pgSQL function's source (CREATE FUNCTION
    text), as (query text, pglast parse mode; 0 is a whole statement)."""
    import pglast

    found: list[tuple[str, int]] = []

    def walk(node):
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "PLpgSQL_expr":
                    found.append((value["query"], value.get("parseMode", 0)))
                else:
                    walk(value)

    walk(pglast.parse_plpgsql(source)[0]["PLpgSQL_function"])
    return found
