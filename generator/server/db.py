"""The connection pools and the request transaction.

Every API request is one transaction on a pooled connection::

    BEGIN;
    select set_config('role', 'docpal_app', true);          -- SET LOCAL ROLE
    select docpal.authenticate($key, true), docpal.resolve_company($host);
    select docpal.<the route's function>(...);               -- one, or a few
    COMMIT;

The role is set per transaction, not per session, and the context comes from
``authenticate(key, true)``, which lasts to the end of the transaction: so a
connection carries nothing from one request to the next and the server is
safe behind any pooler (PgBouncer in transaction mode included). The server's
login must be allowed to ``SET ROLE`` to ``docpal_app`` (API routes) and
``docpal_service`` (admin routes, the event hub's channel lookup): a login in
both roles, or a superuser. Under ``docpal_app`` a defect in the HTTP layer
can do no more than the key's own client could through SQL.

jsonb results are loaded as text and sent on as they are: the server never
parses what it only forwards.

One company cannot take every pooled connection (contract section 0: one
company never slows down or stops another): at most ``company_requests``
API requests of one company hold or wait for a connection at once, per
worker process (CompanyGate). A request past that waits, holding no
connection and standing in no one's way, until one of its company's own
requests is done; after COMPANY_WAIT seconds it is 429 (53400) with
``Retry-After``. The company of a key is known from its first request (one
``authenticate`` in a transaction rolled back at once), and remembered by
the key's SHA-256 (never the key) for the process's life: a key never
changes company.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.string import TextLoader
import psycopg_pool
from psycopg_pool import AsyncConnectionPool

from .errors import ApiError, from_database


#: seconds a request waits for one of its company's slots before 429
COMPANY_WAIT = 5.0
#: keys whose company a worker remembers (the oldest forgotten first)
KNOWN_KEYS = 10000


def _json_int(text: str) -> int | str:
    """A JSON integer as Python reads it, unless it has more digits than
    Python converts (4,300): then its text, not a 500."""
    return int(text) if len(text) <= 4000 else text


def loads(text: str):
    """json.loads for what the database wrote (jsonb numbers can be any size;
    nesting past what Python parses is 54000, not a 500)."""
    try:
        return json.loads(text, parse_int=_json_int)
    except RecursionError:
        raise ApiError("54000", "the result is JSON nested too deeply for the server to read") from None


def pool_busy() -> ApiError:
    return ApiError("53300", "the server is busy: no database connection free", headers={"Retry-After": "1"})


def company_busy(limit: int) -> ApiError:
    return ApiError("53400", f"this company has {limit} requests under way on this server process, "
                             "the most it may have at once", hint="Retry after Retry-After seconds.",
                    headers={"Retry-After": "1"})


class CompanyGate:
    """At most `limit` requests of one company at once (per process); the
    others wait for one of them to end, up to `wait` seconds."""

    def __init__(self, limit: int, wait: float = COMPANY_WAIT) -> None:
        self.limit, self.wait = limit, wait
        self._slots: dict[str, list] = {}  # company -> [Semaphore, requests holding or waiting]

    @asynccontextmanager
    async def slot(self, company: str) -> AsyncIterator[None]:
        entry = self._slots.get(company)
        if entry is None:
            entry = self._slots[company] = [asyncio.Semaphore(self.limit), 0]
        semaphore = entry[0]
        entry[1] += 1
        try:
            try:
                await asyncio.wait_for(semaphore.acquire(), timeout=self.wait)
            except TimeoutError:
                raise company_busy(self.limit) from None
            try:
                yield
            finally:
                semaphore.release()
        finally:
            entry[1] -= 1
            if entry[1] == 0 and self._slots.get(company) is entry:
                del self._slots[company]


async def _configure(conn: psycopg.AsyncConnection) -> None:
    conn.adapters.register_loader("jsonb", TextLoader)
    conn.adapters.register_loader("json", TextLoader)


@dataclass
class Tx:
    """One request's transaction, with its context."""

    conn: psycopg.AsyncConnection
    company_id: str | None = None
    user_id: str | None = None
    scopes: list[str] = field(default_factory=list)

    async def value(self, query: str, params: tuple | list = ()) -> Any:
        """The first column of the first row (jsonb as text)."""
        try:
            cur = await self.conn.execute(query, params)
            row = await cur.fetchone()
        except psycopg.Error as exc:
            raise from_database(exc) from exc
        return None if row is None else row[0]

    async def json(self, query: str, params: tuple | list = ()) -> Any:
        """The first column parsed: for the few routes that look inside."""
        text = await self.value(query, params)
        return None if text is None else loads(text)


