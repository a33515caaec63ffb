-- grant: docpal_service, docpal_app
create or replace function docpal.get_company(ref text)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The company whose id or slug is ref, or null. Platform admins see every
   company; anyone else sees only the active company of their context. */
declare
    v_company record;
    v_context uuid;
begin
    if get_company.ref ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' then
        select * into v_company from docpal_private.companies c where c.id = get_company.ref::uuid;
    else
        select * into v_company from docpal_private.companies c where c.slug = get_company.ref;
    end if;
    if v_company.id is null then
        return null;
    end if;
    if not docpal_private.caller_is_platform_admin() then
        select c.company_id into v_context from docpal_private.context() c;
        if v_context is distinct from v_company.id or v_company.status <> 'active' then
            return null;
        end if;
    end if;
    return docpal_private.company_json(pg_catalog.to_jsonb(v_company));
end
$$;
