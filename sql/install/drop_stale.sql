-- Every function of this version was created or replaced by this transaction,
-- so its pg_proc row carries this transaction's xid; anything else in the
-- docpal schemas is left over from an older version and goes. (No CASCADE: a
-- stale function something still depends on makes the install fail loudly.)
do $$
declare
    v_proc record;
begin
    for v_proc in
        select p.oid::regprocedure as signature, p.prokind
          from pg_catalog.pg_proc p
         where p.pronamespace in ('docpal'::regnamespace, 'docpal_private'::regnamespace)
           and p.xmin <> pg_catalog.pg_current_xact_id()::xid
           and not exists (select from pg_catalog.pg_depend d
                            where d.classid = 'pg_catalog.pg_proc'::regclass
                              and d.objid = p.oid and d.deptype = 'e')
    loop
        execute pg_catalog.format('drop %s %s',
            case v_proc.prokind when 'p' then 'procedure' else 'function' end, v_proc.signature);
    end loop;
end
$$;
