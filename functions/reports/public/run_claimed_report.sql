-- grant: docpal_service
create or replace function docpal.run_claimed_report(claim jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Runs a report claimed by docpal.claim_due_report (claim: what it
   returned, {company, report, due_at, clock}) as the user who saved it,
   and stores the result as a snapshot (docpal_private.report_run_due);
   the schedule is not touched (the claim moved it). Returns {ran, failed}:
   {1, 0} stored, {0, 1} failed (the error is in list_reports' last_error),
   {0, 0} not run (the company is not active, the report is gone, is being
   saved or dropped right now, was replaced since the claim, or this claim
   ran already). 22023 for a claim that is not of that shape; 42501 with a
   context of another company, or one that is not valid. The service role
   only (docpal_app may not execute it). */
declare
    v_company uuid := (select c.company_id from docpal_private.context() c);
    v_claim jsonb := run_claimed_report.claim;
    v_claimed uuid;
    v_due timestamptz;
    v_clock timestamptz;
    v_ok boolean;
begin
    perform docpal_private.check_keys(v_claim, 'a claim must be a JSON object', array['company', 'report', 'due_at', 'clock'],
                                      'unknown claim key %L', 'A claim is what docpal.claim_due_report returned.');
    if pg_catalog.jsonb_typeof(v_claim->'report') is distinct from 'string'
       or pg_catalog.jsonb_typeof(v_claim->'company') is distinct from 'string'
       or pg_catalog.jsonb_typeof(v_claim->'due_at') is distinct from 'string'
       or pg_catalog.jsonb_typeof(v_claim->'clock') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'a claim has company, report, due_at and clock: strings',
            hint = 'A claim is what docpal.claim_due_report returned.';
    end if;
    begin
        v_claimed := (v_claim->>'company')::uuid;
        v_due := (v_claim->>'due_at')::timestamptz;
        v_clock := (v_claim->>'clock')::timestamptz;
    exception when data_exception then
        raise exception using errcode = '22023', message = 'a claim has company (an id), due_at and clock (times)',
            hint = 'A claim is what docpal.claim_due_report returned.';
    end;
    if v_company is not null and v_company <> v_claimed then
        raise exception using errcode = '42501', message = 'the claim is of another company than the context''s';
    end if;
    v_ok := docpal_private.report_run_due(v_claimed, v_claim->>'report', v_due, v_clock);
    return pg_catalog.jsonb_build_object('ran', case when v_ok then 1 else 0 end,
                                         'failed', case when not v_ok then 1 else 0 end);
end
$$;
