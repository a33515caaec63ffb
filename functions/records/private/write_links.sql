create or replace function docpal_private.write_links(
    p_schema text, p_spec jsonb, p_column text, p_links jsonb, p_bump boolean default false)
    returns boolean
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Sets the relation_many column p_column of the records in p_links
   ({"<record id>": [target ids...]}) to exactly those ids, in that order;
   returns whether anything changed. 22023 when a value is not an array of
   ids, 23503 when a target does not exist. Audit: one entry per record
   whose list changed (docpal_private.log_links), labelled by the signed
   switch audit_action; the junction's own trigger stands aside meanwhile
   (signed switch audit_links = off: it would log the delete and the insert
   as two entries). With p_bump a
   changed record first gets a new version (when no data column changed). */
declare
    v_junction text := docpal_private.column_spec(p_spec, p_column)->'objects'->>'junction';
    v_changed integer;
    v_added integer;
    v_sources uuid[] := array(select k::uuid from pg_catalog.jsonb_object_keys(p_links) k);
    v_before jsonb;
    v_after jsonb;
    v_label text := docpal_private.switch('audit_action');
begin
    if exists (select from pg_catalog.jsonb_each(p_links) e
                where pg_catalog.jsonb_typeof(e.value) <> 'array'
                   or exists (select from pg_catalog.jsonb_array_elements(e.value) v where pg_catalog.jsonb_typeof(v) <> 'string')) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s.%s takes an array of record ids', p_spec->>'slug', p_column);
    end if;
    v_before := docpal_private.link_lists(p_schema, v_junction, v_sources);
    perform docpal_private.switch_set('audit_links', 'off');
    begin
        -- the wanted links, first occurrence of an id wins its position
        execute pg_catalog.format(
            'with wanted as (
                 select e.key::uuid as source_id, (v #>> ''{}'')::uuid as target_id, pg_catalog.min(o)::integer as position
                   from pg_catalog.jsonb_each($1) e, pg_catalog.jsonb_array_elements(e.value) with ordinality x(v, o)
                  group by 1, 2),
             gone as (
                 delete from %1$I.%2$I j
                  where j.source_id in (select e.key::uuid from pg_catalog.jsonb_each($1) e)
                    and not exists (select from wanted w where w.source_id = j.source_id and w.target_id = j.target_id
                                                           and w.position = j.position)
                 returning 1)
             select (select pg_catalog.count(*) from gone)::integer', p_schema, v_junction)
           into v_changed using p_links;
        execute pg_catalog.format(
            'insert into %1$I.%2$I (source_id, target_id, position)
             select e.key::uuid, (v #>> ''{}'')::uuid, pg_catalog.min(o)
               from pg_catalog.jsonb_each($1) e, pg_catalog.jsonb_array_elements(e.value) with ordinality x(v, o)
              group by 1, 2
             on conflict (source_id, target_id) do nothing', p_schema, v_junction)
          using p_links;
        get diagnostics v_added = row_count;
    exception when foreign_key_violation then
        raise exception using errcode = '23503',
            message = pg_catalog.format('%s.%s: a linked %s record does not exist', p_spec->>'slug', p_column,
                                        docpal_private.column_spec(p_spec, p_column)->>'target');
    end;
    perform docpal_private.switch_set('audit_links', null);
    if v_changed + v_added = 0 then
        return false;
    end if;
    v_after := docpal_private.link_lists(p_schema, v_junction, v_sources);
    if p_bump then
        execute pg_catalog.format(
            'update %I.%I _t set version = _t.version + 1, updated_at = pg_catalog.now(), updated_by = $2
              where _t.id = any ($1)', p_schema, p_spec->>'slug')
          using v_sources, docpal_private.context_user();
    end if;
    perform docpal_private.log_links(p_schema, p_spec->>'slug', p_column, v_before, v_after,
                                     case when v_label in ('ROLLBACK', 'RESTORE') then v_label else 'UPDATE' end);
    return true;
end
$$;
