-- grant: docpal_service
create or replace function docpal.drop_company(id uuid)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Drops the company schema with everything in it, and the company's rows in
   the global tables (memberships, upgrade records). P0002 for an unknown id. */
declare
    v_company record;
begin
    v_company := docpal_private.company_for_update(drop_company.id);
    execute pg_catalog.format('drop schema if exists %I cascade', v_company.schema_name);
    delete from docpal_private.companies c where c.id = drop_company.id;
end
$$;
