-- Every object in docpal's schemas (docpal, docpal_private, docpal_ext and
-- each company schema) is handed to docpal_owner, so that every SECURITY
-- DEFINER function runs as that role and not as whoever migrated. Runs last
-- in the code transaction, as the migrating role: it takes over what the
-- migrations and this transaction created, and, on the first migrate of an
-- older install, everything the superuser that installed it owned.
-- Driven from the catalogs, schema by schema (REASSIGN OWNED would also move
-- the migrating role's objects that are not docpal's). Only objects whose
-- owner differs are altered, so a second run changes nothing. Objects that
-- belong to an extension stay the extension's; docpal_owner is granted what
-- it calls of them instead.
--
-- Flat in the number of companies (issue 19): the objects of a schema are
-- found through their dependency on it (pg_depend's index), never by a scan
-- of pg_class, pg_proc or pg_type; and the company schemas are visited only
-- when something may have left an object there that is not docpal_owner's:
-- the first migrate of this docpal version (meta key hand_over), a run that
-- handed over anything in docpal's own schemas (migrations or this
-- transaction ran as another role), or a company schema that is not
-- docpal_owner's. Everything docpal creates in a company schema otherwise
-- runs as docpal_owner (create_company, tenant modules and upgrades).
do $$
declare
    v_owner oid := 'docpal_owner'::regrole;
    v_schemas oid[];
    v_object record;
    v_member record;
    v_pass integer;
    v_changed integer := 0;
    v_version text := (select m.value from docpal_private.meta m where m.key = 'version');
begin
  for v_pass in 1 .. 2 loop
    if v_pass = 1 then
        select pg_catalog.array_agg(n.oid) into v_schemas
          from pg_catalog.pg_namespace n
         where n.nspname in ('docpal', 'docpal_private', 'docpal_ext');
    else
        exit when v_changed = 0
              and (select m.value from docpal_private.meta m where m.key = 'hand_over') = coalesce(v_version, '')
              and not exists (select from docpal_private.companies c
                                join pg_catalog.pg_namespace n on n.nspname = c.schema_name
                               where n.nspowner <> v_owner);
        select pg_catalog.array_agg(n.oid) into v_schemas
          from docpal_private.companies c
          join pg_catalog.pg_namespace n on n.nspname = c.schema_name;
        exit when v_schemas is null;
    end if;

    for v_object in
        select n.nspname from pg_catalog.pg_namespace n
          join pg_catalog.unnest(v_schemas) s (oid) on s.oid = n.oid
         where n.nspowner <> v_owner
    loop
        execute pg_catalog.format('alter schema %I owner to docpal_owner', v_object.nspname);
        v_changed := v_changed + 1;
    end loop;

    -- tables, partitions, views, sequences, composite types; indexes, TOAST
    -- tables and the sequences of serial and identity columns follow their
    -- table (and may not be altered on their own)
    for v_object in
        select c.oid::regclass as name, c.relkind
          from pg_catalog.unnest(v_schemas) s (oid)
          join pg_catalog.pg_depend dn on dn.refclassid = 'pg_catalog.pg_namespace'::regclass and dn.refobjid = s.oid
                                      and dn.classid in ('pg_catalog.pg_class'::regclass, 'pg_catalog.pg_type'::regclass)
          -- a composite type's relation depends on its type, which depends on the schema
          left join pg_catalog.pg_type t on dn.classid = 'pg_catalog.pg_type'::regclass and t.oid = dn.objid
          join pg_catalog.pg_class c
            on c.oid = case when dn.classid = 'pg_catalog.pg_class'::regclass then dn.objid else t.typrelid end
         where c.relowner <> v_owner
           and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S', 'c')
           and not exists (select from pg_catalog.pg_depend d
                            where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid
                              and (d.deptype = 'e'
                                   or (c.relkind = 'S' and d.deptype in ('a', 'i')
                                       and d.refclassid = 'pg_catalog.pg_class'::regclass)))
         order by c.relkind <> 'p', c.oid  -- partitioned parents first
    loop
        -- a partition or sequence may have followed a parent altered before it
        continue when (select c.relowner from pg_catalog.pg_class c where c.oid = v_object.name) = v_owner;
        execute pg_catalog.format('alter %s %s owner to docpal_owner',
            case v_object.relkind when 'v' then 'view' when 'm' then 'materialized view'
                                  when 'f' then 'foreign table' when 'S' then 'sequence'
                                  when 'c' then 'type' else 'table' end,
            v_object.name);
        v_changed := v_changed + 1;
    end loop;

    for v_object in
        select p.oid::regprocedure as name
          from pg_catalog.unnest(v_schemas) s (oid)
          join pg_catalog.pg_depend dn on dn.refclassid = 'pg_catalog.pg_namespace'::regclass and dn.refobjid = s.oid
                                      and dn.classid = 'pg_catalog.pg_proc'::regclass
          join pg_catalog.pg_proc p on p.oid = dn.objid
         where p.proowner <> v_owner
           and not exists (select from pg_catalog.pg_depend d
                            where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid
                              and d.deptype = 'e')
    loop
        execute pg_catalog.format('alter routine %s owner to docpal_owner', v_object.name);
        v_changed := v_changed + 1;
    end loop;

    -- domains, enums and ranges (array and multirange types follow theirs)
    for v_object in
        select t.oid::regtype as name
          from pg_catalog.unnest(v_schemas) s (oid)
          join pg_catalog.pg_depend dn on dn.refclassid = 'pg_catalog.pg_namespace'::regclass and dn.refobjid = s.oid
                                      and dn.classid = 'pg_catalog.pg_type'::regclass
          join pg_catalog.pg_type t on t.oid = dn.objid
         where t.typowner <> v_owner
           and t.typtype in ('d', 'e', 'r')
           and not exists (select from pg_catalog.pg_depend d
                            where d.classid = 'pg_catalog.pg_type'::regclass and d.objid = t.oid
                              and d.deptype = 'e')
    loop
        execute pg_catalog.format('alter type %s owner to docpal_owner', v_object.name);
        v_changed := v_changed + 1;
    end loop;
  end loop;
  insert into docpal_private.meta (key, value) values ('hand_over', coalesce(v_version, ''))
  on conflict (key) do update set value = excluded.value
   where docpal_private.meta.value is distinct from excluded.value;

    -- pgcrypto's functions stay the extension's (they are owned by whoever
    -- created it, and the grants above revoked them from PUBLIC): docpal_owner
    -- gets USAGE on pgcrypto's schema and EXECUTE on its functions.
    for v_object in
        select n.nspname, e.oid as extension
          from pg_catalog.pg_extension e
          join pg_catalog.pg_namespace n on n.oid = e.extnamespace
         where e.extname = 'pgcrypto'
    loop
        if not pg_catalog.has_schema_privilege(v_owner, v_object.nspname, 'USAGE') then
            execute pg_catalog.format('grant usage on schema %I to docpal_owner', v_object.nspname);
        end if;
        for v_member in
            select p.oid::regprocedure as name
              from pg_catalog.pg_depend d
              join pg_catalog.pg_proc p on p.oid = d.objid
             where d.classid = 'pg_catalog.pg_proc'::regclass
               and d.refclassid = 'pg_catalog.pg_extension'::regclass
               and d.refobjid = v_object.extension and d.deptype = 'e'
               and not pg_catalog.has_function_privilege(v_owner, p.oid, 'EXECUTE')
        loop
            execute pg_catalog.format('grant execute on function %s to docpal_owner', v_member.name);
        end loop;
    end loop;
end
$$;
