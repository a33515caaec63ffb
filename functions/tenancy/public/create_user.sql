-- grant: docpal_service
create or replace function docpal.create_user(email text, display_name text)
    returns uuid
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Creates a global user; returns its id. 22023 for a malformed email or an
   empty display name, 23505 when the email (in any case) is taken. */
declare
    v_id uuid;
begin
    if create_user.email is null or create_user.email !~ '^[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:]]+$' then
        raise exception using errcode = '22023', message = pg_catalog.format('invalid email address %L', create_user.email);
    end if;
    if create_user.display_name is null or pg_catalog.btrim(create_user.display_name) = '' then
        raise exception using errcode = '22023', message = 'a user needs a display name';
    end if;
    insert into docpal_private.users (email, display_name)
    values (pg_catalog.btrim(create_user.email), create_user.display_name)
    returning id into v_id;
    return v_id;
exception when unique_violation then
    raise exception using errcode = '23505',
        message = pg_catalog.format('a user with email %L already exists', create_user.email);
end
$$;
