create or replace function docpal_private.report_substitute(p_spec jsonb, p_params jsonb)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* p_spec with every string value "$param.<name>" (in objects and arrays,
   at any depth; values only, never keys, and only a whole string) replaced
   by p_params' value of that name, a typed JSON value
   (docpal_private.report_bind). One pass: a value put in is not searched
   again. 22023 for a name p_params does not hold; 54000 for one nested
   more than 64 levels deep (docpal_private.report_substitute_at). The
   spec's text is searched once here: most specs name no param and come
   back as they are, whatever their size or depth. */
begin
    if pg_catalog.strpos(p_spec::text, '"$param.') = 0 then
        return p_spec;
    end if;
    return docpal_private.report_substitute_at(p_spec, p_params, 1);
end
$$;
