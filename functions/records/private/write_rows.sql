create or replace function docpal_private.write_rows(
    p_schema text, p_spec jsonb, p_rows jsonb, p_readable text[],
    p_sql text[], p_data jsonb[], p_user uuid,
    p_many text[] default '{}', p_ids uuid[] default null, p_version integer default null,
    p_bump boolean default false)
    returns uuid[]
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The write path of a record write (create_record, create_records,
   update_record, restore_image): runs each statement of p_sql (built by
   the caller, names quoted), an INSERT or UPDATE ending in RETURNING of the
   id, with $1 = p_data[i], $2 = p_user, $3 = p_ids, $4 = p_version, and
   returns the ids they wrote, in order (null when none). Then the relation_many columns p_many of
   p_rows (the records written, an array): for each, write_links with
   {id: row->column} for the rows that have the column, the id of row i
   being its key id, else p_ids[i], else the i-th id written. With p_bump (update_record) a
   link change makes a new version of a record the statements left
   unchanged, once. Errors of the statements and the links come out as
   docpal_private.raise_write_error words them (p_readable: the columns the
   caller may read, null: every column). */
declare
    v_ids uuid[];
    v_id uuid;
    v_changed boolean;
    v_column text;
    v_state text;
    v_message text;
    v_detail text;
    v_constraint text;
    v_null_column text;
begin
    for i in 1 .. coalesce(pg_catalog.array_length(p_sql, 1), 0) loop
        for v_id in execute p_sql[i] using p_data[i], p_user, p_ids, p_version loop
            v_ids := v_ids || v_id;
        end loop;
    end loop;
    v_changed := pg_catalog.cardinality(v_ids) > 0;
    foreach v_column in array p_many loop
        -- the first link change of a record whose data did not change makes its new version
        if docpal_private.write_links(p_schema, p_spec, v_column,
               (select pg_catalog.jsonb_object_agg(coalesce(x.r->>'id', p_ids[x.o]::text, v_ids[x.o]::text), x.r->v_column)
                  from pg_catalog.jsonb_array_elements(p_rows) with ordinality x(r, o) where x.r ? v_column),
               p_bump and not coalesce(v_changed, false)) then
            v_changed := true;
        end if;
    end loop;
    return v_ids;
exception
    when integrity_constraint_violation or data_exception then
        get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_detail = pg_exception_detail,
                                v_constraint = constraint_name, v_null_column = column_name;
        perform docpal_private.raise_write_error(p_schema, p_spec, p_rows,
                                                 v_state, v_message, nullif(v_detail, ''), nullif(v_constraint, ''),
                                                 nullif(v_null_column, ''), p_readable);
end
$$;
