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
    v_table jsonb;
    v_bad text;
    v_names text[];
    v_existing jsonb;
    v_other text;
    v_result jsonb;
begin
    perform docpal_private.check_spec_size(define_workflow.spec, 'define_workflow');
    select * into v_ctx from docpal_private.require_admin();
    v_result := docpal_private.workflow_spec(v_ctx.schema_name, define_workflow.spec);
    v_name := v_result->>'name';
    v_slug := v_result->>'table';
    v_column := v_result->>'state_column';
    v_names := array(select t->>'name' from pg_catalog.jsonb_array_elements(v_result->'transitions') t);
    -- one definition at a time per company: names and columns are checked against the others
    perform docpal_private.company_lock(v_ctx.schema_name, 'define_workflow');
    v_table := docpal_private.table_spec(v_ctx.schema_name, v_slug);

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
    -- the time is a parameter: Citus allows only immutable functions in DO UPDATE SET
    execute pg_catalog.format(
        'insert into %I._catalog as c (kind, slug, spec) values ($1, $2, $3)
         on conflict (kind, slug) do update set spec = excluded.spec, updated_at = $4', v_ctx.schema_name)
      using 'workflow', v_name, v_result, pg_catalog.now();
    perform docpal_private.save_table_spec(v_ctx.schema_name, v_table || pg_catalog.jsonb_build_object('workflows',
        coalesce(v_table->'workflows', '{}')
        || pg_catalog.jsonb_build_object(v_column, pg_catalog.jsonb_build_object('workflow', v_name, 'initial', v_result->>'initial'))));
    return v_result;
end
$$;
