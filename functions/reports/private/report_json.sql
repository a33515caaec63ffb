create or replace function docpal_private.report_json(p_report jsonb, p_next_run_at timestamptz)
    returns jsonb
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* A report as save_report and list_reports return it: {slug, name,
       description, table, kind, spec, params, schedule, next_run_at,
       last_run_at, last_error, saved_by, saved_at}, from its _reports row
       (p_report, as jsonb) and its next due time (null when it has no
       schedule). */
    select pg_catalog.jsonb_build_object(
        'slug', p_report->'slug', 'name', p_report->'name', 'description', p_report->'description',
        'table', p_report->'table_slug', 'kind', p_report->'kind', 'spec', p_report->'spec',
        'params', p_report->'params', 'schedule', p_report->'schedule', 'next_run_at', p_next_run_at,
        'last_run_at', p_report->'last_run_at', 'last_error', p_report->'last_error',
        'saved_by', p_report->'saved_by', 'saved_at', p_report->'saved_at')
$$;
