-- grant: docpal_service, docpal_app
create or replace function docpal.query_breadcrumb(slug text, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {path: [{id, label}]}: the ancestors of record id through the self
   relation parent, root first, ending with the record itself. A recursive
   CTE walks up with a visited-path guard (a cycle ends the walk) and at most
   100 steps. The walk stops at the first ancestor no read grant of the
   caller covers (it and everything above it are left out: a hidden row is
   never walked through), and a label the caller may not read on its row
   (grants combine cell by cell) is null. P0002 when the record does not
   exist or the caller may not see it.
   The statement is built by docpal_private.q_breadcrumb_statement. */
declare
    v_sql text;
    v_params jsonb;
    v_kept uuid[];
    v_labels jsonb;
    v_result jsonb;
begin
    select s.o_sql, s.o_params, s.o_kept, s.o_labels into v_sql, v_params, v_kept, v_labels
      from docpal_private.q_breadcrumb_statement((select pg_catalog.to_jsonb(c) from docpal_private.require_company() c),
                                                 query_breadcrumb.slug, query_breadcrumb.spec) s;
    execute v_sql into v_result using v_params, v_kept, v_labels;
    if v_result is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', (query_breadcrumb.spec->>'id')::uuid, query_breadcrumb.slug);
    end if;
    return pg_catalog.jsonb_build_object('path', v_result);
end
$$;
