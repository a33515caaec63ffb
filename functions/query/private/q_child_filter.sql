create or replace function docpal_private.q_child_filter(
    inout p_state jsonb, p_key text, p_value jsonb, p_depth integer, out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A filter by the children of a row (contract 4.1): p_key names a list of
   records (docpal_private.q_to_many: "students", "students!class_id", a
   relation_many column) and p_value is {"_some": f}, {"_none": f} or
   {"_every": f}, f a filter on the child table. A semi join (EXISTS), an
   anti join (NOT EXISTS), and for _every an anti join on the children f
   does not hold for (so a row without children passes, and a child f is
   unknown for fails it). The child query sees what the member may see of
   the child table (docpal_private.q_child_where). 22023 for anything but
   one of the three keys; 42703 when p_key is not a list. */
declare
    v_op text;
    v_many jsonb;
    v_child jsonb;
    v_link text;
    v_cond text;
    v_r record;
begin
    v_r := docpal_private.q_to_many(p_state, p_key, p_state->>'root', p_key);
    p_state := v_r.p_state;
    v_many := v_r.o_many;
    if v_many is null then
        raise exception using errcode = '42703', message = pg_catalog.format(
            'path %L: table %s has no column of that name, and it names no list of records (a table whose relation leads here)',
            p_key, p_state->>'root');
    end if;
    if pg_catalog.jsonb_typeof(p_value) <> 'object'
       or (select pg_catalog.count(*) from pg_catalog.jsonb_object_keys(p_value)) <> 1 then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: a filter by a list of records is {"_some" | "_none" | "_every": filter}', p_key);
    end if;
    v_op := (select k from pg_catalog.jsonb_object_keys(p_value) k);
    if v_op not in ('_some', '_none', '_every') then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: a filter by a list of records is {"_some" | "_none" | "_every": filter}', p_key);
    end if;
    v_r := docpal_private.q_child_state(p_state, v_many, p_key);
    p_state := v_r.p_state;
    v_child := v_r.o_child;
    v_link := v_r.o_link;
    v_r := docpal_private.q_filter(v_child, p_value->v_op, p_depth + 1);
    v_child := v_r.p_state;
    v_cond := v_r.o_sql;
    o_sql := pg_catalog.format(case v_op when '_some' then 'exists (select from %s where %s and %s)'
                                         when '_none' then 'not exists (select from %s where %s and %s)'
                                         else 'not exists (select from %s where %s and (%s) is not true)' end,
                               docpal_private.q_from(v_child, false), v_link, v_cond);
    p_state := docpal_private.q_child_merge(p_state, v_child);
end
$$;
