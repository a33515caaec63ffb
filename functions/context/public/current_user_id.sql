-- grant: docpal_service, docpal_app
create or replace function docpal.current_user_id()
    returns uuid
    language sql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
    /* The user in context, or null; 42501 for a context not signed in this session. */
    select c.user_id from docpal_private.context() c
$$;
