create or replace function docpal_private.apply_column(p_schema text, p_table text, p_old jsonb, p_new jsonb)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* Brings one column of table p_schema.p_table from spec p_old (null: the
   column does not exist yet) to the normalized spec p_new, and returns p_new
   with "objects" (the names of the constraints, indexes and junction table
   it owns). Only what changed is touched: objects whose definition is the
   same are kept; label-like keys are catalog-only. Errors leave everything
   as it was (the caller's transaction). */
declare
    v_col text := p_new->>'name';
    v_type text := p_new->>'type';
    v_old_type text := p_old->>'type';
    v_sql_type text := docpal_private.column_sql_type(p_new);
    v_stored jsonb := coalesce(p_old->'objects', '{}');
    v_old_defs jsonb := '{}';
    v_new jsonb;
    v_objects jsonb := '{}';
    v_key text;
    v_statement text;
    v_default text;
    v_clause text;
    v_expr text;
    v_seq text;
    v_nn text;
    v_value text;
    v_state text;
    v_message text;
begin
    select coalesce(pg_catalog.jsonb_object_agg(o.key, pg_catalog.jsonb_build_object(
               'name', o.name, 'definition', o.definition, 'statements', pg_catalog.to_jsonb(o.statements))), '{}')
      into v_new from docpal_private.column_objects(p_schema, p_table, p_new) o;
    if p_old is not null then
        select coalesce(pg_catalog.jsonb_object_agg(o.key, o.definition), '{}')
          into v_old_defs from docpal_private.column_objects(p_schema, p_table, p_old) o;
    end if;

    -- 1. objects that go away or change: dropped first (a CHECK of the old
    --    type would not survive a type change)
    for v_key in select k from pg_catalog.jsonb_object_keys(v_old_defs) k loop
        continue when v_new->v_key->>'definition' is not distinct from v_old_defs->>v_key;
        execute case
            when v_key = 'index' then pg_catalog.format('drop index if exists %I.%I', p_schema, v_stored->>v_key)
            when v_key = 'junction' then pg_catalog.format('drop table if exists %I.%I', p_schema, v_stored->>v_key)
            else pg_catalog.format('alter table %I.%I drop constraint if exists %I', p_schema, p_table, v_stored->>v_key)
        end;
    end loop;

    -- 2. the column itself
    if p_old is null then
        if v_type = 'formula' then
            v_expr := docpal_private.formula_sql(p_new->>'expression', array(
                select a.attname::text from pg_catalog.pg_attribute a
                 where a.attrelid = pg_catalog.format('%I.%I', p_schema, p_table)::regclass
                   and a.attnum > 0 and not a.attisdropped));
            begin
                execute pg_catalog.format('select pg_catalog.pg_typeof(%s)::text from (select (null::%I.%I).*) t',
                                          v_expr, p_schema, p_table) into v_sql_type;
                if v_sql_type = 'unknown' then
                    v_sql_type := 'text';
                    v_expr := '(' || v_expr || ')::text';
                end if;
                execute pg_catalog.format('alter table %I.%I add column %I %s generated always as (%s) stored',
                                          p_schema, p_table, v_col, v_sql_type, v_expr);
            exception
                when lock_not_available then raise;
                when others then
                    raise exception using errcode = '22023',
                        message = pg_catalog.format('formula %s cannot be stored: %s', v_col, sqlerrm);
            end;
        elsif v_type = 'autonumber' then
            v_seq := docpal_private.ident(p_table, v_col, 'seq');
            execute pg_catalog.format('create sequence %I.%I as bigint', p_schema, v_seq);
            execute pg_catalog.format('alter table %I.%I add column %I bigint not null default pg_catalog.nextval(%L::regclass)',
                                      p_schema, p_table, v_col, pg_catalog.format('%I.%I', p_schema, v_seq));
            execute pg_catalog.format('alter sequence %I.%I owned by %I.%I.%I', p_schema, v_seq, p_schema, p_table, v_col);
        elsif v_type <> 'relation_many' then
            v_default := docpal_private.default_sql(p_new);
            -- a constant default with NOT NULL is instant (no rewrite); without a
            -- default, SET NOT NULL fails (23502) when the table has rows
            v_clause := coalesce(' default ' || v_default, '')
                        || case when (p_new->>'required')::boolean and v_default is not null then ' not null' else '' end;
            execute pg_catalog.format('alter table %I.%I add column %I %s%s', p_schema, p_table, v_col, v_sql_type, v_clause);
            if (p_new->>'required')::boolean and v_default is null then
                execute pg_catalog.format('alter table %I.%I alter column %I set not null', p_schema, p_table, v_col);
            end if;
        end if;
    else
        if v_type <> v_old_type and 'relation_many' in (v_type, v_old_type)
           or v_type = 'relation_many' and p_new->>'target' <> p_old->>'target'
           or v_type <> v_old_type and 'formula' in (v_type, v_old_type)
           or v_type = 'formula' and p_new->>'expression' <> p_old->>'expression'
           or v_type <> v_old_type and 'autonumber' in (v_type, v_old_type) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s: a %s column cannot become %s; drop it and add a new one',
                                            v_col, v_old_type, v_type);
        end if;
        if v_type not in ('relation_many', 'formula') then
            if v_sql_type <> docpal_private.column_sql_type(p_old) or v_type <> v_old_type then
                execute pg_catalog.format('alter table %I.%I alter column %I drop default', p_schema, p_table, v_col);
                -- the full-text index's expression is written for the old type;
                -- refresh_table builds it again afterwards
                if pg_catalog.to_regclass(pg_catalog.format('%I.%I', p_schema, docpal_private.ident(p_table, 'search'))) is not null then
                    execute pg_catalog.format('drop index %I.%I', p_schema, docpal_private.ident(p_table, 'search'));
                end if;
                v_expr := case
                    when v_old_type = 'select' and v_type = 'multi_select'
                        then pg_catalog.format('case when %1$I is null then null else array[%1$I] end', v_col)
                    when v_old_type = 'multi_select' and v_sql_type = 'text'
                        then pg_catalog.format('pg_catalog.array_to_string(%I, '', '')', v_col)
                    when v_type = 'json' then pg_catalog.format('pg_catalog.to_jsonb(%I)', v_col)
                    when v_old_type = 'json' then pg_catalog.format('(%I #>> ''{}'')::%s', v_col, v_sql_type)
                    else pg_catalog.format('%I::%s', v_col, v_sql_type) end;
                begin
                    begin
                        execute pg_catalog.format('alter table %I.%I alter column %I type %s using %s',
                                                  p_schema, p_table, v_col, v_sql_type, v_expr);
                    exception when cannot_coerce or datatype_mismatch or undefined_function then
                        -- no direct cast: go through the text form
                        execute pg_catalog.format('alter table %I.%I alter column %I type %s using %I::text::%s',
                                                  p_schema, p_table, v_col, v_sql_type, v_col, v_sql_type);
                    end;
                exception
                    when lock_not_available then raise;
                    when data_exception then
                        get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
                        raise exception using errcode = v_state,
                            message = pg_catalog.format('column %s.%s cannot become %s: %s', p_table, v_col, v_type, v_message);
                    when cannot_coerce or datatype_mismatch or undefined_function then
                        raise exception using errcode = '22023',
                            message = pg_catalog.format('column %s.%s: %s values cannot become %s', p_table, v_col, v_old_type, v_type);
                end;
            end if;
            v_default := docpal_private.default_sql(p_new);
            if v_default is distinct from docpal_private.default_sql(p_old) or v_type <> v_old_type then
                v_clause := coalesce('set default ' || v_default, 'drop default');
                execute pg_catalog.format('alter table %I.%I alter column %I %s', p_schema, p_table, v_col, v_clause);
            end if;
        end if;
        if coalesce((p_new->>'required')::boolean, false) and not coalesce((p_old->>'required')::boolean, false) then
            -- SET NOT NULL skips its own full scan when a validated CHECK proves it
            v_nn := docpal_private.ident(p_table, v_col, 'nn');
            execute pg_catalog.format('alter table %I.%I add constraint %I check (%I is not null) not valid',
                                      p_schema, p_table, v_nn, v_col);
            begin
                execute pg_catalog.format('alter table %I.%I validate constraint %I', p_schema, p_table, v_nn);
            exception when check_violation then
                raise exception using errcode = '23502',
                    message = pg_catalog.format('column %s.%s cannot become required: some records have no value', p_table, v_col);
            end;
            execute pg_catalog.format('alter table %I.%I alter column %I set not null', p_schema, p_table, v_col);
            execute pg_catalog.format('alter table %I.%I drop constraint %I', p_schema, p_table, v_nn);
        elsif coalesce((p_old->>'required')::boolean, false) and not coalesce((p_new->>'required')::boolean, false)
              and v_type <> 'autonumber' then
            execute pg_catalog.format('alter table %I.%I alter column %I drop not null', p_schema, p_table, v_col);
        end if;
    end if;

    -- 3. objects that are new or changed; unchanged ones keep their names
    for v_key in select k from pg_catalog.jsonb_object_keys(v_new) k loop
        if v_old_defs ? v_key and v_old_defs->>v_key = v_new->v_key->>'definition' then
            v_objects := v_objects || pg_catalog.jsonb_build_object(v_key, coalesce(v_stored->>v_key, v_new->v_key->>'name'));
            continue;
        end if;
        for v_statement in select pg_catalog.jsonb_array_elements_text(v_new->v_key->'statements') loop
            begin
                execute v_statement;
            exception when check_violation then
                -- name the first value that breaks the rule
                execute pg_catalog.format('select t.%I::text from %I.%I t where not (%s) limit 1',
                                          v_col, p_schema, p_table, v_new->v_key->>'definition') into v_value;
                raise exception using errcode = '23514',
                    message = pg_catalog.format('column %s.%s: existing value %s breaks rule %s',
                                                p_table, v_col, coalesce(v_value, 'null'), pg_catalog.substr(v_key, 7)),
                    detail = pg_catalog.jsonb_build_object('column', v_col, 'rule', pg_catalog.substr(v_key, 7),
                                                           'value', v_value)::text;
            end;
        end loop;
        v_objects := v_objects || pg_catalog.jsonb_build_object(v_key, v_new->v_key->>'name');
    end loop;
    return p_new || pg_catalog.jsonb_build_object('objects', v_objects);
end
$$;
