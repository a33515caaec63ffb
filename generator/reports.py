"""``docpal reports``: run a company's saved report from the command line, and
run the scheduled reports that are due (contract section 11).

``docpal reports run`` connects as a platform admin (a superuser or a
``docpal_service`` login) and acts in the company the way an application
does: one transaction, ``docpal.set_context(company, user, true)``, then
``docpal.run_report``. The user is ``--user`` when given, else the user who
saved the report (a scheduled run runs as that user too), read from
``docpal.list_reports``. So the report shows what that user may read, never
more: the database applies their grants, the CLI only picks who they are.

The result is printed as the JSON ``run_report`` returns, or as CSV (RFC 4180,
Python's csv module): a header row, then one line per row (``query``), per
group (``aggregate``), per card (``kanban``) or per event (``calendar``).
Numbers keep the exact digits PostgreSQL gave them (parsed as Decimal).

``docpal reports run-due`` (and ``docpal listen --run-due-reports``) run the
scheduled reports one at a time, claim and run in transactions of their own
(``run_due``), so that the login's statement_timeout cancels one slow run,
never the runs after it.
"""

from __future__ import annotations

import csv
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

import psycopg
from psycopg.types.json import Jsonb

#: Parameter types whose JSON value is not a string: a ``--param`` value for
#: them is read as JSON when it parses (``5``, ``true``, ``["a","b"]``), and
#: passed as a string otherwise (report_bind then says what is wrong with it).
#: Every other type (text, date, uuid, select...) takes the value as a string.
JSON_TYPES = frozenset({"integer", "bigint", "decimal", "float", "currency", "percent", "boolean", "json",
                        "multi_select", "relation_many", "autonumber", "rating"})

#: The system columns of every docpal table, in the order a CSV puts them
#: after the table's own columns when the spec names no columns.
SYSTEM_COLUMNS = ("version", "created_at", "created_by", "updated_at", "updated_by")


class ReportError(Exception):
    """Something the CLI cannot do (an unknown company, a user it cannot look up)."""


# --- parameters -------------------------------------------------------------------

def parse_params(items: Iterable[str], declared: dict | None) -> str:
    """``--param`` items (``name=value``, or ``name:=JSON`` for a raw JSON value) as the JSON
    text of run_report's params. ``declared`` is the report's ``params`` definition. ValueError
    for an item that is not name=value, a name given twice, or ``:=`` with invalid JSON."""
    declared = declared or {}
    parts: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        raw = name.endswith(":")
        name = name[:-1] if raw else name
        if not sep or not name:
            raise ValueError(f"--param {item!r}: give name=value (or name:=JSON)")
        if name in parts:
            raise ValueError(f"--param {name!r} given twice")
        if raw:
            try:
                json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"--param {name}:= needs JSON: {exc}") from None
            parts[name] = value.strip()
            continue
        kind = (declared.get(name) or {}).get("type") if isinstance(declared.get(name), dict) else None
        parts[name] = json.dumps(value, ensure_ascii=False)
        if kind in JSON_TYPES:
            try:
                json.loads(value)
                parts[name] = value.strip()  # the text as given: 12.50 stays 12.50
            except json.JSONDecodeError:
                pass
    return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {v}" for k, v in parts.items()) + "}"


# --- acting in the company --------------------------------------------------------

def _company_id(conn: psycopg.Connection, ref: str) -> str:
    found = conn.execute("select docpal.get_company(%s)->>'id'", (ref,)).fetchone()[0]
    if found is None:
        raise ReportError(f"no company {ref!r}")
    return found


def _private(conn: psycopg.Connection, query: str, params: tuple, what: str):
    """A lookup in docpal's private tables, which only a superuser may read (a docpal_service
    login may not: it then has to give --user ID)."""
    try:
        with conn.transaction():  # a savepoint: a refusal leaves the transaction usable
            return conn.execute(query, params).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        raise ReportError(f"{what} needs a superuser login; with a docpal_service login "
                          "give --user ID (the user's id)") from None


def _user_id(conn: psycopg.Connection, ref: str) -> str:
    """--user: an id as given (set_context checks membership), or the id of an email."""
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        pass
    row = _private(conn, "select u.id::text from docpal_private.users u"
                         " where pg_catalog.lower(u.email) = pg_catalog.lower(%s)",
                   (ref,), f"looking up user {ref!r} by email")
    if row is None:
        raise ReportError(f"no user {ref!r}")
    return row[0]


