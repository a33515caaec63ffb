create or replace function docpal_private.event_close(p_consumer text, p_company uuid)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Closes the consumer's batch in a company once all of it is acknowledged:
   its snapshot becomes the consumed point, and its last id the consumed
   point of the events without a transaction id (docpal_private.event_batch). Nothing is deleted here: the
   outbox keeps every event for the company's retention (and longer while
   an active consumer has not consumed it); docpal.maintain_events removes
   the rest in batches, off the hot path. */
begin
    update docpal_private.event_consumers e
       set done_snap = e.batch_snap, done_id = greatest(e.done_id, e.batch_last), batch_snap = null, batch_first = null, batch_last = null,
           acked = 0, sent = 0, updated_at = pg_catalog.now()
     where e.consumer = p_consumer and e.company_id = p_company and e.batch_snap is not null and e.acked >= e.batch_last;
end
$$;
