-- grant: docpal_service, docpal_app
create or replace function docpal.query_dropdown(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {options: [{id, label}]}: label is a path; search keeps the options whose
   label contains it, ignoring case; ordered by label (or spec.sort).
   The statement is built by docpal_private.q_dropdown_statement. */
declare
    v_sql text;
    v_params jsonb;
    v_result jsonb;
begin
    select s.o_sql, s.o_params into v_sql, v_params
      from docpal_private.q_dropdown_statement((select pg_catalog.to_jsonb(c) from docpal_private.require_company() c),
                                               query_dropdown.slug, query_dropdown.spec) s;
    execute v_sql into v_result using v_params;
    return pg_catalog.jsonb_build_object('options', v_result);
end
$$;
