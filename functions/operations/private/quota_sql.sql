create or replace function docpal_private.quota_sql(p_schema text, p_delta text)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The record counting and quota check of one path of a capture function
   (docpal_private.audit_triggers writes it into the body of each table's
   _audit_<slug>, after the statement's rows are written, once per path;
   docs/quotas.md): a PL/pgSQL block that first reads the company's quota
   (<schema>._quota, one primary-key read) and does nothing more when there
   is none: a company without a quota pays that read per write statement,
   nothing else. With a quota it runs p_delta (a statement of the path that
   sets _delta: rows inserted, minus rows deleted or truncated), adds _delta
   to one row of <schema>._usage and, after an insert, compares the
   company's usage with its quota, raising 53400 when the insert took it
   past max_records or max_bytes (the statement's error rolls the rows back).
   The body declares _limited, _delta, _max_records, _max_bytes and _used.

   So the count is kept only while the company has a quota: docpal.set_quota
   seeds it (docpal_private.quota_seed) when it sets the first one; once the
   quota is removed, the count goes stale until the next first set.

   No single counter row: the writer adds to one of 16 slots, the one of its
   backend (pg_backend_pid() % 16) unless another transaction holds that
   one, then any slot no one holds (FOR UPDATE SKIP LOCKED; its own slot is
   never skipped, so a transaction that holds one never waits), and waits
   only when all 16 are held by others (and it holds none: no deadlock
   between slots). The check reads sum(records): committed rows and the
   transaction's own, so writers running at the same moment may together
   pass max_records by at most the rows of their statements in flight.
   Only an insert is checked; deletes are never refused. max_bytes (the
   schema's relations, pg_total_relation_size: a few stat calls per
   relation) is measured only when it is set.
   Empty (no counting) while the schema has no _usage yet: a company that
   docpal migrate has not brought to tenant step 0010 (its capture is made
   again by the upgrade). */
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._usage', p_schema)) is null then
        return '';
    end if;
    return pg_catalog.format(
        '
                 -- quota (docpal_private.quota_sql): nothing more than this read without one
                 select true, _q.max_records, _q.max_bytes into _limited, _max_records, _max_bytes
                   from %1$I._quota _q;
                 if _limited then
                     %3$s;
                     if _delta <> 0 then
                         update %1$I._usage _u set records = _u.records + _delta
                          where _u.slot = (select _s.slot from %1$I._usage _s
                                            where _s.slot = pg_catalog.pg_backend_pid() %% 16
                                              for update skip locked);
                         if not found then
                             update %1$I._usage _u set records = _u.records + _delta
                              where _u.slot = (select _s.slot from %1$I._usage _s order by _s.slot
                                                 limit 1 for update skip locked);
                             if not found then
                                 update %1$I._usage _u set records = _u.records + _delta
                                  where _u.slot = pg_catalog.pg_backend_pid() %% 16;
                             end if;
                         end if;
                     end if;
                     if _delta > 0 and _max_records is not null then
                         select pg_catalog.sum(_u.records) into _used from %1$I._usage _u;
                         if _used > _max_records then
                             raise exception using errcode = ''53400'',
                                 message = pg_catalog.format(''quota max_records exceeded: %%s of %%s records'',
                                                             _used - _delta, _max_records),
                                 detail = pg_catalog.format(''Adding %%s records would make %%s.'', _delta, _used),
                                 hint = ''Delete records, or ask a platform admin to raise the quota (docpal.set_quota).'';
                         end if;
                     end if;
                     if _delta > 0 and _max_bytes is not null then
                         select coalesce(pg_catalog.sum(pg_catalog.pg_total_relation_size(_c.oid)), 0)::bigint
                           into _used
                           from pg_catalog.pg_class _c
                          where _c.relnamespace = %2$L::regnamespace and _c.relkind in (''r'', ''m'');
                         if _used > _max_bytes then
                             raise exception using errcode = ''53400'',
                                 message = pg_catalog.format(''quota max_bytes exceeded: %%s of %%s bytes'',
                                                             _used, _max_bytes),
                                 hint = ''Delete records, or ask a platform admin to raise the quota (docpal.set_quota).'';
                         end if;
                     end if;
                 end if;',
        p_schema, p_schema, p_delta);
end
$$;
