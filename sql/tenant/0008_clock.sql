-- The company's clock (contract section 10; issue 14): where the audit
-- entries and events of a company whose tables Citus holds take their ids.
-- On a worker a sequence hands out that node's range (Citus), and a
-- transaction id means nothing to the coordinator or to the next node the
-- company moves to; the clock is a row of the company's own, so it moves
-- with the company. Capture on a worker (and log_links in a distributed
-- company) takes ids from it under its row lock, held to commit: ids are
-- then in commit order without gaps, and entries and events written so
-- carry no transaction id (null). 0 means not used yet: the first use
-- starts after the highest id the company has. A local company never uses it.
create table if not exists {{ schema }}._clock (
    one      boolean primary key default true check (one),
    audit_id bigint not null default 0,
    event_id bigint not null default 0,
    -- the highest event id docpal.maintain_events removed (docpal_private.event_expire)
    event_floor bigint not null default 0
);
insert into {{ schema }}._clock default values on conflict do nothing;
comment on table {{ schema }}._clock is 'docpal: the last audit entry and event ids handed out on a Citus worker (docpal_private.clock_take).';
alter table {{ schema }}._audit_log alter column txid drop not null;
