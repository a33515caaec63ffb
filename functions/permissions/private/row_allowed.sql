create or replace function docpal_private.row_allowed(p_schema text, p_spec jsonb, p_filter jsonb, p_id uuid)
    returns boolean
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether record p_id of the table exists and matches the row filter
   p_filter (null: every row), compiled by the query engine the way
   q_compile compiles a permission's filter. */
declare
    v_state jsonb := pg_catalog.jsonb_build_object('schema', p_schema, 'root', p_spec->>'slug',
                                                   'specs', pg_catalog.jsonb_build_object(p_spec->>'slug', p_spec),
                                                   'joins', '{}'::jsonb, 'params', '[]'::jsonb);
    v_where text := 'true';
    v_found boolean;
begin
    if p_filter is not null and p_filter <> 'null'::jsonb then
        select f.p_state, f.o_sql into v_state, v_where from docpal_private.q_filter(v_state, p_filter) f;
    end if;
    v_state := pg_catalog.jsonb_set(v_state, '{params}', (v_state->'params') || pg_catalog.to_jsonb(p_id::text));
    execute pg_catalog.format('select exists (select from %s where _t.id = ($1->>%s)::uuid and (%s))',
                              docpal_private.q_from(v_state, false), pg_catalog.jsonb_array_length(v_state->'params') - 1, v_where)
       into v_found using v_state->'params';
    return v_found;
end
$$;
