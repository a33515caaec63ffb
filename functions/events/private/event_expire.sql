create or replace function docpal_private.event_expire(p_company uuid, p_max bigint)
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Deletes up to p_max events of one company that the outbox no longer
   keeps (contract section 7): older than the company's retention, and not
   still wanted by a consumer that polled the company within that period
   (one that has not consumed the event: not in its consumed snapshot, nor
   acknowledged in its current batch; a replay consumed nothing). Oldest first, in one statement of at most
   p_max rows; returns how many went. */
declare
    v_company record;
    v_cutoff timestamptz;
    v_deleted bigint;
    v_positions jsonb;
    v_last bigint;
begin
    select * into v_company from docpal_private.companies c where c.id = p_company;
    if v_company.id is null or pg_catalog.to_regclass(pg_catalog.format('%I._events', v_company.schema_name)) is null then
        return 0;
    end if;
    v_cutoff := pg_catalog.now() - docpal_private.event_retention(v_company.settings);
    -- the positions of the consumers that still count, read first: a statement
    -- on a distributed company's outbox cannot join the coordinator's tables
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'done_snap', c.done_snap, 'done_id', c.done_id, 'batch_snap', c.batch_snap, 'acked', c.acked)), '[]')
      into v_positions
      from docpal_private.event_consumers c
     where c.company_id = p_company and c.updated_at >= v_cutoff;
    execute pg_catalog.format(
        'with gone as (
             delete from %1$I._events d
              where d.id in (select e.id from %1$I._events e
                              where e.at < $1
                                and not exists (select from pg_catalog.jsonb_to_recordset($2)
                                                         c(done_snap pg_snapshot, done_id bigint, batch_snap pg_snapshot, acked bigint)
                                                 where case when e.xid is null  -- a company that Citus holds
                                                            then e.id > c.done_id
                                                                 and not (e.id <= c.acked and c.batch_snap is not null)
                                                            else not pg_catalog.pg_visible_in_snapshot(e.xid, c.done_snap)
                                                                 and not (e.id <= c.acked and c.batch_snap is not null
                                                                          and pg_catalog.pg_visible_in_snapshot(e.xid, c.batch_snap)) end)
                              order by e.id
                              limit $3)
             returning d.id)
         select pg_catalog.count(*), pg_catalog.max(gone.id) from gone', v_company.schema_name)
       into v_deleted, v_last using v_cutoff, v_positions, p_max;
    if v_deleted > 0 then
        -- the company's clock starts after every id it ever had, gone ones
        -- included (docpal_private.clock_take, for a company distributed later)
        execute pg_catalog.format('update %I._clock c set event_floor = greatest(c.event_floor, $1)', v_company.schema_name)
          using v_last;
    end if;
    return v_deleted;
end
$$;
