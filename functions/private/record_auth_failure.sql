create or replace function docpal_private.record_auth_failure(p_key uuid, p_company uuid, p_reason text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Records a failed authentication in auth_attempts in a transaction of its
   own (a dblink connection back to this database as the docpal owner), so
   that the 28000/53400 error raised next does not roll it back. Where that
   connection cannot be made (no dblink, or the server does not trust the
   owner's local connection), the attempt goes to the server log instead.
   A failure therefore costs a connection: brute force is slowed too. */
declare
    v_dblink text := (select n.nspname from pg_catalog.pg_extension e
                        join pg_catalog.pg_namespace n on n.oid = e.extnamespace where e.extname = 'dblink');
    v_insert text := pg_catalog.format(
        'insert into docpal_private.auth_attempts (key_id, company_id, ok, reason, db_role, client_addr)
         values (%L, %L, false, %L, %L, %L)',
        p_key, p_company, p_reason, session_user, pg_catalog.inet_client_addr());
    v_conninfo text := pg_catalog.format('dbname=%s port=%s user=%s host=%s',
        docpal_private.conninfo_value(pg_catalog.current_database()),
        docpal_private.conninfo_value(pg_catalog.current_setting('port')),
        docpal_private.conninfo_value(current_user),
        -- the first socket directory, else the address this session came in on
        docpal_private.conninfo_value(coalesce(
            nullif(pg_catalog.btrim(pg_catalog.split_part(pg_catalog.current_setting('unix_socket_directories'), ',', 1)), ''),
            pg_catalog.host(pg_catalog.inet_server_addr()), 'localhost')));
begin
    if v_dblink is not null then
        begin
            execute pg_catalog.format('select %I.dblink_exec($1, $2)', v_dblink) using v_conninfo, v_insert;
            return;
        exception when others then
            raise log 'docpal: could not record a failed authentication through dblink: %', sqlerrm;
        end;
    end if;
    raise log 'docpal: failed authentication: key %, company %, reason %, role %, client %',
        p_key, p_company, p_reason, session_user, pg_catalog.inet_client_addr();
end
$$;
