-- grant: docpal_service, docpal_app
create or replace function docpal.authenticate(key text, is_local boolean default false)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Checks an API key and sets the context as set_context does, carrying the
   key's scopes (signed with it): {company_id, user_id, scopes}. 28000 for a
   malformed, unknown, revoked or expired key, a user no longer a member or
   a company not active; 53400 past the key's rate limit (requests in the
   current minute). Every attempt is recorded in auth_attempts; a failed one
   through docpal_private.record_auth_failure, which survives the error. */
declare
    v_key docpal_private.api_keys;
    v_reason text;
    v_requests integer;
    v_minute timestamptz := pg_catalog.date_trunc('minute', pg_catalog.clock_timestamp());
begin
    if authenticate.key is null or authenticate.key !~ '^dpk_[A-Za-z0-9_-]{43}$' then
        v_reason := 'malformed key';
    else
        select * into v_key from docpal_private.api_keys k
         where k.key_hash = pg_catalog.sha256(pg_catalog.convert_to(authenticate.key, 'UTF8'))
           for update;
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
        perform docpal_private.record_auth_failure(v_key.id, v_key.company_id, v_reason);
        raise exception using errcode = '28000', message = pg_catalog.format('API key refused: %s', v_reason);
    end if;
    if v_key.rate_limit_per_minute is not null then
        insert into docpal_private.api_key_usage as u (key_id, minute, requests) values (v_key.id, v_minute, 1)
        on conflict (key_id, minute) do update set requests = u.requests + 1
        returning u.requests into v_requests;
        if v_requests > v_key.rate_limit_per_minute then
            perform docpal_private.record_auth_failure(v_key.id, v_key.company_id, 'rate limit');
            raise exception using errcode = '53400',
                message = pg_catalog.format('API key %s: more than %s requests this minute', v_key.id, v_key.rate_limit_per_minute);
        end if;
        delete from docpal_private.api_key_usage u where u.key_id = v_key.id and u.minute < v_minute;
    end if;
    update docpal_private.api_keys k set last_used_at = pg_catalog.now() where k.id = v_key.id;
    insert into docpal_private.auth_attempts (key_id, company_id, ok, reason) values (v_key.id, v_key.company_id, true, 'ok');
    perform pg_catalog.set_config('docpal.context',
                                  docpal_private.context_token(v_key.company_id, v_key.user_id,
                                                               pg_catalog.array_to_string(v_key.scopes, ',')),
                                  coalesce(authenticate.is_local, false));
    return pg_catalog.jsonb_build_object('company_id', v_key.company_id, 'user_id', v_key.user_id,
                                         'scopes', pg_catalog.to_jsonb(v_key.scopes));
end
$$;
