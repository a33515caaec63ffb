"""Every status of contract section 12's error mapping, reached for real
through `docpal serve`, with the error shape {code, message, details, hint};
and what keys may reach: one company's key never reads or writes another's
records, a member's grants (row filters, columns) hold over HTTP."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from http_server import *  # noqa: F401,F403
from http_api_data import err, ok, shop, sql


@pytest.fixture(scope="module")
def co(http):
    """A shop with one category and one product (shared by the read-only checks)."""
    company = shop(http)
    cat = ok(http.client.post("/api/records/categories", headers=company.auth(), json={"name": "Phones"}), 201)
    ok(http.client.post("/api/records/products", headers=company.auth(),
                        json={"name": "P", "category_id": cat["id"], "code": "P-1"}), 201)
    return company


# --- 400 ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, code", [
    ({"name": "x", "day": "not a date"}, "22007"),
    ({"name": "x", "day": "2026-02-30"}, "22008"),
    ({"name": "x", "price": "abc"}, "22P02"),
    ({"price": 1}, "23502"),
    ({"name": "x", "nope": 1}, "42703"),
    ({"name": "x", "status": "gone"}, "23514"),
])
def test_400_from_the_database(http, co, data, code):
    e = err(http.client.post("/api/records/products", headers=co.auth(), json=data), 400, code)
    assert e["message"]


def test_400_23514_details_is_the_json_object(http, co):
    e = err(http.client.post("/api/records/products", headers=co.auth(), json={"name": "x", "price": -1}),
            400, "23514")
    assert isinstance(e["details"], dict)
    assert e["details"]["column"] == "price" and e["details"]["rule"] == "min" and e["details"]["value"] == -1


def test_400_22p02_for_an_id_that_is_no_uuid_before_any_sql(http, co):
    for headers in (co.auth(), {"Authorization": "Bearer dpk_invalid"}, {}):
        for method, path in (("GET", "/api/records/products/42"), ("DELETE", "/api/records/products/x"),
                             ("GET", "/api/records/products/1/history"), ("POST", "/api/records/products/1/restore")):
            err(http.client.request(method, path, headers=headers), 400, "22P02")
        err(http.client.patch("/api/records/products/nope", headers=headers, json={}), 400, "22P02")


def test_400_54000_from_the_database(http, co):
    """A spec under 256 KB with more than 500 filter conditions."""
    spec = {"filters": {"_or": [{"name": f"n{i}"} for i in range(501)]}}
    err(http.client.post("/api/records/products/query/table", headers=co.auth(), json=spec), 400, "54000")
    err(http.client.get("/api/records/products", headers=co.auth(), params={"filter": json.dumps(spec["filters"])}),
        400, "54000")


def test_400_22023_from_the_database(http, co):
    err(http.client.post("/api/records/products/query/table", headers=co.auth(), json={"limit": "x"}), 400, "22023")


# --- 401 ------------------------------------------------------------------------------

def test_401_missing_malformed_or_revoked_key(http, co):
    c = http.client
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"Authorization": co.keys["owner"]},
                    {"Authorization": "Bearer dpk_" + "0" * 40}, {"Authorization": "Bearer not-a-key"}):
        err(c.get("/api/records/products", headers=headers), 401, "28000")
    with http.db.transaction():
        http.db.execute("select docpal.set_context(%s, %s)", (co.id, co.owner))
        made = http.one("select docpal.create_api_key('tmp', %s, %s, '{}')", co.owner, ["read"])
    headers = {"Authorization": f"Bearer {made['key']}"}
    ok(c.get("/api/records/products", headers=headers))
    sql(http, co, "select docpal.revoke_api_key(%s)", made["id"])
    e = err(c.get("/api/records/products", headers=headers), 401, "28000")
    assert made["key"] not in json.dumps(e)


# --- 403 ------------------------------------------------------------------------------

def test_403_member_without_grant(http, co):
    c = http.client
    err(c.get("/api/records/products", headers=co.auth("member")), 403, "42501")
    err(c.post("/api/records/products", headers=co.auth("member"), json={"name": "m"}), 403, "42501")
    err(c.post("/api/schemas", headers=co.auth("member"), json={"slug": "x", "name": "X", "columns": []}), 403, "42501")


def test_403_key_scope_narrows_the_user(http, co):
    reader = http.key(co, co.owner, ["read"])
    headers = {"Authorization": f"Bearer {reader}"}
    ok(http.client.get("/api/records/products", headers=headers))
    err(http.client.post("/api/records/products", headers=headers, json={"name": "s"}), 403, "42501")


def test_403_host_of_another_company(http, co):
    other = http.company()
    err(http.client.get("/api/records/products", headers={**co.auth(), "Host": f"{other.slug}.example.com"}),
        403, "42501")
    ok(http.client.get("/api/records/products", headers={**co.auth(), "Host": f"{co.slug}.example.com"}))
    ok(http.client.get("/api/records/products", headers={**co.auth(), "Host": "unknown-host.example.com"}))


# --- 404 ------------------------------------------------------------------------------

def test_404(http, co):
    err(http.client.get("/api/records/nope", headers=co.auth()), 404, "42P01")
    err(http.client.post("/api/records/nope", headers=co.auth(), json={"a": 1}), 404, "42P01")
    err(http.client.get(f"/api/records/products/{uuid.uuid4()}", headers=co.auth()), 404, "P0002")
    err(http.client.patch(f"/api/records/products/{uuid.uuid4()}", headers=co.auth(), json={"name": "x"}),
        404, "P0002")


# --- 409 ------------------------------------------------------------------------------

def test_409(http, co):
    c = http.client
    err(c.post("/api/records/products", headers=co.auth(), json={"name": "x", "category_id": str(uuid.uuid4())}),
        409, "23503")
    err(c.post("/api/records/products", headers=co.auth(), json={"name": "x", "code": "P-1"}), 409, "23505")
    err(c.delete("/api/schemas/categories", headers=co.auth()), 409, "2BP01")
    cat = ok(c.get("/api/records/categories", headers=co.auth()))["rows"][0]["id"]
    err(c.delete(f"/api/records/categories/{cat}", headers=co.auth()), 409, "23503")


# --- 412: tests/test_http_api.py (PUT, PATCH, DELETE) ------------------------------------

# --- 429 ------------------------------------------------------------------------------

def test_429_rate_limit_with_retry_after(http, co):
    key = http.key(co, co.owner, ["read"], {"rate_limit_per_minute": 1})
    headers = {"Authorization": f"Bearer {key}"}
    statuses = []
    for _ in range(4):
        r = http.client.get("/api/schemas", headers=headers)
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses[-1] == 429, statuses
    err(r, 429, "53400")
    assert 1 <= int(r.headers["retry-after"]) <= 60


def test_429_quota_without_retry_after(http):
    co = shop(http)
    try:
        http.one("select docpal.set_quota(%s, %s)", co.id, json.dumps({"max_records": 1}))
        ok(http.client.post("/api/records/categories", headers=co.auth(), json={"name": "a"}), 201)
        r = http.client.post("/api/records/categories", headers=co.auth(), json={"name": "b"})
        err(r, 429, "53400")
        assert "retry-after" not in r.headers
        assert ok(http.client.get("/api/records/categories", headers=co.auth()))["total"] == 1
    finally:
        http.one("select docpal.set_quota(%s, '{}')", co.id)


# --- 503 ------------------------------------------------------------------------------

def test_503_lock_timeout_with_retry_after(http):
    co = shop(http)
    rid = ok(http.client.post("/api/records/categories", headers=co.auth(), json={"name": "a"}), 201)["id"]
    http.one("select docpal.set_platform_setting('lock_timeout', '200ms')")
    try:
        with psycopg.connect(http.db.info.dsn) as holder:
            holder.execute(f'lock table "{co.schema}".categories in access exclusive mode')
            for method, body in (("GET", None), ("PATCH", {"name": "b"})):
                r = http.client.request(method, f"/api/records/categories/{rid}", headers=co.auth(), json=body)
                err(r, 503, "55P03")
                assert int(r.headers["retry-after"]) >= 1
        rec = ok(http.client.get(f"/api/records/categories/{rid}", headers=co.auth()))
        assert rec["name"] == "a" and rec["version"] == 1
    finally:
        http.one("select docpal.set_platform_setting('lock_timeout', '2s')")


# --- isolation and grants ------------------------------------------------------------------

def test_a_key_never_reaches_another_companys_records(http):
    a, b = shop(http), shop(http)
    c = http.client
    mine = ok(c.post("/api/records/categories", headers=a.auth(), json={"name": "A's"}), 201)["id"]
    theirs = ok(c.post("/api/records/categories", headers=b.auth(), json={"name": "B's"}), 201)["id"]
    assert [r["name"] for r in ok(c.get("/api/records/categories", headers=a.auth()))["rows"]] == ["A's"]
    path = f"/api/records/categories/{theirs}"
    err(c.get(path, headers=a.auth()), 404, "P0002")
    err(c.put(path, headers=a.auth(), json={"name": "x"}), 404, "P0002")
    err(c.patch(path, headers=a.auth(), json={"name": "x"}), 404, "P0002")
    err(c.delete(path, headers=a.auth()), 404, "P0002")
    assert ok(c.get(f"{path}/history", headers=a.auth())) == []
    err(c.get(f"{path}/versions/1", headers=a.auth()), 404, "P0002")
    err(c.post(f"{path}/restore", headers=a.auth()), 404, "P0002")
    # A's record with A's key but B's host: refused before anything is read
    err(c.get(f"/api/records/categories/{mine}", headers={**a.auth(), "Host": f"{b.slug}.localhost:8080"}),
        403, "42501")
    rec = ok(c.get(path, headers=b.auth()))
    assert rec["name"] == "B's" and rec["version"] == 1
    # the same id in A's table is another record: A's insert with B's id is A's own
    ok(c.post("/api/records/categories", headers=a.auth(), json={"id": theirs, "name": "A's too"}), 201)
    assert ok(c.get(path, headers=b.auth()))["name"] == "B's"


def test_member_grants_hold_over_http(http):
    co = shop(http)
    c = http.client
    ok(c.post("/api/records/products", headers=co.auth(), json=[
        {"name": "On", "status": "active", "price": 5, "code": "c1"},
        {"name": "Off", "status": "draft", "price": 7, "code": "c2"}]), 201)
    sql(http, co, "select docpal.grant_permission('member', 'products', array['read'], %s)",
        {"columns": ["name", "price", "status"], "row_filter": {"status": "active"}})
    m = co.auth("member")
    got = ok(c.get("/api/records/products", headers=m))
    assert [r["name"] for r in got["rows"]] == ["On"] and got["total"] == 1
    assert "code" not in got["rows"][0]
    assert got == sql(http, co, "select docpal.query_table('products', '{}')", who="member")
    off = next(r for r in ok(c.get("/api/records/products", headers=co.auth()))["rows"] if r["name"] == "Off")
    err(c.get(f"/api/records/products/{off['id']}", headers=m), 404, "P0002")
    on = got["rows"][0]
    assert "code" not in ok(c.get(f"/api/records/products/{on['id']}", headers=m))
    err(c.get("/api/records/products", headers=m, params={"fields": "name,code"}), 403, "42501")
    err(c.patch(f"/api/records/products/{on['id']}", headers=m, json={"name": "x"}), 403, "42501")
    # agg sees only the member's rows
    agg = ok(c.post("/api/records/products/stats/agg", headers=m, json={"metrics": {"n": "count"}}))
    assert agg["groups"] == [{"n": 1}]
