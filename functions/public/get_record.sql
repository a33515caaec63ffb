-- grant: docpal_service, docpal_app
create or replace function docpal.get_record(slug text, id uuid)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* The record, or null when there is none. 42P01 for an unknown table. */
declare
    v_ctx record;
    v_spec jsonb;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, get_record.slug);
    execute pg_catalog.format('select %s from %I.%I _t where _t.id = $1',
                              docpal_private.record_sql(v_ctx.schema_name, v_spec, '_t'), v_ctx.schema_name, get_record.slug)
       into v_result using get_record.id;
    return v_result;
end
$$;
