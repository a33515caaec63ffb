-- grant: docpal_service, docpal_app
create or replace function docpal.list_tables()
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Every table of the company in context, as describe_table shapes them, by slug. */
declare
    v_ctx record;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(docpal_private.describe_table($1, c.slug) order by c.slug), ''[]'')
           from %I._catalog c where c.kind = ''table''', v_ctx.schema_name)
       into v_result using v_ctx.schema_name;
    return v_result;
end
$$;
