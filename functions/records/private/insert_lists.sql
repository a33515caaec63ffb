create or replace function docpal_private.insert_lists(p_columns text[], out o_targets text, out o_values text,
                                                        p_source text default '_r')
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The column list of an INSERT of p_columns plus created_by and updated_by,
   and the matching select list over jsonb_populate_record alias _r with $2
   (the user) for the two. p_source replaces _r: a distributed company's
   INSERT names the record in each value (create_record). */
begin
    -- one statement (one plan to make on a fresh connection)
    select pg_catalog.string_agg(pg_catalog.format('%I', c.name), ', ' order by c.n),
           coalesce(pg_catalog.string_agg(pg_catalog.format('%s.%I', p_source, c.name), ', ' order by c.n)
                        filter (where c.n <= pg_catalog.cardinality(p_columns)) || ', ', '') || '$2, $2'
      into o_targets, o_values
      from pg_catalog.unnest(p_columns || array['created_by', 'updated_by']) with ordinality c(name, n);
end
$$;
