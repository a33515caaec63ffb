create or replace function docpal_private.log_links_clock(p_schema text, p_slug text, p_column text, p_before jsonb,
                                                          p_after jsonb, p_action text, p_number bigint,
                                                          p_events boolean, p_user uuid)
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* docpal_private.log_links for a company that Citus holds (contract
   section 10): the same entries and events, with ids from the company's
   clock (docpal_private.clock_take), no transaction id and no
   notification. Runs on the coordinator (log_links) and on a worker (the
   junction table's trigger, docpal_private.audit_links, which passes the
   company's number and whether it has events: the companies table is not
   there). Every statement names the company's own tables only. */
declare
    v_rows jsonb;
    v_count integer;
    v_base record;
begin
    execute pg_catalog.format(
        'select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    ''_id'', l.id, ''_version'', p.version, ''_before'', l.before, ''_after'', l.after))
           from (select k::uuid as id, coalesce($1 -> k, ''[]'') as before, coalesce($2 -> k, ''[]'') as after
                   from pg_catalog.jsonb_object_keys($1 || $2) k) l
           left join %1$I.%2$I p on p.id = l.id
          where l.before <> l.after', p_schema, p_slug)
       into v_rows using p_before, p_after;
    v_count := coalesce(pg_catalog.jsonb_array_length(v_rows), 0);
    if v_count = 0 then
        return 0;
    end if;
    select * into v_base
      from docpal_private.clock_take(p_schema, v_count, case when p_events then v_count else 0 end, p_number);
    execute pg_catalog.format(
        'insert into %I._audit_log (id, txid, user_id, "table", record_id, action, version, old, new, changed, summary)
         select $1 + pg_catalog.row_number() over (), null, $2, $3, r._id, $4, r._version,
                pg_catalog.jsonb_build_object($5, r._before), pg_catalog.jsonb_build_object($5, r._after), array[$5],
                pg_catalog.format(''%%s: %%s → %%s linked'', $5, pg_catalog.jsonb_array_length(r._before),
                                  pg_catalog.jsonb_array_length(r._after))
           from pg_catalog.jsonb_to_recordset($6) as r(_id uuid, _version integer, _before jsonb, _after jsonb)',
        p_schema)
      using v_base.audit_base, p_user, p_slug, p_action, p_column, v_rows;
    if p_events then
        execute pg_catalog.format(
            'insert into %I._events (id, xid, "table", record_id, action, version, changed, user_id)
             select $1 + pg_catalog.row_number() over (), null, $3, r._id, $4, r._version, array[$5], $2
               from pg_catalog.jsonb_to_recordset($6) as r(_id uuid, _version integer, _before jsonb, _after jsonb)',
            p_schema)
          using v_base.event_base, p_user, p_slug, p_action, p_column, v_rows;
    end if;
    return v_count;
end
$$;
