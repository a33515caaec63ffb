create or replace function docpal_private.citus_table_stats(p_schemas text[])
    returns table (schema_name text, table_name text, reltuples real, live bigint, reads bigint, inserts bigint,
                   updates bigint, deletes bigint, bytes bigint)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* What docpal.company_metrics measures from the catalog and the statistics,
   for the distributed tables of the company schemas p_schemas that Citus
   holds (contract section 10): the data of such a table is in its shard on
   a worker, where the coordinator's pg_class and statistics know nothing of
   it. One row per distributed table (partitions of _audit_log included),
   summed over its shards: the planner's estimate of its rows (reltuples,
   -1 while unknown), live rows (n_live_tup), rows read (seq_tup_read +
   idx_tup_fetch), inserted, updated and deleted since the worker's
   statistics were reset, and bytes (pg_total_relation_size of the shards,
   what citus_total_relation_size says). One command per worker
   (run_command_on_workers), sent only when one of the schemas is
   distributed; no rows without Citus, for local schemas, or from a worker
   that does not answer (its companies then measure as if empty there).
   Only the shards a worker holds (its placements) count: not the old copy
   an online move leaves behind until Citus drops it. Shards placed on the
   coordinator itself are not measured (docpal's clusters keep none there:
   docs/scale-out.md). */
declare
    v_schemas text[];
begin
    if not docpal_private.citus_installed() then
        return;
    end if;
    perform 'PRAGMA:disable:check';  -- Citus' catalogs and functions exist only here
    execute 'select pg_catalog.array_agg(s.schemaid::regnamespace::text)
               from pg_catalog.pg_dist_schema s where s.schemaid::regnamespace::text = any($1)'
       into v_schemas using p_schemas;
    if v_schemas is null then
        return;
    end if;
    return query execute $q$
        select x.s, x.t, pg_catalog.sum(x.reltuples)::real, pg_catalog.sum(x.live)::bigint,
               pg_catalog.sum(x.reads)::bigint, pg_catalog.sum(x.ins)::bigint, pg_catalog.sum(x.upd)::bigint,
               pg_catalog.sum(x.del)::bigint, pg_catalog.sum(x.bytes)::bigint
          from pg_catalog.run_command_on_workers($1) w
         cross join lateral pg_catalog.jsonb_to_recordset(case when w.success then w.result::jsonb else '[]' end)
               x (s text, t text, reltuples real, live bigint, reads bigint, ins bigint, upd bigint, del bigint, bytes bigint)
         group by x.s, x.t$q$
      using pg_catalog.format($c$
        select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object(
                   's', n.nspname, 't', l.relname, 'reltuples', h.reltuples,
                   'live', pg_catalog.pg_stat_get_live_tuples(h.oid),
                   'reads', pg_catalog.pg_stat_get_tuples_returned(h.oid) + pg_catalog.pg_stat_get_tuples_fetched(h.oid)
                            + coalesce((select pg_catalog.sum(pg_catalog.pg_stat_get_tuples_fetched(i.indexrelid))
                                          from pg_catalog.pg_index i where i.indrelid = h.oid), 0),
                   'ins', pg_catalog.pg_stat_get_tuples_inserted(h.oid),
                   'upd', pg_catalog.pg_stat_get_tuples_updated(h.oid),
                   'del', pg_catalog.pg_stat_get_tuples_deleted(h.oid),
                   'bytes', pg_catalog.pg_total_relation_size(h.oid))), '[]')
          from pg_catalog.pg_dist_shard d
          join pg_catalog.pg_class l on l.oid = d.logicalrelid
          join pg_catalog.pg_namespace n on n.oid = l.relnamespace
          join pg_catalog.pg_class h on h.oid = pg_catalog.to_regclass(pg_catalog.shard_name(d.logicalrelid, d.shardid))
         where n.nspname = any(%L::text[]) and l.relkind in ('r', 'm')
           -- a shard this node holds: not the copy a move left behind for Citus to drop
           and exists (select from pg_catalog.pg_dist_placement p
                        where p.shardid = d.shardid and p.groupid = (select g.groupid from pg_catalog.pg_dist_local_group g))$c$,
        v_schemas);
    perform 'PRAGMA:enable:check';
end
$$;
