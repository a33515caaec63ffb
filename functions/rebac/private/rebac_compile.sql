create or replace function docpal_private.rebac_compile(p_schema text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Compiles a company's ReBAC rules into functions in its schema, one per
   object type and permission (static SQL: each session plans their index
   lookups once, and nothing is interpreted at check time), a dispatcher
   _rebac_check(type, permission, subject..., object id, depth, seen) and
   _rebac_stored for relations without rules (their tuples, subject sets
   included). A check is a depth-first search: every function returns null
   when it found the subject, else the set of (object, permission) steps
   visited so far in the whole check, which the next step receives. A step
   already visited is never walked again (it was false, or it is on the
   current path: a cycle), so shared sub-paths cost once. More than 25 steps
   deep raises 54000 (fail closed: never true). All of a company's functions
   are made afresh each time. */
declare
    v_type text;
    v_permission text;
    v_items jsonb;
    v_rules jsonb;
    v_item text;
    v_body text;
    v_dispatch text := '';
    v_name text;
    v_sql text;
    v_stored_body text;
    v_head text := '(p_st text, p_sid text, p_srel text, p_oid text, p_depth integer, p_seen text[])
        returns text[] language plpgsql stable set search_path = pg_catalog, pg_temp as $rebac$
        declare
            _s record;
            _key text := %L || p_oid || %L;
        begin
            if _key = any (p_seen) then
                return p_seen;
            end if;
            if p_depth > 25 then
                raise exception using errcode = ''54000'', message = ''relation check deeper than 25 steps'';
            end if;
            p_seen := p_seen || _key;
';
    v_stored text := '
            if exists (select from %1$I._tuples t where t.object_type = %2$s and t.object_id = p_oid and t.relation = %3$s
                          and t.subject_type = p_st and t.subject_id = p_sid and t.subject_relation = p_srel) then
                return null;
            end if;
            for _s in select t.subject_type, t.subject_id, t.subject_relation from %1$I._tuples t
                       where t.object_type = %2$s and t.object_id = p_oid and t.relation = %3$s and t.subject_relation <> '''' loop
                p_seen := %1$I._rebac_check(_s.subject_type, _s.subject_relation, p_st, p_sid, p_srel, _s.subject_id, p_depth + 1, p_seen);
                if p_seen is null then
                    return null;
                end if;
            end loop;';
begin
    -- start afresh: permissions may be gone, and a changed signature cannot be replaced
    for v_name in
        select p.proname from pg_catalog.pg_proc p
         where p.pronamespace = p_schema::regnamespace and pg_catalog.left(p.proname, 7) = '_rebac_'
    loop
        execute pg_catalog.format('drop function %I.%I', p_schema, v_name);
    end loop;
    for v_type, v_permission, v_items, v_rules in execute pg_catalog.format(
        'select r.object_type, p.key as permission, p.value as items, r.rules
           from %I._relation_rules r, pg_catalog.jsonb_each(r.rules) p order by 1, 2', p_schema)
    loop
        v_name := docpal_private.ident('_rebac', v_type, v_permission,
                                       pg_catalog.left(pg_catalog.md5(v_type || '#' || v_permission), 6));
        v_body := '';
        for v_item in select pg_catalog.jsonb_array_elements_text(v_items) loop
            if v_item like '%->%' then
                -- arrow: the permission on every object the relation points at
                v_body := v_body || pg_catalog.format('
            for _s in select t.subject_type, t.subject_id from %1$I._tuples t
                       where t.object_type = %2$L and t.object_id = p_oid and t.relation = %3$L and t.subject_relation = '''' loop
                p_seen := %1$I._rebac_check(_s.subject_type, %4$L, p_st, p_sid, p_srel, _s.subject_id, p_depth + 1, p_seen);
                if p_seen is null then
                    return null;
                end if;
            end loop;', p_schema, v_type, pg_catalog.split_part(v_item, '->', 1), pg_catalog.split_part(v_item, '->', 2));
            elsif v_item <> v_permission and v_rules ? v_item then
                -- another permission of this type
                v_body := v_body || pg_catalog.format('
            p_seen := %I.%I(p_st, p_sid, p_srel, p_oid, p_depth + 1, p_seen);
            if p_seen is null then
                return null;
            end if;', p_schema, docpal_private.ident('_rebac', v_type, v_item,
                                                     pg_catalog.left(pg_catalog.md5(v_type || '#' || v_item), 6)));
            else
                v_body := v_body || pg_catalog.format(v_stored, p_schema, pg_catalog.quote_literal(v_type),
                                                      pg_catalog.quote_literal(v_item));
            end if;
        end loop;
        v_sql := pg_catalog.format('create or replace function %I.%I', p_schema, v_name)
                 || pg_catalog.format(v_head, v_type || ':', '#' || v_permission)
                 || v_body || '
            return p_seen;
        end
        $rebac$';
        execute v_sql;
        v_dispatch := v_dispatch || pg_catalog.format('
            if p_type = %L and p_perm = %L then
                return %I.%I(p_st, p_sid, p_srel, p_oid, p_depth, p_seen);
            end if;', v_type, v_permission, p_schema, v_name);
    end loop;
    v_stored_body := pg_catalog.format(v_stored, p_schema, 'p_type', 'p_perm');
    execute pg_catalog.format(
        'create or replace function %1$I._rebac_stored(p_type text, p_perm text, p_st text, p_sid text, p_srel text,
                                                       p_oid text, p_depth integer, p_seen text[])
             returns text[] language plpgsql stable set search_path = pg_catalog, pg_temp as $rebac$
         declare
             _s record;
             _key text := p_type || '':'' || p_oid || ''#'' || p_perm;
         begin
             if _key = any (p_seen) then
                 return p_seen;
             end if;
             if p_depth > 25 then
                 raise exception using errcode = ''54000'', message = ''relation check deeper than 25 steps'';
             end if;
             p_seen := p_seen || _key;
             %2$s
             return p_seen;
         end
         $rebac$', p_schema, v_stored_body);
    execute pg_catalog.format(
        'create or replace function %1$I._rebac_check(p_type text, p_perm text, p_st text, p_sid text, p_srel text,
                                                      p_oid text, p_depth integer, p_seen text[])
             returns text[] language plpgsql stable set search_path = pg_catalog, pg_temp as $rebac$
         begin
             %2$s
             return %1$I._rebac_stored(p_type, p_perm, p_st, p_sid, p_srel, p_oid, p_depth, p_seen);
         end
         $rebac$', p_schema, v_dispatch);
    execute pg_catalog.format('revoke all on all functions in schema %I from public', p_schema);
end
$$;
