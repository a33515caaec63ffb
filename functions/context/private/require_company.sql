create or replace function docpal_private.require_company(
    out company_id uuid, out user_id uuid, out schema_name text, out member_role text, out scopes text[])
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The company in context, for every tenant function: its id, the user, the
   company schema and the user's company role. 42501 without a context, for a
   suspended company, or when the user is no longer a member. */
declare
    v_status text;
begin
    select c.company_id, c.user_id, c.scopes into company_id, user_id, scopes from docpal_private.context() c;
    if company_id is null then
        raise exception using errcode = '42501', message = 'no company in context',
            hint = 'Call docpal.set_context (service) or docpal.authenticate (client) first.';
    end if;
    select c.schema_name, c.status into schema_name, v_status
      from docpal_private.companies c where c.id = company_id;
    if v_status is distinct from 'active' then
        raise exception using errcode = '42501',
            message = pg_catalog.format('company %s is %s', company_id, coalesce(v_status, 'gone'));
    end if;
    select m.role into member_role
      from docpal_private.memberships m
     where m.company_id = require_company.company_id and m.user_id = require_company.user_id;
    if member_role is null then
        raise exception using errcode = '42501',
            message = pg_catalog.format('user %s is not a member of company %s', user_id, company_id);
    end if;
end
$$;
