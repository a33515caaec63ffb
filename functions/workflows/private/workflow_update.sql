create or replace function docpal_private.workflow_update(p_schema text, p_spec jsonb, p_id uuid, p_patch jsonb)
    returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Refuses (23514, rule "workflow") an update of record p_id that would
   change a state column a workflow governs: states move only through
   docpal.transition_record. Writing the value the record already has is
   no change (a client may send the whole record back). Called by
   update_record (so rollback_record and rollback_table too) only for
   tables with workflows, with the row already locked. */
declare
    v_column text;
    v_current text;
begin
    for v_column in
        select w.key from pg_catalog.jsonb_each(p_spec->'workflows') w where p_patch ? w.key order by w.key
    loop
        execute pg_catalog.format('select _t.%I from %I.%I _t where _t.id = $1', v_column, p_schema, p_spec->>'slug')
           into v_current using p_id;
        if (p_patch->>v_column) is distinct from v_current then
            raise exception using errcode = '23514',
                message = pg_catalog.format('%s.%s is governed by workflow %s: it changes only through its transitions',
                                            p_spec->>'slug', v_column, p_spec->'workflows'->v_column->>'workflow'),
                detail = pg_catalog.jsonb_build_object('column', v_column, 'rule', 'workflow', 'value', p_patch->v_column)::text,
                hint = 'Use docpal.transition_record.';
        end if;
    end loop;
end
$$;
