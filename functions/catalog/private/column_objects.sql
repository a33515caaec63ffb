create or replace function docpal_private.column_objects(p_schema text, p_table text, p_column jsonb)
    returns table (key text, name text, definition text, statements text[])
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The constraints, indexes and junction table a column owns, each with a
   definition to compare (an object whose definition did not change is left
   alone) and the statements that create it. CHECK and FOREIGN KEY
   constraints are added NOT VALID and then validated, which scans the table
   without blocking its writes. key is check:<rule>, unique, fkey, index or
   junction; a user column's fkey is a check of the values, not a foreign
   key (see below). */
declare
    v_col text := p_column->>'name';
    v_type text := p_column->>'type';
    v_check record;
    v_target text;
    v_method text;
    v_on_delete text;
begin
    for v_check in select c.rule, c.expression from docpal_private.column_checks(p_schema, p_column) c loop
        key := 'check:' || v_check.rule;
        name := docpal_private.ident(p_table, v_col, v_check.rule);
        definition := v_check.expression;
        statements := array[
            pg_catalog.format('alter table %I.%I add constraint %I check (%s) not valid', p_schema, p_table, name, v_check.expression),
            pg_catalog.format('alter table %I.%I validate constraint %I', p_schema, p_table, name)];
        return next;
    end loop;

    if (p_column->>'unique')::boolean then
        key := 'unique';
        name := docpal_private.ident(p_table, v_col, 'key');
        definition := 'unique';
        statements := array[pg_catalog.format('alter table %I.%I add constraint %I unique (%I)', p_schema, p_table, name, v_col)];
        return next;
    end if;

    if v_type = 'user' then
        -- no foreign key to the shared users table (its RI triggers would live
        -- there, and adding or dropping one would lock it for the rest of the
        -- tenant's transaction): the table's _docpal_users trigger checks
        -- writes (docpal_private.check_user_refs, made by refresh_table), and
        -- this checks the values already there
        key := 'fkey';
        name := docpal_private.ident(p_table, v_col, 'fkey');
        definition := 'docpal_private.users checked by trigger';
        statements := array[
            pg_catalog.format('select docpal_private.check_user_column(%L, %L, %L, %L)', p_schema, p_table, v_col, name)];
        return next;
    end if;

    if v_type in ('relation', 'file') then
        v_target := case v_type
            when 'relation' then pg_catalog.format('%I.%I', p_schema, p_column->>'target')
            else pg_catalog.format('%I._files', p_schema) end;
        v_on_delete := case v_type when 'relation' then pg_catalog.replace(p_column->>'on_delete', '_', ' ')
                                   else 'restrict' end;
        key := 'fkey';
        name := docpal_private.ident(p_table, v_col, 'fkey');
        definition := v_target || ' on delete ' || v_on_delete;
        statements := array[
            pg_catalog.format('alter table %I.%I add constraint %I foreign key (%I) references %s (id) on delete %s not valid',
                              p_schema, p_table, name, v_col, v_target, v_on_delete),
            pg_catalog.format('alter table %I.%I validate constraint %I', p_schema, p_table, name)];
        return next;
    end if;

    if v_type = 'relation' or (p_column->>'indexed')::boolean and v_type <> 'relation_many' then
        v_method := case when v_type in ('multi_select', 'json') then 'gin' else 'btree' end;
        key := 'index';
        name := docpal_private.ident(p_table, v_col, 'idx');
        definition := v_method;
        statements := array[pg_catalog.format('create index %I on %I.%I using %s (%I)', name, p_schema, p_table, v_method, v_col)];
        return next;
    end if;

    if v_type = 'relation_many' then
        key := 'junction';
        name := docpal_private.ident('_' || p_table, '_' || v_col);
        definition := p_column->>'target';
        statements := array[
            pg_catalog.format('create table %I.%I (
                source_id uuid not null references %I.%I (id) on delete cascade,
                target_id uuid not null references %I.%I (id) on delete cascade,
                position  integer not null,
                primary key (source_id, target_id))',
                p_schema, name, p_schema, p_table, p_schema, p_column->>'target'),
            pg_catalog.format('create index %I on %I.%I (target_id)', docpal_private.ident(name, 'target'), p_schema, name),
            pg_catalog.format('comment on table %I.%I is %L', p_schema, name,
                              pg_catalog.format('docpal junction of %s.%s (relation_many to %s)', p_table, v_col, p_column->>'target'))];
        return next;
    end if;
end
$$;
