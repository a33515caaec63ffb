create or replace function docpal_private.import_map_users(p_rows jsonb, p_map jsonb, p_keys text[])
    returns jsonb
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* p_rows (an array of objects) with the user ids under p_keys replaced
       as p_map ({exported id: id here}) says: an import's members found
       under another id on this platform. p_rows as it is when nothing maps. */
    select case when p_map = '{}' or pg_catalog.cardinality(p_keys) = 0 then p_rows
                else (select pg_catalog.jsonb_agg(
                                 r || coalesce((select pg_catalog.jsonb_object_agg(k, p_map->(r->>k))
                                                  from pg_catalog.unnest(p_keys) k where p_map ? (r->>k)), '{}')
                                 order by o)
                        from pg_catalog.jsonb_array_elements(p_rows) with ordinality x(r, o))
           end
$$;
