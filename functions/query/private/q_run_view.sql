create or replace function docpal_private.q_run_view(p_view text, p_slug text, p_spec jsonb)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* What docpal.aggregate, query_calendar, query_dropdown, query_gantt and query_kanban do:
   look the caller up once, build the view's one statement with its builder
   (docpal_private.q_<view>_statement) and run it; returns the statement's
   result. p_view comes from docpal's own code, never from a client. */
declare
    v_caller jsonb := (select pg_catalog.to_jsonb(c) from docpal_private.require_company() c);
    v_sql text;
    v_params jsonb;
    v_result jsonb;
begin
    case p_view
        when 'aggregate' then
            select s.o_sql, s.o_params into v_sql, v_params from docpal_private.q_aggregate_statement(v_caller, p_slug, p_spec) s;
        when 'dropdown' then
            select s.o_sql, s.o_params into v_sql, v_params from docpal_private.q_dropdown_statement(v_caller, p_slug, p_spec) s;
        when 'gantt' then
            select s.o_sql, s.o_params into v_sql, v_params from docpal_private.q_gantt_statement(v_caller, p_slug, p_spec) s;
        when 'calendar' then
            select s.o_sql, s.o_params into v_sql, v_params from docpal_private.q_calendar_statement(v_caller, p_slug, p_spec) s;
        when 'kanban' then
            select s.o_sql, s.o_params into v_sql, v_params from docpal_private.q_kanban_statement(v_caller, p_slug, p_spec) s;
    end case;
    execute v_sql into v_result using v_params;
    return v_result;
end
$$;
