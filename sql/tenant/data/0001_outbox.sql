-- Tenant module "data": what a company needs once it has a table, made with
-- its first one (docpal_private.data_setup). The monthly partitions of the
-- audit log (`docpal audit maintain` adds the later ones); the outbox
-- _events: one row per change, written by the capture trigger in the
-- writer's transaction, with the writer's transaction id (xid), which
-- consumers read by snapshots; its id range and the notification channel
-- (docpal_private.event_ids).
select docpal_private.audit_partitions('{{ schema }}');
create sequence {{ schema }}._events_id_seq as bigint;
create table {{ schema }}._events (
    id        bigint primary key default pg_catalog.nextval('{{ schema }}._events_id_seq'::regclass),
    xid       xid8 not null default pg_catalog.pg_current_xact_id(),
    at        timestamptz not null default pg_catalog.now(),
    "table"   text not null,
    record_id uuid,
    action    text not null,
    version   integer,
    changed   text[],
    user_id   uuid,
    workflow  jsonb
);
alter sequence {{ schema }}._events_id_seq owned by {{ schema }}._events.id;
create index _events_xid on {{ schema }}._events (xid);
comment on table {{ schema }}._events is 'docpal outbox: one event per committed change, read by consumers in snapshot order.';
select docpal_private.event_ids('{{ schema }}');
