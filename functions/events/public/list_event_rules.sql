-- grant: docpal_service, docpal_app
create or replace function docpal.list_event_rules()
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The company's event rules, in the order they were made (every member may read them). */
declare
    v_ctx record;
    v_rules jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    execute pg_catalog.format(
        'select pg_catalog.jsonb_agg(c.spec || pg_catalog.jsonb_build_object(''created_at'', c.created_at) order by c.created_at, c.slug)
           from %I._catalog c where c.kind = ''event_rule''', v_ctx.schema_name) into v_rules;
    return coalesce(v_rules, '[]');
end
$$;
