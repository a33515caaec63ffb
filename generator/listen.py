"""``docpal listen``: consume the change-event outbox and hand each event to a sink.

Each batch is one transaction on the work connection::

    BEGIN; select docpal.poll_events(consumer, batch);
    -- deliver the events in order, stopping at the first the sink refuses
    select docpal.ack_events(consumer, <id of the last accepted event>);
    COMMIT;

Poll and ack in one transaction keep the consumer's position rows locked
(``FOR UPDATE SKIP LOCKED`` on docpal's private table), so a second worker of
the same consumer cannot take the same batch: it gets the other companies'
events, or nothing, and never waits on the first. There is no advisory lock,
whose keys any login could take to stall the consumer. Only what the sink
accepted is acknowledged: the rest comes again (at least once).

The listener wakes on ``NOTIFY docpal_events`` (LISTEN on a second, autocommit
connection): the platform channel carries only empty wake-ups, and the events
themselves always come from the outbox. It polls on a timer as well, since
docpal skips notifications while the server's notification queue is more than
half full. Sink failures and lost database connections are
retried with exponential backoff. SIGTERM / SIGINT stop it cleanly: the
delivery under way finishes, what was accepted is acknowledged and committed,
the connections close, exit 0 (a second signal abandons the delivery under
way; its batch is then delivered again later).

With ``--run-due-reports SECONDS`` the listener also runs the scheduled
reports that are due (as ``docpal reports run-due`` does: claim, commit, run,
commit, one report at a time, on the work connection; contract section 11)
every SECONDS, for at most SECONDS (50 at most) before it turns back to the
events: a deployment without pg_cron and without a system cron line gets its
report schedules from the process it already runs. A failure is logged and
tried again at the next period; it never stops the delivery of events.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from . import __version__, deploy

CHANNEL = "docpal_events"

#: Workers of one consumer need no turns of their own: the database keeps
#: them apart (position rows locked FOR UPDATE SKIP LOCKED, acknowledgements
#: scoped to their own poll), and a company's batch is handed to one worker
#: at a time, so each company's events reach the sink in order.


class SinkError(Exception):
    """The sink did not accept an event; it is retried later."""


class _Abort(BaseException):
    """A second stop signal: abandon the delivery under way."""


class _SinkFatal(Exception):
    """The sink cannot go on at all (stdout closed...): the listener exits 1."""


def _default_log(message: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} docpal listen: {message}", file=sys.stderr, flush=True)


# --- sinks ----------------------------------------------------------------------

class StdoutSink:
    """One JSON line per event on stdout; accepted once written and flushed."""

    name = "stdout"
    abortable = False  # never cut a line in half

    def deliver(self, event: dict) -> None:
        out = sys.stdout  # looked up each time: click's test runner swaps it
        out.write(json.dumps(event) + "\n")
        out.flush()

    def close(self) -> None:
        pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not an acceptance (urllib would turn a POST into a GET)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class WebhookSink:
    """One POST per event, the event as JSON body; any 2xx status accepts it."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook URL must be http:// or https://, not {url!r}")
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if ":" in parts.hostname:
            host = f"[{parts.hostname}]" + ("" if parts.port is None else f":{parts.port}")
        self.headers = {"Content-Type": "application/json", "User-Agent": f"docpal-listen/{__version__}"}
        if parts.username is not None:  # https://user:password@host/...: basic authentication
            credentials = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self.headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        self.url = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
        self.name = f"webhook {parts.scheme}://{host}"  # path and query may hold a secret: not logged
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def deliver(self, event: dict) -> None:
        request = urllib.request.Request(
            self.url, data=json.dumps(event).encode(), method="POST",
            headers={**self.headers, "X-Docpal-Event-Id": str(event.get("event_id", ""))})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            raise SinkError(f"webhook answered {exc.code} for event {event.get('event_id')}") from None
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused and reset connections
            raise SinkError(f"webhook failed for event {event.get('event_id')}: {exc}") from None
        if not 200 <= status < 300:
            raise SinkError(f"webhook answered {status} for event {event.get('event_id')}")

    def close(self) -> None:
        pass


