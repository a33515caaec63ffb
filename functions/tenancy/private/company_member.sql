create or replace function docpal_private.company_member(p_company uuid, p_user uuid, p_caller uuid)
    returns uuid
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* p_user, when it is another member of the company than the caller:
   42501 for the caller themselves (nobody assigns themselves a role or a
   group), 23503 for someone who is not a member. */
begin
    if p_user = p_caller then
        raise exception using errcode = '42501', message = 'nobody assigns roles or groups to themselves';
    end if;
    if not exists (select from docpal_private.memberships m where m.company_id = p_company and m.user_id = p_user) then
        raise exception using errcode = '23503',
            message = pg_catalog.format('user %s is not a member of the company', coalesce(p_user::text, 'null'));
    end if;
    return p_user;
end
$$;
