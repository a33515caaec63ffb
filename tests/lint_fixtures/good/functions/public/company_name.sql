-- grant: docpal_service, docpal_app
create or replace function docpal.company_name(id uuid)
    returns text
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Everything here is qualified, or a CTE, or a pg_catalog builtin. */
declare
    v_company docpal_private.companies;
    v_name text := pg_catalog.lower('x');
begin
    with c as (select * from docpal_private.companies k where k.id = company_name.id)
    select * into v_company from c;
    if not found then
        raise exception using errcode = 'P0002', message = format('company %s does not exist', company_name.id);
    end if;
    execute pg_catalog.format('select %L::text', v_company.name) into v_name;
    execute pg_catalog.format('select count(*) from %I.%I where id = $1', v_company.schema_name, 'things')
        using company_name.id;
    return coalesce(nullif(v_name, ''), upper(v_company.name));
end
$$;
