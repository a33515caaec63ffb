-- grant: docpal_service
create or replace function docpal.list_members(company uuid)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The members of a company: [{user_id, email, display_name, role,
   joined_at}], owners first, then admins, then the other roles, each by
   email. Platform admins only (granted to docpal_service). P0002 for an
   unknown company. */
declare
    v_result jsonb;
begin
    if not exists (select from docpal_private.companies c where c.id = list_members.company) then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('company %s does not exist', coalesce(list_members.company::text, 'null'));
    end if;
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'user_id', u.id, 'email', u.email, 'display_name', u.display_name, 'role', m.role,
               'joined_at', m.created_at)
             order by case m.role when 'owner' then 0 when 'admin' then 1 else 2 end, pg_catalog.lower(u.email), u.id), '[]')
      into v_result
      from docpal_private.memberships m
      join docpal_private.users u on u.id = m.user_id
     where m.company_id = list_members.company;
    return v_result;
end
$$;
