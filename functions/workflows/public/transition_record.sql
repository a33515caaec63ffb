-- grant: docpal_service, docpal_app
create or replace function docpal.transition_record(slug text, id uuid, transition text, comment text default null)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Makes (or approves) a transition of a table's workflow on one record:
   {state, pending_approvals}. With approvals N the state moves when N
   distinct permitted users have made it since the record came into its
   current state; until then each one is an approval in the workflow log
   (the same user again writes nothing). The move is a plain UPDATE of the
   state column, logged and audited as an UPDATE by the user in context.
   The record row is locked first, so concurrent approvers go one at a
   time and the state moves once. 42P01 unknown table, 22023 unknown
   transition or a record not in one of its from states, 42501 a user
   without one of the transition's roles (owner and admin imply none) or
   without read permission on the table, P0002 a record that does not
   exist or that no read grant of the caller covers. Where the caller may
   not read the state column on this record (grants combine cell by cell),
   the state it returns or names in an error is null. */
declare
    v_ctx docpal_private.caller;
    v_spec jsonb;
    v_workflow jsonb;
    v_step jsonb;
    v_column text;
    v_perm jsonb;
    v_found boolean;
    v_state text;
    v_needed integer;
    v_count integer;
    v_again boolean;
    v_matched boolean[];
    v_shown boolean;
begin
    perform docpal_private.citus_share();  -- the context on to Citus workers, if any
    select * into v_ctx from docpal_private.require_company();
    v_spec := docpal_private.table_spec(v_ctx.schema_name, transition_record.slug);
    if v_spec ? 'workflows' then
        execute pg_catalog.format(
            'select c.spec, t from %I._catalog c, pg_catalog.jsonb_array_elements(c.spec->''transitions'') t
              where c.kind = $1 and c.slug = any ($2) and t->>''name'' = $3', v_ctx.schema_name)
           into v_workflow, v_step
          using 'workflow', array(select w.value->>'workflow' from pg_catalog.jsonb_each(v_spec->'workflows') w),
                transition_record.transition;
    end if;
    if v_step is null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('table %s has no workflow transition %L', transition_record.slug, transition_record.transition);
    end if;
    v_column := v_workflow->>'state_column';
    -- who may: one of the listed roles (none listed: any member); a key must be allowed to write
    if v_ctx.scopes is not null and not ('update' = any (v_ctx.scopes)) then
        raise exception using errcode = '42501', message = 'an API key without the update scope cannot make transitions';
    end if;
    if pg_catalog.jsonb_array_length(coalesce(v_step->'roles', '[]')) > 0
       and not (v_step->'roles' ?| docpal_private.workflow_roles(v_ctx.schema_name, v_ctx.user_id, v_ctx.member_role)) then
        raise exception using errcode = '42501',
            message = pg_catalog.format('transition %s of workflow %s needs one of the roles %s (user %s)',
                                        v_step->>'name', v_workflow->>'name',
                                        pg_catalog.array_to_string(array(select pg_catalog.jsonb_array_elements_text(v_step->'roles')), ', '),
                                        v_ctx.user_id);
    end if;
    -- the record: it must be one the caller may read; locked, so approvers go one at a time
    v_perm := docpal_private.require_permission(v_ctx, transition_record.slug, 'read');
    select c.record->>v_column, true, c.matched into v_state, v_found, v_matched
      from docpal_private.record_cells(v_ctx.schema_name, v_spec, v_perm->'grants', array[transition_record.id], true) c;
    if v_found and not coalesce(true = any (v_matched), false) then
        v_found := null;  -- outside every read grant's filter: invisible
    end if;
    if v_found is null then
        raise exception using errcode = 'P0002',
            message = pg_catalog.format('record %s of table %s does not exist', transition_record.id, transition_record.slug);
    end if;
    v_shown := coalesce(v_column = any (docpal_private.cell_columns(v_perm->'grants', v_matched)), true);
    if v_state is null or not (v_step->'from' ? v_state) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('record %s of table %s is in state %s: transition %s goes from %s',
                                        transition_record.id, transition_record.slug,
                                        case when v_shown then coalesce(v_state, 'null') else 'a state you may not read' end,
                                        v_step->>'name',
                                        pg_catalog.array_to_string(array(select pg_catalog.jsonb_array_elements_text(v_step->'from')), ', '));
    end if;

    -- the approvals of this transition made in this state since the record last moved
    perform docpal_private.workflow_tables(v_ctx.schema_name);
    v_needed := coalesce((v_step->>'approvals')::integer, 1);
    execute pg_catalog.format(
        'select pg_catalog.count(distinct l.user_id)::integer, coalesce(pg_catalog.bool_or(l.user_id = $6), false)
           from %1$I._workflow_log l
          where l."table" = $1 and l.record_id = $2 and l.workflow = $3 and l.transition = $4 and l.from_state = $5
            and l.kind = ''approval''
            and l.id > coalesce((select pg_catalog.max(t.id) from %1$I._workflow_log t
                                  where t."table" = $1 and t.record_id = $2 and t.workflow = $3 and t.kind = ''transition''), 0)',
        v_ctx.schema_name)
       into v_count, v_again
      using transition_record.slug, transition_record.id, v_workflow->>'name', v_step->>'name', v_state, v_ctx.user_id;
    if v_again then
        return pg_catalog.jsonb_build_object('state', case when v_shown then v_state end,
                                             'pending_approvals', greatest(v_needed - v_count, 0));
    end if;
    if v_count + 1 < v_needed then
        execute pg_catalog.format(
            'insert into %I._workflow_log ("table", record_id, workflow, transition, from_state, to_state, user_id, comment, kind)
             values ($1, $2, $3, $4, $5, null, $6, $7, ''approval'')', v_ctx.schema_name)
          using transition_record.slug, transition_record.id, v_workflow->>'name', v_step->>'name', v_state,
                v_ctx.user_id, transition_record.comment;
        return pg_catalog.jsonb_build_object('state', case when v_shown then v_state end,
                                             'pending_approvals', v_needed - v_count - 1);
    end if;
    -- the last approval needed: the state moves (audited as an UPDATE by the user in context)
    execute pg_catalog.format('update %I.%I _t set %I = $1, updated_by = $2 where _t.id = $3',
                              v_ctx.schema_name, transition_record.slug, v_column)
      using v_step->>'to', v_ctx.user_id, transition_record.id;
    execute pg_catalog.format(
        'insert into %I._workflow_log ("table", record_id, workflow, transition, from_state, to_state, user_id, comment, kind)
         values ($1, $2, $3, $4, $5, $6, $7, $8, ''transition'')', v_ctx.schema_name)
      using transition_record.slug, transition_record.id, v_workflow->>'name', v_step->>'name', v_state, v_step->>'to',
            v_ctx.user_id, transition_record.comment;
    return pg_catalog.jsonb_build_object('state', case when v_shown then v_step->>'to' end, 'pending_approvals', 0);
end
$$;
