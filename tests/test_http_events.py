"""GET /api/events (contract section 12, events of section 7) against a real
`docpal serve` process: delivery of committed changes, nothing of rolled-back
work, resume with Last-Event-ID, what a member may read, company isolation,
fan-out to many clients of one key, a client too slow to keep up, and
SIGTERM with open streams.

Readers run in threads (httpx streaming) and stop at a sentinel record: a
change written after the ones a test looks for, so that "not delivered" is
checked without waiting on a clock."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
import uuid

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from http_server import *  # noqa: F401,F403
from http_server import Server

NOTES = {"slug": "notes", "name": "Notes", "columns": [
    {"name": "title", "type": "text"}, {"name": "secret", "type": "text"}, {"name": "region", "type": "text"}]}
VAULT = {"slug": "vault", "name": "Vault", "columns": [{"name": "title", "type": "text"}]}
#: every INSERT event lists all 40 long column names: about 2.5 KB a frame
WIDE = {"slug": "wide", "name": "Wide", "columns": [{"name": f"c{i:02d}_" + "x" * 56, "type": "text"}
                                                     for i in range(40)]}
WAIT = 30  # seconds a reader may wait for what must come (a bound, never asserted)


class Reader(threading.Thread):
    """GET /api/events in a thread: the SSE blocks it receives (dicts of
    field -> value, comments under ":"), until `until(reader)` is true, the
    stream ends, or nothing comes for WAIT seconds."""

    def __init__(self, base: str, headers: dict, until=None, last_event_id: str | None = None) -> None:
        super().__init__(daemon=True)
        self.base, self.headers, self.until = base, dict(headers), until
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = last_event_id
        self.blocks: list[dict] = []
        self._changes: list[dict] = []  # the data of the change blocks, parsed once
        self.status: int | None = None
        self.body = b""
        self.error: BaseException | None = None
        self.ended = False  # the server ended the stream
        self.opened = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.base + "/api/events", headers=self.headers,
                              timeout=httpx.Timeout(WAIT)) as r:
                self.status = r.status_code
                if r.status_code != 200:
                    self.body = r.read()
                    return
                block: dict = {}
                for line in r.iter_lines():
                    if line == "":
                        if block:
                            self.blocks.append(block)
                            if block.get("event") == "change":
                                self._changes.append(json.loads(block["data"]))
                            block = {}
                        if self.until is not None and self.until(self):
                            return
                        continue
                    if line.startswith(":"):
                        block.setdefault(":", []).append(line[1:].strip())
                        self.opened.set()
                        continue
                    name, _, value = line.partition(":")
                    block[name] = value[1:] if value.startswith(" ") else value
                self.ended = True
        except BaseException as exc:  # noqa: BLE001 - looked at by the test
            self.error = exc
        finally:
            self.opened.set()

    def changes(self) -> list[dict]:
        return list(self._changes)

    def records(self) -> list[str]:
        return [e["record_id"] for e in self.changes()]

    def ids(self) -> list[str]:
        return [b["id"] for b in self.blocks if b.get("event") == "change"]

    def finish(self) -> "Reader":
        self.join(WAIT + 5)
        assert not self.is_alive(), "the reader did not finish"
        return self


def sees(record_id: str):
    """until: stop once this record's event came."""
    return lambda reader: record_id in reader.records()


def open_stream(http, headers, until=None, last_event_id=None, base=None) -> Reader:
    reader = Reader(base or http.base, headers, until, last_event_id)
    assert reader.opened.wait(WAIT), "the stream did not open"
    assert reader.error is None and reader.status == 200, (reader.status, reader.body, reader.error)
    return reader


def setup(http, *specs):
    co = http.company()
    for spec in specs or (NOTES,):
        http.sql(co, co.owner, "select docpal.create_table(%s)", Jsonb(spec))
    return co


def create(http, co, data, table="notes"):
    return http.sql(co, co.owner, "select docpal.create_record(%s, %s)", table, Jsonb(data))


def grant(http, co, role, table, actions, spec=None):
    http.sql(co, co.owner, "select docpal.grant_permission(%s, %s, %s::text[], %s)::text",
             role, table, actions, Jsonb(spec or {}))


def server_lines(server) -> list[dict]:
    out = []
    for line in server.log.read_text().splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and "events" in item:
            out.append(item)
    return out


def wait_for(check, what: str):
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


# --- delivery --------------------------------------------------------------------------