class TemporalSink:
    """Starts the event's workflow (events with a ``workflow`` key only).

    Workflow ``event["workflow"]["name"]`` on task queue
    ``event["workflow"]["task_queue"]``, the event as its single argument, id
    ``docpal-event-<event_id>`` with id reuse policy REJECT_DUPLICATE: a
    redelivered event finds its workflow already started, which counts as
    accepted. Events without a workflow are accepted without starting anything.
    The namespace is $TEMPORAL_NAMESPACE, else ``default``.
    """

    def __init__(self, target: str, timeout: float, namespace: str | None = None) -> None:
        try:
            import temporalio.client  # noqa: F401  (lazy: an optional extra)
        except ImportError:
            raise ValueError("the temporal sink needs the temporalio package: "
                             "pip install 'docpal[temporal]'") from None
        self.target = target
        self.namespace = namespace or os.environ.get("TEMPORAL_NAMESPACE") or "default"
        self.name = f"temporal {target} namespace {self.namespace}"
        self.timeout = timeout
        self._loop = None
        self._client = None

    def _run(self, coro):
        import asyncio

        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(asyncio.wait_for(coro, self.timeout))

    def deliver(self, event: dict) -> None:
        workflow = event.get("workflow")
        if not workflow:
            return
        from datetime import timedelta

        from temporalio.client import Client
        from temporalio.common import WorkflowIDReusePolicy
        from temporalio.exceptions import WorkflowAlreadyStartedError

        try:
            if self._client is None:
                self._client = self._run(Client.connect(self.target, namespace=self.namespace))
            self._run(self._client.start_workflow(
                workflow["name"], event, id=f"docpal-event-{event['event_id']}",
                task_queue=workflow["task_queue"], id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                rpc_timeout=timedelta(seconds=self.timeout)))
        except WorkflowAlreadyStartedError:
            return  # a redelivery: started before
        except Exception as exc:  # noqa: BLE001  RPCError, connection failures, timeouts: all retried
            if self._client is not None and not _temporal_rpc_error(exc):
                self._client = None  # connect again next time
            raise SinkError(f"temporal failed for event {event['event_id']}: "
                            f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None


def _temporal_rpc_error(exc: BaseException) -> bool:
    from temporalio.service import RPCError

    return isinstance(exc, RPCError)


def make_sink(spec: str, timeout: float = 30.0):
    """``stdout``, ``webhook:URL`` or ``temporal:HOST:PORT``; ValueError otherwise."""
    if spec == "stdout":
        return StdoutSink()
    kind, _, rest = spec.partition(":")
    if kind == "webhook" and rest:
        return WebhookSink(rest, timeout)
    if kind == "temporal" and rest:
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"temporal sink must be temporal:HOST:PORT, not {spec!r}")
        return TemporalSink(rest, timeout)
    raise ValueError(f"unknown sink {spec!r}: use stdout, webhook:URL or temporal:HOST:PORT")


# --- the listener ---------------------------------------------------------------

