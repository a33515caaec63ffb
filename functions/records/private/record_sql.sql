create or replace function docpal_private.record_sql(p_schema text, p_spec jsonb, p_alias text)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* SQL of the JSON of the row p_alias of a table: to_jsonb of the row, plus
   each relation_many column as the array of linked ids, in their order ([]
   when none). */
declare
    v_links text;
begin
    select pg_catalog.string_agg(pg_catalog.format(
               '%L, coalesce((select pg_catalog.jsonb_agg(j.target_id order by j.position) from %I.%I j
                               where j.source_id = %I.id), ''[]'')',
               c->>'name', p_schema, c->'objects'->>'junction', p_alias), ', ')
      into v_links
      from pg_catalog.jsonb_array_elements(p_spec->'columns') c
     where c->>'type' = 'relation_many';
    return pg_catalog.format('pg_catalog.to_jsonb(%I)', p_alias)
           || coalesce(' || pg_catalog.jsonb_build_object(' || v_links || ')', '');
end
$$;
