-- grant: docpal_service, docpal_app
create or replace function docpal.drop_report(slug text)
    returns void
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Drops report `slug` of the company in context, with its snapshots and
   its schedule. Owners and admins (not through a narrowed API key) and the
   user who saved it; 42501 for anyone else and without a context, P0002
   for an unknown report. */
declare
    v_ctx docpal_private.caller;
    v_report jsonb;
    v_dropped text;
begin
    select * into v_ctx from docpal_private.require_company();
    v_report := docpal_private.report_get(v_ctx.schema_name, drop_report.slug);  -- P0002
    execute pg_catalog.format('delete from %I._reports r where r.slug = $1 and (r.saved_by = $2 or $3) returning r.slug',
                              v_ctx.schema_name)
       into v_dropped
      using drop_report.slug, v_ctx.user_id,
            v_ctx.member_role in ('owner', 'admin')
            and (v_ctx.scopes is null or v_ctx.scopes @> array['read', 'create', 'update', 'delete']);
    if v_dropped is null then
        raise exception using errcode = '42501',
            message = pg_catalog.format('report %s was saved by another user: only its saver, owners and admins may drop it',
                                        pg_catalog.to_json(drop_report.slug));
    end if;
    delete from docpal_private.report_schedule s where s.company_id = v_ctx.company_id and s.report = drop_report.slug;
end
$$;
