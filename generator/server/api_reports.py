"""REST routes of reports and dashboards (contract sections 11 and 12).

    GET    /api/reports                  list_reports()
    POST   /api/reports                  save_report(body)         (create or replace: 200)
    GET    /api/reports/{slug}/run       run_report(slug, <query string>)
    DELETE /api/reports/{slug}           drop_report(slug)         204
    GET    /api/dashboards               list_dashboards()
    POST   /api/dashboards               save_dashboard(body)      (create or replace: 200)
    GET    /api/dashboards/{slug}        get_dashboard(slug, <query string>)
    DELETE /api/dashboards/{slug}        drop_dashboard(slug)      204

The query string of a run or a dashboard is the params: `?team=a&since=2026-01-01`
(strings the database converts to each param's type), `?tags[]=a&tags[]=b` for a
list param (query_params.report_params).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .api_util import json_body, route
from .app import json_text, tenant
from .query_params import report_params


async def list_reports(request: Request) -> Response:
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.list_reports()"))


async def save_report(request: Request) -> Response:
    _, spec = await json_body(request)
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.save_report(%s::jsonb)", (spec,)))


async def run_report(request: Request) -> Response:
    params = report_params(request.query_params.multi_items())
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.run_report(%s, %s::jsonb)",
                                        (request.path_params["slug"], params)))


async def drop_report(request: Request) -> Response:
    async with tenant(request) as tx:
        await tx.value("select docpal.drop_report(%s)", (request.path_params["slug"],))
    return Response(status_code=204)


async def list_dashboards(request: Request) -> Response:
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.list_dashboards()"))


async def save_dashboard(request: Request) -> Response:
    _, spec = await json_body(request)
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.save_dashboard(%s::jsonb)", (spec,)))


async def get_dashboard(request: Request) -> Response:
    params = report_params(request.query_params.multi_items())
    async with tenant(request) as tx:
        return json_text(await tx.value("select docpal.get_dashboard(%s, %s::jsonb)",
                                        (request.path_params["slug"], params)))


async def drop_dashboard(request: Request) -> Response:
    async with tenant(request) as tx:
        await tx.value("select docpal.drop_dashboard(%s)", (request.path_params["slug"],))
    return Response(status_code=204)


def routes() -> list[BaseRoute]:
    return [
        route("/api/reports", GET=list_reports, POST=save_report),
        route("/api/reports/{slug}/run", GET=run_report),
        route("/api/reports/{slug}", DELETE=drop_report),
        route("/api/dashboards", GET=list_dashboards, POST=save_dashboard),
        route("/api/dashboards/{slug}", GET=get_dashboard, DELETE=drop_dashboard),
    ]
