"""``GET /api/openapi.json`` and ``GET /api/docs`` (contract section 12, "OpenAPI").

The document is OpenAPI 3.1 and belongs to the key's company: one API
transaction reads ``docpal.list_tables()`` (every table the key's user may
read, each in the ``describe_table`` shape, with only the columns it may
read) and the company's name, and this module turns that into paths and JSON
Schemas. Nothing here decides what a user may see: the SQL functions already
left out what it may not read.

Per table the record routes are spelled out (``/api/records/products``,
``/api/records/products/{id}``, ``.../query/kanban``, ...), each with that
table's schemas:

    <Name>Record   a record as the API returns it (system columns included)
    <Name>Create   the body of POST /api/records/<slug>
    <Name>Update   the body of PUT and PATCH (every key optional)
    <Name>Page     GET /api/records/<slug>: {rows: [<Name>Record], total}

``<Name>`` is the slug in PascalCase (``order_lines`` -> ``OrderLines``; a
part that starts with a digit, or is empty, keeps its ``_``, so two slugs
never share a name). ``column_schema`` is the one place that maps a docpal
column type onto JSON Schema; docs/http.md ("OpenAPI") lists the mapping.

``/api/docs`` is a static page (static/docs.html, docs.js, docs.css) that
asks for the API key, keeps it in sessionStorage and renders the document.
"""

from __future__ import annotations

import re
from importlib import resources

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .. import __version__
from .app import tenant

OPENAPI_VERSION = "3.1.0"

#: The columns every record has (contract sections 2 and 3).
SYSTEM_PROPERTIES = {
    "id": {"type": "string", "format": "uuid", "readOnly": True, "description": "The record's id."},
    "version": {"type": "integer", "minimum": 1, "readOnly": True,
                "description": "Starts at 1 and grows by one per update that changes something; the ETag."},
    "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
    "created_by": {"type": ["string", "null"], "format": "uuid", "readOnly": True,
                   "description": "The user who created the record (null for a row inserted without a context)."},
    "updated_by": {"type": ["string", "null"], "format": "uuid", "readOnly": True,
                   "description": "The user of the last update (null for a row written without a context)."},
}

#: Column types whose values docpal computes: never in a create or update body.
READ_ONLY_TYPES = {"autonumber", "formula"}

INT32 = (-(2 ** 31), 2 ** 31 - 1)

#: docpal's own format checks (functions/catalog/private/column_checks.sql),
#: with POSIX [[:space:]] written as \s for ECMA-262 regular expressions.
FORMAT_PATTERNS = {
    "email": r"^[^@\s]+@[^@\s]+[.][^@\s]+$",
    "url": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+\S*$",
    "phone": r"^(?=.*[0-9])[+]?[0-9 ()./-]{3,30}$",
    "color": r"^#[0-9A-Fa-f]{6}$",
}

#: A time of day as docpal reads it: PostgreSQL's `time` (no time zone, so
#: not JSON Schema's format "time", which requires an offset).
TIME_PATTERN = r"^\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"

DURATION_TEXT = ("A PostgreSQL interval. Reads as PostgreSQL writes it (`1 day 02:00:00`, "
                 "`1 year 2 mons 3 days 04:05:06.5`, `-1 days`); accepts that form, "
                 "`90 minutes` or ISO 8601 (`P1DT2H`).")

QUERY_KINDS = ("table", "kanban", "tree", "gantt", "dropdown", "breadcrumb", "calendar")

ERROR_RESPONSES = {
    "400": ("BadRequest", "Bad input: 22023, 22P02, 22007, 22008, 23502, 23514, 42703 or 54000."),
    "401": ("Unauthorized", "No API key, a bad, revoked or expired one, or its company suspended (28000)."),
    "403": ("Forbidden", "Permission denied, or a Host of another company (42501)."),
    "404": ("NotFound", "Unknown table (42P01), or a record that does not exist or is not visible (P0002)."),
    "409": ("Conflict", "A relation target missing or in use (23503), a unique value taken (23505), "
                        "or a table others depend on (2BP01)."),
    "412": ("PreconditionFailed", "If-Match does not match the record's version (40001)."),
    "429": ("TooManyRequests", "A quota (53400) or the key's rate limit (53400, with Retry-After)."),
    "503": ("ServiceUnavailable", "A lock could not be had in time (55P03) or no database connection is free; "
                                  "retry after Retry-After seconds."),
}


# --- names ------------------------------------------------------------------------


def pascal(slug: str) -> str:
    """`order_lines` -> `OrderLines`; `a_1` -> `A_1` (one name per slug)."""
    return "".join(part[:1].upper() + part[1:] if part and not part[0].isdigit() else "_" + part
                   for part in slug.split("_"))


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


# --- column -> JSON Schema ------------------------------------------------------------


