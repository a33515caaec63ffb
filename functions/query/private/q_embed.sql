create or replace function docpal_private.q_embed(inout p_state jsonb, p_key text, p_spec jsonb, out o_sql text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* An embed (contract 4.1): the children of the current row in list p_key
   (docpal_private.q_to_many: "students", "students!class_id", a relation_many
   column), as a JSON array of rows shaped like query rows, compiled from
   p_spec (columns, which may embed again, filters, sort, limit: default 50,
   at most 1000) by docpal_private.q_compile on the child's state. One
   correlated subquery, a page of the child table made as the top query's
   page is (docpal_private.q_page_sql: the children's sort keys first,
   their JSON afterwards for the children kept, not for every child sorted),
   with the link to the parent's row added to its WHERE. It sits in the
   parent's row JSON, which is built for the rows of the page only, and
   reads the children by the index on their link. In child id order
   unless sorted. The member sees the children they may read
   (docpal_private.q_child_where). */
declare
    v_many jsonb;
    v_child jsonb;
    v_link text;
    v_r record;
begin
    if pg_catalog.jsonb_typeof(p_spec) is distinct from 'object' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('embed %s: {"columns": [...], "filters": {...}, "sort": [...], "limit": n}', p_key);
    end if;
    v_r := docpal_private.q_to_many(p_state, p_key, p_state->>'root', p_key);
    p_state := v_r.p_state;
    v_many := v_r.o_many;
    if v_many is null then
        raise exception using errcode = '42703', message = pg_catalog.format(
            'embed %L: not a list of records (a table whose relation leads here, or a relation_many column)', p_key);
    end if;
    v_r := docpal_private.q_child_state(p_state, v_many, p_key);
    p_state := v_r.p_state;
    v_child := v_r.o_child;
    v_link := v_r.o_link;
    v_child := docpal_private.q_compile(null, v_many->>'table', p_spec, '{}', v_child);
    -- a JSON of named columns carries just those through the child's sort
    -- (many children sorted for a few kept); the default row needs the whole row
    o_sql := '(' || docpal_private.q_page_sql(v_child, ' and ' || v_link, p_spec ? 'columns') || ')';
    p_state := docpal_private.q_child_merge(p_state, v_child);
end
$$;
