-- grant: docpal_service, docpal_app
create or replace function docpal.query_table(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {rows, total}: the records (or the columns asked for) matching the spec,
   sorted and paged, in one statement (docpal_private.q_table_statement, the
   one explain_query shows), plus the total as spec.count says. */
declare
    v_state jsonb;
    v_result jsonb;
begin
    v_state := docpal_private.q_compile((select pg_catalog.to_jsonb(c) from docpal_private.require_company() c),
                                        query_table.slug, query_table.spec);
    execute docpal_private.q_table_statement(v_state) into v_result
      using v_state->'params', docpal_private.q_estimated_total(v_state);
    return v_result;
end
$$;
