-- grant: docpal_service, docpal_app
create or replace function docpal.list_dashboards()
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The dashboards of the company in context, by slug:
   [{slug, name, widgets (how many), saved_by, saved_at}]. Any member: they
   are definitions, not data. 42501 without a context. */
declare
    v_ctx record;
    v_result jsonb := '[]';
begin
    select * into v_ctx from docpal_private.require_company();
    if pg_catalog.to_regclass(pg_catalog.format('%I._dashboards', v_ctx.schema_name)) is not null then
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        ''slug'', d.slug, ''name'', d.name, ''widgets'', pg_catalog.jsonb_array_length(d.widgets),
                        ''saved_by'', d.saved_by, ''saved_at'', d.saved_at) order by d.slug), ''[]'')
               from %I._dashboards d', v_ctx.schema_name)
           into v_result;
    end if;
    return v_result;
end
$$;
