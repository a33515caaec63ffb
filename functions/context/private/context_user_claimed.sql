create or replace function docpal_private.context_user_claimed()
    returns uuid
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The user the context setting names, without checking its signature: for
   the audit triggers. Only roles that may write docpal tables directly
   reach a trigger without going through docpal's functions (which verify the
   context first), and those roles could write any user into updated_by or
   into the log anyway; checking the HMAC there would cost more than the
   write. Null without a well-formed setting. */
declare
    v_user text := pg_catalog.split_part(pg_catalog.current_setting('docpal.context', true), '|', 2);
begin
    if v_user ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        return v_user::uuid;
    end if;
    return null;
end
$$;
