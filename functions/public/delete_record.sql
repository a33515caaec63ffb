-- grant: docpal_service, docpal_app
create or replace function docpal.delete_record(slug text, id uuid)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Deletes the record and returns it as it was. P0002 when there is none;
   23503 while a relation with on_delete restrict points at it. */
declare
    v_ctx record;
    v_spec jsonb;
    v_result jsonb;
    v_perm jsonb;
    v_state text;
    v_message text;
    v_detail text;
    v_constraint text;
begin
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, delete_record.slug);
    v_perm := docpal_private.require_permission(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role, v_ctx.scopes,
                                                delete_record.slug, 'delete');
    if docpal_private.row_hidden(v_ctx.schema_name, v_spec, v_perm, delete_record.id) then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', delete_record.id, delete_record.slug);
    end if;
    begin
        -- RETURNING sees the links: the junction rows go only at the end of the statement
        execute pg_catalog.format('delete from %I.%I _t where _t.id = $1 returning %s', v_ctx.schema_name, delete_record.slug,
                                  docpal_private.record_sql(v_ctx.schema_name, v_spec, '_t'))
           into v_result using delete_record.id;
    exception when foreign_key_violation then
        get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail,
                                v_constraint = constraint_name;
        raise exception using errcode = '23503',
            message = pg_catalog.format('record %s of %s cannot be deleted: other records point at it (%s)',
                                        delete_record.id, delete_record.slug, v_constraint),
            detail = v_detail;
    end;
    if v_result is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', delete_record.id, delete_record.slug);
    end if;
    -- the caller gets back only what they may read
    return v_result - docpal_private.hidden_columns(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role, v_ctx.scopes, v_spec);
end
$$;
