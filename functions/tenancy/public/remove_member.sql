-- grant: docpal_service
create or replace function docpal.remove_member(company uuid, user_id uuid)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Removes a user from a company; their contexts for it stop working at once.
   P0002 when the user is not a member. */
begin
    delete from docpal_private.memberships m
     where m.company_id = remove_member.company and m.user_id = remove_member.user_id;
    if not found then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('user %s is not a member of company %s',
                                        coalesce(remove_member.user_id::text, 'null'), coalesce(remove_member.company::text, 'null'));
    end if;
end
$$;
