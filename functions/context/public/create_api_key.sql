-- grant: docpal_service, docpal_app
create or replace function docpal.create_api_key(name text, user_id uuid, scopes text[], spec jsonb default '{}')
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* A key acting as user_id (a member of the company in context) within
   scopes: {id, key}. The key ("dpk_" + 43 URL-safe characters, 256 random
   bits) is returned this once; only its SHA-256 is stored. spec:
   expires_at (future), rate_limit_per_minute (whole number >= 1).
   A member creates keys for itself only: a key is the user's signature, and
   an owner or admin who could mint one for another member could act as that
   member (approve a workflow step twice, as two approvers). Platform admins
   (docpal_service, superusers), who may set any member's context anyway,
   create one for any member. A context from an API key creates keys with at
   most its own scopes. 42501 for another user, 23503 not a member, 22023 bad
   name, scopes or spec. */
declare
    v_ctx record;
    v_key text;
    v_id uuid;
    v_expires timestamptz;
    v_limit integer;
    v_scopes text[];
begin
    perform docpal_private.check_spec_size(create_api_key.spec, 'create_api_key');
    select * into v_ctx from docpal_private.require_company();
    if create_api_key.user_id is distinct from v_ctx.user_id and not docpal_private.caller_is_platform_admin() then
        raise exception using errcode = '42501',
            message = 'a member creates API keys for itself only';
    end if;
    if not exists (select from docpal_private.memberships m
                    where m.company_id = v_ctx.company_id and m.user_id = create_api_key.user_id) then
        raise exception using errcode = '23503',
            message = pg_catalog.format('user %s is not a member of the company', coalesce(create_api_key.user_id::text, 'null'));
    end if;
    if create_api_key.name is null or pg_catalog.btrim(create_api_key.name) = '' or pg_catalog.length(create_api_key.name) > 200 then
        raise exception using errcode = '22023', message = 'an API key needs a name (up to 200 characters)';
    end if;
    if create_api_key.scopes is null or pg_catalog.cardinality(create_api_key.scopes) = 0
       or not (create_api_key.scopes <@ array['read', 'create', 'update', 'delete']) then
        raise exception using errcode = '22023', message = 'scopes are one or more of read, create, update, delete';
    end if;
    if v_ctx.scopes is not null and not (create_api_key.scopes <@ v_ctx.scopes) then
        raise exception using errcode = '42501',
            message = 'an API key cannot create a key with scopes it does not have';
    end if;
    perform docpal_private.check_keys(coalesce(create_api_key.spec, '{}'),
        'an API key spec takes only expires_at and rate_limit_per_minute', array['expires_at', 'rate_limit_per_minute'],
        'an API key spec takes only expires_at and rate_limit_per_minute');
    begin
        v_expires := create_api_key.spec->>'expires_at';
    exception when data_exception then
        raise exception using errcode = '22023', message = 'expires_at must be a timestamp';
    end;
    if v_expires <= pg_catalog.now() then
        raise exception using errcode = '22023', message = 'expires_at must be in the future';
    end if;
    if create_api_key.spec ? 'rate_limit_per_minute' and create_api_key.spec->'rate_limit_per_minute' <> 'null' then
        if not docpal_private.whole_number(create_api_key.spec->'rate_limit_per_minute', 1, 1000000) then
            raise exception using errcode = '22023', message = 'rate_limit_per_minute is a whole number of at least 1';
        end if;
        v_limit := (create_api_key.spec->>'rate_limit_per_minute')::integer;
    end if;
    v_key := 'dpk_' || pg_catalog.rtrim(pg_catalog.translate(pg_catalog.encode(docpal_private.random_bytes(32), 'base64'),
                                                            '+/', '-_'), '=');
    -- computed first: no subquery in an INSERT into a global table (contract section 10, rule 10)
    v_scopes := array(select distinct s from pg_catalog.unnest(create_api_key.scopes) s order by s);
    insert into docpal_private.api_keys (company_id, user_id, name, scopes, key_hash, expires_at, rate_limit_per_minute, created_by)
    values (v_ctx.company_id, create_api_key.user_id, create_api_key.name, v_scopes,
            pg_catalog.sha256(pg_catalog.convert_to(v_key, 'UTF8')), v_expires, v_limit, v_ctx.user_id)
    returning id into v_id;
    -- authenticate only ever updates this row (see touch_api_key)
    insert into docpal_private.api_key_use (key_id) values (v_id);
    return pg_catalog.jsonb_build_object('id', v_id, 'key', v_key);
end
$$;
