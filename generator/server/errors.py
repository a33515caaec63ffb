"""Errors as HTTP: ``{"code": <SQLSTATE>, "message", "details", "hint"}``
with the status contract section 12 gives each SQLSTATE."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
from starlette.responses import JSONResponse

STATUS = {
    "22023": 400, "22P02": 400, "22007": 400, "22008": 400, "23502": 400, "23514": 400,
    "42703": 400, "54000": 400,
    "28000": 401,
    "42501": 403,
    "42P01": 404, "P0002": 404,
    "23503": 409, "23505": 409, "2BP01": 409,
    "40001": 412,
    "53400": 429,
    "55P03": 503,
    "53300": 503,  # docpal serve: no pooled connection free (with Retry-After)
    # docpal raises these too, where the contract's table is silent: a name taken
    # (create_table, rename_column, create_type_list...) is a conflict, an unknown
    # type list, role or group is not found
    "42P07": 409, "42701": 409, "42710": 409,
    "42704": 404,
}

#: Seconds a client should wait after a lock timeout (55P03): docpal's own
#: lock timeout is 2 s by default, so the holder is usually done by then.
LOCK_RETRY_AFTER = 2


class ApiError(Exception):
    """An error found before any SQL runs (bad query parameter, bad body), or
    one the HTTP layer raises itself (Host of another company)."""

    def __init__(self, code: str, message: str, details=None, hint: str | None = None,
                 headers: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details, self.hint = code, message, details, hint
        self.headers = headers or {}


def too_deep(what: str) -> ApiError:
    """54000 for JSON nested deeper than Python parses (about 1,000 levels):
    a size limit, answered before any SQL (never a 500)."""
    return ApiError("54000", f"{what} is JSON nested too deeply", hint="Nest arrays and objects less than 500 deep.")


def _details(detail: str | None):
    """23514 and friends carry JSON in DETAIL: hand it on as JSON."""
    if not detail:
        return None
    try:
        return json.loads(detail)
    except (ValueError, RecursionError):
        return detail


def seconds_to_next_minute(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    return max(1, 60 - now.second)


def from_database(exc: psycopg.Error, *, in_authenticate: bool = False) -> ApiError:
    """A database error as an ApiError. A 53400 raised by authenticate is the
    key's rate limit (per minute): Retry-After says when the minute turns.
    A quota's 53400 comes from the call itself and has none: waiting does not
    lift a quota."""
    diag = exc.diag
    code = exc.sqlstate or "XX000"
    headers = {}
    if code == "53400" and in_authenticate:
        headers["Retry-After"] = str(seconds_to_next_minute())
    elif code == "55P03":
        headers["Retry-After"] = str(LOCK_RETRY_AFTER)
    if code not in STATUS:
        # not a client's error: say nothing of the statement or the schema
        return ApiError(code if code.startswith(("08", "57")) else "XX000",
                        "internal error" if not code.startswith(("08", "57")) else "database unavailable",
                        headers={"Retry-After": "1"} if code.startswith(("08", "57")) else None)
    return ApiError(code, diag.message_primary or str(exc), _details(diag.message_detail), diag.message_hint,
                    headers)


def status_of(err: ApiError) -> int:
    if err.code in STATUS:
        return STATUS[err.code]
    if err.code.startswith(("08", "57")):
        return 503
    return 500


def response(err: ApiError) -> JSONResponse:
    body = {"code": err.code, "message": err.message, "details": err.details, "hint": err.hint}
    status = status_of(err)
    headers = err.headers
    if status == 401 and "WWW-Authenticate" not in headers:
        headers = {**headers, "WWW-Authenticate": 'Bearer realm="docpal"'}  # RFC 9110: a 401 names its scheme
    return JSONResponse(body, status_code=status, headers=headers)
