create or replace function docpal_private.require_new_ids(p_schema text, p_slug text, p_rows jsonb)
    returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* 23505 when one of the explicit ids of p_rows (a JSON array of records
   being created) is known to the table's audit log: an id names one record
   for ever, so a deleted record's id is never given to a new one (its
   history, hidden values included, would become the new record's, and
   restore_record could no longer bring the old one back). Rows without a
   string id are passed over, and so is the check when an id is no uuid: the
   insert reports that one (22P02). The log's index on ("table", record_id,
   id) serves the probe. */
declare
    v_ids uuid[];
    v_id uuid;
begin
    begin
        v_ids := array(select (r->>'id')::uuid from pg_catalog.jsonb_array_elements(p_rows) r
                        where pg_catalog.jsonb_typeof(r->'id') = 'string');
    exception when invalid_text_representation then
        return;
    end;
    if pg_catalog.cardinality(v_ids) = 0 then
        return;
    end if;
    execute pg_catalog.format(
        'select e.record_id from %I._audit_log e where e."table" = $1 and e.record_id = any ($2) limit 1', p_schema)
       into v_id using p_slug, v_ids;
    if v_id is not null then
        raise exception using errcode = '23505',
            message = pg_catalog.format('%s.id: record %s existed before; an id names one record for ever', p_slug, v_id),
            detail = pg_catalog.jsonb_build_object('column', 'id', 'rule', 'unique', 'value', v_id)::text;
    end if;
end
$$;