def _number(value):
    """A rule's bound as a JSON number (rules may be stored as text)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    for convert in (int, float):
        try:
            return convert(value)
        except (TypeError, ValueError):
            pass
    return None


def _bounds(schema: dict, column: dict, low=None, high=None) -> None:
    """minimum/maximum from the column's min/max, else the storage type's range."""
    minimum, maximum = _number(column.get("min")), _number(column.get("max"))
    if minimum is not None:
        schema["minimum"] = max(minimum, low) if low is not None else minimum
    elif low is not None:
        schema["minimum"] = low
    if maximum is not None:
        schema["maximum"] = min(maximum, high) if high is not None else maximum
    elif high is not None:
        schema["maximum"] = high


def _decimal_bounds(schema: dict, column: dict, precision, scale) -> None:
    """numeric(p, s) holds values below 10^(p-s) in size; min/max rules are tighter."""
    minimum, maximum = _number(column.get("min")), _number(column.get("max"))
    limit = 10 ** (int(precision) - int(scale or 0)) if precision is not None else None
    if minimum is not None:
        schema["minimum"] = minimum
    elif limit is not None:
        schema["exclusiveMinimum"] = -limit
    if maximum is not None:
        schema["maximum"] = maximum
    elif limit is not None:
        schema["exclusiveMaximum"] = limit


#: POSIX regular-expression features that mean something else, or nothing,
#: in ECMA-262: a column pattern using one is described, not given as `pattern`.
_POSIX_ONLY = re.compile(r"\[:[a-z]+:\]|\[\.[^\]]*\.\]|\[=[^\]]*=\]|\\[mMyYAZ]|^\*\*\*|\(\?[#bceimnpqstwx]")


def _portable_pattern(pattern: str) -> bool:
    if _POSIX_ONLY.search(pattern):
        return False
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _pg_type_schema(data_type: str | None) -> dict:
    """The JSON Schema of a value of PostgreSQL type `data_type` as docpal
    reads it (a formula's result)."""
    t = (data_type or "").lower()
    if t in ("smallint", "integer", "bigint"):
        return {"type": "integer"}
    if t.startswith(("numeric", "decimal", "double precision", "real")):
        return {"type": "number"}
    if t == "boolean":
        return {"type": "boolean"}
    if t.startswith(("text", "character", "varchar")):
        return {"type": "string"}
    if t == "date":
        return {"type": "string", "format": "date"}
    if t.startswith("timestamp"):
        return {"type": "string", "format": "date-time"}
    if t.startswith("time"):
        return {"type": "string", "pattern": TIME_PATTERN}
    if t == "interval":
        return {"type": "string", "description": DURATION_TEXT}
    if t == "uuid":
        return {"type": "string", "format": "uuid"}
    return {}


def column_schema(column: dict) -> dict:
    """The JSON Schema of one column's value (not yet nullable) as records
    read and write it. Every docpal type of contract section 2."""
    kind = column.get("type")
    notes: list[str] = []
    if kind in ("text", "long_text", "rich_text", "phone"):
        schema: dict = {"type": "string"}
        if column.get("min_length") is not None:
            schema["minLength"] = int(column["min_length"])
        if column.get("max_length") is not None:
            schema["maxLength"] = int(column["max_length"])
        if column.get("pattern") is not None:
            if _portable_pattern(column["pattern"]):
                schema["pattern"] = column["pattern"]
            else:
                notes.append(f"Matches the PostgreSQL regular expression `{column['pattern']}`.")
        if kind == "phone":
            schema["pattern"] = FORMAT_PATTERNS["phone"]
    elif kind == "email":
        schema = {"type": "string", "format": "email", "pattern": FORMAT_PATTERNS["email"]}
    elif kind == "url":
        schema = {"type": "string", "format": "uri", "pattern": FORMAT_PATTERNS["url"]}
    elif kind == "color":
        schema = {"type": "string", "pattern": FORMAT_PATTERNS["color"]}
    elif kind == "integer":
        schema = {"type": "integer", "format": "int32"}
        _bounds(schema, column, *INT32)
    elif kind == "bigint":
        schema = {"type": "integer", "format": "int64"}  # its range: the format (2^63 is no exact JSON number)
        _bounds(schema, column)
    elif kind == "autonumber":
        schema = {"type": "integer", "format": "int64", "readOnly": True}
        if column.get("prefix"):
            notes.append(f"Shown with the prefix `{column['prefix']}`; the value is the number.")
    elif kind == "rating":
        schema = {"type": "integer", "minimum": 0, "maximum": int(column.get("max") or 5)}
    elif kind == "decimal":
        schema = {"type": "number"}
        _decimal_bounds(schema, column, column.get("precision"), column.get("scale"))
    elif kind == "currency":
        schema = {"type": "number"}
        _decimal_bounds(schema, column, 19, 4)
        if column.get("currency"):
            notes.append(f"Currency {column['currency']}.")
    elif kind in ("float", "percent"):
        schema = {"type": "number"}
        _bounds(schema, column)
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind in ("date", "datetime", "time"):
        schema = ({"type": "string", "format": "date"} if kind == "date" else
                  {"type": "string", "format": "date-time"} if kind == "datetime" else
                  {"type": "string", "pattern": TIME_PATTERN})
        if column.get("min") is not None:
            notes.append(f"Not before {column['min']}.")
        if column.get("max") is not None:
            notes.append(f"Not after {column['max']}.")
        if kind == "time":
            notes.append("A time of day without time zone, `HH:MM:SS[.ffffff]`.")
    elif kind == "duration":
        schema = {"type": "string"}
        notes.append(DURATION_TEXT)
    elif kind == "json":
        schema = {}
        notes.append("Any JSON value.")
    elif kind in ("uuid", "relation", "user", "file"):
        schema = {"type": "string", "format": "uuid"}
        if kind == "relation":
            notes.append(f"The id of a `{column.get('target')}` record.")
        elif kind == "user":
            notes.append("The id of a docpal user.")
        elif kind == "file":
            notes.append("The id of a file registered with POST /api/files.")
    elif kind in ("select", "multi_select"):
        item: dict = {"type": "string"}
        if isinstance(column.get("options"), list):
            item["enum"] = [str(o) for o in column["options"]]
        elif column.get("type_list"):
            notes.append(f"A value of the type list `{column['type_list']}`.")
        schema = item if kind == "select" else {"type": "array", "items": item}
    elif kind == "relation_many":
        schema = {"type": "array", "items": {"type": "string", "format": "uuid"}}
        notes.append(f"The ids of `{column.get('target')}` records (`[]` when none).")
    elif kind == "formula":
        schema = {**_pg_type_schema(column.get("data_type")), "readOnly": True}
        if column.get("expression"):
            notes.append(f"Computed: `{column['expression']}`.")
    else:
        schema = {}
        notes.append(f"docpal type `{kind}`.")
    if "description" in schema:
        notes.append(schema.pop("description"))
    said = [str(text).rstrip(".") + "." for text in (column.get("label"), column.get("description")) if text]
    if said or notes:
        schema["description"] = " ".join([*said, *notes])
    default = column.get("default")
    if default is not None and kind not in READ_ONLY_TYPES and _default_fits(schema, default):
        schema["default"] = default
    schema["x-docpal-type"] = kind
    return schema


def _default_fits(schema: dict, value) -> bool:
    """A column default goes into the schema only when it is a value of the
    column (not `now` or an expression)."""
    kind = schema.get("type")
    if kind == "string":
        return isinstance(value, str) and "format" not in schema and "pattern" not in schema and (
            "enum" not in schema or value in schema["enum"])
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list) and all(
            isinstance(v, str) and v in schema["items"].get("enum", [v]) for v in value)
    return False


