create or replace function docpal_private.audit_default_partition(p_schema text, p_needed boolean default true)
    returns boolean
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The default partition of a company's audit log, made when the company
   first needs it rather than with the company: creating any partition makes
   PostgreSQL 15 read all of pg_constraint (CloneFkReferenced has no index to
   use), so at 10,000 companies it was half the cost of create_company.
   p_needed true (refresh_table, before a table gets its capture; import):
   makes it, with the names and truncate guard that step 0002/0004 gave the
   companies made before, unless it exists. p_needed false (tenant step
   0013): drops it while the company has no tables and it holds no entry, so
   an upgraded company and a new one have the same objects. Returns whether
   the partition exists afterwards. */
declare
    v_default regclass := pg_catalog.to_regclass(pg_catalog.format('%I._audit_log_default', p_schema));
    v_index regclass;
    v_used boolean;
begin
    if not p_needed then
        if v_default is null then
            return false;
        end if;
        execute pg_catalog.format('select exists (select from %I._catalog t where t.kind = ''table'')
                                      or exists (select from %s)', p_schema, v_default)
           into v_used;
        if not v_used then
            execute pg_catalog.format('drop table %s', v_default);
        end if;
        return v_used;
    end if;
    if v_default is not null then
        return true;
    end if;
    perform docpal_private.citus_ddl();  -- with Citus: the partition's guard trigger
    execute pg_catalog.format('create table %1$I._audit_log_default partition of %1$I._audit_log default', p_schema);
    -- the index name step 0002 gave it, made before the column was renamed
    select i.inhrelid::regclass into strict v_index
      from pg_catalog.pg_inherits i
     where i.inhparent = pg_catalog.to_regclass(pg_catalog.format('%I._audit_log_table_slug_record_id_id_idx', p_schema))
       and i.inhrelid in (select x.indexrelid from pg_catalog.pg_index x
                           where x.indrelid = pg_catalog.format('%I._audit_log_default', p_schema)::regclass);
    execute pg_catalog.format('alter index %s rename to _audit_log_default_table_slug_record_id_id_idx', v_index);
    execute pg_catalog.format(
        'create trigger _audit_log_no_truncate before truncate on %I._audit_log_default
             for each statement execute function docpal_private.audit_log_guard()', p_schema);
    return true;
end
$$;
