create or replace function docpal_private.report_queue(p_company uuid, p_clock timestamptz)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Puts the due reports of company p_company that are not in line yet (turn
   0, next_run_at at or before p_clock) in line, after one of its reports
   was claimed (docpal_private.report_claim): oldest due first, one turn
   each, from the turn being served now (the lowest in line) or after the
   company's own reports already in line, whichever is later. So the
   company gets its next report after every company that has due work and
   no report in line, and then one per turn like the others in line. Rows
   another runner holds are left as they are (never waited for). */
declare
    v_base integer;
begin
    select coalesce(min(s.turn), 1) into v_base
      from docpal_private.report_schedule s where s.turn > 0 and s.next_run_at <= p_clock;
    v_base := greatest(v_base, (select coalesce(max(s.turn), 0) + 1 from docpal_private.report_schedule s
                                 where s.company_id = p_company));
    update docpal_private.report_schedule s set turn = v_base - 1 + q.n
      from (select l.report, pg_catalog.row_number() over (order by l.next_run_at, l.report) as n
              from (select o.report, o.next_run_at from docpal_private.report_schedule o
                     where o.company_id = p_company and o.turn = 0 and o.next_run_at <= p_clock
                       for update skip locked) l) q
     where s.company_id = p_company and s.report = q.report;
end
$$;
