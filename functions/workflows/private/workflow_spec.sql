create or replace function docpal_private.workflow_spec(p_schema text, p_spec jsonb)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* A workflow spec (define_workflow) checked against the company p_schema
   and normalised: {name, table, state_column, initial, transitions: [{name,
   from, to, roles, approvals}]}, from and roles without repeats (first
   occurrence kept), roles [] and approvals 1 when absent or null. 22023
   malformed spec (unknown key, missing or empty part, bad or repeated
   name, a state outside the column's options, approvals not 1..1000, an
   unknown role, a column that is not a select); 42P01 unknown table; 42703
   unknown column. The checks against other workflows are define_workflow's,
   under its lock. */
declare
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
begin
    perform docpal_private.check_keys(p_spec, 'a workflow spec must be a JSON object',
        array['name', 'table', 'state_column', 'initial', 'transitions'], 'unknown key %L in a workflow spec',
        'A workflow spec has name, table, state_column, initial and transitions.');
    select k into v_key from pg_catalog.unnest(array['name', 'table', 'state_column', 'initial']) k
     where pg_catalog.jsonb_typeof(p_spec->k) is distinct from 'string' limit 1;
    if v_key is not null then
        raise exception using errcode = '22023', message = pg_catalog.format('a workflow spec needs %s (a string)', v_key);
    end if;
    v_name := p_spec->>'name';
    v_slug := p_spec->>'table';
    v_column := p_spec->>'state_column';
    v_initial := p_spec->>'initial';
    if v_name !~ '^[a-z][a-z0-9_]{0,62}$' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('workflow name %L: lowercase letters, digits and _, starting with a letter', v_name);
    end if;
    if pg_catalog.jsonb_typeof(p_spec->'transitions') is distinct from 'array'
       or pg_catalog.jsonb_array_length(p_spec->'transitions') = 0 then
        raise exception using errcode = '22023', message = 'transitions is a non-empty array';
    end if;
    v_table := docpal_private.table_spec(p_schema, v_slug);
    if docpal_private.column_spec(v_table, v_column)->>'type' <> 'select' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('column %s.%s is not a select column: a workflow state column is', v_slug, v_column);
    end if;
    v_options := docpal_private.column_options(p_schema, docpal_private.column_spec(v_table, v_column));
    if v_initial <> all (v_options) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('initial state %L is not an option of %s.%s', v_initial, v_slug, v_column);
    end if;
    if pg_catalog.to_regclass(pg_catalog.format('%I._roles', p_schema)) is not null then
        execute pg_catalog.format('select $1 || pg_catalog.array_agg(r.name) from %I._roles r', p_schema)
           into v_known using v_known;
        v_known := coalesce(v_known, array['owner', 'admin', 'member']);
    end if;

    for v_step in select t from pg_catalog.jsonb_array_elements(p_spec->'transitions') t loop
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
    return pg_catalog.jsonb_build_object('name', v_name, 'table', v_slug, 'state_column', v_column,
                                         'initial', v_initial, 'transitions', v_transitions);
end
$$;
