"""The pages of `docpal serve` (contract section 12, "Pages"; docs/http.md):
the admin API under /admin/api/ and the dashboard charts route, against a
real server and database (httpx), and the server-side chart renderer
(docpal.server.charts) on its own. The pages in a browser:
test_http_browser.py."""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import httpx
import pytest

from docpal.server import charts
from http_server import *  # noqa: F401,F403
from http_server import ADMIN_TOKEN, Server

BAD_TOKEN = {"Authorization": "Bearer not-the-admin-token"}
SHIPPED = {"school", "workforce", "mes"}


def new_slug(prefix: str = "adm") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(http, **extra) -> dict:
    body = {"slug": new_slug(), "name": "Admin Made", **extra}
    r = http.client.post("/admin/api/companies", json=body, headers=http.admin)
    assert r.status_code == 201, r.text
    return r.json()


def listed(http, slug: str) -> dict | None:
    r = http.client.get("/admin/api/companies", headers=http.admin)
    assert r.status_code == 200, r.text
    return next((c for c in r.json() if c["slug"] == slug), None)


def admin_calls(ref: str) -> list[tuple[str, str, dict | None]]:
    """(method, path, body) of every /admin/api/ route, each with a valid body."""
    return [
        ("GET", "/admin/api/companies", None),
        ("POST", "/admin/api/companies", {"slug": new_slug(), "name": "Nope"}),
        ("GET", f"/admin/api/companies/{ref}", None),
        ("GET", f"/admin/api/companies/{ref}/members", None),
        ("POST", f"/admin/api/companies/{ref}/suspend", {"reason": "nope"}),
        ("POST", f"/admin/api/companies/{ref}/activate", None),
        ("PUT", f"/admin/api/companies/{ref}/quota", {"max_tables": 1}),
        ("POST", f"/admin/api/companies/{ref}/blueprint", {"blueprint": "school"}),
        ("GET", f"/admin/api/companies/{ref}/export", None),
        ("GET", "/admin/api/blueprints", None),
    ]


# ------------------------------------------------------------------ the pages


@pytest.mark.parametrize("path", ["/admin", "/app/dashboards/ops"])
def test_pages_are_static_html_with_a_strict_policy(http, path):
    r = http.client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert r.headers["cache-control"] == "no-store"
    # no asset from elsewhere: every src and href is the server's own
    for ref in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert ref.startswith("/static/") or ref in ("#main", "data:,"), ref
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        assert http.client.get(ref).status_code == 200, ref


def test_page_scripts_keep_secrets_in_the_session_only():
    """Neither script touches localStorage or cookies."""
    from importlib import resources

    for name in ("admin.js", "dashboard.js"):
        text = resources.files("docpal.server").joinpath("static", name).read_text()
        assert "sessionStorage" in text
        code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
        assert "localStorage" not in code and "document.cookie" not in code, name
        assert "credentials: 'omit'" in code, name


# ------------------------------------------------------------------ the admin token


def test_admin_routes_refuse_a_missing_or_wrong_token(http):
    made = create(http)
    ref = made["company"]["id"]
    for method, path, body in admin_calls(ref):
        for headers in ({}, BAD_TOKEN, {"Authorization": f"Basic {ADMIN_TOKEN}"}):
            r = http.client.request(method, path, json=body, headers=headers)
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["code"] == "28000"
    # nothing happened: the company is still active and has no quota
    company = listed(http, made["company"]["slug"])
    assert company["status"] == "active"
    assert all(v is None for v in company["metrics"]["quota"].values())


def test_admin_routes_are_off_without_a_configured_token(http):
    made = create(http)
    server = Server(http.url, env={"DOCPAL_ADMIN_TOKEN": ""})
    try:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            for method, path, body in admin_calls(made["company"]["id"]):
                for headers in ({}, http.admin):
                    r = client.request(method, path, json=body, headers=headers)
                    assert r.status_code == 403, (method, path, r.text)
                    assert r.json()["code"] == "42501"
            assert client.get("/admin").status_code == 200, "the page itself is static"
    finally:
        server.stop()
    assert listed(http, made["company"]["slug"])["status"] == "active"


