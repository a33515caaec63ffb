create or replace function docpal_private.adopt_fits(p_value text, p_type oid, p_typmod integer)
    returns boolean
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* Whether the text p_value converts to the type p_type with modifier
   p_typmod (those of a docpal column, from pg_attribute). Used only after
   an adoption failed, to name the value that does not convert. */
declare
    v_type text := pg_catalog.format_type(p_type, p_typmod);
begin
    execute pg_catalog.format('select $1::%s', v_type) using p_value;
    return true;
exception when data_exception then
    return false;
end
$$;
