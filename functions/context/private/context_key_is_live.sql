create or replace function docpal_private.context_key_is_live(p_key uuid)
    returns boolean
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether the API key a context was made from may still be used: not
   revoked, not expired. True for a context without a key (set_context). One
   primary-key probe, made on every use of the context, so that revoking a
   key or its expiry ends every session and saved context made from it at
   the next call, not at the next authenticate. */
begin
    if p_key is null then
        return true;
    end if;
    return exists (select from docpal_private.api_keys k
                    where k.id = p_key and k.revoked_at is null
                      and (k.expires_at is null or k.expires_at > pg_catalog.now()));
end
$$;
