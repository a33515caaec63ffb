create or replace function docpal_private.report_started(p_clock timestamptz)
    returns jsonb
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The last_error of a report that a runner claimed at the clock p_clock
   (docpal_private.report_claim) and whose run has not finished: its run
   replaces it (null, or the run's error), so one that stays shows in
   list_reports a run that never finished (cancelled by a
   statement_timeout, or its runner gone). docpal_private.report_run_due
   runs a claim only while its report still carries this mark. */
    select pg_catalog.jsonb_build_object('at', p_clock, 'sqlstate', null, 'message', 'started, not finished')
$$;
