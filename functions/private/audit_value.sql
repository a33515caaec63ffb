create or replace function docpal_private.audit_value(p_value jsonb)
    returns text
    language plpgsql immutable parallel safe
    set search_path = pg_catalog, pg_temp
as $$
/* A value as the audit summary shows it: strings bare, JSON otherwise,
   "empty" for null, cut to 40 characters (39 and an ellipsis). */
declare
    v_text text := coalesce(p_value #>> '{}', 'empty');
begin
    if pg_catalog.length(v_text) > 40 then
        return pg_catalog.left(v_text, 39) || '…';
    end if;
    return v_text;
end
$$;
