-- grant: docpal_service, docpal_app
create or replace function docpal.get_record(slug text, id uuid)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The record, or null when there is none (or it is outside the caller's
   read filter), without the columns the caller may not read. 42P01 for an
   unknown table, 42501 without read permission. */
declare
    v_ctx record;
    v_spec jsonb;
    v_result jsonb;
    v_perm jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, get_record.slug);
    v_perm := docpal_private.require_permission(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role, v_ctx.scopes,
                                                get_record.slug, 'read');
    if docpal_private.row_hidden(v_ctx.schema_name, v_spec, v_perm, get_record.id) then
        return null;  -- outside the row filter: invisible
    end if;
    execute pg_catalog.format('select %s from %I.%I _t where _t.id = $1',
                              docpal_private.record_sql(v_ctx.schema_name, v_spec, '_t'), v_ctx.schema_name, get_record.slug)
       into v_result using get_record.id;
    return v_result - docpal_private.unreadable_columns(v_spec, v_perm);
end
$$;
