create or replace function docpal_private.company_of_schema(p_schema text)
    returns uuid
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The id of the company whose schema is p_schema; P0002 when it is no
   company's (a schema name only ever comes from docpal's own catalog). */
declare
    v_company uuid;
begin
    select c.id into v_company from docpal_private.companies c where c.schema_name = p_schema;
    if v_company is null then
        raise exception using errcode = 'P0002', message = pg_catalog.format('no company has schema %s', p_schema);
    end if;
    return v_company;
end
$$;
