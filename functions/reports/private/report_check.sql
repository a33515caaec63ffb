create or replace function docpal_private.report_check(p_ctx jsonb, p_kind text, p_table text, p_spec jsonb)
    returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Checks a report's spec (its params substituted) as the caller p_ctx
   (docpal_private.require_company() as jsonb) by compiling the statement
   its kind's query function would run, without running it: the same
   checks of keys, paths, operators, values and grants, so the same errors
   (22023, 42703, 42P01, 42501, 54000), at the cost of a compile instead of
   a query over the table. A member can thus save a report only on what it
   may read. */
begin
    case p_kind
        when 'query' then
            perform docpal_private.q_table_statement(docpal_private.q_compile(p_ctx, p_table, p_spec));
        when 'aggregate' then
            perform s.o_sql from docpal_private.q_aggregate_statement(p_ctx, p_table, p_spec) s;
        when 'kanban' then
            perform s.o_sql from docpal_private.q_kanban_statement(p_ctx, p_table, p_spec) s;
        when 'calendar' then
            perform s.o_sql from docpal_private.q_calendar_statement(p_ctx, p_table, p_spec) s;
    end case;
end
$$;
