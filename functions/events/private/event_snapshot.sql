create or replace function docpal_private.event_snapshot()
    returns pg_snapshot
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The current snapshot as consumers use it: with the caller's own
   transaction, when it has an id, counted as still running. A snapshot does
   not list its own transaction, and one whose id is below the snapshot's
   xmax reads as finished: a poll in the same transaction as writes would
   otherwise hand out (and take as consumed) events that are not committed
   and may never be. */
declare
    v_snap pg_snapshot := pg_catalog.pg_current_snapshot();
    v_own xid8 := pg_catalog.pg_current_xact_id_if_assigned();
begin
    if v_own is null or not pg_catalog.pg_visible_in_snapshot(v_own, v_snap) then
        return v_snap;
    end if;
    return pg_catalog.format('%s:%s:%s',
                             least(pg_catalog.pg_snapshot_xmin(v_snap), v_own), pg_catalog.pg_snapshot_xmax(v_snap),
                             (select pg_catalog.string_agg(x::text, ',' order by x)
                                from (select pg_catalog.pg_snapshot_xip(v_snap) as x union select v_own) u))::pg_snapshot;
end
$$;
