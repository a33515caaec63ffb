create or replace function docpal_private.audit_links()
    returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* AFTER INSERT / UPDATE / DELETE (per statement, transition tables
   _docpal_new/_docpal_old) and BEFORE TRUNCATE on a relation_many junction
   table: a change of linked ids is an entry of the source record
   (docpal_private.log_links). The lists before the statement are the lists
   now with the statement's rows taken out and its old rows put back.
   TG_ARGV: table slug, column name, junction table, the company's number
   and whether it has events (for a worker, below). docpal's own record
   functions log their link changes themselves, one entry per column written
   (write_links turns the signed switch audit_links off around its
   statements; a plain setting of that name changes nothing). */
declare
    v_slug text := tg_argv[0];
    v_column text := tg_argv[1];
    v_junction text := tg_argv[2];
    v_label text := docpal_private.switch('audit_action');
    v_action text := case when v_label in ('ROLLBACK', 'RESTORE') then v_label else 'UPDATE' end;
    -- on a Citus worker tg_table_name names the shard (contract section 10)
    v_shard boolean := tg_table_name <> v_junction;
    v_context text := pg_catalog.split_part(pg_catalog.current_setting('docpal.context', true), '|', 2);
    v_sources uuid[];
    v_new jsonb := '[]';
    v_old jsonb := '[]';
    v_before jsonb;
    v_after jsonb;
begin
    if docpal_private.switch('audit_links') = 'off' then
        return null;
    end if;
    if tg_op = 'TRUNCATE' and docpal_private.company_distributed(tg_table_schema) then
        -- Citus puts no TRUNCATE trigger on a shard: nothing would log the
        -- change, so a distributed company's junction table is not truncated
        raise exception using errcode = '0A000',
            message = pg_catalog.format('a table of a distributed company cannot be truncated: %s', v_junction),
            hint = 'DELETE the rows instead: it is audited.';
    end if;
    if tg_op = 'TRUNCATE' then
        execute pg_catalog.format('select pg_catalog.array_agg(distinct j.source_id) from %I.%I j',
                                  tg_table_schema, v_junction)
           into v_sources;
        v_before := docpal_private.link_lists(tg_table_schema, v_junction, v_sources);
        v_after := '{}';
        v_action := 'UPDATE';
    else
        -- the statement's rows first, on their own: a statement that reads a
        -- transition table together with a table Citus holds cannot run on a
        -- worker
        -- (transition tables are statement-local names: EXECUTE, as the lint asks)
        if tg_op in ('INSERT', 'UPDATE') then
            execute 'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         ''source_id'', n.source_id, ''target_id'', n.target_id)), ''[]'') from _docpal_new n'
               into v_new;
        end if;
        if tg_op in ('DELETE', 'UPDATE') then
            execute 'select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         ''source_id'', o.source_id, ''target_id'', o.target_id, ''position'', o.position)), ''[]'')
                       from _docpal_old o'
               into v_old;
        end if;
        select pg_catalog.array_agg(distinct (r->>'source_id')::uuid) into v_sources
          from pg_catalog.jsonb_array_elements(v_new || v_old) r;
        -- the lists before the statement: the lists now without the
        -- statement's new rows, with its old rows back
        execute pg_catalog.format(
            'select coalesce(pg_catalog.jsonb_object_agg(x.source_id, x.targets), ''{}'')
               from (select r.source_id, pg_catalog.jsonb_agg(r.target_id order by r.position) as targets
                       from (select j.source_id, j.target_id, j.position from %I.%I j
                              where j.source_id = any ($1)
                                and not exists (select from pg_catalog.jsonb_to_recordset($2) n(source_id uuid, target_id uuid)
                                                 where n.source_id = j.source_id and n.target_id = j.target_id)
                             union all
                             select o.source_id, o.target_id, o.position
                               from pg_catalog.jsonb_to_recordset($3) o(source_id uuid, target_id uuid, position integer)) r
                      group by r.source_id) x',
            tg_table_schema, v_junction)
           into v_before using v_sources, v_new, v_old;
        v_after := docpal_private.link_lists(tg_table_schema, v_junction, v_sources);
    end if;
    if v_shard then
        -- on a worker: the clock's ids; TG_ARGV[3] and [4] are the company's
        -- number and whether it has events (the companies table is not
        -- there); the user the context names, unverified, as capture does
        perform docpal_private.log_links_clock(tg_table_schema, v_slug, v_column, v_before, v_after, v_action,
                                               tg_argv[3]::bigint, tg_argv[4]::boolean,
                                               case when v_context ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                                                    then v_context::uuid end);
    else
        perform docpal_private.log_links(tg_table_schema, v_slug, v_column, v_before, v_after, v_action);
    end if;
    return null;
end
$$;
