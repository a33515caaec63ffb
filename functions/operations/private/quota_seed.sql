create or replace function docpal_private.quota_seed(p_schema text)
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Sets the record count of the company of schema p_schema (<schema>._usage,
   docs/quotas.md) to the rows its tables hold, exactly, and returns it:
   docpal.set_quota calls it when a company gets its first quota (the
   capture functions count only while the company has one, so the count is
   stale or empty before); it can also repair a count by hand. The 16 slot
   rows are made if missing; slot 0 gets the total, the others 0.

   Exact whatever writes at the same moment, called in the transaction that
   inserted the quota row (set_quota): every table of the company is locked
   in SHARE mode, which waits for the transactions writing it, then the
   catalog (<schema>._catalog) in SHARE mode, which waits for the
   transactions that made or dropped a table meanwhile (a table made by a
   transaction still open is not in the first list, and its rows would be
   missed), and the tables of the catalog as it is then are locked too.
   (Tables first: schema changes lock their table before they write the
   catalog, so this order makes them wait instead of deadlocking.) A writer
   that held a table's lock wrote without seeing the quota row (not
   committed yet), so it did not count: its rows are committed before the
   count and counted here. A writer that comes after the lock waits for this
   transaction's commit and then, in READ COMMITTED (each statement of the
   capture function sees what is committed when it starts), sees the quota
   row and counts its own rows, which the count here could not see. Hence
   READ COMMITTED only: in REPEATABLE READ the count would read the snapshot
   taken before the waits, missing the rows of the writers waited for
   (0A000). _usage is then locked in EXCLUSIVE mode: no writer that still
   sees an older quota row (a REPEATABLE READ transaction that began before
   the quota was removed) adds to it between the count and the update. The
   count reads every table (a sequential scan each), once per first quota.
   Locks wait at most the caller's lock_timeout (55P03); a writer that holds
   several tables can deadlock with it (40P01: one of them fails, retry). */
declare
    v_slug text;
    v_count bigint;
    v_total bigint := 0;
    v_slugs text[];
    v_pass integer;
begin
    if pg_catalog.current_setting('transaction_isolation') <> 'read committed' then
        raise exception using errcode = '0A000',
            message = 'counting a company''s records needs a READ COMMITTED transaction',
            hint = 'Set the first quota of a company in a READ COMMITTED transaction (the default).';
    end if;
    for v_pass in 1 .. 2 loop
        if v_pass = 2 then
            execute pg_catalog.format('lock table %I._catalog in share mode', p_schema);
        end if;
        -- read after the lock (READ COMMITTED: a new snapshot per statement)
        execute pg_catalog.format('select pg_catalog.array_agg(c.slug order by c.slug) from %I._catalog c
                                    where c.kind = ''table''', p_schema)
           into v_slugs;
        foreach v_slug in array coalesce(v_slugs, '{}') loop
            if pg_catalog.to_regclass(pg_catalog.format('%I.%I', p_schema, v_slug)) is not null then
                begin
                    -- a table already locked in the first pass is not waited for again
                    execute pg_catalog.format('lock table %I.%I in share mode', p_schema, v_slug);
                exception when undefined_table then
                    null;  -- dropped while we waited (first pass): not in the catalog of the second
                end;
            end if;
        end loop;
    end loop;
    execute pg_catalog.format('insert into %I._usage (slot) select s from pg_catalog.generate_series(0, 15) s
                               on conflict (slot) do nothing', p_schema);
    execute pg_catalog.format('lock table %I._usage in exclusive mode', p_schema);
    foreach v_slug in array coalesce(v_slugs, '{}') loop
        if pg_catalog.to_regclass(pg_catalog.format('%I.%I', p_schema, v_slug)) is not null then
            execute pg_catalog.format('select pg_catalog.count(*) from %I.%I', p_schema, v_slug) into v_count;
            v_total := v_total + v_count;
        end if;
    end loop;
    execute pg_catalog.format('update %I._usage u set records = case when u.slot = 0 then $1 else 0 end', p_schema)
      using v_total;
    return v_total;
end
$$;
