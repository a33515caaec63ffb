create or replace function docpal_private.event_rules_sql(p_schema text, p_spec jsonb, p_alias text, p_action text)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The workflow of an event as one SQL expression over row alias p_alias
   and the SQL expression p_action (the event's action): the first of the
   table's event rules, in the order they were made, whose actions hold the
   action and whose `when` holds for the row; null when none does. Every
   value of a rule is a literal made by format %L, and nothing replaces text
   in the result afterwards (a value may hold anything: dollar signs,
   quotes, backslashes). */
declare
    v_cases text := '';
    v_rule jsonb;
begin
    for v_rule in execute pg_catalog.format(
        'select c.spec from %I._catalog c where c.kind = ''event_rule'' and c.spec->>''table'' = $1
          order by c.created_at, c.slug', p_schema) using p_spec->>'slug'
    loop
        begin
            v_cases := v_cases || pg_catalog.format(
                ' when %s = any (%L::text[]) and (%s) then %L::jsonb',
                p_action,
                array(select pg_catalog.jsonb_array_elements_text(v_rule->'actions')),
                docpal_private.event_rule_sql(p_schema, p_spec, v_rule->'when', p_alias),
                pg_catalog.jsonb_build_object('name', v_rule->'workflow', 'task_queue', v_rule->'task_queue'));
        exception when undefined_column then
            -- a schema change took away a column the rule reads
            raise exception using errcode = '2BP01',
                message = pg_catalog.format('event rule %s of table %s uses a column this change removes', v_rule->>'id', p_spec->>'slug'),
                hint = 'Drop the rule first (drop_event_rule), then make it again.';
        end;
    end loop;
    if v_cases = '' then
        return 'null::jsonb';
    end if;
    return '(case' || v_cases || ' end)';
end
$$;
