create or replace function docpal_private.report_run(p_kind text, p_table text, p_spec jsonb)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The result of a report of kind p_kind on table p_table with the spec
   p_spec (its params already substituted): what docpal.query_table,
   aggregate, query_kanban or query_calendar returns for it, called under
   the context in force, so with that user's grants and nobody else's. */
begin
    case p_kind
        when 'query' then return docpal.query_table(p_table, p_spec);
        when 'aggregate' then return docpal.aggregate(p_table, p_spec);
        when 'kanban' then return docpal.query_kanban(p_table, p_spec);
        when 'calendar' then return docpal.query_calendar(p_table, p_spec);
        else raise exception using errcode = '22023', message = pg_catalog.format('unknown report kind %L', p_kind);
    end case;
end
$$;