def _any_member(conn: psycopg.Connection, company_id: str, ref: str) -> str:
    """A member to read list_reports as (owners first), before the saver is known."""
    row = _private(conn, "select m.user_id::text from docpal_private.memberships m where m.company_id = %s"
                         " order by m.role = 'owner' desc, m.role = 'admin' desc, m.user_id limit 1",
                   (company_id,), "finding the user who saved the report")
    if row is None:
        raise ReportError(f"company {ref!r} has no members")
    return row[0]


def _act(conn: psycopg.Connection, company_id: str, user_id: str) -> None:
    conn.execute("select docpal.set_context(%s, %s, true)", (company_id, user_id))


@dataclass
class Run:
    """A report run: the report (its list_reports entry), what run_report returned (as pretty
    JSON text, and parsed with exact numbers), and the table's columns in order when a CSV
    needs them (the spec names no columns)."""

    report: dict
    pretty: str
    result: dict
    table_columns: list[str] | None = None


def run(conn: psycopg.Connection, company: str, slug: str, params: Iterable[str] = (),
        user: str | None = None, for_csv: bool = False) -> Run:
    """Runs report ``slug`` of ``company`` (slug or id) as ``user`` (id or email; default: the
    user who saved it) in one transaction on ``conn`` (autocommit). ReportError, ValueError
    (params) and the database's errors (psycopg.Error, with the contract's SQLSTATE) propagate."""
    with conn.transaction():
        company_id = _company_id(conn, company)
        acting = _user_id(conn, user) if user is not None else _any_member(conn, company_id, company)
        _act(conn, company_id, acting)
        reports = conn.execute("select docpal.list_reports()").fetchone()[0] or []
        report = next((r for r in reports if r.get("slug") == slug), None)
        if user is None and report is not None and str(report["saved_by"]) != acting:
            _act(conn, company_id, str(report["saved_by"]))  # as a scheduled run: as the saver
        # an unknown slug goes on to run_report, which says P0002
        text = parse_params(params, report.get("params") if report else None)
        pretty, raw = conn.execute(
            "with r as materialized (select docpal.run_report(%s, %s::jsonb) as v)"
            " select pg_catalog.jsonb_pretty(r.v), r.v::text from r", (slug, text)).fetchone()
        done = Run(report, pretty, json.loads(raw, parse_float=Decimal))
        if for_csv and report["kind"] in ("query", "kanban") and not (report.get("spec") or {}).get("columns"):
            described = conn.execute("select docpal.describe_table(%s)", (report["table"],)).fetchone()[0]
            done.table_columns = [c["name"] for c in described.get("columns", [])]
    return done


#: How long one ``run_due`` starts reports: under a minute, so that a runner started every minute
#: (a ``* * * * *`` cron line) does not overlap itself; what is left runs at its next start.
MAX_SECONDS = 50.0


def run_due(conn: psycopg.Connection, as_of: str | None = None, max_seconds: float = MAX_SECONDS) -> dict:
    """Runs the scheduled reports that are due, one at a time, each in two transactions of its
    own on ``conn`` (which must be in autocommit mode): ``docpal.claim_due_report`` (moves the
    report to its next time and marks it "started, not finished"), then
    ``docpal.run_claimed_report``. A run cancelled by the login's statement_timeout (57014) is
    counted as failed and the loop goes on: the claim was committed before, so the slow report
    waits for its next time (and shows the mark in list_reports) instead of blocking every run
    after it. Starts no report after ``max_seconds`` (the first always); returns
    {ran, failed}, with "more": true when it stopped at that limit before finding nothing due.
    ``as_of`` is a timestamp text (one without a zone is UTC), or None for now. Other database
    errors propagate (what ran before them is committed)."""
    if not conn.autocommit:
        raise ValueError("run_due needs a connection in autocommit mode (each claim commits before its run)")
    clock = None
    if as_of is not None:
        with conn.transaction():
            conn.execute("set local time zone 'UTC'")  # only to read a zoneless --as-of as UTC
            clock = conn.execute("select %s::timestamptz", (as_of,)).fetchone()[0]
    deadline = time.monotonic() + max_seconds
    total = {"ran": 0, "failed": 0}
    claimed = 0
    while True:
        if claimed and time.monotonic() >= deadline:
            return {**total, "more": True}
        claim = conn.execute("select docpal.claim_due_report(%s)", (clock,)).fetchone()[0]
        if claim is None:
            return total
        claimed += 1
        try:
            counts = conn.execute("select docpal.run_claimed_report(%s)", (Jsonb(claim),)).fetchone()[0]
        except psycopg.errors.QueryCanceled:
            counts = {"ran": 0, "failed": 1}  # its mark stays: "started, not finished"
        total = {k: total[k] + counts[k] for k in total}


