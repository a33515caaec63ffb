create or replace function docpal_private.formula_parse(
    p_tokens text[], p_pos integer, p_columns text[], p_level integer, p_metrics boolean default false,
    out o_sql text, out o_pos integer)
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* Recursive descent over formula tokens from position p_pos; returns the SQL
   of one expression and the position after it. p_level: 0 = + - ||,
   1 = * /, 2 = unary minus, literal, column, call or parentheses. Every
   piece of output is made here: identifiers through format('%I'), strings
   through quote_literal, functions from a fixed allow-list, so nothing from
   the expression reaches SQL as written. p_metrics (aggregate's expr
   metrics): numbers are numeric (1 / 2 is 0.5, not 0) and a division by
   zero is null. */
declare
    v_token text := p_tokens[p_pos];
    v_op text;
    v_rhs text;
    v_name text;
    v_args text[] := '{}';
    v_arg text;
begin
    if p_level < 2 then
        select f.o_sql, f.o_pos into o_sql, o_pos
          from docpal_private.formula_parse(p_tokens, p_pos, p_columns, p_level + 1, p_metrics) f;
        while p_tokens[o_pos] = any (case p_level when 0 then array['+', '-', '||'] else array['*', '/'] end) loop
            v_op := p_tokens[o_pos];
            select f.o_sql, f.o_pos into v_rhs, o_pos
              from docpal_private.formula_parse(p_tokens, o_pos + 1, p_columns, p_level + 1, p_metrics) f;
            o_sql := case when v_op = '||' then pg_catalog.format('((%s)::text || (%s)::text)', o_sql, v_rhs)
                          when v_op = '/' and p_metrics then pg_catalog.format('(%s / nullif(%s, 0))', o_sql, v_rhs)
                          else pg_catalog.format('(%s %s %s)', o_sql, v_op, v_rhs) end;
        end loop;
        return;
    end if;

    if v_token is null then
        raise exception using errcode = '22023', message = 'formula ends too early';
    elsif v_token = '-' then
        select f.o_sql, f.o_pos into o_sql, o_pos from docpal_private.formula_parse(p_tokens, p_pos + 1, p_columns, 2, p_metrics) f;
        o_sql := '(-' || o_sql || ')';
    elsif v_token = '(' then
        select f.o_sql, f.o_pos into o_sql, o_pos from docpal_private.formula_parse(p_tokens, p_pos + 1, p_columns, 0, p_metrics) f;
        if p_tokens[o_pos] is distinct from ')' then
            raise exception using errcode = '22023', message = 'formula has an unclosed parenthesis';
        end if;
        o_pos := o_pos + 1;
    elsif v_token ~ '^[0-9]' then
        o_sql := v_token || case when p_metrics then '::numeric' else '' end;
        o_pos := p_pos + 1;
    elsif v_token ~ '^''' then
        o_sql := pg_catalog.quote_literal(pg_catalog.replace(pg_catalog.substr(v_token, 2, pg_catalog.length(v_token) - 2), '''''', ''''));
        o_pos := p_pos + 1;
    elsif v_token ~ '^[A-Za-z_]' and p_tokens[p_pos + 1] = '(' then
        v_name := pg_catalog.lower(v_token);
        if v_name <> all (array['abs', 'ceil', 'floor', 'round', 'coalesce', 'nullif', 'greatest', 'least', 'upper',
                                'lower', 'length', 'trim', 'left', 'right', 'substr', 'replace', 'concat', 'date_part']) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('function %s is not allowed in a formula', v_name),
                hint = 'Allowed: abs ceil floor round coalesce nullif greatest least upper lower length trim left right substr replace concat date_part.';
        end if;
        o_pos := p_pos + 2;
        if p_tokens[o_pos] is distinct from ')' then
            loop
                select f.o_sql, f.o_pos into v_arg, o_pos from docpal_private.formula_parse(p_tokens, o_pos, p_columns, 0, p_metrics) f;
                v_args := v_args || v_arg;
                exit when p_tokens[o_pos] is distinct from ',';
                o_pos := o_pos + 1;
            end loop;
        end if;
        if p_tokens[o_pos] is distinct from ')' then
            raise exception using errcode = '22023', message = pg_catalog.format('formula call of %s is not closed', v_name);
        end if;
        o_pos := o_pos + 1;
        if pg_catalog.cardinality(v_args) = 0 then
            raise exception using errcode = '22023', message = pg_catalog.format('%s needs arguments', v_name);
        end if;
        o_sql := case
            -- SQL constructs, not functions: they have no schema
            when v_name in ('coalesce', 'nullif', 'greatest', 'least')
                then v_name || '(' || pg_catalog.array_to_string(v_args, ', ') || ')'
            -- concat() is only STABLE; this spelling of it is immutable
            when v_name = 'concat'
                then '(' || (select pg_catalog.string_agg(pg_catalog.format('coalesce((%s)::text, '''')', a), ' || ')
                               from pg_catalog.unnest(v_args) a) || ')'
            when v_name = 'round'
                then pg_catalog.format('pg_catalog.round((%s)::numeric%s)', v_args[1],
                                       case when pg_catalog.cardinality(v_args) > 1
                                            then ', (' || v_args[2] || ')::integer' else '' end)
            else 'pg_catalog.' || v_name || '(' || pg_catalog.array_to_string(v_args, ', ') || ')'
        end;
    elsif v_token ~ '^[A-Za-z_]' then
        if v_token <> all (p_columns) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('formula refers to %L, which is not a column of this table', v_token);
        end if;
        o_sql := pg_catalog.format('%I', v_token);
        o_pos := p_pos + 1;
    else
        raise exception using errcode = '22023', message = pg_catalog.format('unexpected %L in formula', v_token);
    end if;
end
$$;
