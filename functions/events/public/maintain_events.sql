-- grant: docpal_service
create or replace function docpal.maintain_events(company uuid default null, max_rows integer default 100000)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Outbox upkeep (the only place events are deleted): removes the events
   of one company, or of every company, that the outbox no longer keeps
   (docpal_private.event_expire: past settings.event_retention, default 7
   days, and not wanted by a consumer active within it), at most max_rows per
   company per call, oldest first. Returns {"deleted": n, "companies": k,
   "more": true when some company hit max_rows (call again)}. `docpal
   maintain` calls it company by company; pg_cron, when installed, every
   hour. Also removes what polls without a context no longer need
   (docpal_private.event_hints, idle rows of docpal_private.event_sweeps).
   Platform (service role) only. */
declare
    v_company uuid;
    v_deleted bigint;
    v_total bigint := 0;
    v_count integer := 0;
    v_more boolean := false;
begin
    if not docpal_private.caller_is_platform_admin() then
        raise exception using errcode = '42501', message = 'maintain_events is for the service role only';
    end if;
    if max_rows is null or max_rows < 1 then
        raise exception using errcode = '22023', message = 'max_rows must be 1 or more';
    end if;
    for v_company in
        select c.id from docpal_private.companies c
         where maintain_events.company is null or c.id = maintain_events.company
         order by c.number
    loop
        v_deleted := docpal_private.event_expire(v_company, maintain_events.max_rows);
        v_total := v_total + v_deleted;
        v_count := v_count + 1;
        v_more := v_more or v_deleted >= maintain_events.max_rows;
    end loop;
    -- the sweep rows of consumers that have not polled without a context for a
    -- day (they pin the hints; back, such a consumer visits every company
    -- once), then the hints that every sweeping consumer has read
    -- (docpal_private.event_sweep); rows a poll holds are skipped
    delete from docpal_private.event_sweeps s
     where s.ctid = any (array(select k.ctid from docpal_private.event_sweeps k
                                where k.updated_at < pg_catalog.now() - interval '1 day'
                                  for update skip locked));
    perform docpal_private.event_hints_trim(maintain_events.max_rows);
    return pg_catalog.jsonb_build_object('deleted', v_total, 'companies', v_count, 'more', v_more);
end
$$;
