create or replace function docpal_private.event_cursor(
    p_done_id bigint, p_done pg_snapshot, p_batch pg_snapshot default null, p_last bigint default null)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The text of a docpal.read_events cursor (docpal_private.event_cursor_read
   reads it back): "v1.<done id>.<done snapshot>" once every event of a
   batch is read, or, inside a batch, "v1.<done id>.<done snapshot>.<batch
   snapshot>.<batch last id>." to which the caller appends the id of the
   last event read. A snapshot is written "<xmin>:<xmax - xmin>:<xip -
   xmin>,...": the same values as pg_snapshot's text, shorter. */
declare
    v_text text := 'v1.' || p_done_id::text;
    v_snap pg_snapshot;
    v_base bigint;
begin
    foreach v_snap in array array[p_done, p_batch] loop
        continue when v_snap is null;
        v_base := pg_catalog.pg_snapshot_xmin(v_snap)::text::bigint;
        v_text := v_text || '.' || v_base::text || ':'
                  || (pg_catalog.pg_snapshot_xmax(v_snap)::text::bigint - v_base)::text || ':'
                  || coalesce((select pg_catalog.string_agg((x::text::bigint - v_base)::text, ',' order by x)
                                 from pg_catalog.pg_snapshot_xip(v_snap) x), '');
    end loop;
    if p_batch is not null then
        v_text := v_text || '.' || p_last::text || '.';
    end if;
    return v_text;
end
$$;
