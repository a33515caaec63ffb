-- grant: docpal_service, docpal_app
create or replace function docpal.define_relations(object_type text, rules jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Sets the ReBAC rules of an object type (permission -> items: relations,
   other permissions, relation->permission arrows) and compiles the
   company's rules into functions (docpal_private.rebac_compile). Owners and
   admins only; 22023 for a malformed type or rules. */
declare
    v_ctx record;
    v_name text := '^[a-z][a-z0-9_]{0,62}$';
begin
    perform docpal_private.check_spec_size(define_relations.rules, 'define_relations');
    select * into v_ctx from docpal_private.require_admin();
    perform docpal_private.rebac_tables(v_ctx.schema_name);
    perform docpal_private.rebac_name(define_relations.object_type, 'object type');
    if pg_catalog.jsonb_typeof(define_relations.rules) is distinct from 'object'
       or exists (select from pg_catalog.jsonb_each(define_relations.rules) p
                   where p.key !~ v_name or pg_catalog.jsonb_typeof(p.value) <> 'array' or pg_catalog.jsonb_array_length(p.value) = 0
                      or exists (select from pg_catalog.jsonb_array_elements(p.value) i
                                  where pg_catalog.jsonb_typeof(i) <> 'string'
                                     or (i #>> '{}') !~ '^[a-z][a-z0-9_]{0,62}(->[a-z][a-z0-9_]{0,62})?$')) then
        raise exception using errcode = '22023',
            message = 'rules map each permission name to a non-empty array of relations, permissions and relation->permission arrows';
    end if;
    -- the time is a parameter: Citus allows only immutable functions in DO UPDATE SET
    execute pg_catalog.format(
        'insert into %I._relation_rules (object_type, rules) values ($1, $2)
         on conflict (object_type) do update set rules = excluded.rules, updated_at = $3', v_ctx.schema_name)
      using define_relations.object_type, define_relations.rules, pg_catalog.now();
    perform docpal_private.rebac_compile(v_ctx.schema_name);
    return pg_catalog.jsonb_build_object('object_type', define_relations.object_type, 'rules', define_relations.rules);
end
$$;
