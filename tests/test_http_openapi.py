"""GET /api/openapi.json and GET /api/docs (contract section 12, "OpenAPI";
generator/server/openapi.py), against a real `docpal serve` and a real
database: the document is valid OpenAPI 3.1, every record the API returns
validates against its table's schema, a company's document shows only that
company's tables and a member's only what it may read, a typed client
generated from it parses real records, and the docs page loads nothing from
another origin."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
import uuid

import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Match, Route

from http_server import *  # noqa: F401,F403
from http_server import VENV_BIN

# --- a company with a table of every column type ---------------------------------------

ALL_COLUMNS = [
    {"name": "t", "type": "text", "required": True, "min_length": 1, "max_length": 20, "pattern": "^[a-z]+$"},
    {"name": "t2", "type": "text", "pattern": "^[[:alpha:]]+$"},
    {"name": "lt", "type": "long_text", "max_length": 500},
    {"name": "rt", "type": "rich_text"},
    {"name": "i", "type": "integer", "min": 0, "max": 100},
    {"name": "bi", "type": "bigint"},
    {"name": "d", "type": "decimal", "precision": 12, "scale": 2, "min": 0},
    {"name": "f", "type": "float"},
    {"name": "cur", "type": "currency", "currency": "EUR"},
    {"name": "pct", "type": "percent", "min": 0, "max": 100},
    {"name": "b", "type": "boolean"},
    {"name": "dt", "type": "date", "min": "2020-01-01"},
    {"name": "tm", "type": "time"},
    {"name": "ts", "type": "datetime"},
    {"name": "dur", "type": "duration"},
    {"name": "em", "type": "email"},
    {"name": "ur", "type": "url"},
    {"name": "ph", "type": "phone"},
    {"name": "js", "type": "json"},
    {"name": "uu", "type": "uuid"},
    {"name": "sel", "type": "select", "options": ["a", "b"], "default": "a"},
    {"name": "sel2", "type": "select", "type_list": "sizes"},
    {"name": "ms", "type": "multi_select", "options": ["x", "y"]},
    {"name": "rel", "type": "relation", "target": "cats"},
    {"name": "rm", "type": "relation_many", "target": "cats"},
    {"name": "us", "type": "user"},
    {"name": "fi", "type": "file"},
    {"name": "an", "type": "autonumber", "prefix": "INV-"},
    {"name": "ra", "type": "rating", "max": 10},
    {"name": "co", "type": "color"},
    {"name": "fo", "type": "formula", "expression": "i * 2"},
    {"name": "st", "type": "select", "options": ["draft", "done"], "default": "draft"},
]

#: every docpal type (contract section 2) is in ALL_COLUMNS
TYPES = {"text", "long_text", "rich_text", "integer", "bigint", "decimal", "float", "currency", "percent",
         "boolean", "date", "time", "datetime", "duration", "email", "url", "phone", "json", "uuid", "select",
         "multi_select", "relation", "relation_many", "user", "file", "autonumber", "rating", "color", "formula"}


def setup_all_types(http, co) -> None:
    """Tables `cats` and `all_types`, a type list, a workflow, and records:
    one with every value set (through the API), one with only what is
    required, one written by plain SQL (no context: created_by is null)."""
    run = lambda q, *p: http.sql(co, co.owner, q, *p)  # noqa: E731
    run("select docpal.create_type_list('sizes', %s::jsonb)", json.dumps(["s", "m"]))
    run("select docpal.create_table(%s::jsonb)", json.dumps({"slug": "cats", "columns": [{"name": "name", "type": "text"}]}))
    run("select docpal.create_table(%s::jsonb)", json.dumps({"slug": "all_types", "name": "All types", "columns": ALL_COLUMNS}))
    run("select docpal.define_workflow(%s::jsonb)", json.dumps({
        "name": "finish", "table": "all_types", "state_column": "st", "initial": "draft",
        "transitions": [{"name": "close", "from": ["draft"], "to": "done", "roles": ["owner"]}]}))
    cat = http.client.post("/api/records/cats", headers=co.auth(), json={"name": "c"}).json()
    file = http.client.post("/api/files", headers=co.auth(), json={
        "name": "a.pdf", "size": 3, "mime": "application/pdf", "sha256": "a" * 64, "storage_key": "k"}).json()
    full = {"t": "abc", "lt": "x", "rt": "<p>x</p>", "i": 5, "bi": 2 ** 40, "d": 12.5, "f": 1.5, "cur": 9.99,
            "pct": 50, "b": True, "dt": "2024-01-02", "tm": "13:45:00.25", "ts": "2024-01-02T03:04:05Z",
            "dur": "1 day 2 hours", "em": "a@b.co", "ur": "https://example.com/a?b=c", "ph": "+1 555 0100",
            "js": {"a": [1, None]}, "uu": str(uuid.uuid4()), "sel": "b", "sel2": "s", "ms": ["x", "y"],
            "rel": cat["id"], "rm": [cat["id"]], "us": co.owner, "fi": file["id"], "ra": 10, "co": "#A1b2C3"}
    for body in (full, {"t": "z"}):
        r = http.client.post("/api/records/all_types", headers=co.auth(), json=body)
        assert r.status_code == 201, r.text
    http.db.execute(f"insert into {co.schema}.all_types (t) values ('plain')")


def openapi(http, co, who: str = "owner") -> dict:
    r = http.client.get("/api/openapi.json", headers=co.auth(who))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def validator(doc: dict, name: str) -> jsonschema.Draft202012Validator:
    """A JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) of one
    component schema, with formats checked."""
    assert name in doc["components"]["schemas"], name
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def problems(doc: dict, name: str, value) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(doc, name).iter_errors(value)]


@pytest.fixture(scope="module")
def every_type(http):
    co = http.company()
    setup_all_types(http, co)
    return co


# --- the document ----------------------------------------------------------------------


def test_document_is_valid_openapi_3_1(http, every_type):
    doc = openapi(http, every_type)
    validate(doc)  # openapi-spec-validator: raises on any error
    assert doc["openapi"].startswith("3.1")
    bearer = doc["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert doc["security"] == [{"bearer": []}]
    for path in ("/api/records/all_types", "/api/records/all_types/{id}", "/api/records/all_types/query/kanban",
                 "/api/records/all_types/stats/agg", "/api/records/all_types/{id}/versions/{n}",
                 "/api/records/cats/{id}/transitions/{name}", "/api/schemas/{table}/columns/{column}",
                 "/api/reports/{slug}/run", "/api/dashboards/{slug}", "/api/files", "/api/events",
                 "/api/openapi.json"):
        assert path in doc["paths"], path
    assert "text/event-stream" in doc["paths"]["/api/events"]["get"]["responses"]["200"]["content"]
    # the workflow's transitions are the names the path takes
    name = next(p for p in doc["paths"]["/api/records/all_types/{id}/transitions/{name}"]["parameters"]
                if p.get("name") == "name")
    assert name["schema"]["enum"] == ["close"]


def test_every_operation_lists_its_errors_and_if_match(http, every_type):
    doc = openapi(http, every_type)
    responses = doc["components"]["responses"]
    names = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound", "409": "Conflict",
             "412": "PreconditionFailed", "429": "TooManyRequests", "503": "ServiceUnavailable"}
    assert set(responses) == set(names.values())
    for value in responses.values():
        assert value["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "Retry-After" in responses["TooManyRequests"]["headers"]
    assert "Retry-After" in responses["ServiceUnavailable"]["headers"]
    one = doc["paths"]["/api/records/all_types/{id}"]
    for method in ("put", "patch", "delete"):
        op = one[method]
        assert {"$ref": "#/components/parameters/If-Match"} in op["parameters"], method
        assert op["responses"]["412"] == {"$ref": "#/components/responses/PreconditionFailed"}
    assert "ETag" in one["get"]["responses"]["200"]["headers"]
    assert "412" not in one["get"]["responses"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters" or op.get("security") == []:
                continue
            for status in ("401", "403", "429", "503"):
                assert op["responses"][status] == {"$ref": f"#/components/responses/{names[status]}"}, (path, method)


def test_column_types_map_onto_json_schema(http, every_type):
    doc = openapi(http, every_type)
    record = doc["components"]["schemas"]["AllTypesRecord"]
    props = record["properties"]
    assert {c["type"] for c in ALL_COLUMNS} == TYPES
    assert {props[c["name"]]["x-docpal-type"] for c in ALL_COLUMNS} == TYPES
    assert props["t"]["type"] == "string" and props["t"]["maxLength"] == 20 and props["t"]["minLength"] == 1
    assert props["t"]["pattern"] == "^[a-z]+$"
    # a POSIX-only pattern is no ECMA-262 `pattern`: it is described instead
    assert "pattern" not in props["t2"] and "^[[:alpha:]]+$" in props["t2"]["description"]
    assert props["i"]["type"] == ["integer", "null"] and (props["i"]["minimum"], props["i"]["maximum"]) == (0, 100)
    assert props["bi"]["type"] == ["integer", "null"] and props["bi"]["format"] == "int64"
    for name in ("d", "f", "cur", "pct"):
        assert props[name]["type"] == ["number", "null"], name
    assert props["d"]["exclusiveMaximum"] == 10 ** 10 and props["d"]["minimum"] == 0
    assert props["b"]["type"] == ["boolean", "null"]
    assert props["dt"]["format"] == "date" and props["ts"]["format"] == "date-time"
    assert "pattern" in props["tm"] and props["dur"]["type"] == ["string", "null"]
    assert props["em"]["format"] == "email" and props["ur"]["format"] == "uri"
    for name in ("uu", "rel", "us", "fi"):
        assert props[name]["format"] == "uuid", name
    assert props["sel"]["enum"] == ["a", "b", None]
    assert "type list `sizes`" in props["sel2"]["description"]
    assert props["ms"]["items"]["enum"] == ["x", "y"] and props["ms"]["type"] == ["array", "null"]
    assert props["rm"] == {**props["rm"], "type": "array", "items": {"type": "string", "format": "uuid"}}
    assert "type" not in props["js"]  # any JSON value
    assert (props["ra"]["minimum"], props["ra"]["maximum"]) == (0, 10)
    assert props["co"]["pattern"] == "^#[0-9A-Fa-f]{6}$"
    assert props["an"]["readOnly"] is True and props["an"]["type"] == "integer"
    assert props["fo"]["readOnly"] is True and props["fo"]["type"] == ["integer", "null"]
    for system in ("id", "version", "created_at", "updated_at", "created_by", "updated_by"):
        assert system in props and system in record["required"], system
    assert "t" in record["required"] and "i" not in record["required"]

    create = doc["components"]["schemas"]["AllTypesCreate"]
    assert create["required"] == ["t"] and create["additionalProperties"] is False
    assert "an" not in create["properties"] and "fo" not in create["properties"]
    assert create["properties"]["sel"]["default"] == "a"
    update = doc["components"]["schemas"]["AllTypesUpdate"]
    assert "required" not in update and "an" not in update["properties"]


def test_every_record_the_api_returns_validates(http, every_type):
    co = every_type
    doc = openapi(http, co)
    page = http.client.get("/api/records/all_types", headers=co.auth()).json()
    assert len(page["rows"]) == 3
    assert problems(doc, "AllTypesPage", page) == []
    for row in page["rows"]:
        assert problems(doc, "AllTypesRecord", row) == [], row
        one = http.client.get(f"/api/records/all_types/{row['id']}", headers=co.auth()).json()
        assert problems(doc, "AllTypesRecord", one) == []
    # the same through SQL (query_table and get_record are the API's source)
    for row in http.sql(co, co.owner, "select docpal.query_table('all_types', '{}')")["rows"]:
        assert problems(doc, "AllTypesRecord", row) == []
    full = next(row for row in page["rows"] if row["t"] == "abc")
    assert isinstance(full["d"], float) and isinstance(full["bi"], int)  # numbers read as JSON numbers
    # ...and the schema is not vacuous: wrong values are refused
    for key, bad in (("ra", 11), ("i", "5"), ("sel", "c"), ("co", "red"), ("ts", "yesterday"), ("rm", None),
                     ("version", 0), ("uu", "not-a-uuid"), ("t", None)):
        assert problems(doc, "AllTypesRecord", {**full, key: bad}), key
    # the body that created it fits the create schema; a record's own keys do not
    body = {k: v for k, v in full.items() if k not in ("version", "created_at", "updated_at", "created_by",
                                                        "updated_by", "an", "fo")}
    assert problems(doc, "AllTypesCreate", body) == []
    assert problems(doc, "AllTypesCreate", full)  # version, an, fo... are not writable
    assert problems(doc, "AllTypesCreate", {"i": 1})  # t is required


def check_response(doc: dict, r, path: str, method: str) -> None:
    """The response has a status the document lists for the operation, and
    its body matches that status's schema."""
    op = doc["paths"][path][method]
    assert str(r.status_code) in op["responses"], (path, method, r.status_code, r.text[:300])
    documented = op["responses"][str(r.status_code)]
    if "$ref" in documented:
        documented = doc["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    content = documented.get("content")
    if content is None:
        assert r.content == b"", (path, method)
        return
    schema = {**content["application/json"]["schema"], "components": doc["components"]}
    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for e in checker.iter_errors(r.json())] == [], (path, method)