class Backoff:
    """0.5 s doubling up to 30 s; reset after a success."""

    def __init__(self, first: float = 0.5, limit: float = 30.0) -> None:
        self.first, self.limit = first, limit
        self.delay = first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.limit)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class Listener:
    def __init__(self, url: str, consumer: str, sink, *, batch: int = 100, once: bool = False,
                 poll_interval: float = 5.0, log: Callable[[str], None] = _default_log,
                 run_due_reports: float | None = None) -> None:
        self.url = deploy.libpq_url(url)
        self.consumer = consumer
        self.sink = sink
        self.batch = batch
        self.once = once
        self.poll_interval = poll_interval
        self.log = log
        self.run_due_reports = run_due_reports
        self._reports_at = time.monotonic() if run_due_reports else None  # the first run: at start
        self.stopping = False
        self.delivered = 0
        self._delivering = False
        self._signal: str | None = None
        self._work: psycopg.Connection | None = None
        self._listen: psycopg.Connection | None = None

    # signals ------------------------------------------------------------------

    def stop(self, signum: int | None = None, frame=None) -> None:
        """Stop after the delivery under way (a signal handler: it writes nothing)."""
        if self.stopping and signum is not None and self._delivering:
            raise _Abort()
        self.stopping = True
        if signum is not None and self._signal is None:
            self._signal = signal.Signals(signum).name

    def _install_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}

    # connections --------------------------------------------------------------

    def _connect(self) -> None:
        self._close()
        self._work = psycopg.connect(self.url, autocommit=True, application_name=f"docpal listen {self.consumer}")
        if not self.once:
            self._listen = psycopg.connect(self.url, autocommit=True,
                                           application_name=f"docpal listen {self.consumer} (notify)")
            self._listen.execute(f"listen {CHANNEL}")

    def _close(self) -> None:
        for conn in (self._work, self._listen):
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001, S110  closing a broken connection
                    pass
        self._work = self._listen = None

    # waiting ------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))

    def _wait_for_events(self) -> None:
        """Until a notification, the poll interval, or a stop signal."""
        deadline = time.monotonic() + self.poll_interval
        if self._reports_at is not None:
            deadline = min(deadline, self._reports_at)  # wake up for the reports too
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            woken = False
            for _ in self._listen.notifies(timeout=min(left, 0.5), stop_after=1):
                woken = True
            if woken:
                break
        # notifications queued meanwhile are covered by the drain that follows
        for _ in self._listen.notifies(timeout=0):
            pass

    # delivering ---------------------------------------------------------------

    def _deliver(self, event: dict) -> bool:
        """True when the sink accepted the event; False when a second stop signal abandoned it."""
        try:
            self._delivering = getattr(self.sink, "abortable", True)
            self.sink.deliver(event)
        except _Abort:
            return False
        finally:
            self._delivering = False
        return True

    def _batch(self) -> tuple[int, int, SinkError | None]:
        """One poll-deliver-ack transaction: (polled, accepted, sink error)."""
        conn = self._work
        accepted: Any = None
        count = 0
        failure: SinkError | None = None
        fatal: Exception | None = None
        with conn.transaction():
            events = conn.execute("select docpal.poll_events(%s, %s)", (self.consumer, self.batch)).fetchone()[0]
            for event in events:
                if self.stopping:
                    break  # a stop signal: the rest stays pending
                try:
                    if not self._deliver(event):
                        break
                except SinkError as exc:
                    failure = exc
                    break
                except Exception as exc:  # noqa: BLE001  a sink that cannot go on (stdout closed...)
                    fatal = exc
                    break
                accepted = event["event_id"]
                count += 1
            if accepted is not None:
                conn.execute("select docpal.ack_events(%s, %s)", (self.consumer, accepted))
        if count:
            self.delivered += count
            self.log(f"delivered {count} of {len(events)} events, acknowledged up to {accepted}")
        if fatal is not None:
            raise _SinkFatal(f"{self.sink.name}: {type(fatal).__name__}: {fatal}") from fatal
        return len(events), count, failure

    def _drain(self, backoff: Backoff) -> SinkError | None:
        """Batches until nothing is pending (None) or the sink fails (its error)."""
        while not self.stopping:
            polled, accepted, failure = self._batch()
            if accepted:
                backoff.reset()
            if failure is not None:
                return failure
            if polled == 0:
                return None
        return None

    def _reports(self) -> None:
        """The due scheduled reports when their period has come (--run-due-reports): reports.run_due,
        for no longer than the period (nor 50 s), so that events wait at most that long."""
        if self._reports_at is None or time.monotonic() < self._reports_at:
            return
        from .reports import MAX_SECONDS, run_due

        try:
            counts = run_due(self._work, max_seconds=min(self.run_due_reports, MAX_SECONDS))
        except psycopg.Error as exc:
            if self._work.closed or self._work.broken:
                raise  # the connection is gone: reconnect as for events
            self.log(f"scheduled reports failed ({exc.sqlstate}: {str(exc).strip()}); "
                     f"trying again in {self.run_due_reports:g}s")
            return
        finally:
            self._reports_at = time.monotonic() + self.run_due_reports
        if counts["ran"] or counts["failed"]:
            self.log(f"scheduled reports: ran {counts['ran']}, failed {counts['failed']}"
                     + ("; more at the next period" if counts.get("more") else ""))

    def _log_stop(self) -> None:
        cause = f"{self._signal}: " if self._signal else ""
        self.log(f"{cause}stopped; {self.delivered} events delivered")

    def run(self) -> int:
        """Exit status: 0 after a drain (--once) or a stop signal, 1 on a failure that ends it."""
        previous = self._install_signals()
        backoff = Backoff()
        try:
            try:
                self._connect()
            except psycopg.Error as exc:
                self.log(f"cannot connect: {exc}")
                return 1
            self.log(f"consumer {self.consumer!r}: {self.sink.name}"
                     + ("; draining what is pending" if self.once else f"; listening on {CHANNEL}")
                     + (f"; scheduled reports every {self.run_due_reports:g}s" if self.run_due_reports else ""))
            while not self.stopping:
                try:
                    if self._work is None:
                        self._connect()
                        self.log("reconnected")
                    self._reports()
                    failure = self._drain(backoff)
                    if failure is None and not self.once and not self.stopping:
                        self._wait_for_events()
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                    self._close()
                    if self.once:
                        self.log(f"database connection lost: {exc}")
                        return 1
                    delay = backoff.next()
                    self.log(f"database connection lost ({str(exc).strip()}); reconnecting in {delay:g}s")
                    self._sleep(delay)
                    continue
                if failure is not None:
                    if self.once:
                        self.log(f"{failure}; stopping (--once) after {self.delivered} events, "
                                 "the rest stays pending")
                        return 1
                    delay = backoff.next()
                    self.log(f"{failure}; retrying in {delay:g}s")
                    self._sleep(delay)
                    continue
                if self.once:
                    break
            self._log_stop()
            return 0
        except _SinkFatal as exc:
            self.log(f"{exc}; stopping")
            return 1
        except _Abort:  # a second signal at an unlucky moment: the batch under way comes again
            self._log_stop()
            return 0
        except psycopg.Error as exc:
            self.log(f"error: {str(exc).strip()}")
            return 1
        finally:
            self._close()
            self.sink.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
