create or replace function docpal_private.context_token(p_company uuid, p_user uuid, p_scopes text, p_key uuid)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A context value for this session: company|user|scopes|key|pid|backend
   start|hmac, signed with the secret only the docpal owner can read. scopes
   is empty for set_context (no narrowing) and the API key's actions joined
   by commas for authenticate; key is empty for set_context and the API key's
   id for authenticate, so that every use of the context can check that the
   key is still neither revoked nor expired (context_key_is_live). */
declare
    v_payload text := p_company::text || '|' || p_user::text || '|' || coalesce(p_scopes, '') || '|'
                      || coalesce(p_key::text, '') || '|' || docpal_private.session_tag();
begin
    -- session_tag and context_sign are SQL functions the planner inlines
    -- here (the payload a variable and the padded key a column: cheap
    -- arguments, inlined although each is used twice)
    return (select docpal_private.context_sign(v_payload, s.value)
              from docpal_private.secrets s where s.name = 'context_hmac_pads');
end
$$;
