-- Scheduled reports (contract section 11): when the pg_cron extension is
-- installed in this database, pg_cron runs the due reports every minute, as
-- the role that migrates, under the job name 'docpal-run-due-reports'.
-- Nothing happens without pg_cron here; when it lives in another database
-- (cron.database_name), the DBA schedules the job there with
-- cron.schedule_in_database, or runs `docpal reports run-due` from system
-- cron (docs/operations.md, "Scheduled reports").
--
-- The job's command is a DO block that claims one report
-- (docpal.claim_due_report), commits, runs it (docpal.run_claimed_report),
-- commits, and so on for up to 50 seconds: each claim is committed before
-- its run, so a run that is cancelled (a statement_timeout) or fails loses
-- only itself, and the slow report has already moved to its next time
-- instead of blocking every run after it. COMMIT inside DO works as pg_cron
-- runs a one-statement command: outside a transaction block, in libpq mode
-- and in background-worker mode alike (tests/test_report_pgcron.py runs it
-- in the latter). The 50 s bound keeps a run within its minute (pg_cron
-- starts a job again only after its previous run ended).
--
-- A job of that name for this database that already exists is left as it
-- is, whoever made it: a DBA may have changed its schedule, command or
-- activity (cron.alter_job), and a second job would only run the same work
-- twice. One exception: a job whose command is still docpal's earlier
-- `select docpal.run_due_reports()` (one transaction for every report) gets
-- the new command, when the migrating role may change it (its owner, or a
-- superuser). pg_cron 1.4's cron.job has one row per job with its jobname,
-- schedule, command, database and username.
do $$
declare
    c_job constant text := 'docpal-run-due-reports';
    c_old constant text := 'select docpal.run_due_reports()';
    c_command constant text := 'do $job$ declare c jsonb; stop_at timestamptz := pg_catalog.clock_timestamp() + interval ''50 s''; '
        || 'begin loop c := docpal.claim_due_report(); commit; exit when c is null; '
        || 'perform docpal.run_claimed_report(c); commit; exit when pg_catalog.clock_timestamp() >= stop_at; '
        || 'end loop; end $job$';
    v_job bigint;
    v_command text;
    v_owner text;
begin
    if not exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then
        return;
    end if;
    if not pg_catalog.has_schema_privilege('cron', 'USAGE') then
        raise warning 'pg_cron is installed but % may not use its schema: scheduled reports are not scheduled', current_user
            using hint = pg_catalog.format('Run as a superuser: select cron.schedule(%L, %L, %L);', c_job, '* * * * *', c_command);
        return;
    end if;
    select j.jobid, j.command, j.username into v_job, v_command, v_owner
      from cron.job j where j.jobname = c_job and j.database = pg_catalog.current_database()
     order by j.jobid limit 1;
    if v_job is null then
        perform cron.schedule(c_job, '* * * * *', c_command);
    elsif v_command = c_old then
        if v_owner = current_user or (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user) then
            perform cron.alter_job(v_job, command => c_command);
        else
            raise warning 'the pg_cron job % still runs all due reports in one transaction; % may not change it', c_job, current_user
                using hint = pg_catalog.format('Run as %I or a superuser: select cron.alter_job(%s, command => %L);',
                                               v_owner, v_job, c_command);
        end if;
    end if;
end
$$;