def test_responses_match_their_documented_status_and_schema(http):
    co = http.company()  # its own: this test writes
    setup_all_types(http, co)
    c, auth = http.client, co.auth()
    doc = openapi(http, co)
    rid = c.get("/api/records/all_types", headers=auth, params={"filter": '{"t": "z"}'}).json()["rows"][0]["id"]
    one = f"/api/records/all_types/{rid}"
    calls = [
        ("get", "/api/schemas", "/api/schemas", None),
        ("get", "/api/schemas/{table}", "/api/schemas/all_types", None),
        ("post", "/api/schemas", "/api/schemas", {"slug": "extra", "columns": [{"name": "x", "type": "text"}]}),
        ("post", "/api/schemas/{table}/columns", "/api/schemas/extra/columns", {"name": "y", "type": "integer"}),
        ("patch", "/api/schemas/{table}/columns/{column}", "/api/schemas/extra/columns/y", {"max": 9}),
        ("delete", "/api/schemas/{table}/columns/{column}", "/api/schemas/extra/columns/y", None),
        ("put", "/api/schemas/{table}", "/api/schemas/extra", {"name": "Extra"}),
        ("delete", "/api/schemas/{table}", "/api/schemas/extra", None),
        ("get", "/api/records/all_types/{id}", one, None),
        ("patch", "/api/records/all_types/{id}", one, {"i": 7}),
        ("put", "/api/records/all_types/{id}", one, {"i": 8}),
        ("get", "/api/records/all_types/{id}/history", one + "/history", None),
        ("get", "/api/records/all_types/{id}/versions/{n}", one + "/versions/1", None),
        ("post", "/api/records/all_types/{id}/rollback", one + "/rollback", {"version": 1}),
        ("post", "/api/records/all_types/{id}/transitions/{name}", one + "/transitions/close", {"comment": "ok"}),
        ("post", "/api/records/all_types/query/table", "/api/records/all_types/query/table", {"limit": 2}),
        ("post", "/api/records/all_types/query/kanban", "/api/records/all_types/query/kanban", {"group_by": "sel"}),
        ("post", "/api/records/all_types/query/dropdown", "/api/records/all_types/query/dropdown", {"label": "t"}),
        ("post", "/api/records/all_types/stats/agg", "/api/records/all_types/stats/agg",
         {"group_by": ["sel"], "metrics": {"n": "count"}}),
        ("post", "/api/records/all_types", "/api/records/all_types", [{"t": "many"}, {"t": "more"}]),
        ("post", "/api/reports", "/api/reports", {"slug": "r1", "name": "R", "table": "all_types", "kind": "query",
                                                  "spec": {"limit": 5}}),
        ("get", "/api/reports", "/api/reports", None),
        ("get", "/api/reports/{slug}/run", "/api/reports/r1/run", None),
        ("post", "/api/dashboards", "/api/dashboards", {"slug": "d1", "name": "D", "widgets": [
            {"id": "w1", "title": "t", "report": "r1", "chart": "table", "x": 0, "y": 0, "w": 4, "h": 3}]}),
        ("get", "/api/dashboards", "/api/dashboards", None),
        ("get", "/api/dashboards/{slug}", "/api/dashboards/d1", None),
        ("delete", "/api/dashboards/{slug}", "/api/dashboards/d1", None),
        ("delete", "/api/reports/{slug}", "/api/reports/r1", None),
        ("post", "/api/files", "/api/files", {"name": "b.pdf", "size": 1, "mime": "application/pdf",
                                              "sha256": "b" * 64, "storage_key": "k2"}),
        ("delete", "/api/records/all_types/{id}", one, None),
        ("post", "/api/records/all_types/{id}/restore", one + "/restore", None),
        ("get", "/api/records/all_types/{id}/versions/{n}", one + "/versions/99", None),  # 404
        ("put", "/api/records/all_types/{id}", one, {"nope": 1}),  # 400
    ]
    for method, path, url, body in calls:
        r = c.request(method.upper(), url, headers=auth, json=body)
        assert r.status_code < 500, (method, url, r.text)
        check_response(doc, r, path, method)
    r = c.patch(one, headers={**auth, "If-Match": '"1"'}, json={"i": 1})
    assert r.status_code == 412
    check_response(doc, r, "/api/records/all_types/{id}", "patch")


