create or replace function docpal_private.q_default_order(p_state jsonb, p_expr text)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The compiled state ordered by p_expr, then by id (the views' default sort). */
begin
    return p_state || pg_catalog.jsonb_build_object(
        'order', p_expr || ', _t.id',
        'order_items', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('expr', p_expr, 'desc', false),
                                                    '{"expr": "_t.id", "desc": false}'::jsonb));
end
$$;
