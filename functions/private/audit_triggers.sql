create or replace function docpal_private.audit_triggers(p_schema text, p_spec jsonb)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Creates (or re-creates) the audit capture triggers of a docpal table and
   of its relation_many junction tables. Transition tables allow one event
   per trigger, hence one AFTER trigger per event; TRUNCATE is logged by a
   BEFORE trigger while the rows are still there. The logical names travel
   as trigger arguments (Citus: TG_TABLE_NAME names the shard). */
declare
    v_table text := p_spec->>'slug';
    v_column jsonb;
    v_target text;
    v_args text;
    v_function text;
begin
    for v_target, v_args, v_function in
        select v_table, pg_catalog.format('%L', v_table), 'audit_capture'
        union all
        select c->'objects'->>'junction', pg_catalog.format('%L, %L, %L', v_table, c->>'name', c->'objects'->>'junction'), 'audit_links'
          from pg_catalog.jsonb_array_elements(p_spec->'columns') c
         where c->>'type' = 'relation_many'
    loop
        execute pg_catalog.format(
            'create or replace trigger _docpal_audit_insert after insert on %1$I.%2$I
                 referencing new table as _docpal_new
                 for each statement execute function docpal_private.%4$I(%3$s);
             create or replace trigger _docpal_audit_update after update on %1$I.%2$I
                 referencing old table as _docpal_old new table as _docpal_new
                 for each statement execute function docpal_private.%4$I(%3$s);
             create or replace trigger _docpal_audit_delete after delete on %1$I.%2$I
                 referencing old table as _docpal_old
                 for each statement execute function docpal_private.%4$I(%3$s);
             create or replace trigger _docpal_audit_truncate before truncate on %1$I.%2$I
                 for each statement execute function docpal_private.%4$I(%3$s)',
            p_schema, v_target, v_args, v_function);
    end loop;
end
$$;
