create or replace function docpal_private.event_pass_limit()
    returns integer
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* How many company visits that found events one poll without a context
       makes at most (docpal.poll_events); the next poll goes on from there.
       Such a visit holds about three locks (the outbox and its two indexes)
       to the end of the transaction: 10,000 companies with events in one
       poll would need some 30,000, past a default server's lock table
       (max_locks_per_transaction 64 x max_connections). A visit that finds
       nothing gives its locks back, so it does not count, and a poll stopped
       here has events to return. A constant, not a setting: nothing a client
       writes sets it. */
    select 1000
$$;
