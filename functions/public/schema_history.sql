-- grant: docpal_service, docpal_app
create or replace function docpal.schema_history(slug text)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Every schema change of the table, oldest first: {at, user_id, change,
   before, after}. 42P01 for an unknown slug. */
declare
    v_ctx record;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    perform docpal_private.table_spec(v_ctx.schema_name, schema_history.slug);
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    ''at'', h.at, ''user_id'', h.user_id, ''change'', h.change, ''before'', h.before, ''after'', h.after)
                  order by h.id), ''[]'')
           from %I._schema_history h where h.table_slug = $1', v_ctx.schema_name)
       into v_result using schema_history.slug;
    return v_result;
end
$$;
