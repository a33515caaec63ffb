-- grant: docpal_service
create or replace function docpal.run_due_reports(as_of timestamptz default null, max_ms integer default 10000)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Runs the scheduled reports whose time has come at the clock (as_of,
   default now(); as_of is a frozen clock for tests and catch-up tools):
   without a context, of every active company; with one, of that company
   only. Each is claimed and run as docpal.claim_due_report and
   docpal.run_claimed_report do (docpal_private.report_claim, then
   docpal_private.report_run_due): companies take turns, each report runs
   as the user who saved it and stores its result as a snapshot, in a
   subtransaction of its own (one failing report fails alone and records
   last_error), and rows other runners hold are passed over (runners at the
   same time share the work and run each due report once). A suspended
   company's reports wait. One call starts no report after max_ms
   milliseconds (default 10 s; 0: one report a call) and then returns with
   "more": true (a docpal extension of the contract's {ran, failed}) when
   reports are still due. Returns {ran, failed} (and more).

   All of it is ONE transaction: a call cancelled by a statement_timeout
   keeps nothing, and the report that was too slow stays due, first to go again. A
   runner that loops should claim, commit, run and commit one report at a
   time instead (`docpal reports run-due`, the listener, pg_cron's job:
   docs/reports.md). The service role only (docpal_app may not execute it);
   42501 for a context that is not valid. */
declare
    v_clock timestamptz := coalesce(run_due_reports.as_of, pg_catalog.now());
    v_company uuid := (select c.company_id from docpal_private.context() c);
    v_claim jsonb;
    v_ok boolean;
    v_ran integer := 0;
    v_failed integer := 0;
    v_claimed integer := 0;
    v_more boolean := false;
    v_deadline timestamptz := pg_catalog.clock_timestamp()
                              + pg_catalog.make_interval(secs => greatest(coalesce(run_due_reports.max_ms, 10000), 0) / 1000.0);
begin
    loop
        -- past the budget: what is still due is for the next call
        if v_claimed > 0 and pg_catalog.clock_timestamp() >= v_deadline then
            v_more := exists (select from docpal_private.report_schedule s
                               where s.next_run_at <= v_clock and (v_company is null or s.company_id = v_company));
            exit;
        end if;
        -- claimed and run in this transaction: no "started" mark (a cancellation would take it back
        -- too), and the run takes the company and the held report row from the claim
        v_claim := docpal_private.report_claim(v_clock, v_company, false);
        exit when v_claim is null;
        v_claimed := v_claimed + 1;
        v_ok := docpal_private.report_run_due((v_claim->>'company')::uuid, v_claim->>'report',
                                              (v_claim->>'due_at')::timestamptz, v_clock, v_claim->>'schema', v_claim->'row');
        if v_ok then
            v_ran := v_ran + 1;
        elsif not v_ok then
            v_failed := v_failed + 1;
        end if;
    end loop;
    return pg_catalog.jsonb_build_object('ran', v_ran, 'failed', v_failed)
           || case when v_more then '{"more": true}'::jsonb else '{}' end;
end
$$;
