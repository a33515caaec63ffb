create or replace function docpal_private.custom_role(p_schema text, p_role text, p_allow_member boolean)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* p_role, when it names a custom role of the company (or "member" with
   p_allow_member): 22023 for the other built-in roles, 42704 for an
   unknown one. */
declare
    v_found boolean;
begin
    if p_role = 'member' and p_allow_member then
        return p_role;
    end if;
    if p_role in ('owner', 'admin', 'member') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s is a built-in company role (owners and admins hold everything; company roles change with add_member)', p_role);
    end if;
    execute pg_catalog.format('select exists (select from %I._roles r where r.name = $1)', p_schema) into v_found using p_role;
    if not v_found then
        raise exception using errcode = '42704', message = pg_catalog.format('role %L does not exist', p_role);
    end if;
    return p_role;
end
$$;
