"""Running the server: uvicorn, one process or --workers of them."""

from __future__ import annotations

import json
import os
import signal

import uvicorn

from .app import Settings


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> None:
    """Serve until SIGTERM/SIGINT. With workers > 1 uvicorn forks processes
    that share the socket; each builds the app from DOCPAL_SERVE_SETTINGS."""
    env = {k: v for k, v in settings.__dict__.items() if k != "admin_token"}
    os.environ["DOCPAL_SERVE_SETTINGS"] = json.dumps(env)
    if settings.admin_token:
        os.environ["DOCPAL_ADMIN_TOKEN"] = settings.admin_token
    # uvicorn handles SIGTERM/SIGINT while it serves, then sends the signal
    # again to the handler that was there before it: with Python's default
    # the process would die of it (exit -15) after a clean shutdown. Exit 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run("docpal.server.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="warning", proxy_headers=False, server_header=False,
                timeout_graceful_shutdown=5, **_protocol())


def _protocol() -> dict:
    """The HTTP protocol: uvicorn's httptools one with the request head
    bounded (protocol.py), or h11 with its head limit set alike."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        from .protocol import MAX_HEAD

        return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEAD}
    return {"http": "docpal.server.protocol:BoundedHttpTools"}


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)
