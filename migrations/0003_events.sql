-- depends: 0002_api_keys
-- Change events. Each company's outbox is a table in its own schema
-- (<schema>._events, made with its first table); what lives here is
-- platform-wide: a small number per company, which makes event ids unique
-- across companies (company number * 2^40 + the company's own sequence), and
-- the consumers' positions.
-- (2^23 companies of 2^40 events each fill a bigint; one statement, so that
-- the script can run again)
alter table docpal_private.companies add column if not exists number bigint generated always as identity
    constraint companies_number_key unique
    constraint companies_number_range check (number between 1 and 8388607);
comment on column docpal_private.companies.number is 'Small company number: event ids of the company are number * 2^40 + its own sequence.';

-- One row per consumer and company. A consumer moves by snapshots (PgQ):
-- the events whose transactions are visible in done_snap are consumed; the
-- current batch is the events visible in batch_snap and not in done_snap,
-- delivered in id order between batch_first and batch_last; acked and sent
-- are the last ids of the batch acknowledged and handed out, polled the
-- transaction that handed them out (an acknowledgement without a context
-- covers the other companies of that same poll).
create table if not exists docpal_private.event_consumers (
    consumer    text not null,
    company_id  uuid not null references docpal_private.companies (id) on delete cascade,
    done_snap   pg_snapshot not null default '1:1:',
    batch_snap  pg_snapshot,
    batch_first bigint,
    batch_last  bigint,
    acked       bigint not null default 0,
    sent        bigint not null default 0,
    polled      xid8,
    updated_at  timestamptz not null default pg_catalog.now(),
    primary key (consumer, company_id),
    constraint event_consumers_name_format check (consumer ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$')
);
comment on table docpal_private.event_consumers is 'Event consumers: each one''s position in each company''s outbox.';
