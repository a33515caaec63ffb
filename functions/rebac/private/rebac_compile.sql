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
     and arrows), and each (type, permission) is a case branch with its
     relations and its arrows' relations as constants, so every step is an
     exact index lookup whatever the object holds: the subject itself (one
     primary-key probe per relation: a group of thousands of members or a
     document with thousands of viewers is not scanned), subject sets (a
     partial index) and each arrow's tuples (the primary key), an arrow's
     target permissions looked up by (type, permission, relation, type of
     the object pointed at). A node already visited at the same or a lower
     depth is not walked again, so cycles end; an arrow to a permission
     another arrow of the same relation already covers on that type is left
     out. True on the first hit within 25 steps; when none, 54000 if some
     node is first reached more than 25 steps away (fail closed), else false.
   - _rebac_lookup(type, permission, subject...): the same relation walked
     backwards from the subject (the subject index), level by level, every
     node once: the objects of the type that have the permission, sorted;
     54000 when the walk goes past 25 steps. Past the subject's own tuples,
     a node is kept only when it can lead further (its type is some tuple's
     subject) or is what is looked up (the type and permission asked for):
     other permissions of the type looked up lead nowhere.
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
    v_arrow_rels text := ' when ''#'' then null::text[]';      -- case branches: type#permission -> its arrows' relations
    v_arrow_targets text := ' when ''#'' then null::text[]';   -- type#permission#relation -> the arrow's target permissions
    v_arrow_typed text := ' when ''#'' then null::text[]';     -- type#permission#relation#subject type -> those less the covered
    v_rels text[];                   -- the arrows' relations of a (type, permission)
    v_covered_type text;
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
        v_rels := '{}';
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
            v_rels := v_rels || v_relation;
            v_arrow_targets := v_arrow_targets || pg_catalog.format(' when %L then %L::text[]',
                                                                    v_type || '#' || v_permission || '#' || v_relation, v_targets);
            -- an object of a type whose pairs are covered: only the targets not covered there
            for v_covered_type in select distinct pg_catalog.split_part(c, '#', 1) from pg_catalog.unnest(v_covered) c order by 1 loop
                v_arrow_typed := v_arrow_typed || pg_catalog.format(' when %L then %L::text[]',
                    v_type || '#' || v_permission || '#' || v_relation || '#' || v_covered_type,
                    array(select q from pg_catalog.unnest(v_targets) q where (v_covered_type || '#' || q) <> all (v_covered)));
            end loop;
            v_inv := v_inv || (select pg_catalog.string_agg(pg_catalog.format(', (%L, %L, %L, %L)', v_type, v_relation, q, v_permission), '')
                                             from pg_catalog.unnest(v_targets) q);
        end loop;
        if pg_catalog.cardinality(v_rels) > 0 then
            v_arrow_rels := v_arrow_rels || pg_catalog.format(' when %L then %L::text[]', v_type || '#' || v_permission, v_rels);
        end if;
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
                        -- the relations whose tuples grant the node (for a node without rules: its own),
                        -- and the relations of its arrows; once per node (offset 0)
                        select case w.t || ''#'' || w.p%2$s else array[w.p] end as stored,
                               case w.t || ''#'' || w.p%3$s end as arrows offset 0) k
                  cross join lateral (
                        -- the subject itself: one primary-key probe per relation, however many
                        -- tuples the object has
                        (select '''', '''', '''' from (select pg_catalog.unnest(k.stored) as r) r
                          cross join lateral (select from %1$I._tuples x
                                               where x.object_type = w.t and x.object_id = w.id and x.relation = r.r
                                                 and x.subject_type = p_st and x.subject_id = p_sid and x.subject_relation = p_srel
                                               limit 1) x limit 1)
                        union all
                        select x.subject_type, x.subject_id, x.subject_relation from %1$I._tuples x
                         where x.object_type = w.t and x.object_id = w.id and x.relation = any (k.stored)
                           and x.subject_relation <> ''''
                        union all
                        -- arrows: the objects a relation points at, each with its target permissions
                        -- (less those another target covers on the object''s type)
                        select x.subject_type, x.subject_id, x.q
                          from (select pg_catalog.unnest(k.arrows) as r) r
                         cross join lateral (
                               select x.subject_type, x.subject_id,
                                      pg_catalog.unnest(case w.t || ''#'' || w.p || ''#'' || x.relation || ''#'' || x.subject_type%4$s
                                                        else case w.t || ''#'' || w.p || ''#'' || x.relation%5$s end end) as q
                                 from %1$I._tuples x
                                where x.object_type = w.t and x.object_id = w.id and x.relation = r.r and x.subject_relation = '''') x) c (t, id, p)
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
         $rebac$', p_schema, v_steps, v_arrow_rels, v_arrow_typed, v_arrow_targets);
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
                   from (select g.t, g.id, g.p
                           from (select x.t, x.id,
                                       pg_catalog.unnest(case x.t || ''#'' || x.r || ''#'' || x.q%2$s
                                                         else case when x.q = '''' and (x.t || ''#'' || x.r) <> all (%3$L::text[])
                                                                   then array[x.r] end end) as p
                                  from (select x.object_type as t, x.object_id as id, x.relation as r,
                                               -- a subject set gives through its relation (q empty), an arrow
                                               -- through each permission of the node (set-returning functions in
                                               -- the select list: no tuple store per row)
                                               pg_catalog.unnest(case when x.subject_relation = '''' then f.ps else array[''''] end) as q
                                          from (select f.t, f.id, pg_catalog.array_agg(f.p) as ps
                                                  from unnest(v_t, v_id, v_p) f (t, id, p) where f.t = any (v_subjects) group by f.t, f.id) f
                                          join %1$I._tuples x
                                            on x.subject_type = f.t and x.subject_id = f.id
                                           and x.subject_relation = any (pg_catalog.array_append(f.ps, ''''::text))
                                           and x.object_type = any (v_types)) x) g
                          -- a node of a subject type may lead further; else only the permission looked up is kept
                          where g.t = any (v_subjects) or (g.t = p_type and g.p = p_perm)
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
