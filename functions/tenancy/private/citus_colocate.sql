create or replace function docpal_private.citus_colocate(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Distributes, co-located with the company, every table of a distributed
   company schema that is still a local table (contract section 10,
   rule 8). Citus makes a table of a distributed schema a tenant table only
   when its CREATE TABLE (or ALTER TABLE SET SCHEMA) is a top-level
   statement; docpal creates tables inside functions (create_table,
   junction tables, modules), and those stay on the coordinator. Each one
   becomes a single-shard table in the company's colocation group (that of
   its _catalog), which is what a tenant table is: it lives, and moves,
   with the company. In creation order, so a table comes after the tables
   its foreign keys name. Partitions are left to their parent (Citus
   distributes a new partition of a distributed table itself). Called after
   every change that may create tables; nothing for a local schema. */
declare
    v_table text;
begin
    if not docpal_private.company_distributed(p_schema) then
        return;
    end if;
    perform docpal_private.citus_ddl();
    perform 'PRAGMA:disable:check';  -- Citus' catalogs and functions exist only here
    for v_table in execute
        'select c.relname::text from pg_catalog.pg_class c
          where c.relnamespace = $1::regnamespace and c.relkind in (''r'', ''p'') and not c.relispartition
            and c.oid not in (select p.logicalrelid from pg_catalog.pg_dist_partition p)
          order by c.oid' using p_schema
    loop
        execute 'select pg_catalog.create_distributed_table($1::regclass, null, colocate_with => $2)'
          using pg_catalog.format('%I.%I', p_schema, v_table), pg_catalog.format('%I._catalog', p_schema);
    end loop;
    perform 'PRAGMA:enable:check';
end
$$;
