-- grant: docpal_service
create or replace function docpal.query_cache_stats()
    returns jsonb
    language sql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
    /* The compiled-statement cache of query_table (migration 0016):
       {lookups, hits, hit_rate, entries}: lookups (hits, and misses of
       queries that compiled) and hits since the server started (the
       counters are unlogged: a crash restarts them; a read-only
       transaction and a standby are not counted), hit_rate hits / lookups
       (null before the first), entries the statements held (at most
       8,192). Service only: it counts every company's queries. */
    select pg_catalog.jsonb_build_object(
               'lookups', h.n + m.n, 'hits', h.n,
               'hit_rate', case when h.n + m.n > 0 then pg_catalog.round(h.n::numeric / (h.n + m.n), 4) end,
               'entries', (select pg_catalog.count(*) from docpal_private.query_cache))
      from (select case when s.is_called then s.last_value else 0 end as n from docpal_private.query_cache_hits s) h,
           (select case when s.is_called then s.last_value else 0 end as n from docpal_private.query_cache_misses s) m
$$;
