create or replace function docpal_private.report_execute_bound(p_report jsonb, p_bound jsonb)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* One run of report p_report (its _reports row as jsonb,
   docpal_private.report_get) with params already bound (p_bound, what
   docpal_private.report_bind returned for it), under the context in force
   (the caller's grants: docpal_private.report_run): the params put in the
   spec (docpal_private.report_substitute), the query run. Returns {report
   (the slug), params (p_bound), ran_at, ms (the query's time), result}.
   Split from docpal_private.report_execute so that get_dashboard, which
   binds a widget's params to look for a snapshot, does not bind them a
   second time to run it. The query's own errors come through unchanged
   (42501, 42703, 42P01, ...). */
declare
    v_spec jsonb := docpal_private.report_substitute(p_report->'spec', p_bound);
    v_start timestamptz := pg_catalog.clock_timestamp();
    v_result jsonb;
begin
    v_result := docpal_private.report_run(p_report->>'kind', p_report->>'table_slug', v_spec);
    return pg_catalog.jsonb_build_object(
        'report', p_report->'slug', 'params', p_bound, 'ran_at', v_start,
        'ms', pg_catalog.round(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - v_start)::numeric * 1000, 3),
        'result', v_result);
end
$$;
