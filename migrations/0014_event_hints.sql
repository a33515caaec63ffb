-- depends: 0013_report_schedule
-- Events at scale (issue 19): a poll without a context visits the companies
-- that may have events for the consumer, not every company.
--
-- event_hints: which companies a transaction wrote events in, one row per
-- (transaction, company schema), inserted by a statement trigger on each outbox
-- (docpal_private.event_hint; a repeat in the same transaction is an index
-- probe that writes nothing). Insert-only for writers: no row that two
-- writers update, so writers never queue on it. Consumers read it by
-- snapshots, as they read the outbox (DESIGN-NOTES 6), and delete what every
-- consumer has read (docpal_private.event_sweep, docpal.maintain_events).
-- No foreign key to companies: a write would lock the companies row.
create table if not exists docpal_private.event_hints (
    xid            xid8 not null,
    company_schema text not null,
    primary key (xid, company_schema)
);
comment on table docpal_private.event_hints is 'Which companies each transaction wrote events in (insert-only; read by consumers by snapshots, then deleted).';
comment on column docpal_private.event_hints.xid is 'The writing transaction (pg_current_xact_id()).';
comment on column docpal_private.event_hints.company_schema is 'The schema of a company whose outbox the transaction wrote to (the trigger''s own schema: no lookup on the write path).';

-- event_sweeps: per consumer that polls without a context, the snapshot up
-- to which it has read the hints (swept), the companies it still has to
-- visit (due, company numbers in ascending order) and, while it goes once
-- through every company (a consumer new to polling without a context),
-- where that pass goes on (full_from).
create table if not exists docpal_private.event_sweeps (
    consumer   text primary key,
    swept      pg_snapshot not null,
    due        bigint[] not null default '{}',
    full_from  bigint default 0,
    updated_at timestamptz not null default pg_catalog.now(),
    constraint event_sweeps_name_format check (consumer ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$')
);
comment on table docpal_private.event_sweeps is 'Consumers that poll without a context: how far they have read event_hints, and the companies still to visit.';
comment on column docpal_private.event_sweeps.consumer is 'The consumer name (as in event_consumers).';
comment on column docpal_private.event_sweeps.swept is 'The hints of the transactions visible in this snapshot are in due (or were visited).';
comment on column docpal_private.event_sweeps.due is 'Numbers of the companies the consumer has still to visit, ascending.';
comment on column docpal_private.event_sweeps.full_from is 'While the consumer visits every company once: the company number the pass goes on from (null: no pass).';
comment on column docpal_private.event_sweeps.updated_at is 'Last sweep: rows idle for a day go (docpal.maintain_events); the consumer then visits every company once.';

-- the open batches of a consumer (visited by every poll without a context;
-- ack_events without a context closes the earlier ones of the same poll)
create index if not exists event_consumers_open on docpal_private.event_consumers (consumer, company_id)
    where batch_snap is not null;
