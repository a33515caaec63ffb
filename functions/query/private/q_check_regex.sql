create or replace function docpal_private.q_check_regex(p_pattern text, p_op text, p_label text)
    returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Checks the pattern of a regex or iregex filter (p_op) on path p_label
   against the pattern limits of contract section 9, as a column's pattern
   rule is checked (docpal_private.normalize_column): over 1,000 characters
   54000; a back reference (docpal_private.pattern_has_back_reference), which
   can make matching take exponential time, 22023. Then the pattern is
   compiled once, with the operator the filter uses: a pattern PostgreSQL
   refuses (invalid_regular_expression, 2201B) is 22023 here, before any
   statement runs, never an error of the running query. */
declare
    v_ok boolean;
begin
    if pg_catalog.length(p_pattern) > 1000 then
        raise exception using errcode = '54000',
            message = pg_catalog.format('%s: %s pattern is %s characters, over the limit of 1,000',
                                        p_label, p_op, pg_catalog.length(p_pattern));
    end if;
    if docpal_private.pattern_has_back_reference(p_pattern) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: %s pattern may not use a back reference (\1 to \9)', p_label, p_op);
    end if;
    begin
        v_ok := case p_op when 'iregex' then '' ~* p_pattern else '' ~ p_pattern end;
    exception when invalid_regular_expression then
        raise exception using errcode = '22023',
            message = pg_catalog.format('%s: invalid %s pattern: %s', p_label, p_op, sqlerrm);
    end;
end
$$;
