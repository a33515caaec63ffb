create or replace function docpal_private.quota_drop(p_schema text, p_table text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Takes the rows of table p_table out of the record count of the company of
   schema p_schema (<schema>._usage, docs/quotas.md) before docpal.drop_table
   drops it: a dropped table fires no delete trigger. Nothing when the
   company has no quota: the count is kept only while it has one
   (docpal_private.quota_sql). The table is locked first (ACCESS EXCLUSIVE,
   as the drop that follows would), so no writer adds rows between the count
   and the drop, and a docpal.set_quota seeding the count meanwhile (it
   locks the tables) has committed before _quota is read: then its row is
   seen and the rows it counted are taken out. The count reads the whole
   table. */
declare
    v_count bigint;
    v_limited boolean;
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._usage', p_schema)) is null then
        return;
    end if;
    execute pg_catalog.format('lock table %I.%I in access exclusive mode', p_schema, p_table);
    execute pg_catalog.format('select exists (select from %I._quota)', p_schema) into v_limited;
    if not v_limited then
        return;
    end if;
    execute pg_catalog.format('select pg_catalog.count(*) from %I.%I', p_schema, p_table) into v_count;
    if v_count > 0 then
        -- a slot no one else holds, else the one of this backend (as the capture functions do)
        execute pg_catalog.format(
            'update %1$I._usage u set records = u.records - $1
              where u.slot = coalesce((select s.slot from %1$I._usage s order by s.slot limit 1 for update skip locked),
                                      pg_catalog.pg_backend_pid() %% 16)', p_schema)
          using v_count;
    end if;
end
$$;
