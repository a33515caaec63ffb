-- grant: docpal_service, docpal_app
create or replace function docpal.company_blueprints()
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The blueprints applied to the company in context, by name:
   [{name, version, applied_at}] (the documents themselves are not shown).
   Any member may ask: it tells which definitions the company was set up
   from, never a record. 42501 without a context. */
declare
    v_ctx record;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''name'', b.name, ''version'', b.version,
                                                                             ''applied_at'', b.applied_at) order by b.name), ''[]'')
           from %I._blueprints b', v_ctx.schema_name)
       into v_result;
    return v_result;
end
$$;