# ------------------------------------------------------------------ companies


def test_list_companies_with_metrics_and_quotas(http):
    co = http.company()
    r = http.client.get("/admin/api/companies", headers=http.admin)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    found = [c for c in r.json() if c["id"] == co.id]
    assert len(found) == 1
    c = found[0]
    assert (c["slug"], c["status"], c["schema"]) == (co.slug, "active", co.schema)
    m = c["metrics"]
    assert m["company_id"] == co.id and m["tables"] == 0 and m["records"] == 0
    assert set(m["quota"]) == {"max_tables", "max_records", "max_bytes", "max_file_bytes"}
    assert set(m["activity"]) == {"reads", "inserts", "updates", "deletes"}


def test_create_company_with_a_new_owner_and_a_key(http):
    email = f"boss-{uuid.uuid4().hex[:8]}@example.com"
    made = create(http, owner={"email": email, "display_name": "Boss"}, api_key=True)
    company, owner, key = made["company"], made["owner"], made["api_key"]
    assert company["status"] == "active" and company["name"] == "Admin Made"
    assert (owner["email"], owner["display_name"], owner["created"]) == (email, "Boss", True)
    assert key["key"].startswith("dpk_") and key["scopes"] == ["read", "create", "update", "delete"]
    # the key acts as the owner in the new company
    r = http.client.get("/api/schemas", headers={"Authorization": f"Bearer {key['key']}"})
    assert r.status_code == 200 and r.json() == [], r.text
    r = http.client.get(f"/admin/api/companies/{company['slug']}/members", headers=http.admin)
    assert r.status_code == 200
    assert [(m["email"], m["role"]) for m in r.json()] == [(email, "owner")]
    assert listed(http, company["slug"])["id"] == company["id"]


def test_get_one_company_where_its_creation_points(http):
    slug = new_slug()
    r = http.client.post("/admin/api/companies", json={"slug": slug, "name": "One"}, headers=http.admin)
    assert r.status_code == 201, r.text
    cid = r.json()["company"]["id"]
    assert r.headers["location"] == f"/admin/api/companies/{cid}"
    for ref in (cid, slug):
        got = http.client.get(f"/admin/api/companies/{ref}", headers=http.admin)
        assert got.status_code == 200, got.text
        assert (got.json()["id"], got.json()["name"], got.json()["metrics"]["slug"]) == (cid, "One", slug)


def test_create_company_with_an_existing_owner(http):
    email = f"again-{uuid.uuid4().hex[:8]}@example.com"
    first = create(http, owner={"email": email, "display_name": "Again"})
    # another case of the same email: the same user, not a new one (no name needed)
    second = create(http, owner={"email": email.upper()})
    assert second["owner"]["created"] is False and second["owner"]["id"] == first["owner"]["id"]
    assert "api_key" not in second


def test_create_company_refuses_a_taken_slug(http):
    made = create(http)
    r = http.client.post("/admin/api/companies", json={"slug": made["company"]["slug"], "name": "Twice"},
                         headers=http.admin)
    assert r.status_code == 409 and r.json()["code"] == "23505"


