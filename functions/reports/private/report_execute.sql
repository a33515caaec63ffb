create or replace function docpal_private.report_execute(p_report jsonb, p_params jsonb)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* One run of report p_report (its _reports row as jsonb,
   docpal_private.report_get) with the params p_params, under the context
   in force (the caller's grants: docpal_private.report_run): the params
   bound (docpal_private.report_bind, 22023), then run
   (docpal_private.report_execute_bound). Returns {report (the slug),
   params (as bound), ran_at, ms (the query's time), result}. The query's
   own errors come through unchanged (42501, 42703, 42P01, ...). */
begin
    return docpal_private.report_execute_bound(p_report, docpal_private.report_bind(p_report, p_params));
end
$$;
