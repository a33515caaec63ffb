-- grant: docpal_service, docpal_app
create or replace function docpal.query_calendar(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {events: [{id, label, start, end, color}]}: the records whose [start, end]
   overlaps the visible range [from, to] (without end: whose start falls in
   it), ordered by start then id, at most limit (default and most 1000).
   start and end are date or datetime paths, label and color paths; filters
   and search as in query_table. 22023 for a malformed spec, 22007/22008 for
   a from or to that is not an ISO date or datetime, 42703 for an unknown
   path, 42501 for a path the caller may not read.
   The statement is built by docpal_private.q_calendar_statement and run by
   docpal_private.q_run_view. */
begin
    return pg_catalog.jsonb_build_object('events', docpal_private.q_run_view('calendar', query_calendar.slug, query_calendar.spec));
end
$$;
