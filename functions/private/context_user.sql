create or replace function docpal_private.context_user()
    returns uuid
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The user of a valid context, else null (never raises): for triggers, which
   must not fail a DBA's plain SQL because of a stale setting. */
begin
    return (select c.user_id from docpal_private.context() c);
exception when insufficient_privilege then
    return null;
end
$$;
