create or replace function docpal_private.log_links(
    p_schema text, p_slug text, p_column text, p_before jsonb, p_after jsonb, p_action text)
    returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set timezone = 'UTC'
as $$
/* One audit entry per source record whose list of links in relation_many
   column p_column went from p_before to p_after ({"<source id>": [ids]},
   absent = no links): an UPDATE (or p_action) of that record at its current
   version, old/new holding only the column. A record that is gone (the
   cascade of its own DELETE, which runs before the DELETE entry is
   written) gets its entry with a null version: undoing the DELETE then
   brings its links back too. Each entry is also an event (outbox row and
   notification on the company's channel while notifications are allowed,
   as the table's capture trigger writes them; event rules are not
   evaluated for link changes). Returns the number of entries. */
declare
    v_company record;
    v_count integer;
    v_sent integer;
    v_sql text;
    v_target record;
begin
    select * into strict v_company from docpal_private.companies c where c.schema_name = p_schema;
    if docpal_private.company_distributed(p_schema) then
        -- Citus (contract section 10): the clock's ids, no notification
        return docpal_private.log_links_clock(p_schema, p_slug, p_column, p_before, p_after, p_action, v_company.number,
                                              v_company.settings->'events' is distinct from 'false'::jsonb,
                                              docpal_private.context_user());
    end if;
    v_sql := pg_catalog.format(
        'with _l as (
             insert into %1$I._audit_log (user_id, "table", record_id, action, version, old, new, changed, summary)
             select $1, $2, l.id, $3, p.version,
                    pg_catalog.jsonb_build_object($4, l.before), pg_catalog.jsonb_build_object($4, l.after),
                    array[$4],
                    pg_catalog.format(''%%s: %%s → %%s linked'', $4, pg_catalog.jsonb_array_length(l.before),
                                      pg_catalog.jsonb_array_length(l.after))
               from (select k::uuid as id, coalesce($5 -> k, ''[]'') as before, coalesce($6 -> k, ''[]'') as after
                       from pg_catalog.jsonb_object_keys($5 || $6) k) l
               left join %1$I.%2$I p on p.id = l.id
              where l.before <> l.after
             returning record_id, version)',
        p_schema, p_slug);
    if v_company.settings->'events' is distinct from 'false'::jsonb then
        v_sql := v_sql || pg_catalog.format(',
             _e as (insert into %1$I._events ("table", record_id, action, version, changed, user_id)
                    select $2, _l.record_id, $3, _l.version, array[$4], $1 from _l
                    returning id, record_id, action, version, changed, at),
             _w as (select _e.*, pg_catalog.count(*) over () as n, pg_catalog.min(_e.id) over () as lo,
                           pg_catalog.max(_e.id) over () as hi
                      from _e)
         select pg_catalog.count(*),
                pg_catalog.count(pg_catalog.pg_notify($9, case
                    when _w.n <= $8 then docpal_private.event_notice($7, _w.id, $2, _w.record_id, _w.action,
                                                                     _w.version, _w.changed, $1, _w.at)
                    else pg_catalog.json_build_object(''company_id'', $7, ''first_event_id'', _w.lo,
                                                      ''last_event_id'', _w.hi, ''count'', _w.n)::text end)::text)
                    filter (where $9 is not null and (_w.n <= $8 or _w.id = _w.lo))
           from _w', p_schema);
    else
        v_sql := v_sql || ' select pg_catalog.count(*), 0 from _l';
    end if;
    -- the channel (null while notifications are skipped) and notify_limit, in one lookup
    select t.channel, t.single_limit into v_target from docpal_private.notify_target(v_company.id) t;
    execute v_sql into v_count, v_sent
      using docpal_private.context_user(), p_slug, p_action, p_column, p_before, p_after, v_company.id,
            v_target.single_limit, v_target.channel;
    if v_sent > 0 then
        perform pg_catalog.pg_notify('docpal_events', '');  -- the platform channel: an empty wake-up
    end if;
    return v_count;
end
$$;
