create or replace function docpal_private.company_json(p_company jsonb)
    returns jsonb
    language sql stable
    set search_path = pg_catalog, pg_temp
as $$
    /* The public shape of a company, from its row as JSON (to_jsonb of a
       companies row or record: no function takes the companies row type,
       contract section 10, rule 10). */
    select pg_catalog.jsonb_build_object(
        'id', p_company->'id',
        'slug', p_company->'slug',
        'name', p_company->'name',
        'status', p_company->'status',
        'status_reason', p_company->'status_reason',
        'schema', p_company->'schema_name',
        'schema_version', p_company->'schema_version',
        'settings', p_company->'settings',
        'created_at', p_company->'created_at',
        'updated_at', p_company->'updated_at')
$$;
