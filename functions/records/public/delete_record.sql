-- grant: docpal_service, docpal_app
create or replace function docpal.delete_record(slug text, id uuid)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Deletes the record and returns it as it was, with only the cells the
   caller may read (docpal_private.cell_image). One statement locks the row
   and evaluates the caller's delete and read grants on it. P0002 when there
   is none, or no delete grant of the caller covers its row, or the caller
   holds read grants and none covers it; 23503 while a relation with
   on_delete restrict points at it. */
declare
    v_ctx docpal_private.caller;
    v_spec jsonb;
    v_result jsonb;
    v_perm jsonb;
    v_read jsonb;
    v_grants jsonb;
    v_n integer;
    v_matched boolean[];
    v_deleted integer;
    v_state text;
    v_message text;
    v_detail text;
    v_constraint text;
begin
    perform docpal_private.citus_share();  -- the context on to Citus workers, if any
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, delete_record.slug);
    v_perm := docpal_private.require_permission(v_ctx, delete_record.slug, 'delete');
    v_read := docpal_private.permission(v_ctx, delete_record.slug, 'read');
    v_grants := (v_perm->'grants') || coalesce(v_read->'grants', '[]');
    v_n := pg_catalog.jsonb_array_length(v_perm->'grants');
    -- the record as it is (links included), locked, with the grants that cover it
    select c.record, c.matched into v_result, v_matched
      from docpal_private.record_cells(v_ctx.schema_name, v_spec, v_grants, array[delete_record.id], true) c;
    if v_result is null or not coalesce(true = any (v_matched[1:v_n]), false)
       or (v_read is not null and not coalesce(true = any (v_matched[v_n + 1:]), false)) then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', delete_record.id, delete_record.slug);
    end if;
    begin
        execute pg_catalog.format('delete from %I.%I _t where _t.id = $1', v_ctx.schema_name, delete_record.slug)
          using delete_record.id;
        get diagnostics v_deleted = row_count;
    exception when foreign_key_violation then
        get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail,
                                v_constraint = constraint_name;
        -- no DETAIL: PostgreSQL's names the referencing table and quotes the key
        raise exception using errcode = '23503',
            message = pg_catalog.format('record %s of %s cannot be deleted: other records point at it (%s)',
                                        delete_record.id, delete_record.slug, v_constraint);
    end;
    if v_deleted = 0 then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', delete_record.id, delete_record.slug);
    end if;
    -- the caller gets back only the cells they may read
    return docpal_private.cell_image(coalesce(v_read->'grants', '[]'), v_matched[v_n + 1:], v_result);
end
$$;
