-- grant: docpal_service, docpal_app
create or replace function docpal.describe_table(slug text)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {slug, name, description, columns: [{name, type, data_type, ...rules}],
   created_at, updated_at}; 42P01 for an unknown slug. */
declare
    v_ctx record;
begin
    select * into v_ctx from docpal_private.require_company();
    return docpal_private.describe_table(v_ctx.schema_name, describe_table.slug);
end
$$;
