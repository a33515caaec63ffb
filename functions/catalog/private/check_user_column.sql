create or replace function docpal_private.check_user_column(p_schema text, p_table text, p_column text, p_constraint text)
    returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* A column becoming a user column: every value it already holds must name a
   user (23503 naming the first that does not). What VALIDATE CONSTRAINT did
   for the foreign key that user columns no longer have
   (docpal_private.check_user_refs); reads the users table only. */
declare
    v_value text;
begin
    execute pg_catalog.format(
        'select t.%1$I::text from %2$I.%3$I t
          where t.%1$I is not null
            and not exists (select from docpal_private.users u where u.id = t.%1$I) limit 1',
        p_column, p_schema, p_table) into v_value;
    if v_value is not null then
        raise exception using errcode = '23503',
            message = pg_catalog.format('column %s.%s: existing value %s is not a user', p_table, p_column, v_value),
            constraint = p_constraint, column = p_column, table = p_table, schema = p_schema;
    end if;
end
$$;
