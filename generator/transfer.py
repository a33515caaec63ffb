"""Streaming export and import of a company (``docpal tenants export/import``).

The export is the document of ``docpal.export_company`` written as JSON Lines
(docs/export-import.md): a header line ``{format, version, company, history}``,
one line per definition (``{"tables": [...]}``, ``{"members": [...]}``, ...),
then the data in batches, one line each: ``{"files": [...]}``,
``{"records": {"<table>": [...]}}`` per table, ``{"relations": {"tuples": [...]}}``,
``{"workflow_log": [...]}`` and, with history, ``{"history": [...]}``. Merging
the lines (lists concatenated, objects merged) gives the document back.

Memory stays flat in the company's size: the export reads inside one
repeatable-read transaction, so the file is one consistent snapshot, and writes
each batch of ``batch`` entries as it comes, as the text PostgreSQL made: as the
DBA through one binary COPY per part of ``docpal_private.export_sql``'s query in
batches (the server makes the next batch while this process writes: no jsonb,
no per-entry work here), otherwise in keyset pages of ``export_company``'s
``part`` spec. The import reads one line at a time and hands it to the database
as it is (a data line's key is read from its start, never parsed here). The import runs in one
transaction through the same private steps ``docpal.import_company`` uses
(``docpal_private.import_begin``, ``import_part``, ``import_finish``), so it
runs as the DBA (the connection ``docpal migrate`` uses).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import IO

import psycopg

#: Header keys of a JSON Lines export.
HEADER_KEYS = ("format", "version", "company")
#: Definition lines, in the order they are written (and must be read: before any data).
DEFINITION_KEYS = ("type_lists", "tables", "members", "roles", "grants", "groups", "workflows", "event_rules",
                   "relations", "blueprints", "reports", "dashboards")
#: Data lines, in the order they are written.
DATA_KEYS = ("files", "records", "tuples", "workflow_log", "history")

#: The fields of a ReBAC tuple, its key in the export's order.
TUPLE_KEY = ("object_type", "object_id", "relation", "subject_type", "subject_id", "subject_relation")

BATCH = 1000

Progress = Callable[[str, int], None]


class TransferError(Exception):
    """A file that is not a docpal export, or a company that does not exist."""


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


# --- export -------------------------------------------------------------------------------

def _pages(conn: psycopg.Connection, company, spec: dict, key: str) -> Iterator[tuple[str, int]]:
    """The pages of one part, as the JSON text PostgreSQL made and the entry count; each page
    starts after the last entry of the one before (keyset: one index range scan each)."""
    after = None
    while True:
        page_spec = spec if after is None else spec | {"after": after}
        text, count, last = conn.execute(
            "select p::text, jsonb_array_length(p), p->-1 from docpal.export_company(%s, %s::jsonb) p",
            (company, json.dumps(page_spec))).fetchone()
        if not count:
            return
        yield text, count
        if count < spec["limit"]:
            return
        after = [last[k] for k in TUPLE_KEY] if key == "tuple" else last[key]


#: The settings that change how values print, pinned as docpal_private.export_page pins them.
PRINT_SETTINGS = {"extra_float_digits": "1", "intervalstyle": "postgres", "datestyle": "ISO, MDY", "timezone": "UTC"}


def _fast(conn: psycopg.Connection) -> bool:
    """Whether conn may read the export's queries itself (the DBA): one cursor per part
    instead of export_company's pages."""
    return conn.execute("select pg_catalog.has_schema_privilege('docpal_private', 'usage')"
                        " and pg_catalog.has_function_privilege("
                        "'docpal_private.export_sql(text, text, text, jsonb, integer, integer)', 'execute')").fetchone()[0]


def _rows(conn: psycopg.Connection, schema: str, part: str, table: str | None, batch: int) -> Iterator[tuple[str, int]]:
    """The entries of one part in batches, as JSON array text and the entry count: a binary
    COPY to the client of docpal_private.export_sql's query in batches (one row a batch, the
    json PostgreSQL printed, never parsed here; no COPY escaping to undo). The server makes
    the next batch while this process writes one: both CPUs work, one batch is in memory."""
    query = conn.execute("select docpal_private.export_sql(%s, %s, %s, null, null, %s)",
                         (schema, part, table, batch)).fetchone()[0]
    with conn.cursor() as cur, cur.copy("copy (" + query + ") to stdout (format binary)") as copy:
        copy.set_types(["text", "int8"])
        while (row := copy.read_row()) is not None:
            yield row


