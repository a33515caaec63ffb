create or replace function docpal_private.company_time_zone(p_schema text)
    returns text
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
    /* The time zone of the company whose schema is p_schema:
       settings.time_zone, UTC when it sets none. Where docpal reads dates
       and times in the company's time zone (functions of datetime paths,
       $now, query_calendar's days), this is the zone. */
    select coalesce((select c.settings->>'time_zone' from docpal_private.companies c where c.schema_name = p_schema), 'UTC')
$$;
