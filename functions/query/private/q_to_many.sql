create or replace function docpal_private.q_to_many(
    inout p_state jsonb, p_path text, p_table text, p_segment text, out o_many jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether segment p_segment of path p_path, read on table p_table, names a
   list of records (contract 4.1), and which: o_many is
     {kind: 'reverse', table, column}   the records of table whose relation
                                        column targets p_table: "students",
                                        or "students!class_id" naming the
                                        column when several do;
     {kind: 'many', table, junction, column}  the targets of p_table's
                                        relation_many column;
   or null when the segment is something else (the caller decides: a
   column, or 42703). A table named that has no relation to p_table, or
   "t!c" with no such relation column, is 42703; a table with several
   candidates named without its column is 22023. The other table's spec is
   read once and kept in p_state.specs. */
declare
    v_name text := pg_catalog.split_part(p_segment, '!', 1);
    v_link text := nullif(pg_catalog.split_part(p_segment, '!', 2), '');
    v_spec jsonb;
    v_column jsonb;
    v_links text[];
begin
    if pg_catalog.strpos(p_segment, '!') = 0 then
        v_column := pg_catalog.jsonb_path_query_first(p_state->'specs'->p_table->'columns', '$[*] ? (@.name == $n)',
                                                      pg_catalog.jsonb_build_object('n', p_segment));
        if v_column is not null then
            if v_column->>'type' = 'relation_many' then
                o_many := pg_catalog.jsonb_build_object('kind', 'many', 'table', v_column->>'target', 'column', v_column->>'name',
                                                        'junction', v_column->'objects'->>'junction');
            end if;
            return;
        end if;
    end if;
    if v_name !~ '^[a-z][a-z0-9_]{0,62}$' or pg_catalog.strpos(p_segment, '!') > 0 and v_link is null then
        return;
    end if;
    if pg_catalog.cardinality(pg_catalog.string_to_array(p_segment, '!')) > 2 then
        raise exception using errcode = '42703', message = pg_catalog.format(
            'path %L: a list of records is a table, or a table and its column (students!class_id)', p_path);
    end if;
    v_spec := p_state->'specs'->v_name;
    if v_spec is null then
        execute pg_catalog.format('select c.spec from %I._catalog c where c.kind = $1 and c.slug = $2', p_state->>'schema')
           into v_spec using 'table', v_name;
        if v_spec is null then
            if v_link is not null then
                raise exception using errcode = '42703',
                    message = pg_catalog.format('path %L: table %L does not exist', p_path, v_name);
            end if;
            return;
        end if;
        p_state := pg_catalog.jsonb_set(p_state, array['specs', v_name], v_spec);
    end if;
    select pg_catalog.array_agg(c->>'name' order by o) into v_links
      from pg_catalog.jsonb_array_elements(v_spec->'columns') with ordinality x(c, o)
     where c->>'type' = 'relation' and c->>'target' = p_table and (v_link is null or c->>'name' = v_link);
    if v_links is null then
        raise exception using errcode = '42703', message = pg_catalog.format(
            'path %L: table %s has no relation column %sto table %s', p_path, v_name,
            coalesce(pg_catalog.quote_literal(v_link) || ' ', ''), p_table);
    end if;
    if pg_catalog.cardinality(v_links) > 1 then
        raise exception using errcode = '22023', message = pg_catalog.format(
            'path %L: several columns of table %s lead to %s: name one, as in %s!%s', p_path, v_name, p_table, v_name, v_links[1]);
    end if;
    o_many := pg_catalog.jsonb_build_object('kind', 'reverse', 'table', v_name, 'column', v_links[1]);
end
$$;
