-- grant: docpal_service, docpal_app
create or replace function docpal.export_company(company uuid, spec jsonb default '{}')
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Everything a company holds, as one document (docs/export-import.md):
   {format, version, company, type_lists, tables, records, files, members,
   roles, grants, groups, workflows, workflow_log, event_rules, relations,
   blueprints, reports, dashboards}, plus history (the audit log) when spec.history is true.
   spec.part reads the export in pieces of flat size instead (what
   `docpal tenants export` streams): "definitions" (the document without
   records, files, tuples, workflow log and history), or a page of
   "records" (of spec.table), "files", "tuples", "workflow_log" or
   "history": the JSON array of at most spec.limit (1 to 10000, default
   1000) entries after the key spec.after (null: from the first). Platform
   admins may export any company (P0002 for an unknown id); an owner only
   the company in its context (an API key with every scope); anyone else,
   and any other company's id, is 42501 without saying whether it exists.
   22023 for a bad spec, 42P01 for an unknown spec.table, 54000 for an
   oversize spec. */
declare
    v_ctx docpal_private.caller;
    v_context uuid;
    v_schema text;
    v_part text := export_company.spec->>'part';
    v_limit integer := 1000;
    v_slug text;
    v_records jsonb := '{}';
    v_result jsonb;
begin
    perform docpal_private.check_spec_size(export_company.spec, 'export_company');
    if not docpal_private.caller_is_platform_admin() then
        select c.company_id into v_context from docpal_private.context() c;
        if v_context is null or v_context is distinct from export_company.company then
            raise exception using errcode = '42501',
                message = 'permission denied: a company is exported by a platform admin, or by an owner of the company in context';
        end if;
        select * into v_ctx from docpal_private.require_company();
        if v_ctx.member_role <> 'owner'
           or v_ctx.scopes is not null and not (v_ctx.scopes @> array['read', 'create', 'update', 'delete']) then
            raise exception using errcode = '42501',
                message = 'permission denied: a company is exported by a platform admin, or by an owner of the company in context';
        end if;
    end if;
    select c.schema_name into v_schema from docpal_private.companies c where c.id = export_company.company;
    if v_schema is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('company %s does not exist', coalesce(export_company.company::text, 'null'));
    end if;
    perform docpal_private.check_keys(coalesce(export_company.spec, '{}'), 'an export spec must be a JSON object',
        array['history', 'part', 'table', 'after', 'limit'], 'unknown export spec key %L',
        'An export spec has history, part, table, after and limit.');
    if export_company.spec ? 'history' and pg_catalog.jsonb_typeof(export_company.spec->'history') <> 'boolean' then
        raise exception using errcode = '22023', message = 'history must be true or false';
    end if;
    if export_company.spec ? 'limit' then
        if not docpal_private.whole_number(export_company.spec->'limit', 1, 10000) then
            raise exception using errcode = '22023', message = 'limit must be a whole number from 1 to 10000';
        end if;
        v_limit := (export_company.spec->>'limit')::integer;
    end if;
    if v_part is null then
        if export_company.spec ?| array['table', 'after', 'limit'] then
            raise exception using errcode = '22023', message = 'table, after and limit page a part: give part too';
        end if;
        v_result := docpal_private.export_definitions(export_company.company);
        foreach v_slug in array docpal_private.export_table_order(v_schema) loop
            v_records := v_records || pg_catalog.jsonb_build_object(v_slug,
                docpal_private.export_page(v_schema, 'records', v_slug, null, null));
        end loop;
        v_result := v_result || pg_catalog.jsonb_build_object(
            'records', v_records,
            'files', docpal_private.export_page(v_schema, 'files', null, null, null),
            'workflow_log', docpal_private.export_page(v_schema, 'workflow_log', null, null, null),
            'relations', v_result->'relations' || pg_catalog.jsonb_build_object(
                'tuples', docpal_private.export_page(v_schema, 'tuples', null, null, null)));
        if (export_company.spec->>'history')::boolean then
            v_result := v_result || pg_catalog.jsonb_build_object(
                'history', docpal_private.export_page(v_schema, 'history', null, null, null));
        end if;
        return v_result;
    end if;
    if pg_catalog.jsonb_typeof(export_company.spec->'part') <> 'string' then
        raise exception using errcode = '22023', message = 'part must be a string';
    end if;
    if v_part = 'definitions' then
        return docpal_private.export_definitions(export_company.company);
    end if;
    if v_part = 'records' and pg_catalog.jsonb_typeof(export_company.spec->'table') is distinct from 'string' then
        raise exception using errcode = '22023', message = 'a page of records names its table';
    elsif v_part <> 'records' and export_company.spec ? 'table' then
        raise exception using errcode = '22023', message = pg_catalog.format('part %s takes no table', v_part);
    end if;
    return docpal_private.export_page(v_schema, v_part, export_company.spec->>'table', export_company.spec->'after', v_limit);
end
$$;
