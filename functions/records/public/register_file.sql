-- grant: docpal_service, docpal_app
create or replace function docpal.register_file(spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Registers a stored file's metadata for file columns; returns {id, name,
   size, mime, sha256, storage_key}. Registering is writing: owners and
   admins may, a member only with create or update permission (and an API
   key with that scope) on at least one table that has a file column
   (42501 otherwise). The same content (sha256) in the company returns the
   file already registered, but its storage_key (where its bytes are) only
   to owners, admins and the user who registered it: null for anyone else.
   22023 for a bad spec; 53400 when new content would pass the company's
   max_file_bytes quota. */
declare
    v_file_tables text[];
    v_ctx docpal_private.caller;
    v_result jsonb;
    v_allowed boolean;
    v_new boolean;
begin
    perform docpal_private.check_spec_size(register_file.spec, 'register_file');
    select * into v_ctx from docpal_private.require_company();
    -- who may: owners and admins (a key with the create or update scope), members with create or
    -- update on some table with a file column
    v_allowed := v_ctx.member_role in ('owner', 'admin')
                 and (v_ctx.scopes is null or v_ctx.scopes && array['create', 'update']);
    if not v_allowed then
        -- the tables with a file column first, then the grants: permission()
        -- reads company tables, which it may not do inside a query Citus
        -- sends to a worker
        execute pg_catalog.format(
            'select pg_catalog.array_agg(c.slug) from %I._catalog c
              where c.kind = ''table'' and c.spec->''columns'' @> ''[{"type": "file"}]''', v_ctx.schema_name)
           into v_file_tables;
        select exists (select from pg_catalog.unnest(v_file_tables) t(slug),
                                   pg_catalog.unnest(array['create', 'update']) a(action)
                        where docpal_private.permission(v_ctx, t.slug, a.action) is not null)
          into v_allowed;
    end if;
    if not v_allowed then
        raise exception using errcode = '42501',
            message = 'permission denied: registering a file needs create or update on a table with a file column';
    end if;
    perform docpal_private.check_keys(spec, 'a file spec must be a JSON object',
                                      array['name', 'size', 'mime', 'sha256', 'storage_key'], 'unknown key %L in file spec');
    if pg_catalog.jsonb_typeof(spec->'name') is distinct from 'string' or pg_catalog.btrim(spec->>'name') = ''
       or pg_catalog.jsonb_typeof(spec->'mime') is distinct from 'string' or spec->>'mime' !~ '^[a-zA-Z0-9.+-]+/[a-zA-Z0-9.+-]+'
       or pg_catalog.jsonb_typeof(spec->'storage_key') is distinct from 'string' or spec->>'storage_key' = ''
       or pg_catalog.jsonb_typeof(spec->'sha256') is distinct from 'string' or pg_catalog.lower(spec->>'sha256') !~ '^[0-9a-f]{64}$'
       or not docpal_private.whole_number(spec->'size', 0) then
        raise exception using errcode = '22023',
            message = 'a file spec is {name, size (bytes), mime (type/subtype), sha256 (64 hex digits), storage_key}';
    end if;
    -- only new content counts against max_file_bytes (53400): the same sha256 returns the file registered
    execute pg_catalog.format('select not exists (select from %I._files f where f.sha256 = $1)', v_ctx.schema_name)
       into v_new using pg_catalog.lower(spec->>'sha256');
    if v_new then
        perform docpal_private.quota_check(v_ctx.schema_name, p_file_bytes => (spec->>'size')::bigint);
    end if;
    execute pg_catalog.format(
        'with ins as (
             insert into %1$I._files (name, size, mime, sha256, storage_key, created_by)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (sha256) do nothing
             returning id, name, size, mime, sha256, storage_key)
         select pg_catalog.to_jsonb(f) from (
             select * from ins
             union all
             -- another registration of the same content: where its bytes are only to its registrant (or $7, an owner or admin)
             select f.id, f.name, f.size, f.mime, f.sha256,
                    case when $7 or f.created_by is not distinct from $6 then f.storage_key end
               from %1$I._files f
              where f.sha256 = $4 and not exists (select from ins)) f', v_ctx.schema_name)
       into v_result
      using spec->>'name', (spec->>'size')::bigint, spec->>'mime', pg_catalog.lower(spec->>'sha256'),
            spec->>'storage_key', v_ctx.user_id, v_ctx.member_role in ('owner', 'admin');
    return v_result;
end
$$;
