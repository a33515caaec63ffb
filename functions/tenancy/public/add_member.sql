-- grant: docpal_service
create or replace function docpal.add_member(company uuid, user_id uuid, role text default 'member')
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Makes a user a member of a company with a company role (owner, admin or
   member); adding an existing member again sets their role. 22023 for an
   unknown role, 23503 for an unknown company or user. */
begin
    if add_member.role is null or add_member.role not in ('owner', 'admin', 'member') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('unknown company role %L', add_member.role),
            hint = 'Built-in roles are owner, admin and member.';
    end if;
    insert into docpal_private.memberships (company_id, user_id, role)
    values (add_member.company, add_member.user_id, add_member.role)
    on conflict on constraint memberships_pkey do update set role = excluded.role;
exception when foreign_key_violation or not_null_violation then
    raise exception using errcode = '23503',
        message = pg_catalog.format('company %s or user %s does not exist',
                                    coalesce(add_member.company::text, 'null'), coalesce(add_member.user_id::text, 'null'));
end
$$;
