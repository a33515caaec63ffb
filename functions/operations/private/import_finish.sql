create or replace function docpal_private.import_finish(p_company uuid)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The last step of an import begun in this transaction
   (docpal_private.import_begin): checks every relation, file and
   relation_many reference at once (23503 when a record or file the
   document does not hold is named) and makes those foreign keys immediate
   again, moves each autonumber sequence and the workflow log's and audit
   log's ids past the imported values, and in history mode seals the
   imported audit log (docpal_private.seal_audit), so that
   verify_audit_chain() holds on the new company, leaves the events outbox
   empty (the import's inserts are no business events: no workflow of an
   event rule starts for an imported record) and turns the company's events
   back on (its exported settings). 22023 when no import of
   p_company is under way. */
declare
    v_state record;
    v_item jsonb;
    v_max bigint;
    v_spec jsonb;
    v_column text;
    v_sqlstate text;
    v_message text;
    v_detail text;
begin
    -- the import's state (a temporary table of import_begin, which plpgsql_check cannot see)
    perform 'PRAGMA:table: docpal_import (company_id uuid, schema_name text, history boolean, users jsonb, constraints jsonb, history_in boolean, settings jsonb)';
    select * into v_state from docpal_private.import_state(p_company);
    begin
        set constraints all immediate;
        -- a distributed company's foreign keys, made again (import_begin dropped them)
        for v_item in select c from pg_catalog.jsonb_array_elements(v_state.constraints) c where c->>2 is not null loop
            execute pg_catalog.format('alter table %I.%I add constraint %I %s',
                                      v_state.schema_name, v_item->>0, v_item->>1, v_item->>2);
        end loop;
    exception when foreign_key_violation then
        get stacked diagnostics v_sqlstate = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail;
        raise exception using errcode = v_sqlstate,
            message = pg_catalog.format('the export names a record or file it does not hold: %s', v_message), detail = v_detail;
    end;
    for v_item in select c from pg_catalog.jsonb_array_elements(v_state.constraints) c where c->>2 is null loop
        execute pg_catalog.format('alter table %I.%I alter constraint %I not deferrable',
                                  v_state.schema_name, v_item->>0, v_item->>1);
    end loop;
    -- history mode: the capture of inserts back on (import_begin), once no trigger event is pending
    for v_column in
        select tg.tgrelid::regclass::text
          from pg_catalog.pg_trigger tg join pg_catalog.pg_class cl on cl.oid = tg.tgrelid
         where cl.relnamespace = v_state.schema_name::regnamespace and tg.tgname = '_docpal_audit_insert'
           and tg.tgenabled = 'D'
    loop
        execute pg_catalog.format('alter table %s enable trigger _docpal_audit_insert', v_column);
    end loop;
    -- sequences past what the import brought (the highest value read first, the
    -- sequence set here: in one query on a distributed company's table Citus would
    -- set the worker's sequence instead of the coordinator's)
    for v_spec in execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = ''table''', v_state.schema_name) loop
        for v_column in select c->>'name' from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'type' = 'autonumber' loop
            execute pg_catalog.format('select pg_catalog.max(t.%I) from %I.%I t', v_column, v_state.schema_name, v_spec->>'slug')
               into v_max;
            if v_max is not null then
                perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence(
                            pg_catalog.format('%I.%I', v_state.schema_name, v_spec->>'slug'), v_column), v_max);
            end if;
        end loop;
    end loop;
    if pg_catalog.to_regclass(pg_catalog.format('%I._workflow_log', v_state.schema_name)) is not null then
        execute pg_catalog.format('select pg_catalog.max(l.id) from %I._workflow_log l', v_state.schema_name) into v_max;
        if v_max is not null then
            perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence(
                        pg_catalog.format('%I._workflow_log', v_state.schema_name), 'id'), v_max);
        end if;
    end if;
    if v_state.history then
        if not v_state.history_in then
            -- no history entry came (an empty log): the import's own entries go all the same
            perform docpal_private.import_clear_audit(v_state.schema_name);
        end if;
        perform docpal_private.seal_audit(v_state.schema_name);
    end if;
    if docpal_private.company_distributed(v_state.schema_name) then
        -- a distributed company's entries take their ids from its clock: started
        -- again (0), its next entry goes past every id the import brought
        -- (docpal_private.clock_take), not after the import's own entries
        execute pg_catalog.format('update %I._clock c set audit_id = 0', v_state.schema_name);
    end if;
    -- an import is a restore, not a stream of business events: the company's events were off
    -- while it wrote (import_begin), and the outbox, which nobody can have read (the company
    -- was made in this transaction), is left empty whatever wrote to it; then the exported
    -- settings come back and, with events on, the capture functions are made again with them
    -- (what docpal.update_company does when settings.events changes)
    if pg_catalog.to_regclass(pg_catalog.format('%I._events', v_state.schema_name)) is not null then
        execute pg_catalog.format('delete from %I._events', v_state.schema_name);
    end if;
    update docpal_private.companies c set settings = v_state.settings where c.id = p_company;
    if v_state.settings->'events' is distinct from 'false'::jsonb then
        perform docpal_private.audit_setup(v_state.schema_name::regnamespace);
    end if;
    delete from pg_temp.docpal_import i where i.company_id = p_company;
end
$$;
