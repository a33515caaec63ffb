create or replace function docpal_private.q_child_where(
    inout p_child jsonb, p_many jsonb, p_path text, out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The condition that ties child query p_child (docpal_private.q_child_state)
   to its parent's current row (p_child.parent_alias), ANDed with what a
   member may see of the child table:
     reverse relation   child.link = parent.id; a member must be able to
                        read the child table and its link column (42501),
                        and where only some grants cover the link column
                        its cell condition applies (a child is listed
                        under a parent only where the member could read
                        which parent it has);
     relation_many      child.id among the parent's targets (the junction,
                        read by its index on source_id); a member must be
                        able to read the parent's relation_many column,
                        under its cell condition, and the child table;
   and for a member, the row filter of their read grants of the child table,
   compiled into the child query (as q_compile does for the root). Not for
   a permission's own filter (p_child.unchecked), which sees every row. */
declare
    v_member boolean := p_child ? 'who' and not coalesce((p_child->>'unchecked')::boolean, false);
    v_alias text := p_child->>'alias';
    v_perm jsonb;
    v_cond text;
    v_filter text;
    v_r record;
begin
    if v_member then
        p_child := docpal_private.q_check_readable(p_child, p_path, p_many->>'table',
                                                   case p_many->>'kind' when 'reverse' then p_many->>'column' else 'id' end);
    end if;
    if p_many->>'kind' = 'reverse' then
        o_sql := pg_catalog.format('%I.%I = %I.id', v_alias, p_many->>'column', p_child->>'parent_alias');
        if v_member then
            v_r := docpal_private.q_cell_mask(p_child, p_many->>'table', v_alias, p_many->>'column');
            p_child := v_r.p_state;
            if v_r.o_cond is not null then
                o_sql := o_sql || ' and ' || v_r.o_cond;
            end if;
        end if;
    else
        o_sql := pg_catalog.format(
            '%I.id = any (array(select _m.target_id from %I.%I _m where _m.source_id = %I.id))',
            v_alias, p_child->>'schema', p_many->>'junction', p_child->>'parent_alias');
        if v_member then
            p_child := docpal_private.q_check_readable(p_child, p_path, p_child->>'parent_table', p_many->>'column');
            v_r := docpal_private.q_cell_mask(p_child, p_child->>'parent_table', p_child->>'parent_alias', p_many->>'column');
            p_child := v_r.p_state;
            if v_r.o_cond is not null then
                o_sql := o_sql || ' and ' || v_r.o_cond;
            end if;
        end if;
    end if;
    v_perm := p_child->'perms'->(p_many->>'table');
    if v_member and v_perm->'row_filter' is not null and v_perm->'row_filter' <> 'null' then
        -- the filter may name columns the member cannot read: compiled unchecked
        select f.p_state, f.o_sql into p_child, v_filter
          from docpal_private.q_filter(p_child || '{"unchecked": true}', v_perm->'row_filter') f;
        p_child := p_child - 'unchecked';
        o_sql := o_sql || ' and (' || v_filter || ')';
    end if;
end
$$;
