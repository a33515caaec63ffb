"""The pages of `docpal serve` in a real browser: Debian's chromium, driven
by playwright (never `playwright install`: the browser is /usr/bin/chromium,
which ./dev installs). Without it this test fails; it does not skip.

One flow, as a platform admin and then as the new company's owner: sign in
to /admin with the token, create a company with an owner and a key, see it
listed, suspend it and activate it, set a quota, apply the mes blueprint,
download an export; then open a dashboard over the blueprint's reports at
/app/dashboards/{slug}, enter the key, and check that every chart has drawn
(the DOM and a screenshot), and that the token and the key live in the
tab's sessionStorage only.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from http_server import *  # noqa: F401,F403
from http_server import ADMIN_TOKEN

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 15000

#: the dashboard of the test: every chart kind over the mes blueprint's reports
PLANT = {"slug": "plant", "name": "Plant KPIs", "widgets": [
    {"id": "oee", "report": "oee", "chart": "bar", "x": 0, "y": 0, "w": 12, "h": 5},
    {"id": "fpy", "report": "first_pass_yield", "chart": "pie", "x": 12, "y": 0, "w": 12, "h": 5},
    {"id": "otd", "report": "on_time_delivery", "chart": "line", "x": 0, "y": 5, "w": 12, "h": 5},
    {"id": "otd_n", "report": "on_time_delivery", "chart": "number", "x": 12, "y": 5, "w": 12, "h": 2},
    {"id": "fpy_t", "report": "first_pass_yield", "chart": "table", "x": 12, "y": 7, "w": 12, "h": 3},
    {"id": "ncrs", "report": "open_ncrs", "chart": "kanban", "x": 0, "y": 10, "w": 24, "h": 4}]}


def png_colours(path: Path) -> int:
    """How many distinct pixel values an 8-bit RGB or RGBA PNG holds (a blank
    screenshot has one)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6), header
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, seen = bytearray(stride), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        if y % 4 == 0:  # every fourth row is plenty to count colours
            seen.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp))
        prev = line
    return len(seen)


