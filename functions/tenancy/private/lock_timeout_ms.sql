create or replace function docpal_private.lock_timeout_ms(p_value text)
    returns bigint
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* A lock_timeout value ('300ms', '2s', '1min', '2000') in milliseconds, as
   PostgreSQL itself reads it; null when it is not one. The value is tried
   in a subtransaction that is then rolled back, so the caller's own
   lock_timeout is left as it was. */
declare
    v_ms bigint;
begin
    if p_value is null then
        return null;
    end if;
    begin
        perform pg_catalog.set_config('lock_timeout', p_value, true);
        v_ms := (select s.setting::bigint from pg_catalog.pg_settings s where s.name = 'lock_timeout');
        raise exception using errcode = 'P0001', message = 'undo the trial setting';
    exception
        when invalid_parameter_value then
            return null;
        when raise_exception then
            null;
    end;
    return v_ms;
end
$$;
