create or replace function docpal_private.adopt_fault(
    p_schema text, p_slug text, p_source_name text, p_mapping jsonb, p_from text, p_time_zone text,
    p_state text, p_message text, p_constraint text, p_column text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Re-raises the error of adopt_table's copy statement naming the docpal
   column, the source column and the value at fault, found again with
   read-only queries over the source (run only after a failure):
   - a docpal constraint (CHECK of a rule: 23514; unique: 23505; a
     relation's foreign key: 23503) is mapped back to its column through
     the table's catalog "objects", and the first source row breaking it is
     looked up;
   - a value that does not convert (class 22): the columns are converted
     one at a time until one fails, and its first value that does not
     convert is named (22007/22008 stay as PostgreSQL says, any other
     conversion error is 22P02);
   - 23502 names the required column.
   DETAIL is JSON {column, source_column, rule, value}. p_from is the FROM
   clause of the copy (with its WITH prefix and joins: `<with> select ...
   from <p_from>`, split at the marker /*select*/). The values come from the
   source, which the caller may read (adopt_source). Errors it cannot place
   are re-raised unchanged. */
declare
    v_spec jsonb := docpal_private.table_spec(p_schema, p_slug);
    v_with text := coalesce(pg_catalog.split_part(p_from, '/*select*/', 1), '');
    v_tail text := pg_catalog.split_part(p_from, '/*select*/', 2);
    v_column jsonb;
    v_key text;
    v_entry jsonb;
    v_rule text;
    v_check text;
    v_value text;
    v_state text := p_state;
    v_message text;
    v_type oid;
    v_typmod integer;
begin
    if p_constraint is not null then
        select c, o.key into v_column, v_key
          from pg_catalog.jsonb_array_elements(v_spec->'columns') c, pg_catalog.jsonb_each_text(c->'objects') o
         where o.value = p_constraint;
    elsif p_state = '23502' then
        select c into v_column from pg_catalog.jsonb_array_elements(v_spec->'columns') c where c->>'name' = p_column;
        v_key := 'required';
    end if;
    if v_column is not null then
        select e into v_entry from pg_catalog.jsonb_array_elements(p_mapping) e where e->>'column' = v_column->>'name';
    end if;

    if v_entry is not null and p_state = '23514' and v_key like 'check:%' then
        v_rule := pg_catalog.substr(v_key, 7);
        select c.expression into v_check from docpal_private.column_checks(p_schema, v_column) c where c.rule = v_rule;
        execute pg_catalog.format('%s select pg_catalog.to_jsonb(x.%I)::text from (select %s as %I from %s) x where not coalesce((%s), true) limit 1',
                                  v_with, v_column->>'name', v_entry->>'_expr', v_column->>'name', v_tail, v_check)
           into v_value using p_time_zone;
    elsif v_entry is not null and p_state = '23505' and v_key = 'unique' then
        v_rule := 'unique';
        execute pg_catalog.format('%s select pg_catalog.to_jsonb(x.v)::text from (select %s as v from %s) x
                                     where x.v is not null group by x.v having pg_catalog.count(*) > 1 limit 1',
                                  v_with, v_entry->>'_expr', v_tail)
           into v_value using p_time_zone;
    elsif v_entry is not null and p_state = '23503' and v_key = 'fkey' and v_entry ? '_missing' then
        v_rule := 'relation';
        execute pg_catalog.format('%s select pg_catalog.to_jsonb(%s)::text from %s where %s limit 1',
                                  v_with, v_entry->>'_src', v_tail, v_entry->>'_missing')
           into v_value using p_time_zone;
    elsif v_entry is not null and p_state = '23502' then
        v_rule := 'required';
    elsif pg_catalog.left(p_state, 2) = '22' then
        -- which column: each converted on its own, in column order
        for v_entry in select e from pg_catalog.jsonb_array_elements(p_mapping) e where e ? '_expr' loop
            begin
                execute pg_catalog.format('%s select pg_catalog.count(%s) from %s', v_with, v_entry->>'_expr', v_tail)
                  using p_time_zone;
            exception when data_exception then
                get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
                exit;
            end;
            v_entry := null;
        end loop;
        if v_entry is not null then
            v_rule := 'type';
            if v_state not in ('22007', '22008') then
                v_state := '22P02';
            end if;
            if v_entry ? '_cast' then
                select a.atttypid, a.atttypmod into v_type, v_typmod
                  from pg_catalog.pg_attribute a
                 where a.attrelid = pg_catalog.format('%I.%I', p_schema, p_slug)::regclass
                   and a.attname = v_entry->>'column';
                execute pg_catalog.format(
                    '%s select pg_catalog.to_jsonb(d.v)::text from (select (%s)::text as v from %s where _s.%I is not null) d
                      where not docpal_private.adopt_fits(d.v, $1, $2) limit 1',
                    v_with, v_entry->>'_src', v_tail, v_entry->>'source_column')
                   into v_value using v_type, v_typmod;
            end if;
        end if;
    end if;

    if v_rule is null or v_entry is null then
        if p_state = '23514' and v_key is null then
            -- not a docpal rule (a trigger's own check): as PostgreSQL said it
            raise exception using errcode = p_state, message = p_message;
        end if;
        raise exception using errcode = p_state,
            message = pg_catalog.format('adopting %s as %s failed: %s', p_source_name, p_slug, p_message);
    end if;
    raise exception using errcode = case when v_rule = 'type' then v_state else p_state end,
        message = pg_catalog.format('adopting %s as %s: %s.%s (source column %s) %s', p_source_name, p_slug,
                                    p_slug, v_entry->>'column', v_entry->>'source_column',
                                    case v_rule
                                        when 'type' then coalesce('value ' || v_value || ' does not convert to '
                                                                  || (v_entry->>'type') || ': ', '') || v_message
                                        when 'required' then 'is required and a source row has no value'
                                        when 'unique' then 'value ' || coalesce(v_value, '?') || ' is not unique'
                                        when 'relation' then 'value ' || coalesce(v_value, '?')
                                                             || ' has no record in ' || (v_entry->>'target')
                                        else 'value ' || coalesce(v_value, '?') || ' breaks rule ' || v_rule end),
        detail = pg_catalog.jsonb_build_object('column', v_entry->>'column', 'source_column', v_entry->>'source_column',
                                               'rule', v_rule, 'value', v_value::jsonb)::text,
        hint = 'Nothing was created. Fix the source rows, or change the column with spec.columns.';
end
$$;
