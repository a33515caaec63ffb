create or replace procedure docpal_private.upgrade_tenants()
    language plpgsql
    -- No SET search_path here: a procedure with SET clauses cannot COMMIT.
    -- Every name below is schema-qualified instead; the procedure is not
    -- SECURITY DEFINER and is granted to nobody (it runs as the migrator).
as $$
/* Upgrades every company schema that is behind (docpal_private.company_behind:
   its base template, one of its tenant modules, or objects of a changed
   generator), one transaction per company (docpal_private.upgrade_company).
   A failure is recorded in tenant_upgrades and the run goes on; companies
   already current are skipped, so a re-run picks up where an
   interrupted or failed run stopped. Progress is reported as NOTICEs whose
   text is JSON ({"done", "pending", "company", "status"}), which the CLI turns
   into a progress bar. Must be called outside a transaction block. */
declare
    v_finished timestamptz;
    v_target integer;
    v_run bigint;
    v_pending integer;
    v_done integer := 0;
    v_failed integer := 0;
    v_company record;
    v_started timestamptz;
    v_status text;
    v_error text;
    v_version integer;
begin
    select coalesce(max(s.version), 0) into v_target from docpal_private.tenant_steps s where s.module = 'base';
    -- one pass for every company (docpal_private.companies_behind), not a
    -- call of company_behind per company: a run with nothing to do stays flat
    select count(*) into v_pending from docpal_private.companies_behind() b;
    insert into docpal_private.tenant_upgrade_runs (target_version, pending)
    values (v_target, v_pending) returning id into v_run;
    commit;
    for v_company in
        select b.company_id as id, b.schema_version from docpal_private.companies_behind() b
         order by b.created_at, b.company_id
    loop
        v_started := pg_catalog.clock_timestamp();
        v_error := null;
        v_version := v_company.schema_version;
        begin
            v_version := docpal_private.upgrade_company(v_company.id);
            v_status := 'ok';
        exception
            when no_data_found then
                v_status := null;  -- dropped since the loop started: nothing to record
            when others then
                get stacked diagnostics v_error = message_text;
                v_status := 'failed';
        end;
        v_done := v_done + 1;
        if v_status is not null then
            insert into docpal_private.tenant_upgrades
                (run_id, company_id, from_version, to_version, status, error, started_at)
            values (v_run, v_company.id, v_company.schema_version, v_version, v_status, v_error, v_started);
            if v_status = 'failed' then
                v_failed := v_failed + 1;
            end if;
        end if;
        update docpal_private.tenant_upgrade_runs r
           set upgraded = v_done - v_failed, failed = v_failed
         where r.id = v_run;
        commit;
        raise notice '%', pg_catalog.jsonb_build_object(
            'done', v_done, 'pending', v_pending, 'company', v_company.id,
            'status', coalesce(v_status, 'gone'), 'error', v_error);
    end loop;
    -- a value, not a call: Citus refuses volatile functions in an UPDATE of
    -- a table it manages (this one would be, linked to a reference table)
    v_finished := pg_catalog.clock_timestamp();
    update docpal_private.tenant_upgrade_runs r
       set finished_at = v_finished
     where r.id = v_run;
    commit;
end
$$;
