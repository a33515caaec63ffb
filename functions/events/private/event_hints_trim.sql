create or replace function docpal_private.event_hints_trim(p_max integer)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Deletes up to p_max hints (docpal_private.event_hints) that every consumer
   with a sweep row has read and no running transaction can see as new:
   those below the lowest xmin of the sweeps' snapshots and of a snapshot
   taken now. Oldest first, a range of the index from the lowest hint, so
   the hints a held horizon keeps are not read; rows another call is
   deleting are skipped. For docpal_private.event_sweep and
   docpal.maintain_events. */
declare
    v_horizon xid8;
begin
    select least(pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()), pg_catalog.min(pg_catalog.pg_snapshot_xmin(s.swept)))
      into v_horizon from docpal_private.event_sweeps s;
    delete from docpal_private.event_hints h
     where h.ctid = any (array(select k.ctid from docpal_private.event_hints k
                                where k.xid >= (select pg_catalog.min(m.xid) from docpal_private.event_hints m)
                                  and k.xid < v_horizon
                                order by k.xid limit p_max for update skip locked));
end
$$;
