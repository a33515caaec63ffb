-- grant: docpal_service, docpal_app
create or replace function docpal.rollback_record(slug text, id uuid, version integer, columns text[] default null)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Writes the values the record had at that version back (only columns when
   given) through update_record, so every rule and permission of an update
   applies; logged as ROLLBACK; returns the record. P0002 when the record
   does not exist or never had that version; 22023/42703 for bad columns. */
declare
    v_ctx record;
    v_spec jsonb;
    v_state jsonb;
    v_exists boolean;
    v_result jsonb;
begin
    perform docpal_private.citus_share();  -- the context on to Citus workers, if any
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, rollback_record.slug);
    execute pg_catalog.format('select exists (select from %I.%I _t where _t.id = $1)', v_ctx.schema_name, rollback_record.slug)
       into v_exists using rollback_record.id;
    if not v_exists then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', rollback_record.id, rollback_record.slug),
            hint = 'A deleted record comes back with docpal.restore_record.';
    end if;
    v_state := docpal_private.record_state(v_ctx.schema_name, v_spec, rollback_record.id, rollback_record.version, null);
    if v_state is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s has no version %s',
                                        rollback_record.id, rollback_record.slug, rollback_record.version);
    end if;
    perform docpal_private.switch_set('audit_action', 'ROLLBACK');
    v_result := docpal.update_record(rollback_record.slug, rollback_record.id,
                                     docpal_private.rollback_patch(v_spec, v_state, rollback_record.columns));
    perform docpal_private.switch_set('audit_action', null);
    return v_result;
end
$$;
