create or replace function docpal_private.platform_setting(p_name text)
    returns text
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
    /* One platform setting (docpal_private.platform_settings), or null when
       it is not set. Platform settings are changed only by platform admins
       (docpal.set_platform_setting); no session setting overrides them. */
    select s.value from docpal_private.platform_settings s where s.name = p_name;
$$;
