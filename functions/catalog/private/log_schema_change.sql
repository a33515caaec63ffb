create or replace function docpal_private.log_schema_change(
    p_schema text, p_user uuid, p_table text, p_change text, p_before jsonb, p_after jsonb)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* One schema_history entry, in the transaction of the change it records. */
begin
    execute pg_catalog.format(
        'insert into %I._schema_history (user_id, table_slug, change, before, after) values ($1, $2, $3, $4, $5)',
        p_schema)
      using p_user, p_table, p_change, docpal_private.public_spec(p_before), docpal_private.public_spec(p_after);
end
$$;
