create or replace function docpal_private.report_names_user(p_report jsonb)
    returns boolean
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* Whether report p_report (its _reports row as jsonb) names "$user"
       anywhere, in its spec or a param's default: its result then depends
       on who runs it, so its snapshots belong to their user alone
       (docpal_private.report_view, dashboard_data). */
    select pg_catalog.strpos(coalesce((p_report->'spec')::text, '') || coalesce((p_report->'params')::text, ''),
                             '$user') > 0
$$;
