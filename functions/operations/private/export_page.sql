create or replace function docpal_private.export_page(p_schema text, p_part text, p_table text, p_after jsonb,
                                                      p_limit integer)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set extra_float_digits = 1
    set intervalstyle = postgres
    set datestyle = 'ISO, MDY'
    set timezone = 'UTC'
as $$
/* One page of a part of a company's export, as a JSON array in key order:
   the entries after p_after (null: from the first), at most p_limit (null:
   all), as docpal_private.export_sql reads them (parts, keys, errors:
   there). Keyset paging: each page is one index range scan, so an export
   reads the company in pages of flat size. Values print the same whatever
   the session's settings (the SET clauses). The page is built as json (the
   input is in key order) and made jsonb once: cheaper than jsonb_agg. */
declare
    v_query text;
    v_result jsonb;
begin
    v_query := docpal_private.export_sql(p_schema, p_part, p_table, p_after, p_limit);
    execute pg_catalog.format('select coalesce(pg_catalog.json_agg(q.r), ''[]'')::jsonb from (%s) q', v_query)
       into v_result;
    return v_result;
end
$$;
