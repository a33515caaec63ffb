create or replace function docpal_private.workflow_drop_table(p_schema text, p_spec jsonb)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* A table being dropped (drop_table) takes its workflows with it: their
   catalog entries and their records' rows of the workflow log (the records
   are gone, and workflow_history needs the table). */
begin
    if not p_spec ? 'workflows' then
        return;
    end if;
    execute pg_catalog.format('delete from %I._catalog c where c.kind = $1 and c.slug = any ($2)', p_schema)
      using 'workflow', array(select w.value->>'workflow' from pg_catalog.jsonb_each(p_spec->'workflows') w);
    if pg_catalog.to_regclass(pg_catalog.format('%I._workflow_log', p_schema)) is not null then
        execute pg_catalog.format('delete from %I._workflow_log l where l."table" = $1', p_schema) using p_spec->>'slug';
    end if;
end
$$;