def never_null(column: dict) -> bool:
    """Required columns, and those docpal always fills (autonumber, and
    relation_many, which reads `[]` when empty)."""
    return bool(column.get("required")) or column.get("type") in ("autonumber", "relation_many")


def nullable(schema: dict) -> dict:
    """The schema that also allows null (OpenAPI 3.1: a type list with "null")."""
    out = dict(schema)
    kind = out.get("type")
    if kind is None:
        return out  # any JSON value, null included
    out["type"] = [kind, "null"] if isinstance(kind, str) else [*kind, "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


# --- per-table schemas ------------------------------------------------------------------


def table_schemas(table: dict) -> dict[str, dict]:
    """The four schemas of one table (module docstring)."""
    name, slug = pascal(table["slug"]), table["slug"]
    title = table.get("name") or slug
    columns = table.get("columns") or []
    record_props = dict(SYSTEM_PROPERTIES)
    record_required = list(SYSTEM_PROPERTIES)
    write_props: dict = {}
    create_required: list[str] = []
    for column in columns:
        value = column_schema(column)
        value = value if never_null(column) else nullable(value)
        record_props[column["name"]] = value
        if never_null(column):
            record_required.append(column["name"])
        if column.get("type") in READ_ONLY_TYPES:
            continue
        write_props[column["name"]] = value
        if column.get("required") and column.get("default") is None:
            create_required.append(column["name"])
    described = f" {table['description']}" if table.get("description") else ""
    return {
        f"{name}Record": {
            "type": "object", "title": f"{name}Record",
            "description": f"A record of `{slug}` ({title}).{described}",
            "properties": record_props, "required": record_required},
        f"{name}Create": {
            "type": "object", "title": f"{name}Create",
            "description": f"A new `{slug}` record: its columns, and optionally its `id`. "
                           "Unknown keys are refused (42703).",
            "properties": {"id": {"type": "string", "format": "uuid",
                                  "description": "Optional: the new record's id (refused with 23505 "
                                                 "when it named a record before)."},
                           **write_props},
            "required": create_required, "additionalProperties": False},
        f"{name}Update": {
            "type": "object", "title": f"{name}Update",
            "description": f"The columns of a `{slug}` record to change; the others keep their values.",
            "properties": write_props, "additionalProperties": False},
        f"{name}Page": {
            "type": "object", "title": f"{name}Page",
            "description": f"A page of `{slug}` records.",
            "properties": {"rows": {"type": "array", "items": ref(f"{name}Record")},
                           "total": {"type": ["integer", "null"],
                                     "description": "Matching records (count=exact), the planner's "
                                                    "estimate (count=estimated), or null (count=none)."}},
            "required": ["rows", "total"]},
    }


# --- shared components ------------------------------------------------------------------


def _obj(properties: dict, required: list | None = None, description: str | None = None, **more) -> dict:
    out: dict = {"type": "object", "properties": properties, **more}
    if required:
        out["required"] = required
    if description:
        out["description"] = description
    return out


UUID = {"type": "string", "format": "uuid"}
UUID_OR_NULL = {"type": ["string", "null"], "format": "uuid"}
DATETIME = {"type": "string", "format": "date-time"}
STRING_OR_NULL = {"type": ["string", "null"]}
ROWS = {"type": "array", "items": ref("Row")}

COLUMN_TYPES = ["text", "long_text", "rich_text", "integer", "bigint", "decimal", "float", "currency", "percent",
                "boolean", "date", "time", "datetime", "duration", "email", "url", "phone", "json", "uuid",
                "select", "multi_select", "relation", "relation_many", "user", "file", "autonumber", "rating",
                "color", "formula"]


def shared_schemas() -> dict[str, dict]:
    column_spec = _obj({
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"},
        "type": {"type": "string", "enum": COLUMN_TYPES},
        "required": {"type": "boolean"}, "unique": {"type": "boolean"}, "indexed": {"type": "boolean"},
        "searchable": {"type": "boolean"}, "default": {}, "label": {"type": "string"},
        "description": {"type": "string"}, "view_type": {"type": "string"},
        "min": {}, "max": {}, "min_length": {"type": "integer"}, "max_length": {"type": "integer"},
        "pattern": {"type": "string"}, "precision": {"type": "integer"}, "scale": {"type": "integer"},
        "currency": {"type": "string"}, "options": {"type": "array", "items": {"type": "string"}},
        "type_list": {"type": "string"}, "target": {"type": "string"},
        "on_delete": {"type": "string", "enum": ["restrict", "set_null", "cascade"]},
        "prefix": {"type": "string"}, "expression": {"type": "string"}},
        ["name", "type"], "A column: its name, type and rules (contract section 2).")
    query_spec = _obj({
        "columns": {"type": "array", "items": {"type": ["string", "object"]},
                    "description": "Paths (`name`, `category_id.name`, `count(students)`), or embeds."},
        "filters": ref("Filters"),
        "search": {"type": "string", "description": "Full-text search over the searchable columns."},
        "sort": {"type": "array", "items": {"type": "string"}, "description": "Paths; `-` prefix for descending."},
        "limit": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 50},
        "offset": {"type": "integer", "minimum": 0},
        "count": {"type": "string", "enum": ["exact", "estimated", "none"], "default": "exact"}},
        description="A query spec (contract section 4); each kind adds its own keys.")
    return {
        "Error": _obj({
            "code": {"type": "string", "pattern": "^[0-9A-Z]{5}$", "description": "The SQLSTATE."},
            "message": {"type": "string"},
            "details": {"description": "More about the error: for 23514 an object {column, rule, value}; "
                                       "else text or null."},
            "hint": STRING_OR_NULL}, ["code", "message", "details", "hint"],
            "Every error: the SQLSTATE and PostgreSQL's message, detail and hint."),
        "Row": {"type": "object", "description": "A row of a query: keys are the paths asked for "
                                                 "(every column of the table by default)."},
        "Filters": {"type": "object", "description": "Filters (contract section 4): path -> value or "
                                                     "{operator: value}; `_and`, `_or`, `_not` nest."},
        "QuerySpec": query_spec,
        "KanbanSpec": {"allOf": [ref("QuerySpec"), _obj({
            "group_by": {"type": "string"}, "limit_per_group": {"type": "integer", "minimum": 0},
            "lane_label": {"type": "string"}}, ["group_by"])]},
        "TreeSpec": {"allOf": [ref("QuerySpec"), _obj({
            "parent": {"type": "string"}, "root": UUID_OR_NULL, "max_depth": {"type": "integer", "minimum": 1}},
            ["parent"])]},
        "GanttSpec": {"allOf": [ref("QuerySpec"), _obj({
            "start": {"type": "string"}, "end": {"type": "string"}, "label": {"type": "string"},
            "dependencies": {"type": "string"}}, ["start", "end"])]},
        "DropdownSpec": {"allOf": [ref("QuerySpec"), _obj({"label": {"type": "string"}})]},
        "BreadcrumbSpec": {"allOf": [ref("QuerySpec"), _obj({
            "id": UUID, "parent": {"type": "string"}, "label": {"type": "string"}}, ["id", "parent"])]},
        "CalendarSpec": {"allOf": [ref("QuerySpec"), _obj({
            "start": {"type": "string"}, "end": {"type": "string"}, "from": {"type": "string"},
            "to": {"type": "string"}, "label": {"type": "string"}, "color": {"type": "string"}},
            ["start", "from", "to"])]},
        "AggregateSpec": _obj({
            "filters": ref("Filters"), "search": {"type": "string"},
            "group_by": {"type": "array", "items": {"type": "string"}},
            "metrics": {"type": "object", "description": "name -> `count` or {sum|avg|min|max|count_distinct: "
                                                         "path}, count_if, sum_if, percentile, expr."},
            "having": ref("Filters"), "sort": {"type": "array", "items": {"type": "string"}},
            "limit": {"type": "integer", "minimum": 0, "maximum": 1000}}, ["metrics"],
            "An aggregate spec (contract section 4)."),
        "QueryTableResult": _obj({"rows": ROWS, "total": {"type": ["integer", "null"]}}, ["rows", "total"]),
        "KanbanResult": _obj({"groups": {"type": "array", "items": _obj({
            "value": {}, "label": {}, "count": {"type": "integer"}, "rows": ROWS}, ["value", "count", "rows"])}},
            ["groups"]),
        "TreeResult": _obj({"nodes": {"type": "array", "items": ref("TreeNode")}}, ["nodes"]),
        "TreeNode": {"type": "object", "properties": {"children": {"type": "array", "items": ref("TreeNode")}},
                     "description": "A row with its children."},
        "GanttResult": _obj({"tasks": {"type": "array", "items": _obj({
            "id": UUID, "label": {}, "start": {}, "end": {},
            "dependencies": {"type": "array", "items": UUID}}, ["id"])}}, ["tasks"]),
        "DropdownResult": _obj({"options": {"type": "array", "items": _obj({"id": UUID, "label": {}}, ["id", "label"])}},
                               ["options"]),
        "BreadcrumbResult": _obj({"path": {"type": "array", "items": _obj({"id": UUID, "label": {}}, ["id", "label"])}},
                                 ["path"]),
        "CalendarResult": _obj({"events": {"type": "array", "items": _obj({
            "id": UUID, "label": {}, "start": {}, "end": {}, "color": {}}, ["id", "start"])}}, ["events"]),
        "AggregateResult": _obj({"groups": {"type": "array", "items": {"type": "object"}}}, ["groups"],
                                "One object per group: the group paths and the metric names."),
        "AuditEntry": _obj({
            "id": {"type": "integer"}, "at": DATETIME, "txid": {"type": "string"}, "user_id": UUID_OR_NULL,
            "table": {"type": "string"}, "record_id": UUID,
            "action": {"type": "string", "enum": ["INSERT", "UPDATE", "DELETE", "ROLLBACK", "RESTORE"]},
            "version": {"type": "integer"}, "old": {"type": ["object", "null"]}, "new": {"type": ["object", "null"]},
            "changed": {"type": ["array", "null"], "items": {"type": "string"}}, "summary": STRING_OR_NULL},
            ["id", "at", "table", "record_id", "action"], "One entry of a record's audit log."),
        "Rollback": _obj({"version": {"type": "integer", "minimum": 1},
                          "columns": {"type": "array", "items": {"type": "string"},
                                      "description": "Only these columns (default: all)."}}, ["version"],
                         "The version to go back to."),
        "Transition": _obj({"comment": STRING_OR_NULL}, description="An optional comment for the workflow history."),
        "TransitionResult": _obj({"state": {}, "pending_approvals": {"type": "integer"}},
                                 ["state", "pending_approvals"]),
        "TableSpec": _obj({"slug": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"},
                           "name": {"type": "string"}, "description": STRING_OR_NULL,
                           "columns": {"type": "array", "items": ref("ColumnSpec")}}, ["slug"],
                          "A new table (create_table)."),
        "ColumnSpec": column_spec,
        "Column": {"allOf": [ref("ColumnSpec"), _obj({"data_type": {"type": "string",
                                                                     "description": "The PostgreSQL type."}})]},
        "Table": _obj({"slug": {"type": "string"}, "name": {"type": "string"}, "description": STRING_OR_NULL,
                       "columns": {"type": "array", "items": ref("Column")},
                       "workflows": {"type": "array", "items": {"type": "object"}},
                       "created_at": DATETIME, "updated_at": DATETIME}, ["slug", "name", "columns"],
                      "A table as describe_table shows it to the caller."),
        "TablePatch": _obj({"name": {"type": "string"}, "description": STRING_OR_NULL},
                           description="What alter_table changes."),
        "ColumnPatch": {"type": "object", "description": "What alter_column changes: rules, label, "
                                                         "description, type (the data is converted); a "
                                                         "`name` renames the column (rename_column)."},
        "Report": _obj({"slug": {"type": "string"}, "name": {"type": "string"}, "description": STRING_OR_NULL,
                        "table": {"type": "string"},
                        "kind": {"type": "string", "enum": ["query", "aggregate", "kanban", "calendar"]},
                        "spec": {"type": "object"}, "params": {"type": "object"},
                        "schedule": STRING_OR_NULL}, ["slug", "table", "kind", "spec"],
                       "A saved report (contract section 11)."),
        "ReportRun": _obj({"report": {"type": "string"}, "params": {"type": "object"}, "ran_at": DATETIME,
                           "ms": {"type": "number"}, "result": {}}, ["report", "params", "ran_at", "result"]),
        "Widget": _obj({"id": {"type": "string"}, "title": {"type": "string"}, "report": {"type": "string"},
                        "params": {"type": "object"},
                        "chart": {"type": "string", "enum": ["number", "bar", "line", "pie", "table", "kanban"]},
                        "x": {"type": "integer"}, "y": {"type": "integer"}, "w": {"type": "integer"},
                        "h": {"type": "integer"}, "data": {"description": "The report's result (GET only)."}},
                       ["id", "report", "chart"]),
        "Dashboard": _obj({"slug": {"type": "string"}, "name": {"type": "string"},
                           "widgets": {"type": "array", "items": ref("Widget")}}, ["slug", "widgets"]),
        "DashboardSummary": _obj({"slug": {"type": "string"}, "name": {"type": "string"},
                                  "widgets": {"type": "integer", "description": "How many widgets."}}, ["slug"]),
        "FileSpec": _obj({"name": {"type": "string"}, "size": {"type": "integer", "minimum": 0},
                          "mime": {"type": "string"}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                          "storage_key": {"type": "string"}}, ["name", "size", "mime", "sha256", "storage_key"],
                         "A file's metadata (the bytes live where storage_key says)."),
        "File": {"allOf": [ref("FileSpec"), _obj({"id": UUID}, ["id"])]},
        "Event": _obj({"event_id": {"type": "integer"}, "company_id": UUID, "table": {"type": "string"},
                       "record_id": UUID, "action": {"type": "string"}, "version": {"type": ["integer", "null"]},
                       "changed": {"type": ["array", "null"], "items": {"type": "string"}},
                       "user_id": UUID_OR_NULL, "at": DATETIME,
                       "workflow": {"type": "object", "description": "{name, task_queue}: where an event "
                                                                     "rule matched."}},
                      ["event_id", "table", "record_id", "action"],
                      "The data of one `change` Server-Sent Event."),
    }


