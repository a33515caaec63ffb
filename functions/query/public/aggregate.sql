-- grant: docpal_service, docpal_app
create or replace function docpal.aggregate(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {groups: [{<group path>: value, ..., <metric>: value}]}: one GROUP BY over
   the filtered rows, metrics count, count_distinct, sum, avg, min, max, and
   having as a filter over the metric names; groups ordered by their values.
   The statement is built by docpal_private.q_aggregate_statement. */
declare
    v_sql text;
    v_params jsonb;
    v_result jsonb;
begin
    select s.o_sql, s.o_params into v_sql, v_params
      from docpal_private.q_aggregate_statement((select pg_catalog.to_jsonb(c) from docpal_private.require_company() c),
                                                aggregate.slug, aggregate.spec) s;
    execute v_sql into v_result using v_params;
    return pg_catalog.jsonb_build_object('groups', v_result);
end
$$;
