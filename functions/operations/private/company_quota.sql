create or replace function docpal_private.company_quota(p_schema text)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The quota of the company of schema p_schema as {max_tables, max_records,
   max_bytes, max_file_bytes}: null for each limit not set (all four null
   when the company has no quota). What docpal.set_quota returns, and the
   quota field of company_metrics. */
declare
    v_quota jsonb;
begin
    if pg_catalog.to_regclass(pg_catalog.format('%I._quota', p_schema)) is not null then
        execute pg_catalog.format(
            'select pg_catalog.jsonb_build_object(''max_tables'', q.max_tables, ''max_records'', q.max_records,
                                                  ''max_bytes'', q.max_bytes, ''max_file_bytes'', q.max_file_bytes)
               from %I._quota q', p_schema)
           into v_quota;
    end if;
    return coalesce(v_quota, '{"max_tables": null, "max_records": null, "max_bytes": null, "max_file_bytes": null}');
end
$$;
