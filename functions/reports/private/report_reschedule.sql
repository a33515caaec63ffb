create or replace function docpal_private.report_reschedule(p_company uuid, p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Moves every scheduled report of company p_company (schema p_schema) that
   is not yet due to its next time after now in the company's time zone as
   it is now: for update_company, when settings.time_zone changes (a
   schedule's fields are wall-clock time there). One already due keeps its
   catch-up run. 22023 for a time zone PostgreSQL does not know, when the
   company has a scheduled report. The schedules are read first, then the
   platform table is written (never a join of the two: Citus). */
declare
    v_schedules jsonb;
    v_zone text := docpal_private.company_time_zone(p_schema);
    v_report text;
    v_schedule text;
begin
    if not exists (select from docpal_private.report_schedule s where s.company_id = p_company)
       or pg_catalog.to_regclass(pg_catalog.format('%I._reports', p_schema)) is null then
        return;
    end if;
    execute pg_catalog.format('select pg_catalog.jsonb_object_agg(r.slug, r.schedule) from %I._reports r
                                where r.schedule is not null', p_schema)
       into v_schedules;
    for v_report, v_schedule in select e.key, e.value from pg_catalog.jsonb_each_text(coalesce(v_schedules, '{}')) e loop
        update docpal_private.report_schedule s
           set next_run_at = docpal_private.cron_next(v_schedule, pg_catalog.now(), v_zone)
         where s.company_id = p_company and s.report = v_report
           and s.next_run_at > pg_catalog.now();  -- one already due stays due (its catch-up run)
    end loop;
end
$$;