@pytest.mark.parametrize("body", [
    None, [], "text", {"name": "No slug"}, {"slug": 7, "name": "X"}, {"slug": "ok-slug"},
    {"slug": "ok-slug", "name": ""}, {"slug": "ok-slug", "name": "X", "colour": "red"},
    {"slug": "ok-slug", "name": "X", "settings": []}, {"slug": "ok-slug", "name": "X", "owner": "a@b.cd"},
    {"slug": "ok-slug", "name": "X", "owner": {"mail": "a@b.cd"}},
    {"slug": "ok-slug", "name": "X", "api_key": True},
    {"slug": "ok-slug", "name": "X", "owner": {"email": "a@b.cd"}, "api_key": "yes"},
])
def test_create_company_refuses_bad_input_before_sql(http, body):
    r = http.client.post("/admin/api/companies", content=b"" if body is None else json.dumps(body),
                         headers={**http.admin, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "22023", r.text
    assert listed(http, "ok-slug") is None


@pytest.mark.parametrize("body", [
    {"slug": "Bad Slug", "name": "X"},  # create_company's rule
    {"slug": "", "name": "X"},
    {"owner": {"email": "not-an-email", "display_name": "X"}},  # create_user's rule
    {"owner": {"email": "new-{}@example.com"}},  # a new user needs a name
])
def test_create_company_is_all_or_nothing(http, body):
    slug = new_slug("aon")
    full = {"slug": slug, "name": "X", **body}
    if "owner" in full and "{}" in full["owner"]["email"]:
        full["owner"]["email"] = full["owner"]["email"].format(uuid.uuid4().hex[:8])
    r = http.client.post("/admin/api/companies", json=full, headers=http.admin)
    assert r.status_code == 400 and r.json()["code"] == "22023", r.text
    assert listed(http, slug) is None, "the company of a failed create is not there"


def test_suspend_and_activate(http):
    made = create(http, owner={"email": f"s-{uuid.uuid4().hex[:8]}@example.com", "display_name": "S"},
                  api_key=True)
    slug, cid = made["company"]["slug"], made["company"]["id"]
    key = {"Authorization": f"Bearer {made['api_key']['key']}"}
    r = http.client.post(f"/admin/api/companies/{cid}/suspend", json={"reason": "unpaid invoices"},
                         headers=http.admin)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["status_reason"]) == ("suspended", "unpaid invoices")
    assert listed(http, slug)["status"] == "suspended"
    assert http.client.get("/api/schemas", headers=key).status_code in (401, 403)
    r = http.client.post(f"/admin/api/companies/{slug}/activate", headers=http.admin)  # by slug
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["status_reason"] is None
    assert http.client.get("/api/schemas", headers=key).status_code == 200


@pytest.mark.parametrize("body", [None, {}, {"reason": ""}, {"reason": 5}, {"reason": "x", "until": "later"}, []])
def test_suspend_needs_a_reason(http, body):
    made = create(http)
    r = http.client.post(f"/admin/api/companies/{made['company']['id']}/suspend",
                         content=b"" if body is None else json.dumps(body),
                         headers={**http.admin, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "22023", r.text
    assert listed(http, made["company"]["slug"])["status"] == "active"


@pytest.mark.parametrize("ref, status, code", [
    (str(uuid.uuid4()), 404, "P0002"), ("no-such-company-here", 404, "P0002"),
    ("Not A Ref", 400, "22023"), ("x" * 70, 400, "22023"),
])
def test_an_unknown_or_malformed_company(http, ref, status, code):
    for method, path, body in admin_calls(ref)[2:-1]:
        r = http.client.request(method, path, json=body, headers=http.admin)
        assert (r.status_code, r.json()["code"]) == (status, code), (method, path, r.text)


def test_set_quota(http):
    made = create(http)
    cid = made["company"]["id"]
    r = http.client.put(f"/admin/api/companies/{cid}/quota", json={"max_tables": 3, "max_records": None},
                        headers=http.admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"max_tables": 3, "max_records": None, "max_bytes": None, "max_file_bytes": None}
    assert listed(http, made["company"]["slug"])["metrics"]["quota"]["max_tables"] == 3
    r = http.client.put(f"/admin/api/companies/{cid}/quota", json={}, headers=http.admin)
    assert r.status_code == 200 and r.json()["max_tables"] is None


@pytest.mark.parametrize("body", [[], {"max_tables": -1}, {"max_tabels": 3}, {"max_tables": "many"}])
def test_set_quota_refuses_bad_input(http, body):
    made = create(http)
    r = http.client.put(f"/admin/api/companies/{made['company']['id']}/quota", json=body, headers=http.admin)
    assert r.status_code == 400 and r.json()["code"] == "22023", r.text


def test_apply_a_shipped_blueprint(http):
    made = create(http, owner={"email": f"bp-{uuid.uuid4().hex[:8]}@example.com", "display_name": "Bp"})
    cid = made["company"]["id"]
    r = http.client.post(f"/admin/api/companies/{cid}/blueprint", json={"blueprint": "school"}, headers=http.admin)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["name"] == "school" and result["previous_version"] is None
    assert {"classes", "students", "attendance"} <= set(result["created"]["tables"])
    assert {"attendance_rate", "grade_average"} <= set(result["created"]["reports"])
    assert listed(http, made["company"]["slug"])["metrics"]["tables"] == len(result["created"]["tables"])
    # again: the same version changes nothing
    r = http.client.post(f"/admin/api/companies/{cid}/blueprint", json={"blueprint": "school"}, headers=http.admin)
    assert r.status_code == 200 and r.json()["created"]["tables"] == []


def test_list_shipped_blueprints(http):
    r = http.client.get("/admin/api/blueprints", headers=http.admin)
    assert r.status_code == 200
    assert {b["name"] for b in r.json()} == SHIPPED
    assert all(isinstance(b["version"], int) and b["description"] for b in r.json())


@pytest.mark.parametrize("body", [
    {}, {"blueprint": "nope"}, {"blueprint": "/etc/passwd"}, {"blueprint": "../blueprints/school.json"},
    {"blueprint": "school.json"}, {"blueprint": 3}, {"blueprint": "school", "as": "x"},
    {"blueprint": {"name": "broken"}},  # apply_blueprint's check of a document
])
def test_apply_blueprint_refuses_bad_input(http, body):
    made = create(http, owner={"email": f"bb-{uuid.uuid4().hex[:8]}@example.com", "display_name": "Bb"})
    r = http.client.post(f"/admin/api/companies/{made['company']['id']}/blueprint", json=body, headers=http.admin)
    assert r.status_code == 400 and r.json()["code"] == "22023", r.text
    assert listed(http, made["company"]["slug"])["metrics"]["tables"] == 0


def test_apply_blueprint_needs_an_owner(http):
    made = create(http)
    r = http.client.post(f"/admin/api/companies/{made['company']['id']}/blueprint", json={"blueprint": "mes"},
                         headers=http.admin)
    assert r.status_code == 400 and "no owner" in r.json()["message"], r.text


def test_download_an_export(http):
    co = http.company()
    http.sql(co, co.owner, "select docpal.create_table(%s)",
             json.dumps({"slug": "notes", "name": "Notes", "columns": [{"name": "body", "type": "text"}]}))
    http.sql(co, co.owner, "select docpal.create_record('notes', %s)", json.dumps({"body": "hello"}))
    r = http.client.get(f"/admin/api/companies/{co.id}/export", headers=http.admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["content-disposition"] == f'attachment; filename="{co.slug}.json"'
    doc = r.json()
    assert doc["format"] == "docpal-export" and doc["company"]["slug"] == co.slug
    assert [rec["body"] for rec in doc["records"]["notes"]] == ["hello"]
    assert "history" not in doc
    r = http.client.get(f"/admin/api/companies/{co.slug}/export?history=true", headers=http.admin)
    assert r.status_code == 200 and len(r.json()["history"]) >= 1
    r = http.client.get(f"/admin/api/companies/{co.slug}/export?history=maybe", headers=http.admin)
    assert r.status_code == 400 and r.json()["code"] == "22023"


# ------------------------------------------------------------------ the dashboard charts route

TASKS = {"slug": "tasks", "name": "Tasks", "columns": [
    {"name": "title", "type": "text"}, {"name": "team", "type": "select", "options": ["a", "b"]},
    {"name": "hours", "type": "decimal", "precision": 8, "scale": 2}]}
REPORTS = [
    {"slug": "by_team", "name": "Hours by team", "table": "tasks", "kind": "aggregate",
     "spec": {"group_by": ["team"], "metrics": {"n": "count", "hours": {"sum": "hours"}}}},
    {"slug": "board", "name": "Board", "table": "tasks", "kind": "kanban",
     "spec": {"group_by": "team", "columns": ["title", "hours"]}},
    {"slug": "list", "name": "List", "table": "tasks", "kind": "query",
     "spec": {"columns": ["title", "hours"], "filters": {"hours": {"gte": "$param.min"}}, "sort": ["title"]},
     "params": {"min": {"type": "integer", "default": 0}}},
]
BOARD = {"slug": "ops", "name": "Ops <b>board</b>", "widgets": [
    {"id": "bars", "report": "by_team", "chart": "bar", "x": 0, "y": 0, "w": 12, "h": 4},
    {"id": "pie", "report": "by_team", "chart": "pie", "x": 12, "y": 0, "w": 12, "h": 4},
    {"id": "line", "report": "by_team", "chart": "line", "x": 0, "y": 4, "w": 12, "h": 4},
    {"id": "num", "report": "list", "chart": "number", "x": 12, "y": 4, "w": 6, "h": 2},
    {"id": "tab", "report": "list", "chart": "table", "x": 18, "y": 4, "w": 6, "h": 4},
    {"id": "kan", "report": "board", "chart": "kanban", "x": 0, "y": 8, "w": 24, "h": 4}]}


@pytest.fixture(scope="module")
def board_co(http):
    co = http.company("dash")
    http.sql(co, co.owner, "select docpal.create_table(%s)", json.dumps(TASKS))
    for title, team, hours in (("<script>alert(1)</script>", "a", "1.5"), ("two", "a", "2"), ("three", "b", "4")):
        http.sql(co, co.owner, "select docpal.create_record('tasks', %s)",
                 json.dumps({"title": title, "team": team, "hours": hours}))
    for spec in REPORTS:
        http.sql(co, co.owner, "select docpal.save_report(%s)", json.dumps(spec))
    http.sql(co, co.owner, "select docpal.save_dashboard(%s)", json.dumps(BOARD))
    return co


def test_dashboard_charts_are_drawn_for_the_key(http, board_co):
    r = http.client.get("/app/dashboards/ops/charts", headers=board_co.auth("owner"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html") and r.headers["cache-control"] == "no-store"
    page = r.text
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Ops &lt;b&gt;board&lt;/b&gt;" in page
    assert page.count('class="dp-widget') == 6
    # two metrics (n, hours): a figure each, two groups (teams a and b) in each
    assert page.count('class="dp-bar"') == 4 and page.count('class="dp-slice"') == 4
    assert page.count('class="dp-line"') == 2 and page.count('class="dp-card"') == 3
    assert "<title>a: 3.5</title>" in page and "<title>b: 4</title>" in page  # hours, summed
    assert '<data class="dp-number" value="3">3</data>' in page  # the list's total


def test_dashboard_widgets_the_key_may_not_read_show_their_error(http, board_co):
    """The member has no grant on tasks: every widget says so, none shows data."""
    r = http.client.get("/app/dashboards/ops/charts", headers=board_co.auth("member"))
    assert r.status_code == 200, r.text
    assert r.text.count('class="dp-widget') == 6 and r.text.count('<p class="dp-error">') == 6
    assert "(42501)" in r.text and "<svg" not in r.text and "alert(1)" not in r.text


def test_dashboard_charts_take_params(http, board_co):
    r = http.client.get("/app/dashboards/ops/charts", params={"params": json.dumps({"min": 3})},
                        headers=board_co.auth())
    assert r.status_code == 200, r.text
    assert '<data class="dp-number" value="1">1</data>' in r.text


@pytest.mark.parametrize("path, headers, status, code", [
    ("/app/dashboards/ops/charts", {}, 401, "28000"),
    ("/app/dashboards/ops/charts", {"Authorization": "Bearer dpk_wrong"}, 401, "28000"),
    ("/app/dashboards/nope/charts", "owner", 404, "P0002"),
    ("/app/dashboards/Bad-Slug/charts", "owner", 400, "22023"),
    ("/app/dashboards/ops/charts?params=%5B%5D", "owner", 400, "22023"),
    ("/app/dashboards/ops/charts?params=%7Bnot", "owner", 400, "22023"),
    ("/app/dashboards/ops/charts?params=%7B%22zzz%22%3A1%7D", "owner", 400, "22023"),  # a param no report has
])
def test_dashboard_charts_errors(http, board_co, path, headers, status, code):
    r = http.client.get(path, headers=board_co.auth(headers) if isinstance(headers, str) else headers)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text


def test_another_companys_key_sees_no_dashboard(http, board_co):
    other = http.company("other")
    r = http.client.get("/app/dashboards/ops/charts", headers=other.auth())
    assert r.status_code == 404 and r.json()["code"] == "P0002"


# ------------------------------------------------------------------ the renderer


HOSTILE = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='alert(1)", "&amp;<b>"]


class Tags(HTMLParser):
    """Every start tag and attribute of an HTML fragment."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_harmless(fragment: str) -> None:
    tags = Tags(fragment).tags
    assert not [t for t, _ in tags if t in ("script", "img", "b", "iframe", "style")]
    assert not [(t, a) for t, attrs in tags for a in attrs if a.startswith("on") or a == "style"]
    for raw in HOSTILE:
        assert raw not in fragment


def svgs(fragment: str) -> list[ET.Element]:
    """Each <svg> of the fragment, parsed as XML (so it is well formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", fragment, re.S)]


SVG = "{http://www.w3.org/2000/svg}"

AGG_REPORT = {"slug": "sales", "kind": "aggregate",
              "spec": {"group_by": ["region"], "metrics": {"n": "count", "total": {"sum": "amount"},
                                                           "share": {"expr": "total / n"}}}}


def agg_widget(chart: str, groups: list[dict], **extra) -> dict:
    return {"id": "w", "title": "Sales", "report": "sales", "chart": chart, "x": 0, "y": 0, "w": 12, "h": 4,
            "source": "live", "ran_at": "2026-01-01T00:00:00+00:00", "data": {"groups": groups}, **extra}


GROUPS = [{"region": "north", "n": 3, "total": "120.50", "share": "40.1667"},
          {"region": "south", "n": 1, "total": "80", "share": "80.0000"},
          {"region": None, "n": 2, "total": "0E-20", "share": None}]


@pytest.mark.parametrize("chart", ["bar", "line", "pie", "number", "table"])
def test_renderer_escapes_hostile_text_in_every_chart(chart):
    groups = [{"region": text, "n": i + 1, "total": str(i * 10 + 5), "share": "1.5"} for i, text in enumerate(HOSTILE)]
    report = {**AGG_REPORT, "spec": {**AGG_REPORT["spec"], "metrics": {**AGG_REPORT["spec"]["metrics"],
                                                                       HOSTILE[1]: "count"}}}
    for g in groups:
        g[HOSTILE[1]] = 1
    board = {"slug": "s", "name": HOSTILE[0], "widgets": [agg_widget(chart, groups, title=HOSTILE[2])]}
    out = charts.render_dashboard(board, [report])
    assert_harmless(out)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in out
    for svg in svgs(out):
        assert svg.get("role") == "img"
        assert HOSTILE[2] in svg.find(f"{SVG}title").text


def test_renderer_escapes_kanban_and_table_rows():
    data = {"groups": [{"value": HOSTILE[0], "count": 1, "rows": [{"id": "x", HOSTILE[3]: HOSTILE[1]}]}]}
    board = {"slug": "k", "widgets": [
        {"id": "k", "title": "K", "report": "k", "chart": "kanban", "x": 0, "y": 0, "w": 6, "h": 4, "data": data},
        {"id": "t", "title": "T", "report": "k", "chart": "table", "x": 6, "y": 0, "w": 6, "h": 4, "data": data},
        {"id": "e", "title": "E", "report": "gone", "chart": "bar", "x": 0, "y": 4, "w": 6, "h": 4,
         "error": {"sqlstate": "P0002", "message": HOSTILE[0]}}]}
    out = charts.render_dashboard(board, [{"slug": "k", "kind": "kanban", "spec": {}}])
    assert_harmless(out)
    assert out.count('class="dp-card"') == 1 and "This widget cannot be shown" in out


def test_renderer_bar_chart():
    out = charts.render_dashboard({"slug": "s", "widgets": [agg_widget("bar", GROUPS)]}, [AGG_REPORT])
    figures = re.findall(r'<figure class="dp-figure" data-metric="([^"]+)"( hidden)?>', out)
    # one figure per metric, the headline (the formula metric) shown first, the others hidden
    assert sorted(m for m, _ in figures) == ["n", "share", "total"]
    assert [m for m, hidden in figures if not hidden] == ["share"]
    assert '<select id="dp-metric-' in out and '<option value="share" selected>' in out
    drawn = svgs(out)
    assert len(drawn) == 3
    total = next(s for s in drawn if s.find(f"{SVG}title").text == "Sales: total")
    bars = total.findall(f"{SVG}rect")
    assert [b.find(f"{SVG}title").text for b in bars] == ["north: 120.5", "south: 80", "(none): 0"]
    assert float(bars[0].get("width")) > float(bars[1].get("width"))
    assert "north: 120.5; south: 80; (none): 0" in total.find(f"{SVG}desc").text
    assert '<details class="dp-data"><summary>Data table</summary>' in out


def test_renderer_line_chart_breaks_at_nulls():
    groups = [{"region": f"r{i}", "n": i, "total": "1", "share": None if i == 2 else str(i)} for i in range(5)]
    out = charts.render_dashboard({"slug": "s", "widgets": [agg_widget("line", groups)]}, [AGG_REPORT])
    share = next(s for s in svgs(out) if s.find(f"{SVG}title").text == "Sales: share")
    path = share.find(f"{SVG}path").get("d")
    assert path.count("M") == 2 and path.count("L") == 2  # r0-r1, then r3-r4
    assert len(share.findall(f"{SVG}circle")) == 4


def test_renderer_pie_chart():
    out = charts.render_dashboard({"slug": "s", "widgets": [agg_widget("pie", GROUPS)]}, [AGG_REPORT])
    n = next(s for s in svgs(out) if s.find(f"{SVG}title").text == "Sales: n")
    slices = n.findall(f"{SVG}path")
    assert [s.find(f"{SVG}title").text for s in slices] == ["north: 3 (50.0%)", "(none): 2 (33.3%)", "south: 1 (16.7%)"]
    # one positive value: a whole circle; the zero and null ones are said, not drawn
    total = next(s for s in svgs(out) if s.find(f"{SVG}title").text == "Sales: total")
    assert len(total.findall(f"{SVG}path")) == 2
    share = next(s for s in svgs(out) if s.find(f"{SVG}title").text == "Sales: share")
    assert "1 of the values are zero, negative or empty" in share.find(f"{SVG}desc").text
    one = charts.render_dashboard({"slug": "s", "widgets": [agg_widget("pie", GROUPS[:1])]}, [AGG_REPORT])
    assert all(len(s.findall(f"{SVG}circle")) == 1 for s in svgs(one))


def test_renderer_many_slices_join_as_other():
    groups = [{"region": f"r{i}", "n": 20 - i, "total": "1", "share": "1"} for i in range(12)]
    out = charts.render_dashboard({"slug": "s", "widgets": [agg_widget("pie", groups)]}, [AGG_REPORT])
    n = next(s for s in svgs(out) if s.find(f"{SVG}title").text == "Sales: n")
    titles = [s.find(f"{SVG}title").text for s in n.findall(f"{SVG}path")]
    assert len(titles) == charts.MAX_SLICES and titles[-1].startswith("Other: ")


def test_renderer_number_and_table():
    out = charts.render_dashboard({"slug": "s", "widgets": [
        agg_widget("number", GROUPS[:1]),
        {"id": "q", "title": "Q", "report": "q", "chart": "number", "x": 0, "y": 0, "w": 6, "h": 2,
         "data": {"rows": [{"id": "1", "title": "a", "hours": "2.50"}], "total": 1234}},
        {"id": "t", "title": "T", "report": "q", "chart": "table", "x": 0, "y": 0, "w": 6, "h": 2,
         "data": {"rows": [{"id": "1", "title": "a", "hours": "2.50"}], "total": 1234}}]},
        [AGG_REPORT, {"slug": "q", "kind": "query", "spec": {"columns": ["title", "hours"]}}])
    assert '<data class="dp-number" value="40.1667">40.1667</data>' in out  # the headline metric
    assert '<data class="dp-number" value="1234">1,234</data>' in out  # a query's total
    assert '<th scope="col">title</th><th scope="col">hours</th>' in out
    assert '<td class="dp-num">2.5</td>' in out and "1 of 1234 rows" in out


def test_renderer_calendar_and_unknown_report():
    events = {"events": [{"id": "1", "label": "A", "start": "2026-01-02", "end": None},
                         {"id": "2", "label": "B", "start": "2026-01-02T10:00:00+00:00", "end": None},
                         {"id": "3", "label": "C", "start": "2026-01-05", "end": "2026-01-06"}]}
    out = charts.render_dashboard({"slug": "c", "widgets": [
        {"id": "b", "title": "Cal", "report": "gone", "chart": "bar", "x": 0, "y": 0, "w": 6, "h": 2, "data": events},
        {"id": "t", "title": "Cal", "report": "gone", "chart": "table", "x": 0, "y": 0, "w": 6, "h": 2,
         "data": events}]}, [])
    [bars] = svgs(out)
    assert [r.find(f"{SVG}title").text for r in bars.findall(f"{SVG}rect")] == ["2026-01-02: 2", "2026-01-05: 1"]
    assert '<th scope="col">label</th><th scope="col">start</th><th scope="col">end</th>' in out


@pytest.mark.parametrize("chart", ["number", "bar", "line", "pie", "table", "kanban"])
def test_renderer_empty_data(chart):
    data = {"groups": []}
    out = charts.render_dashboard({"slug": "e", "widgets": [
        {"id": "e", "title": "Empty", "report": "r", "chart": chart, "x": 0, "y": 0, "w": 6, "h": 2, "data": data}]},
        [{"slug": "r", "kind": "kanban" if chart == "kanban" else "aggregate", "spec": {"metrics": {"n": "count"}}}])
    assert "No data." in out and svgs(out) == []
    assert "This dashboard has no widgets." in charts.render_dashboard({"slug": "e", "name": "E", "widgets": []})


def test_renderer_negative_values_and_layout():
    groups = [{"region": "up", "n": 5}, {"region": "down", "n": -5}]
    report = {"slug": "r", "kind": "aggregate", "spec": {"group_by": ["region"], "metrics": {"n": "count"}}}
    widget = {**agg_widget("bar", groups, report="r"), "x": 20, "w": 12, "y": "7"}
    out = charts.render_dashboard({"slug": "s", "widgets": [widget]}, [report])
    [svg] = svgs(out)
    up, down = svg.findall(f"{SVG}rect")
    assert float(up.get("x")) > float(down.get("x"))  # the zero line between them
    assert 'data-x="20" data-y="0" data-w="4" data-h="4"' in out  # clamped to the grid


def test_number_formatting():
    assert [charts.fmt_number(v) for v in ("0E-20", "0.50000000000000000000", 1234567, "0.000012345", "-3.14159")] \
        == ["0", "0.5", "1,234,567", "1.23e-05", "-3.1416"]
    assert charts.number("1e400") is None and charts.number(True) is None and charts.number("12abc") is None
