"""``GET /api/events``: the company's change events as Server-Sent Events
(contract sections 7 and 12).

What a client gets is decided in the database: ``docpal.read_events(cursor,
max)`` returns the events after a cursor that the key's user may read, and
the cursor after each. The SSE ``id:`` of an event is that cursor, so a
client that reconnects with ``Last-Event-ID`` goes on from where it was, by
snapshots: a transaction that committed late is not skipped. The server
keeps no position of its own, and the reads write nothing.

Fan-out, per worker process (each ``--workers`` process has its own hub):

- one LISTEN connection (autocommit), listening on the channel of every
  company that has connected clients. The channel comes from
  ``docpal.event_channel()``, asked once per company in the transaction that
  authenticates the first client's key, as ``docpal_service`` in that
  company's context; it is never sent to a client. Notifications are only
  wake-ups (their payload is not read): each wakes the groups of its
  company, and every group also reads on a timer (``events_poll``), since
  docpal skips notifications while the server's queue is half full.
- one group per API key: its clients share one position, and one
  ``read_events`` per wake-up (a transaction that starts with
  ``authenticate(key, true)``), whatever the number of clients; each
  event's frame is built once and handed to every client.
- a client that sends ``Last-Event-ID`` first catches up on its own (its own
  reads from its cursor), joins its key's group, then reads once more from
  its cursor: nothing that the group delivered before it joined is lost.
  Around the join an event may come twice (at least once); ids it read on
  its own are not sent again from the group.
- each client has a bounded queue of frames (``events_queue``); a group
  reads half a queue at a time, and only when every client has room for it.
  A client that makes no room within SLOW_AFTER seconds is sent ``event:
  reconnect`` and closed (its queue is dropped at once), so it holds the
  others back no longer; it reconnects with its ``Last-Event-ID`` and
  catches up from the outbox. One that reads nothing at all (its sends
  block) is cut off after END_GRACE more seconds.
- a comment line every 15 s keeps proxies from closing an idle stream; it
  carries the group's cursor as ``id:`` (an SSE block without data updates
  the client's last event id and fires no event).
- a revoked or expired key, a user no longer allowed (any error of a read
  other than a passing one) ends the stream with ``event: error`` (the
  error body of section 12 as data). Passing trouble (the database
  unreachable, no pooled connection free, the key's rate limit) is waited
  out; the stream stays.
- a company may have at most ``company_streams`` streams open per worker
  process: one more is 429 (53400) with ``Retry-After``, so that one
  company's thousands of streams cannot take the process's memory from the
  others.
- SIGTERM/SIGINT: the hub hears the signal before uvicorn does (its handler
  is chained in front of uvicorn's), ends every stream at once and refuses
  new ones (503), so uvicorn's graceful shutdown finds no open response to
  wait for.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import signal
import sys
import time
from typing import Any

import anyio
import psycopg
from psycopg import sql
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .app import bearer, tenant
from .errors import ApiError

#: events per read_events call (its own upper bound)
READ_MAX = 1000
#: seconds between keep-alive comments on an idle stream
HEARTBEAT = 15.0
#: seconds a stream that must end may take to send what it still has (a
#: client that reads nothing is then cut off)
END_GRACE = 5.0
#: seconds a group waits for a client to make room for its next read before
#: that client is dropped (told to reconnect)
SLOW_AFTER = 10.0
#: seconds the LISTEN connection waits for notifications before it looks
#: for channels to LISTEN to or drop (notifies() holds the connection)
LISTEN_TURN = 0.25
#: the longest Last-Event-ID read_events takes (54000 past it)
CURSOR_MAX = 16000
_CURSOR = re.compile(r"[0-9v.:,]+")
#: own-read event ids a joining client remembers, not to send them twice
SEEN_MAX = 2000
#: SQLSTATEs a group waits out instead of ending its streams
PASSING = ("53300", "53400", "55P03", "40001", "40P01")


def _line(**fields: Any) -> None:
    """One JSON line on stderr, next to the access log."""
    fields = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **fields}
    sys.stderr.write(json.dumps(fields) + "\n")


def _passing(err: ApiError) -> bool:
    return err.code in PASSING or err.code.startswith(("08", "57"))


def _error_frame(err: ApiError) -> bytes:
    body = {"code": err.code, "message": err.message, "details": err.details, "hint": err.hint}
    return f"event: error\ndata: {json.dumps(body)}\n\n".encode()


RECONNECT = ("event: reconnect\ndata: " + json.dumps(
    {"reason": "too slow", "message": "this client fell too far behind: reconnect with its Last-Event-ID"})
    + "\n\n").encode()


def change_frames(result: dict) -> list[tuple[int, bytes]]:
    """read_events' result as SSE frames (event id, bytes), built once for
    every client that gets them."""
    out = []
    for event, cursor in zip(result["events"], result["cursors"]):
        data = json.dumps(event, separators=(",", ":"))
        out.append((event["event_id"], f"id: {cursor}\nevent: change\ndata: {data}\n\n".encode()))
    return out


class Client:
    """One connected stream: its bounded queue of frames and why it ends."""

    __slots__ = ("limit", "frames", "ready", "done", "ended", "final", "seen", "group", "pushes")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.frames: collections.deque[tuple[int | None, bytes]] = collections.deque()
        self.ready = asyncio.Event()  # a frame came, or the end
        self.done = asyncio.Event()  # the end
        self.ended: str | None = None  # why the stream ends: slow, error, shutdown, gone
        self.final: bytes | None = None  # the frame sent last
        self.seen: set[int] | None = set()  # own-read ids while joining
        self.group: Group | None = None
        self.pushes = 0  # group deliveries since the join

    def push(self, frames: list[tuple[int, bytes]]) -> None:
        if self.ended or not frames:
            return
        if len(self.frames) + len(frames) > self.limit:
            self.drop(len(frames))
            return
        self.frames.extend(frames)
        self.pushes += 1
        if self.pushes > 2:
            self.seen = None  # past the join: the group's reads are after the own ones
        self.ready.set()

    def drop(self, arriving: int) -> None:
        """Too slow: told to reconnect, its queue dropped."""
        queued = len(self.frames)
        self.end("slow", RECONNECT)
        _line(events="client dropped: too slow", company=self.group.company if self.group else None,
              queued=queued, arriving=arriving, limit=self.limit)

    def end(self, reason: str, final: bytes | None = None) -> None:
        if self.ended:
            return
        self.ended, self.final = reason, final
        self.frames.clear()  # nothing more is sent but the final frame: memory back at once
        self.ready.set()
        self.done.set()


class Group:
    """The clients of one API key: one position, one read per wake-up."""

    def __init__(self, hub: "Hub", key: str, company: str, channel: str, cursor: str) -> None:
        self.hub, self.key, self.company, self.channel, self.cursor = hub, key, company, channel, cursor
        self.clients: set[Client] = set()
        self.wake = asyncio.Event()
        self.drained = asyncio.Event()  # a client made room
        # events per read: half a queue, so that a client that keeps up always has room
        self.page = max(1, min(READ_MAX, hub.queue // 2))
        self.stopped = False
        self.task: asyncio.Task | None = None

    def has_room(self, client: Client) -> bool:
        return len(client.frames) + self.page <= client.limit

    async def _room(self) -> None:
        """Waits until every client has room for a read; a client that makes
        none within SLOW_AFTER is dropped: one stuck client holds the others
        back no longer than that."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SLOW_AFTER
        while not self.stopped:
            full = [c for c in self.clients if not c.ended and not self.has_room(c)]
            if not full:
                return
            left = deadline - loop.time()
            if left <= 0:
                for client in full:
                    client.drop(self.page)
                return
            self.drained.clear()
            try:
                await asyncio.wait_for(self.drained.wait(), timeout=left)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self.stopped = True
        self.wake.set()
        self.drained.set()

    async def run(self) -> None:
        delay = 0.5
        try:
            while not self.stopped:
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=self.hub.poll)
                except TimeoutError:
                    pass
                self.wake.clear()
                await self._room()
                if self.stopped:
                    break
                try:
                    result = await self.hub.read(self.key, self.cursor, self.page)
                except ApiError as err:
                    if not _passing(err):
                        self.hub.fail(self, err)
                        break
                    wait = float(err.headers.get("Retry-After", delay))
                    delay = min(delay * 2, 10.0)
                    await asyncio.sleep(min(wait, 60.0))
                    self.wake.set()
                    continue
                delay = 0.5
                frames = change_frames(result)
                # the cursor moves with the frames, with no await between: a
                # client with an empty queue has everything before the cursor
                self.cursor = result["cursor"]
                for client in list(self.clients):
                    client.push(frames)
                if result["more"]:
                    self.wake.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave clients hanging
            _line(events="group failed", company=self.company, error=type(exc).__name__)
            self.hub.fail(self, ApiError("XX000", "internal error"))


