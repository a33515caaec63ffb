-- grant: docpal_service, docpal_app
create or replace function docpal.query_gantt(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {tasks: [{id, label, start, end, dependencies}]}: start and end are date
   or datetime paths, label a path, dependencies an optional relation_many of
   the table to itself; sorted by spec.sort, else by start.
   The statement is built by docpal_private.q_gantt_statement and run by
   docpal_private.q_run_view. */
begin
    return pg_catalog.jsonb_build_object('tasks', docpal_private.q_run_view('gantt', query_gantt.slug, query_gantt.spec));
end
$$;
