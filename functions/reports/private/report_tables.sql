create or replace function docpal_private.report_tables(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The company's report tables (_reports, _report_snapshots, _dashboards):
   tenant module "reports" (sql/tenant/reports/), made by the first
   save_report or save_dashboard, so that a company that never saves one
   has none of them. Readers take the absent tables for "no reports". */
begin
    perform docpal_private.tenant_module(p_schema, 'reports');
end
$$;