def test_events_match_the_event_schema(http):
    co = http.company()
    http.sql(co, co.owner, "select docpal.create_table(%s::jsonb)",
             json.dumps({"slug": "notes", "columns": [{"name": "body", "type": "text"}]}))
    doc = openapi(http, co)
    event = doc["paths"]["/api/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]["x-docpal-event"]
    assert event == {"$ref": "#/components/schemas/Event"}
    with http.client.stream("GET", "/api/events", headers=co.auth(), timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        http.sql(co, co.owner, "select docpal.create_record('notes', %s::jsonb)", json.dumps({"body": "hi"}))
        kind, data, deadline = None, None, time.monotonic() + 60  # keep-alive comments come every 15 s
        for line in r.iter_lines():
            assert time.monotonic() < deadline, "no change event came"
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind == "change":
                data = json.loads(line.split(":", 1)[1])
                break
    assert data["table"] == "notes" and problems(doc, "Event", data) == []


def test_errors_match_the_error_schema(http, every_type):
    co = every_type
    doc = openapi(http, co)
    r = http.client.get(f"/api/records/all_types/{uuid.uuid4()}", headers=co.auth())
    assert r.status_code == 404 and problems(doc, "Error", r.json()) == []
    r = http.client.post("/api/records/all_types", headers=co.auth(), json={"t": "x", "ra": 11})
    assert r.status_code == 400 and problems(doc, "Error", r.json()) == []


def test_openapi_needs_a_key(http):
    r = http.client.get("/api/openapi.json")
    assert r.status_code == 401 and r.json()["code"] == "28000"
    r = http.client.get("/api/openapi.json", headers={"Authorization": "Bearer dpk_nope"})
    assert r.status_code == 401 and r.json()["code"] == "28000"


def test_two_companies_never_see_each_others_tables(http):
    a, b = http.company("oa"), http.company("ob")
    slug_a, slug_b = f"alpha_{uuid.uuid4().hex[:8]}", f"beta_{uuid.uuid4().hex[:8]}"
    for co, slug in ((a, slug_a), (b, slug_b)):
        http.sql(co, co.owner, "select docpal.create_table(%s::jsonb)", json.dumps(
            {"slug": slug, "name": f"Name of {slug}", "columns": [{"name": f"col_{slug}", "type": "text"}]}))
    text_a = http.client.get("/api/openapi.json", headers=a.auth()).text
    text_b = http.client.get("/api/openapi.json", headers=b.auth()).text
    assert slug_a in text_a and f"col_{slug_a}" in text_a and slug_b in text_b
    for foreign in (slug_b, b.slug, b.id):
        assert foreign not in text_a
    for foreign in (slug_a, a.slug, a.id):
        assert foreign not in text_b
    # the key decides, not the Host: a Host of the other company is refused
    r = http.client.get("/api/openapi.json", headers={**a.auth(), "Host": f"{b.slug}.example.com"})
    assert r.status_code == 403


def test_a_members_document_omits_what_it_may_not_read(http):
    co = http.company()
    run = lambda q, *p: http.sql(co, co.owner, q, *p)  # noqa: E731
    run("select docpal.create_table(%s::jsonb)", json.dumps({"slug": "open_t", "columns": [
        {"name": "name", "type": "text", "required": True}, {"name": "cost_secret", "type": "decimal"}]}))
    run("select docpal.create_table(%s::jsonb)", json.dumps({"slug": "hidden_t", "columns": [
        {"name": "x", "type": "text"}]}))
    run("select docpal.grant_permission('member', 'open_t', array['read'], %s::jsonb)",
        json.dumps({"columns": ["name"]}))
    run("select docpal.create_record('open_t', %s::jsonb)", json.dumps({"name": "n", "cost_secret": 9}))
    owner = openapi(http, co, "owner")
    member = openapi(http, co, "member")
    validate(member)
    assert "/api/records/hidden_t" in owner["paths"] and "cost_secret" in json.dumps(owner)
    text = json.dumps(member)
    assert "hidden_t" not in text and "HiddenT" not in text and "cost_secret" not in text
    assert set(member["components"]["schemas"]["OpenTRecord"]["properties"]) == {
        "id", "version", "created_at", "updated_at", "created_by", "updated_by", "name"}
    rows = http.client.get("/api/records/open_t", headers=co.auth("member")).json()["rows"]
    assert rows and all(problems(member, "OpenTRecord", row) == [] for row in rows)


def test_schema_names_are_one_per_slug():
    from docpal.server.openapi import pascal
    assert pascal("order_lines") == "OrderLines" and pascal("products") == "Products"
    slugs = ["a1", "a_1", "a__1", "ab", "a_b", "a__b", "a_", "a1b", "a_1b", "x2_y", "x_2y"]
    assert len({pascal(slug) for slug in slugs}) == len(slugs)


def test_table_slugs_never_clash_with_other_names(http):
    """Tables named like the document's own parts get their own operations
    and schemas (openapi-spec-validator refuses a repeated operationId)."""
    co = http.company()
    slugs = ["tables", "reports", "dashboards", "table", "error", "query", "a1", "a_1"]
    for slug in slugs:
        http.sql(co, co.owner, "select docpal.create_table(%s::jsonb)",
                 json.dumps({"slug": slug, "columns": [{"name": "x", "type": "text"}]}))
    doc = openapi(http, co)
    validate(doc)
    ids = [op["operationId"] for item in doc["paths"].values() for m, op in item.items() if m != "parameters"]
    assert len(ids) == len(set(ids))
    assert {"listTables", "listReports", "listDashboards", "listTablesRecords", "listReportsRecords"} <= set(ids)
    schemas = doc["components"]["schemas"]
    assert {"Error", "Table", "ErrorRecord", "TableRecord", "A1Record", "A_1Record"} <= set(schemas)
    assert len([name for name in schemas if name.endswith("Record")]) == len(slugs)


# --- the document and the server agree ---------------------------------------------------

SAMPLES = {"id": str(uuid.uuid4()), "n": "2", "name": "close", "table": "all_types", "column": "t", "slug": "r1",
           "kind": "table"}


def _served_routes():
    from docpal.server.app import routes
    return [r for r in routes() if isinstance(r, Route)]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_document_lists_exactly_the_routes_served(http, every_type):
    doc = openapi(http, every_type)
    served = _served_routes()
    slugs = ("all_types", "cats")
    documented = set()
    for path, item in doc["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], path)
        for method in item:
            if method == "parameters":
                continue
            scope = {"type": "http", "path": concrete, "method": method.upper(), "root_path": ""}
            assert any(route.matches(scope)[0] == Match.FULL for route in served), (method, path)
            generic = path
            for slug in slugs:
                generic = re.sub(rf"^/api/records/{slug}(?=/|$)", "/api/records/{table}", generic)
            generic = re.sub(r"/query/\w+$", "/query/{kind}", generic)
            documented.add((method.upper(), _shape(generic)))
    for route in served:
        if not (route.path.startswith("/api/") or route.path in ("/healthz", "/readyz")):
            continue  # /admin/api (the platform's token) and the pages are not the company's API
        for method in route.methods or ():
            if method != "HEAD":
                assert (method, _shape(route.path)) in documented, (method, route.path)


# --- a typed client ----------------------------------------------------------------------


def test_a_generated_client_parses_real_records(http, every_type, tmp_path):
    """datamodel-code-generator (PyPI) turns the document into pydantic models;
    they parse what the API returns, and refuse what breaks a rule."""
    co = every_type
    (tmp_path / "openapi.json").write_text(http.client.get("/api/openapi.json", headers=co.auth()).text)
    out = tmp_path / "docpal_client.py"
    done = subprocess.run([str(VENV_BIN / "datamodel-codegen"), "--input", str(tmp_path / "openapi.json"),
                           "--input-file-type", "openapi", "--output-model-type", "pydantic_v2.BaseModel",
                           "--formatters", "builtin", "--output", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    spec = importlib.util.spec_from_file_location("docpal_client", out)
    client = importlib.util.module_from_spec(spec)
    sys.modules["docpal_client"] = client
    try:
        spec.loader.exec_module(client)
        rows = http.client.get("/api/records/all_types", headers=co.auth()).json()["rows"]
        records = [client.AllTypesRecord.model_validate(row) for row in rows]
        full = next(r for r in records if r.t == "abc")
        assert full.i == 5 and full.ra == 10 and full.b is True
        assert full.ts.year == 2024 and full.ts.utcoffset() is not None  # an aware datetime
        assert str(full.id) == next(row["id"] for row in rows if row["t"] == "abc")
        assert full.ms is not None and [getattr(m, "value", m) for m in full.ms] == ["x", "y"]
        page = client.AllTypesPage.model_validate(http.client.get("/api/records/all_types", headers=co.auth()).json())
        assert len(page.rows) == 3
        bad = {**next(row for row in rows if row["t"] == "abc"), "ra": 11}
        with pytest.raises(Exception, match="ra"):
            client.AllTypesRecord.model_validate(bad)
        client.AllTypesCreate.model_validate({"t": "new"})
        with pytest.raises(Exception):
            client.AllTypesCreate.model_validate({"t": "new", "an": 3})  # read-only: not a create key
    finally:
        sys.modules.pop("docpal_client", None)


# --- the docs page -----------------------------------------------------------------------

URL = re.compile(r"https?://", re.I)


def test_docs_page_uses_only_same_origin_assets(http):
    r = http.client.get("/api/docs")  # no key needed: the page asks for it
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    html = r.text
    assert not URL.search(html)
    assets = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert "/static/docs.js" in assets and "/static/docs.css" in assets
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        got = http.client.get(asset)
        assert got.status_code == 200, asset
        assert not URL.search(got.text), asset
    assert "sessionStorage" in http.client.get("/static/docs.js").text
    assert "localStorage" not in http.client.get("/static/docs.js").text


def test_docs_page_renders_the_document_in_a_browser(http, tmp_path):
    """Debian's chromium (playwright): the page asks for the key, keeps it in
    the tab's session, renders operations and schemas, shows the company's
    own text as text, and requests nothing from another origin."""
    from playwright import sync_api
    co = http.company()
    evil = '<img src=x onerror="window.pwned=1">'
    http.sql(co, co.owner, "select docpal.create_table(%s::jsonb)", json.dumps({
        "slug": "products", "name": evil, "description": evil,
        "columns": [{"name": "name", "type": "text", "required": True, "description": evil}]}))
    requests, errors = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("request", lambda req: requests.append(req.url))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(http.base + "/api/docs")
            page.fill("#api-key", "dpk_wrong")
            page.click("button[type=submit]")
            page.wait_for_selector("#status.error")
            assert "28000" in page.text_content("#status")
            assert page.evaluate("sessionStorage.getItem('docpal.apiKey')") is None  # a refused key is dropped

            page.fill("#api-key", co.keys["owner"])
            page.click("button[type=submit]")
            page.wait_for_selector("#op-listProductsRecords")
            assert page.is_visible("#schema-ProductsRecord")
            assert page.is_visible("#op-createTable") and page.is_visible("#schema-Error")
            assert "Test Co" in page.text_content("#title")
            assert evil in page.text_content("main")  # shown as text...
            assert page.evaluate("document.querySelectorAll('main img').length") == 0  # ...never as HTML
            assert page.evaluate("window.pwned") is None
            assert page.evaluate("sessionStorage.getItem('docpal.apiKey')") == co.keys["owner"]
            assert page.evaluate("localStorage.length") == 0
            assert page.input_value("#api-key") == ""  # not left in the form

            page.fill("#filter", "stats/agg")
            assert page.is_visible("#op-aggregateProducts") and not page.is_visible("#op-listProductsRecords")
            page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)

            page.reload()  # the key lasts for the tab's session
            page.wait_for_selector("#op-listProductsRecords")
            page.click("#forget")
            assert page.evaluate("sessionStorage.getItem('docpal.apiKey')") is None
            assert not page.is_visible("#op-listProductsRecords")
        finally:
            browser.close()
    assert errors == []
    assert requests and all(url.startswith(http.base + "/") for url in requests), requests
