create or replace function docpal_private.rebac_compile(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Compiles a company's ReBAC rules into two functions in its schema, static
   SQL whose plans each session keeps (plan_cache_mode pinned to generic, so
   a check never plans):
   - _rebac_check(type, permission, subject type, id, relation, object id):
     one recursive query walking from the object, breadth first. A node is
     (object, permission); the rules are flattened at compile time (a
     permission that uses another of its type carries that one's relations
     and arrows), and each (type, permission) is a branch of the query with
     its relations as constants, so every step is an index lookup: the
     direct tuple (the primary key), subject sets (a partial index) and the
     arrows' tuples. A node already visited at the same or a lower depth is
     not walked again, so cycles end; an arrow to a permission another
     arrow of the same relation already covers on that type is left out.
     True on the first hit within 25 steps; when none, 54000 if some node
     is first reached more than 25 steps away (fail closed), else false.
   - _rebac_lookup(type, permission, subject...): the same relation walked
     backwards from the subject (the subject index), level by level, every
     node once: the objects of the type that have the permission, sorted;
     54000 when the walk goes past 25 steps.
   Types and permissions without rules are their stored relation (subject
   sets included). Both functions are made afresh each time. */
declare
    v_rules jsonb;
    v_closure jsonb := '{}';         -- {"type#permission": [permissions it includes, itself too]}
    v_pairs text[] := '{}';          -- the (type#permission) pairs with rules
    v_type text;
    v_permission text;
    v_included text;
    v_item text;
    v_stored text[];
    v_arrows jsonb;                  -- {"relation": [permissions]}
    v_relation text;
    v_targets text[];
    v_covered text[];                -- type#target pairs of an arrow that another of its targets includes
    v_steps text := ' when ''#'' then ''{}''::text[]';  -- case branches: type#permission -> its stored relations
    v_arrow_steps text := ', (null, null, null, null::text[], null::text[])';  -- (type, permission, relation, targets, skip)
    v_inv text := '';                -- values (type, relation, arrow target or '', permission it gives)
    v_map text;                      -- the same as case branches: 'type#relation#target' -> permissions
    v_name text;
    v_changed boolean;
begin
    -- start afresh: permissions may be gone, and a changed signature cannot be replaced
    for v_name in
        select p.oid::regprocedure::text from pg_catalog.pg_proc p
         where p.pronamespace = p_schema::regnamespace and pg_catalog.left(p.proname, 7) = '_rebac_'
    loop
        execute pg_catalog.format('drop function %s', v_name);
    end loop;
    execute pg_catalog.format('select coalesce(pg_catalog.jsonb_object_agg(r.object_type, r.rules), ''{}'') from %I._relation_rules r',
                              p_schema) into v_rules;
    -- the permissions each permission includes (through other permissions of its type), to a fixed point
    for v_type, v_permission in select t.key, p.key from pg_catalog.jsonb_each(v_rules) t, pg_catalog.jsonb_each(t.value) p loop
        v_closure := v_closure || pg_catalog.jsonb_build_object(v_type || '#' || v_permission, pg_catalog.jsonb_build_array(v_permission));
        v_pairs := v_pairs || (v_type || '#' || v_permission);
    end loop;
    loop
        v_changed := false;
        for v_type, v_permission in select t.key, p.key from pg_catalog.jsonb_each(v_rules) t, pg_catalog.jsonb_each(t.value) p loop
            for v_included in select pg_catalog.jsonb_array_elements_text(v_closure -> (v_type || '#' || v_permission)) loop
                for v_item in select pg_catalog.jsonb_array_elements_text(v_rules -> v_type -> v_included) loop
                    if v_item not like '%->%' and v_item <> v_included and v_rules -> v_type ? v_item
                       and not (v_closure -> (v_type || '#' || v_permission)) ? v_item then
                        v_closure := pg_catalog.jsonb_set(v_closure, array[v_type || '#' || v_permission],
                                                          (v_closure -> (v_type || '#' || v_permission)) || pg_catalog.to_jsonb(v_item));
                        v_changed := true;
                    end if;
                end loop;
            end loop;
        end loop;
        exit when not v_changed;
    end loop;
    -- one branch per (type, permission) with rules: its stored relations and its arrows, flattened
    for v_type, v_permission in select t.key, p.key from pg_catalog.jsonb_each(v_rules) t, pg_catalog.jsonb_each(t.value) p order by 1, 2 loop
        v_stored := '{}';
        v_arrows := '{}';
        for v_included in select pg_catalog.jsonb_array_elements_text(v_closure -> (v_type || '#' || v_permission)) loop
            for v_item in select pg_catalog.jsonb_array_elements_text(v_rules -> v_type -> v_included) loop
                if v_item like '%->%' then
                    v_relation := pg_catalog.split_part(v_item, '->', 1);
                    if not coalesce((v_arrows -> v_relation) ? pg_catalog.split_part(v_item, '->', 2), false) then
                        v_arrows := v_arrows || pg_catalog.jsonb_build_object(v_relation,
                            coalesce(v_arrows -> v_relation, '[]') || pg_catalog.to_jsonb(pg_catalog.split_part(v_item, '->', 2)));
                    end if;
                elsif v_item <> v_included and v_rules -> v_type ? v_item then
                    null;  -- another permission: its items are in the closure
                elsif not v_item = any (v_stored) then
                    v_stored := v_stored || v_item;
                end if;
            end loop;
        end loop;
        v_steps := v_steps || pg_catalog.format(' when %L then %L::text[]', v_type || '#' || v_permission, v_stored);
        v_inv := v_inv || coalesce((select pg_catalog.string_agg(pg_catalog.format(', (%L, %L, '''', %L)', v_type, r, v_permission), '')
                                      from pg_catalog.unnest(v_stored) r), '');
        for v_relation, v_targets in
            select a.key, array(select pg_catalog.jsonb_array_elements_text(a.value)) from pg_catalog.jsonb_each(v_arrows) a order by 1
        loop
            -- type#target pairs another target of this relation includes: not visited there
            select coalesce(pg_catalog.array_agg(distinct k.key), '{}') into v_covered
              from pg_catalog.jsonb_each(v_closure) i, pg_catalog.jsonb_each(v_closure) k
             where pg_catalog.split_part(i.key, '#', 1) = pg_catalog.split_part(k.key, '#', 1)
               and pg_catalog.split_part(i.key, '#', 2) = any (v_targets) and pg_catalog.split_part(k.key, '#', 2) = any (v_targets)
               and i.key <> k.key and i.value ? pg_catalog.split_part(k.key, '#', 2)
               -- of two targets that include each other, the first by name is visited
               and (not k.value ? pg_catalog.split_part(i.key, '#', 2) or i.key < k.key);
            v_arrow_steps := v_arrow_steps || pg_catalog.format(', (%L, %L, %L, %L::text[], %L::text[])',
                                                                v_type, v_permission, v_relation, v_targets, v_covered);
            v_inv := v_inv || (select pg_catalog.string_agg(pg_catalog.format(', (%L, %L, %L, %L)', v_type, v_relation, q, v_permission), '')
                                             from pg_catalog.unnest(v_targets) q);
        end loop;
    end loop;
    execute pg_catalog.format(
        'create function %1$I._rebac_check(p_type text, p_perm text, p_st text, p_sid text, p_srel text, p_oid text)
             returns boolean language plpgsql stable
             set search_path = pg_catalog, pg_temp set plan_cache_mode = force_generic_plan as $rebac$
         declare
             v_result boolean;
         begin
             with recursive walk (t, id, p, d) as (
                 select p_type, p_oid, p_perm, 0
                 union
                 select c.t, c.id, c.p, w.d + 1
                   from walk w
                  cross join lateral (
                        -- the relations whose tuples grant the node (for a node without rules: its own)
                        select case w.t || ''#'' || w.p%2$s else array[w.p] end as stored) k
                  cross join lateral (
                        (select '''', '''', '''' from %1$I._tuples x
                          where x.object_type = w.t and x.object_id = w.id and x.relation = any (k.stored)
                            and x.subject_type = p_st and x.subject_id = p_sid and x.subject_relation = p_srel limit 1)
                        union all
                        select x.subject_type, x.subject_id, x.subject_relation from %1$I._tuples x
                         where x.object_type = w.t and x.object_id = w.id and x.relation = any (k.stored)
                           and x.subject_relation <> ''''
                        union all
                        -- arrows: the objects a relation points at, each with its target permissions
                        select x.subject_type, x.subject_id, q.q
                          from (values %3$s) a (t, p, r, qs, skip)
                         cross join lateral (select x.subject_type, x.subject_id from %1$I._tuples x
                                              where x.object_type = w.t and x.object_id = w.id and x.relation = a.r
                                                and x.subject_relation = '''' offset 0) x
                         cross join lateral pg_catalog.unnest(a.qs) q (q)
                         where a.t = w.t and a.p = w.p and (x.subject_type || ''#'' || q.q) <> all (a.skip)) c (t, id, p)
                  where w.d <= 25 and w.t <> '''')
             select case when exists (select from walk h where h.t = '''') then true
                         when exists (select from walk w where w.d > 25 and w.t <> ''''
                                         and not exists (select from walk v where v.d <= 25 and v.t = w.t and v.id = w.id and v.p = w.p))
                              then null
                         else false end
               into v_result;
             if v_result is null then
                 raise exception using errcode = ''54000'', message = ''relation check deeper than 25 steps'';
             end if;
             return v_result;
         end
         $rebac$', p_schema, v_steps, pg_catalog.substr(v_arrow_steps, 2));
    -- relations that are no permission of their type but that some rule stores: also themselves
    for v_type, v_relation in
        select distinct t.key, i.i from pg_catalog.jsonb_each(v_rules) t, pg_catalog.jsonb_each(t.value) p,
                                        pg_catalog.jsonb_array_elements_text(p.value) i (i)
         where i.i not like '%->%' and not (t.value ? i.i)
    loop
        v_inv := v_inv || pg_catalog.format(', (%L, %L, '''', %L)', v_type, v_relation, v_relation);
    end loop;
    execute pg_catalog.format(
        'select '' when ''''##'''' then null::text[]''
                || coalesce(pg_catalog.string_agg(pg_catalog.format('' when %%L then %%L::text[]'', g.k, g.ps), ''''), '''')
           from (select m.t || ''#'' || m.r || ''#'' || m.q as k, pg_catalog.array_agg(distinct m.p) as ps
                   from (values (null, null, null, null) %s) m (t, r, q, p) where m.t is not null group by 1) g', v_inv)
       into v_map;
    execute pg_catalog.format(
        'create function %1$I._rebac_lookup(p_type text, p_perm text, p_st text, p_sid text, p_srel text)
             returns text[] language plpgsql stable
             set search_path = pg_catalog, pg_temp set plan_cache_mode = force_generic_plan as $rebac$
         declare
             v_t text[];
             v_id text[];
             v_p text[];
             v_seen_t text[] := ''{}'';
             v_seen_id text[] := ''{}'';
             v_seen_p text[] := ''{}'';
             v_found text[] := ''{}'';
             v_depth integer := 0;
             v_types text[];
             v_subjects text[];
         begin
             -- the types that are some tuple''s subject (a skip scan of the subject index): an object
             -- of another type leads nowhere, so it is kept only when it is of the type looked up
             with recursive s (t) as (
                 (select x.subject_type from %1$I._tuples x order by x.subject_type limit 1)
                 union all
                 select (select x.subject_type from %1$I._tuples x where x.subject_type > s.t order by x.subject_type limit 1)
                   from s where s.t is not null)
             select array(select s.t from s where s.t is not null) into v_subjects;
             v_types := v_subjects || p_type;
             -- level 0: the tuples naming the subject itself; m maps a tuple''s (object type,
             -- relation, and for an arrow the permission on its subject) to the permissions it gives
             select pg_catalog.array_agg(n.t), pg_catalog.array_agg(n.id), pg_catalog.array_agg(n.p) into v_t, v_id, v_p
               from (select distinct x.object_type as t, x.object_id as id, g.p
                       from %1$I._tuples x
                      cross join lateral pg_catalog.unnest(case x.object_type || ''#'' || x.relation || ''#''%2$s
                                                           else case when (x.object_type || ''#'' || x.relation) <> all (%3$L::text[])
                                                                     then array[x.relation] end end) g (p)
                      where x.subject_type = p_st and x.subject_id = p_sid and x.subject_relation = p_srel
                        and x.object_type = any (v_types)) n;
             while v_t is not null loop
                 if v_depth > 25 then
                     raise exception using errcode = ''54000'', message = ''relation check deeper than 25 steps'';
                 end if;
                 v_seen_t := v_seen_t || v_t;
                 v_seen_id := v_seen_id || v_id;
                 v_seen_p := v_seen_p || v_p;
                 v_found := v_found || array(select f.id from unnest(v_t, v_id, v_p) f (t, id, p)
                                              where f.t = p_type and f.p = p_perm);
                 -- the next level, one probe of the subject index per object: subject sets naming
                 -- one of its permissions, and arrows pointing at it; less every node seen (a hashed except)
                 select pg_catalog.array_agg(n.t), pg_catalog.array_agg(n.id), pg_catalog.array_agg(n.p) into v_t, v_id, v_p
                   from (select x.object_type as t, x.object_id as id, g.p
                           from (select f.t, f.id, pg_catalog.array_agg(f.p) as ps
                                   from unnest(v_t, v_id, v_p) f (t, id, p) where f.t = any (v_subjects) group by f.t, f.id) f
                           join %1$I._tuples x
                             on x.subject_type = f.t and x.subject_id = f.id
                            and x.subject_relation = any (pg_catalog.array_append(f.ps, ''''::text))
                            and x.object_type = any (v_types)
                          -- a subject set gives through its relation (q empty), an arrow through each permission of the node
                          cross join lateral pg_catalog.unnest(case when x.subject_relation = '''' then f.ps else array[''''] end) q (q)
                          cross join lateral pg_catalog.unnest(case x.object_type || ''#'' || x.relation || ''#'' || q.q%2$s
                                                               else case when q.q = '''' and (x.object_type || ''#'' || x.relation) <> all (%3$L::text[])
                                                                         then array[x.relation] end end) g (p)
                         except
                         select s.t, s.id, s.p from unnest(v_seen_t, v_seen_id, v_seen_p) s (t, id, p)) n;
                 v_depth := v_depth + 1;
             end loop;
             return array(select p_type || '':'' || o from pg_catalog.unnest(v_found) o order by o);
         end
         $rebac$', p_schema, v_map, v_pairs);
    execute pg_catalog.format('revoke all on all functions in schema %I from public', p_schema);
end
$$;
