create or replace function docpal_private.report_run_due(p_company uuid, p_slug text, p_due timestamptz,
                                                         p_clock timestamptz, p_schema text default null,
                                                         p_report jsonb default null)
    returns boolean
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The run of a claim (docpal_private.report_claim): report p_slug of
   company p_company, due at p_due, claimed at the clock p_clock. Runs it as
   the user who saved it (the context switched to them for the run and put
   back after), with the params' defaults. On success a snapshot {ran_at =
   p_clock, due_at, ms, params, view (docpal_private.report_view of the
   saver), result} is stored, only the newest N are kept (platform setting
   report_snapshots_kept, default 10), and last_error is cleared; on any
   error (a saver who is no longer a member: 42501) nothing of the run is
   kept but last_error {at, sqlstate, message}. The schedule is not touched
   (the claim moved it). True when it ran, false when it failed, null when
   it did not run: the company is gone or not active, the report is gone,
   an open transaction holds it (a save or drop in flight: never waited
   for), or it no longer carries this claim's mark
   (docpal_private.report_started: replaced since the claim, or this claim
   ran already). With p_schema and p_report (the company's schema and the
   _reports row, held: docpal.run_due_reports, in the claim's transaction)
   none of that is looked up or checked again. */
declare
    v_saved text := pg_catalog.current_setting('docpal.context', true);
    v_schema text := p_schema;
    v_status text;
    v_report jsonb := p_report;
    v_mark jsonb := docpal_private.report_started(p_clock);
    v_ctx jsonb;
    v_run jsonb;
    v_ok boolean;
    v_kept integer := coalesce(docpal_private.platform_setting('report_snapshots_kept')::integer, 10);
    v_state text;
    v_message text;
begin
    if v_report is null then
        select c.schema_name, c.status into v_schema, v_status from docpal_private.companies c where c.id = p_company;
        if v_status is distinct from 'active' or pg_catalog.to_regclass(pg_catalog.format('%I._reports', v_schema)) is null then
            return null;
        end if;
        execute pg_catalog.format('select pg_catalog.to_jsonb(r) from %I._reports r where r.slug = $1
                                      for no key update skip locked', v_schema)
           into v_report using p_slug;
        -- this claim's mark, its time compared as a time, not as text (that depends on the session's time zone)
        if v_report is null or pg_catalog.jsonb_typeof(v_report->'last_error') is distinct from 'object' then
            return null;
        elsif (v_report->'last_error') - 'at' <> v_mark - 'at'
              or (v_report->'last_error'->>'at')::timestamptz is distinct from p_clock then
            return null;
        end if;
    end if;
    begin
        perform pg_catalog.set_config('docpal.context',
                                      docpal_private.context_token(p_company, (v_report->>'saved_by')::uuid, '', null), true);
        v_ctx := (select pg_catalog.to_jsonb(c) from docpal_private.require_company() c);  -- 42501: no longer a member
        v_run := docpal_private.report_execute(v_report, '{}');
        -- one statement (one plan) stores the snapshot, keeps the newest v_kept
        -- (the v_kept - 1 newest stored before and this one) and notes the run
        execute pg_catalog.format(
            'with old as (select s.id from %1$I._report_snapshots s where s.report = $1
                           order by s.ran_at desc, s.id desc offset $8 - 1),
                  gone as (delete from %1$I._report_snapshots s using old where s.id = old.id),
                  noted as (update %1$I._reports r set last_run_at = $2, last_error = null where r.slug = $1)
             insert into %1$I._report_snapshots (report, ran_at, due_at, ms, params, view, result)
             values ($1, $2, $3, $4, $5, $6, $7)', v_schema)
          using p_slug, p_clock, p_due, (v_run->>'ms')::numeric, v_run->'params',
                docpal_private.report_view(v_ctx, v_report), v_run->'result', v_kept;
        v_ok := true;
    exception when others then
        get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
        v_ok := false;
    end;
    perform pg_catalog.set_config('docpal.context', coalesce(v_saved, ''), true);
    if not v_ok then
        execute pg_catalog.format('update %I._reports r set last_run_at = $2, last_error = $3 where r.slug = $1', v_schema)
          using p_slug, p_clock, pg_catalog.jsonb_build_object('at', p_clock, 'sqlstate', v_state, 'message', v_message);
    end if;
    return v_ok;
end
$$;
