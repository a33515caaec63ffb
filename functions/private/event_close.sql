create or replace function docpal_private.event_close(p_consumer text, p_company uuid)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Closes the consumer's batch in a company once all of it is acknowledged:
   its snapshot becomes the consumed point. Then the outbox lets go of what
   every consumer of the company has consumed: events older than the
   oldest consumed snapshot's xmin (a consumer replaying holds everything). */
declare
    v_schema text;
    v_keep xid8;
begin
    update docpal_private.event_consumers e
       set done_snap = e.batch_snap, batch_snap = null, batch_first = null, batch_last = null,
           acked = 0, sent = 0, updated_at = pg_catalog.now()
     where e.consumer = p_consumer and e.company_id = p_company and e.batch_snap is not null and e.acked >= e.batch_last;
    if not found then
        return;
    end if;
    select c.schema_name into v_schema from docpal_private.companies c where c.id = p_company;
    select pg_catalog.min(pg_catalog.pg_snapshot_xmin(e.done_snap)) into v_keep
      from docpal_private.event_consumers e where e.company_id = p_company;
    execute pg_catalog.format('delete from %I._events e where e.xid < $1', v_schema) using v_keep;
end
$$;
