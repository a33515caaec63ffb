create or replace function docpal_private.event_rule_sql(p_schema text, p_spec jsonb, p_when jsonb, p_alias text)
    returns text
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* An event rule's `when` (the query engine's filter syntax) as one SQL
   condition on the row alias p_alias, for baking into the table's capture
   function: the query engine compiles it against the root alias _t with its
   values as parameters ($1->N), which become one jsonb literal here (made
   by format %L, after every other rewrite, so no value can change the SQL
   around it). Only
   the table's own columns: a path through a relation (a join) or a list of
   records (_some, count(students): a child query) is 22023, an
   unknown column 42703 (from the query engine). Variables mean the write:
   $user is the capture function's _user (the user whose context made the
   write, as the audit log records it; null for plain SQL without one, which
   matches nothing), $now is pg_catalog.now() of the writing transaction; the
   company's time zone ($now on a date or time path) is the one it has when
   the capture function is made (update_company makes them again when it
   changes). */
declare
    v_state jsonb := pg_catalog.jsonb_build_object('schema', p_schema, 'root', p_spec->>'slug',
                                                   'specs', pg_catalog.jsonb_build_object(p_spec->>'slug', p_spec),
                                                   'joins', '{}'::jsonb, 'params', '[]'::jsonb,
                                                   'vars', '{"user_sql": "_user"}'::jsonb);
    v_sql text;
    v_params text;
begin
    if p_when is null or p_when = 'null'::jsonb or p_when = '{}'::jsonb then
        return 'true';
    end if;
    select f.p_state, f.o_sql into v_state, v_sql from docpal_private.q_filter(v_state, p_when) f;
    if v_state->'joins' <> '{}'::jsonb or v_state ? 'children' then
        raise exception using errcode = '22023',
            message = 'an event rule''s when may use only the table''s own columns',
            hint = 'The rule is evaluated on the written row itself, without joins.';
    end if;
    -- the alias first, while the SQL holds no values (they are all $1->N
    -- references); then the values as one literal, which nothing rewrites
    v_sql := pg_catalog.replace(v_sql, '_t.', p_alias || '.');
    v_params := pg_catalog.format('(%L::jsonb->', v_state->>'params');
    return pg_catalog.replace(v_sql, '($1->', v_params);
end
$$;
