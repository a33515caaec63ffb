create or replace function docpal_private.session_tag()
    returns text
    language sql stable
as $$
/* This backend's pid and start time: a signed context names the session it
   was issued to, so it is worthless in any other (even one that later gets
   the same pid). The start is numeric text, which no session setting
   changes (float text follows extra_float_digits).
   docpal_session.backend_start(): docpal_owner may not read a login's
   backend_start itself (sql/install/prepare.sql). SQL without SET, every
   name schema-qualified: the planner inlines it into the expressions that
   sign and check a context (context_sign, context_valid), so a fresh
   connection compiles no function for it. */
select pg_catalog.pg_backend_pid()::pg_catalog.text operator(pg_catalog.||) '|'
       operator(pg_catalog.||) pg_catalog.extract('epoch', docpal_session.backend_start())::pg_catalog.text
$$;
