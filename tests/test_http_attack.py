"""`docpal serve` attacked as a client: a key of company A, another company
B, an anonymous caller and a page of another origin, with real requests
against a real server (contract sections 0 and 12).

Each test stands for one defence: the ones found missing in the security
review (one company taking the pool or the process's streams, unbounded
request heads, JSON nested past Python's parser, company data cacheable, a
500 from a number too long for Python) and the ones that held (Host checks,
admin token, CORS, keys in logs, escaping, static paths)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import psycopg
import pytest

from http_server import *  # noqa: F401,F403
from http_server import ADMIN_TOKEN, Server
from http_api_data import err, ok, shop, sql
from test_http_events import create, open_stream, sees, setup


def wait_for(check, what: str, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def raw(base: str, data: bytes, timeout: float = 30.0) -> bytes:
    """Sends bytes on a new connection; what the server answers until it closes."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may close while we still send
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out


# --- one company cannot starve the others ----------------------------------------------------

@contextmanager
def stuck(http, base: str, co, n: int, holding: int):
    """n requests of co on `base`, stuck on a lock (a slow report, a heavy
    query) until the block ends; yields their answers (filled as they come)
    once `holding` of them wait on the lock in the database."""
    answers: list[httpx.Response] = []
    http.one("select docpal.set_platform_setting('lock_timeout', '60s')")
    try:
        with psycopg.connect(http.db.info.dsn) as holder:
            holder.execute(f'lock table "{co.schema}".categories in access exclusive mode')

            def slow() -> None:
                with httpx.Client(base_url=base, timeout=90) as c:
                    answers.append(c.get("/api/records/categories", headers=co.auth()))

            threads = [threading.Thread(target=slow) for _ in range(n)]
            for t in threads:
                t.start()
            waiting = ("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                       "and query like '%%query_table%%'")
            wait_for(lambda: http.one(waiting) >= holding, f"{holding} requests to wait on the lock")
            try:
                yield answers
            finally:
                holder.rollback()
                for t in threads:
                    t.join()
    finally:
        http.one("select docpal.set_platform_setting('lock_timeout', '2s')")


def test_one_company_cannot_take_every_pooled_connection(http):
    """A's stuck requests hold at most the pool less a quarter (8 of 10);
    the rest of A's wait outside the pool and get 429, and B is served at
    once. Without the cap B waited for a connection until the pool gave up."""
    a, b = shop(http), shop(http)
    ok(http.client.get("/api/records/categories", headers=a.auth()))  # the server knows A's key
    with stuck(http, http.base, a, 16, 8) as answers:
        r = http.client.get("/api/records/categories", headers=b.auth())
        assert r.status_code == 200, r.text
        wait_for(lambda: len(answers) >= 8, "A's requests past its share to be refused")
    refused = [r for r in answers if r.status_code == 429]
    assert refused and all(r.json()["code"] == "53400" and int(r.headers["retry-after"]) >= 1 for r in refused)
    assert {r.status_code for r in answers} == {200, 429}


def test_no_free_connection_is_503_with_retry_after(http):
    """With the cap as large as the pool (no share kept for others), B
    finds no connection: 503 53300 with Retry-After (it was a 500: the
    pool's timeout is an OperationalError and was taken for a database
    error)."""
    a, b = shop(http), shop(http)
    server = Server(http.url, env={"DOCPAL_COMPANY_REQUESTS": "10"})
    try:
        ok(httpx.get(server.base + "/api/records/categories", headers=b.auth(), timeout=30))
        with stuck(http, server.base, a, 10, 10):
            r = httpx.get(server.base + "/api/records/categories", headers=b.auth(), timeout=30)
            err(r, 503, "53300")
            assert int(r.headers["retry-after"]) >= 1
    finally:
        server.stop()


def _stream(base: str, headers: dict) -> tuple[httpx.Client, httpx.Response, object]:
    """An open stream: (client, response, its lines, the first one read).
    The lines' iterator is kept: dropping it closes the response."""
    client = httpx.Client(base_url=base, timeout=30)
    response = client.send(client.build_request("GET", "/api/events", headers=headers), stream=True)
    lines = response.iter_lines()
    if response.status_code == 200:
        assert next(lines) == ": docpal events"
    return client, response, lines


def test_event_streams_per_company_are_capped(http):
    """Thousands of streams of one company would take the process's memory
    from everyone: past DOCPAL_COMPANY_STREAMS one more is 429, while
    another company still opens its own; a closed stream frees its place."""
    a, b = http.company(), http.company()
    server = Server(http.url, env={"DOCPAL_COMPANY_STREAMS": "2"})
    opened = []
    try:
        for who in ("owner", "member"):  # two keys, one company: the cap is the company's
            opened.append(_stream(server.base, a.auth(who)))
            assert opened[-1][1].status_code == 200
        r = httpx.get(server.base + "/api/events", headers=a.auth(), timeout=30)
        err(r, 429, "53400")
        assert int(r.headers["retry-after"]) >= 1
        opened.append(_stream(server.base, b.auth()))
        assert opened[-1][1].status_code == 200
        client, response, _ = opened.pop(0)
        response.close()
        client.close()

        def admitted():
            c, resp, lines = _stream(server.base, a.auth())
            if resp.status_code == 200:
                opened.append((c, resp, lines))
                return True
            resp.close()
            c.close()
            return False

        wait_for(admitted, "a closed stream to free its place")
    finally:
        for client, response, _ in opened:
            response.close()
            client.close()
        server.stop()


# --- bounded requests ---------------------------------------------------------------------

def test_request_head_is_bounded_in_size_and_in_time(http):
    """uvicorn with httptools reads headers of any size (megabytes per
    connection, no key needed) and waits for them for ever: now 431 past
    64 KB, 408 for a head that does not arrive in 10 s."""
    big = raw(http.base, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
    assert big.startswith(b"HTTP/1.1 431 "), big[:200]
    assert json.loads(big.split(b"\r\n\r\n", 1)[1])["code"] == "54000"
    many = raw(http.base, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 20000 + b"\r\n")
    assert many.startswith(b"HTTP/1.1 431 "), many[:200]
    slow = raw(http.base, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", timeout=60)
    assert slow.startswith(b"HTTP/1.1 408 "), slow[:200]
    # a Last-Event-ID of 16,000 characters and a key still fit
    ok(http.client.get("/healthz", headers={"X-Long": "a" * 20000}))


@pytest.mark.parametrize("where", ["body", "filter", "dashboard params", "admin body"])
def test_json_nested_past_pythons_parser_is_54000_not_500(http, where):
    co = shop(http)
    deep = "[" * 50000 + "]" * 50000
    if where == "body":
        r = http.client.post("/api/records/categories", headers={**co.auth(), "content-type": "application/json"},
                             content=deep)
    elif where == "filter":
        r = http.client.get("/api/records/categories", headers=co.auth(), params={"filter": "[" * 20000})
    elif where == "dashboard params":
        r = http.client.get("/app/dashboards/x/charts", headers=co.auth(), params={"params": "[" * 8000})
    else:
        r = http.client.post("/admin/api/companies", headers=http.admin, content=deep)
    err(r, 400, "54000")


def test_a_number_too_long_for_python_does_not_break_a_route(http):
    """jsonb numbers have any number of digits; Python refuses to read an
    integer of more than 4,300: the dashboard route parsed one and failed
    with 500."""
    co = http.company()
    sql(http, co, "select docpal.create_table(%s)", {"slug": "blobs", "columns": [{"name": "v", "type": "json"}]})
    sql(http, co, "select docpal.create_record('blobs', ('{\"v\": ' || %s || '}')::jsonb)->>'id'", "9" * 5000)
    sql(http, co, "select docpal.save_report(%s)", {"slug": "all_blobs", "name": "Blobs", "table": "blobs",
                                                   "kind": "query", "spec": {}})
    sql(http, co, "select docpal.save_dashboard(%s)", {"slug": "blobs", "name": "Blobs", "widgets": [
        {"id": "w", "title": "All", "report": "all_blobs", "chart": "table", "x": 0, "y": 0, "w": 12, "h": 4}]})
    r = http.client.get("/app/dashboards/blobs/charts", headers=co.auth())
    assert r.status_code == 200, r.text
    assert "9" * 100 in r.text


# --- what answers carry ---------------------------------------------------------------------

def test_company_data_is_never_cached_and_never_sniffed(http):
    co = shop(http)
    rec = ok(http.client.post("/api/records/categories", headers=co.auth(), json={"name": "x"}), 201)
    for r in (http.client.get("/api/records/categories", headers=co.auth()),
              http.client.get(f"/api/records/categories/{rec['id']}", headers=co.auth()),
              http.client.get("/api/schemas", headers=co.auth()),
              http.client.get("/api/openapi.json", headers=co.auth()),
              http.client.get("/api/records/categories"),
              http.client.get("/admin/api/companies", headers=http.admin)):
        assert "no-store" in r.headers.get("cache-control", ""), (r.url, r.headers)
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in http.client.get("/static/admin.js").headers.get("cache-control", "")


def test_401_names_the_bearer_scheme(http):
    for headers in ({}, {"Authorization": "Bearer dpk_nope"}):
        r = http.client.get("/api/schemas", headers=headers)
        err(r, 401, "28000")
        assert r.headers["www-authenticate"].startswith("Bearer")
    r = http.client.get("/admin/api/companies", headers={"Authorization": "Bearer wrong"})
    err(r, 401, "28000")
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/admin", "/app/dashboards/main", "/api/docs"])
def test_pages_send_no_referrer_and_run_only_their_own_scripts(http, path):
    r = http.client.get(path)
    assert r.status_code == 200
    assert r.headers["referrer-policy"] == "no-referrer"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp and "frame-ancestors 'none'" in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text)  # no inline script
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", r.text)  # no event handler attribute
    assert not re.search(r"<[^>]*\sstyle\s*=", r.text)


def test_dashboard_fragment_escapes_company_text_and_has_a_policy(http):
    co = shop(http)
    evil = '<img src=x onerror=alert(1)><script>alert(2)</script>"\''
    ok(http.client.post("/api/records/categories", headers=co.auth(), json={"name": evil}), 201)
    sql(http, co, "select docpal.save_report(%s)", {"slug": "cats", "name": evil, "table": "categories",
                                                   "kind": "query", "spec": {"columns": ["name"]}})
    sql(http, co, "select docpal.save_dashboard(%s)", {"slug": "evil", "name": evil, "widgets": [
        {"id": "w", "title": evil, "report": "cats", "chart": "table", "x": 0, "y": 0, "w": 12, "h": 4}]})
    r = http.client.get("/app/dashboards/evil/charts", headers=co.auth())
    assert r.status_code == 200
    assert "<img" not in r.text and "<script" not in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


# --- what held ------------------------------------------------------------------------------

def test_host_games_never_reach_another_company(http):
    a, b = http.company(), http.company()
    for host in (b.slug, b.slug.upper(), f"{b.slug}.example.com.", f"{b.slug}.EXAMPLE.com:8080",
                 f"{b.slug}.localhost:1", f"{b.slug}..x", f"https://{b.slug}.example.com/path"):
        err(http.client.get("/api/schemas", headers={**a.auth(), "Host": host}), 403, "42501")
    for host in ("localhost", "127.0.0.1:8080", "[::1]:80", f"xn--{b.slug}", "a" * 60000):
        ok(http.client.get("/api/schemas", headers={**a.auth(), "Host": host}))


def test_no_cross_origin_reads(http):
    """No CORS: a page of another origin cannot send the key's header
    (its preflight is refused) nor read an answer."""
    co = http.company()
    pre = http.client.options("/api/schemas", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code >= 400
    got = http.client.get("/api/schemas", headers={**co.auth(), "Origin": "https://evil.example"})
    for r in (pre, got):
        assert not any(name.startswith("access-control-") for name in r.headers)


def test_every_admin_route_needs_the_token(http):
    from docpal.server import admin

    co = http.company()
    page = http.client.get("/admin")
    assert co.slug not in page.text and co.id not in page.text
    for route in admin.routes():
        if not route.path.startswith("/admin/api/"):
            continue
        path = route.path.replace("{ref}", co.slug)
        for method in route.methods - {"HEAD"}:
            for headers in ({}, {"Authorization": "Bearer " + ADMIN_TOKEN[:-1] + "y"},
                            {"Authorization": "Basic " + ADMIN_TOKEN}):
                r = http.client.request(method, path, headers=headers, json={})
                err(r, 401, "28000")
                assert co.slug not in r.text


def test_keys_and_tokens_never_reach_logs_errors_or_headers(http):
    co = shop(http)
    key = co.keys["owner"]
    answers = [
        http.client.get("/api/schemas", params={"key": key}, headers=co.auth()),
        http.client.get("/api/schemas", headers={"Authorization": f"Bearer {key}x"}),
        http.client.get("/api/records/nope", headers=co.auth()),
        http.client.post("/api/records/categories", headers=co.auth(), json={"nope": key}),
        http.client.get("/admin/api/companies", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"}),
        http.client.post("/api/schemas", headers=co.auth(), json={"slug": "a\r\nx", "columns": []}),
    ]
    for r in answers:
        text = r.text + json.dumps(dict(r.headers))
        assert key not in text.replace(f'"nope": "{key}"', "") and ADMIN_TOKEN not in text
    log = http.server.log.read_text()
    assert key not in log and ADMIN_TOKEN not in log


def test_static_files_never_leave_their_folder(http):
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%2e%2e%2fdb.py",
                 "/static//etc/passwd", "/static/admin.js%00.py"):
        r = http.client.get(path)
        assert r.status_code == 404, path
        assert "import" not in r.text


def test_a_cursor_of_another_company_gives_nothing_of_it(http):
    """B replays A's SSE ids, and made-up ones: it gets its own events only
    (a cursor holds positions, never a company: every read is of the key's
    company's own outbox)."""
    a, b = setup(http), setup(http)
    hers = create(http, a, {"title": "a's secret"})
    reader = open_stream(http, a.auth(), until=sees(hers["id"]), last_event_id="0")
    cursor = reader.finish().ids()[-1]
    for last in (cursor, "0", "v1.0.1:0:", "v1.0.1:999999999:"):
        mine = {}
        replay = open_stream(http, b.auth(), until=lambda r: mine and mine["id"] in r.records(), last_event_id=last)
        mine.update(create(http, b, {"title": "b's"}))
        blocks = json.dumps(replay.finish().blocks)
        assert hers["id"] not in blocks and a.id not in blocks and "a's secret" not in blocks
        assert {e["company_id"] for e in replay.changes()} == {b.id}
