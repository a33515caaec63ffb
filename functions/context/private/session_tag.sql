create or replace function docpal_private.session_tag()
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* This backend's pid and start time: a signed context names the session it
   was issued to, so it is worthless in any other (even one that later gets
   the same pid). The start is numeric text, which no session setting
   changes (float text follows extra_float_digits). (PL/pgSQL, like the other helpers on the hot path: its plan
   is kept for the session, where a SQL function with SET is re-planned on
   every call.) */
begin
    -- docpal_session.backend_start(): docpal_owner may not read a login's
    -- backend_start itself (sql/install/prepare.sql)
    return pg_catalog.pg_backend_pid()::text || '|'
           || pg_catalog.extract('epoch', docpal_session.backend_start())::text;
end
$$;
