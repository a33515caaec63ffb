create or replace function docpal_private.q_check_spec(p_spec jsonb)
    returns jsonb
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* p_spec, checked to be an object (22023) within docpal's size limits
   (54000, docpal_private.check_spec_size): the first thing every query
   function does, before any work that grows with the spec. */
begin
    if p_spec is null or pg_catalog.jsonb_typeof(p_spec) <> 'object' then
        raise exception using errcode = '22023', message = 'a query spec must be a JSON object';
    end if;
    return docpal_private.check_spec_size(p_spec, 'query spec');
end
$$;
