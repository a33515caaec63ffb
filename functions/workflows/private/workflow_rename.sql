create or replace function docpal_private.workflow_rename(p_schema text, p_spec jsonb, p_old text, p_new text)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* A state column being renamed (rename_column): its workflow follows, so
   the stored workflow spec names the new column (state_column) and the
   table spec's "workflows" key moves to it. Returns the table spec to
   save; unchanged for a column no workflow governs. */
declare
    v_entry jsonb := p_spec->'workflows'->p_old;
begin
    if v_entry is null then
        return p_spec;
    end if;
    execute pg_catalog.format(
        'update %I._catalog c set spec = c.spec || pg_catalog.jsonb_build_object(''state_column'', $3::text),
                updated_at = pg_catalog.now()
          where c.kind = $1 and c.slug = $2', p_schema)
      using 'workflow', v_entry->>'workflow', p_new;
    return p_spec || pg_catalog.jsonb_build_object('workflows',
        ((p_spec->'workflows') - p_old) || pg_catalog.jsonb_build_object(p_new, v_entry));
end
$$;
