create or replace function docpal_private.restore_image(p_schema text, p_spec jsonb, p_image jsonb, p_version integer)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Re-inserts a record from its audit image (the stored row as to_jsonb,
   relation_many columns as id lists) with the same id and created_*, at
   p_version, and its links; returns it as get_record does. Logged as
   RESTORE. Columns the image lacks (added since) take their defaults;
   formula columns are computed again. The table's rules apply and their
   errors come out as from create_record. */
declare
    v_slug text := p_spec->>'slug';
    v_columns text[];
    v_many text[] := array(select c->>'name' from pg_catalog.jsonb_array_elements(p_spec->'columns') c
                            where c->>'type' = 'relation_many');
    v_result jsonb;
    v_record text := docpal_private.record_sql(p_schema, p_spec, '_t');
begin
    v_columns := array(select c from pg_catalog.unnest(array['id', 'created_at', 'created_by']
                                                       || docpal_private.physical_columns(p_spec, false)) c
                        where p_image ? c);
    perform docpal_private.switch_set('audit_action', 'RESTORE');
    perform docpal_private.write_rows(
        p_schema, p_spec, pg_catalog.jsonb_build_array(p_image), null,
        array[pg_catalog.format(
            'insert into %I.%I as _t (%s, version, updated_at, updated_by)
             select %s, $4, pg_catalog.now(), $2 from pg_catalog.jsonb_populate_record(null::%I.%I, $1) _r returning _t.id',
            p_schema, v_slug,
            (select pg_catalog.string_agg(pg_catalog.format('%I', c), ', ') from pg_catalog.unnest(v_columns) c),
            (select pg_catalog.string_agg(pg_catalog.format('_r.%I', c), ', ') from pg_catalog.unnest(v_columns) c),
            p_schema, v_slug)],
        array[p_image], docpal_private.context_user(),
        array(select c from pg_catalog.unnest(v_many) c
               where pg_catalog.jsonb_typeof(p_image->c) = 'array' and p_image->c <> '[]'),
        p_version => p_version);
    perform docpal_private.switch_set('audit_action', null);
    execute pg_catalog.format('select %s from %I.%I _t where _t.id = $1', v_record, p_schema, v_slug)
       into v_result using (p_image->>'id')::uuid;
    return v_result;
end
$$;
