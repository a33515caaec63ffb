create or replace function docpal_private.report_cap(p_schema text, p_what text, p_slug text)
    returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Refuses (54000) to save a new report (p_what 'report': at most 1,000 per
   company) or dashboard ('dashboard': at most 200) of slug p_slug when the
   company already has that many; replacing an existing slug is always
   allowed. The limits bound what every list_reports, list_dashboards and
   schedule scan of one company costs, whoever saves. Counted as the
   caller's transaction sees them, as docpal_private.quota_check counts: two
   new saves at the limit at the same moment may both pass (an overshoot by
   what is in flight, never a lock held until commit). Called after
   docpal_private.report_tables, so the tables are there. */
declare
    v_table text := case p_what when 'report' then '_reports' when 'dashboard' then '_dashboards' end;
    v_max integer := case p_what when 'report' then 1000 when 'dashboard' then 200 end;
    v_count bigint;
    v_exists boolean;
begin
    execute pg_catalog.format('select pg_catalog.count(*), coalesce(pg_catalog.bool_or(t.slug = $1), false) from %I.%I t',
                              p_schema, v_table)
       into v_count, v_exists using p_slug;
    if not v_exists and v_count >= v_max then
        raise exception using errcode = '54000',
            message = pg_catalog.format('the company has %s %ss, the limit of %s', v_count, p_what, v_max),
            hint = pg_catalog.format('Drop a %s, or save this one over an existing slug.', p_what);
    end if;
end
$$;
