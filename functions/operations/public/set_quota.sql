-- grant: docpal_service
create or replace function docpal.set_quota(company uuid, spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Sets the quota of a company (platform admins only: 42501 otherwise) and
   returns it as {max_tables, max_records, max_bytes, max_file_bytes}.
   spec holds only those keys, each a whole number of at least 0 or null
   (22023 otherwise); a limit null or not given is no limit, so {} removes
   the quota. P0002 for an unknown company. A quota below what the company
   uses already is allowed: nothing is removed, further creates fail (53400)
   until the usage is below it again. The first quota of a company (it had
   none) starts the record count: its rows are counted then (a scan of each
   table, waiting for the writers in flight: 55P03 past the lock timeout;
   0A000 outside READ COMMITTED). docs/quotas.md */
declare
    v_company docpal_private.company;
    v_key text;
    v_had boolean;
begin
    if not docpal_private.caller_is_platform_admin() then
        raise exception using errcode = '42501', message = 'permission denied: only a platform admin sets a quota';
    end if;
    perform docpal_private.check_spec_size(set_quota.spec, 'set_quota');
    perform docpal_private.check_keys(set_quota.spec, 'a quota spec must be a JSON object',
                                      array['max_tables', 'max_records', 'max_bytes', 'max_file_bytes'],
                                      'unknown key %L in quota spec');
    foreach v_key in array array['max_tables', 'max_records', 'max_bytes', 'max_file_bytes'] loop
        if pg_catalog.jsonb_typeof(set_quota.spec->v_key) <> 'null'
           and not docpal_private.whole_number(set_quota.spec->v_key, 0, 9223372036854775807) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('quota %s must be a whole number of at least 0, or null for no limit', v_key);
        end if;
    end loop;
    -- the company row locked: two changes of one company's quota run one after the other
    v_company := docpal_private.company_for_update(set_quota.company);
    if pg_catalog.to_regclass(pg_catalog.format('%I._quota', v_company.schema_name)) is null then
        raise exception using errcode = '55000',
            message = 'the company schema is not upgraded yet: run docpal migrate';
    end if;
    if (select pg_catalog.bool_and(v is null or v = 'null'::jsonb)
          from pg_catalog.jsonb_each(set_quota.spec) e(k, v)) is not false then
        -- no quota: the capture functions stop counting (the count goes stale
        -- until the next first quota seeds it again)
        execute pg_catalog.format('delete from %I._quota', v_company.schema_name);
    else
        execute pg_catalog.format('select exists (select from %I._quota)', v_company.schema_name) into v_had;
        execute pg_catalog.format(
            'insert into %I._quota (max_tables, max_records, max_bytes, max_file_bytes) values ($1, $2, $3, $4)
             on conflict (one) do update
                set max_tables = excluded.max_tables, max_records = excluded.max_records,
                    max_bytes = excluded.max_bytes, max_file_bytes = excluded.max_file_bytes,
                    updated_at = excluded.updated_at', v_company.schema_name)
          using (set_quota.spec->>'max_tables')::bigint, (set_quota.spec->>'max_records')::bigint,
                (set_quota.spec->>'max_bytes')::bigint, (set_quota.spec->>'max_file_bytes')::bigint;
        if not v_had then
            -- The first quota: the capture functions count only while the company
            -- has one (docpal_private.quota_sql), so the count is empty or stale;
            -- count the rows now, in the transaction that inserted the row.
            -- quota_seed locks the tables in SHARE mode to the end of this
            -- transaction: it waits for the writers in flight, which cannot see
            -- the uncommitted row (so did not count) and whose rows it then
            -- counts; a writer that comes later waits for this commit, then sees
            -- the row and counts its own rows (READ COMMITTED: each statement of
            -- the capture sees what is committed when it starts). The row and
            -- the locks become visible and go away together, at the commit, so
            -- every row is counted once; what matters is one transaction (a seed
            -- committed before the row would let writers in between write
            -- uncounted rows). Its own earlier writes in this transaction are in
            -- the count, its later ones see its row. A REPEATABLE READ writer
            -- whose snapshot predates this commit does not see the row and does
            -- not count (docs/quotas.md).
            perform docpal_private.quota_seed(v_company.schema_name);
        end if;
    end if;
    return docpal_private.company_quota(v_company.schema_name);
end
$$;
