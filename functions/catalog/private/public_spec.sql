create or replace function docpal_private.public_spec(p_spec jsonb)
    returns jsonb
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* A column or table spec without docpal's internal keys ("objects":
       the names of the constraints and indexes a column owns; "search": the
       full-text index definition; "workflows": the state columns workflows
       govern, which describe_table shows as the workflows themselves). */
    select case
        when p_spec is null then null
        when p_spec ? 'columns' then (p_spec - 'objects' - 'search' - 'workflows') || pg_catalog.jsonb_build_object('columns',
            coalesce((select pg_catalog.jsonb_agg(c - 'objects' order by o)
                        from pg_catalog.jsonb_array_elements(p_spec->'columns') with ordinality x(c, o)), '[]'))
        else p_spec - 'objects' - 'search' - 'workflows'
    end
$$;
