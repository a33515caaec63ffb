create or replace function docpal_private.dashboard_get(p_schema text, p_slug text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Dashboard p_slug of the company of schema p_schema: its _dashboards row as
   jsonb {slug, name, widgets, saved_by, saved_at}. P0002 when there is none
   (a company that never saved a report or dashboard has no tables for them:
   none). */
declare
    v_result jsonb;
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._dashboards', p_schema)) is not null then
        execute pg_catalog.format('select pg_catalog.to_jsonb(d) from %I._dashboards d where d.slug = $1', p_schema)
           into v_result using p_slug;
    end if;
    if v_result is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('dashboard %s does not exist', pg_catalog.to_json(coalesce(p_slug, 'null')));
    end if;
    return v_result;
end
$$;
