create or replace function docpal_private.event_access(p_caller docpal_private.caller, p_events jsonb)
    returns jsonb
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Which of p_events (outbox rows as docpal.read_events reads them: table,
   record_id) the caller may read, judged as the records are now:
   {"<table>": {"*": <columns>} | {"<record id>": <columns>, ...}}, where
   <columns> is null for every column or the array of the columns the
   caller may read on that record (docpal_private.cell_columns), "*" covers
   every record of the table, and an absent table or record is not
   readable. A record is readable when a read grant of the caller covers
   its row (grants, row filters and API key scopes, as get_record judges
   it). A record that no longer exists (deleted, or its table dropped) can
   be matched by no row filter: as in docpal_private.history_access, only
   read grants without a row filter reach it. One statement per table whose
   grants have a row filter, for all its records. */
declare
    v_access jsonb := '{}';
    v_table text;
    v_ids uuid[];
    v_perm jsonb;
    v_spec jsonb;
    v_filtered boolean;
    v_open boolean;
    v_state jsonb;
    v_matched text;
    v_found jsonb;
    v_existing uuid[];
    v_gone jsonb;
begin
    for v_table, v_ids in
        select e->>'table', pg_catalog.array_agg(distinct (e->>'record_id')::uuid) filter (where e->>'record_id' is not null)
          from pg_catalog.jsonb_array_elements(p_events) e
         group by e->>'table'
    loop
        v_perm := docpal_private.permission(p_caller, v_table, 'read');
        continue when v_perm is null;
        -- grants with a row filter, and grants without one (which reach gone records too)
        select coalesce(pg_catalog.bool_or(coalesce(g->'row_filter', 'null') <> 'null'), false),
               coalesce(pg_catalog.bool_or(coalesce(g->'row_filter', 'null') = 'null'), false)
          into v_filtered, v_open
          from pg_catalog.jsonb_array_elements(coalesce(v_perm->'grants', '[]')) g;
        if not v_filtered then
            if v_open then
                v_access := v_access || pg_catalog.jsonb_build_object(v_table, pg_catalog.jsonb_build_object(
                    '*', pg_catalog.to_jsonb(docpal_private.cell_columns(v_perm->'grants', null))));
            end if;
            continue;
        end if;
        execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = $1 and c.slug = $2',
                                  p_caller.schema_name)
           into v_spec using 'table', v_table;
        v_found := '{}';
        v_existing := '{}';
        if v_spec is not null and v_ids is not null then
            select g.o_state, g.o_sql into v_state, v_matched
              from docpal_private.grant_conditions(p_caller.schema_name, v_spec, v_perm->'grants') g;
            execute pg_catalog.format(
                'select coalesce(pg_catalog.jsonb_object_agg(_c.id::text, pg_catalog.to_jsonb(docpal_private.cell_columns($3, _c.m)))
                                     filter (where true = any (_c.m)), ''{}''),
                        coalesce(pg_catalog.array_agg(_c.id), ''{}'')
                   from (select _t.id, %s as m from %s where _t.id = any ($2)) _c',
                v_matched, docpal_private.q_from(v_state, false))
               into v_found, v_existing using v_state->'params', v_ids, v_perm->'grants';
        end if;
        v_gone := '{}';
        if v_open then
            select coalesce(pg_catalog.jsonb_object_agg(i::text, pg_catalog.to_jsonb(docpal_private.cell_columns(v_perm->'grants', null))), '{}')
              into v_gone
              from pg_catalog.unnest(coalesce(v_ids, '{}')) i
             where i <> all (v_existing);
        end if;
        v_access := v_access || pg_catalog.jsonb_build_object(v_table, v_gone || v_found);
    end loop;
    return v_access;
end
$$;