def export_lines(conn: psycopg.Connection, company, history: bool = False, batch: int = BATCH,
                 progress: Progress | None = None) -> Iterator[str]:
    """The lines of company's export (id); conn is in the transaction the caller opened."""
    definitions = conn.execute("select docpal.export_company(%s, %s)",
                               (company, json.dumps({"part": "definitions"}))).fetchone()[0]
    yield _dumps({k: definitions[k] for k in HEADER_KEYS} | {"history": history})
    for key in DEFINITION_KEYS:
        yield _dumps({key: definitions[key]})
    schema = conn.execute("select schema_name from docpal_private.companies where id = %s",
                          (company,)).fetchone()[0] if _fast(conn) else None
    # a Citus distributed company: export_company's pages (no recursive query on distributed tables)
    if schema is not None and not conn.execute("select docpal_private.company_distributed(%s)", (schema,)).fetchone()[0]:
        for name, value in PRINT_SETTINGS.items():
            conn.execute("select pg_catalog.set_config(%s, %s, true)", (name, value))

        def pages(spec: dict, key: str) -> Iterator[tuple[str, int]]:
            return _rows(conn, schema, spec["part"], spec.get("table"), batch)
    else:
        def pages(spec: dict, key: str) -> Iterator[tuple[str, int]]:
            return _pages(conn, company, spec | {"limit": batch}, key)

    def data(label: str, spec: dict, key: str, wrap: Callable[[str], str]) -> Iterator[str]:
        for text, count in pages(spec, key):
            if progress:
                progress(label, count)
            yield wrap(text)

    yield from data("files", {"part": "files"}, "id", lambda t: '{"files": ' + t + "}")
    for spec in definitions["tables"]:
        slug = spec["slug"]
        yield from data(f"records of {slug}", {"part": "records", "table": slug}, "id",
                        lambda t, s=slug: '{"records": {' + json.dumps(s) + ": " + t + "}}")
    yield from data("relation tuples", {"part": "tuples"}, "tuple", lambda t: '{"relations": {"tuples": ' + t + "}}")
    yield from data("workflow log", {"part": "workflow_log"}, "id", lambda t: '{"workflow_log": ' + t + "}")
    if history:
        yield from data("audit history", {"part": "history"}, "id", lambda t: '{"history": ' + t + "}")


def export_company(url: str, slug: str, out: IO[str], history: bool = False, batch: int = BATCH,
                   progress: Progress | None = None) -> int:
    """Write company `slug`'s export to out as JSON Lines; returns the number of lines."""
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        company = conn.execute("select docpal.get_company(%s)->>'id'", (slug,)).fetchone()[0]
        if company is None:
            raise TransferError(f"no company with slug {slug!r}")
        lines = 0
        for line in export_lines(conn, company, history, batch, progress):
            out.write(line)
            out.write("\n")
            lines += 1
        conn.rollback()
    return lines


# --- import -------------------------------------------------------------------------------

def document_lines(doc: dict, batch: int = BATCH) -> Iterator[str]:
    """One export document (docpal.export_company's result) as the lines of its JSON Lines form."""
    if not isinstance(doc, dict):
        raise TransferError("not a docpal export: the file holds no JSON object")
    header = {k: doc[k] for k in HEADER_KEYS if k in doc}
    header["history"] = isinstance(doc.get("history"), list)
    extra = set(doc) - set(HEADER_KEYS) - set(DEFINITION_KEYS) - set(DATA_KEYS) - {"history"}
    header |= {k: doc[k] for k in extra}  # refused by the import, with the key named
    yield _dumps(header)
    for key in DEFINITION_KEYS:
        if key == "relations" and isinstance(doc.get(key), dict):
            yield _dumps({key: {k: v for k, v in doc[key].items() if k != "tuples"}})
        elif key in doc:
            yield _dumps({key: doc[key]})

    def chunks(items) -> Iterator[list]:
        if not isinstance(items, list):
            yield items  # the database says what is wrong with it
            return
        for i in range(0, len(items), batch):
            yield items[i:i + batch]

    for chunk in chunks(doc.get("files", [])):
        yield _dumps({"files": chunk})
    records = doc.get("records", {})
    if isinstance(records, dict):
        for slug, rows in records.items():
            for chunk in chunks(rows):
                yield _dumps({"records": {slug: chunk}})
    else:
        yield _dumps({"records": records})
    relations = doc.get("relations")
    if isinstance(relations, dict) and "tuples" in relations:
        for chunk in chunks(relations["tuples"]):
            yield _dumps({"relations": {"tuples": chunk}})
    for chunk in chunks(doc.get("workflow_log", [])):
        yield _dumps({"workflow_log": chunk})
    if isinstance(doc.get("history"), list):
        for chunk in chunks(doc["history"]):
            yield _dumps({"history": chunk})


