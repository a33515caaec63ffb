create or replace function docpal_private.context_user()
    returns uuid
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The user of a valid context, else null (never raises): for triggers, which
   must not fail a DBA's plain SQL because of a stale setting. Checks the
   signature itself rather than catching context()'s error: an exception
   block is a subtransaction, and the BEFORE UPDATE trigger calls this for
   every row a statement changes. A context whose API key has been revoked or
   has expired names no user either (one primary-key probe). Without a
   context it costs one setting lookup. */
declare
    v_token text := pg_catalog.current_setting('docpal.context', true);
    v_parts text[];
begin
    if v_token is null or v_token = '' then
        return null;
    end if;
    -- verified as signed before it is parsed, as docpal_private.context does
    if (select docpal_private.context_valid(v_token, s.value)
          from docpal_private.secrets s where s.name = 'context_hmac_pads') is not true then
        return null;
    end if;
    v_parts := pg_catalog.string_to_array(v_token, '|');
    if v_parts[4] <> '' and not docpal_private.context_key_is_live(nullif(v_parts[4], '')::uuid) then
        return null;
    end if;
    return v_parts[2]::uuid;
end
$$;
