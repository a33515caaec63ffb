-- grant: docpal_service, docpal_app
create or replace function docpal.list_reports()
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Every report of the company in context, by slug, as save_report returns
   them (docpal_private.report_json: with schedule, next_run_at,
   last_run_at, last_error and saved_by). Every member sees them all: they
   are definitions, not data (running one shows the caller only what the
   caller may read). [] before the first report. 42501 without a context. */
declare
    v_ctx docpal_private.caller;
    v_next jsonb;
    v_rows jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    if pg_catalog.to_regclass(pg_catalog.format('%I._reports', v_ctx.schema_name)) is null then
        return '[]';
    end if;
    -- the schedule first: a platform table is not joined with a company table (Citus)
    select pg_catalog.jsonb_object_agg(s.report, s.next_run_at) into v_next
      from docpal_private.report_schedule s where s.company_id = v_ctx.company_id;
    execute pg_catalog.format('select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r) order by r.slug) from %I._reports r',
                              v_ctx.schema_name)
       into v_rows;
    return coalesce((select pg_catalog.jsonb_agg(docpal_private.report_json(r.value, (v_next->>(r.value->>'slug'))::timestamptz)
                                                 order by r.n)
                       from pg_catalog.jsonb_array_elements(v_rows) with ordinality r(value, n)), '[]');
end
$$;
