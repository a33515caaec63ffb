create or replace function docpal_private.workflow_rows(p_spec jsonb, p_rows jsonb, out o_rows jsonb, out o_filled text[])
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* New records of a table with workflows (p_rows: an array of objects, as
   create_record and create_records write them): a state column that is
   absent or null gets its workflow's initial state, any other state is
   refused (23514, rule "workflow"; restore_record, which turns the signed
   switch audit_action to RESTORE, brings records back in the state they
   had: a client's own docpal.audit_action setting is not that switch). o_rows are the rows to write; o_filled the state columns that no
   row gave a value for (docpal wrote them, so they need no create
   permission of the caller). */
declare
    v_column text;
    v_initial text;
    v_value jsonb;
begin
    o_rows := p_rows;
    o_filled := '{}';
    for v_column, v_initial in
        select w.key, w.value->>'initial' from pg_catalog.jsonb_each(p_spec->'workflows') w order by w.key
    loop
        if docpal_private.switch('audit_action') is distinct from 'RESTORE' then
            select r->v_column into v_value
              from pg_catalog.jsonb_array_elements(o_rows) r
             where r->v_column is not null and r->v_column <> 'null' and (r->>v_column) is distinct from v_initial
             limit 1;
            if v_value is not null then
                raise exception using errcode = '23514',
                    message = pg_catalog.format('%s.%s: a new record starts in state %s (workflow %s), not %s',
                                                p_spec->>'slug', v_column, v_initial,
                                                p_spec->'workflows'->v_column->>'workflow', v_value),
                    detail = pg_catalog.jsonb_build_object('column', v_column, 'rule', 'workflow', 'value', v_value)::text,
                    hint = 'Leave the state out (or null): it starts at the initial state and moves with docpal.transition_record.';
            end if;
        end if;
        if not exists (select from pg_catalog.jsonb_array_elements(o_rows) r
                        where r->v_column is not null and r->v_column <> 'null') then
            o_filled := o_filled || v_column;
        end if;
        select pg_catalog.jsonb_agg(case when r->v_column is null or r->v_column = 'null'
                                         then r || pg_catalog.jsonb_build_object(v_column, v_initial) else r end
                                    order by o)
          into o_rows from pg_catalog.jsonb_array_elements(o_rows) with ordinality x(r, o);
    end loop;
end
$$;
