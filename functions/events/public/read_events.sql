-- grant: docpal_service, docpal_app
create or replace function docpal.read_events(cursor text default null, max integer default 100)
    returns jsonb
    language plpgsql stable
    security definer
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
/* The events of the company in context after `cursor` that the context's
   user may read, for a client that keeps its own position (docpal serve's
   GET /api/events): {"events": [...], "cursors": [...], "cursor", "more"}.
   Each event is the notification payload (plus "workflow" where a rule
   matched and the user may read every column of the record); cursors[i] is
   the cursor just after events[i], "cursor" the one after everything read,
   and "more" says that more may be waiting now (read again at once).

   Stateless and read-only: the position lives in the cursor (opaque text),
   nothing is written. The cursor carries snapshots, as a consumer's batch
   does (docpal_private.event_batch): an event whose transaction commits
   after a later one was read comes in a later read, and an open
   transaction holds back nothing that committed after it began. A null
   cursor starts from now (no old events); a bare event id n (an
   "event_id" a client saw) reads the events with a higher id that have
   committed, then on by snapshots: weaker, since an event with a lower id
   that commits later is not read.

   At most `max` (1..1000, else 22023) outbox rows are looked at per call;
   those the user may not read are passed over (so a read may return fewer,
   even none, with "more"). An event is readable when its record is
   (docpal_private.event_access: read grant, row filter and API key scopes,
   judged on the record as it is now; a deleted record only through a read
   grant without a row filter); "changed" keeps only the columns the user
   may read on that record. 42501 without a context, for a revoked or
   expired key and for a key without the read scope; 22023 for a malformed
   cursor, 54000 for one over 16,000 characters. */
declare
    v_ctx docpal_private.caller;
    v_pos record;
    v_done_id bigint;
    v_done pg_snapshot;
    v_batch pg_snapshot;
    v_last bigint;
    v_after bigint;
    v_snap pg_snapshot;
    v_first bigint;
    v_budget integer := read_events.max;
    v_page jsonb;
    v_count integer;
    v_prefix text;
    v_rows jsonb := '[]';
    v_more boolean := false;
    v_turn integer := 0;
    v_access jsonb;
    v_events jsonb;
    v_cursors jsonb;
