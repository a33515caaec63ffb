create or replace function docpal_private.refresh_table(p_schema text, p_spec jsonb)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Makes the table-level objects match the spec and returns the spec with
   "search" (the definition of its full-text index):
   - the audit capture triggers (docpal_private.audit_triggers);
   - the _docpal_users trigger checking the user columns (user_refs_trigger);
   - the BEFORE UPDATE trigger, fired only when a data column changes (a
     WHEN clause over the stored columns; generated columns are not yet
     computed in a BEFORE trigger, so they are left out, and so are the
     bookkeeping columns version, updated_at, updated_by);
   - the GIN full-text index over the searchable columns, rebuilt only when
     that set changed. */
declare
    v_table text := p_spec->>'slug';
    v_columns text[] := array['id', 'created_at', 'created_by'] || docpal_private.physical_columns(p_spec, false);
    v_search text := docpal_private.search_sql(p_spec);
    v_index text := docpal_private.ident(v_table, 'search');
begin
    execute pg_catalog.format(
        'create or replace trigger _docpal_stamp before update on %I.%I for each row
         when ((%s) is distinct from (%s)) execute function docpal_private.stamp_update(%L)',
        p_schema, v_table,
        (select pg_catalog.string_agg(pg_catalog.format('old.%I', c), ', ') from pg_catalog.unnest(v_columns) c),
        (select pg_catalog.string_agg(pg_catalog.format('new.%I', c), ', ') from pg_catalog.unnest(v_columns) c),
        v_table);
    perform docpal_private.audit_default_partition(p_schema);  -- the first table's entries need it
    perform docpal_private.audit_triggers(p_schema, p_spec);
    perform docpal_private.user_refs_trigger(p_schema, v_table, docpal_private.user_refs(p_spec));
    if v_search is distinct from p_spec->>'search'
       or v_search is not null and pg_catalog.to_regclass(pg_catalog.format('%I.%I', p_schema, v_index)) is null then
        if pg_catalog.to_regclass(pg_catalog.format('%I.%I', p_schema, v_index)) is not null then
            execute pg_catalog.format('drop index %I.%I', p_schema, v_index);
        end if;
        if v_search is not null then
            execute pg_catalog.format('create index %I on %I.%I using gin (%s)', v_index, p_schema, v_table, v_search);
        end if;
    end if;
    return case when v_search is null then p_spec - 'search'
                else p_spec || pg_catalog.jsonb_build_object('search', v_search) end;
end
$$;
