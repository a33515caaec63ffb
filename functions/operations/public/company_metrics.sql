-- grant: docpal_service, docpal_app
create or replace function docpal.company_metrics(company uuid default null)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
    -- the catalog statement's estimated cost passes every JIT threshold with
    -- many companies: compiling it took 4.9 of 8.9 s at 1,000 companies
    set jit = off
as $$
/* What a company holds and does (contract section 8; docs/metrics.md):
   {company_id, slug, status, tables, records, bytes, files, file_bytes,
   audit_entries, events_pending, last_activity, activity: {reads, inserts,
   updates, deletes}, quota}. With company null, an array of every company
   (suspended ones too) in company number order: platform admins only. With
   an id: platform admins any company (P0002 when there is none); an owner
   or admin in context only its own company. Anyone else gets 42501, the
   same error whether or not the id is a company's.

   Set-based, whatever the number of companies: one catalog query (pg_class,
   PostgreSQL's statistics, docpal_private.table_specs) measures what needs
   no reading and builds one statement (identifiers by format('%I'), 32
   companies per UNION ALL chunk: a flat UNION ALL of thousands of
   branches plans in quadratic time) that reads the rest once.
     - tables: the company's table specs;
     - bytes: the size of every table and materialized view of the schema
       with its indexes and TOAST, docpal's own included (the sum of their
       pg_total_relation_size, what quota max_bytes counts);
     - activity: the statistics of the company's tables (the columns of
       pg_stat_user_tables, by the functions that view calls; docpal's own
       _ tables are left out: they would count every write again): reads =
       seq_tup_read + idx_tup_fetch, inserts/updates/deletes = n_tup_ins,
       n_tup_upd, n_tup_del, since the server's statistics were reset;
     - files, file_bytes: count and sum(size) of _files (read);
     - events_pending: the outbox events a consumer of the company has not
       consumed yet (the test of docpal_private.event_expire), every event
       while no consumer has polled the company (read);
     - quota: docpal_private.company_quota.
   One company is counted exactly: records = count(*) of each table whose
   estimate (pg_class.reltuples) is at most 100,000 rows or unknown, the
   estimate above; audit_entries the same per partition of _audit_log;
   last_activity = the latest audit entry (highest id, by the primary key),
   schema change or outbox event. Every company at once reads only _files
   and _events of each (about 6 relation locks per company, held to the end
   of the transaction): records and audit_entries take PostgreSQL's live
   row count (n_live_tup) in place of count(*), and last_activity is the
   latest outbox event (null once the event retention removed them all).
   Every company at once waits for no lock another session holds or awaits
   in ACCESS EXCLUSIVE mode when the call starts (a client's open DDL on its
   own tables): such a relation is sized by its relpages estimate, such a
   _files or _events is not read (files, file_bytes or events_pending null).
   A company that Citus holds (contract section 10) has its rows on a
   worker: its tables' estimates, live rows, activity and bytes come from
   their shards there (docpal_private.citus_table_stats, one command per
   worker), the counts are read through the coordinator like any query. */
declare
    v_ctx record;
    v_ids uuid[];
    v_exact boolean := company_metrics.company is not null;
    v_reads jsonb;
    v_static jsonb;
    v_result jsonb;
