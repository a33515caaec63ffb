create or replace function docpal_private.link_lists(p_schema text, p_junction text, p_sources uuid[])
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The linked ids of each of p_sources in a junction table, in order:
   {"<source id>": ["<target id>", ...]}; a source without links is absent. */
declare
    v_lists jsonb;
begin
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_object_agg(x.source_id, x.targets), ''{}'')
           from (select j.source_id, pg_catalog.jsonb_agg(j.target_id order by j.position) as targets
                   from %I.%I j where j.source_id = any ($1) group by j.source_id) x',
        p_schema, p_junction)
       into v_lists using p_sources;
    return v_lists;
end
$$;
