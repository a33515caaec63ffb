create or replace function docpal_private.q_child_state(
    inout p_state jsonb, p_many jsonb, p_path text, out o_child jsonb, out o_link text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The compiler state of a child query: the records of list p_many
   (docpal_private.q_to_many) under the current row of p_state, for an embed
   (q_embed), a _some/_none/_every filter (q_child_filter) or a child
   aggregate (q_child_aggregate). The child is its own query level, rooted
   at the list's table under an alias of its own (_c1, _c2, ... counted in
   p_state.children, which carries across levels so no two children of one
   statement share one), with joins of its own (named after that alias);
   it shares the caller, the catalog specs, the permissions, the cell masks
   and the parameters of its parent, and hands them back through
   docpal_private.q_child_merge. o_link is the condition that ties the
   child to the parent's row, with what the member may see of the child
   table (docpal_private.q_child_where). 54000 past 64 children in a
   statement. */
declare
    v_r record;
    v_n integer := coalesce((p_state->>'children')::integer, 0) + 1;
    v_alias text := '_c' || v_n;
begin
    if v_n > 64 then
        raise exception using errcode = '54000',
            message = pg_catalog.format('path %L: a query may embed, filter by or count at most 64 lists of records', p_path);
    end if;
    p_state := p_state || pg_catalog.jsonb_build_object('children', v_n);
    o_child := (p_state - 'select' - 'select_joined' - 'where' - 'order' - 'order_items' - 'limit' - 'offset'
                        - 'count' - 'paths' - 'joined')
               || pg_catalog.jsonb_build_object('root', p_many->>'table', 'alias', v_alias, 'jprefix', v_alias,
                                                'joins', '{}'::jsonb, 'parent_alias', coalesce(p_state->>'alias', '_t'),
                                                'parent_table', p_state->>'root');
    v_r := docpal_private.q_child_where(o_child, p_many, p_path);
    o_child := v_r.p_child;
    o_link := v_r.o_sql;
end
$$;
