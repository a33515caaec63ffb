-- Declarations pglast's PL/pgSQL parser does not take as they are (schema-
-- qualified types, %ROWTYPE, arrays of composite types, VARIADIC): the
-- linter must still parse this body.
create or replace function docpal_private.declarations(
    p_company docpal_private.companies, variadic p_tags text[])
    returns setof docpal_private.companies
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
<<outer>>
declare
    v_row docpal_private.companies%rowtype;
    v_id docpal_private.companies.id%type;
    v_all docpal_private.companies[];
    v_cursor cursor (k integer) for
        select c.id from docpal_private.companies c where c.schema_version = k;
    v_tag text;
begin
    v_row := p_company;
    v_row.name := pg_catalog.upper(v_row.name);
    foreach v_tag in array p_tags loop
        declare
            v_inner docpal_private.companies;
        begin
            v_inner.slug := v_tag;
        exception when others then
            null;
        end;
    end loop;
    open v_cursor(1);
    fetch v_cursor into v_id;
    close v_cursor;
    v_all := array[v_row];
    return next v_row;
end outer
$$;
