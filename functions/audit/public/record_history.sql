-- grant: docpal_service, docpal_app
create or replace function docpal.record_history(slug text, id uuid)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Every audit entry of the record, oldest first ([] for an id never seen,
   or one the caller may not see), without the columns the caller may not
   read; 42P01 for an unknown table. */
declare
    v_ctx docpal_private.caller;
    v_spec jsonb;
    v_history jsonb;
    v_hidden text[];
begin
    select * into v_ctx from docpal_private.require_company();
    if pg_catalog.to_regprocedure(pg_catalog.format('%I._audit_history(text,uuid)', v_ctx.schema_name)) is not null then
        -- the table's spec and the entries in one call of the company's own
        -- queries, planned once per session (docpal_private.audit_history_setup);
        -- the entries are read before the access check, which may drop them
        execute pg_catalog.format('select h.spec, h.history from %I._audit_history($1, $2) h', v_ctx.schema_name)
           into v_spec, v_history using record_history.slug, record_history.id;
    end if;
    if v_spec is null then
        -- an unknown table (42P01), or a company without _audit_history (no tables)
        v_spec := docpal_private.table_spec(v_ctx.schema_name, record_history.slug);
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_agg(%s order by e.id), ''[]'')
               from %I._audit_log e where e."table" = $1 and e.record_id = $2',
            docpal_private.audit_entry_sql(v_ctx.schema_name, 'e'), v_ctx.schema_name)
           into v_history using record_history.slug, record_history.id;
    end if;
    v_hidden := docpal_private.history_access(v_ctx, v_spec, record_history.id);
    if v_hidden is null then
        return '[]';
    end if;
    if pg_catalog.cardinality(v_hidden) > 0 then
        -- unreadable columns leave old, new and changed; a summary that names one goes
        select coalesce(pg_catalog.jsonb_agg(e || pg_catalog.jsonb_build_object(
                   'old', case when pg_catalog.jsonb_typeof(e->'old') = 'object' then (e->'old') - v_hidden end,
                   'new', case when pg_catalog.jsonb_typeof(e->'new') = 'object' then (e->'new') - v_hidden end,
                   'changed', pg_catalog.to_jsonb(array(select c from pg_catalog.jsonb_array_elements_text(e->'changed') c
                                                         where c <> all (v_hidden))),
                   'summary', case when (e->'changed') ?| v_hidden then null else e->'summary' end) order by o), '[]')
          into v_history
          from pg_catalog.jsonb_array_elements(v_history) with ordinality x(e, o);
    end if;
    return v_history;
end
$$;
