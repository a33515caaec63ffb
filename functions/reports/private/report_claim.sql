create or replace function docpal_private.report_claim(p_clock timestamptz, p_company uuid, p_mark boolean default true)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Claims one scheduled report that is due at the clock p_clock (its
   report_schedule row's next_run_at at or before it), of company p_company
   or, when null, of any active company: moves the row to the schedule's
   next time after p_clock in the company's time zone (missed times are not
   replayed: one run catches up) and, unless p_mark is false, marks the
   report as started (_reports.last_run_at = p_clock, last_error =
   docpal_private.report_started(p_clock), which its run replaces). Returns
   the claim {company, report, due_at, clock} for
   docpal_private.report_run_due, with what the caller may hand to the run
   in the same transaction (schema: the company's; row: the _reports row,
   held), or null when nothing can be claimed. docpal.run_due_reports,
   which runs the claim in the same transaction, marks nothing: a
   cancellation would roll the mark back with everything else.

   Companies take turns (report_schedule.turn): first the due reports whose
   company has none in line (turn 0), oldest due first; then the line, by
   turn. Claiming a turn-0 report puts the company's other turn-0 due
   reports in line (docpal_private.report_queue), behind what is there, so
   every other company with due work gets a report before this one gets
   its next. Both picks are ranges of one index: a claim costs the same
   with ten due reports or a hundred thousand.

   Nothing is waited for: a schedule row another runner holds (FOR UPDATE
   SKIP LOCKED) and a report row an open transaction holds (a save or drop
   in flight) are passed over and stay due; a suspended company's reports
   wait (they run, once, after it is activated). A row whose report is gone
   or no longer scheduled is removed. The schedule table and the company's
   tables are read apart, never joined (Citus). */
declare
    v_passed uuid[] := '{}';  -- suspended companies met by this call
    v_held text[] := '{}';    -- company/report of reports an open transaction holds
    v_company uuid;
    v_slug text;
    v_due timestamptz;
    v_turn integer;
    v_schema text;
    v_status text;
    v_report jsonb;
    v_next timestamptz;
begin
    loop
        select s.company_id, s.report, s.next_run_at, s.turn into v_company, v_slug, v_due, v_turn
          from docpal_private.report_schedule s
         where s.turn = 0 and s.next_run_at <= p_clock and (p_company is null or s.company_id = p_company)
           and s.company_id <> all (v_passed) and (s.company_id::text || '/' || s.report) <> all (v_held)
         order by s.turn, s.next_run_at, s.company_id, s.report
         limit 1
           for update skip locked;
        if v_company is null then
            select s.company_id, s.report, s.next_run_at, s.turn into v_company, v_slug, v_due, v_turn
              from docpal_private.report_schedule s
             where s.turn > 0 and s.next_run_at <= p_clock and (p_company is null or s.company_id = p_company)
               and s.company_id <> all (v_passed) and (s.company_id::text || '/' || s.report) <> all (v_held)
             order by s.turn, s.next_run_at, s.company_id, s.report
             limit 1
               for update skip locked;
        end if;
        if v_company is null then
            return null;
        end if;
        -- the company apart: companies is a Citus reference table
        select c.schema_name, c.status into v_schema, v_status from docpal_private.companies c where c.id = v_company;
        if v_status is distinct from 'active' then
            v_passed := v_passed || v_company;
            continue;
        end if;
        execute pg_catalog.format('select pg_catalog.to_jsonb(r) from %I._reports r where r.slug = $1
                                      for no key update skip locked', v_schema)
           into v_report using v_slug;
        if v_report is null then
            execute pg_catalog.format('select pg_catalog.to_jsonb(r) from %I._reports r where r.slug = $1', v_schema)
               into v_report using v_slug;
            if v_report is not null then
                v_held := v_held || (v_company::text || '/' || v_slug);  -- being saved or dropped right now: due still
                continue;
            end if;
        end if;
        if v_report is null or v_report->>'schedule' is null then
            -- gone, or no longer scheduled (changed by plain SQL): nothing to run, ever
            delete from docpal_private.report_schedule s where s.company_id = v_company and s.report = v_slug;
            continue;
        end if;
        begin
            v_next := docpal_private.cron_next(v_report->>'schedule', p_clock, docpal_private.company_time_zone(v_schema));
        exception when invalid_parameter_value then
            -- a time zone PostgreSQL does not know (settings are free text): UTC rather than never again
            v_next := docpal_private.cron_next(v_report->>'schedule', p_clock, 'UTC');
        end;
        update docpal_private.report_schedule s set next_run_at = v_next, turn = 0
         where s.company_id = v_company and s.report = v_slug;
        if v_turn = 0 then
            perform docpal_private.report_queue(v_company, p_clock);
        end if;
        if p_mark then
            execute pg_catalog.format('update %I._reports r set last_run_at = $2, last_error = $3 where r.slug = $1',
                                      v_schema)
              using v_slug, p_clock, docpal_private.report_started(p_clock);
        end if;
        return pg_catalog.jsonb_build_object('company', v_company, 'report', v_slug, 'due_at', v_due, 'clock', p_clock,
                                             'schema', v_schema, 'row', v_report);
    end loop;
end
$$;
