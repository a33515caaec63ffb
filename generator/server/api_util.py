"""What the REST routes share: reading a JSON body, checking ids, ETags,
and running one statement of a request's transaction.

Everything here runs before any SQL (and before the API key is checked), so
a malformed request is 400 whoever sends it: its bytes never reach the
database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

import psycopg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .app import read_body
from .db import Tx
from .errors import ApiError, from_database
from .query_params import strict_json

_VERSION = re.compile(r'(?:W/)?"([0-9]{1,10})"')


async def json_body(request: Request, *kinds: type, required: bool = True) -> tuple[object, str | None]:
    """The body as (value, JSON text); the text is what the database gets (so
    numbers keep every digit the client wrote). 22023 when it is not UTF-8
    JSON of one of `kinds` (default: an object); 54000 past 256 KB."""
    kinds = kinds or (dict,)
    raw = await read_body(request)
    what = " or ".join("a JSON " + ("object" if k is dict else "array") for k in kinds)
    if not raw.strip():
        if required:
            raise ApiError("22023", f"the request body must be {what}")
        return None, None
    try:
        text = raw.decode("utf-8")
        value = strict_json(text, "the request body")
    except UnicodeDecodeError:
        raise ApiError("22023", "the request body is not UTF-8") from None
    except ValueError as exc:
        raise ApiError("22023", f"the request body is not valid JSON: {getattr(exc, 'msg', exc)}") from None
    if not isinstance(value, kinds):
        raise ApiError("22023", f"the request body must be {what}")
    return value, text


def record_id(value: str) -> str:
    """A record id from the path: a uuid (22P02 otherwise, before any SQL)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError("22P02", f"record id {value[:80]!r} is not a uuid") from None


def whole_number(value: str, what: str) -> int:
    """A version number from the path (22P02 otherwise)."""
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise ApiError("22P02", f"{what} {value[:40]!r} is not a whole number")
    return int(value)


def etag(version: str | int | None) -> dict:
    """The ETag header of a record at `version` (none when the version is unknown)."""
    return {} if version is None else {"ETag": f'"{version}"'}


def if_match(request: Request) -> int | None:
    """The version `If-Match` asks for, or None for no check (no header, or
    `*`). One entity tag holding a version: `"3"` (a weak `W/"3"` is taken
    the same: a version is not a byte representation, and proxies that
    compress weaken ETags). 22023 for anything else, a list included (one
    request updates from one version)."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    match = _VERSION.fullmatch(raw.strip())
    if not match or int(match.group(1)) > 2147483647:
        raise ApiError("22023", f"If-Match {raw[:60]!r}: give the record's ETag, one version such as \"3\", or *",
                       hint='A record\'s ETag is its version: If-Match: "3".')
    return int(match.group(1))


def none_match(request: Request, version: str | None) -> bool:
    """Whether `If-None-Match` names the record at `version` (weak comparison,
    as RFC 9110 asks for GET): then the answer is 304."""
    raw = request.headers.get("if-none-match")
    if raw is None or version is None:
        return False
    if raw.strip() == "*":
        return True
    for tag in raw.split(","):
        tag = tag.strip()
        tag = tag[2:] if tag.startswith("W/") else tag
        if tag == f'"{version}"':
            return True
    return False


async def row(tx: Tx, query: str, params: tuple | list = ()) -> tuple | None:
    """The first row of a statement in the request's transaction (jsonb as text)."""
    try:
        cur = await tx.conn.execute(query, params)
        return await cur.fetchone()
    except psycopg.Error as exc:
        raise from_database(exc) from exc


def route(path: str, **handlers: Callable[[Request], Awaitable[Response]]) -> Route:
    """One route for a path, its handler picked by method (GET=..., PUT=...):
    a method the path does not take is 405 with an `Allow` header naming
    every method it takes. HEAD is GET without the body. `endpoint.handlers`
    keeps the handlers for whoever lists the API."""
    async def endpoint(request: Request) -> Response:
        return await handlers["GET" if request.method == "HEAD" else request.method](request)

    endpoint.handlers = handlers  # type: ignore[attr-defined]
    endpoint.__name__ = "_".join(h.__name__ for h in handlers.values())
    return Route(path, endpoint, methods=list(handlers))
