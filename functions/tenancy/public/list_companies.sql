-- grant: docpal_service
create or replace function docpal.list_companies()
    returns jsonb
    language sql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
    /* Every company, oldest first, as get_company shapes it. */
    select coalesce(pg_catalog.jsonb_agg(docpal_private.company_json(pg_catalog.to_jsonb(c)) order by c.created_at, c.id), '[]')
      from docpal_private.companies c
$$;
