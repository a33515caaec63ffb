create or replace function docpal_private.q_reject_keys(p_spec jsonb, p_keys text[], p_function text)
    returns void
    language plpgsql immutable
    set search_path = pg_catalog, pg_temp
as $$
/* 22023 when the spec has one of p_keys, which p_function does not take. */
declare
    v_key text;
begin
    select k into v_key from pg_catalog.jsonb_object_keys(p_spec) k where k = any (p_keys) limit 1;
    if v_key is not null then
        raise exception using errcode = '22023', message = pg_catalog.format('%s takes no %L', p_function, v_key);
    end if;
end
$$;