def test_committed_change_is_delivered(http):
    co = setup(http)
    reader = open_stream(http, co.auth("owner"), until=lambda r: len(r.changes()) >= 1)
    rec = create(http, co, {"title": "hello"})
    reader.finish()
    [event] = reader.changes()
    assert set(event) == {"event_id", "company_id", "table", "record_id", "action", "version", "changed",
                          "user_id", "at"}
    assert (event["record_id"], event["action"], event["table"], event["company_id"]) == \
        (rec["id"], "INSERT", "notes", co.id)
    [block] = [b for b in reader.blocks if b.get("event") == "change"]
    assert block["id"].startswith("v1.")
    assert co.keys["owner"] not in json.dumps(reader.blocks)
    # the stream's access log line, written when the server sees the client gone
    wait_for(lambda: any(item["route"] == "/api/events" and item["company"] == co.id and item["status"] == 200
                         for item in http.server.access_log()), "the access log line")


def test_rolled_back_work_is_not_delivered(http):
    co = setup(http)
    reader = open_stream(http, co.auth("owner"), until=lambda r: len(r.changes()) >= 2)
    try:
        with http.db.transaction():
            http.db.execute("select docpal.set_context(%s, %s)", (co.id, co.owner))
            http.db.execute("select docpal.create_record('notes', %s)", (Jsonb({"title": "rolled back"}),))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    kept = create(http, co, {"title": "kept"})
    sentinel = create(http, co, {"title": "sentinel"})
    reader.finish()
    assert reader.records() == [kept["id"], sentinel["id"]]
    assert "rolled back" not in json.dumps(reader.blocks)


def test_resume_with_last_event_id(http):
    co = setup(http)
    before = [create(http, co, {"title": f"before {i}"}) for i in range(2)]  # before the stream: not sent
    target: dict = {}
    reader = open_stream(http, co.auth("owner"), until=lambda r: target.get("id") in r.records())
    seen = [create(http, co, {"title": f"seen {i}"}) for i in range(2)]
    target["id"] = seen[-1]["id"]
    create(http, co, {"title": "wake"})  # one more block, to look at the stop condition again
    reader.finish()
    got = reader.records()
    assert got[:2] == [r["id"] for r in seen]
    assert not {r["id"] for r in before} & set(got)
    last_id = reader.ids()[1]
    missed = [create(http, co, {"title": f"missed {i}"}) for i in range(3)]  # while disconnected
    again = open_stream(http, co.auth("owner"), until=sees(missed[-1]["id"]), last_event_id=last_id)
    again.finish()
    got = again.records()
    assert got[-3:] == [r["id"] for r in missed]
    assert not {r["id"] for r in seen + before} & set(got), "resumed before its Last-Event-ID"


def test_resume_with_a_bare_event_id(http):
    co = setup(http)
    recs = [create(http, co, {"title": f"r{i}"}) for i in range(3)]
    event_id = http.one(f'select id from "{co.schema}"._events where record_id = %s', uuid.UUID(recs[0]["id"]))
    reader = open_stream(http, co.auth("owner"), until=sees(recs[-1]["id"]), last_event_id=str(event_id))
    reader.finish()
    assert reader.records() == [r["id"] for r in recs[1:]]


def test_late_commit_reaches_the_stream(http):
    """A transaction that took the smaller event id and commits after a later
    one is still delivered (the SSE position is a snapshot, not an id)."""
    co = setup(http)
    reader = open_stream(http, co.auth("owner"), until=lambda r: len(r.changes()) >= 2)
    conn = psycopg.connect(http.db.info.dsn)  # a transaction of its own, left open
    try:
        conn.execute("select docpal.set_context(%s, %s)", (co.id, co.owner))
        late = conn.execute("select docpal.create_record('notes', %s)", (Jsonb({"title": "late"}),)).fetchone()[0]
        quick = create(http, co, {"title": "quick"})  # a higher id, committed first
        wait_for(lambda: quick["id"] in reader.records(), "the quick event")
        conn.commit()
    finally:
        conn.close()
    reader.finish()
    assert reader.records() == [quick["id"], late["id"]]
    assert reader.changes()[1]["event_id"] < reader.changes()[0]["event_id"]


# --- what a key may see ------------------------------------------------------------------

