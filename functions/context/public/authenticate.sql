-- grant: docpal_service, docpal_app
create or replace function docpal.authenticate(key text, is_local boolean default true)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Checks an API key and sets the context as set_context does, carrying the
   key's scopes and id (signed with it, so that every later use checks the key
   is still live): {company_id, user_id, scopes}. To the end of the
   transaction by default (safe behind a transaction pooler), with
   is_local => false for the session. 28000 for a malformed, unknown, revoked
   or expired key, a user no longer a member or a company not active; 53400
   past the key's rate limit (requests in the current minute).
   On the hot path this is a read: no row lock on the key, rate-limit counts
   in an unlogged table, last_used_at at most once a minute. A failure goes
   to the server log (record_auth_failure), never to the client with the key
   in it. */
declare
    v_key record;
    v_hash bytea;
    v_reason text;
begin
    if authenticate.key is not null then
        v_hash := pg_catalog.sha256(pg_catalog.convert_to(authenticate.key, 'UTF8'));
    end if;
    if authenticate.key is null or authenticate.key !~ '^dpk_[A-Za-z0-9_-]{43}$' then
        v_reason := 'malformed key';
    end if;
    -- a malformed key looks nothing up, and v_key (a record) still gets its fields, null
    select * into v_key from docpal_private.api_keys k where k.key_hash = v_hash and v_reason is null;
    if v_reason is null then
        if v_key.id is null then
            v_reason := 'unknown key';
        elsif v_key.revoked_at is not null then
            v_reason := 'revoked key';
        elsif v_key.expires_at <= pg_catalog.now() then
            v_reason := 'expired key';
        elsif not exists (select from docpal_private.memberships m
                           where m.company_id = v_key.company_id and m.user_id = v_key.user_id) then
            v_reason := 'user is no longer a member';
        elsif not exists (select from docpal_private.companies c where c.id = v_key.company_id and c.status = 'active') then
            v_reason := 'company is not active';
        end if;
    end if;
    if v_reason is not null then
        perform docpal_private.record_auth_failure(v_key.id, v_key.company_id, v_reason,
                                                   pg_catalog.left(pg_catalog.encode(v_hash, 'hex'), 16));
        raise exception using errcode = '28000', message = pg_catalog.format('API key refused: %s', v_reason);
    end if;
    if v_key.rate_limit_per_minute is not null
       and docpal_private.count_key_request(v_key.id) > v_key.rate_limit_per_minute then
        perform docpal_private.record_auth_failure(v_key.id, v_key.company_id, 'rate limit', null);
        raise exception using errcode = '53400',
            message = pg_catalog.format('API key %s: more than %s requests this minute', v_key.id, v_key.rate_limit_per_minute);
    end if;
    perform docpal_private.touch_api_key(v_key.id);
    perform pg_catalog.set_config('docpal.context',
                                  docpal_private.context_token(v_key.company_id, v_key.user_id,
                                                               pg_catalog.array_to_string(v_key.scopes, ','), v_key.id),
                                  coalesce(authenticate.is_local, true));
    return pg_catalog.jsonb_build_object('company_id', v_key.company_id, 'user_id', v_key.user_id,
                                         'scopes', pg_catalog.to_jsonb(v_key.scopes));
end
$$;
