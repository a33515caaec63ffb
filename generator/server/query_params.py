"""Query strings as docpal specs, checked before any SQL runs.

``GET /api/records/{table}`` takes PostgREST-like parameters and turns them
into a ``query_table`` spec (contract sections 4 and 12)::

    fields=name,category_id.name      -> "columns": ["name", "category_id.name"]
    filter={"price": {"gt": 10}}      -> "filters": {...}   (a JSON object, passed on as written)
    search=phone                      -> "search": "phone"
    sort=-price,name                  -> "sort": ["-price", "name"]
    limit=20 / offset=40              -> "limit": 20 / "offset": 40
    count=exact|estimated|none        -> "count": "..."

Only the parameters given go into the spec, so query_table's defaults hold
(limit 50, count exact). Anything else (an unknown or repeated parameter, a
limit that is not a whole number, a filter that is not a JSON object, an
empty path) is 22023 before any SQL: the database still checks paths,
operators and values (42703, 22023).

``GET /api/reports/{slug}/run`` and ``GET /api/dashboards/{slug}`` take the
report's params: ``name=value`` is the string ``"value"`` (the database
converts it to the param's type, as a CLI ``--param name=value`` on a text
param), ``name[]=a&name[]=b`` an array (list params: multi_select,
relation_many), even with one item.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from .errors import ApiError, too_deep

LIST_PARAMS = ("fields", "filter", "search", "sort", "limit", "offset", "count")
COUNTS = ("exact", "estimated", "none")
_WHOLE = re.compile(r"[0-9]{1,9}")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def strict_json(text: str, what: str = "the JSON"):
    """json.loads without NaN and Infinity (PostgreSQL's jsonb has neither).
    ValueError when it is not JSON; ApiError 54000 when it is nested deeper
    than Python parses (a size limit, never a 500)."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise too_deep(what) from None


def _paths(name: str, value: str) -> list[str]:
    items = [item.strip() for item in value.split(",")]
    if not value.strip() or any(not item for item in items):
        raise ApiError("22023", f"query parameter {name}: a comma-separated list of paths, none empty",
                       hint=f"{name}=name,category_id.name")
    return items


def _whole(name: str, value: str) -> int:
    if not _WHOLE.fullmatch(value):
        raise ApiError("22023", f"query parameter {name}: {value[:40]!r} is not a whole number")
    return int(value)


def list_spec(items: Iterable[tuple[str, str]]) -> tuple[str, int]:
    """The query_table spec (JSON text) of GET /api/records/{table}'s query
    string, and the offset asked for (for Content-Range). ApiError 22023 for
    anything malformed."""
    seen: dict[str, str] = {}
    for name, value in items:
        if name not in LIST_PARAMS:
            raise ApiError("22023", f"unknown query parameter {name[:60]!r}",
                           hint="GET /api/records/{table} takes " + ", ".join(LIST_PARAMS))
        if name in seen:
            raise ApiError("22023", f"query parameter {name} is given twice")
        seen[name] = value
    parts: list[str] = []
    if "fields" in seen:
        parts.append('"columns": ' + json.dumps(_paths("fields", seen["fields"])))
    if "filter" in seen:
        try:
            filters = strict_json(seen["filter"], "query parameter filter")
        except ValueError:
            raise ApiError("22023", "query parameter filter is not valid JSON",
                           hint='filter={"price": {"gt": 10}} (URL-encoded)') from None
        if not isinstance(filters, dict):
            raise ApiError("22023", "query parameter filter must be a JSON object",
                           hint='filter={"price": {"gt": 10}} (URL-encoded)')
        parts.append('"filters": ' + seen["filter"])  # as written: numbers keep their digits
    if "search" in seen:
        parts.append('"search": ' + json.dumps(seen["search"]))
    if "sort" in seen:
        parts.append('"sort": ' + json.dumps(_paths("sort", seen["sort"])))
    offset = 0
    if "limit" in seen:
        parts.append(f'"limit": {_whole("limit", seen["limit"])}')
    if "offset" in seen:
        offset = _whole("offset", seen["offset"])
        parts.append(f'"offset": {offset}')
    if "count" in seen:
        if seen["count"] not in COUNTS:
            raise ApiError("22023", f"query parameter count: {seen['count'][:40]!r} is not one of "
                           + ", ".join(COUNTS))
        parts.append(f'"count": "{seen["count"]}"')
    return "{" + ", ".join(parts) + "}", offset


def report_params(items: Iterable[tuple[str, str]]) -> str:
    """A report's or dashboard's params (JSON text) from a query string:
    name=value as a string, name[]=value (repeatable) as an array. 22023 for
    a name given twice without [] or both with and without []."""
    out: dict[str, str | list[str]] = {}
    for name, value in items:
        listed = name.endswith("[]")
        key = name[:-2] if listed else name
        if not key:
            raise ApiError("22023", "a report param needs a name: name=value or name[]=value")
        if listed:
            current = out.setdefault(key, [])
            if not isinstance(current, list):
                raise ApiError("22023", f"param {key!r} is given both as {key} and as {key}[]")
            current.append(value)
        elif key in out:
            raise ApiError("22023", f"param {key!r} is given twice",
                           hint=f"A list param is written {key}[]=a&{key}[]=b.")
        else:
            out[key] = value
    return json.dumps(out, ensure_ascii=False)
