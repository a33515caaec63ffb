-- grant: docpal_service, docpal_app
create or replace function docpal.drop_dashboard(slug text)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Removes dashboard `slug` of the company in context (its reports stay):
   owners, admins and the user who saved it (42501 for anyone else).
   P0002 when there is none, 42501 without a context. */
declare
    v_ctx docpal_private.caller;
    v_saver uuid;
begin
    select * into v_ctx from docpal_private.require_company();
    if pg_catalog.to_regclass(pg_catalog.format('%I._dashboards', v_ctx.schema_name)) is not null then
        execute pg_catalog.format('select d.saved_by from %I._dashboards d where d.slug = $1 for update', v_ctx.schema_name)
           into v_saver using drop_dashboard.slug;
    end if;
    if v_saver is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('dashboard %s does not exist', pg_catalog.to_json(coalesce(drop_dashboard.slug, 'null')));
    end if;
    perform docpal_private.dashboard_check_saver(v_ctx, v_saver, drop_dashboard.slug);
    execute pg_catalog.format('delete from %I._dashboards d where d.slug = $1', v_ctx.schema_name) using drop_dashboard.slug;
end
$$;
