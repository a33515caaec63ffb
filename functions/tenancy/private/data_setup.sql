create or replace function docpal_private.data_setup(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The objects a company needs once it has a table, made on its first one
   (every CREATE TABLE costs milliseconds of file creation, so a company
   without tables has none of them):
   - the monthly partitions of the audit log (docpal_private.audit_partitions;
     `docpal audit maintain` adds the later ones);
   - the outbox _events: one row per change, written by the capture trigger
     in the writer's transaction, with the writer's transaction id (xid),
     which consumers read by snapshots. Its ids come from the company's own
     sequence inside number * 2^32 + 1 .. (number + 1) * 2^32 - 1, so they
     are unique across companies, tell the company they belong to and stay
     below 2^53 (company numbers end at 2^21 - 1);
   - the company's notification channel (docpal_private.event_channels). */
declare
    v_number bigint;
    v_first bigint;
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._events', p_schema)) is not null then
        return;
    end if;
    perform docpal_private.audit_partitions(p_schema);
    select c.number into strict v_number from docpal_private.companies c where c.schema_name = p_schema;
    v_first := v_number * 4294967296;  -- 2^32
    insert into docpal_private.event_channels (company_id)
    select c.id from docpal_private.companies c where c.schema_name = p_schema
    on conflict (company_id) do nothing;
    execute pg_catalog.format(
        'create sequence %1$I._events_id_seq as bigint minvalue %2$s maxvalue %3$s start %2$s;
         create table %1$I._events (
             id        bigint primary key default pg_catalog.nextval(%4$L::regclass),
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
         alter sequence %1$I._events_id_seq owned by %1$I._events.id;
         create index _events_xid on %1$I._events (xid);
         comment on table %1$I._events is %5$L',
        p_schema, v_first + 1, v_first + 4294967295, pg_catalog.format('%I._events_id_seq', p_schema),
        'docpal outbox: one event per committed change, read by consumers in snapshot order.');
end
$$;
