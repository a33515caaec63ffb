create or replace function docpal_private.q_state(
    p_schema text, p_root text, p_specs jsonb default '{}', p_who jsonb default null, p_perm jsonb default null,
    p_params jsonb default '[]', p_base integer default 0)
    returns jsonb
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The query compiler's state, the one jsonb every q_ function reads and
       hands back: made here, by every compiler entry (q_compile, and
       q_row_filter_of_alias for a permission filter on a joined row). Every
       key, and who writes it:
         schema        the company schema                      q_state
         root          the table FROM starts at (alias _t)      q_state
         specs         catalog specs by table slug              q_state (q_compile's one catalog read);
                                                                q_path adds a table reached later
         joins         relation path -> {alias, table, from,    q_state ({}); q_register_join adds them
                       column, parent, n, filter, extra}        (and marks those a filter needs); q_from reads
         params        values bound as $1 (a jsonb array)       q_state; q_param appends, q_compile and
                                                                q_filter_list gather them (with base)
         base          index of params' first element in $1     q_state; q_compile, q_filter_list
         who           the caller, a member: {user_id, role,    q_state (absent for owners and admins:
                       scopes}                                  nothing below is then checked)
         perms         read permission by table slug            q_state (the root's); q_table_permission adds
         unchecked     compile a permission's own filter        q_compile, q_cell_condition, q_row_filter_of_alias
                       without the member's checks (transient)
         cells         alias.column -> {cond, joined}           q_cell_mask
         masks         alias:grant -> {sql, joined}             q_cell_condition
         joined        the last path read a joined table        q_path
         paths         name -> {sql, kind, column}: names a     aggregate (metric names in having)
                       filter reads as expressions
         vars          what filter variables read: {user,       q_variables (looked up once, on first use);
                       company, zone, user_sql}                 event_rule_sql sets user_sql (_user)
         select        the row JSON expression                  q_compile; query_dropdown, query_gantt
         select_joined the select reads joined tables           q_compile; query_dropdown, query_gantt
         where         the WHERE condition                      q_compile; query_dropdown (its search)
         order         ORDER BY list                            q_compile; q_default_order
         order_items   [{expr, desc}]: the sort keys            q_compile; q_default_order
         limit, offset the page                                 q_compile; query_kanban (per lane)
         count         exact, estimated or none                 q_compile
         tz            the parameter holding the company's     q_time_zone (functions of datetime paths)
                       time zone
         company       the parameter holding the company id   q_system_field (users are read only
                       (a user path reads members only)        while members)
         join_total    joins made so far in the statement,    q_register_join (the 64-path limit)
                       child queries' included
         children      child queries made so far (their        q_child_state
                       aliases _c1, _c2 ...)
       A child query (an embed, a _some filter, a child aggregate) has a
       state of its own, made by q_child_state from its parent's, with:
         alias         its root row's alias (_t in the top     q_child_state; q_path, q_from,
                       query, which has no key)                q_compile, q_cell_condition read it
         jprefix       the prefix of its joins' aliases        q_child_state; q_register_join
         parent_alias, the parent's row it belongs to         q_child_state; q_child_where
         parent_table
       and q_child_merge hands back to the parent what they share.
       The finished state is turned into SQL by q_page_sql, q_from and
       q_table_statement. */
    select pg_catalog.jsonb_build_object('schema', p_schema, 'root', p_root, 'specs', coalesce(p_specs, '{}'),
                                         'joins', '{}'::jsonb, 'params', coalesce(p_params, '[]'),
                                         'base', coalesce(p_base, 0))
           || case when p_who is null then '{}'::jsonb
                   else pg_catalog.jsonb_build_object('who', p_who, 'perms', pg_catalog.jsonb_build_object(p_root, p_perm)) end
$$;