# --- CSV --------------------------------------------------------------------------

def _bind(value: Any, params: dict) -> Any:
    """The spec with each "$param.<name>" string replaced by its bound value, as run_report
    does (for the column names a CSV header takes from the spec)."""
    if isinstance(value, str) and value.startswith("$param.") and value[7:] in params:
        return params[value[7:]]
    if isinstance(value, dict):
        return {k: _bind(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_bind(v, params) for v in value]
    return value


def cell(value: Any) -> str:
    """One CSV field: null is empty, text as is, true/false and numbers as in JSON (exact
    digits), objects and arrays as compact JSON text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # never 1E-7
    if isinstance(value, (dict, list)):
        return compact_json(value)
    return str(value)


def compact_json(value: Any) -> str:
    """JSON without spaces, numbers with their exact digits (json.dumps cannot write a
    Decimal as a number)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{compact_json(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(compact_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return format(value, "f")
    return json.dumps(value, ensure_ascii=False)


def _row_columns(spec: dict, rows: list[dict], table_columns: list[str] | None) -> list[str]:
    """The columns of query rows and kanban cards: the spec's ``columns`` in its order (an
    embed is its key), else the rows' keys: id, the table's columns in table order, the system
    columns, then anything else as met."""
    asked = spec.get("columns")
    if isinstance(asked, str):
        asked = [asked]
    if isinstance(asked, list) and asked:
        out: list[str] = []
        for item in asked:
            out.extend(item.keys() if isinstance(item, dict) else [str(item)])
        return out
    order = ["id", *(table_columns or []), *SYSTEM_COLUMNS]
    if not rows:
        return order
    seen = list(dict.fromkeys(k for row in rows for k in row))
    rank = {name: i for i, name in enumerate(order)}
    return sorted(seen, key=lambda k: (rank.get(k, len(order)), seen.index(k)))


def table_rows(report: dict, run_result: dict, table_columns: list[str] | None = None
               ) -> tuple[list[str], list[list[Any]]]:
    """(header, rows of values) of a run: per row (query), group (aggregate), card (kanban,
    the lane first) or event (calendar). ``table_columns``: the report table's columns in
    order (describe_table), used when the spec names no columns."""
    kind = report["kind"]
    spec = _bind(report.get("spec") or {}, run_result.get("params") or {})
    result = run_result["result"]
    if kind == "query":
        rows = result["rows"]
        header = _row_columns(spec, rows, table_columns)
        return header, [[row.get(k) for k in header] for row in rows]
    if kind == "aggregate":
        groups = result["groups"]
        by = spec.get("group_by") or []
        by = [by] if isinstance(by, str) else list(by)
        metrics = list((spec.get("metrics") or {}).keys())
        header = [*by, *metrics]
        header += [k for k in dict.fromkeys(k for g in groups for k in g) if k not in header]
        return header, [[g.get(k) for k in header] for g in groups]
    if kind == "kanban":
        lanes = result["groups"]
        cards = [row for lane in lanes for row in lane["rows"]]
        columns = _row_columns(spec, cards, table_columns)
        labelled = "lane_label" in spec
        header = ["lane", *(["lane_label"] if labelled else []), *columns]
        out = []
        for lane in lanes:
            front = [lane.get("value"), *([lane.get("label")] if labelled else [])]
            out += [[*front, *(row.get(k) for k in columns)] for row in lane["rows"]]
        return header, out
    if kind == "calendar":
        header = ["id", "label", "start", "end", "color"]
        return header, [[event.get(k) for k in header] for event in result["events"]]
    raise ValueError(f"unknown report kind {kind!r}")


def write_csv(out: IO[str], header: list[str], rows: list[list[Any]]) -> None:
    """RFC 4180: comma separated, CRLF line ends, a field quoted when it holds a comma, a
    quote or a line break, quotes doubled. A value starting with = + - @ is written as it is
    (the CSV is data; escaping it for spreadsheets would change the data)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
