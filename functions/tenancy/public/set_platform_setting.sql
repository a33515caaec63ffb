-- grant: docpal_service
create or replace function docpal.set_platform_setting(name text, value text)
    returns text
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Platform admins only (docpal_service, superusers): sets one platform
   setting and returns the value stored.
   - lock_timeout: the longest docpal waits on any lock (default 2s), a
     duration as PostgreSQL's lock_timeout takes it ('300ms', '2s', '1min'),
     from 1 ms to 10 min; stored in milliseconds and written into the SET
     clause of every docpal function at once (apply_lock_timeout). 0 (wait
     for ever) is refused.
   - notify_threshold: the notification queue usage (a fraction from 0 to 1,
     default 0.5) at and above which docpal skips notifications.
   - notify_limit: how many events one statement notifies one by one
     (default 100, from 0 to 1,000,000); past it one summary is sent.
   - report_snapshots_kept: how many snapshots of each scheduled report
     run_due_reports keeps, the newest (default 10, from 1 to 1,000); the
     rest are deleted after each run.
   - distributed: on or off (default off). When on, create_company hands
     each new company schema to Citus (citus_schema_distribute, contract
     section 10); 'on' is refused (22023) while the citus extension is not
     installed in this database.
   22023 for an unknown name or a value out of range. No session setting
   changes these: they live in docpal_private.platform_settings. */
declare
    v_value text;
    v_ms bigint;
begin
    if set_platform_setting.name = 'lock_timeout' then
        v_ms := docpal_private.lock_timeout_ms(set_platform_setting.value);
        if v_ms is null or v_ms < 1 or v_ms > 600000 then
            raise exception using errcode = '22023',
                message = pg_catalog.format('lock_timeout %L: a duration from 1ms to 10min', set_platform_setting.value);
        end if;
        v_value := v_ms::text || 'ms';
    elsif set_platform_setting.name = 'notify_threshold' then
        -- the pattern first: only a number is cast
        if (case when set_platform_setting.value ~ '^[0-9]{1,3}(\.[0-9]{1,9})?$'
                 then set_platform_setting.value::numeric <= 1 end) is not true then
            raise exception using errcode = '22023',
                message = pg_catalog.format('notify_threshold %L: a fraction from 0 to 1', set_platform_setting.value);
        end if;
        v_value := set_platform_setting.value;
    elsif set_platform_setting.name = 'notify_limit' then
        if (case when set_platform_setting.value ~ '^[0-9]{1,7}$'
                 then set_platform_setting.value::integer <= 1000000 end) is not true then
            raise exception using errcode = '22023',
                message = pg_catalog.format('notify_limit %L: a whole number from 0 to 1000000', set_platform_setting.value);
        end if;
        v_value := set_platform_setting.value;
    elsif set_platform_setting.name = 'report_snapshots_kept' then
        if (case when set_platform_setting.value ~ '^[0-9]{1,4}$'
                 then set_platform_setting.value::integer between 1 and 1000 end) is not true then
            raise exception using errcode = '22023',
                message = pg_catalog.format('report_snapshots_kept %L: a whole number from 1 to 1000', set_platform_setting.value);
        end if;
        v_value := set_platform_setting.value::integer::text;
    elsif set_platform_setting.name = 'distributed' then
        if set_platform_setting.value is null or set_platform_setting.value not in ('on', 'off') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('distributed %L: on or off', set_platform_setting.value);
        end if;
        if set_platform_setting.value = 'on'
           and not docpal_private.citus_installed() then
            raise exception using errcode = '22023',
                message = 'distributed cannot be on: the citus extension is not installed in this database',
                hint = 'Install Citus and create the extension first (docs/scale-out.md).';
        end if;
        v_value := set_platform_setting.value;
    else
        raise exception using errcode = '22023',
            message = pg_catalog.format('unknown platform setting %L', set_platform_setting.name),
            hint = 'Platform settings: lock_timeout, notify_threshold, notify_limit, report_snapshots_kept, distributed.';
    end if;
    -- the row lock also serialises two changes, so their ALTER FUNCTIONs never collide
    insert into docpal_private.platform_settings as s (name, value)
    values (set_platform_setting.name, v_value)
    on conflict on constraint platform_settings_pkey do update set value = excluded.value;
    if set_platform_setting.name = 'lock_timeout' then
        perform docpal_private.apply_lock_timeout();
    end if;
    return v_value;
end
$$;
