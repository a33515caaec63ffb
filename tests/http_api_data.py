"""Tables and data the REST API tests share (tests/test_http_api.py,
tests/test_http_status.py): a company set up through the API itself.

    categories: name (required, unique)
    products:   name (required, searchable), price decimal(12,2) min 0,
                category_id -> categories (restrict), status select, day date, code unique
    tasks:      name, status select, hours, starts/ends dates, parent_id -> tasks,
                deps relation_many -> tasks, tags multi_select, photo file
"""

from __future__ import annotations

import json

from psycopg.types.json import Jsonb

CATEGORIES = {"slug": "categories", "name": "Categories", "columns": [
    {"name": "name", "type": "text", "required": True, "unique": True}]}

PRODUCTS = {"slug": "products", "name": "Products", "columns": [
    {"name": "name", "type": "text", "required": True, "max_length": 200, "searchable": True},
    {"name": "price", "type": "decimal", "precision": 12, "scale": 2, "min": 0},
    {"name": "category_id", "type": "relation", "target": "categories", "on_delete": "restrict"},
    {"name": "status", "type": "select", "options": ["draft", "active"], "default": "draft"},
    {"name": "day", "type": "date"},
    {"name": "code", "type": "text", "unique": True}]}

TASKS = {"slug": "tasks", "name": "Tasks", "columns": [
    {"name": "name", "type": "text", "required": True},
    {"name": "status", "type": "select", "options": ["todo", "doing", "done"], "default": "todo"},
    {"name": "hours", "type": "integer"},
    {"name": "starts", "type": "date"},
    {"name": "ends", "type": "date"},
    {"name": "parent_id", "type": "relation", "target": "tasks", "on_delete": "set_null"},
    {"name": "deps", "type": "relation_many", "target": "tasks"},
    {"name": "tags", "type": "multi_select", "options": ["red", "blue"]},
    {"name": "photo", "type": "file"}]}


def ok(r, status: int = 200):
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


def err(r, status: int, code: str) -> dict:
    assert r.status_code == status and r.json()["code"] == code, \
        f"{r.request.method} {r.request.url}: expected {status} {code}, got {r.status_code} {r.text}"
    body = r.json()
    assert set(body) == {"code", "message", "details", "hint"}
    return body


def shop(http, *tables: dict):
    """A company whose tables (default categories and products) were created
    through POST /api/schemas by its owner."""
    co = http.company()
    for spec in tables or (CATEGORIES, PRODUCTS):
        ok(http.client.post("/api/schemas", headers=co.auth(), json=spec), 201)
    return co


def sql(http, co, query: str, *params, who: str = "owner"):
    """Run docpal SQL as the company's owner (or member); dicts and lists go as jsonb."""
    params = [Jsonb(p) if isinstance(p, (dict, list)) else p for p in params]
    return http.sql(co, co.owner if who == "owner" else co.member, query, *params)


def roundtrip(value):
    return json.loads(json.dumps(value))
