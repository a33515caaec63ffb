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
   The statement is built by docpal_private.q_aggregate_statement and run by
   docpal_private.q_run_view. */
begin
    return pg_catalog.jsonb_build_object('groups', docpal_private.q_run_view('aggregate', aggregate.slug, aggregate.spec));
end
$$;