class Hub:
    """The event hub of one worker process (module docstring)."""

    def __init__(self, db, url: str, *, poll: float, queue: int, company_streams: int = 500) -> None:
        self.db, self.url, self.poll, self.queue = db, url, poll, queue
        self.company_streams = company_streams
        self.streams: dict[str, int] = {}  # company id -> its open streams
        self.groups: dict[str, Group] = {}
        self.channels: dict[str, str] = {}  # company id -> its channel
        self.listeners: dict[str, set[Group]] = {}  # channel -> the groups it wakes
        self.clients: set[Client] = set()
        self.closing = False
        self._listener: asyncio.Task | None = None
        self._listening: set[str] = set()

    # --- life -------------------------------------------------------------------

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="docpal-events-listen")
        self._chain_signals()

    def _chain_signals(self) -> None:
        """Hear SIGTERM/SIGINT before the server does, to end the streams at
        once: uvicorn waits for open responses before it shuts down. Only in
        front of a handler that is there (uvicorn's), and only in the main
        thread (signal handlers can be set nowhere else)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                previous = signal.getsignal(sig)
            except ValueError:
                return
            if not callable(previous):
                continue

            def handler(signum, frame, previous=previous):
                loop.call_soon_threadsafe(self.shutdown)
                previous(signum, frame)

            try:
                signal.signal(sig, handler)
            except ValueError:
                return

    def shutdown(self) -> None:
        """End every stream now and take no new one."""
        if self.closing:
            return
        self.closing = True
        for client in list(self.clients):
            client.end("shutdown", b": the server is shutting down\n\n")
        for group in list(self.groups.values()):
            group.stop()

    async def stop(self) -> None:
        self.shutdown()
        tasks = [g.task for g in self.groups.values() if g.task is not None]
        if self._listener is not None:
            tasks.append(self._listener)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- reads ------------------------------------------------------------------

    async def read(self, key: str, cursor: str | None, max: int = READ_MAX) -> dict:
        async with self.db.tenant(key, None) as tx:
            return await tx.json("select docpal.read_events(%s, %s)", (cursor, max))

    def fail(self, group: Group, err: ApiError) -> None:
        """A group's read failed for good: its streams end with the error."""
        frame = _error_frame(err)
        for client in list(group.clients):
            client.end("error", frame)
        _line(events="streams ended", company=group.company, code=err.code, clients=len(group.clients))
        self._drop(group)

    # --- streams per company ----------------------------------------------------------

    def admit(self, company: str) -> None:
        """Counts one more stream of the company; 429 (53400) past its limit."""
        open_now = self.streams.get(company, 0)
        if open_now >= self.company_streams:
            raise ApiError("53400", f"this company has {open_now} event streams open on this server process, "
                                    "the most it may have", hint="Close a stream, or share one between clients.",
                           headers={"Retry-After": "5"})
        self.streams[company] = open_now + 1

    def release(self, company: str) -> None:
        left = self.streams.get(company, 0) - 1
        if left > 0:
            self.streams[company] = left
        else:
            self.streams.pop(company, None)

    # --- groups -----------------------------------------------------------------

    def join(self, client: Client, key: str, company: str, channel: str, cursor: str) -> bool:
        """Adds the client to its key's group; True when it made the group
        (whose first read, from the client's cursor, starts at once)."""
        self.channels.setdefault(company, channel)
        group = self.groups.get(key)
        made = group is None
        if made:
            group = self.groups[key] = Group(self, key, company, channel, cursor)
            self.listeners.setdefault(channel, set()).add(group)
            group.task = asyncio.create_task(group.run(), name="docpal-events-group")
            group.wake.set()
        group.clients.add(client)
        client.group = group
        return made

    def leave(self, client: Client) -> None:
        self.clients.discard(client)
        group = client.group
        if group is None:
            return
        group.clients.discard(client)
        group.drained.set()
        if not group.clients:
            self._drop(group)

    def _drop(self, group: Group) -> None:
        if self.groups.get(group.key) is group:
            del self.groups[group.key]
        waking = self.listeners.get(group.channel)
        if waking is not None:
            waking.discard(group)
            if not waking:
                del self.listeners[group.channel]
        group.stop()

    # --- the LISTEN connection ------------------------------------------------------

    def _wake(self, channels) -> None:
        for channel in channels:
            for group in self.listeners.get(channel, ()):
                group.wake.set()

    async def _listen(self) -> None:
        delay = 0.5
        while not self.closing:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
                    self._listening = set()
                    delay = 0.5
                    while not self.closing:
                        wanted = set(self.listeners)
                        added = wanted - self._listening
                        for channel in added:
                            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                        for channel in self._listening - wanted:
                            await conn.execute(sql.SQL("UNLISTEN {}").format(sql.Identifier(channel)))
                        self._listening = wanted
                        # what committed before the LISTEN took effect was not announced
                        self._wake(added)
                        async for note in conn.notifies(timeout=LISTEN_TURN):
                            self._wake((note.channel,))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the connection is made again
                if self.closing:
                    break
                _line(events="listen connection lost", error=type(exc).__name__)
                self._listening = set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                self._wake(list(self.listeners))  # notifications were missed meanwhile


