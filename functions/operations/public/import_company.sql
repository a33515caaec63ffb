-- grant: docpal_service
create or replace function docpal.import_company(data jsonb, slug text)
    returns uuid
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* A new company with slug `slug` holding what the export `data` holds
   (docpal.export_company; docs/export-import.md): the same definitions,
   records and files with their ids, members matched to platform users by
   email (missing users are created), and with data.history the audit log,
   sealed so that verify_audit_chain() holds. All or nothing, in the
   caller's transaction. Platform admins only (42501). 22023 for a document
   that is not a docpal export or a bad slug, 23505 when the slug is taken,
   53400 past a quota; a record value that does not fit its column fails
   with PostgreSQL's code (22P02, 23514 ...) naming the table, a reference
   to a record or file the document does not hold with 23503. The document
   is not held to check_spec_size's 256 KB: an export is as large as the
   company, and only platform admins import (the streaming `docpal tenants
   import` sends it in pieces). Returns the new company's id. */
declare
    v_id uuid;
    v_context text := pg_catalog.current_setting('docpal.context', true);
    v_slug text;
begin
    if not docpal_private.caller_is_platform_admin() then
        raise exception using errcode = '42501', message = 'permission denied: only platform admins import companies';
    end if;
    v_id := docpal_private.import_begin(import_company.data, import_company.slug);
    if import_company.data->'files' is not null then
        perform docpal_private.import_part(v_id, pg_catalog.jsonb_build_object('files', import_company.data->'files'));
    end if;
    -- records table by table, in the document's order, then any others (refused: unknown tables)
    for v_slug in
        select r.key from pg_catalog.jsonb_each(coalesce(import_company.data->'records', '{}')) r
          left join pg_catalog.jsonb_array_elements(coalesce(import_company.data->'tables', '[]')) with ordinality t(spec, o)
                 on t.spec->>'slug' = r.key
         order by t.o nulls last, r.key
    loop
        perform docpal_private.import_part(v_id, pg_catalog.jsonb_build_object('records',
            pg_catalog.jsonb_build_object(v_slug, import_company.data->'records'->v_slug)));
    end loop;
    if import_company.data->'relations'->'tuples' is not null then
        perform docpal_private.import_part(v_id, pg_catalog.jsonb_build_object('relations',
            pg_catalog.jsonb_build_object('tuples', import_company.data->'relations'->'tuples')));
    end if;
    if import_company.data->'workflow_log' is not null then
        perform docpal_private.import_part(v_id, pg_catalog.jsonb_build_object('workflow_log', import_company.data->'workflow_log'));
    end if;
    if pg_catalog.jsonb_typeof(import_company.data->'history') = 'array' then
        perform docpal_private.import_part(v_id, pg_catalog.jsonb_build_object('history', import_company.data->'history'));
    end if;
    perform docpal_private.import_finish(v_id);
    -- the caller's own context again (import_begin acted as a member of the new company)
    perform pg_catalog.set_config('docpal.context', coalesce(v_context, ''), true);
    return v_id;
end
$$;