# --- operations ----------------------------------------------------------------------------


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def operation(op_id: str, summary: str, tags: list[str], ok: tuple[str, str, dict | None], errors: str,
              *, params: list | None = None, body: dict | None = None, body_required: bool = True,
              description: str | None = None, ok_headers: dict | None = None, security: list | None = None) -> dict:
    """One operation: its success response and the error statuses it can answer
    (`errors`: the status codes, e.g. "400 401 403 404")."""
    status, text, schema = ok
    success: dict = {"description": text}
    if schema is not None:
        success.update(_json(schema))
    if ok_headers:
        success["headers"] = ok_headers
    out: dict = {"operationId": op_id, "summary": summary, "tags": tags}
    if description:
        out["description"] = description
    if params:
        out["parameters"] = params
    if body is not None:
        out["requestBody"] = {"required": body_required, **_json(body)}
    out["responses"] = {status: success, **{code: {"$ref": f"#/components/responses/{ERROR_RESPONSES[code][0]}"}
                                            for code in errors.split()}}
    if security is not None:
        out["security"] = security
    return out


def _param(name: str, where: str, schema: dict, description: str, required: bool | None = None) -> dict:
    out = {"name": name, "in": where, "description": description, "schema": schema}
    if required or where == "path":
        out["required"] = True
    return out


