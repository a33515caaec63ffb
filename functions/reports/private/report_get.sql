create or replace function docpal_private.report_get(p_schema text, p_slug text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Report p_slug of the company whose schema is p_schema: its _reports row
   as jsonb (slug, name, description, table_slug, kind, spec, params,
   schedule, saved_by, saved_at, last_run_at, last_error). P0002 when there
   is none, the company's report tables not being there included. */
declare
    v_report jsonb;
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._reports', p_schema)) is not null then
        execute pg_catalog.format('select pg_catalog.to_jsonb(r) from %I._reports r where r.slug = $1', p_schema)
           into v_report using p_slug;
    end if;
    if v_report is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('report %s does not exist', coalesce(pg_catalog.to_json(p_slug)::text, 'null'));
    end if;
    return v_report;
end
$$;
