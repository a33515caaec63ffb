create or replace function docpal_private.q_child_aggregate(
    inout p_state jsonb, p_path text, p_many jsonb, p_fn text, p_rest text,
    out o_sql text, out o_kind text, out o_column jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A child aggregate (contract 4.1): count(students), sum(order_lines.amount),
   avg, min, max of the path p_rest (on the child table) over the records of
   list p_many (docpal_private.q_to_many) under the current row: a scalar
   subquery the planner runs per row it needs (the page's rows in columns;
   each candidate row in a filter or sort), reading the children through
   the index on their link. The children are those the member may see
   (docpal_private.q_child_where) and the path is checked and masked as any
   path is. count is 0 without children, the others null. sum and avg take
   numbers, min and max ordered values (22023). */
declare
    v_child jsonb;
    v_link text;
    v_expr text;
    v_r record;
begin
    if p_fn = 'count' and p_rest is not null then
        raise exception using errcode = '22023', message = pg_catalog.format(
            '%s: count() counts the records of a list, as in count(students)', p_path);
    end if;
    if p_fn <> 'count' and p_rest is null then
        raise exception using errcode = '22023', message = pg_catalog.format(
            '%s: %s() takes a path in the list, as in %s(order_lines.amount)', p_path, p_fn, p_fn);
    end if;
    v_r := docpal_private.q_child_state(p_state, p_many, p_path);
    p_state := v_r.p_state;
    v_child := v_r.o_child;
    v_link := v_r.o_link;
    if p_fn = 'count' then
        v_expr := 'pg_catalog.count(*)';
        o_kind := 'bigint';
        o_column := '{"type": "bigint"}';
    else
        v_r := docpal_private.q_path(v_child, p_rest, true);
        v_child := v_r.p_state;
        o_kind := v_r.o_kind;
        o_column := v_r.o_column;
        if p_fn in ('sum', 'avg') and o_kind not in ('integer', 'bigint', 'decimal', 'float', 'currency', 'percent',
                                                     'rating', 'autonumber', 'formula') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('%s: %s() needs a number column, not %s', p_path, p_fn, o_kind);
        end if;
        if p_fn in ('min', 'max') and o_kind in ('uuid', 'relation', 'user', 'file', 'boolean', 'json', 'json_path',
                                                 'multi_select', 'relation_many') then
            raise exception using errcode = '22023', message = pg_catalog.format(
                '%s: %s() needs an ordered column (text, number, date, time), not %s', p_path, p_fn, o_kind);
        end if;
        v_expr := pg_catalog.format('pg_catalog.%s(%s)', p_fn, v_r.o_sql);
        if p_fn in ('sum', 'avg') then
            o_kind := 'decimal';
            o_column := '{"type": "decimal"}';
        end if;
    end if;
    o_sql := pg_catalog.format('(select %s from %s where %s)', v_expr, docpal_private.q_from(v_child, false), v_link);
    p_state := docpal_private.q_child_merge(p_state, v_child) || '{"joined": false}'::jsonb;
end
$$;
