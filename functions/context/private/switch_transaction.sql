create or replace function docpal_private.switch_transaction(p_assign boolean default true)
    returns text
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The transaction a signed switch belongs to (docpal_private.switch_set):
   its id (assigned when p_assign, else null while it has none). With Citus
   loaded, the distributed transaction id instead (initiator node, number,
   start), which the workers a transaction reaches report as well, so a
   trigger on a worker can check a switch the coordinator signed. */
declare
    v_id text;
    v_none boolean;
begin
    if docpal_private.citus_installed() then
        perform 'PRAGMA:disable:check';
        if p_assign then
            -- Citus gives a transaction its distributed id only when its first
            -- distributed statement runs, which may come after the switch is
            -- set; an (empty) intermediate result is the cheapest statement
            -- that makes it give one now
            execute 'select t.transaction_number = 0 from pg_catalog.get_current_transaction_id() t' into v_none;
            if v_none then
                execute 'select pg_catalog.create_intermediate_result(''docpal_switch'', ''select 1 where false'')';
            end if;
        end if;
        -- the start as microseconds since the epoch: text that no session's
        -- TimeZone or DateStyle changes (the worker's differ from the client's)
        execute 'select case when t.transaction_number > 0
                             then ''citus:'' || t.initiator_node_identifier || '':'' || t.transaction_number
                                  || '':'' || (pg_catalog.date_part(''epoch'', t.transaction_stamp) * 1000000)::bigint end
                   from pg_catalog.get_current_transaction_id() t' into v_id;
        perform 'PRAGMA:enable:check';
    end if;
    -- without a distributed id: the local one (a worker then finds no match,
    -- and the switch is off there, never wrongly on)
    return coalesce(v_id, case when p_assign then pg_catalog.pg_current_xact_id()
                               else pg_catalog.pg_current_xact_id_if_assigned() end::text);
end
$$;
