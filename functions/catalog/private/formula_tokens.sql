create or replace function docpal_private.formula_tokens(p_expression text)
    returns text[]
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The tokens of a formula (docpal_private.formula_sql): numbers, 'strings',
   names, ||, + - * / ( ) and commas; 22023 for anything else, for an empty
   expression, one over 2000 characters or over 400 tokens. A name followed
   by ( is a function call, any other name a column (or, in an aggregate's
   expr, a metric): aggregate reads the names a formula refers to from here. */
declare
    v_rest text := p_expression;
    v_token text;
    v_tokens text[] := '{}';
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
    return v_tokens;
end
$$;
