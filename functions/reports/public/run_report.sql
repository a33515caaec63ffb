-- grant: docpal_service, docpal_app
create or replace function docpal.run_report(slug text, params jsonb default '{}')
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Runs report `slug` of the company in context now, as the caller: its
   query function (query_table, aggregate, query_kanban, query_calendar)
   under the caller's context, so with the caller's grants, never the
   saver's. params {name: value}: the report's params, each a value of its
   type (the defaults fill in the rest). Returns {report, params (as
   bound), ran_at, ms, result}. 42501 without a context, P0002 for an
   unknown report, 22023 for an unknown param, a missing one without a
   default or a value that does not fit (param "x": ...), 54000 for params
   over the size limits; the query's own errors as they come (42501 for
   what the caller may not read). */
declare
    v_ctx docpal_private.caller;
begin
    perform docpal_private.check_spec_size(run_report.params, 'run_report');
    select * into v_ctx from docpal_private.require_company();
    return docpal_private.report_execute(docpal_private.report_get(v_ctx.schema_name, run_report.slug), run_report.params);
end
$$;
