-- grant: docpal_service, docpal_app
create or replace function docpal.query_table(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {rows, total}: the records (or the columns asked for) matching the spec,
   sorted and paged, in one statement, plus the total as spec.count says. */
declare
    v_ctx record;
    v_state jsonb;
    v_sql text;
    v_rows jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    v_state := docpal_private.q_compile(v_ctx.schema_name, query_table.slug, query_table.spec);
    v_sql := docpal_private.q_rows_sql(v_state);
    if v_state->>'count' = 'exact' then
        -- page and count in one statement: one plan, one execution
        v_sql := pg_catalog.format(
            'select pg_catalog.jsonb_build_object(''rows'', (%s), ''total'', (select pg_catalog.count(*) from %s where %s))',
            v_sql, docpal_private.q_from(v_state, true), v_state->>'where');
        execute v_sql into v_rows using v_state->'params';
        return v_rows;
    end if;
    execute v_sql into v_rows using v_state->'params';
    return pg_catalog.jsonb_build_object('rows', v_rows, 'total', docpal_private.q_total(v_state));
end
$$;
