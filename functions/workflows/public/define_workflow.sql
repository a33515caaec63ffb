-- grant: docpal_service, docpal_app
create or replace function docpal.define_workflow(spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Defines (or, for the same name on the same table and column, replaces)
   an approval workflow: a state machine on a select column,
   {name, table, state_column, initial, transitions: [{name, from, to,
   roles, approvals}]}. Stored in the company catalog (kind workflow), the
   column marked in the table's spec so record writes check it at no cost
   for other tables; the company's workflow log is made on the first one.
   Returns the stored spec. Owners and admins only (42501). 22023 malformed
   spec (unknown key, missing or empty part, bad name, a state outside the
   column's options, approvals not 1..1000, an unknown role, a column that is
   not a select); 42P01 unknown table; 42703 unknown column; 42710 another
   workflow governs the column, the name is taken on another table or
   column, or a transition name is used by another workflow of the table. */
declare
    v_ctx record;
    v_name text;
    v_slug text;
    v_column text;
    v_initial text;
    v_table jsonb;
    v_options text[];
    v_known text[] := array['owner', 'admin', 'member'];
    v_step jsonb;
    v_key text;
    v_bad text;
    v_from jsonb;
    v_roles jsonb;
    v_approvals jsonb;
    v_names text[] := '{}';
    v_transitions jsonb := '[]';
    v_existing jsonb;
    v_other text;
    v_result jsonb;
begin
    perform docpal_private.check_spec_size(define_workflow.spec, 'define_workflow');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.check_keys(define_workflow.spec, 'a workflow spec must be a JSON object',
        array['name', 'table', 'state_column', 'initial', 'transitions'], 'unknown key %L in a workflow spec',
        'A workflow spec has name, table, state_column, initial and transitions.');
    select k into v_key from pg_catalog.unnest(array['name', 'table', 'state_column', 'initial']) k
     where pg_catalog.jsonb_typeof(define_workflow.spec->k) is distinct from 'string' limit 1;
    if v_key is not null then
        raise exception using errcode = '22023', message = pg_catalog.format('a workflow spec needs %s (a string)', v_key);
    end if;
    v_name := define_workflow.spec->>'name';
    v_slug := define_workflow.spec->>'table';
    v_column := define_workflow.spec->>'state_column';
    v_initial := define_workflow.spec->>'initial';
    if v_name !~ '^[a-z][a-z0-9_]{0,62}$' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('workflow name %L: lowercase letters, digits and _, starting with a letter', v_name);
    end if;
    if pg_catalog.jsonb_typeof(define_workflow.spec->'transitions') is distinct from 'array'
       or pg_catalog.jsonb_array_length(define_workflow.spec->'transitions') = 0 then
        raise exception using errcode = '22023', message = 'transitions is a non-empty array';
    end if;
    -- one definition at a time per company: names and columns are checked against the others
    perform docpal_private.company_lock(v_ctx.schema_name, 'define_workflow');
    v_table := docpal_private.table_spec(v_ctx.schema_name, v_slug);
    if docpal_private.column_spec(v_table, v_column)->>'type' <> 'select' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('column %s.%s is not a select column: a workflow state column is', v_slug, v_column);
    end if;
    v_options := docpal_private.column_options(v_ctx.schema_name, docpal_private.column_spec(v_table, v_column));
    if v_initial <> all (v_options) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('initial state %L is not an option of %s.%s', v_initial, v_slug, v_column);
    end if;
    if pg_catalog.to_regclass(pg_catalog.format('%I._roles', v_ctx.schema_name)) is not null then
        execute pg_catalog.format('select $1 || pg_catalog.array_agg(r.name) from %I._roles r', v_ctx.schema_name)
           into v_known using v_known;
        v_known := coalesce(v_known, array['owner', 'admin', 'member']);
    end if;

    for v_step in select t from pg_catalog.jsonb_array_elements(define_workflow.spec->'transitions') t loop
        perform docpal_private.check_keys(v_step, 'each transition is a JSON object',
            array['name', 'from', 'to', 'roles', 'approvals'], 'unknown key %L in a transition', 'A transition has name, from, to, roles and approvals.');
        if pg_catalog.jsonb_typeof(v_step->'name') is distinct from 'string' or v_step->>'name' !~ '^[a-z][a-z0-9_]{0,62}$' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('transition name %s: lowercase letters, digits and _, starting with a letter',
                                            coalesce(v_step->'name', 'null'));
        end if;
        if v_step->>'name' = any (v_names) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('transition %L appears twice in workflow %s', v_step->>'name', v_name);
        end if;
        v_names := v_names || (v_step->>'name');
        v_from := v_step->'from';
        if pg_catalog.jsonb_typeof(v_from) is distinct from 'array' or pg_catalog.jsonb_array_length(v_from) = 0
           or exists (select from pg_catalog.jsonb_array_elements(v_from) f where pg_catalog.jsonb_typeof(f) <> 'string') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('transition %s: from is a non-empty array of states', v_step->>'name');
        end if;
        select f into v_bad from pg_catalog.jsonb_array_elements_text(v_from) f where f <> all (v_options) limit 1;
        if v_bad is not null then
            raise exception using errcode = '22023',
                message = pg_catalog.format('transition %s: state %L is not an option of %s.%s', v_step->>'name', v_bad, v_slug, v_column);
        end if;
        if pg_catalog.jsonb_typeof(v_step->'to') is distinct from 'string' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('transition %s: to is a state (a string)', v_step->>'name');
        end if;
        if v_step->>'to' <> all (v_options) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('transition %s: state %L is not an option of %s.%s',
                                            v_step->>'name', v_step->>'to', v_slug, v_column);
        end if;
        v_roles := coalesce(nullif(v_step->'roles', 'null'), '[]');
        if pg_catalog.jsonb_typeof(v_roles) <> 'array'
           or exists (select from pg_catalog.jsonb_array_elements(v_roles) r where pg_catalog.jsonb_typeof(r) <> 'string') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('transition %s: roles is an array of role names', v_step->>'name');
        end if;
        select r into v_bad from pg_catalog.jsonb_array_elements_text(v_roles) r where r <> all (v_known) limit 1;
        if v_bad is not null then
            raise exception using errcode = '22023',
                message = pg_catalog.format('transition %s: role %L does not exist', v_step->>'name', v_bad),
                hint = 'Roles are owner, admin, member or a custom role made with docpal.create_role.';
        end if;
        v_approvals := coalesce(nullif(v_step->'approvals', 'null'), '1');
        if not docpal_private.whole_number(v_approvals, 1, 1000) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('transition %s: approvals is a whole number from 1 to 1000', v_step->>'name');
        end if;
        v_transitions := v_transitions || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
            'name', v_step->>'name',
            'from', (select pg_catalog.jsonb_agg(d.f order by d.o)
                       from (select distinct on (f) f, o from pg_catalog.jsonb_array_elements_text(v_from) with ordinality x(f, o)
                              order by f, o) d),
            'to', v_step->>'to',
            'roles', (select coalesce(pg_catalog.jsonb_agg(d.r order by d.o), '[]')
                        from (select distinct on (r) r, o from pg_catalog.jsonb_array_elements_text(v_roles) with ordinality x(r, o)
                               order by r, o) d),
            'approvals', (v_approvals #>> '{}')::numeric::integer));
    end loop;

    -- the name: a new one, or this workflow again (same table and column)
    execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = $1 and c.slug = $2', v_ctx.schema_name)
       into v_existing using 'workflow', v_name;
    if v_existing is not null and (v_existing->>'table' <> v_slug or v_existing->>'state_column' <> v_column) then
        raise exception using errcode = '42710',
            message = pg_catalog.format('workflow %s already exists (on %s.%s)', v_name,
                                        v_existing->>'table', v_existing->>'state_column');
    end if;
    v_other := v_table->'workflows'->v_column->>'workflow';
    if v_other is not null and v_other <> v_name then
        raise exception using errcode = '42710',
            message = pg_catalog.format('column %s.%s is already governed by workflow %s', v_slug, v_column, v_other);
    end if;
    -- transition_record names a transition by table: its name must say which workflow
    execute pg_catalog.format(
        'select pg_catalog.format(''%%s (workflow %%s)'', t->>''name'', c.slug)
           from %I._catalog c, pg_catalog.jsonb_array_elements(c.spec->''transitions'') t
          where c.kind = $1 and c.slug = any ($2) and c.slug <> $3 and t->>''name'' = any ($4)
          order by c.slug limit 1', v_ctx.schema_name)
       into v_bad
      using 'workflow', array(select w.value->>'workflow' from pg_catalog.jsonb_each(coalesce(v_table->'workflows', '{}')) w),
            v_name, v_names;
    if v_bad is not null then
        raise exception using errcode = '42710',
            message = pg_catalog.format('table %s already has a transition %s', v_slug, v_bad),
            hint = 'Transition names are unique per table: transition_record names only the transition.';
    end if;

    perform docpal_private.workflow_tables(v_ctx.schema_name);
    v_result := pg_catalog.jsonb_build_object('name', v_name, 'table', v_slug, 'state_column', v_column,
                                              'initial', v_initial, 'transitions', v_transitions);
    execute pg_catalog.format(
        'insert into %I._catalog as c (kind, slug, spec) values ($1, $2, $3)
         on conflict (kind, slug) do update set spec = excluded.spec, updated_at = pg_catalog.now()', v_ctx.schema_name)
      using 'workflow', v_name, v_result;
    perform docpal_private.save_table_spec(v_ctx.schema_name, v_table || pg_catalog.jsonb_build_object('workflows',
        coalesce(v_table->'workflows', '{}')
        || pg_catalog.jsonb_build_object(v_column, pg_catalog.jsonb_build_object('workflow', v_name, 'initial', v_initial))));
    return v_result;
end
$$;
