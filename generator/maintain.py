"""``docpal maintain``: the periodic upkeep of every company in one command.

For each company, in its own transactions: the audit log (coming partitions,
sealing, optional retention: ``docpal_private.maintain_audit``) and the event
outbox (``docpal.maintain_events``: events past the company's
``settings.event_retention`` that no active consumer still wants, removed in
batches of ``batch`` rows, one transaction per batch, never row by row on
the write path). pg_cron, when installed, runs the outbox part every hour by
itself (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg

from . import audit, deploy


def events(url: str, company: str | None = None, batch: int = 10000) -> Iterator[dict]:
    """Outbox retention, company by company, in batches of ``batch`` rows per transaction."""
    with psycopg.connect(deploy.libpq_url(url), autocommit=True) as conn:
        for cid, slug, _schema in audit._companies(conn, company):
            deleted = 0
            while True:
                result = conn.execute("select docpal.maintain_events(%s::uuid, %s)", (cid, batch)).fetchone()[0]
                deleted += result["deleted"]
                if not result["more"]:
                    break
            yield {"company": slug, "id": cid, "events_deleted": deleted}


def run(url: str, company: str | None = None, keep_months: int | None = None, archive: bool = False,
        batch: int = 10000) -> Iterator[dict]:
    """Audit upkeep, then outbox retention: one line per company and part."""
    for item in audit.maintain(url, keep_months, archive, company):
        yield {"part": "audit", **item}
    for item in events(url, company, batch):
        yield {"part": "events", **item}
