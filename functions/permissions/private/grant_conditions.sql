create or replace function docpal_private.grant_conditions(
    p_schema text, p_spec jsonb, p_grants jsonb, out o_state jsonb, out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The SQL of a boolean[] whose element i says whether grant i of p_grants
   (an array of {columns, row_filter}, as docpal_private.permission lists
   them) covers the row _t of the table: true for a grant without a row
   filter, its filter (never null: coalesced to false) otherwise. o_state
   carries what that SQL needs: FROM is docpal_private.q_from(o_state,
   false) (the filters' relation joins) and its values are bound as $1,
   o_state.params. Every filter is compiled into the same state, so the
   grants of several actions are one array and one statement. */
declare
    v_grant jsonb;
    v_where text;
    v_parts text[] := '{}';
begin
    o_state := pg_catalog.jsonb_build_object('schema', p_schema, 'root', p_spec->>'slug',
                                             'specs', pg_catalog.jsonb_build_object(p_spec->>'slug', p_spec),
                                             'joins', '{}'::jsonb, 'params', '[]'::jsonb);
    for v_grant in select g from pg_catalog.jsonb_array_elements(coalesce(p_grants, '[]')) g loop
        if v_grant->'row_filter' is null or v_grant->'row_filter' = 'null'::jsonb then
            v_parts := v_parts || 'true'::text;
        else
            select f.p_state, f.o_sql into o_state, v_where from docpal_private.q_filter(o_state, v_grant->'row_filter') f;
            v_parts := v_parts || pg_catalog.format('coalesce((%s), false)', v_where);
        end if;
    end loop;
    o_sql := 'array[' || pg_catalog.array_to_string(v_parts, ', ') || ']::boolean[]';
end
$$;
