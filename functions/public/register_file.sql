-- grant: docpal_service, docpal_app
create or replace function docpal.register_file(spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Registers a stored file's metadata for file columns; returns {id, name,
   size, mime, sha256, storage_key}. The same content (sha256) in the company
   returns the file already registered. 22023 for a bad spec. */
declare
    v_ctx record;
    v_key text;
    v_result jsonb;
begin
    select * into v_ctx from docpal_private.require_company();
    if spec is null or pg_catalog.jsonb_typeof(spec) <> 'object' then
        raise exception using errcode = '22023', message = 'a file spec must be a JSON object';
    end if;
    for v_key in select k from pg_catalog.jsonb_object_keys(spec) k loop
        if v_key not in ('name', 'size', 'mime', 'sha256', 'storage_key') then
            raise exception using errcode = '22023', message = pg_catalog.format('unknown key %L in file spec', v_key);
        end if;
    end loop;
    if pg_catalog.jsonb_typeof(spec->'name') is distinct from 'string' or pg_catalog.btrim(spec->>'name') = ''
       or pg_catalog.jsonb_typeof(spec->'mime') is distinct from 'string' or spec->>'mime' !~ '^[a-zA-Z0-9.+-]+/[a-zA-Z0-9.+-]+'
       or pg_catalog.jsonb_typeof(spec->'storage_key') is distinct from 'string' or spec->>'storage_key' = ''
       or pg_catalog.jsonb_typeof(spec->'sha256') is distinct from 'string' or pg_catalog.lower(spec->>'sha256') !~ '^[0-9a-f]{64}$'
       or pg_catalog.jsonb_typeof(spec->'size') is distinct from 'number' or (spec->>'size')::numeric < 0
       or (spec->>'size')::numeric <> pg_catalog.trunc((spec->>'size')::numeric) then
        raise exception using errcode = '22023',
            message = 'a file spec is {name, size (bytes), mime (type/subtype), sha256 (64 hex digits), storage_key}';
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
             select f.id, f.name, f.size, f.mime, f.sha256, f.storage_key from %1$I._files f
              where f.sha256 = $4 and not exists (select from ins)) f', v_ctx.schema_name)
       into v_result
      using spec->>'name', (spec->>'size')::bigint, spec->>'mime', pg_catalog.lower(spec->>'sha256'),
            spec->>'storage_key', v_ctx.user_id;
    return v_result;
end
$$;
