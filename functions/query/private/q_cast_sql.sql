create or replace function docpal_private.q_cast_sql(p_value text, p_type text)
    returns text
    language sql immutable
    set search_path = pg_catalog, pg_temp
as $$
    /* The SQL that casts the text expression p_value (a bound value: $1->N
       ->> ...) to p_type. The input functions of dates, times, timestamps
       and intervals are STABLE (they read DateStyle and TimeZone), so
       PostgreSQL does not fold such a cast of a bound value into a constant
       and a filter that is not an index condition casts it again for every
       row it reads (three times the cost of the comparison over a million
       rows); for those types the cast is a scalar subquery, an InitPlan run
       once per statement, which an index scan still takes as its bound. */
    select case when p_type in ('date', 'timestamp with time zone', 'timestamp without time zone',
                                'time without time zone', 'time with time zone', 'interval')
                then pg_catalog.format('(select (%s)::%s)', p_value, p_type)
                else pg_catalog.format('(%s)::%s', p_value, p_type) end
$$;
