create or replace function docpal_private.adopt_source(p_source regclass, out o_schema text, out o_table text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The schema and name of a table adopt_table may read, after every check on
   it, made before anything else reads it:
   - 22023 when it is not a plain or partitioned table (a view, a foreign
     table or a sequence: reading one runs code of its definition as
     docpal_owner);
   - 42501 when it lies in docpal's own schemas (docpal, docpal_private,
     docpal_ext, a company schema, any schema or table docpal_owner owns) or
     in the system's (pg_catalog, information_schema, pg_toast); the message
     does not name it (an oid may point at another company's table);
   - 42501 when it has row-level security enabled (its policies would run
     as docpal_owner);
   - 42501 unless docpal_owner (the function's owner, current_user here)
     may read it (USAGE on its schema, SELECT on it): the DBA grants that;
   - 42501 unless the caller's own database login (session_user: under
     SECURITY DEFINER current_user is docpal_owner) may read it as well, so
     that adopt_table never reads for a client what the client could not. */
declare
    v_kind "char";
    v_rls boolean;
    v_namespace oid;
    v_owner oid;
    v_schema_owner oid;
begin
    select n.nspname, c.relname, c.relkind, c.relrowsecurity, n.oid, c.relowner, n.nspowner
      into o_schema, o_table, v_kind, v_rls, v_namespace, v_owner, v_schema_owner
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.oid = p_source;
    if o_table is null then
        raise exception using errcode = '42P01', message = 'the source table does not exist';
    end if;
    if o_schema in ('docpal', 'docpal_private', 'docpal_ext', 'pg_catalog', 'information_schema', 'pg_toast')
       or o_schema ~ '^company_[0-9a-f]{32}$'
       or exists (select from docpal_private.companies c where c.schema_name = o_schema)
       or v_owner = (select r.oid from pg_catalog.pg_roles r where r.rolname = current_user)
       or v_schema_owner = (select r.oid from pg_catalog.pg_roles r where r.rolname = current_user) then
        raise exception using errcode = '42501',
            message = 'the source lies in docpal''s own or the system''s schemas; only tables outside docpal can be adopted';
    end if;
    if v_kind not in ('r', 'p') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%I.%I is not a table (only plain and partitioned tables can be adopted)',
                                        o_schema, o_table),
            hint = 'Copy a view''s rows into a table first (create table ... as select ...).';
    end if;
    if v_rls then
        raise exception using errcode = '42501',
            message = pg_catalog.format('%I.%I has row-level security; docpal does not adopt such tables', o_schema, o_table),
            hint = 'Copy the rows you mean to adopt into a plain table first.';
    end if;
    if not (pg_catalog.has_schema_privilege(current_user, v_namespace, 'USAGE')
            and pg_catalog.has_table_privilege(current_user, p_source, 'SELECT')) then
        raise exception using errcode = '42501',
            message = pg_catalog.format('docpal may not read %I.%I', o_schema, o_table),
            hint = pg_catalog.format('The DBA grants it: grant usage on schema %I to docpal_owner; grant select on %I.%I to docpal_owner;',
                                     o_schema, o_schema, o_table);
    end if;
    if not (pg_catalog.has_schema_privilege(session_user, v_namespace, 'USAGE')
            and pg_catalog.has_table_privilege(session_user, p_source, 'SELECT')) then
        raise exception using errcode = '42501',
            message = pg_catalog.format('permission denied: the database login %I may not read %I.%I itself',
                                        session_user, o_schema, o_table),
            hint = 'adopt_table reads only what the calling login could read: the DBA grants it SELECT on the table too.';
    end if;
end
$$;
