"""uvicorn's HTTP/1.1 protocol (httptools) with the request head bounded.

uvicorn reads a request's line and headers whole before the application
sees them, and with httptools it sets no limit of its own: one client could
send megabytes of headers per connection, or trickle them for ever, and hold
that memory and that connection (no key needed). This protocol refuses

- a request head (request line and headers) over MAX_HEAD bytes: 431, and
  the connection is closed;
- a head that has not arrived in full HEAD_TIMEOUT seconds after the
  connection opened or the request began: 408, closed.

Everything else is uvicorn's own. Without httptools, run.py falls back to
uvicorn's h11 protocol, whose own limit on an incomplete head is set to
MAX_HEAD (h11 has no head timeout).
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

#: bytes of a request line and its headers (a Last-Event-ID takes up to 16,000;
#: URLs are bounded by httptools at 64 KB on their own)
MAX_HEAD = 65536
#: seconds a request's line and headers may take to arrive
HEAD_TIMEOUT = 10.0


class _HeadRefused(Exception):
    pass


def _refusal(status: int, code: str, message: str) -> bytes:
    body = json.dumps({"code": code, "message": message, "details": None, "hint": None}).encode()
    return b"".join([STATUS_LINE[status], b"content-type: application/json\r\n",
                     b"content-length: ", str(len(body)).encode(), b"\r\n", b"connection: close\r\n\r\n", body])


class BoundedHttpTools(HttpToolsProtocol):
    """HttpToolsProtocol with the request head bounded in size and in time."""

    _head_bytes = 0
    _head_timer: asyncio.TimerHandle | None = None
    _refused: bytes | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_refusal(408, "08P01", f"the request head did not arrive within "
                                                        f"{HEAD_TIMEOUT:g} seconds"))
            self.transport.close()

    def _count(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > MAX_HEAD:
            self._refused = _refusal(431, "54000", f"the request line and headers are over {MAX_HEAD} bytes")
            raise _HeadRefused  # httptools stops parsing; uvicorn answers with send_400_response

    # --- parser callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._refused is None:
            super().send_400_response(msg)
            return
        self._disarm()
        self.transport.write(self._refused)
        self.transport.close()
