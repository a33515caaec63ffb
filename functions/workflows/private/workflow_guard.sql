create or replace function docpal_private.workflow_guard(p_schema text, p_spec jsonb, p_name text, p_column jsonb)
    returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Refuses (2BP01) a schema change that would leave a workflow without its
   column: column p_name of table spec p_spec becoming p_column (null: being
   dropped). While a workflow governs the column it cannot be dropped, must
   stay a select column, and its options (or type list) must keep every
   state the workflow names (initial, every from and to). Nothing to do for
   a column no workflow governs. */
declare
    v_workflow text := p_spec->'workflows'->p_name->>'workflow';
    v_wf jsonb;
    v_missing text;
begin
    if v_workflow is null then
        return;
    end if;
    if p_column is null then
        raise exception using errcode = '2BP01',
            message = pg_catalog.format('column %s.%s cannot be dropped: workflow %s governs it',
                                        p_spec->>'slug', p_name, v_workflow),
            hint = 'A workflow goes with its table (drop_table).';
    end if;
    if p_column->>'type' is distinct from 'select' then
        raise exception using errcode = '2BP01',
            message = pg_catalog.format('column %s.%s must stay a select column: workflow %s governs it',
                                        p_spec->>'slug', p_name, v_workflow);
    end if;
    execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = $1 and c.slug = $2', p_schema)
       into v_wf using 'workflow', v_workflow;
    select pg_catalog.string_agg(s.state, ', ' order by s.state) into v_missing
      from (select v_wf->>'initial' as state
            union
            select f from pg_catalog.jsonb_array_elements(v_wf->'transitions') t, pg_catalog.jsonb_array_elements_text(t->'from') f
            union
            select t->>'to' from pg_catalog.jsonb_array_elements(v_wf->'transitions') t) s
     where s.state <> all (docpal_private.column_options(p_schema, p_column));
    if v_missing is not null then
        raise exception using errcode = '2BP01',
            message = pg_catalog.format('column %s.%s must keep the states of workflow %s: %s would be gone',
                                        p_spec->>'slug', p_name, v_workflow, v_missing);
    end if;
end
$$;
