create or replace function docpal_private.record_auth_failure(p_key uuid, p_company uuid, p_reason text, p_fingerprint text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Records a failed authentication in the server log (RAISE LOG: written
   whatever the session's client_min_messages, and not rolled back with the
   28000/53400 error raised next), without opening a connection or writing a
   table: a stream of bad keys costs no more than the attempts themselves.
   The key is never logged: its id when known, else a fingerprint (the first
   16 hex digits of the SHA-256 of what was presented) so that repeated
   attempts with one string can be told apart. */
begin
    raise log 'docpal: failed authentication: reason %, key id %, key fingerprint %, company %, role %, client %',
        p_reason, coalesce(p_key::text, '-'), coalesce(p_fingerprint, '-'), coalesce(p_company::text, '-'),
        session_user, coalesce(pg_catalog.host(pg_catalog.inet_client_addr()), 'local');
end
$$;
