-- grant: docpal_service, docpal_app
create or replace function docpal.rollback_table(slug text, at timestamptz)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Puts every record of the table that changed after "at" back as it was
   then, in the caller's transaction (all or nothing): records created since
   are deleted (newest first), records deleted since are re-inserted (oldest
   first, so a record is back before those that point at it), the others are
   rolled back. Returns {updated, restored, deleted}. 22023 for a time in the
   future. */
declare
    v_ctx record;
    v_spec jsonb;
    v_id uuid;
    v_last_version integer;
    v_now_version integer;
    v_then jsonb;
    v_version integer;
    v_after jsonb;
    v_updated integer := 0;
    v_restored integer := 0;
    v_deleted integer := 0;
begin
    perform docpal_private.citus_share();  -- the context on to Citus workers, if any
    select * into v_ctx from docpal_private.require_admin();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, rollback_table.slug);
    if rollback_table.at is null or rollback_table.at > pg_catalog.now() then
        raise exception using errcode = '22023',
            message = pg_catalog.format('rollback_table needs a time in the past, not %s', coalesce(rollback_table.at::text, 'null'));
    end if;
    -- every record with an entry after "at", as it was then and as it is now
    for v_id, v_now_version in execute pg_catalog.format(
        'select x.record_id, _t.version as now_version
           from (select e.record_id, pg_catalog.min(e.id) as first_id, pg_catalog.max(e.version) as last_version
                   from %1$I._audit_log e where e."table" = $1 and e.at > $2 group by e.record_id) x
           left join %1$I.%2$I _t on _t.id = x.record_id
          order by case when _t.version is null then 1 else 0 end, x.first_id desc',
        v_ctx.schema_name, rollback_table.slug) using rollback_table.slug, rollback_table.at
    loop
        v_then := docpal_private.record_state(v_ctx.schema_name, v_spec, v_id, null, rollback_table.at);
        if v_then is null and v_now_version is not null then
            perform docpal.delete_record(rollback_table.slug, v_id);
            v_deleted := v_deleted + 1;
        elsif v_then is not null and v_now_version is not null then
            perform docpal_private.switch_set('audit_action', 'ROLLBACK');
            v_after := docpal.update_record(rollback_table.slug, v_id,
                                            docpal_private.rollback_patch(v_spec, v_then, null));
            perform docpal_private.switch_set('audit_action', null);
            if (v_after->>'version')::integer <> v_now_version then
                v_updated := v_updated + 1;
            end if;
        end if;
    end loop;
    -- then the re-inserts, oldest first
    for v_id, v_last_version in execute pg_catalog.format(
        'select x.record_id, x.last_version
           from (select e.record_id, pg_catalog.min(e.id) as first_id, pg_catalog.max(e.version) as last_version
                   from %1$I._audit_log e where e."table" = $1 and e.at > $2 group by e.record_id) x
          where not exists (select from %1$I.%2$I _t where _t.id = x.record_id)
          order by x.first_id',
        v_ctx.schema_name, rollback_table.slug) using rollback_table.slug, rollback_table.at
    loop
        v_then := docpal_private.record_state(v_ctx.schema_name, v_spec, v_id, null, rollback_table.at);
        continue when v_then is null;
        perform docpal_private.restore_image(v_ctx.schema_name, v_spec, v_then, v_last_version + 1);
        v_restored := v_restored + 1;
    end loop;
    return pg_catalog.jsonb_build_object('updated', v_updated, 'restored', v_restored, 'deleted', v_deleted);
end
$$;
