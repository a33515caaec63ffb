create or replace function docpal_private.check_keys(p_spec jsonb, p_not_object text, p_keys text[], p_message text,
                                                     p_hint text default null)
    returns void
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* The shape check every function taking a JSON spec or patch makes first:
   22023 with p_not_object as the message when p_spec is not an object, and
   22023 with p_message (a format() string, %L standing for the key) and
   p_hint for the first key, in alphabetical order, that is not in p_keys. */
declare
    v_key text;
begin
    if p_spec is null or pg_catalog.jsonb_typeof(p_spec) <> 'object' then
        raise exception using errcode = '22023', message = p_not_object;
    end if;
    select k into v_key from pg_catalog.jsonb_object_keys(p_spec) k where k <> all (p_keys) order by k limit 1;
    if v_key is not null and p_hint is not null then
        raise exception using errcode = '22023', message = pg_catalog.format(p_message, v_key), hint = p_hint;
    elsif v_key is not null then
        raise exception using errcode = '22023', message = pg_catalog.format(p_message, v_key);
    end if;
end
$$;