def secrets_stored(page, context) -> dict:
    """What the page's origin holds in each store."""
    return {"session": page.evaluate("JSON.stringify(Object.assign({}, sessionStorage))"),
            "local": page.evaluate("JSON.stringify(Object.assign({}, localStorage))"),
            "cookies": json.dumps(context.cookies()), "document_cookie": page.evaluate("document.cookie")}


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: ./dev installs Debian's chromium (APT_PACKAGES)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_admin_and_dashboard_pages_in_a_browser(http, browser, tmp_path):
    slug = f"web-{uuid.uuid4().hex[:8]}"
    email = f"owner-{slug}@example.com"
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    outside: list[str] = []
    own = (http.base, "blob:", "data:")
    page.on("request", lambda req: None if req.url.startswith(own) else outside.append(req.url))
    try:
        # -- /admin: sign in
        page.goto(http.base + "/admin")
        expect(page.locator("#login")).to_be_visible()
        page.fill("#token", ADMIN_TOKEN)
        page.click("#login button[type=submit]")
        expect(page.locator("#app")).to_be_visible()
        expect(page.locator("#blueprint option[value=mes]")).to_have_count(1)

        # -- create a company with a new owner and a key
        page.fill("#c-slug", slug)
        page.fill("#c-name", "Web <Made> Co")
        page.fill("#c-owner-email", email)
        page.fill("#c-owner-name", "Web Owner")
        page.check("#c-api-key")
        page.click("#create-form button[type=submit]")
        expect(page.locator("#new-key")).to_have_text(re.compile(r"^dpk_[\w-]{43}$"))
        key = page.locator("#new-key").text_content()
        row = page.locator(f'tr[data-slug="{slug}"]')
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(0)).to_have_text("Web <Made> Co")
        expect(row.locator("td").nth(1)).to_have_text("active")

        # -- suspend it, then activate it
        page.click(f'button[aria-label="Manage {slug}"]')
        expect(page.locator("#manage-slug")).to_have_text(slug)
        page.fill("#suspend-reason", "unpaid invoices")
        page.click("#suspend-form button[type=submit]")
        expect(row.locator("td").nth(1)).to_have_text("suspended (unpaid invoices)")
        expect(page.locator("#manage-status")).to_have_text("suspended")
        assert http.one("select docpal.get_company(%s)->>'status'", slug) == "suspended"
        page.click("#activate-form button[type=submit]")
        expect(row.locator("td").nth(1)).to_have_text("active")
        assert http.one("select docpal.get_company(%s)->>'status'", slug) == "active"

        # -- a quota, then the mes blueprint (a quota of 50 tables leaves it room)
        page.fill("#q-max_tables", "50")
        page.click("#quota-form button[type=submit]")
        expect(row.locator("td").nth(8)).to_have_text("50 tables")
        page.select_option("#blueprint", "mes")
        page.click("#blueprint-form button[type=submit]")
        expect(page.locator("#status")).to_have_text(f"Applied mes to {slug}.")
        expect(page.locator("#manage-result")).to_contain_text("reports created")
        tables = int(row.locator("td").nth(2).text_content())
        assert tables >= 8
        page.screenshot(path=str(tmp_path / "admin.png"), full_page=True)
        assert png_colours(tmp_path / "admin.png") > 10

        # -- download the export
        with page.expect_download() as waiting:
            page.click("#export-form button[type=submit]")
        download = waiting.value
        assert download.suggested_filename == f"{slug}.json"
        exported = json.loads(Path(download.path()).read_text())
        assert exported["format"] == "docpal-export" and exported["company"]["slug"] == slug
        assert "production_orders" in exported["records"]

        # -- the admin token: in this tab's sessionStorage only
        stored = secrets_stored(page, context)
        assert ADMIN_TOKEN in stored["session"]
        assert ADMIN_TOKEN not in stored["local"] + stored["cookies"] + stored["document_cookie"]
        assert ADMIN_TOKEN not in page.url

        # -- a dashboard over the blueprint's reports, saved by the owner
        company = http.one("select docpal.get_company(%s)->>'id'", slug)
        owner = http.one("select docpal.get_user(%s)->>'id'", email)
        with http.db.transaction():
            http.db.execute("select docpal.set_context(%s, %s)", (company, owner))
            http.db.execute("select docpal.save_dashboard(%s)", (json.dumps(PLANT),))

        # -- /app/dashboards/plant: enter the key, see the charts
        page.goto(http.base + "/app/dashboards/plant")
        expect(page.locator("#key-form")).to_be_visible()
        page.fill("#key", key)
        page.click("#key-form button[type=submit]")
        board = page.locator("#board")
        expect(board.locator("h1")).to_have_text("Plant KPIs")
        expect(board.locator(".dp-widget")).to_have_count(6)
        expect(board).to_have_attribute("aria-busy", "false")
        widget = {w["id"]: board.locator(".dp-widget").nth(i) for i, w in enumerate(
            sorted(PLANT["widgets"], key=lambda w: (w["y"], w["x"])))}
        assert page.locator(".dp-error").count() == 0, page.locator(".dp-error").all_text_contents()
        # every chart: an svg with its title, drawn (visible, with marks in it)
        for wid, mark in (("oee", "rect.dp-bar"), ("fpy", ".dp-slice"), ("otd", "path.dp-line")):
            svg = widget[wid].locator(".dp-figure:not([hidden]) svg[role=img]")
            expect(svg).to_have_count(1)
            expect(svg).to_be_visible()
            assert svg.locator("title").first.text_content(), wid
            assert svg.locator(mark).count() >= (1 if mark == "path.dp-line" else 2), wid
            box = svg.bounding_box()
            assert box["width"] > 200 and box["height"] > 40, (wid, box)
        bar_widths = widget["oee"].locator(".dp-figure:not([hidden]) rect.dp-bar").evaluate_all(
            "bars => bars.map(b => b.getBBox().width)")
        assert all(w > 0 for w in bar_widths) and len(set(bar_widths)) > 1, bar_widths
        assert widget["otd"].locator(".dp-figure:not([hidden]) path.dp-line").evaluate(
            "p => p.getTotalLength()") > 50
        numbers = widget["otd_n"].locator(".dp-figure:not([hidden]) .dp-number").all_text_contents()
        assert numbers and all(n.strip() for n in numbers), numbers
        assert widget["fpy_t"].locator("table tbody tr").count() >= 2
        expect(widget["ncrs"].locator(".dp-lane")).to_have_count(5)
        assert widget["ncrs"].locator(".dp-card").count() >= 1
        # the metric picker switches the figure shown
        picker = widget["oee"].locator("select.dp-metric")
        picker.select_option("units")
        expect(widget["oee"].locator(".dp-figure:not([hidden])")).to_have_attribute("data-metric", "units")

        # -- a screenshot that is not blank
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.exists() and shot.stat().st_size > 20000
        assert png_colours(shot) > 30

        # -- the key: in this tab's sessionStorage only, never in a cookie, localStorage or the URL
        stored = secrets_stored(page, context)
        assert key in stored["session"]
        assert key not in stored["local"] + stored["cookies"] + stored["document_cookie"]
        assert key not in page.url
        # a new tab (a new session) has to ask again
        other = context.new_page()
        other.goto(http.base + "/app/dashboards/plant")
        expect(other.locator("#key-form")).to_be_visible()
        assert key not in other.evaluate("JSON.stringify(Object.assign({}, sessionStorage))")
        other.close()
        # forgetting the key asks for it again
        page.click("#forget")
        expect(page.locator("#key-form")).to_be_visible()
        assert key not in secrets_stored(page, context)["session"]

        assert outside == [], f"the pages fetched from elsewhere: {outside}"
        assert problems == [], problems
    finally:
        context.close()


def test_dashboard_page_asks_again_for_a_refused_key(http, browser):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(http.base + "/app/dashboards/anything")
        page.fill("#key", "dpk_" + "x" * 43)
        page.click("#key-form button[type=submit]")
        expect(page.locator("#error")).to_contain_text("28000")
        expect(page.locator("#key-form")).to_be_visible()
        assert page.evaluate("sessionStorage.length") == 0
    finally:
        context.close()


def test_admin_page_signs_out_on_a_wrong_token(http, browser):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(http.base + "/admin")
        page.fill("#token", "wrong-token")
        page.click("#login button[type=submit]")
        expect(page.locator("#error")).to_contain_text("28000")
        expect(page.locator("#login")).to_be_visible()
        expect(page.locator("#app")).to_be_hidden()
        assert page.evaluate("sessionStorage.length") == 0
    finally:
        context.close()
