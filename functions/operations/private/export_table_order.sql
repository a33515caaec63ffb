create or replace function docpal_private.export_table_order(p_schema text)
    returns text[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The slugs of a company's tables in an order that can be created: a table
   comes after every table its relation and relation_many columns target
   (itself aside), by slug among those that are ready. Tables on a cycle of
   relations cannot all come after each other: when none is ready, the
   first remaining by slug comes next, and docpal_private.import_begin adds
   its columns that target tables still to come once those exist. */
declare
    v_specs jsonb;
    v_order text[] := '{}';
    v_next text;
begin
    execute pg_catalog.format(
        'select coalesce(pg_catalog.jsonb_object_agg(c.slug, c.spec), ''{}'') from %I._catalog c where c.kind = ''table''',
        p_schema)
       into v_specs;
    loop
        select s.key into v_next
          from pg_catalog.jsonb_each(v_specs) s
         where s.key <> all (v_order)
         order by exists (select from pg_catalog.jsonb_array_elements(s.value->'columns') c
                           where c->>'type' in ('relation', 'relation_many') and c->>'target' <> s.key
                             and (c->>'target') <> all (v_order)),
                  s.key
         limit 1;
        exit when v_next is null;
        v_order := v_order || v_next;
    end loop;
    return v_order;
end
$$;
