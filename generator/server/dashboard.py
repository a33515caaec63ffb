"""The dashboard page (contract section 12, "Pages"; docs/http.md "The
dashboard page").

``GET /app/dashboards/{slug}`` is a static page: it asks for an API key,
keeps it in the tab's sessionStorage and fetches
``GET /app/dashboards/{slug}/charts`` with ``Authorization: Bearer``. That
route is one API transaction (``authenticate(key, true)``, the Host check)
calling ``get_dashboard(slug, params)`` and ``list_reports()`` (each widget's
report kind and spec), and answers the widgets drawn by :mod:`.charts` as an
HTML fragment (text/html). ``?params=`` is get_dashboard's params, a JSON
object.
"""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from . import charts
from .admin import NO_STORE, page
from .app import tenant
from .errors import ApiError
from .query_params import strict_json

_SLUG = re.compile(r"[a-z][a-z0-9_]{0,62}")
MAX_PARAMS = 8192


def _slug(request: Request) -> str:
    slug = request.path_params["slug"]
    if not _SLUG.fullmatch(slug):
        raise ApiError("22023", f"{slug[:80]!r} is not a dashboard slug",
                       hint="A dashboard slug is a lower-case letter, then up to 62 letters, digits or underscores.")
    return slug


async def dashboard_page(request: Request) -> Response:
    return page("dashboard.html")


async def dashboard_charts(request: Request) -> Response:
    slug = _slug(request)
    raw = request.query_params.get("params", "{}")
    if len(raw) > MAX_PARAMS:
        raise ApiError("54000", f"params is over {MAX_PARAMS} characters")
    try:
        params = strict_json(raw, "params")
    except ValueError as exc:
        raise ApiError("22023", f"params is not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise ApiError("22023", "params must be a JSON object")
    async with tenant(request) as tx:
        board = await tx.json("select docpal.get_dashboard(%s, %s::jsonb)", (slug, json.dumps(params)))
        reports = await tx.json("select docpal.list_reports()")
    # a fragment the page puts in place; opened on its own it may run and load nothing
    return HTMLResponse(charts.render_dashboard(board, reports),
                        headers={**NO_STORE, "X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"})


def routes() -> list[BaseRoute]:
    return [
        Route("/app/dashboards/{slug}", dashboard_page, methods=["GET"]),
        Route("/app/dashboards/{slug}/charts", dashboard_charts, methods=["GET"]),
    ]