class EventStream:
    """The ASGI response of one stream: sends its frames until the client
    goes, the hub ends it, or the server shuts down."""

    def __init__(self, hub: Hub, client: Client, key: str, company: str, channel: str, first: dict) -> None:
        self.hub, self.client, self.key, self.company, self.channel = hub, client, key, company, channel
        self.first = first

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self._run(receive, send)
        finally:
            self.hub.release(self.company)  # admitted by stream()

    async def _run(self, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no")]})
        client = self.client
        self.hub.clients.add(client)
        finished = False
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._watch_disconnect, receive)
                tasks.start_soon(self._watch_end, tasks.cancel_scope)
                await self._pump(send)
                finished = True
                tasks.cancel_scope.cancel()
        finally:
            client.end("gone")
            self.hub.leave(client)
        if finished:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        # else cut off while a send was blocked: the server closes the connection

    async def _watch_disconnect(self, receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.client.end("gone")
                return

    async def _watch_end(self, scope: anyio.CancelScope) -> None:
        """A stream told to end gets END_GRACE to send its last frame; a
        client that reads nothing (its sends block) is then cut off."""
        await self.client.done.wait()
        await asyncio.sleep(END_GRACE)
        scope.cancel()

    async def _send(self, send, data: bytes) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": True})

    async def _own(self, send, result: dict) -> str:
        """Sends an own read's events, remembering their ids; returns its cursor."""
        seen = self.client.seen
        for event_id, frame in change_frames(result):
            if self.client.ended:
                break
            if seen is not None:
                if len(seen) >= SEEN_MAX:
                    seen.clear()
                seen.add(event_id)
            await self._send(send, frame)
        return result["cursor"]

    async def _catch_up(self, send, cursor: str) -> str | None:
        """Own reads from cursor until nothing more is waiting; None when the
        stream must end (the client has its error frame)."""
        while True:
            if self.client.ended:
                return None
            try:
                result = await self.hub.read(self.key, cursor)
            except ApiError as err:
                if _passing(err):
                    await asyncio.sleep(1.0)
                    continue
                self.client.end("error", _error_frame(err))
                return None
            cursor = await self._own(send, result)
            if not result["more"] or self.client.ended:
                return cursor

    async def _pump(self, send) -> None:
        client, hub = self.client, self.hub
        await self._send(send, b": docpal events\n\n")
        cursor = await self._own(send, self.first)
        if self.first["more"]:
            cursor = await self._catch_up(send, cursor)
        if cursor is not None and not client.ended:
            made = hub.join(client, self.key, self.company, self.channel, cursor)
            if not made:
                # the group may have delivered, before the join, events this
                # client has not read: read once more from its own cursor
                await self._catch_up(send, cursor)
        while True:
            if client.frames:
                event_id, frame = client.frames.popleft()
                group = client.group
                if group is not None and group.has_room(client):
                    group.drained.set()
                if event_id is not None and client.seen is not None and event_id in client.seen:
                    continue
                await self._send(send, frame)
                continue
            if client.ended:
                if client.final:
                    await self._send(send, client.final)
                return
            client.ready.clear()
            try:
                await asyncio.wait_for(client.ready.wait(), timeout=HEARTBEAT)
            except TimeoutError:
                group = client.group
                beat = b": keep-alive\n"
                if group is not None and not client.frames:
                    beat += f"id: {group.cursor}\n".encode()
                await self._send(send, beat + b"\n")


def _last_event_id(request: Request) -> str | None:
    """Last-Event-ID, checked before any SQL: 54000 when longer than
    read_events takes, 22023 for characters no cursor has (the value is
    never repeated)."""
    value = request.headers.get("last-event-id")
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > CURSOR_MAX:
        raise ApiError("54000", f"Last-Event-ID is longer than {CURSOR_MAX} characters")
    if not _CURSOR.fullmatch(value):
        raise ApiError("22023", "Last-Event-ID is not an event cursor",
                       hint="Send back the id of the last event received, or none to start from now.")
    return value


async def stream(request: Request):
    cursor = _last_event_id(request)
    hub: Hub = request.app.state.events
    if hub.closing:
        raise ApiError("57P01", "the server is shutting down", headers={"Retry-After": "1"})
    key = bearer(request)
    async with tenant(request) as tx:
        first = await tx.json("select docpal.read_events(%s, %s)", (cursor, READ_MAX))
        company = tx.company_id
        channel = hub.channels.get(company)
        if channel is None:
            # the channel is for owners, admins and the service role: the
            # server asks as the service role, in this key's company context
            await tx.value("select pg_catalog.set_config('role', 'docpal_service', true)")
            channel = await tx.value("select docpal.event_channel()")
    if hub.closing:
        raise ApiError("57P01", "the server is shutting down", headers={"Retry-After": "1"})
    if request.method == "HEAD":
        return Response(status_code=200, media_type="text/event-stream")  # no body: no stream to hold open
    hub.admit(company)  # released when the stream ends (EventStream)
    return EventStream(hub, Client(hub.queue), key, company, channel, first)


def routes() -> list[BaseRoute]:
    return [Route("/api/events", stream, methods=["GET"])]

