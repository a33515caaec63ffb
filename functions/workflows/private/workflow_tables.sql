create or replace function docpal_private.workflow_tables(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The company's workflow log (<schema>._workflow_log: every approval and
   every state change made by docpal.transition_record): tenant module
   "workflows" (sql/tenant/workflows/), made by the first define_workflow of
   the company (not with the company: most companies never define a
   workflow, and every relation costs create_company time). Until then no
   record has a workflow history, which is what the absent table means. */
begin
    perform docpal_private.tenant_module(p_schema, 'workflows');
end
$$;
