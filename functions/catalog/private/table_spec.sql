create or replace function docpal_private.table_spec(p_schema text, p_slug text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The catalog entry of table p_slug in company schema p_schema; 42P01 when unknown. */
declare
    v_spec jsonb;
begin
    execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = $1 and c.slug = $2', p_schema)
       into v_spec using 'table', p_slug;
    if v_spec is null then
        raise exception using errcode = '42P01',
            message = pg_catalog.format('table %L does not exist', p_slug);
    end if;
    return v_spec;
end
$$;
