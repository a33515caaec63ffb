-- grant: docpal_service
create or replace function docpal.get_user(ref text)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The platform user whose id or email (in any case) is ref, or null:
   {id, email, display_name, created_at}. Platform admins only (granted to
   docpal_service): how `docpal serve`'s admin page finds the owner it is
   asked to add by email before it creates one. */
declare
    v_user record;
begin
    if get_user.ref ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' then
        select * into v_user from docpal_private.users u where u.id = get_user.ref::uuid;
    else
        select * into v_user from docpal_private.users u
         where pg_catalog.lower(u.email) = pg_catalog.lower(pg_catalog.btrim(get_user.ref));
    end if;
    if v_user.id is null then
        return null;
    end if;
    return pg_catalog.jsonb_build_object('id', v_user.id, 'email', v_user.email, 'display_name', v_user.display_name,
                                         'created_at', v_user.created_at);
end
$$;
