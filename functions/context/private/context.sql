create or replace function docpal_private.context(out company_id uuid, out user_id uuid, out scopes text[])
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The company and user of the verified context, or two nulls without one.
   A value that was not signed by set_context/authenticate in this very
   session (forged, tampered with, or copied from another session) is 42501,
   and so is one made from an API key that has since been revoked or has
   expired (checked on every use: a session-long context or a saved value
   must not outlive its key). */
declare
    v_token text := pg_catalog.current_setting('docpal.context', true);
    v_parts text[];
begin
    if v_token is null or v_token = '' then
        return;
    end if;
    -- verified as signed before it is parsed (docpal_private.context_valid:
    -- a signed value's uuid fields are canonical, so the casts below cannot fail)
    if (select docpal_private.context_valid(v_token, s.value)
          from docpal_private.secrets s where s.name = 'context_hmac_pads') is not true then
        raise exception using
            errcode = '42501',
            message = 'the docpal context is not valid in this session',
            hint = 'A context is set only by docpal.set_context or docpal.authenticate.';
    end if;
    v_parts := pg_catalog.string_to_array(v_token, '|');
    if v_parts[4] <> '' and not docpal_private.context_key_is_live(nullif(v_parts[4], '')::uuid) then  -- set_context's: no key
        raise exception using
            errcode = '42501',
            message = 'the API key of this docpal context has been revoked or has expired',
            hint = 'Authenticate again with a valid key.';
    end if;
    company_id := v_parts[1]::uuid;
    user_id := v_parts[2]::uuid;
    scopes := pg_catalog.string_to_array(nullif(v_parts[3], ''), ',');
end
$$;
