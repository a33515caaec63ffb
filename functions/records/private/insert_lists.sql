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
    select pg_catalog.string_agg(pg_catalog.format('%I', c), ', ')
      into o_targets from pg_catalog.unnest(p_columns || array['created_by', 'updated_by']) c;
    select coalesce(pg_catalog.string_agg(pg_catalog.format('%s.%I', p_source, c), ', ') || ', ', '') || '$2, $2'
      into o_values from pg_catalog.unnest(p_columns) c;
end
$$;
