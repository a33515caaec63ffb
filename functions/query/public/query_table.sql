-- grant: docpal_service, docpal_app
create or replace function docpal.query_table(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {rows, total}: the records (or the columns asked for) matching the spec,
   sorted and paged, in one statement (docpal_private.q_table_statement, the
   one explain_query shows), plus the total as spec.count says. A spec
   compiled before is served from the compiled-statement cache
   (docpal_private.q_cache_lookup: same caller, spec and settings, the
   table specs and read permissions unchanged) without compiling it again. */
declare
    -- (a simple expression: no function scan to start and end on every call)
    v_caller jsonb := pg_catalog.to_jsonb(docpal_private.require_company());
    v_hit record;
    v_state jsonb;
    v_statement text;
    v_result jsonb;
begin
    v_hit := docpal_private.q_cache_lookup(v_caller, 'query_table', query_table.slug, query_table.spec);
    if v_hit.o_statement is not null then
        execute v_hit.o_statement into v_result using v_hit.o_params;
        return v_result;
    end if;
    v_state := docpal_private.q_compile(v_caller, query_table.slug, query_table.spec);
    v_statement := docpal_private.q_table_statement(v_state);
    execute v_statement into v_result using v_state->'params', docpal_private.q_estimated_total(v_state);
    perform docpal_private.q_cache_store(v_hit.o_key, v_caller, v_state, v_statement);
    return v_result;
end
$$;
