"""`docpal listen`: contract section 7, docs/operations.md "docpal listen".

The listener runs in-process (click's CliRunner) for --once, and as a real
subprocess when it has to keep running (NOTIFY, retries, signals). Webhooks
are a real HTTP server on 127.0.0.1. Everything that waits polls for its
condition with a generous deadline (a loaded 2-core machine)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from docpal.cli import main
from helpers import fn, set_context, table

DOCPAL = Path(sys.executable).parent / "docpal"
NOTES = table("notes", {"name": "title", "type": "text"})
EVENT_KEYS = {"event_id", "company_id", "table", "record_id", "action", "version", "changed", "user_id", "at"}
DEADLINE = 60  # seconds any single condition may take to come true


# --- helpers -------------------------------------------------------------------

@pytest.fixture
def writer(connect, company):
    """A connection acting as the company owner, with a table `notes`."""
    conn = set_context(connect(), company, company["owner"])
    fn(conn, "create_table", NOTES)
    return conn


@pytest.fixture
def plain(connect):
    """A superuser connection without a context: sees every company's events."""
    return connect()


def add_notes(conn, n, prefix="note"):
    return [fn(conn, "create_record", "notes", {"title": f"{prefix} {i}"})["id"] for i in range(n)]


def pending(conn, consumer):
    """What the consumer would get next (polled in a transaction that is rolled back)."""
    with conn.transaction(force_rollback=True):
        return fn(conn, "poll_events", consumer, 10000)


def listen_once(dburl, consumer, *args):
    result = CliRunner().invoke(main, ["listen", "--consumer", consumer, "--once", "--database-url", dburl, *args],
                                catch_exceptions=False)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result, lines