def test_member_sees_only_readable_tables_and_rows(http):
    co = setup(http, NOTES, VAULT)
    grant(http, co, "member", "notes", ["read"], {"columns": ["title", "region"], "row_filter": {"region": "eu"}})
    reader = open_stream(http, co.auth("member"), until=lambda r: len(r.changes()) >= 2)
    vault = create(http, co, {"title": "vault"}, "vault")
    us = create(http, co, {"title": "us", "secret": "s", "region": "us"})
    eu = create(http, co, {"title": "eu", "secret": "s", "region": "eu"})
    http.sql(co, co.owner, "select docpal.update_record('notes', %s, %s)", uuid.UUID(eu["id"]),
             Jsonb({"secret": "t"}))
    reader.finish()
    assert [(e["record_id"], e["action"]) for e in reader.changes()] == [(eu["id"], "INSERT"), (eu["id"], "UPDATE")]
    assert [e["changed"] for e in reader.changes()] == [["title", "region"], []]
    text = json.dumps(reader.blocks)
    assert vault["id"] not in text and us["id"] not in text and '"secret"' not in text


def test_company_streams_never_carry_other_companies_events(http):
    a, b = setup(http), setup(http)
    reader_a = open_stream(http, a.auth("owner"), until=lambda r: len(r.changes()) >= 2)
    reader_b = open_stream(http, b.auth("owner"), until=lambda r: len(r.changes()) >= 1)
    theirs = create(http, b, {"title": "b's"})
    mine = [create(http, a, {"title": f"a's {i}"}) for i in range(2)]
    reader_a.finish()
    reader_b.finish()
    assert reader_a.records() == [r["id"] for r in mine]
    assert {e["company_id"] for e in reader_a.changes()} == {a.id}
    assert theirs["id"] not in json.dumps(reader_a.blocks)
    assert reader_b.records() == [theirs["id"]]


def test_host_of_another_company_is_refused(http):
    a, b = setup(http), setup(http)
    r = httpx.get(http.base + "/api/events", headers={**a.auth("owner"), "Host": f"{b.slug}.example.com"},
                  timeout=WAIT)
    assert r.status_code == 403 and r.json()["code"] == "42501"


@pytest.mark.parametrize("value, code", [("not a cursor!", "22023"), ("v1.0.1:0", "22023"),
                                         ("v1." + "1" * 16001, "54000")])
def test_bad_last_event_id(http, value, code):
    co = setup(http)
    r = httpx.get(http.base + "/api/events", headers={**co.auth("owner"), "Last-Event-ID": value}, timeout=WAIT)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == code
    assert value not in r.text


def test_key_required(http):
    r = httpx.get(http.base + "/api/events", timeout=WAIT)
    assert r.status_code == 401 and r.json()["code"] == "28000"
    r = httpx.get(http.base + "/api/events", headers={"Authorization": "Bearer dpk_" + "x" * 43}, timeout=WAIT)
    assert r.status_code == 401


def test_head_answers_without_holding_a_stream(http):
    co = setup(http)
    r = httpx.head(http.base + "/api/events", headers=co.auth("owner"), timeout=WAIT)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert httpx.head(http.base + "/api/events", timeout=WAIT).status_code == 401


def test_key_without_read_scope_is_refused(http):
    co = setup(http)
    key = http.key(co, co.owner, ["create"])
    r = httpx.get(http.base + "/api/events", headers={"Authorization": f"Bearer {key}"}, timeout=WAIT)
    assert r.status_code == 403 and r.json()["code"] == "42501"


def test_revoked_key_ends_the_stream(http):
    co = setup(http)
    key = http.key(co, co.owner, ["read"])
    reader = open_stream(http, {"Authorization": f"Bearer {key}"})
    first = create(http, co, {"title": "before"})
    wait_for(lambda: first["id"] in reader.records(), "the first event")
    key_id = http.one("select id from docpal_private.api_keys where key_hash = sha256(convert_to(%s, 'UTF8'))", key)
    http.sql(co, co.owner, "select docpal.revoke_api_key(%s)::text", key_id)
    after = create(http, co, {"title": "after"})  # wakes the stream's group: its read is refused
    reader.finish()
    assert reader.ended
    errors = [json.loads(b["data"]) for b in reader.blocks if b.get("event") == "error"]
    assert [e["code"] for e in errors] == ["28000"]
    assert after["id"] not in reader.records()
    assert key not in json.dumps(reader.blocks)


# --- fan-out ---------------------------------------------------------------------------------

