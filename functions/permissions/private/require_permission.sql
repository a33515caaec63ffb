create or replace function docpal_private.require_permission(
    p_caller docpal_private.caller, p_slug text, p_action text, p_keys text[] default null)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* docpal_private.permission, or 42501 when the action is denied or one of
   p_keys (the columns a write sets) is not among the grant's columns. */
declare
    v_perm jsonb := docpal_private.permission(p_caller, p_slug, p_action);
    v_column text;
begin
    if v_perm is null then
        raise exception using errcode = '42501',
            message = pg_catalog.format('permission denied: %s on table %s', p_action, p_slug);
    end if;
    if p_keys is not null and v_perm->'columns' is not null and v_perm->'columns' <> 'null' then
        select k into v_column from pg_catalog.unnest(p_keys) k where not (v_perm->'columns' ? k) limit 1;
        if v_column is not null then
            raise exception using errcode = '42501',
                message = pg_catalog.format('permission denied: %s of column %s of table %s', p_action, v_column, p_slug);
        end if;
    end if;
    return v_perm;
end
$$;
