-- grant: docpal_service
create or replace function docpal.suspend_company(id uuid, reason text)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Suspends a company: from now on only platform admins can read it, and no
   context can be set for it. Returns the company; P0002 for an unknown id. */
declare
    v_company record;
begin
    v_company := docpal_private.company_for_update(suspend_company.id);
    update docpal_private.companies c
       set status = 'suspended', status_reason = suspend_company.reason, updated_at = pg_catalog.now()
     where c.id = suspend_company.id
    returning * into v_company;
    return docpal_private.company_json(pg_catalog.to_jsonb(v_company));
end
$$;
