create or replace function docpal_private.event_retention(p_settings jsonb)
    returns interval
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A company's event retention: settings.event_retention (an interval such
   as "7 days" or "P30D"), 7 days when absent, not an interval, or
   negative. */
begin
    if pg_catalog.jsonb_typeof(p_settings->'event_retention') = 'string' then
        begin
            if (p_settings->>'event_retention')::interval >= interval '0' then
                return (p_settings->>'event_retention')::interval;
            end if;
        exception when others then
            null;  -- not an interval: the default
        end;
    end if;
    return interval '7 days';
end
$$;
