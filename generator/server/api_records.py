"""REST routes of a company's records (contract sections 3 to 5, 7 and 12).

    GET    /api/records/{table}                           query_table(table, <query string>)
    POST   /api/records/{table}                           create_record (object) / create_records (array)  201
    GET    /api/records/{table}/{id}                      get_record (null: 404 P0002)
    PUT    /api/records/{table}/{id}                      update_record(table, id, body, If-Match)
    PATCH  /api/records/{table}/{id}                      update_record(table, id, body, If-Match)
    DELETE /api/records/{table}/{id}                      delete_record (If-Match checked, see below)
    POST   /api/records/{table}/query/{kind}              query_<kind>(table, body)
    POST   /api/records/{table}/stats/agg                 aggregate(table, body)
    GET    /api/records/{table}/{id}/history              record_history
    GET    /api/records/{table}/{id}/versions/{n}         record_version (null: 404 P0002)
    POST   /api/records/{table}/{id}/rollback             rollback_record(table, id, version, columns)
    POST   /api/records/{table}/{id}/restore              restore_record
    POST   /api/records/{table}/{id}/transitions/{name}   transition_record(table, id, name, comment)
    POST   /api/files                                     register_file(body)

A record's ETag is its version ("3"); If-Match is update_record's
expected_version (412 on 40001). delete_record takes no expected version: a
DELETE with If-Match deletes, reads the version the deleted row had (the
row was locked by the delete, so no one changed it in between) and rolls the
whole transaction back with 412 when it is not the one asked for.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .api_util import etag, if_match, json_body, none_match, record_id, route, row, whole_number
from .app import json_text, tenant
from .errors import ApiError
from .query_params import list_spec

#: POST /api/records/{table}/query/{kind}: the query function of each kind
#: (a fixed statement per kind; nothing from the path is spliced into SQL)
QUERIES = {kind: f"select docpal.query_{kind}(%s, %s::jsonb)"
           for kind in ("table", "kanban", "tree", "gantt", "dropdown", "breadcrumb", "calendar")}


def _missing(table: str, rid: str) -> ApiError:
    return ApiError("P0002", f"record {rid} of table {table} does not exist")


def _location(table: str, rid: str | None) -> dict:
    return {} if rid is None else {"Location": f"/api/records/{quote(table)}/{rid}"}


# --- the collection ------------------------------------------------------------------

async def list_records(request: Request) -> Response:
    """query_table with the query string's spec. Headers: X-Total-Count (the
    total, when counted) and Content-Range `first-last/total` (PostgREST's;
    `*` for what is unknown)."""
    spec, offset = list_spec(request.query_params.multi_items())
    async with tenant(request) as tx:
        result, total, n = await row(
            tx, "select r, r->>'total', pg_catalog.jsonb_array_length(r->'rows') "
                "from docpal.query_table(%s, %s::jsonb) r", (request.path_params["table"], spec))
    headers = {"Content-Range": (f"{offset}-{offset + n - 1}" if n else "*") + f"/{total or '*'}"}
    if total is not None:
        headers["X-Total-Count"] = total
    return json_text(result, headers=headers)


async def create_records(request: Request) -> Response:
    value, body = await json_body(request, dict, list)
    table = request.path_params["table"]
    async with tenant(request) as tx:
        if isinstance(value, list):
            return json_text(await tx.value("select docpal.create_records(%s, %s::jsonb)", (table, body)), 201)
        result, rid, version = await row(
            tx, "select r, r->>'id', r->>'version' from docpal.create_record(%s, %s::jsonb) r", (table, body))
    return json_text(result, 201, {**_location(table, rid), **etag(version)})


# --- one record ----------------------------------------------------------------------

async def get_record(request: Request) -> Response:
    table, rid = request.path_params["table"], record_id(request.path_params["id"])
    async with tenant(request) as tx:
        result, version = await row(tx, "select r, r->>'version' from docpal.get_record(%s, %s::uuid) r", (table, rid))
    if result is None:
        raise _missing(table, rid)
    if none_match(request, version):
        return Response(status_code=304, headers=etag(version))
    return json_text(result, headers=etag(version))


async def update_record(request: Request) -> Response:
    """PUT and PATCH alike: the fields given change, the others stay."""
    table, rid = request.path_params["table"], record_id(request.path_params["id"])
    expected = if_match(request)
    _, patch = await json_body(request)
    async with tenant(request) as tx:
        result, version = await row(
            tx, "select r, r->>'version' from docpal.update_record(%s, %s::uuid, %s::jsonb, %s::integer) r",
            (table, rid, patch, expected))
    return json_text(result, headers=etag(version))


async def delete_record(request: Request) -> Response:
    table, rid = request.path_params["table"], record_id(request.path_params["id"])
    expected = if_match(request)
    async with tenant(request) as tx:
        result, version = await row(tx, "select r, r->>'version' from docpal.delete_record(%s, %s::uuid) r",
                                    (table, rid))
        if expected is not None and version != str(expected):
            # raised inside the transaction: the delete is rolled back
            raise ApiError("40001", f"record {rid} of table {table} is at version {version or 'unknown'}, "
                                    f"not {expected}", hint="Read the record again for its ETag.")
    return json_text(result)


# --- queries -------------------------------------------------------------------------

async def query_records(request: Request) -> Response:
    statement = QUERIES.get(request.path_params["kind"])
    if statement is None:
        raise HTTPException(404)
    _, spec = await json_body(request)
    async with tenant(request) as tx:
        return json_text(await tx.value(statement, (request.path_params["table"], spec)))


async def aggregate(request: Request) -> Response:
    _, spec = await json_body(request)
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.aggregate(%s, %s::jsonb)", (request.path_params["table"], spec)))


# --- history, versions, workflows ------------------------------------------------------

async def history(request: Request) -> Response:
    table, rid = request.path_params["table"], record_id(request.path_params["id"])
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.record_history(%s, %s::uuid)", (table, rid)))


async def version(request: Request) -> Response:
    table, rid = request.path_params["table"], record_id(request.path_params["id"])
    n = whole_number(request.path_params["n"], "version")
    async with tenant(request) as tx:
        result = await tx.value("select docpal.record_version(%s, %s::uuid, %s)", (table, rid, n))
    if result is None:
        raise ApiError("P0002", f"record {rid} of table {table} has no version {n}")
    return json_text(result)


async def rollback(request: Request) -> Response:
    """Body {version, columns?}: the record as it was at `version` (only
    `columns` when given), as a new version."""
    table, rid = request.path_params["table"], record_id(request.path_params["id"])
    body, _ = await json_body(request)
    unknown = sorted(set(body) - {"version", "columns"})
    if unknown:
        raise ApiError("22023", f"unknown key {unknown[0][:60]!r} in a rollback",
                       hint='{"version": 2, "columns": ["price"]}')
    target, columns = body.get("version"), body.get("columns")
    if isinstance(target, bool) or not isinstance(target, int):
        raise ApiError("22023", "a rollback names the version to go back to: {\"version\": 2}")
    if columns is not None and not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        raise ApiError("22023", "columns is an array of column names")
    if not -2147483648 <= target <= 2147483647:
        raise ApiError("22023", f"version {target} is out of range")
    async with tenant(request) as tx:
        result, now = await row(
            tx, "select r, r->>'version' from docpal.rollback_record(%s, %s::uuid, %s::integer, %s::text[]) r",
            (table, rid, target, columns))
    return json_text(result, headers=etag(now))


async def restore(request: Request) -> Response:
    table, rid = request.path_params["table"], record_id(request.path_params["id"])
    await json_body(request, required=False)  # none expected; a malformed one is still 400
    async with tenant(request) as tx:
        result, now = await row(tx, "select r, r->>'version' from docpal.restore_record(%s, %s::uuid) r",
                                (table, rid))
    return json_text(result, headers=etag(now))


async def transition(request: Request) -> Response:
    """Body {comment?} (or none)."""
    table, rid = request.path_params["table"], record_id(request.path_params["id"])
    body, _ = await json_body(request, required=False)
    body = body or {}
    unknown = sorted(set(body) - {"comment"})
    if unknown:
        raise ApiError("22023", f"unknown key {unknown[0][:60]!r} in a transition", hint='{"comment": "approved"}')
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ApiError("22023", "comment is a string")
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.transition_record(%s, %s::uuid, %s, %s)",
                                        (table, rid, request.path_params["name"], comment)))


async def register_file(request: Request) -> Response:
    """The file's metadata only: docpal stores no bytes (the storage_key says
    where the application put them)."""
    _, spec = await json_body(request)
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.register_file(%s::jsonb)", (spec,)))


def routes() -> list[BaseRoute]:
    base, one = "/api/records/{table}", "/api/records/{table}/{id}"
    return [
        route(base, GET=list_records, POST=create_records),
        route(one, GET=get_record, PUT=update_record, PATCH=update_record, DELETE=delete_record),
        route(base + "/query/{kind}", POST=query_records),
        route(base + "/stats/agg", POST=aggregate),
        route(one + "/history", GET=history),
        route(one + "/versions/{n}", GET=version),
        route(one + "/rollback", POST=rollback),
        route(one + "/restore", POST=restore),
        route(one + "/transitions/{name}", POST=transition),
        route("/api/files", POST=register_file),
    ]
