"""REST routes of a company's tables and columns (contract sections 2 and 12).

    GET    /api/schemas                              list_tables()
    POST   /api/schemas                              create_table(body)          201
    GET    /api/schemas/{table}                      describe_table(table)
    PUT    /api/schemas/{table}                      alter_table(table, body)
    DELETE /api/schemas/{table}                      drop_table(table)           204
    POST   /api/schemas/{table}/columns              add_column(table, body)     201
    PATCH  /api/schemas/{table}/columns/{column}     alter_column (rename_column first when
                                                     the body renames it)
    DELETE /api/schemas/{table}/columns/{column}     drop_column(table, column)
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .api_util import json_body, route, row
from .app import json_text, tenant
from .errors import ApiError


async def list_schemas(request: Request) -> Response:
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.list_tables()"))


async def create_schema(request: Request) -> Response:
    _, spec = await json_body(request)
    async with tenant(request) as tx:
        result, slug = await row(tx, "select r, r->>'slug' from docpal.create_table(%s::jsonb) r", (spec,))
    return json_text(result, 201, {"Location": f"/api/schemas/{quote(slug or '')}"})


async def get_schema(request: Request) -> Response:
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.describe_table(%s)", (request.path_params["table"],)))


async def alter_schema(request: Request) -> Response:
    _, patch = await json_body(request)
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.alter_table(%s, %s::jsonb)",
                                        (request.path_params["table"], patch)))


async def drop_schema(request: Request) -> Response:
    async with tenant(request) as tx:
        await tx.value("select docpal.drop_table(%s)", (request.path_params["table"],))
    return Response(status_code=204)


async def add_column(request: Request) -> Response:
    _, column = await json_body(request)
    table = request.path_params["table"]
    async with tenant(request) as tx:
        result = await tx.value("select docpal.add_column(%s, %s::jsonb)", (table, column))
    return json_text(result, 201, {"Location": f"/api/schemas/{quote(table)}"})


async def alter_column(request: Request) -> Response:
    """alter_column with the body. A body whose "name" differs from the
    column renames it first (rename_column), then alters the rest under the
    new name, in the same transaction: both happen or neither."""
    patch, text = await json_body(request)
    table, column = request.path_params["table"], request.path_params["column"]
    new_name = patch.get("name", column)
    if not isinstance(new_name, str):
        raise ApiError("22023", "a column's name is a string")
    async with tenant(request) as tx:
        if new_name == column:
            return json_text(await tx.value("select docpal.alter_column(%s, %s, %s::jsonb)", (table, column, text)))
        result = await tx.value("select docpal.rename_column(%s, %s, %s)", (table, column, new_name))
        rest = {key: value for key, value in patch.items() if key != "name"}
        if rest:
            # the rest as the client wrote it, less "name" (in SQL: numbers keep their digits)
            result = await tx.value("select docpal.alter_column(%s, %s, %s::jsonb - 'name')",
                                    (table, new_name, text))
        return json_text(result)


async def drop_column(request: Request) -> Response:
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.drop_column(%s, %s)",
                                        (request.path_params["table"], request.path_params["column"])))


def routes() -> list[BaseRoute]:
    return [
        route("/api/schemas", GET=list_schemas, POST=create_schema),
        route("/api/schemas/{table}", GET=get_schema, PUT=alter_schema, DELETE=drop_schema),
        route("/api/schemas/{table}/columns", POST=add_column),
        route("/api/schemas/{table}/columns/{column}", PATCH=alter_column, DELETE=drop_column),
    ]
