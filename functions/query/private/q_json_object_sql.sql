create or replace function docpal_private.q_json_object_sql(p_pairs text[])
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* SQL building one JSON object from "'key', expression" pairs.
   jsonb_build_object takes at most 100 arguments: 50 pairs a call, joined by ||. */
begin
    return (select pg_catalog.string_agg('pg_catalog.jsonb_build_object(' || c.chunk || ')', ' || ')
              from (select pg_catalog.string_agg(p, ', ' order by o) as chunk
                      from pg_catalog.unnest(p_pairs) with ordinality x(p, o)
                     group by (o - 1) / 50) c);
end
$$;
