-- grant: docpal_service, docpal_app
create or replace function docpal.list_tables()
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Every table of the company in context, as describe_table shapes them, by
   slug; a member sees only the tables it may read, with only the columns it
   may read (docpal_private.member_description). */
declare
    v_ctx docpal_private.caller;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_agg(d.description order by d.slug), ''[]'')
           from (select c.slug, docpal_private.member_description($1, c.slug) as description
                   from %I._catalog c where c.kind = ''table'') d
          where d.description is not null', v_ctx.schema_name)
       into v_result using v_ctx;
    return v_result;
end
$$;
