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
"""

from __future__ import annotations

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
        return None if text is None else json.loads(text)


class Database:
    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 10, timeout: float = 10.0) -> None:
        self.url = url
        self.pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, timeout=timeout,
                                        configure=_configure, open=False, name="docpal-serve")

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
        except psycopg.Error as exc:
            # errors of COMMIT itself, or raised by code that did not map them
            raise from_database(exc) from exc
        except psycopg_pool.PoolTimeout as exc:
            raise ApiError("53300", "the server is busy: no database connection free",
                           headers={"Retry-After": "1"}) from exc

    @asynccontextmanager
    async def tenant(self, key: str | None, host: str | None, state: dict | None = None) -> AsyncIterator[Tx]:
        """An API transaction as the key's user (contract section 12)."""
        if not key:
            raise ApiError("28000", "an API key is required: Authorization: Bearer <key>")
        async with self._transaction("docpal_app") as conn:
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

    @asynccontextmanager
    async def service(self) -> AsyncIterator[Tx]:
        """A transaction as docpal_service, without a context (admin routes)."""
        async with self._transaction("docpal_service") as conn:
            yield Tx(conn)



