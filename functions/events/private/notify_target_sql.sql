create or replace function docpal_private.notify_target_sql(p_company uuid)
    returns text
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The query behind docpal_private.notify_target for company p_company
       (one row: allowed, channel, single_limit), as SQL text: a capture
       function has it written into its body, so that each of its statements
       pays three index lookups and no function call (a call, with its own
       plans to set up in every transaction, cost more than the lookups).
       Only the company id is written in, never the channel name: that is read
       from docpal_private.event_channels at run time. The pg_notification_queue_usage()
       of the query is read once (offset 0 keeps the subquery whole). */
    select pg_catalog.format(
        'select _s.queue < _s.threshold as allowed,
                case when _s.queue < _s.threshold then _s.channel end as channel,
                _s.single_limit
           from (select pg_catalog.pg_notification_queue_usage() as queue,
                        coalesce((select case when p.value ~ ''^[0-9]{1,3}(\.[0-9]{1,9})?$''
                                              then p.value::double precision end
                                    from docpal_private.platform_settings p where p.name = ''notify_threshold''),
                                 0.5) as threshold,
                        coalesce((select case when p.value ~ ''^[0-9]{1,9}$'' then p.value::bigint end
                                    from docpal_private.platform_settings p where p.name = ''notify_limit''),
                                 100) as single_limit,
                        (select c.channel from docpal_private.event_channels c where c.company_id = %L) as channel
                 offset 0) _s',
        p_company);
$$;
