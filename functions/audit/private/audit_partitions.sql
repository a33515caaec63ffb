create or replace function docpal_private.audit_partitions(p_schema text, p_months integer default 2)
    returns text[]
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Makes sure the company's audit log has a monthly partition
   (_audit_log_YYYYMM, months in UTC) for the current month, the
   p_months - 1 after it and every month the default partition holds
   entries of; returns the partitions created. Entries that landed
   in the default partition (no monthly one existed yet) move into their new
   month first: PostgreSQL refuses a new partition whose range the default
   still holds. */
declare
    v_month timestamp;
    v_from timestamptz;
    v_to timestamptz;
    v_name text;
    v_stranded boolean;
    v_default regclass;  -- made with the first table (audit_default_partition)
    v_created text[] := '{}';
begin
    perform docpal_private.citus_ddl();  -- with Citus: the partitions' guard triggers
    v_default := pg_catalog.to_regclass(pg_catalog.format('%I._audit_log_default', p_schema));
    for v_month in execute pg_catalog.format(
        'select pg_catalog.date_trunc(''month'', pg_catalog.timezone(''UTC'', pg_catalog.now())) + pg_catalog.make_interval(months => i)
           from pg_catalog.generate_series(0, $1 - 1) i
          union
         select distinct pg_catalog.date_trunc(''month'', pg_catalog.timezone(''UTC'', d.at)) from %s d
          order by 1', coalesce(v_default::text, '(select null::timestamptz as at where false)'))
      using p_months
    loop
        v_name := '_audit_log_' || pg_catalog.to_char(v_month, 'YYYYMM');
        continue when pg_catalog.to_regclass(pg_catalog.format('%I.%I', p_schema, v_name)) is not null;
        v_from := pg_catalog.timezone('UTC', v_month);
        v_to := pg_catalog.timezone('UTC', v_month + interval '1 month');
        v_stranded := false;
        if v_default is not null then
            execute pg_catalog.format('select exists (select from %s d where d.at >= $1 and d.at < $2)', v_default)
               into strict v_stranded using v_from, v_to;
        end if;
        if v_stranded then
            execute pg_catalog.format('create table %I.%I (like %I._audit_log including defaults including constraints)',
                                      p_schema, v_name, p_schema);
            perform docpal_private.switch_set('audit_maintenance', 'on');
            execute pg_catalog.format(
                'with moved as (delete from %1$I._audit_log_default d where d.at >= $1 and d.at < $2 returning d.*)
                 insert into %1$I.%2$I select * from moved', p_schema, v_name)
              using v_from, v_to;
            perform docpal_private.switch_set('audit_maintenance', null);
            execute pg_catalog.format('alter table %I._audit_log attach partition %I.%I for values from (%L) to (%L)',
                                      p_schema, p_schema, v_name, v_from, v_to);
        else
            execute pg_catalog.format('create table %I.%I partition of %I._audit_log for values from (%L) to (%L)',
                                      p_schema, v_name, p_schema, v_from, v_to);
        end if;
        execute pg_catalog.format(
            'create trigger _audit_log_no_truncate before truncate on %I.%I
                 for each statement execute function docpal_private.audit_log_guard()', p_schema, v_name);
        v_created := v_created || v_name;
    end loop;
    return v_created;
end
$$;
