"""Blueprints: versioned bundles of definitions applied to a company with
``docpal.apply_blueprint`` (contract section 8; docs/blueprints.md).

docpal ships ``school``, ``workforce`` and ``mes`` as JSON files in this
package. :func:`load` takes a shipped name or the path of a JSON file;
:func:`apply` and :func:`apply_all` apply one to a company, or upgrade every
company that has it, each company in its own transaction, acting as one of
the company's owners (or admins): the connecting role must be a platform
admin (superuser or docpal_service) that may read docpal's catalog.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
from psycopg import sql as pgsql
from psycopg.types.json import Jsonb

HERE = Path(__file__).resolve().parent
SHIPPED = ("school", "workforce", "mes")


def names() -> list[str]:
    """The shipped blueprints' names."""
    return sorted(p.stem for p in HERE.glob("*.json"))


def path_of(name: str) -> Path:
    """The JSON file of a shipped blueprint; LookupError for an unknown name."""
    path = HERE / f"{name}.json"
    if name not in names():
        raise LookupError(f"no shipped blueprint {name!r} (shipped: {', '.join(names())})")
    return path


def load(ref: str | Path) -> dict:
    """A blueprint document from a shipped name or a JSON file's path.
    LookupError when it is neither, ValueError when the file is not a JSON object."""
    path = Path(ref)
    if not path.is_file():
        if isinstance(ref, str) and "/" not in ref and not ref.endswith(".json"):
            path = path_of(ref)
        else:
            raise LookupError(f"no blueprint file {str(ref)!r}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a blueprint is a JSON object")
    return data


_COMPANIES = """
    select c.id::text, c.slug, c.schema_name,
           (select m.user_id::text from docpal_private.memberships m
             where m.company_id = c.id and m.role in ('owner', 'admin')
             order by m.role = 'owner' desc, m.user_id limit 1)
      from docpal_private.companies c
     where (%(c)s::text is null or c.slug = %(c)s or c.id::text = %(c)s) and c.status = 'active'
     order by c.slug"""


def companies(conn: psycopg.Connection, company: str | None = None) -> list[tuple[str, str, str, str | None]]:
    """(id, slug, schema, acting user) of the active companies, or of one by slug or id
    (LookupError when there is no such active company)."""
    rows = conn.execute(_COMPANIES, {"c": company}).fetchall()
    if company and not rows:
        raise LookupError(f"no active company {company!r}")
    return rows


def apply(conn: psycopg.Connection, company: tuple, blueprint: dict) -> dict:
    """Applies the blueprint to one company (a row of :func:`companies`) in one transaction,
    as its owner (or an admin). The database's errors propagate; nothing stays of a failed apply."""
    cid, slug, _schema, user = company
    if user is None:
        raise LookupError(f"company {slug} has no owner or admin to apply a blueprint as")
    with conn.transaction():
        conn.execute("select docpal.set_context(%s, %s, true)", (cid, user))
        return conn.execute("select docpal.apply_blueprint(%s)", (Jsonb(blueprint),)).fetchone()[0]


def holders(conn: psycopg.Connection, name: str) -> list[tuple]:
    """The companies (rows of :func:`companies`) that have the blueprint called name."""
    out = []
    for row in companies(conn):
        query = pgsql.SQL("select exists (select from {}._blueprints b where b.name = %s)").format(
            pgsql.Identifier(row[2]))
        if conn.execute(query, (name,)).fetchone()[0]:
            out.append(row)
    return out


def apply_all(conn: psycopg.Connection, blueprint: dict,
              progress: Callable[[int, int], None] | None = None) -> Iterator[dict]:
    """Upgrades every company that has the blueprint, each in its own transaction: one item per
    company, {company, result} or {company, error}."""
    targets = holders(conn, blueprint.get("name"))
    for done, row in enumerate(targets, 1):
        try:
            item = {"company": row[1], "result": apply(conn, row, blueprint)}
        except (psycopg.Error, LookupError) as exc:
            item = {"company": row[1], "error": str(exc).strip().splitlines()[0],
                    "sqlstate": getattr(exc, "sqlstate", None)}
        if progress:
            progress(done, len(targets))
        yield item


def summary(result: dict) -> str:
    """One line saying what an apply_blueprint result made and added."""
    created, added = result.get("created", {}), result.get("added", {})
    parts = []
    for key in ("tables", "type_lists", "roles", "grants", "workflows", "event_rules", "reports"):
        if created.get(key):
            parts.append(f"{len(created[key])} {key.replace('_', ' ')}")
    records = sum((created.get("records") or {}).values())
    if records:
        parts.append(f"{records} records")
    for key in ("columns", "options", "type_list_values"):
        if added.get(key):
            parts.append(f"+{len(added[key])} {key.replace('_', ' ')}")
    prev = result.get("previous_version")
    head = f"{result.get('name')} v{result.get('version')}"
    if prev is None:
        head += " (new)"
    elif prev == result.get("version") and not parts:
        head += " (unchanged)"
    else:
        head += f" (from v{prev})"
    return head + (": " + ", ".join(parts) if parts else ": nothing to add")
