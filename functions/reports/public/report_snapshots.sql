-- grant: docpal_service, docpal_app
create or replace function docpal.report_snapshots(slug text, "limit" integer default 10)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The stored results of report `slug` (its scheduled runs,
   docpal.run_due_reports), newest first, at most `limit` (1 to 1000):
   [{ran_at, due_at, ms, params, result}]. Only those the caller may see:
   made by a run whose user read exactly what the caller reads now
   (docpal_private.report_view, report_sees), or any for an owner or admin;
   a snapshot never shows anyone more than they may read. 42501 without a
   context, P0002 for an unknown report, 22023 for a limit out of range. */
declare
    v_ctx docpal_private.caller;
    v_ctxj jsonb;
    v_report jsonb;
    v_view text;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    v_ctxj := pg_catalog.to_jsonb(v_ctx);
    v_report := docpal_private.report_get(v_ctx.schema_name, report_snapshots.slug);
    if report_snapshots."limit" is null or report_snapshots."limit" not between 1 and 1000 then
        raise exception using errcode = '22023', message = 'limit must be from 1 to 1000';
    end if;
    v_view := docpal_private.report_view(v_ctxj, v_report);
    execute pg_catalog.format(
        'select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''ran_at'', s.ran_at, ''due_at'', s.due_at, ''ms'', s.ms,
                                                               ''params'', s.params, ''result'', s.result)
                                     order by s.ran_at desc, s.id desc)
           from (select * from %I._report_snapshots s
                  where s.report = $1 and (s.view = $2 or $3)
                  order by s.ran_at desc, s.id desc limit $4) s', v_ctx.schema_name)
       into v_result
      using report_snapshots.slug, v_view, docpal_private.report_sees(v_ctxj, v_view, null), report_snapshots."limit";
    return coalesce(v_result, '[]');
end
$$;
