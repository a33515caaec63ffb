"""Audit log upkeep across companies, run as the migrating role.

Each company is handled in its own transaction, so one company's failure
(or a long sealing run) never holds the others back. The SQL work lives in
``docpal_private.maintain_audit`` / ``seal_audit`` / ``verify_audit``.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg

from . import deploy


def _companies(conn: psycopg.Connection, company: str | None) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        "select c.id::text, c.slug, c.schema_name from docpal_private.companies c"
        " where %(c)s::text is null or c.slug = %(c)s or c.id::text = %(c)s order by c.slug",
        {"c": company}).fetchall()
    if company and not rows:
        raise LookupError(f"no company {company!r}")
    return rows


def maintain(url: str, keep_months: int | None = None, archive: bool = False,
             company: str | None = None) -> Iterator[dict]:
    """Partitions, sealing and (with keep_months) retention, company by company."""
    with psycopg.connect(deploy.libpq_url(url), autocommit=True) as conn, deploy.as_owner(conn):
        # as docpal_owner: the partitions it creates are docpal_owner's like the rest
        for cid, slug, schema in _companies(conn, company):
            with conn.transaction():
                result = conn.execute("select docpal_private.maintain_audit(%s, %s, %s)",
                                      (schema, keep_months, archive)).fetchone()[0]
            yield {"company": slug, "id": cid, **result}


def verify(url: str, company: str | None = None) -> Iterator[dict]:
    """Seals, then verifies the chain of each company."""
    with psycopg.connect(deploy.libpq_url(url), autocommit=True) as conn, deploy.as_owner(conn):
        for cid, slug, schema in _companies(conn, company):
            with conn.transaction():
                sealed = conn.execute("select docpal_private.seal_audit(%s)", (schema,)).fetchone()[0]
                result = conn.execute("select docpal_private.verify_audit(%s)", (schema,)).fetchone()[0]
            yield {"company": slug, "id": cid, "sealed": sealed, **result}
