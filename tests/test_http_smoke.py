from http_server import *  # noqa: F401,F403


def test_health(http):
    assert http.client.get("/healthz").json()["status"] == "ok"
    r = http.client.get("/readyz")
    assert r.status_code == 200, r.text


def test_schemas_and_errors(http):
    co = http.company()
    r = http.client.get("/api/schemas", headers=co.auth())
    assert r.status_code == 200 and r.json() == []
    r = http.client.get("/api/schemas", headers={"Authorization": "Bearer dpk_nope"})
    assert r.status_code == 401 and r.json()["code"] == "28000"
    other = http.company()
    r = http.client.get("/api/schemas", headers={**co.auth(), "Host": f"{other.slug}.example.com"})
    assert r.status_code == 403, r.text
    r = http.client.get("/api/schemas", headers={**co.auth(), "Host": f"{co.slug}.example.com"})
    assert r.status_code == 200, r.text
    log = http.server.access_log()
    assert any(item["route"] == "/api/schemas" and item["company"] == co.id for item in log)
