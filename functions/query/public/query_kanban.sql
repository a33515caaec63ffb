-- grant: docpal_service, docpal_app
create or replace function docpal.query_kanban(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {groups: [{value, count, rows}]} for a select or relation column
   (group_by). For a select every option is a lane, in option order, empty
   ones with count 0, then a null lane when records have no value; for a
   relation the lanes are the values present. One statement: the counts from
   one GROUP BY, each lane's first limit_per_group rows from its own
   correlated subquery (which an index on the sort or lane column serves).
   The statement is built by docpal_private.q_kanban_statement and run by
   docpal_private.q_run_view. */
begin
    return pg_catalog.jsonb_build_object('groups', docpal_private.q_run_view('kanban', query_kanban.slug, query_kanban.spec));
end
$$;
