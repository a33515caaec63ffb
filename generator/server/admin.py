"""The platform admin page and its JSON routes (contract section 12, "Pages";
docs/http.md "The admin page").

``GET /admin`` is a static page; it asks for ``DOCPAL_ADMIN_TOKEN``, keeps it
in the tab's sessionStorage and sends it as ``Authorization: Bearer`` to the
routes under ``/admin/api/``. Each of those checks the token first
(``require_admin``: 403 while no token is configured, 401 without the right
one), checks its input (22023, 400, before any SQL) and runs one transaction
as ``docpal_service``, a platform admin, calling docpal's functions:

    GET  /admin/api/companies                  list_companies + company_metrics(null)
    POST /admin/api/companies                  create_company [+ get_user / create_user,
                                               add_member(owner) [+ set_context, create_api_key]]
    GET  /admin/api/companies/{ref}            get_company + company_metrics(id)
    GET  /admin/api/companies/{ref}/members    list_members
    POST /admin/api/companies/{ref}/suspend    suspend_company(id, reason)
    POST /admin/api/companies/{ref}/activate   activate_company(id)
    PUT  /admin/api/companies/{ref}/quota      set_quota(id, spec)
    POST /admin/api/companies/{ref}/blueprint  list_members, set_context(owner), apply_blueprint
    GET  /admin/api/companies/{ref}/export     export_company(id) as the attachment <slug>.json
    GET  /admin/api/blueprints                 the blueprints docpal ships (no SQL)

``{ref}`` is a company's id or slug (get_company; 404 when there is none).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .. import blueprints
from .api_util import json_body
from .app import json_text, require_admin
from .db import Tx
from .errors import ApiError

STATIC = Path(__file__).resolve().parent / "static"

#: what every page and admin answer carries: nothing cached, nothing framed,
#: no script or style but the server's own files, no request elsewhere
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
NO_STORE = {"Cache-Control": "no-store"}

_REF = re.compile(r"[a-z][a-z0-9-]{1,62}"  # a slug, or an id
                  r"|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
SCOPES = ["read", "create", "update", "delete"]
KEY_NAME = "admin page"


def page(name: str) -> Response:
    """A page of static/ with PAGE_HEADERS."""
    return FileResponse(STATIC / name, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


async def admin_page(request: Request) -> Response:
    return page("admin.html")


def _text(body: dict, key: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ApiError("22023", f"{key} must be a non-empty string of at most {limit} characters")
    return value


def _keys(body: dict, allowed: set[str], what: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError("22023", f"unknown key {unknown[0]!r} in {what}",
                       hint=f"{what.capitalize()} takes {', '.join(sorted(allowed))}.")


def _ref(request: Request) -> str:
    ref = request.path_params["ref"]
    if not _REF.fullmatch(ref):
        raise ApiError("22023", f"{ref[:80]!r} is not a company id or slug")
    return ref


async def _company(tx: Tx, ref: str) -> dict:
    """The company whose id or slug is ref (P0002, 404, when there is none)."""
    found = await tx.json("select docpal.get_company(%s)", (ref,))
    if found is None:
        raise ApiError("P0002", f"no company {ref!r}")
    return found


async def list_companies(request: Request) -> Response:
    """Every company (get_company's shape) with its metrics (company_metrics'
    shape, under "metrics"), oldest first."""
    require_admin(request)
    async with request.app.state.db.service() as tx:
        return json_text(await tx.value(
            """select coalesce(pg_catalog.jsonb_agg(c.value || pg_catalog.jsonb_build_object('metrics', m.value)
                                                    order by c.n), '[]')
                 from pg_catalog.jsonb_array_elements(docpal.list_companies()) with ordinality c (value, n)
                 left join pg_catalog.jsonb_array_elements(docpal.company_metrics(null)) m
                   on m.value->>'company_id' = c.value->>'id'"""), headers=NO_STORE)


async def create_company(request: Request) -> Response:
    """Body {slug, name, settings?, owner?: {email, display_name?}, api_key?}.
    The owner is the platform user with that email (get_user), or a new one
    (create_user, which needs display_name); api_key true (with an owner)
    makes the owner an API key with every scope, returned this once."""
    require_admin(request)
    body, _ = await json_body(request)
    _keys(body, {"slug", "name", "settings", "owner", "api_key"}, "a new company")
    slug, name = _text(body, "slug", limit=63), _text(body, "name")
    settings = body.get("settings", {})
    if not isinstance(settings, dict):
        raise ApiError("22023", "settings must be a JSON object")
    owner = body.get("owner")
    if owner is not None:
        if not isinstance(owner, dict):
            raise ApiError("22023", "owner must be a JSON object {email, display_name}")
        _keys(owner, {"email", "display_name"}, "an owner")
        email = _text(owner, "email", limit=320)
        display_name = _text(owner, "display_name", required=False)
    api_key = body.get("api_key", False)
    if not isinstance(api_key, bool):
        raise ApiError("22023", "api_key must be true or false")
    if api_key and owner is None:
        raise ApiError("22023", "api_key needs an owner: the key acts as the owner")
    out: dict = {}
    async with request.app.state.db.service() as tx:
        cid = await tx.value("select docpal.create_company(%s, %s, %s::jsonb)", (slug, name, json.dumps(settings)))
        if owner is not None:
            user = await tx.json("select docpal.get_user(%s)", (email,))
            created = user is None
            if created:
                uid = await tx.value("select docpal.create_user(%s, %s)::text", (email, display_name))
                user = await tx.json("select docpal.get_user(%s)", (uid,))
            await tx.value("select docpal.add_member(%s, %s::uuid, 'owner')", (cid, user["id"]))
            out["owner"] = {**user, "created": created}
        out["company"] = await tx.json("select docpal.get_company(%s::text)", (str(cid),))
        if api_key:
            await tx.value("select docpal.set_context(%s, %s::uuid)", (cid, user["id"]))
            made = await tx.json("select docpal.create_api_key(%s, %s::uuid, %s)", (KEY_NAME, user["id"], SCOPES))
            out["api_key"] = {**made, "name": KEY_NAME, "scopes": SCOPES}
    return JSONResponse(out, status_code=201,
                        headers={**NO_STORE, "Location": f"/admin/api/companies/{out['company']['id']}"})


async def get_company(request: Request) -> Response:
    """One company (get_company's shape) with its metrics (company_metrics(id))."""
    require_admin(request)
    ref = _ref(request)
    async with request.app.state.db.service() as tx:
        company = await _company(tx, ref)
        return json_text(await tx.value(
            "select docpal.get_company(%s::text)"
            " || pg_catalog.jsonb_build_object('metrics', docpal.company_metrics(%s::uuid))",
            (company["id"], company["id"])), headers=NO_STORE)


async def members(request: Request) -> Response:
    require_admin(request)
    ref = _ref(request)
    async with request.app.state.db.service() as tx:
        company = await _company(tx, ref)
        return json_text(await tx.value("select docpal.list_members(%s::uuid)", (company["id"],)), headers=NO_STORE)


async def suspend(request: Request) -> Response:
    """Body {reason}."""
    require_admin(request)
    ref = _ref(request)
    body, _ = await json_body(request)
    _keys(body, {"reason"}, "a suspension")
    reason = _text(body, "reason", limit=1000)
    async with request.app.state.db.service() as tx:
        company = await _company(tx, ref)
        return json_text(await tx.value("select docpal.suspend_company(%s::uuid, %s)", (company["id"], reason)),
                         headers=NO_STORE)


async def activate(request: Request) -> Response:
    require_admin(request)
    ref = _ref(request)
    async with request.app.state.db.service() as tx:
        company = await _company(tx, ref)
        return json_text(await tx.value("select docpal.activate_company(%s::uuid)", (company["id"],)),
                         headers=NO_STORE)


async def quota(request: Request) -> Response:
    """Body: set_quota's spec {max_tables, max_records, max_bytes,
    max_file_bytes} (set_quota checks the keys and values)."""
    require_admin(request)
    ref = _ref(request)
    body, _ = await json_body(request)
    async with request.app.state.db.service() as tx:
        company = await _company(tx, ref)
        return json_text(await tx.value("select docpal.set_quota(%s::uuid, %s::jsonb)",
                                        (company["id"], json.dumps(body))), headers=NO_STORE)


def _blueprint(value: object) -> dict:
    """A shipped blueprint by name, or a blueprint document (apply_blueprint
    checks it). Never a path: a name not shipped is 22023."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value in blueprints.names():
        return blueprints.load(blueprints.path_of(value))
    raise ApiError("22023", "blueprint must be the name of a shipped blueprint or a blueprint document (a JSON object)",
                   hint=f"Shipped: {', '.join(blueprints.names())}.")


async def apply_blueprint(request: Request) -> Response:
    """Body {blueprint: name | document}: applied as the company's first
    owner (or admin, list_members' order), as `docpal tenants
    apply-blueprint` does; 22023 when it has neither."""
    require_admin(request)
    ref = _ref(request)
    body, _ = await json_body(request)
    _keys(body, {"blueprint"}, "a blueprint request")
    document = _blueprint(body.get("blueprint"))
    async with request.app.state.db.service() as tx:
        company = await _company(tx, ref)
        acting = await tx.value(
            """select m.value->>'user_id' from pg_catalog.jsonb_array_elements(docpal.list_members(%s::uuid)) m
                where m.value->>'role' in ('owner', 'admin') limit 1""", (company["id"],))
        if acting is None:
            raise ApiError("22023", f"company {company['slug']} has no owner or admin to apply a blueprint as",
                           hint="Add an owner first (docpal.add_member).")
        await tx.value("select docpal.set_context(%s::uuid, %s::uuid)", (company["id"], acting))
        return json_text(await tx.value("select docpal.apply_blueprint(%s::jsonb)", (json.dumps(document),)),
                         headers=NO_STORE)


async def export(request: Request) -> Response:
    """export_company as the attachment <slug>.json; ?history=true adds the
    audit log."""
    require_admin(request)
    ref = _ref(request)
    history = request.query_params.get("history", "false")
    if history not in ("true", "false"):
        raise ApiError("22023", "history must be true or false")
    async with request.app.state.db.service() as tx:
        company = await _company(tx, ref)
        text = await tx.value("select docpal.export_company(%s::uuid, %s::jsonb)",
                              (company["id"], json.dumps({"history": history == "true"})))
    # the slug is ^[a-z][a-z0-9-]+$: safe in the header as it is
    return json_text(text, headers={**NO_STORE,
                                    "Content-Disposition": f'attachment; filename="{company["slug"]}.json"'})


async def list_blueprints(request: Request) -> Response:
    """The shipped blueprints: [{name, version, description}]."""
    require_admin(request)
    out = []
    for name in blueprints.names():
        doc = blueprints.load(blueprints.path_of(name))
        out.append({"name": name, "version": doc.get("version"), "description": doc.get("description")})
    return JSONResponse(out, headers=NO_STORE)


def routes() -> list[BaseRoute]:
    return [
        Route("/admin", admin_page, methods=["GET"]),
        Route("/admin/api/companies", list_companies, methods=["GET"]),
        Route("/admin/api/companies", create_company, methods=["POST"]),
        Route("/admin/api/companies/{ref}", get_company, methods=["GET"]),
        Route("/admin/api/companies/{ref}/members", members, methods=["GET"]),
        Route("/admin/api/companies/{ref}/suspend", suspend, methods=["POST"]),
        Route("/admin/api/companies/{ref}/activate", activate, methods=["POST"]),
        Route("/admin/api/companies/{ref}/quota", quota, methods=["PUT"]),
        Route("/admin/api/companies/{ref}/blueprint", apply_blueprint, methods=["POST"]),
        Route("/admin/api/companies/{ref}/export", export, methods=["GET"]),
        Route("/admin/api/blueprints", list_blueprints, methods=["GET"]),
    ]
