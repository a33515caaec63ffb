"""The Starlette application of ``docpal serve``."""

from __future__ import annotations

import hmac
import json
import logging
import os
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from . import errors
from .db import Database
from .errors import ApiError

log = logging.getLogger("docpal.serve")


@dataclass
class Settings:
    database_url: str
    admin_token: str | None = None
    pool_min: int = 2
    pool_max: int = 10
    #: seconds between outbox polls of the event hub when no notification came
    events_poll: float = 5.0
    #: frames a client of GET /api/events may have waiting before it is told to reconnect
    events_queue: int = 1000
    #: API requests of one company at once per worker (None: the pool but a quarter; db.CompanyGate)
    company_requests: int | None = None
    #: open GET /api/events streams of one company per worker (429 past it)
    company_streams: int = 500
    access_log: bool = True
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> "Settings":
        """Worker processes (uvicorn --workers) get their settings from the
        environment that `docpal serve` set before starting them."""
        raw = json.loads(os.environ["DOCPAL_SERVE_SETTINGS"])
        raw.setdefault("admin_token", os.environ.get("DOCPAL_ADMIN_TOKEN") or None)
        return cls(**raw)


def bearer(request: Request) -> str | None:
    """The API key of `Authorization: Bearer <key>` (None when absent)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def json_text(text: str | None, status: int = 200, headers: dict | None = None) -> Response:
    """A jsonb result sent on as the database wrote it."""
    return Response("null" if text is None else text, status_code=status, headers=headers,
                    media_type="application/json")


#: The largest request body read (contract section 9: a spec over 256 KB is 54000).
MAX_BODY = 262144


async def read_body(request: Request) -> bytes:
    """The request body, at most MAX_BODY bytes: 54000 (400) before any SQL
    for a larger one, told by Content-Length or found while reading (a
    chunked body is never held whole past the limit)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise ApiError("54000",
                       f"the request body is {int(length)} bytes, over the limit of 256 KB ({MAX_BODY} bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError("54000", f"the request body is over the limit of 256 KB ({MAX_BODY} bytes)")
        chunks.append(chunk)
    request._body = b"".join(chunks)  # what request.body() returns from now on
    return request._body


def require_admin(request: Request) -> None:
    """The admin routes take DOCPAL_ADMIN_TOKEN as a bearer token; without one
    configured they are off (403 for everyone)."""
    token: str | None = request.app.state.settings.admin_token
    given = bearer(request)
    if not token:
        raise ApiError("42501", "the admin API is off: set DOCPAL_ADMIN_TOKEN")
    if not given:
        raise ApiError("28000", "an admin token is required: Authorization: Bearer <DOCPAL_ADMIN_TOKEN>")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise ApiError("28000", "admin token refused")


def tenant(request: Request):
    """The request's API transaction: `async with tenant(request) as tx:`."""
    return request.app.state.db.tenant(bearer(request), request.headers.get("host"), request.scope.setdefault("state", {}))


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> Response:
    """Ready when the database answers and holds this package's version (no
    migration pending)."""
    try:
        async with request.app.state.db.service() as tx:
            installed = await tx.value("select docpal.installed_version()")
    except ApiError as err:
        return JSONResponse({"status": "unavailable", "code": err.code, "message": err.message},
                            status_code=503, headers={"Retry-After": "1"})
    if installed != __version__:
        return JSONResponse({"status": "migration pending", "installed": installed, "package": __version__},
                            status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready", "version": installed})


async def _api_error(request: Request, exc: ApiError) -> Response:
    return errors.response(exc)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """Anything unforeseen: 500 in the error shape, nothing of the exception
    in it (the traceback goes to the server's log only)."""
    return errors.response(ApiError("XX000", "internal error"))


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own 404 (no such route) and 405 (method) in the error shape."""
    code = {404: "42P01", 405: "22023"}.get(exc.status_code, "22023")
    message = {404: f"no route {request.url.path}", 405: f"{request.method} is not allowed here"}.get(
        exc.status_code, str(exc.detail))
    return JSONResponse({"code": code, "message": message, "details": None, "hint": None},
                        status_code=exc.status_code, headers=exc.headers)


class AccessLog:
    """One JSON line per request on stderr: {at, method, route, path, status,
    ms, company}. The route is the template (`/api/records/{table}`); the
    Authorization header and the query string are never logged (a key could
    sit in either)."""

    def __init__(self, app, enabled: bool = True) -> None:
        self.app, self.enabled = app, enabled

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            line = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "method": scope["method"],
                    "route": getattr(route, "path", None), "path": scope["path"], "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                    "company": (scope.get("state") or {}).get("company")}
            sys.stderr.write(json.dumps(line) + "\n")


class SecurityHeaders:
    """Headers every answer carries unless its route set its own:
    `Cache-Control: no-store` (answers hold a company's data or an admin's:
    no browser or proxy keeps a copy; the pages' scripts and styles under
    /static/ are the exception) and `X-Content-Type-Options: nosniff`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cache = not scope["path"].startswith("/static/")

        async def send_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", ())}
                extra = [(b"x-content-type-options", b"nosniff")] if b"x-content-type-options" not in names else []
                if cache and b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                if extra:
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_headers)


def routes() -> list[BaseRoute]:
    """Every route: each module of the server adds its own."""
    from . import api  # the REST routes of section 12 (imports this module's helpers)

    from . import admin, dashboard  # the pages: /admin (and /admin/api/), /app/dashboards/{slug}

    out: list[BaseRoute] = [Route("/healthz", healthz), Route("/readyz", readyz)]
    out += api.routes()
    out += admin.routes() + dashboard.routes()
    from . import openapi  # GET /api/openapi.json and the page GET /api/docs

    out += openapi.routes()
    from . import events  # GET /api/events (Server-Sent Events)

    out += events.routes()
    # the pages' scripts and styles (static/admin.*, dashboard.*, docs.*): served from the package, never a CDN
    out.append(Mount("/static", app=StaticFiles(directory=Path(__file__).resolve().parent / "static"), name="static"))
    return out


def create_app(settings: Settings) -> Starlette:
    from .events import Hub

    db = Database(settings.database_url, min_size=settings.pool_min, max_size=settings.pool_max,
                  company_requests=settings.company_requests)
    # the event hub of this worker process: one LISTEN connection, a group per API key
    hub = Hub(db, settings.database_url, poll=settings.events_poll, queue=settings.events_queue,
              company_streams=settings.company_streams)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await db.open()
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            await db.close()

    app = Starlette(routes=routes(), lifespan=lifespan,
                    exception_handlers={ApiError: _api_error, HTTPException: _http_error,
                                        Exception: _internal_error})
    app.state.settings = settings
    app.state.db = db
    app.state.events = hub
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog, enabled=settings.access_log)
    return app


def app_from_env() -> Starlette:
    """uvicorn's factory in each worker process."""
    return create_app(Settings.from_env())
