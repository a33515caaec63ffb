-- Functions in the docpal schemas that no template defines any more are left
-- over from an older version, and go. Function names are unique in these
-- schemas, so the names the templates define are the whole list; and every
-- one of them was just (re)created by this transaction, so a function of a
-- template's name that this transaction did not write is an old overload
-- (its arguments changed). (No CASCADE: a stale function something still
-- depends on makes the install fail loudly.)
do $$
declare
    v_proc record;
begin
    for v_proc in
        select p.oid::regprocedure as signature, p.prokind
          from pg_catalog.pg_proc p
         where p.pronamespace in ('docpal'::regnamespace, 'docpal_private'::regnamespace)
           -- written before this transaction began: older than its xid (each
           -- function is written in a subtransaction, whose xid is younger)
           and (p.proname <> all (array[{{ names }}]::text[])
                or pg_catalog.age(p.xmin) > pg_catalog.age(pg_catalog.pg_current_xact_id()::xid))
           and not exists (select from pg_catalog.pg_depend d
                            where d.classid = 'pg_catalog.pg_proc'::regclass
                              and d.objid = p.oid and d.deptype = 'e')
    loop
        execute pg_catalog.format('drop %s %s',
            case v_proc.prokind when 'p' then 'procedure' else 'function' end, v_proc.signature);
    end loop;
end
$$;
