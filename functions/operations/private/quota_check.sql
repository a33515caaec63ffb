create or replace function docpal_private.quota_check(p_schema text, p_tables bigint default 0, p_file_bytes bigint default 0)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Refuses (53400, naming the quota) to add p_tables tables or p_file_bytes
   bytes of newly registered files to the company of schema p_schema when
   that would pass its quota's max_tables or max_file_bytes
   (<schema>._quota, tenant step 0010; no row: no limits). Called before the
   table or file is made: docpal.create_table (so every helper that creates
   tables through it), docpal.register_file for new content only, and the
   helpers that insert files directly. Usage is what is committed plus the
   caller's own transaction: two writers at the limit at the same moment may
   both pass (the contract's overshoot by what is in flight). The message
   names only this company's usage. Records and max_bytes are checked by the
   capture functions (docpal_private.quota_sql). */
declare
    v_max_tables bigint;
    v_max_file_bytes bigint;
    v_used bigint;
begin
    if coalesce(p_tables, 0) <= 0 and coalesce(p_file_bytes, 0) <= 0 then
        return;
    end if;
    if pg_catalog.to_regclass(pg_catalog.format('%I._quota', p_schema)) is null then
        return;  -- a company docpal migrate has not brought to tenant step 0010 yet
    end if;
    -- no quota row: no limits (both null)
    execute pg_catalog.format('select q.max_tables, q.max_file_bytes from %I._quota q', p_schema)
       into v_max_tables, v_max_file_bytes;
    if p_tables > 0 and v_max_tables is not null then
        execute pg_catalog.format('select pg_catalog.count(*) from %I._catalog c where c.kind = ''table''', p_schema)
           into v_used;
        if v_used + p_tables > v_max_tables then
            raise exception using errcode = '53400',
                message = pg_catalog.format('quota max_tables exceeded: %s of %s tables', v_used, v_max_tables),
                detail = pg_catalog.format('Creating %s more would make %s.', p_tables, v_used + p_tables),
                hint = 'Drop a table, or ask a platform admin to raise the quota (docpal.set_quota).';
        end if;
    end if;
    if p_file_bytes > 0 and v_max_file_bytes is not null then
        execute pg_catalog.format('select coalesce(pg_catalog.sum(f.size), 0)::bigint from %I._files f', p_schema)
           into v_used;
        if v_used + p_file_bytes > v_max_file_bytes then
            raise exception using errcode = '53400',
                message = pg_catalog.format('quota max_file_bytes exceeded: %s of %s file bytes', v_used,
                                            v_max_file_bytes),
                detail = pg_catalog.format('Registering %s more bytes would make %s.', p_file_bytes, v_used + p_file_bytes),
                hint = 'Ask a platform admin to raise the quota (docpal.set_quota).';
        end if;
    end if;
end
$$;