def read_file(stream: IO[str]) -> tuple[str, Iterator[str] | str]:
    """An export file in either form: ("lines", the JSON Lines, read one at a time) or
    ("document", the text of one JSON document, on one line or many)."""
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        header = None
    if isinstance(header, dict) and header.get("format") == "docpal-export" \
            and set(header) <= set(HEADER_KEYS) | {"history"}:
        def lines() -> Iterator[str]:
            yield first
            for line in stream:
                if line.strip():
                    yield line
        return "lines", lines()
    text = first + stream.read()
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise TransferError(f"the file is neither JSON Lines nor one JSON document: {exc}") from None
    return "document", text


def _key(line: str) -> tuple[str, dict]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TransferError(f"a line of the file is not JSON: {exc}") from None
    if not isinstance(item, dict) or len(item) != 1:
        raise TransferError("every line after the header is a JSON object with one key")
    key = next(iter(item))
    if key == "relations" and isinstance(item[key], dict) and "tuples" in item[key]:
        key = "tuples"
    return key, item


def _count(key: str, item: dict) -> tuple[str, int]:
    value = item[next(iter(item))]
    if key == "records" and isinstance(value, dict):
        return "records of " + ", ".join(value), sum(len(v) for v in value.values() if isinstance(v, list))
    if key == "tuples":
        return "relation tuples", len(value["tuples"]) if isinstance(value.get("tuples"), list) else 0
    return key.replace("_", " "), len(value) if isinstance(value, list) else 0


#: The start of a data line as the export writes it: its key (and a records line's first table).
_DATA_LINE = re.compile(r'\s*\{\s*"(files|records|relations|workflow_log|history)"\s*:\s*'
                        r'(?:\{\s*"((?:[^"\\]|\\.)*)"\s*:)?')


def _label(line: str) -> tuple[str, str] | None:
    """The key and progress label of a data line, read from its start only (a data line is
    large: the database parses it, once); None when it does not start like one."""
    match = _DATA_LINE.match(line)
    if not match:
        return None
    key, inner = match.groups()
    if key == "records":
        return (key, "records of " + json.loads('"' + inner + '"')) if inner is not None else None
    if key == "relations":
        return ("tuples", "relation tuples") if inner == "tuples" else None
    return (key, key.replace("_", " ")) if inner is None else None


def import_lines(conn: psycopg.Connection, lines: Iterable[str], slug: str,
                 progress: Progress | None = None) -> str:
    """Import the export `lines` as a new company `slug`, all or nothing, in one transaction
    on conn; returns the new company's id. Definition lines are read here (they make the
    first step's argument); data lines go to the database as they are."""
    lines = iter(lines)
    try:
        header = json.loads(next(lines))
    except StopIteration:
        raise TransferError("the file is empty") from None
    except json.JSONDecodeError as exc:
        raise TransferError(f"the first line is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise TransferError("not a docpal export: the first line is no JSON object")
    definitions = dict(header)
    company = None
    with conn.transaction():
        for line in lines:
            quick = _label(line)
            if quick is None:
                key, item = _key(line)
                label = _count(key, item)[0]
            else:
                key, label = quick
            if company is None and key in DEFINITION_KEYS:
                value = item[key]
                if key in definitions and isinstance(definitions[key], list) and isinstance(value, list):
                    definitions[key] = definitions[key] + value
                elif key in definitions and isinstance(definitions[key], dict) and isinstance(value, dict):
                    definitions[key] = definitions[key] | value
                else:
                    definitions[key] = value
                continue
            if company is None:
                company = conn.execute("select docpal_private.import_begin(%s::jsonb, %s)::text",
                                       (json.dumps(definitions), slug)).fetchone()[0]
                definitions = None
            count = conn.execute("select docpal_private.import_part(%s, %s::jsonb)", (company, line)).fetchone()[0]
            if progress:
                progress(label, count)
        if company is None:
            company = conn.execute("select docpal_private.import_begin(%s::jsonb, %s)::text",
                                   (json.dumps(definitions), slug)).fetchone()[0]
        conn.execute("select docpal_private.import_finish(%s)", (company,))
    return company


def import_file(url: str, stream: IO[str], slug: str, progress: Progress | None = None) -> str:
    """Import an export file as company `slug`. JSON Lines go in line by line (memory flat in
    the company's size); one JSON document, which is in memory anyway, goes to
    docpal.import_company as it is (its numbers exactly as written)."""
    form, content = read_file(stream)
    with psycopg.connect(url) as conn:
        if form == "lines":
            return import_lines(conn, content, slug, progress)
        with conn.transaction():
            company = conn.execute("select docpal.import_company(%s::jsonb, %s)::text", (content, slug)).fetchone()[0]
        if progress:
            progress("document", 1)
        return company
