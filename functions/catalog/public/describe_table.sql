-- grant: docpal_service, docpal_app
create or replace function docpal.describe_table(slug text)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* {slug, name, description, columns: [{name, type, data_type, ...rules}],
   created_at, updated_at}; 42P01 for an unknown slug. A member sees only
   the columns it may read, and a table it may not read is 42501
   (docpal_private.member_description). */
declare
    v_ctx docpal_private.caller;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    v_result := docpal_private.member_description(v_ctx, describe_table.slug);
    if v_result is null then
        raise exception using errcode = '42501',
            message = pg_catalog.format('permission denied: read on table %s', describe_table.slug);
    end if;
    return v_result;
end
$$;