begin
    if read_events.max is null or read_events.max < 1 or read_events.max > 1000 then
        raise exception using errcode = '22023', message = 'max must be between 1 and 1000';
    end if;
    select * into v_ctx from docpal_private.require_company();
    if v_ctx.scopes is not null and not ('read' = any (v_ctx.scopes)) then
        raise exception using errcode = '42501', message = 'permission denied: this API key has no read scope';
    end if;
    select * into v_pos from docpal_private.event_cursor_read(read_events.cursor);
    v_done_id := v_pos.o_done_id;
    v_done := v_pos.o_done;
    v_batch := v_pos.o_batch;
    v_last := v_pos.o_last;
    v_after := v_pos.o_after;
    if pg_catalog.to_regclass(pg_catalog.format('%I._events', v_ctx.schema_name)) is null then
        -- no outbox yet (a company without tables): no event, now or before
        return pg_catalog.jsonb_build_object('events', '[]'::jsonb, 'cursors', '[]'::jsonb, 'more', false,
            'cursor', docpal_private.event_cursor(coalesce(v_done_id, 0), docpal_private.event_snapshot()));
    end if;
    if v_done is null then
        -- from now: what is visible now is done; events without a transaction
        -- id (a company Citus holds) take ids in commit order from its clock,
        -- so every one not visible yet has a higher id than the highest now
        execute pg_catalog.format('select coalesce(pg_catalog.max(e.id), 0) from %I._events e', v_ctx.schema_name)
           into v_done_id;
        return pg_catalog.jsonb_build_object('events', '[]'::jsonb, 'cursors', '[]'::jsonb, 'more', false,
            'cursor', docpal_private.event_cursor(v_done_id, docpal_private.event_snapshot()));
    end if;
    loop
        v_turn := v_turn + 1;
        if v_batch is null then
            -- a new batch: the events committed as of now and not read before
            -- (past o_after for a bare event id, which reads no transaction)
            v_snap := docpal_private.event_snapshot();
            execute pg_catalog.format(
                'select pg_catalog.min(e.id), pg_catalog.max(e.id) from %I._events e
                  where e.id > $4
                    and ((e.xid >= pg_catalog.pg_snapshot_xmin($1) and e.xid < pg_catalog.pg_snapshot_xmax($2)
                          and pg_catalog.pg_visible_in_snapshot(e.xid, $2) and not pg_catalog.pg_visible_in_snapshot(e.xid, $1))
                         or (e.xid is null and e.id > $3))',
                v_ctx.schema_name) into v_first, v_last using v_done, v_snap, v_done_id, coalesce(v_after, 0);
            v_after := null;
            if v_first is null then
                v_done := v_snap;  -- nothing new: now is done
                exit;
            end if;
            v_batch := v_snap;
            v_after := v_first - 1;
        end if;
        v_prefix := docpal_private.event_cursor(v_done_id, v_done, v_batch, v_last);
        execute pg_catalog.format(
            'select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                        ''event_id'', e.id, ''company_id'', $6, ''table'', e."table", ''record_id'', e.record_id,
                        ''action'', e.action, ''version'', e.version, ''changed'', e.changed, ''user_id'', e.user_id,
                        ''at'', e.at, ''workflow'', e.workflow, ''_cursor'', $8 || e.id::text) order by e.id)
               from (select * from %I._events e
                      where e.id > $1 and e.id <= $2
                        and ((pg_catalog.pg_visible_in_snapshot(e.xid, $3) and not pg_catalog.pg_visible_in_snapshot(e.xid, $4))
                             or (e.xid is null and e.id > $5))
                      order by e.id limit $7) e',
            v_ctx.schema_name) into v_page
          using v_after, v_last, v_batch, v_done, v_done_id, v_ctx.company_id, v_budget + 1, v_prefix;
        v_count := coalesce(pg_catalog.jsonb_array_length(v_page), 0);
        if v_count > v_budget then
            -- the batch goes on past this read
            v_page := v_page - (-1);
            v_rows := v_rows || v_page;
            v_after := (v_page->-1->>'event_id')::bigint;
            v_more := true;
            exit;
        end if;
        -- the batch is read to its end: its snapshot is done
        v_done := v_batch;
        v_done_id := greatest(v_done_id, v_last);
        v_batch := null;
        v_after := null;
        if v_count > 0 then
            v_page := pg_catalog.jsonb_set(v_page, array[(v_count - 1)::text, '_cursor'],
                                           pg_catalog.to_jsonb(docpal_private.event_cursor(v_done_id, v_done)));
            v_rows := v_rows || v_page;
        end if;
        v_budget := v_budget - v_count;
        if v_budget = 0 then
            v_more := true;  -- a new batch may be waiting
            exit;
        end if;
        -- one more batch for what committed meanwhile, then stop
        exit when v_turn >= 2;
    end loop;
    v_access := docpal_private.event_access(v_ctx, v_rows);
    select coalesce(pg_catalog.jsonb_agg(
               (r.e - '_cursor' - 'workflow' - 'changed')
               || pg_catalog.jsonb_build_object('changed',
                      case when a.cols is null or a.cols = 'null' or r.e->'changed' = 'null' then r.e->'changed'
                           else coalesce((select pg_catalog.jsonb_agg(c order by o)
                                            from pg_catalog.jsonb_array_elements(r.e->'changed') with ordinality x(c, o)
                                           where a.cols @> pg_catalog.jsonb_build_array(c)), '[]') end)
               || case when (a.cols is null or a.cols = 'null') and r.e->'workflow' <> 'null'
                       then pg_catalog.jsonb_build_object('workflow', r.e->'workflow') else '{}' end
               order by r.i), '[]'),
           coalesce(pg_catalog.jsonb_agg(r.e->'_cursor' order by r.i), '[]')
      into v_events, v_cursors
      from pg_catalog.jsonb_array_elements(v_rows) with ordinality r(e, i)
      cross join lateral (select coalesce(v_access->(r.e->>'table')->'*', v_access->(r.e->>'table')->(r.e->>'record_id')) as cols,
                                 (v_access->(r.e->>'table')) ? '*' or (v_access->(r.e->>'table')) ? (r.e->>'record_id') as visible) a
     where a.visible;
    return pg_catalog.jsonb_build_object(
        'events', v_events, 'cursors', v_cursors, 'more', v_more,
        'cursor', case when v_batch is not null then docpal_private.event_cursor(v_done_id, v_done, v_batch, v_last) || v_after::text
                       else docpal_private.event_cursor(v_done_id, v_done) end);
end
$$;
