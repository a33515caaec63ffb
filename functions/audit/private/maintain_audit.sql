create or replace function docpal_private.maintain_audit(p_schema text, p_keep_months integer default null,
                                                         p_archive boolean default false)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Audit log upkeep for one company: the coming monthly partitions, sealing,
   and with p_keep_months retention: monthly partitions that ended more than
   p_keep_months months before the current month (UTC) are dropped (or, with
   p_archive, detached and renamed _audit_archive_YYYYMM, out of the log, to
   be dumped), and older entries in the default partition deleted. Before
   that, the hash of every removed entry that a kept one chains to is stored
   as an anchor in _audit_seals, so verification stays exact from the first
   kept entry. A partition still holding unsealed entries (a transaction
   still running) is kept for the next run. */
declare
    v_created text[] := docpal_private.audit_partitions(p_schema);
    v_sealed bigint := docpal_private.seal_audit(p_schema);
    v_cutoff timestamptz;
    v_old regclass[];
    v_removed text[] := '{}';
    v_anchors integer := 0;
    v_partition regclass;
    v_name text;
    v_gone bigint[];
    v_ids bigint[];
    v_done boolean;
    -- none in a company without tables (audit_default_partition)
    v_default regclass := pg_catalog.to_regclass(pg_catalog.format('%I._audit_log_default', p_schema));
begin
    if p_keep_months is not null then
        if p_keep_months < 0 then
            raise exception using errcode = '22023', message = 'keep_months is a whole number of months, 0 or more';
        end if;
        v_cutoff := pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', pg_catalog.now()))
                                               - pg_catalog.make_interval(months => p_keep_months));
        -- monthly partitions wholly before the cutoff and fully sealed, each
        -- read by its name (with Citus, a row's tableoid is the shard's, and
        -- the catalogs cannot be joined with a distributed table)
        v_old := '{}';
        for v_partition in
            select c.oid::regclass from pg_catalog.pg_inherits i join pg_catalog.pg_class c on c.oid = i.inhrelid
             where i.inhparent = pg_catalog.format('%I._audit_log', p_schema)::regclass
               and c.relname ~ '^_audit_log_[0-9]{6}$'
               and pg_catalog.timezone('UTC', pg_catalog.to_timestamp(pg_catalog.substr(c.relname, 12), 'YYYYMM')::timestamp
                                              + interval '1 month') <= v_cutoff
             order by c.relname
        loop
            execute pg_catalog.format(
                'select not exists (select from %s l where not exists (select from %I._audit_chain k where k.entry_id = l.id))',
                v_partition, p_schema)
               into v_done;
            if v_done then
                v_old := v_old || v_partition;
            end if;
        end loop;
        -- the entries that go: those of the old partitions, and sealed ones of
        -- the default partition from before the cutoff
        v_gone := '{}';
        if v_default is not null then
            execute pg_catalog.format(
                'select coalesce(pg_catalog.array_agg(l.id), ''{}'') from %s l
                  where l.at < $1 and exists (select from %I._audit_chain k where k.entry_id = l.id)', v_default, p_schema)
               into v_gone using v_cutoff;
        end if;
        foreach v_partition in array v_old loop
            execute pg_catalog.format('select coalesce(pg_catalog.array_agg(l.id), ''{}'') from %s l', v_partition)
               into v_ids;
            v_gone := v_gone || v_ids;
        end loop;
        -- anchors: links of removed entries that a kept link chains to, and the head
        execute pg_catalog.format(
            'insert into %1$I._audit_seals (seal, entry_id, hash, kind)
             select c.seal, c.entry_id, c.hash, ''anchor''
               from %1$I._audit_chain c
              where c.entry_id = any ($1)
                and (exists (select from %1$I._audit_chain k where k.seal = c.seal + 1 and not (k.entry_id = any ($1)))
                     or c.seal = (select pg_catalog.max(h.seal) from %1$I._audit_chain h))',
            p_schema)
          using v_gone;
        get diagnostics v_anchors = row_count;
        perform docpal_private.switch_set('audit_maintenance', 'on');
        execute pg_catalog.format('delete from %I._audit_chain c where c.entry_id = any ($1)', p_schema) using v_gone;
        foreach v_partition in array v_old loop
            v_name := (select c.relname from pg_catalog.pg_class c where c.oid = v_partition);
            if p_archive then
                execute pg_catalog.format('alter table %I._audit_log detach partition %s', p_schema, v_partition);
                execute pg_catalog.format('alter table %s rename to %I', v_partition,
                                          pg_catalog.replace(v_name, '_audit_log_', '_audit_archive_'));
            else
                execute pg_catalog.format('drop table %s', v_partition);
            end if;
            v_removed := v_removed || v_name;
        end loop;
        if v_default is not null then
            execute pg_catalog.format('delete from %s d where d.id = any ($1)', v_default) using v_gone;
        end if;
        perform docpal_private.switch_set('audit_maintenance', null);
    end if;
    return pg_catalog.jsonb_build_object('created', pg_catalog.to_jsonb(v_created),
                                         case when p_archive then 'archived' else 'dropped' end, pg_catalog.to_jsonb(v_removed),
                                         'sealed', v_sealed, 'anchors', v_anchors);
end
$$;
