-- grant: docpal_service, docpal_app
create or replace function docpal.query_dropdown(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {options: [{id, label}]}: label is a path; search keeps the options whose
   label contains it, ignoring case; ordered by label (or spec.sort).
   The statement is built by docpal_private.q_dropdown_statement and run by
   docpal_private.q_run_view. */
begin
    return pg_catalog.jsonb_build_object('options', docpal_private.q_run_view('dropdown', query_dropdown.slug, query_dropdown.spec));
end
$$;
