create or replace function docpal_private.column_spec(p_spec jsonb, p_column text)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The spec of column p_column of a table spec; 42703 when there is none. */
declare
    v_column jsonb;
begin
    select c into v_column from pg_catalog.jsonb_array_elements(p_spec->'columns') c where c->>'name' = p_column;
    if v_column is null then
        raise exception using errcode = '42703',
            message = pg_catalog.format('table %L has no column %L', p_spec->>'slug', p_column);
    end if;
    return v_column;
end
$$;