def wait_until(predicate, timeout=DEADLINE, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Hook:
    """A webhook receiver on 127.0.0.1: `status(attempt_number, event) -> int` decides each answer."""

    def __init__(self, status=lambda attempt, event: 200):
        self.status = status
        self.attempts: list[tuple[dict, int]] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook.lock:
                    code = hook.status(len(hook.attempts) + 1, body)
                    hook.attempts.append((body, code))
                    hook.headers.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def accepted(self) -> list[dict]:
        with self.lock:
            return [event for event, code in self.attempts if 200 <= code < 300]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks():
    made: list[Hook] = []

    def make(status=lambda attempt, event: 200) -> Hook:
        made.append(Hook(status))
        return made[-1]

    yield make
    for hook in made:
        hook.close()


class Listener:
    """`docpal listen` (without --once) in a subprocess; its output read by threads."""

    def __init__(self, dburl, consumer, *args):
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([str(DOCPAL), "listen", "--consumer", consumer, "--database-url", dburl, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, lines):
        for line in stream:
            lines.append(line)

    @property
    def events(self) -> list[dict]:
        return [json.loads(line) for line in list(self.out)]

    def logged(self, text) -> bool:
        return any(text in line for line in list(self.err))

    def stop(self, sig=signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=DEADLINE)
        for reader in self.readers:
            reader.join(timeout=DEADLINE)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def listeners():
    started: list[Listener] = []

    def start(*args) -> Listener:
        started.append(Listener(*args))
        return started[-1]

    yield start
    for listener in started:
        listener.kill()


# --- --once and the stdout sink --------------------------------------------------

def test_once_prints_every_event_as_a_json_line_and_acknowledges(dburl, writer, plain, company):
    ids = add_notes(writer, 5)
    result, events = listen_once(dburl, "printer", "--batch", "2")
    assert result.exit_code == 0, result.output
    assert [e["record_id"] for e in events] == ids
    assert all(set(e) == EVENT_KEYS and e["action"] == "INSERT" and e["table"] == "notes"
               and e["company_id"] == str(company["id"]) for e in events)
    assert [e["event_id"] for e in events] == sorted({e["event_id"] for e in events})
    assert "delivered 2 of 2 events" in result.stderr  # progress goes to stderr, not the sink
    assert pending(plain, "printer") == []
    again, nothing = listen_once(dburl, "printer")
    assert again.exit_code == 0 and nothing == [] and again.stdout == ""
    # later changes come next, and only them
    fn(writer, "update_record", "notes", ids[0], {"title": "changed"})
    _, more = listen_once(dburl, "printer")
    assert [(e["record_id"], e["action"], e["version"], e["changed"]) for e in more] == [
        (ids[0], "UPDATE", 2, ["title"])]


def test_database_url_from_the_environment(dburl, writer):
    add_notes(writer, 1)
    result = CliRunner().invoke(main, ["listen", "--consumer", "env", "--once"], env={"DATABASE_URL": dburl})
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1


def test_two_consumers_each_get_everything(dburl, writer, plain):
    # a consumer exists from its first poll: before that the outbox keeps events only for the others
    for consumer in ("a", "b"):
        assert listen_once(dburl, consumer)[1] == []
    first = add_notes(writer, 3, "first")
    _, a1 = listen_once(dburl, "a")
    second = add_notes(writer, 2, "second")
    _, b = listen_once(dburl, "b", "--batch", "1")
    _, a2 = listen_once(dburl, "a")
    assert [e["record_id"] for e in a1] == first
    assert [e["record_id"] for e in a2] == second
    assert [e["record_id"] for e in b] == first + second
    assert [e["event_id"] for e in a1 + a2] == [e["event_id"] for e in b]
    assert pending(plain, "a") == pending(plain, "b") == []


def test_events_of_every_company(dburl, db, company, writer, plain):
    """Platform-wide: a consumer gets every company's events, ids ascending."""
    other = {"id": fn(db, "create_company", f"other-{uuid.uuid4().hex[:8]}", "Other")}
    other["owner"] = fn(db, "create_user", f"owner-{other['id']}@example.com", "Owner")
    fn(db, "add_member", other["id"], other["owner"], "owner")
    second = set_context(db, other, other["owner"])
    fn(second, "create_table", NOTES)
    ids = add_notes(writer, 2) + add_notes(second, 2)
    result, events = listen_once(dburl, "everyone")
    assert result.exit_code == 0, result.output
    assert sorted(e["record_id"] for e in events) == sorted(ids)
    assert {e["company_id"] for e in events} == {str(company["id"]), str(other["id"])}
    assert [e["event_id"] for e in events] == sorted(e["event_id"] for e in events)
    assert pending(plain, "everyone") == []


def test_usage_errors():
    runner = CliRunner()
    no_url = runner.invoke(main, ["listen", "--consumer", "x", "--once"], env={"DATABASE_URL": ""})
    assert no_url.exit_code == 2 and "DATABASE_URL" in no_url.output
    for sink in ("nope", "webhook:", "webhook:ftp://example.com/x", "temporal:localhost", "temporal:host:port"):
        bad = runner.invoke(main, ["listen", "--consumer", "x", "--sink", sink, "--database-url", "postgresql://x"])
        assert bad.exit_code == 2 and "--sink" in bad.output, (sink, bad.output)
    no_consumer = runner.invoke(main, ["listen", "--database-url", "postgresql://x"])
    assert no_consumer.exit_code == 2


def test_invalid_consumer_name_is_an_error(dburl):
    result, events = listen_once(dburl, "-bad name")
    assert result.exit_code == 1 and events == []
    assert "not valid" in result.stderr


# --- the webhook sink ------------------------------------------------------------

def test_webhook_receives_every_event(dburl, writer, plain, hooks):
    hook = hooks()
    ids = add_notes(writer, 4)
    url = hook.url.replace("http://", "http://hook:s%40cret@") + "?token=t0p"
    result, printed = listen_once(dburl, "hook", "--sink", f"webhook:{url}")
    assert result.exit_code == 0, result.output
    assert printed == []  # stdout is not the sink here
    assert [e["record_id"] for e in hook.accepted] == ids
    assert all(set(e) == EVENT_KEYS for e in hook.accepted)
    assert len(hook.attempts) == 4  # one POST per event
    headers = hook.headers[0]
    assert headers["content-type"] == "application/json"
    assert headers["x-docpal-event-id"] == str(hook.accepted[0]["event_id"])
    assert headers["authorization"] == "Basic " + base64.b64encode(b"hook:s@cret").decode()
    assert headers["path"] == "/hook?token=t0p"
    assert "t0p" not in result.stderr and "cret" not in result.stderr  # the log names only the host
    assert pending(plain, "hook") == []


def test_failing_webhook_leaves_the_events_pending(dburl, writer, plain, hooks):
    down = hooks(lambda attempt, event: 500)
    ids = add_notes(writer, 3)
    result, _ = listen_once(dburl, "hook", "--sink", f"webhook:{down.url}")
    assert result.exit_code == 1
    assert "webhook answered 500" in result.stderr
    assert len(down.attempts) == 1  # stops at the first failure
    assert [e["record_id"] for e in pending(plain, "hook")] == ids
    up = hooks()
    again, _ = listen_once(dburl, "hook", "--sink", f"webhook:{up.url}")
    assert again.exit_code == 0, again.output
    assert [e["record_id"] for e in up.accepted] == ids
    assert pending(plain, "hook") == []


def test_redirect_and_unreachable_webhook_are_failures(dburl, writer, plain, hooks):
    add_notes(writer, 1)
    moved = hooks(lambda attempt, event: 302)
    result, _ = listen_once(dburl, "hook", "--sink", f"webhook:{moved.url}")
    assert result.exit_code == 1 and "webhook answered 302" in result.stderr
    gone = hooks()
    gone.close()
    unreachable, _ = listen_once(dburl, "hook", "--sink", f"webhook:{gone.url}", "--timeout", "5")
    assert unreachable.exit_code == 1 and "webhook failed" in unreachable.stderr
    assert len(pending(plain, "hook")) == 1


def test_partial_acceptance_acknowledges_the_accepted_prefix(dburl, writer, plain, hooks):
    ids = add_notes(writer, 5)
    third = {}

    def fail_the_third_event_once(attempt, event):
        if event["record_id"] == ids[2] and not third:
            third["refused"] = event["event_id"]
            return 500
        return 200

    hook = hooks(fail_the_third_event_once)
    result, _ = listen_once(dburl, "partial", "--sink", f"webhook:{hook.url}")
    assert result.exit_code == 1
    assert [e["record_id"] for e in hook.accepted] == ids[:2]
    assert [e["record_id"] for e in pending(plain, "partial")] == ids[2:]
    again, _ = listen_once(dburl, "partial", "--sink", f"webhook:{hook.url}")
    assert again.exit_code == 0, again.output
    assert [e["record_id"] for e in hook.accepted] == ids  # the refused one again, then the rest, each once
    assert [e["event_id"] for e, _ in hook.attempts].count(third["refused"]) == 2
    assert pending(plain, "partial") == []


# --- the long-running listener ---------------------------------------------------

def test_wakes_on_notify_and_stops_on_sigterm(dburl, writer, plain, listeners):
    listener = listeners(dburl, "live", "--poll-interval", "600")  # only NOTIFY can wake it in time
    wait_until(lambda: listener.logged("listening on docpal_events"), what="the listener to start")
    [first] = add_notes(writer, 1)
    wait_until(lambda: len(listener.events) == 1, what="the first event")
    [second] = add_notes(writer, 1)
    wait_until(lambda: len(listener.events) == 2, what="the second event")
    assert [e["record_id"] for e in listener.events] == [first, second]
    assert listener.stop(signal.SIGTERM) == 0
    assert listener.logged("SIGTERM: stopped; 2 events delivered")
    assert pending(plain, "live") == []


def test_retries_until_the_webhook_recovers(dburl, writer, plain, hooks, listeners):
    hook = hooks(lambda attempt, event: 503 if attempt <= 3 else 200)
    ids = add_notes(writer, 4)
    listener = listeners(dburl, "retry", "--sink", f"webhook:{hook.url}", "--poll-interval", "600")
    wait_until(lambda: len(hook.accepted) == 4, what="every event to be accepted")
    assert [e["record_id"] for e in hook.accepted] == ids
    assert [code for _, code in hook.attempts] == [503, 503, 503, 200, 200, 200, 200]
    assert {e["record_id"] for e, _ in hook.attempts[:4]} == {ids[0]}  # the same event, retried
    wait_until(lambda: listener.logged("acknowledged up to"), what="the acknowledgement")
    assert listener.logged("retrying in 0.5s") and listener.logged("retrying in 1s")
    assert listener.stop(signal.SIGINT) == 0
    assert pending(plain, "retry") == []


def test_reconnects_after_losing_the_database(dburl, writer, plain, listeners):
    listener = listeners(dburl, "survivor", "--poll-interval", "2")
    wait_until(lambda: listener.logged("listening on docpal_events"), what="the listener to start")
    killed = plain.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                           " where application_name like 'docpal listen survivor%'").fetchone()[0]
    assert killed == 2
    ids = add_notes(writer, 2)
    wait_until(lambda: len(listener.events) == 2, what="the events after reconnecting")
    assert [e["record_id"] for e in listener.events] == ids
    assert listener.logged("database connection lost") and listener.logged("reconnected")
    assert listener.stop() == 0
    assert pending(plain, "survivor") == []


def test_workers_of_one_consumer_lose_and_repeat_nothing(dburl, db, company, writer, plain, hooks, listeners):
    """Two workers of one consumer, two companies, a sink that refuses now and then: every event is
    accepted exactly once (the workers take turns; refused events come again)."""
    other = {"id": fn(db, "create_company", f"other-{uuid.uuid4().hex[:8]}", "Other")}
    other["owner"] = fn(db, "create_user", f"owner-{other['id']}@example.com", "Owner")
    fn(db, "add_member", other["id"], other["owner"], "owner")
    second = set_context(db, other, other["owner"])
    fn(second, "create_table", NOTES)
    assert listen_once(dburl, "pair")[1] == []  # the consumer exists from here on

    def slow_and_flaky(attempt, event):
        time.sleep(0.02)
        return 503 if attempt % 4 == 3 else 200

    hook = hooks(slow_and_flaky)
    workers = [listeners(dburl, "pair", "--sink", f"webhook:{hook.url}", "--batch", "3", "--poll-interval", "1")
               for _ in range(2)]
    for worker in workers:
        wait_until(lambda worker=worker: worker.logged("listening on docpal_events"), what="the workers to start")
    ids = []
    for _ in range(4):
        ids += add_notes(writer, 3) + add_notes(second, 3)
    wait_until(lambda: {e["record_id"] for e in hook.accepted} == set(ids), what="every event to be accepted")
    assert all(worker.stop() == 0 for worker in workers)
    accepted = [e["record_id"] for e in hook.accepted]
    assert sorted(accepted) == sorted(ids)  # none twice
    assert pending(plain, "pair") == []
    for company_id in (str(company["id"]), str(other["id"])):  # in order within each company
        mine = [e["event_id"] for e in hook.accepted if e["company_id"] == company_id]
        assert mine == sorted(mine)


# --- the Temporal sink -------------------------------------------------------------

def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_temporal_sink_without_a_server(dburl, writer, plain):
    """Events without a workflow are accepted without Temporal; one with a workflow waits for it."""
    pytest.importorskip("temporalio")
    sink = f"temporal:127.0.0.1:{closed_port()}"
    [plain_note] = add_notes(writer, 1)
    result, _ = listen_once(dburl, "temporal", "--sink", sink, "--timeout", "3")
    assert result.exit_code == 0, result.output
    assert pending(plain, "temporal") == []
    fn(writer, "create_event_rule", {"table": "notes", "workflow": "NoteChanged"})
    fn(writer, "update_record", "notes", plain_note, {"title": "now with a rule"})
    failed, _ = listen_once(dburl, "temporal", "--sink", sink, "--timeout", "3")
    assert failed.exit_code == 1
    assert "temporal failed for event" in failed.stderr
    [waiting] = pending(plain, "temporal")
    assert waiting["workflow"] == {"name": "NoteChanged", "task_queue": "docpal"}


@pytest.mark.skipif(not os.environ.get("TEMPORAL_ADDRESS"), reason="needs a Temporal server: set TEMPORAL_ADDRESS")
def test_temporal_sink_starts_each_workflow_once(dburl, company, writer, plain):
    from temporalio.client import Client, WorkflowExecutionStatus

    address = os.environ["TEMPORAL_ADDRESS"]
    namespace = os.environ.get("TEMPORAL_NAMESPACE", "default")
    # workflow ids come from event ids, which every fresh test database hands out again:
    # move this company's event ids somewhere no earlier run against this server used
    plain.execute(f"select setval('{company['schema']}._events_id_seq',"
                  f" nextval('{company['schema']}._events_id_seq') + %s)", (random.randrange(2**39),))
    queue = f"docpal-test-{uuid.uuid4().hex[:8]}"  # no worker polls it: the workflow only gets started
    fn(writer, "create_event_rule", {"table": "notes", "actions": ["INSERT"], "workflow": "NoteCreated",
                                     "task_queue": queue})
    [rid] = add_notes(writer, 1)
    fn(writer, "update_record", "notes", rid, {"title": "no rule for updates"})
    # a second consumer that acknowledges nothing keeps the events in the outbox, for the replay below
    events = fn(plain, "poll_events", "temporal-check", 100)
    started = next(e for e in events if e["action"] == "INSERT")
    assert started["workflow"] == {"name": "NoteCreated", "task_queue": queue}
    workflow_id = f"docpal-event-{started['event_id']}"
    result, _ = listen_once(dburl, "temporal", "--sink", f"temporal:{address}")
    assert result.exit_code == 0, result.output
    assert "delivered 2 of 2 events" in result.stderr  # the UPDATE is accepted without a workflow

    async def inspect(terminate=False):
        client = await Client.connect(address, namespace=namespace)
        handle = client.get_workflow_handle(workflow_id)
        if terminate:
            await handle.terminate("closed, so that only REJECT_DUPLICATE keeps it from starting again")
        info = await handle.describe()
        history = await handle.fetch_history()
        attributes = history.events[0].workflow_execution_started_event_attributes
        return info, json.loads(attributes.input.payloads[0].data)

    info, argument = asyncio.run(inspect(terminate=True))
    assert (info.workflow_type, info.task_queue) == ("NoteCreated", queue)
    assert info.status == WorkflowExecutionStatus.TERMINATED
    assert argument == started  # the event is the single argument
    # a redelivery (replay) finds the workflow id taken: accepted, not started again
    fn(plain, "replay_events", "temporal", started["event_id"])
    again, _ = listen_once(dburl, "temporal", "--sink", f"temporal:{address}")
    assert again.exit_code == 0, again.output
    assert "delivered 2 of 2 events" in again.stderr
    info_again, _ = asyncio.run(inspect())
    assert info_again.run_id == info.run_id
    assert info_again.status == WorkflowExecutionStatus.TERMINATED
