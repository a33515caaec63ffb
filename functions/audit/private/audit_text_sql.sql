create or replace function docpal_private.audit_text_sql()
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* SQL of a value as an audit summary shows it, for the text expression
   written $t, the value as jsonb ->> gives it (strings bare, JSON
   otherwise, null for null): "empty" for null, cut to 40 characters (39 and
   an ellipsis). Inlined into the generated capture statements (a function
   call per changed column would cost more than the rest of the entry). */
begin
    return 'case when pg_catalog.length($t) > 40 then pg_catalog.left($t, 39) || ''…'' else coalesce($t, ''empty'') end';
end
$$;
