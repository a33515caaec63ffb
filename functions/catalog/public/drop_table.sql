-- grant: docpal_service, docpal_app
create or replace function docpal.drop_table(slug text)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Drops a table with its junction tables, catalog entry, workflows
   (with their log) and the snapshots of the reports that could show its
   data (docpal_private.report_forget_table). 2BP01 while a relation or relation_many column of
   another table targets it; 42P01 for an unknown slug. */
declare
    v_ctx record;
    v_spec jsonb;
    v_users text;
    v_junction text;
begin
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.ddl_begin();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, drop_table.slug);
    execute pg_catalog.format(
        'select pg_catalog.string_agg(c.slug || ''.'' || (col->>''name''), '', '' order by c.slug)
           from %I._catalog c, pg_catalog.jsonb_array_elements(c.spec->''columns'') col
          where c.kind = ''table'' and c.slug <> $1 and col->>''target'' = $1', v_ctx.schema_name)
       into v_users using drop_table.slug;
    if v_users is not null then
        raise exception using errcode = '2BP01',
            message = pg_catalog.format('table %L cannot be dropped: %s point at it', drop_table.slug, v_users),
            hint = 'Drop or change those relation columns first.';
    end if;
    for v_junction in
        select c->'objects'->>'junction' from pg_catalog.jsonb_array_elements(v_spec->'columns') c
         where c->>'type' = 'relation_many'
    loop
        execute pg_catalog.format('drop table if exists %I.%I', v_ctx.schema_name, v_junction);
    end loop;
    -- its rows out of the company's record count (quotas)
    perform docpal_private.quota_drop(v_ctx.schema_name, drop_table.slug);
    -- and out of the reports' stored results (while the catalog still links it)
    perform docpal_private.report_forget_table(v_ctx.schema_name, drop_table.slug);
    execute pg_catalog.format('drop table %I.%I', v_ctx.schema_name, drop_table.slug);
    -- its generated audit capture function (docpal_private.audit_triggers)
    execute pg_catalog.format('drop function if exists %I.%I()', v_ctx.schema_name, docpal_private.ident('_audit', drop_table.slug));
    execute pg_catalog.format('delete from %I._catalog c where c.kind = $1 and c.slug = $2', v_ctx.schema_name)
      using 'table', drop_table.slug;
    delete from docpal_private.table_specs s where s.company_id = v_ctx.company_id and s.slug = drop_table.slug;
    -- and its event rules
    execute pg_catalog.format('delete from %I._catalog c where c.kind = $1 and c.spec->>''table'' = $2', v_ctx.schema_name)
      using 'event_rule', drop_table.slug;
    perform docpal_private.workflow_drop_table(v_ctx.schema_name, v_spec);
end
$$;
