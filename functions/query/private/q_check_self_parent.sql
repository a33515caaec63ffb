create or replace function docpal_private.q_check_self_parent(p_state jsonb, p_slug text, p_parent text)
    returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* 22023 unless column p_parent of table p_slug is a relation of the table
   to itself: the parent link query_tree and query_breadcrumb follow (42703
   for an unknown column, from column_spec). */
declare
    v_parent jsonb := docpal_private.column_spec(p_state->'specs'->p_slug, p_parent);
begin
    if v_parent->>'type' <> 'relation' or v_parent->>'target' <> p_slug then
        raise exception using errcode = '22023',
            message = pg_catalog.format('parent %s must be a relation of %s to itself', p_parent, p_slug);
    end if;
end
$$;
