-- grant: docpal_service
create or replace function docpal.activate_company(id uuid)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Makes a suspended company active again; returns it. P0002 for an unknown id. */
declare
    v_company record;
begin
    v_company := docpal_private.company_for_update(activate_company.id);
    update docpal_private.companies c
       set status = 'active', status_reason = null, updated_at = pg_catalog.now()
     where c.id = activate_company.id
    returning * into v_company;
    return docpal_private.company_json(pg_catalog.to_jsonb(v_company));
end
$$;