def test_many_clients_of_one_key_all_receive(http):
    co = setup(http)
    readers = [Reader(http.base, co.auth("owner"), until=lambda r: len(r.changes()) >= 1) for _ in range(50)]
    for reader in readers:
        assert reader.opened.wait(WAIT) and reader.status == 200, (reader.status, reader.error)
    # a client that joins an existing group reads once more on its own after
    # the join (events.py); one still reading when the record commits gets it
    # with its own read's cursor. Wait until no read is running before the
    # write, so that every client gets it from the group.
    quiet_for(http, 0.3)
    rec = create(http, co, {"title": "for everyone"})
    for reader in readers:
        reader.finish()
    assert all(reader.records() == [rec["id"]] for reader in readers), \
        [len(reader.records()) for reader in readers]
    ids = {reader.ids()[0] for reader in readers}
    assert len(ids) == 1, "one group, one cursor"


def quiet_for(http, seconds: float) -> None:
    """Waits (at most WAIT) until no other session is running read_events and
    none has finished one for `seconds` (pg_stat_activity keeps each pooled
    connection's last statement and when its state changed)."""
    wait_for(lambda: http.one("select count(*) filter (where state = 'active') = 0"
                              "   and coalesce(max(state_change) < now() - make_interval(secs => %s), true)"
                              "  from pg_stat_activity where pid <> pg_backend_pid()"
                              "   and query like '%%read_events%%'", seconds),
             "the server's reads to settle")


def test_workers_each_deliver(http):
    server = Server(http.url, workers=2)
    try:
        co = setup(http)
        readers = [open_stream(http, co.auth(who), base=server.base, until=lambda r: len(r.changes()) >= 2)
                   for who in ("owner", "owner", "owner", "member", "member", "member")]
        grant(http, co, "member", "notes", ["read"])
        recs = [create(http, co, {"title": f"w{i}"}) for i in range(2)]
        for reader in readers:
            reader.finish()
            assert reader.records() == [r["id"] for r in recs]
    finally:
        assert server.stop() == 0


# --- bounds and shutdown ------------------------------------------------------------------------

def raw_stream(server, key: str) -> socket.socket:
    """A client that opens a stream and never reads it (a small receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
    return sock


def test_a_client_too_slow_is_dropped_and_others_go_on(http):
    server = Server(http.url, env={"DOCPAL_EVENTS_QUEUE": "20"})
    try:
        co = setup(http, WIDE)
        sleeper = raw_stream(server, co.keys["owner"])
        # more than the socket buffers between server and sleeper hold (some MB)
        total = 4000
        reader = open_stream(http, co.auth("owner"), base=server.base,
                             until=lambda r: len(r._changes) >= total)
        column = WIDE["columns"][0]["name"]
        for start in range(0, total, 1000):
            http.sql(co, co.owner, "select docpal.create_records('wide', %s)::text",
                     Jsonb([{column: f"bulk {i}"} for i in range(start, start + 1000)]))
        wait_for(lambda: any(line["events"] == "client dropped: too slow" for line in server_lines(server)),
                 "the slow client dropped")
        [dropped] = [line for line in server_lines(server) if line["events"] == "client dropped: too slow"]
        assert dropped["limit"] == 20 and dropped["queued"] <= 20 and dropped["company"] == co.id
        # the sleeper's connection is closed by the server: reading it ends
        received = b""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([sleeper], [], [], 1)
            if ready:
                chunk = sleeper.recv(65536)
                if not chunk:
                    break
                received += chunk
        else:
            pytest.fail("the slow client's connection stayed open")
        sleeper.close()
        assert received.startswith(b"HTTP/1.1 200")
        # its last frame says to reconnect, unless it read nothing for so long that it was cut off
        assert b"event: reconnect" in received or \
            "returned without completing response" in server.log.read_text()
        reader.finish()
        assert len(reader.changes()) == total, "a client that keeps up got every event"
        assert len(set(reader.records())) == total
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_with_open_streams_exits_cleanly(http, workers):
    server = Server(http.url, workers=workers)
    co = setup(http)
    readers = [open_stream(http, co.auth("owner"), base=server.base) for _ in range(3)]
    rec = create(http, co, {"title": "before the end"})
    for reader in readers:
        wait_for(lambda: rec["id"] in reader.records(), "the event")
    assert server.stop() == 0
    for reader in readers:
        reader.finish()
        assert reader.ended and reader.error is None
        assert "the server is shutting down" in reader.blocks[-1].get(":", [])
    log = server.log.read_text()
    assert "timeout graceful shutdown exceeded" not in log, log[-2000:]
    assert "Traceback" not in log, log[-3000:]
