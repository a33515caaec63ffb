"""Static checks of the rendered SQL templates.

Rules (ids as reported):

- ``security-definer-search-path``  SECURITY DEFINER without ``SET search_path``.
- ``unqualified-name``  a table or a non-builtin function named without its
  schema inside a function body (search_path must not decide what runs).
- ``execute-concatenation``  dynamic SQL (EXECUTE, FOR ... EXECUTE, RETURN
  QUERY EXECUTE, OPEN ... FOR EXECUTE) built with ``||``, or with a ``%s``
  conversion of ``format()`` fed from a function parameter (use %I / %L);
  also such a statement whose query is a bare variable that the function
  assigns (DECLARE default or ``:=``) from ``||`` on a function parameter
  (not quoted by format/quote_ident/quote_literal/quote_nullable) or from
  a ``format()`` ``%s`` of a parameter.
  One step only: a variable assigned from another variable is not followed.
- ``execute-one-statement``  a dynamic statement whose constant text (a
  string literal, or format() with a literal first argument) holds more
  than one SQL statement: Citus refuses several commands in one prepared
  statement (contract 10, rule 9). The text is parsed with its format()
  conversions replaced by dummies (%I a name, %L a literal, %s a name);
  when that does not parse (a %s that stands for a clause), its top-level
  semicolons are counted with the scanner instead.
- ``undocumented-public-function``  a function in schema docpal that
  docs/reference.md does not mention as ``docpal.<name>(``.
- ``parse-error``  a statement or body pglast cannot parse.
- ``plpgsql-check``  errors found by the plpgsql_check extension on a live
  database (see plpgsql_check()).

DO blocks are not function bodies and are not checked.

The list of pg_catalog functions that may be called unqualified,
data/pg_catalog_functions.txt, comes from a PostgreSQL 15 database without
extensions; regenerate it with::

    psql -XAt -d template1 -c "select distinct proname from pg_proc
        where pronamespace = 'pg_catalog'::regnamespace order by 1" \\
        > generator/data/pg_catalog_functions.txt
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pglast
from pglast import ast, parser
from pglast.visitors import Visitor

from . import render, resources
from .render import Rendered

RULES = (
    "security-definer-search-path",
    "unqualified-name",
    "execute-concatenation",
    "execute-one-statement",
    "undocumented-public-function",
    "parse-error",
    "plpgsql-check",
)

_PUBLIC_API_RE = re.compile(r"\bdocpal\.([A-Za-z_][A-Za-z0-9_]*)\(")

# A format() conversion: %[n$][-][width|*|*n$]type, or %% for a literal %.
_CONVERSION_RE = re.compile(r"%(?:%|(?:(?P<pos>\d+)\$)?-?(?:(?P<star>\*)(?:(?P<wpos>\d+)\$)?|\d+)?(?P<type>[sIL]))")

# PL/pgSQL statements whose query is dynamic SQL, and the key holding it.
_DYNAMIC = {
    "PLpgSQL_stmt_dynexecute": "query",
    "PLpgSQL_stmt_dynfors": "query",
    "PLpgSQL_stmt_return_query": "dynquery",
    "PLpgSQL_stmt_open": "dynquery",
}


@dataclass(frozen=True)
class Violation:
    file: str  # template path relative to the project root
    line: int  # 1-based line in that template
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.message}"


@cache
def builtin_functions() -> frozenset[str]:
    return frozenset(resources.data_file("pg_catalog_functions.txt").read_text().split())


def public_api_names(root: Path) -> set[str]:
    """Every name written as ``docpal.<name>(`` in docs/reference.md."""
    path = Path(root) / "docs" / "reference.md"
    if not path.exists():
        return set()
    return {m.group(1).lower() for m in _PUBLIC_API_RE.finditer(path.read_text())}


# --------------------------------------------------------------------------
# Finding the functions in a template


@dataclass
class _Function:
    """One CREATE FUNCTION/PROCEDURE statement of a template."""

    file: str
    text: str  # whole template
    stmt: ast.CreateFunctionStmt
    stmt_text: str
    line: int  # line of CREATE
    body: str | None  # the AS string, None for C functions and SQL-standard bodies
    body_line: int  # line of the body's opening quote ($$): body line 1
    body_token: tuple[int, int]  # start, end (inclusive) of the quoted body in stmt_text

    @property
    def schema(self) -> str | None:
        names = [n.sval for n in self.stmt.funcname]
        return names[-2] if len(names) > 1 else None

    @property
    def name(self) -> str:
        return self.stmt.funcname[-1].sval

    def option(self, name: str):
        return next((o.arg for o in self.stmt.options or () if o.defname == name), None)

    @property
    def language(self) -> str:
        lang = self.option("language")
        return lang.sval.lower() if lang is not None else "sql"

    @property
    def params(self) -> set[str]:
        # Every name of the argument list (OUT ones included); RETURNS TABLE
        # columns are not arguments.
        return {p.name for p in self.stmt.parameters or () if p.name and p.mode != "t"}


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _functions(item: Rendered) -> tuple[list[_Function], list[Violation]]:
    file, text = item.source.as_posix(), item.sql
    try:
        stmts = parser.parse_sql(text)
    except parser.ParseError as e:
        index = e.args[1] if len(e.args) > 1 else 0
        return [], [Violation(file, _line(text, index), "parse-error", str(e.args[0]))]
    found = []
    for raw in stmts:
        if not isinstance(raw.stmt, ast.CreateFunctionStmt):
            continue  # DO blocks included: they are not function bodies
        start = raw.stmt_location
        stmt_text = text[start:start + raw.stmt_len] if raw.stmt_len else text[start:]
        body, body_line, token = None, 0, (0, 0)
        as_ = next((o for o in raw.stmt.options or () if o.defname == "as"), None)
        if as_ is not None and len(as_.arg) == 1:
            body = as_.arg[0].sval
            body_line = _line(text, as_.arg_location)
            rel = as_.arg_location - start
            tok = next(t for t in parser.scan(stmt_text) if t.start == rel)
            token = (tok.start, tok.end)
        found.append(_Function(file, text, raw.stmt, stmt_text, _line(text, start), body, body_line, token))
    return found, []


# --------------------------------------------------------------------------
# Walking parse trees


class _Nodes(Visitor):
    """Every node of a tree, in a flat list."""

    def __call__(self, node):
        self.nodes = []
        super().__call__(node)
        return self.nodes

    def visit(self, ancestors, node):
        self.nodes.append(node)


def _name(names) -> str:
    return ".".join(n.sval for n in names)


def _unqualified(nodes) -> list[tuple[int, str]]:
    """(location, message) for each unqualified table or non-builtin call."""
    ctes = {n.ctename for n in nodes if isinstance(n, ast.CommonTableExpr)}
    out = []
    for n in nodes:
        if isinstance(n, ast.RangeVar) and not n.schemaname and n.relname not in ctes:
            out.append((n.location, f"table {n.relname} is not schema-qualified"))
        elif (isinstance(n, ast.FuncCall) and len(n.funcname) == 1
              and n.funcname[0].sval not in builtin_functions()):
            out.append((n.location, f"function {n.funcname[0].sval}() is not schema-qualified"))
    return out


def _uses_param(node, fn: _Function) -> bool:
    for n in _Nodes()(node):
        if isinstance(n, ast.ParamRef):
            return True
        if isinstance(n, ast.ColumnRef) and all(isinstance(f, ast.String) for f in n.fields):
            fields = [f.sval for f in n.fields]
            if fields[-1] in fn.params and (len(fields) == 1 or fields[:-1] == [fn.name]):
                return True
    return False


def _format_s_args(call: ast.FuncCall) -> list:
    """The arguments of a format() call that a %s conversion puts in as is."""
    args = list(call.args or ())
    fmt = args[0] if args else None
    if not (isinstance(fmt, ast.A_Const) and isinstance(fmt.val, ast.String)) or call.func_variadic:
        return []
    out, next_arg = [], 1  # arguments after the format string, 1-based
    for m in _CONVERSION_RE.finditer(fmt.val.sval):
        if not m.group("type"):
            continue  # %%
        if m.group("star"):  # the width is an argument too
            next_arg = int(m.group("wpos")) + 1 if m.group("wpos") else next_arg + 1
        arg = int(m.group("pos")) if m.group("pos") else next_arg
        next_arg = arg + 1
        if m.group("type") == "s" and arg < len(args):
            out.append(args[arg])
    return out


def _concatenation(nodes, fn: _Function) -> list[tuple[int, str]]:
    out = []
    for n in nodes:
        if isinstance(n, ast.A_Expr) and n.name and n.name[-1].sval == "||":
            out.append((n.location, "dynamic SQL built with ||: use format() with %I/%L, or EXECUTE ... USING"))
        elif isinstance(n, ast.FuncCall) and _name(n.funcname) in ("format", "pg_catalog.format"):
            if any(_uses_param(arg, fn) for arg in _format_s_args(n)):
                out.append((n.location, "format() %s takes a function parameter: use %I or %L"))
    return out


_DUMMY = {"I": '"_docpal_i"', "L": "'_docpal_l'", "s": "_docpal_s"}


def _statement_count(text: str) -> int:
    """Statements in ``text``, a format() string with its conversions
    replaced by dummies; by the scanner's top-level semicolons when the
    result does not parse."""
    sql = _CONVERSION_RE.sub(lambda m: "%" if not m.group("type") else _DUMMY[m.group("type")], text)
    try:
        return len(parser.parse_sql(sql))
    except parser.ParseError:
        pass
    try:
        tokens = parser.scan(sql)
    except Exception:  # noqa: BLE001 - an unterminated quote: leave it to the server
        return 1
    count, pending = 0, False
    for tok in tokens:
        if tok.name == "ASCII_59":
            count, pending = count + pending, False
        else:
            pending = True
    return count + pending


def _several_statements(query: str, mode: int) -> list[tuple[int, str]]:
    """(location, message) when the dynamic query ``query`` is a constant
    text (literal, or format() with a literal first argument) of more than
    one statement."""
    if mode == 0:
        return []
    try:
        stmt = parser.parse_sql("SELECT " + query)[0].stmt
        expr = stmt.targetList[0].val
    except (parser.ParseError, AttributeError, IndexError, TypeError):
        return []
    if isinstance(expr, ast.A_Const) and isinstance(expr.val, ast.String):
        text = expr.val.sval.replace("%", "%%")  # a literal has no conversions
    elif (isinstance(expr, ast.FuncCall) and _name(expr.funcname) in ("format", "pg_catalog.format")
          and expr.args and isinstance(expr.args[0], ast.A_Const)
          and isinstance(expr.args[0].val, ast.String)):
        text = expr.args[0].val.sval
    else:
        return []
    n = _statement_count(text)
    if n <= 1:
        return []
    return [(getattr(expr, "location", None) or len("SELECT "), f"EXECUTE of {n} statements in one text: "
                            "run one statement per EXECUTE (Citus refuses several in one)")]


# --------------------------------------------------------------------------
# Function bodies


def _sql_body(fn: _Function) -> list[Violation]:
    if fn.stmt.sql_body is not None:  # BEGIN ATOMIC / RETURN: parsed with the file
        nodes, text, first = _Nodes()(fn.stmt.sql_body), fn.text, 1
    else:
        try:
            nodes = _Nodes()(parser.parse_sql(fn.body))
        except parser.ParseError as e:
            return [Violation(fn.file, fn.body_line, "parse-error", f"{fn.name}: {e.args[0]}")]
        text, first = fn.body, fn.body_line
    return [Violation(fn.file, first + text.count("\n", 0, loc), "unqualified-name", msg)
            for loc, msg in _unqualified(nodes)]


def _mock_types(text: str, tokens, start: int = 0, end: int | None = None) -> str:
    """``text`` with what pglast's PL/pgSQL parser cannot take replaced, in
    the tokens between offsets ``start`` and ``end``; lines stay in place.

    That parser looks up the types of arguments and variables in a stand-in
    catalog that knows no schema but public and pg_catalog, where every
    public type is a record, %ROWTYPE is no record, and VARIADIC is refused.
    So ``x%rowtype`` becomes record; in each other ``schema.name`` that is
    not a call the schema becomes public (an array of one becomes text[]);
    and VARIADIC goes.
    """
    end = len(text) if end is None else end
    spans = []  # (start, end, replacement)
    for i, a in enumerate(tokens):
        if not start <= a.start < end:
            continue
        dot, b, after = (tokens[i + 1:i + 4] + [None] * 3)[:3]
        if a.name == "VARIADIC":
            spans.append((a.start, a.end + 1, ""))
        elif a.name == "ASCII_37" and dot is not None and text[dot.start:dot.end + 1].lower() == "rowtype":
            first = i - 1
            while first >= 2 and tokens[first - 1].name == "ASCII_46":
                first -= 2
            spans.append((tokens[first].start, dot.end + 1, "record"))
        elif (dot is not None and dot.name == "ASCII_46" and b is not None
                and (a.name == "IDENT" or a.kind != "NO_KEYWORD")
                and (b.name == "IDENT" or b.kind != "NO_KEYWORD")
                and (i == 0 or tokens[i - 1].name != "ASCII_46")
                and (after is None or after.name not in ("ASCII_40", "ASCII_46", "ASCII_37"))
                and text[a.start:a.end + 1].lower() not in ("public", "pg_catalog")):
            if after is not None and after.name == "ASCII_91":  # [
                spans.append((a.start, b.end + 1, "text"))
            else:
                spans.append((a.start, a.end + 1, "public"))
    for s, e, new in sorted(spans, reverse=True):
        text = text[:s] + new + text[e:]
    return text


def _plpgsql_source(fn: _Function) -> str:
    """The CREATE statement as pglast.parse_plpgsql can take it (see
    _mock_types), in the header and in the DECLARE sections of the body."""
    s, e = fn.body_token
    header = _mock_types(fn.stmt_text[:s], parser.scan(fn.stmt_text[:s]))
    body, tokens = fn.body, parser.scan(fn.body)
    declare = None
    for tok in reversed(tokens):  # from the end, so the offsets stay valid
        if tok.name == "BEGIN_P":
            declare = tok.start
        elif tok.name == "DECLARE" and declare is not None:
            body = _mock_types(body, tokens, tok.start, declare)
            declare = None
    return f"{header}$lint${body}$lint${fn.stmt_text[e + 1:]}"


def _parse_expr(query: str, mode: int):
    """Nodes of a PL/pgSQL expression and the shift from their locations to
    offsets in ``query``."""
    if mode == 0:  # a whole statement
        return _Nodes()(parser.parse_sql(query)), 0
    skip = 0
    if mode >= 3:  # an assignment: target := expression (or target = expression)
        target = re.match(r"[^:=]*(:=|=)", query)
        skip = target.end() if target else 0
    return _Nodes()(parser.parse_sql("SELECT " + query[skip:])), skip - len("SELECT ")


def _line_in_body(body: str, query: str, offset: int, line: int, limit: int) -> int:
    """Body line of ``offset`` in ``query``, the SQL of a statement that
    starts on body line ``line`` (the next one starts on line ``limit``).

    The query is searched for in the body from its statement's line on.
    PL/pgSQL blanks out INTO clauses with as many spaces, so only the first
    chunk of the query is searched for, and past it the offsets in the query
    and in the body still match. A query not found in the body (a PERFORM
    reads SELECT) is taken to start on its statement's line.
    """
    starts = [0] + [m.end() for m in re.finditer("\n", body)]
    lead = len(query) - len(query.lstrip())
    offset = max(lead, offset)
    probe = re.split(r"\n|\s{2,}", query.strip(), maxsplit=1)[0]
    stop = starts[limit] if limit < len(starts) else len(body)
    found = body.find(probe, starts[line - 1], stop) if probe and line <= len(starts) else -1
    if found < 0:
        return line + query.count("\n", lead, offset)
    return _line(body, found + offset - lead)


def _plpgsql_body(fn: _Function) -> list[Violation]:
    try:
        tree = pglast.parse_plpgsql(_plpgsql_source(fn))[0]["PLpgSQL_function"]
    except parser.ParseError as e:
        return [Violation(fn.file, fn.body_line, "parse-error", f"{fn.name}: {e.args[0]}")]
    exprs = []  # (body line of the statement, query, parseMode, dynamic?)
    lines = {1}  # body lines where statements and declarations start

    def walk(node, lineno, dynamic=False, kind=None):
        if isinstance(node, list):
            for n in node:
                walk(n, lineno)
        elif isinstance(node, dict):
            lineno = node.get("lineno", lineno)
            lines.add(lineno)
            for key, value in node.items():
                if key == "PLpgSQL_expr":
                    exprs.append((lineno, value["query"], value.get("parseMode", 0), dynamic))
                elif key.startswith("PLpgSQL_"):
                    walk(value, lineno, kind=key)
                else:
                    walk(value, lineno, dynamic=_DYNAMIC.get(kind) == key)

    walk(tree, 1)
    lines = sorted(lines)
    out = _executed_variables(fn, tree)
    for line, query, mode, dynamic in exprs:
        try:
            nodes, shift = _parse_expr(query, mode)
        except parser.ParseError as e:
            out.append(Violation(fn.file, fn.body_line + line - 1, "parse-error", f"{query!r}: {e.args[0]}"))
            continue
        limit = next((n for n in lines if n > line), line + query.count("\n") + 1)
        found = [(loc, "unqualified-name", msg) for loc, msg in _unqualified(nodes)]
        if dynamic:
            found += [(loc, "execute-concatenation", msg) for loc, msg in _concatenation(nodes, fn)]
            found += [(loc, "execute-one-statement", msg)
                      for loc, msg in _several_statements(query, mode)]
        for loc, rule, msg in found:
            where = _line_in_body(fn.body, query, loc + shift, line, limit)
            out.append(Violation(fn.file, fn.body_line + where - 1, rule, msg))
    return out


_QUOTING = ("format", "quote_ident", "quote_literal", "quote_nullable")
_IDENT_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_$]*)\s*(?::=|=)")


def _executed_variables(fn: _Function, tree: dict) -> list[Violation]:
    """execute-concatenation through one variable: a dynamic statement whose
    query is a bare variable (``EXECUTE v_sql``) that the function assigns,
    in its DECLARE default or a ``:=`` anywhere in the body, from an
    expression where ``||`` has an operand reading a function parameter
    (not through format(), quote_ident(), quote_literal() or
    quote_nullable()), or where a format() ``%s`` takes a parameter: what
    the direct rule calls injection-prone, carried through the variable.
    (Joining pieces of locals with ``||`` is format('%s%s') by another
    name, which the direct rule accepts too.) One step only: a variable
    assigned from another variable is not followed."""
    built = {}  # variable -> body line of an assignment that concatenates
    dynamic = []  # (body line, variable) of EXECUTE <variable>

    def reads_param(node) -> bool:
        """node reads a function parameter other than through a quoting
        call (format() is judged by its own conversions)."""
        if isinstance(node, ast.FuncCall) and _name(node.funcname).removeprefix("pg_catalog.") in _QUOTING:
            return False
        if isinstance(node, ast.ParamRef):
            return True
        if isinstance(node, ast.ColumnRef):
            return _uses_param(node, fn)
        if isinstance(node, ast.Node):
            return any(reads_param(v) for v in (getattr(node, a) for a in node) if v is not None)
        if isinstance(node, tuple):
            return any(reads_param(v) for v in node)
        return False

    def concatenates(query: str, mode: int) -> bool:
        try:
            nodes, _ = _parse_expr(query, mode)
        except parser.ParseError:
            return False
        for n in nodes:
            if isinstance(n, ast.A_Expr) and n.name and n.name[-1].sval == "||":
                if reads_param(n.lexpr) or reads_param(n.rexpr):
                    return True
            elif isinstance(n, ast.FuncCall) and _name(n.funcname) in ("format", "pg_catalog.format"):
                if any(_uses_param(arg, fn) for arg in _format_s_args(n)):
                    return True
        return False

    def walk(node, lineno, kind=None):
        if isinstance(node, list):
            for n in node:
                walk(n, lineno, kind)
        elif isinstance(node, dict):
            lineno = node.get("lineno", lineno)
            for key, value in node.items():
                if key == "PLpgSQL_var" and isinstance(value.get("default_val"), dict):
                    expr = value["default_val"].get("PLpgSQL_expr", {})
                    if concatenates(expr.get("query", ""), expr.get("parseMode", 0)):
                        built.setdefault(value.get("refname", ""), value.get("lineno", lineno))
                elif key == "PLpgSQL_stmt_assign":
                    expr = value.get("expr", {}).get("PLpgSQL_expr", {})
                    target = _IDENT_RE.match(expr.get("query", ""))
                    if target and concatenates(expr["query"], expr.get("parseMode", 0)):
                        built.setdefault(target.group(1), value.get("lineno", lineno))
                elif key.startswith("PLpgSQL_stmt") and _DYNAMIC.get(key) in value:
                    expr = value[_DYNAMIC[key]]
                    query = expr.get("PLpgSQL_expr", {}).get("query", "") if isinstance(expr, dict) else ""
                    if re.fullmatch(r"\s*[A-Za-z_][A-Za-z0-9_$]*\s*", query):
                        dynamic.append((value.get("lineno", lineno), query.strip()))
                    walk(value, lineno, key)
                else:
                    walk(value, lineno, key)

    walk(tree, 1)
    return [Violation(fn.file, fn.body_line + line - 1, "execute-concatenation",
                      f"EXECUTE of variable {name}, which line {fn.body_line + built[name] - 1} assigns "
                      "from || on a function parameter (or format() %s of one): "
                      "use format() with %I/%L, or EXECUTE ... USING")
            for line, name in dynamic if name in built]


# --------------------------------------------------------------------------
# Entry points


def _check(fn: _Function, public_api: set[str]) -> list[Violation]:
    out = []
    if fn.option("security") is not None and fn.option("security").boolval:
        sets = [o.arg for o in fn.stmt.options if o.defname == "set"]
        if not any(s.name == "search_path" for s in sets):
            out.append(Violation(fn.file, fn.line, "security-definer-search-path",
                                 f"{fn.name} is SECURITY DEFINER without SET search_path"))
    if fn.schema == "docpal" and fn.name not in public_api:
        out.append(Violation(fn.file, fn.line, "undocumented-public-function",
                             f"docpal.{fn.name} is not in docs/reference.md"))
    if fn.language == "sql":
        out += _sql_body(fn)
    elif fn.language == "plpgsql" and fn.body is not None:
        out += _plpgsql_body(fn)
    return out


def lint(root: Path | None = None, rendered: list[Rendered] | None = None,
         public_api: set[str] | None = None) -> list[Violation]:
    """Violations in every rendered template, by file and line (default: the
    templates docpal ships, resources.template_root())."""
    root = resources.template_root() if root is None else root
    rendered = render.templates(root) if rendered is None else rendered
    public_api = public_api_names(root) if public_api is None else public_api
    out = []
    for item in rendered:
        functions, errors = _functions(item)
        out += errors
        for fn in functions:
            out += _check(fn, public_api)
    return sorted(dict.fromkeys(out), key=lambda v: (v.file, v.line, v.rule, v.message))


def plpgsql_check(conn, root: Path | None = None) -> list[Violation]:
    """Errors plpgsql_check finds in the plpgsql functions of docpal and
    docpal_private on the database of ``conn`` (a psycopg connection).

    Creates the extension when the server has it; [] when it does not.
    Trigger functions are checked against the first table they are on.
    """
    if not conn.execute("select 1 from pg_catalog.pg_available_extensions"
                        " where name = 'plpgsql_check'").fetchone():
        return []
    conn.execute("create extension if not exists plpgsql_check")
    (schema,) = conn.execute("select extnamespace::regnamespace::text from pg_catalog.pg_extension"
                             " where extname = 'plpgsql_check'").fetchone()
    rows = conn.execute(f"""
        select n.nspname, p.proname, t.lineno, t.message, t.detail, t.query, t.position
          from pg_catalog.pg_proc p
          join pg_catalog.pg_namespace n on n.oid = p.pronamespace
          join pg_catalog.pg_language l on l.oid = p.prolang
          left join lateral (select g.tgrelid from pg_catalog.pg_trigger g
                              where g.tgfoid = p.oid order by g.oid limit 1) tg on true
          cross join lateral {schema}.plpgsql_check_function_tb(
              p.oid, coalesce(tg.tgrelid, 0)::regclass) t
         where n.nspname in ('docpal', 'docpal_private') and l.lanname = 'plpgsql'
           and p.prorettype <> 'pg_catalog.event_trigger'::pg_catalog.regtype
           and (p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype or tg.tgrelid is not null)
           and t.level = 'error'
         order by 1, 2, 3""").fetchall()
    where = {}  # (schema, name) -> function, from the templates
    for item in render.templates(root):
        if item.kind in ("function", "trigger"):
            for fn in _functions(item)[0]:
                where.setdefault((fn.schema, fn.name), fn)
    out = []
    for nsp, name, lineno, message, detail, query, position in rows:
        fn = where.get((nsp, name))
        file, line = (fn.file, fn.line) if fn else (f"{nsp}.{name}", 1)
        if fn and fn.body and lineno:
            if query and position:  # the line of the error inside the statement
                lineno = _line_in_body(fn.body, query, position - 1, lineno, lineno + query.count("\n") + 1)
            line = fn.body_line + lineno - 1
        out.append(Violation(file, line, "plpgsql-check",
                             f"{nsp}.{name}: {message}" + (f" ({detail})" if detail else "")))
    return out


def main() -> int:
    violations = lint()
    for v in violations:
        print(v)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
