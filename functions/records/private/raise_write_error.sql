create or replace function docpal_private.raise_write_error(
    p_schema text, p_spec jsonb, p_rows jsonb,
    p_state text, p_message text, p_detail text, p_constraint text, p_column text,
    p_readable text[] default null)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Re-raises an error of a record write in the contract's words: the table,
   the column and the rule, and for 23514 a JSON DETAIL {column, rule, value}.
   p_rows are the records being written (an array), used to name the column
   and the value at fault. 23505 (rule unique) and 23503 (rule relation)
   carry the same JSON DETAIL instead of PostgreSQL's "Key (...)=(...)" one.
   A value the caller may not read is null in the DETAIL and left out of
   the message (contract section 6): p_readable are the columns the caller
   may read on the row written (null: every column). Errors it does not know
   are re-raised unchanged. */
declare
    v_table text := p_spec->>'slug';
    v_column jsonb;
    v_key text;
    v_rule text;
    v_value jsonb;
    v_row jsonb;
    v_check text;
    v_shown boolean;
begin
    if p_constraint is not null then
        select c, o.key into v_column, v_key
          from pg_catalog.jsonb_array_elements(p_spec->'columns') c, pg_catalog.jsonb_each_text(c->'objects') o
         where o.value = p_constraint;
    end if;

    v_shown := p_readable is null or (v_column->>'name') = any (p_readable);
    if p_state = '23514' and v_key like 'check:%' then
        v_rule := pg_catalog.substr(v_key, 7);
        select c.expression into v_check from docpal_private.column_checks(p_schema, v_column) c where c.rule = v_rule;
        -- the first written value that breaks the rule
        execute pg_catalog.format(
            'select x.r->%L from pg_catalog.jsonb_array_elements($1) x(r)
              where not coalesce((select %s from pg_catalog.jsonb_populate_record(null::%I.%I, x.r) as _t), true) limit 1',
            v_column->>'name', v_check, p_schema, v_table)
           into v_value using p_rows;
        if not v_shown then
            v_value := null;
        end if;
        raise exception using errcode = '23514',
            message = pg_catalog.format('%s.%s: %s breaks rule %s', v_table, v_column->>'name',
                                        coalesce(v_value::text, 'the value'), v_rule),
            detail = pg_catalog.jsonb_build_object('column', v_column->>'name', 'rule', v_rule, 'value', v_value)::text;
    elsif p_state in ('23505', '23503') and v_key in ('unique', 'fkey') then
        -- the value written (one row: which of several collided is not known)
        if v_shown and pg_catalog.jsonb_array_length(p_rows) = 1 then
            v_value := p_rows->0->(v_column->>'name');
        end if;
        raise exception using errcode = p_state,
            message = case when p_state = '23505'
                           then pg_catalog.format('%s.%s: the value is already taken', v_table, v_column->>'name')
                           else pg_catalog.format('%s.%s: the referenced %s does not exist', v_table, v_column->>'name',
                                                  coalesce(v_column->>'target', v_column->>'type')) end,
            detail = pg_catalog.jsonb_build_object('column', v_column->>'name',
                                                   'rule', case when p_state = '23505' then 'unique' else 'relation' end,
                                                   'value', v_value)::text;
    elsif p_state in ('23505', '23503') then
        -- another constraint (the primary key, a junction's): PostgreSQL's DETAIL quotes values
        raise exception using errcode = p_state, message = p_message;
    elsif p_state = '23502' then
        raise exception using errcode = '23502',
            message = pg_catalog.format('%s.%s is required', v_table, coalesce(p_column, '?'));
    elsif p_state in ('22P02', '22007', '22008', '22003', '22001', '2202E') then
        -- which column: convert the values one key at a time until one fails
        for v_row in select r from pg_catalog.jsonb_array_elements(p_rows) r limit 1000 loop
            for v_key in select k from pg_catalog.jsonb_object_keys(v_row) k loop
                begin
                    execute pg_catalog.format('select (pg_catalog.jsonb_populate_record(null::%I.%I, $1)).%I',
                                              p_schema, v_table, v_key)
                      using pg_catalog.jsonb_build_object(v_key, v_row->v_key);
                exception when others then
                    raise exception using errcode = p_state,
                        message = pg_catalog.format('%s.%s: %s', v_table, v_key, p_message);
                end;
            end loop;
        end loop;
    end if;
    if p_detail is null then
        raise exception using errcode = p_state, message = p_message;
    end if;
    raise exception using errcode = p_state, message = p_message, detail = p_detail;
end
$$;
