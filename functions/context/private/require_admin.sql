create or replace function docpal_private.require_admin(
    out company_id uuid, out user_id uuid, out schema_name text, out member_role text, out scopes text[])
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* require_company for what only a company's owners and admins may do
   (schema changes, permissions, API keys, audit upkeep): 42501 for anyone
   else, and for an API key without every scope (a narrowed key never
   administers). */
begin
    select * into company_id, user_id, schema_name, member_role, scopes from docpal_private.require_company();
    if member_role not in ('owner', 'admin') then
        raise exception using errcode = '42501',
            message = pg_catalog.format('only an owner or admin of the company may do this (user %s is %s)', user_id, member_role);
    end if;
    if scopes is not null and not (scopes @> array['read', 'create', 'update', 'delete']) then
        raise exception using errcode = '42501', message = 'an API key with narrowed scopes cannot administer the company';
    end if;
end
$$;
