create or replace function docpal_private.q_system_field(
    inout p_state jsonb, p_path text, p_prefix text, p_from text, p_column jsonb, p_cond text, p_field text,
    p_last boolean, p_for_filter boolean,
    out o_sql text, out o_kind text, out o_column jsonb)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
as $$
/* A field of the user or the file that column p_column of row p_from leads
   to (contract 4.1: users and files are relations): created_by.email,
   teacher.display_name, photo.mime. The user is docpal_private.users, the
   file the company's _files; they are joined like a relation (one LEFT JOIN
   per path, docpal_private.q_register_join) and carry no grants of their
   own: the column that leads to them is what a member must be able to read
   (checked, and masked as p_cond, by the caller). The field ends the path;
   only the fields below are exposed (42703 otherwise), so a user's other
   data never is, and a user is read only while a member of the company
   (a user column accepts any user's id; another company's user reads as
   null). */
declare
    v_user boolean := p_column->>'type' = 'uuid' or p_column->>'type' = 'user';
    v_fields jsonb := case when v_user
        then '{"id": "uuid", "email": "email", "display_name": "text"}'::jsonb
        else '{"id": "uuid", "name": "text", "size": "bigint", "mime": "text", "sha256": "text",
               "storage_key": "text", "created_at": "datetime"}'::jsonb end;
    v_r record;
    v_alias text;
    v_ref text;
begin
    if not p_last or not v_fields ? p_field then
        raise exception using errcode = '42703', message = pg_catalog.format(
            'path %L: a %s has the fields %s', p_path, case when v_user then 'user' else 'file' end,
            (select pg_catalog.string_agg(k, ', ') from pg_catalog.jsonb_object_keys(v_fields) k));
    end if;
    if p_field = 'id' then
        -- the id the column holds: no join (and kept for a user of another company)
        o_kind := 'uuid';
        o_column := '{"name": "id", "type": "uuid"}';
        o_sql := pg_catalog.format('%I.%I', p_from, p_column->>'name');
        if p_cond is not null then
            o_sql := pg_catalog.format('(case when %s then %s end)', p_cond, o_sql);
        end if;
        p_state := p_state || pg_catalog.jsonb_build_object(
            'joined', p_from <> coalesce(p_state->>'alias', '_t') or p_cond is not null);
        return;
    end if;
    if v_user then
        -- a user column may hold any docpal user's id: only the company's
        -- members are read (another company's user stays an id). A subquery,
        -- not a condition on the join: Citus plans a coordinator table that
        -- way, a sublink in a join's condition it refuses.
        v_ref := p_state->>'company';   -- the company id's parameter, bound once per statement
        if v_ref is null then
            v_r := docpal_private.q_param(p_state, pg_catalog.to_jsonb(docpal_private.company_of_schema(p_state->>'schema')));
            p_state := v_r.p_state || pg_catalog.jsonb_build_object('company', v_r.o_ref);
            v_ref := v_r.o_ref;
        end if;
    end if;
    v_r := docpal_private.q_register_join(p_state, p_path, p_prefix, p_from,
        pg_catalog.jsonb_build_object('name', p_column->>'name',
            'target', case when v_user then 'users' else '_files' end,
            'target_schema', case when v_user then 'docpal_private' else p_state->>'schema' end,
            'target_sql', case when v_user then pg_catalog.format(
                '(select _u.id, _u.email, _u.display_name from docpal_private.users _u
                   where exists (select from docpal_private.memberships _mb
                                  where _mb.company_id = (%s #>> ''{}'')::uuid and _mb.user_id = _u.id))', v_ref) end),
        p_cond, p_for_filter);
    p_state := v_r.p_state || '{"joined": true}'::jsonb;
    v_alias := v_r.o_alias;
    o_kind := v_fields->>p_field;
    o_column := pg_catalog.jsonb_build_object('name', p_field, 'type', o_kind);
    o_sql := pg_catalog.format('%I.%I', v_alias, p_field);
end
$$;
