-- grant: docpal_service, docpal_app
create or replace function docpal.restore_record(slug text, id uuid)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Brings a deleted record back: same id, its last values and links, as the
   next version, logged as RESTORE. P0002 when it was never deleted, 23505
   when a record with that id exists, the table's rules otherwise. */
declare
    v_ctx record;
    v_spec jsonb;
    v_exists boolean;
    v_last text;
    v_version integer;
begin
    perform docpal_private.citus_share();  -- the context on to Citus workers, if any
    select * into v_ctx from docpal_private.require_admin();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, restore_record.slug);
    execute pg_catalog.format('select exists (select from %I.%I _t where _t.id = $1)', v_ctx.schema_name, restore_record.slug)
       into v_exists using restore_record.id;
    if v_exists then
        raise exception using errcode = '23505',
            message = pg_catalog.format('record %s of table %s exists: there is nothing to restore', restore_record.id, restore_record.slug);
    end if;
    execute pg_catalog.format(
        'select e.action, e.version from %I._audit_log e
          where e."table" = $1 and e.record_id = $2 and (e.new ? ''id'' or e.action = ''DELETE'')
          order by e.id desc limit 1',
        v_ctx.schema_name)
       into v_last, v_version using restore_record.slug, restore_record.id;
    if v_last is distinct from 'DELETE' then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s was never deleted', restore_record.id, restore_record.slug);
    end if;
    return docpal_private.restore_image(v_ctx.schema_name, v_spec,
                                        docpal_private.record_state(v_ctx.schema_name, v_spec, restore_record.id, v_version, null),
                                        v_version + 1);
end
$$;