P = "#/components/parameters/"
ETAG = {"ETag": {"$ref": "#/components/headers/ETag"}}
LOCATION = {"Location": {"$ref": "#/components/headers/Location"}}
AUTH = "401 403 429 503"


def components_parameters() -> dict:
    return {
        "id": _param("id", "path", UUID, "The record's id."),
        "table": _param("table", "path", {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"}, "A table's slug."),
        "column": _param("column", "path", {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"}, "A column's name."),
        "slug": _param("slug", "path", {"type": "string"}, "A report's or dashboard's slug."),
        "version": _param("n", "path", {"type": "integer", "minimum": 1}, "A version number of the record."),
        "If-Match": _param("If-Match", "header", {"type": "string"},
                           "The version this change expects: the ETag a read gave (`\"3\"`; `W/\"3\"` is "
                           "taken the same, `*` checks nothing). 412 (40001) when the record has another."),
        "If-None-Match": _param("If-None-Match", "header", {"type": "string"},
                                "An ETag: 304 without a body when the record is still at that version."),
        "fields": _param("fields", "query", {"type": "string"},
                         "Comma-separated paths (`name,category_id.name`); default every readable column. "
                         "Rows then carry only those keys, so they need not match the record schema."),
        "filter": {"name": "filter", "in": "query", "description": "A filters object as JSON "
                                                                   "(`{\"price\":{\"gt\":10}}`).",
                   "content": {"application/json": {"schema": ref("Filters")}}},
        "search": _param("search", "query", {"type": "string"}, "Full-text search over the searchable columns."),
        "sort": _param("sort", "query", {"type": "string"}, "Comma-separated paths, `-` for descending (`-price,name`)."),
        "limit": _param("limit", "query", {"type": "integer", "minimum": 0, "maximum": 1000, "default": 50},
                        "At most this many rows."),
        "offset": _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "Skip this many rows."),
        "count": _param("count", "query", {"type": "string", "enum": ["exact", "estimated", "none"], "default": "exact"},
                        "How `total` is computed."),
        "params": {"name": "params", "in": "query", "style": "form", "explode": True,
                   "schema": {"type": "object", "additionalProperties": {"type": "string"}},
                   "description": "The report's params, one query parameter each: `since=2026-01-01` "
                                  "(the database converts the text to the param's type), `tags[]=a&tags[]=b` "
                                  "for a list."},
        "Last-Event-ID": _param("Last-Event-ID", "header", {"type": "string", "pattern": "^[0-9v.:,]+$"},
                                "Go on after this event: the last `id:` received (browsers send it when "
                                "they reconnect); without it the stream starts from now."),
    }


def _p(name: str) -> dict:
    return {"$ref": P + name}


def table_paths(table: dict) -> dict[str, dict]:
    """Every /api/records/<slug>... path of one table."""
    slug, name = table["slug"], pascal(table["slug"])
    tag = [f"records: {slug}"]
    base = f"/api/records/{slug}"
    record = ref(f"{name}Record")
    paths: dict[str, dict] = {}
    create = ref(f"{name}Create")
    paths[base] = {
        "get": operation(f"list{name}Records", f"List records of {slug}", tag, ("200", "A page of records", ref(f"{name}Page")),
                         "400 404 " + AUTH, params=[_p(p) for p in ("fields", "filter", "search", "sort", "limit",
                                                                     "offset", "count")],
                         ok_headers={"X-Total-Count": {"$ref": "#/components/headers/X-Total-Count"},
                                     "Content-Range": {"$ref": "#/components/headers/Content-Range"}}),
        "post": operation(f"create{name}Record", f"Create a record of {slug} (or several)", tag,
                          ("201", "The stored record (an array of them for an array)",
                           {"oneOf": [record, {"type": "array", "items": record}]}), "400 404 409 " + AUTH,
                          body={"oneOf": [create, {"type": "array", "items": create}]},
                          description="An object creates one record (create_record); an array creates "
                                      "several, all or nothing (create_records).",
                          ok_headers={**ETAG, "Location": {"$ref": "#/components/headers/Location"}})}
    update = ref(f"{name}Update")
    read = operation(f"get{name}Record", f"Read a record of {slug}", tag, ("200", "The record", record),
                     "400 404 " + AUTH, params=[_p("If-None-Match")], ok_headers=ETAG)
    read["responses"]["304"] = {"description": "Not modified: If-None-Match names the current version.",
                                "headers": ETAG}
    paths[f"{base}/{{id}}"] = {
        "parameters": [_p("id")],
        "get": read,
        "put": operation(f"replace{name}Record", f"Update a record of {slug} (the fields given)", tag,
                         ("200", "The record now", record), "400 404 409 412 " + AUTH, params=[_p("If-Match")],
                         body=update, ok_headers=ETAG),
        "patch": operation(f"update{name}Record", f"Update a record of {slug} (the fields given)", tag,
                           ("200", "The record now", record), "400 404 409 412 " + AUTH, params=[_p("If-Match")],
                           body=update, ok_headers=ETAG),
        "delete": operation(f"delete{name}Record", f"Delete a record of {slug}", tag, ("200", "The deleted record", record),
                            "400 404 409 412 " + AUTH, params=[_p("If-Match")])}
    specs = {"table": ("QuerySpec", "QueryTableResult"), "kanban": ("KanbanSpec", "KanbanResult"),
             "tree": ("TreeSpec", "TreeResult"), "gantt": ("GanttSpec", "GanttResult"),
             "dropdown": ("DropdownSpec", "DropdownResult"), "breadcrumb": ("BreadcrumbSpec", "BreadcrumbResult"),
             "calendar": ("CalendarSpec", "CalendarResult")}
    for kind in QUERY_KINDS:
        spec, result = specs[kind]
        paths[f"{base}/query/{kind}"] = {"post": operation(
            f"query{name}{kind.capitalize()}", f"Query {slug} ({'query_' + kind})", tag,
            ("200", f"The result of query_{kind}", ref(result)), "400 404 " + AUTH, body=ref(spec))}
    paths[f"{base}/stats/agg"] = {"post": operation(
        f"aggregate{name}", f"Aggregate {slug}", tag, ("200", "The groups", ref("AggregateResult")),
        "400 404 " + AUTH, body=ref("AggregateSpec"))}
    paths[f"{base}/{{id}}/history"] = {"parameters": [_p("id")], "get": operation(
        f"history{name}Record", f"The audit history of a record of {slug}", tag,
        ("200", "Its audit entries, oldest first", {"type": "array", "items": ref("AuditEntry")}), "400 404 " + AUTH)}
    paths[f"{base}/{{id}}/versions/{{n}}"] = {"parameters": [_p("id"), _p("version")], "get": operation(
        f"version{name}Record", f"A record of {slug} as it was at version n", tag,
        ("200", "The record as it was", record), "400 404 " + AUTH)}
    paths[f"{base}/{{id}}/rollback"] = {"parameters": [_p("id")], "post": operation(
        f"rollback{name}Record", f"Roll a record of {slug} back to a version", tag,
        ("200", "The record now (a new version)", record), "400 404 409 " + AUTH, body=ref("Rollback"),
        ok_headers=ETAG)}
    paths[f"{base}/{{id}}/restore"] = {"parameters": [_p("id")], "post": operation(
        f"restore{name}Record", f"Bring a deleted record of {slug} back", tag,
        ("200", "The record, same id", record), "400 404 409 " + AUTH, ok_headers=ETAG)}
    transitions = sorted({t["name"] for w in table.get("workflows") or [] for t in w.get("transitions") or []
                          if t.get("name")})
    name_schema: dict = {"type": "string"}
    if transitions:
        name_schema["enum"] = transitions
    paths[f"{base}/{{id}}/transitions/{{name}}"] = {
        "parameters": [_p("id"), _param("name", "path", name_schema, "The transition's name.")],
        "post": operation(f"transition{name}Record", f"Make a workflow transition on a record of {slug}", tag,
                          ("200", "The state now", ref("TransitionResult")), "400 404 " + AUTH,
                          body=ref("Transition"), body_required=False)}
    return paths


def common_paths() -> dict[str, dict]:
    s, r, d = ["schemas"], ["reports"], ["dashboards"]
    table_list = {"type": "array", "items": ref("Table")}
    return {
        "/api/schemas": {
            "get": operation("listTables", "The tables the key may read", s, ("200", "Their descriptions", table_list),
                             AUTH),
            "post": operation("createTable", "Create a table", s, ("201", "The new table", ref("Table")),
                              "400 409 " + AUTH, body=ref("TableSpec"), ok_headers=LOCATION)},
        "/api/schemas/{table}": {
            "parameters": [_p("table")],
            "get": operation("describeTable", "Describe a table", s, ("200", "The table", ref("Table")), "404 " + AUTH),
            "put": operation("alterTable", "Change a table's name or description", s,
                             ("200", "The table", ref("Table")), "400 404 " + AUTH, body=ref("TablePatch")),
            "delete": operation("dropTable", "Drop a table", s, ("204", "Dropped", None), "404 409 " + AUTH)},
        "/api/schemas/{table}/columns": {
            "parameters": [_p("table")],
            "post": operation("addColumn", "Add a column", s, ("201", "The table", ref("Table")), "400 404 409 " + AUTH,
                              body=ref("ColumnSpec"), ok_headers=LOCATION)},
        "/api/schemas/{table}/columns/{column}": {
            "parameters": [_p("table"), _p("column")],
            "patch": operation("alterColumn", "Change a column (a new `name` renames it; a new type converts "
                                              "the data)", s,
                               ("200", "The table", ref("Table")), "400 404 409 " + AUTH, body=ref("ColumnPatch")),
            "delete": operation("dropColumn", "Drop a column", s, ("200", "The table", ref("Table")),
                                "400 404 409 " + AUTH)},
        "/api/reports": {
            "get": operation("listReports", "The saved reports", r,
                             ("200", "The reports", {"type": "array", "items": ref("Report")}), AUTH),
            "post": operation("saveReport", "Save a report (a saved slug is replaced)", r,
                              ("200", "The report", ref("Report")), "400 404 " + AUTH, body=ref("Report"))},
        "/api/reports/{slug}": {
            "parameters": [_p("slug")],
            "delete": operation("dropReport", "Drop a report", r, ("204", "Dropped", None), "404 " + AUTH)},
        "/api/reports/{slug}/run": {
            "parameters": [_p("slug")],
            "get": operation("runReport", "Run a report", r, ("200", "Its result", ref("ReportRun")), "400 404 " + AUTH,
                             params=[_p("params")])},
        "/api/dashboards": {
            "get": operation("listDashboards", "The saved dashboards", d,
                             ("200", "The dashboards", {"type": "array", "items": ref("DashboardSummary")}), AUTH),
            "post": operation("saveDashboard", "Save a dashboard", d, ("200", "The dashboard", ref("Dashboard")),
                              "400 404 " + AUTH, body=ref("Dashboard"))},
        "/api/dashboards/{slug}": {
            "parameters": [_p("slug")],
            "get": operation("getDashboard", "A dashboard with each widget's data", d,
                             ("200", "The dashboard", ref("Dashboard")), "400 404 " + AUTH, params=[_p("params")]),
            "delete": operation("dropDashboard", "Drop a dashboard", d, ("204", "Dropped", None), "404 " + AUTH)},
        "/api/files": {
            "post": operation("registerFile", "Register a file's metadata (the same sha256 returns the same file)",
                              ["files"], ("200", "The file", ref("File")), "400 " + AUTH, body=ref("FileSpec"))},
        "/api/events": {
            "get": {"operationId": "events", "summary": "The company's events as Server-Sent Events", "tags": ["events"],
                    "description": "Each change is an SSE block `event: change` whose `data:` is an Event "
                                   "object and whose `id:` is an opaque cursor; only events whose record "
                                   "the key may read are sent. Reconnect with Last-Event-ID (the last "
                                   "`id:` received) to go on from the outbox. `event: reconnect` asks a "
                                   "client that fell behind to reconnect; `event: error` (an Error as "
                                   "data) ends the stream, e.g. when the key is revoked.",
                    "parameters": [_p("Last-Event-ID")],
                    "responses": {"200": {"description": "A stream of events",
                                          "content": {"text/event-stream": {"schema": {"type": "string"},
                                                                            "x-docpal-event": ref("Event")}}},
                                  **{c: {"$ref": f"#/components/responses/{ERROR_RESPONSES[c][0]}"}
                                     for c in ("400", *AUTH.split())}}}},
        "/api/openapi.json": {
            "get": operation("openapi", "This document, for the key's company", ["meta"],
                             ("200", "An OpenAPI 3.1 document", {"type": "object"}), AUTH)},
        "/api/docs": {
            "get": {"operationId": "docs", "summary": "This document as a web page (asks for the API key)",
                    "tags": ["meta"], "security": [],
                    "responses": {"200": {"description": "An HTML page",
                                          "content": {"text/html": {"schema": {"type": "string"}}}}}}},
        "/healthz": {"get": {"operationId": "healthz", "summary": "The server process answers", "tags": ["meta"],
                             "security": [], "responses": {"200": {"description": "Alive", **_json(_obj({
                                 "status": {"type": "string"}, "version": {"type": "string"}}))}}}},
        "/readyz": {"get": {"operationId": "readyz", "summary": "The database answers and needs no migration",
                            "tags": ["meta"], "security": [],
                            "responses": {"200": {"description": "Ready", **_json({"type": "object"})},
                                          "503": {"description": "Not ready (Retry-After)",
                                                  **_json({"type": "object"})}}}},
    }


def document(company: dict | None, tables: list[dict]) -> dict:
    """The OpenAPI 3.1 document of a company, from what list_tables showed the caller."""
    company = company or {}
    schemas = shared_schemas()
    paths = common_paths()
    tags = [{"name": "schemas", "description": "Tables and columns."}]
    for table in sorted(tables, key=lambda t: t["slug"]):
        schemas.update(table_schemas(table))
        paths.update(table_paths(table))
        label = table.get("name") or table["slug"]
        tags.append({"name": f"records: {table['slug']}",
                     "description": f"{label}{': ' + table['description'] if table.get('description') else ''}"})
    tags += [{"name": n} for n in ("reports", "dashboards", "files", "events", "meta")]
    responses = {name: {"description": text, **_json(ref("Error"))} for name, text in ERROR_RESPONSES.values()}
    for name in ("TooManyRequests", "ServiceUnavailable"):
        responses[name]["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    title = company.get("name") or company.get("slug") or "docpal"
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": f"docpal API: {title}", "version": __version__,
                 "description": "The HTTP API of docpal for this company, as the API key's user sees it: "
                                "only the tables and columns it may read. Every request takes "
                                "`Authorization: Bearer <api key>`.",
                 "x-docpal-company": {"id": company.get("id"), "slug": company.get("slug")}},
        "security": [{"bearer": []}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API key of the company (create_api_key)."}},
            "schemas": schemas,
            "parameters": components_parameters(),
            "headers": {
                "ETag": {"description": "The record's version as an entity tag (`\"3\"`): send it back in "
                                        "If-Match to update only that version.", "schema": {"type": "string"}},
                "Retry-After": {"description": "Seconds to wait before trying again.",
                                "schema": {"type": "integer", "minimum": 0}},
                "Location": {"description": "The path of what was created.", "schema": {"type": "string"}},
                "X-Total-Count": {"description": "The total, when it was counted (count=exact or estimated).",
                                  "schema": {"type": "integer"}},
                "Content-Range": {"description": "`first-last/total` of the rows sent (`*` for what is unknown).",
                                  "schema": {"type": "string"}}},
            "responses": responses,
        },
    }


# --- routes ---------------------------------------------------------------------------------


async def openapi_json(request: Request) -> Response:
    async with tenant(request) as tx:
        found = await tx.json("select pg_catalog.jsonb_build_object('company', docpal.get_company(%s), "
                              "'tables', docpal.list_tables())", (tx.company_id,))
    return JSONResponse(document(found["company"], found["tables"]),
                        headers={"Cache-Control": "private, no-store", "Vary": "Authorization"})


#: The page allows only its own scripts, styles and requests.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _static(name: str) -> bytes:
    return resources.files("docpal.server").joinpath("static", name).read_bytes()


async def docs_page(request: Request) -> Response:
    return Response(_static("docs.html"), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache",
                             "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"})


def routes() -> list[BaseRoute]:
    return [Route("/api/openapi.json", openapi_json, methods=["GET"]),
            Route("/api/docs", docs_page, methods=["GET"])]