begin
    if not docpal_private.caller_is_platform_admin() then
        if company_metrics.company is null then
            raise exception using errcode = '42501',
                message = 'only a platform admin may see the metrics of every company';
        end if;
        select * into v_ctx from docpal_private.require_admin();
        if v_ctx.company_id is distinct from company_metrics.company then
            raise exception using errcode = '42501',
                message = 'only a platform admin, or an owner or admin of the company in context, may see a company''s metrics';
        end if;
    end if;
    if company_metrics.company is null then
        select coalesce(pg_catalog.array_agg(c.id order by c.number), '{}') into v_ids from docpal_private.companies c;
    else
        select pg_catalog.array_agg(c.id) into v_ids from docpal_private.companies c where c.id = company_metrics.company;
        if v_ids is null then
            raise exception using errcode = 'P0002', message = 'no company has this id';
        end if;
    end if;

    -- 1. one catalog query: what needs no reading (per company, k = its
    -- place in v_ids), the consumers' positions, and the reading statement
    with co as (
        select o.k, c.id, c.schema_name, n.oid as nsp
          from pg_catalog.unnest(v_ids) with ordinality o (id, k)
          join docpal_private.companies c on c.id = o.id
          join pg_catalog.pg_namespace n on n.nspname = c.schema_name
    ), dist as (
        -- a distributed company's tables measured where their shards are
        -- (nothing without Citus or for a local company)
        select w.* from docpal_private.citus_table_stats((select pg_catalog.array_agg(co.schema_name) from co)) w
    ), rel as (
        select co.k, co.schema_name, r.oid, r.relname, r.relkind, coalesce(w.reltuples, r.reltuples) as reltuples,
               ts.slug is not null as is_data,
               p.relname is not distinct from '_audit_log' and r.relkind = 'r' as is_audit,
               -- counted exactly (read), or measured from the statistics
               v_exact and coalesce(w.reltuples, r.reltuples) <= 100000 as counted,
               w.table_name is not null as is_dist, w.live as w_live, w.reads as w_reads, w.inserts as w_inserts,
               w.updates as w_updates, w.deletes as w_deletes
          from co
          join pg_catalog.pg_class r on r.relnamespace = co.nsp and r.relkind in ('r', 'p')
          left join dist w on w.schema_name = co.schema_name and w.table_name = r.relname
          left join docpal_private.table_specs ts on ts.company_id = co.id and ts.slug = r.relname
          left join pg_catalog.pg_inherits i on i.inhrelid = r.oid
          left join pg_catalog.pg_class p on p.oid = i.inhparent and p.relnamespace = co.nsp
         where ts.slug is not null or p.relname = '_audit_log'
            or r.relname in ('_files', '_events', '_audit_log', '_schema_history')
    ), relstats as (
        select r.k,
               coalesce(pg_catalog.sum(case when r.reltuples > 100000 then r.reltuples::bigint
                                            when r.is_dist then r.w_live
                                            else pg_catalog.pg_stat_get_live_tuples(r.oid) end)
                            filter (where r.is_data and not r.counted), 0) as records,
               coalesce(pg_catalog.sum(case when r.reltuples > 100000 then r.reltuples::bigint
                                            when r.is_dist then r.w_live
                                            else pg_catalog.pg_stat_get_live_tuples(r.oid) end)
                            filter (where r.is_audit and not r.counted), 0) as audit_entries,
               -- a distributed table: what its shards did, and what it did while it was local
               coalesce(pg_catalog.sum(pg_catalog.pg_stat_get_tuples_returned(r.oid) + pg_catalog.pg_stat_get_tuples_fetched(r.oid)
                                       + coalesce(r.w_reads, 0))
                            filter (where r.is_data), 0) as reads,
               coalesce(pg_catalog.sum(pg_catalog.pg_stat_get_tuples_inserted(r.oid) + coalesce(r.w_inserts, 0))
                            filter (where r.is_data), 0) as inserts,
               coalesce(pg_catalog.sum(pg_catalog.pg_stat_get_tuples_updated(r.oid) + coalesce(r.w_updates, 0))
                            filter (where r.is_data), 0) as updates,
               coalesce(pg_catalog.sum(pg_catalog.pg_stat_get_tuples_deleted(r.oid) + coalesce(r.w_deletes, 0))
                            filter (where r.is_data), 0) as deletes
          from rel r
         group by r.k
    ), indexreads as (
        -- idx_tup_fetch counts the rows fetched through each index of the table too
        select r.k, pg_catalog.sum(pg_catalog.pg_stat_get_tuples_fetched(x.indexrelid)) as reads
          from rel r join pg_catalog.pg_index x on x.indrelid = r.oid
         where r.is_data
         group by r.k
    ), locked as materialized (
        select l.relation from pg_catalog.pg_locks l
         where not v_exact and l.locktype = 'relation' and l.mode = 'AccessExclusiveLock' and l.relation is not null
           and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database())
           and l.pid is distinct from pg_catalog.pg_backend_pid()
    ), sizes as (
        -- pg_total_relation_size of every table and materialized view, as
        -- the sum of every fork of them, their indexes and TOAST tables
        -- with their indexes (an init fork only for an unlogged relation):
        -- the same number, with half the work
        -- (a distributed table: its shards' pg_total_relation_size, instead
        -- of its empty shell on the coordinator)
        -- (every company at once: a relation another session holds or awaits in ACCESS
        -- EXCLUSIVE mode, say a client's open add_column, is not opened, which would wait for
        -- it: its size is the planner's estimate, relpages pages)
        select s.k, pg_catalog.sum(case when not v_exact and s.oid in (select l.relation from locked l)
                                        then (select r.relpages from pg_catalog.pg_class r where r.oid = s.oid)::bigint
                                             * pg_catalog.current_setting('block_size')::bigint
                                        else pg_catalog.pg_relation_size(s.oid, 'main') + pg_catalog.pg_relation_size(s.oid, 'fsm')
                                   + pg_catalog.pg_relation_size(s.oid, 'vm')
                                   + case when s.unlogged then pg_catalog.pg_relation_size(s.oid, 'init') else 0 end end) as bytes
          from (select co.k, r.oid, r.relpersistence = 'u' as unlogged
                  from co join pg_catalog.pg_class r on r.relnamespace = co.nsp and r.relkind in ('r', 'm', 'i')
                 where not exists (select from dist w where w.schema_name = co.schema_name
                                      and w.table_name = case when r.relkind = 'i' then
                                          (select t.relname from pg_catalog.pg_index x
                                             join pg_catalog.pg_class t on t.oid = x.indrelid
                                            where x.indexrelid = r.oid) else r.relname end)
                 union all
                select co.k, r.reltoastrelid, r.relpersistence = 'u'
                  from co join pg_catalog.pg_class r on r.relnamespace = co.nsp and r.relkind in ('r', 'm')
                 where r.reltoastrelid <> 0
                   and not exists (select from dist w where w.schema_name = co.schema_name and w.table_name = r.relname)
                 union all
                select co.k, x.indexrelid, r.relpersistence = 'u'
                  from co join pg_catalog.pg_class r on r.relnamespace = co.nsp and r.relkind in ('r', 'm')
                  join pg_catalog.pg_index x on x.indrelid = r.reltoastrelid
                 where r.reltoastrelid <> 0
                   and not exists (select from dist w where w.schema_name = co.schema_name and w.table_name = r.relname)
                ) s
         group by s.k
    ), shard_sizes as (
        select co.k, pg_catalog.sum(w.bytes) as bytes from co join dist w on w.schema_name = co.schema_name group by co.k
    ), positions as (
        select co.k, pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         'done_snap', e.done_snap, 'done_id', e.done_id, 'batch_snap', e.batch_snap, 'acked', e.acked)) as p
          from co join docpal_private.event_consumers e on e.company_id = co.id
         group by co.k
    ), measured as (
        select co.k, pg_catalog.jsonb_build_object(
                   'tables', (select pg_catalog.count(*) from docpal_private.table_specs ts where ts.company_id = co.id),
                   'records', coalesce(s.records, 0),
                   'audit_entries', coalesce(s.audit_entries, 0),
                   'bytes', coalesce(z.bytes, 0) + coalesce(zd.bytes, 0),
                   'activity', pg_catalog.jsonb_build_object(
                       'reads', coalesce(s.reads, 0) + coalesce(x.reads, 0), 'inserts', coalesce(s.inserts, 0),
                       'updates', coalesce(s.updates, 0), 'deletes', coalesce(s.deletes, 0)),
                   'positions', coalesce(p.p, '[]'),
                   -- every company at once: its _files or _events that another session holds or
                   -- awaits in ACCESS EXCLUSIVE mode (a client's open drop_column of a file column
                   -- locks _files) is not read, and what it gives is null (unknown) in this call
                   'unread', (select coalesce(pg_catalog.jsonb_agg(r.relname), '[]') from rel r
                               where r.k = co.k and r.relname in ('_files', '_events')
                                 and r.oid in (select l.relation from locked l))) as m
          from co
          left join relstats s on s.k = co.k
          left join indexreads x on x.k = co.k
          left join sizes z on z.k = co.k
          left join shard_sizes zd on zd.k = co.k
          left join positions p on p.k = co.k
    ), branch as (
        -- what is read, by kind: r a record and a an audit entry (counted),
        -- f a file (its size), e an outbox event, l a time of last activity
        select case when r.is_data then 'r' when r.is_audit then 'a' when r.relname = '_files' then 'f'
                    when r.relname = '_events' then 'e' else 'l' end as kind,
               r.k, case
                   when r.is_data or r.is_audit then pg_catalog.format(
                       'select %s::integer as k from %I.%I', r.k, r.schema_name, r.relname)
                   when r.relname = '_files' then pg_catalog.format(
                       'select %s::integer as k, f.size from %I._files f', r.k, r.schema_name)
                   when r.relname = '_events' then pg_catalog.format(
                       'select %s::integer as k, e.id, e.xid, e.at from %I._events e', r.k, r.schema_name)
                   when r.relname = '_audit_log' then pg_catalog.format(
                       '(select %s::integer as k, a.at from %I._audit_log a order by a.id desc limit 1)',
                       r.k, r.schema_name)
                   else pg_catalog.format(
                       '(select %s::integer as k, h.at from %I._schema_history h order by h.id desc limit 1)',
                       r.k, r.schema_name) end as sql
          from rel r
         where (r.is_data or r.is_audit) and r.counted
            or not r.is_data and r.relname in ('_files', '_events') and r.oid not in (select l.relation from locked l)
            or v_exact and not r.is_data and r.relname in ('_audit_log', '_schema_history') and r.relkind in ('r', 'p')
    ), chunk as (
        -- 32 relations per UNION ALL (a flat one of thousands plans in quadratic time)
        select b.kind, pg_catalog.format('(select * from (%s) c offset 0)', pg_catalog.string_agg(b.sql, e'\n union all ')) as sql
          from (select b.*, (pg_catalog.row_number() over (partition by b.kind order by b.k, b.sql) - 1) / 32 as n
                  from branch b) b
         group by b.kind, b.n
    ), kinds as (
        select c.kind, pg_catalog.string_agg(c.sql, e'\n union all ') as sql from chunk c group by c.kind
    )
    select (select pg_catalog.jsonb_object_agg(m.k::text, m.m) from measured m),
           (select pg_catalog.jsonb_object_agg(k.kind, k.sql) from kinds k)
      into v_static, v_reads;


    -- 2. that statement, once
    execute pg_catalog.format($sql$
        with counted as (
            select x.k, pg_catalog.count(*) filter (where x.w = 'r') as records,
                   pg_catalog.count(*) filter (where x.w = 'a') as audit_entries
              from (select r.k, 'r' as w from (%s) r union all select a.k, 'a' from (%s) a) x
             group by x.k
        ), files as (
            select f.k, pg_catalog.count(*) as files, pg_catalog.sum(f.size) as file_bytes from (%s) f group by f.k
        ), events as (
            select e.k, pg_catalog.max(e.at) as at,
                   pg_catalog.count(*) filter (
                       where pg_catalog.jsonb_array_length($2->(e.k::text)->'positions') = 0
                          or exists (select from pg_catalog.jsonb_to_recordset($2->(e.k::text)->'positions')
                                                 c (done_snap pg_snapshot, done_id bigint, batch_snap pg_snapshot, acked bigint)
                                      where case when e.xid is null  -- a company that Citus holds
                                                 then e.id > c.done_id and not (e.id <= c.acked and c.batch_snap is not null)
                                                 else not pg_catalog.pg_visible_in_snapshot(e.xid, c.done_snap)
                                                      and not (e.id <= c.acked and c.batch_snap is not null
                                                               and pg_catalog.pg_visible_in_snapshot(e.xid, c.batch_snap)) end))
                       as pending
              from (%s) e
             group by e.k
        ), lasts as (
            select l.k, pg_catalog.max(l.at) as at from (%s) l group by l.k
        )
        select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'company_id', c.id,
                   'slug', c.slug,
                   'status', c.status,
                   'tables', s.m->'tables',
                   'records', coalesce(n.records, 0) + (s.m->>'records')::bigint,
                   'bytes', s.m->'bytes',
                   'files', case when not s.m->'unread' ? '_files' then coalesce(f.files, 0) end,
                   'file_bytes', case when not s.m->'unread' ? '_files' then coalesce(f.file_bytes, 0) end,
                   'audit_entries', coalesce(n.audit_entries, 0) + (s.m->>'audit_entries')::bigint,
                   'events_pending', case when not s.m->'unread' ? '_events' then coalesce(e.pending, 0) end,
                   'last_activity', greatest(e.at, l.at),
                   'activity', s.m->'activity',
                   'quota', docpal_private.company_quota(c.schema_name))
                 order by o.k)
          from pg_catalog.unnest($1) with ordinality o (id, k)
          join docpal_private.companies c on c.id = o.id
          cross join lateral (select $2->(o.k::text) as m) s
          left join counted n on n.k = o.k
          left join files f on f.k = o.k
          left join events e on e.k = o.k
          left join lasts l on l.k = o.k
        $sql$,
        coalesce(v_reads->>'r', 'select null::integer as k where false'),
        coalesce(v_reads->>'a', 'select null::integer as k where false'),
        coalesce(v_reads->>'f', 'select null::integer as k, null::bigint as size where false'),
        coalesce(v_reads->>'e', 'select null::integer as k, null::bigint as id, null::xid8 as xid, null::timestamptz as at where false'),
        coalesce(v_reads->>'l', 'select null::integer as k, null::timestamptz as at where false'))
       into v_result
      using v_ids, v_static;

    if company_metrics.company is null then
        return coalesce(v_result, '[]');
    end if;
    return v_result->0;
end
$$;
