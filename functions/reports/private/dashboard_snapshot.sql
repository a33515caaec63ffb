create or replace function docpal_private.dashboard_snapshot(p_schema text, p_report jsonb, p_params jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The snapshot of report p_report (as docpal_private.report_get returns it)
   that get_dashboard may show instead of running the report: the newest
   one, {ran_at, ms, view, result}, when it is fresh and was made with the
   params p_params (bound: docpal_private.report_bind); else null. Fresh:
   younger than the report's schedule period, measured from the time it was
   due (now() < ran_at + (cron_next(schedule, due_at) - due_at), in the
   company's time zone), so an hourly report's snapshot serves for an hour
   and one whose scheduled runs stopped (a failing saver, no runner) is not
   shown for ever. Only the newest counts: an older one is staler. Whether
   the caller may see it (its view) is the caller's check. */
declare
    v_ran_at timestamptz;
    v_due_at timestamptz;
    v_ms numeric;
    v_params jsonb;
    v_view text;
    v_result jsonb;
begin
    if p_report->>'schedule' is null then
        return null;
    end if;
    execute pg_catalog.format(
        'select s.ran_at, s.due_at, s.ms, s.params, s.view, s.result
           from %I._report_snapshots s where s.report = $1 order by s.ran_at desc, s.id desc limit 1', p_schema)
       into v_ran_at, v_due_at, v_ms, v_params, v_view, v_result using p_report->>'slug';
    if v_ran_at is null or v_params is distinct from p_params
       or pg_catalog.now() >= v_ran_at + (docpal_private.cron_next(p_report->>'schedule', v_due_at,
                                                                   docpal_private.company_time_zone(p_schema))
                                          - v_due_at) then
        return null;
    end if;
    return pg_catalog.jsonb_build_object('ran_at', v_ran_at, 'ms', v_ms, 'view', v_view, 'result', v_result);
end
$$;
