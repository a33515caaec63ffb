create or replace function docpal_private.event_scope(p_consumer text)
    returns uuid
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* The company a consumer call acts on: the one in context, or null for
   every company (no context). 22023 for a malformed consumer name. */
begin
    if p_consumer is null or p_consumer !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$' then
        raise exception using errcode = '22023',
            message = pg_catalog.format('consumer name %L is not valid', p_consumer),
            hint = 'Up to 100 letters, digits and _ . : -, starting with a letter or digit.';
    end if;
    return (select c.company_id from docpal_private.context() c);
end
$$;