def default_company_requests(pool_size: int) -> int:
    """A company may use all of a worker's pool but a quarter (at least one
    connection), which stays for the other companies."""
    return max(1, pool_size - max(1, pool_size // 4))


class Database:
    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 10, timeout: float = 10.0,
                 company_requests: int | None = None) -> None:
        self.url = url
        self.pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, timeout=timeout,
                                        configure=_configure, open=False, name="docpal-serve")
        self.gate = CompanyGate(company_requests or default_company_requests(max_size))
        self._companies: dict[bytes, str] = {}  # sha256 of a key -> its company

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def _transaction(self, role: str) -> AsyncIterator[psycopg.AsyncConnection]:
        try:
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute("select pg_catalog.set_config('role', %s, true)", (role,))
                yield conn
        except psycopg_pool.PoolTimeout as exc:  # an OperationalError too: caught first
            raise pool_busy() from exc
        except psycopg.Error as exc:
            # errors of COMMIT itself, or raised by code that did not map them
            raise from_database(exc) from exc

    @asynccontextmanager
    async def tenant(self, key: str | None, host: str | None, state: dict | None = None) -> AsyncIterator[Tx]:
        """An API transaction as the key's user (contract section 12), in one
        of its company's slots (CompanyGate)."""
        if not key:
            raise ApiError("28000", "an API key is required: Authorization: Bearer <key>")
        digest = hashlib.sha256(key.encode()).digest()
        company = self._companies.get(digest)
        if company is None:
            company = await self._identify(key, digest)
        async with self.gate.slot(company), self._transaction("docpal_app") as conn:
            try:
                cur = await conn.execute("select docpal.authenticate(%s, true), docpal.resolve_company(%s)",
                                         (key, host or ""))
                ctx_text, host_company = await cur.fetchone()
            except psycopg.Error as exc:
                raise from_database(exc, in_authenticate=True) from exc
            ctx = json.loads(ctx_text)
            if state is not None:
                state["company"] = ctx["company_id"]
            if host_company is not None and str(host_company) != ctx["company_id"]:
                raise ApiError("42501", "this API key belongs to another company than the one the Host names")
            yield Tx(conn, ctx["company_id"], ctx["user_id"], ctx.get("scopes") or [])

    async def _identify(self, key: str, digest: bytes) -> str:
        """The company of a key not seen before: authenticate in a
        transaction rolled back at once (so its request is not counted
        twice against the key's rate limit). Errors are authenticate's."""
        try:
            async with self.pool.connection() as conn, conn.transaction(force_rollback=True):
                await conn.execute("select pg_catalog.set_config('role', 'docpal_app', true)")
                cur = await conn.execute("select docpal.authenticate(%s, true)->>'company_id'", (key,))
                company = (await cur.fetchone())[0]
        except psycopg_pool.PoolTimeout as exc:  # an OperationalError too: caught first
            raise pool_busy() from exc
        except psycopg.Error as exc:
            raise from_database(exc, in_authenticate=True) from exc
        if len(self._companies) >= KNOWN_KEYS:
            del self._companies[next(iter(self._companies))]
        self._companies[digest] = company
        return company

    @asynccontextmanager
    async def service(self) -> AsyncIterator[Tx]:
        """A transaction as docpal_service, without a context (admin routes)."""
        async with self._transaction("docpal_service") as conn:
            yield Tx(conn)



