create or replace function docpal_private.adopt_check_options(p_source regclass, p_attnum smallint)
    returns text[]
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The values a CHECK constraint of table p_source lists for its column
   p_attnum, or null when it has none. Recognised: a validated constraint on
   that column alone whose whole text (pg_get_constraintdef) is
   `col IN ('a', 'b')` (stored as `col = ANY (ARRAY['a', 'b'])`, with
   casts) or `col = 'a' OR col = 'b' ...`. The text is only read: literals
   are taken out (quotes undoubled), casts and parentheses removed, the
   column replaced by C, and what is left must be exactly one of the two
   shapes; nothing of it is ever executed. Lists with an empty string, a
   null or an escape-string literal are not recognised (the column stays
   text). The first recognised constraint, by name, wins. */
declare
    v_def text;
    v_shape text;
    v_values text[];
    v_column text;
begin
    select pg_catalog.format('%I', a.attname) into v_column
      from pg_catalog.pg_attribute a where a.attrelid = p_source and a.attnum = p_attnum;
    for v_def in
        select pg_catalog.pg_get_constraintdef(c.oid)
          from pg_catalog.pg_constraint c
         where c.conrelid = p_source and c.contype = 'c' and c.convalidated and c.conkey = array[p_attnum]
         order by c.conname
    loop
        continue when v_def !~ '^CHECK \(.*\)$' or v_def ~ 'E''';
        v_values := array(select pg_catalog.replace(m[1], '''''', '''')
                            from pg_catalog.regexp_matches(v_def, '''((?:[^'']|'''')*)''', 'g') m);
        v_shape := pg_catalog.regexp_replace(v_def, '''(?:[^'']|'''')*''', 'L', 'g');
        v_shape := pg_catalog.regexp_replace(v_shape, '::[a-z_ ]+(\[\])?', '', 'g');
        v_shape := pg_catalog.replace(v_shape, v_column, 'C');
        v_shape := pg_catalog.regexp_replace(v_shape, '[()[:space:]]', '', 'g');
        continue when v_shape !~ '^CHECK(C=ANYARRAY\[L(,L)*\]|C=L(ORC=L)*)$';
        continue when pg_catalog.cardinality(v_values) = 0 or '' = any (v_values);
        -- distinct, in the order written
        return array(select v from pg_catalog.unnest(v_values) with ordinality x(v, o)
                      group by v order by pg_catalog.min(o));
    end loop;
    return null;
end
$$;
