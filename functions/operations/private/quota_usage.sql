create or replace function docpal_private.quota_usage(p_schema text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* What the company of schema p_schema uses of each quota, as {tables,
   records, bytes, file_bytes}: its tables, the rows they hold as counted
   (<schema>._usage: committed rows and the caller's transaction), the size
   of its schema's relations (pg_total_relation_size) and the sum of its
   registered file sizes. records is null while the company has no quota:
   the rows are counted only while it has one (docpal_private.quota_sql),
   so _usage is then empty or stale (company_metrics counts rows itself). */
declare
    v_usage jsonb;
    v_records bigint;
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._usage', p_schema)) is not null then
        execute pg_catalog.format('select pg_catalog.sum(u.records)::bigint from %1$I._usage u
                                    where exists (select from %1$I._quota)', p_schema)
           into v_records;
    end if;
    execute pg_catalog.format(
        'select pg_catalog.jsonb_build_object(
                    ''tables'', (select pg_catalog.count(*) from %1$I._catalog c where c.kind = ''table''),
                    ''records'', $1,
                    ''bytes'', (select coalesce(pg_catalog.sum(pg_catalog.pg_total_relation_size(r.oid)), 0)::bigint
                                from pg_catalog.pg_class r
                               where r.relnamespace = %2$L::regnamespace and r.relkind in (''r'', ''m'')),
                    ''file_bytes'', (select coalesce(pg_catalog.sum(f.size), 0)::bigint from %1$I._files f))',
        p_schema, p_schema)
       into v_usage using v_records;
    return v_usage;
end
$$;
