create or replace function docpal_private.audit_text_sql()
    returns text
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* SQL of a value as an audit summary shows it, for the jsonb expression
   written $v: strings bare, JSON otherwise, "empty" for null, cut to 40
   characters (39 and an ellipsis). Inlined into the generated capture
   statements (a function call per changed column would cost more than the
   rest of the entry). */
begin
    return 'case when pg_catalog.length(coalesce(($v) #>> ''{}'', ''empty'')) > 40
                 then pg_catalog.left(($v) #>> ''{}'', 39) || ''…''
                 else coalesce(($v) #>> ''{}'', ''empty'') end';
end
$$;
