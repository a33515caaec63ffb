create or replace function docpal_private.count_key_request(p_key uuid)
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Counts one request of an API key in the current minute and returns the
   key's requests this minute, this one included. The counters are an
   UNLOGGED table (no WAL, no durable commit per call) with a row per key,
   minute and backend: a backend runs one transaction at a time, so two
   concurrent requests of one key never wait on the same counter row, and a
   client that keeps its transaction open delays no one. Requests of other
   backends still in progress are not counted yet (the limit may be exceeded
   by as many requests as run at once). The first request of a minute in a
   backend prunes the rows of earlier minutes, skipping any still locked. */
declare
    v_minute timestamptz := pg_catalog.date_trunc('minute', pg_catalog.clock_timestamp());
    v_first boolean;
begin
    insert into docpal_private.api_key_usage as u (key_id, minute, backend, requests)
    values (p_key, v_minute, pg_catalog.pg_backend_pid(), 1)
    on conflict (key_id, minute, backend) do update set requests = u.requests + 1
    returning u.requests = 1 into v_first;
    if v_first then
        delete from docpal_private.api_key_usage u
         where u.ctid = any (array(select o.ctid from docpal_private.api_key_usage o
                                    where o.minute < v_minute
                                      for update skip locked));
    end if;
    return (select pg_catalog.sum(u.requests)::integer from docpal_private.api_key_usage u
             where u.key_id = p_key and u.minute = v_minute);
end
$$;
