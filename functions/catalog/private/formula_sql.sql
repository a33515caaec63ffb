create or replace function docpal_private.formula_sql(p_expression text, p_columns text[], p_metrics boolean default false)
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The SQL of a formula over the columns p_columns, or 22023. The language:
   column names, numbers, 'strings', + - * / ||, parentheses and the
   functions of the allow-list in formula_parse (tokens from
   docpal_private.formula_tokens). p_metrics: aggregate's expr metrics, whose
   numbers are numeric and whose division by zero is null (formula_parse). */
declare
    v_tokens text[] := docpal_private.formula_tokens(p_expression);
    v_sql text;
    v_pos integer;
begin
    select f.o_sql, f.o_pos into v_sql, v_pos from docpal_private.formula_parse(v_tokens, 1, p_columns, 0, p_metrics) f;
    if v_pos <= pg_catalog.cardinality(v_tokens) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('unexpected %L in formula', v_tokens[v_pos]);
    end if;
    return v_sql;
end
$$;
