-- grant: docpal_service
create or replace function docpal.claim_due_report(as_of timestamptz default null)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Claims one scheduled report whose time has come at the clock (as_of,
   default now(); as_of is a frozen clock for tests and catch-up tools):
   without a context, of any active company; with one, of that company
   only. The claim moves the report to its next time and marks it
   "started, not finished" in list_reports' last_error; run it with
   docpal.run_claimed_report after this transaction has committed, so that
   a run that never finishes (cancelled by a statement_timeout) leaves the
   report at its next time instead of at the head of the queue, blocking
   every run after it. Companies take turns (a company gets its next
   report after every other company with due work got one); rows other
   runners hold are passed over (docpal_private.report_claim).
   Returns {company, report, due_at, clock}, or null when nothing is due.
   The service role only (docpal_app may not execute it); 42501 for a
   context that is not valid. */
declare
    v_company uuid := (select c.company_id from docpal_private.context() c);
begin
    -- the claim alone: what the run reads again in its own transaction stays inside
    return docpal_private.report_claim(coalesce(claim_due_report.as_of, pg_catalog.now()), v_company) - 'schema' - 'row';
end
$$;
