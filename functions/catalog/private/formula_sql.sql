create or replace function docpal_private.formula_sql(p_expression text, p_columns text[])
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The SQL of a formula over the columns p_columns, or 22023. The language:
   column names, numbers, 'strings', + - * / ||, parentheses and the
   functions of the allow-list in formula_parse. */
declare
    v_rest text := p_expression;
    v_token text;
    v_tokens text[] := '{}';
    v_sql text;
    v_pos integer;
begin
    if p_expression is null or pg_catalog.btrim(p_expression) = '' or pg_catalog.length(p_expression) > 2000 then
        raise exception using errcode = '22023', message = 'a formula needs an expression of at most 2000 characters';
    end if;
    loop
        v_rest := pg_catalog.regexp_replace(v_rest, '^[[:space:]]+', '');
        exit when v_rest = '';
        v_token := (pg_catalog.regexp_match(v_rest,
            '^([0-9]+(?:[.][0-9]+)?|''(?:[^'']|'''')*''|[A-Za-z_][A-Za-z0-9_]*|[|][|]|[-+*/(),])'))[1];
        if v_token is null then
            raise exception using errcode = '22023',
                message = pg_catalog.format('formula cannot contain %L', pg_catalog.left(v_rest, 20));
        end if;
        v_tokens := v_tokens || v_token;
        v_rest := pg_catalog.substr(v_rest, pg_catalog.length(v_token) + 1);
    end loop;
    if pg_catalog.cardinality(v_tokens) > 400 then
        raise exception using errcode = '22023', message = 'formula is too long';
    end if;
    select f.o_sql, f.o_pos into v_sql, v_pos from docpal_private.formula_parse(v_tokens, 1, p_columns, 0) f;
    if v_pos <= pg_catalog.cardinality(v_tokens) then
        raise exception using errcode = '22023',
            message = pg_catalog.format('unexpected %L in formula', v_tokens[v_pos]);
    end if;
    return v_sql;
end
$$;
