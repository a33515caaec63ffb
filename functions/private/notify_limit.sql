create or replace function docpal_private.notify_limit()
    returns bigint
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* How many events one statement notifies one by one (setting
   docpal.notify_limit, default 100); a statement with more sends one
   summary {company_id, first_event_id, last_event_id, count}. Only the
   wake-up depends on it: the outbox holds every event either way, so a
   client may set it freely. */
declare
    v_setting text := pg_catalog.current_setting('docpal.notify_limit', true);
begin
    return case when v_setting ~ '^[0-9]{1,9}$' then v_setting::bigint else 100 end;
end
$$;
