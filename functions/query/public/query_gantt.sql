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
   The statement is built by docpal_private.q_gantt_statement. */
declare
    v_sql text;
    v_params jsonb;
    v_result jsonb;
begin
    select s.o_sql, s.o_params into v_sql, v_params
      from docpal_private.q_gantt_statement((select pg_catalog.to_jsonb(c) from docpal_private.require_company() c),
                                            query_gantt.slug, query_gantt.spec) s;
    execute v_sql into v_result using v_params;
    return pg_catalog.jsonb_build_object('tasks', v_result);
end
$$;
