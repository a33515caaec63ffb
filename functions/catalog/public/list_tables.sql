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
    v_slugs text[];
begin
    select * into v_ctx from docpal_private.require_company();
    -- the slugs first, then each description: a function that reads the
    -- company's tables may not run inside a query Citus sends to a worker
    execute pg_catalog.format('select pg_catalog.array_agg(c.slug order by c.slug) from %I._catalog c where c.kind = ''table''',
                              v_ctx.schema_name)
       into v_slugs;
    select coalesce(pg_catalog.jsonb_agg(d.description order by d.slug), '[]') into v_result
      from (select s.slug, docpal_private.member_description(v_ctx, s.slug) as description
              from pg_catalog.unnest(v_slugs) s(slug)) d
     where d.description is not null;
    return v_result;
end
$$;
