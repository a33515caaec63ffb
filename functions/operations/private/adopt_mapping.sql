create or replace function docpal_private.adopt_mapping(
    p_schema text, p_slug text, p_source regclass, p_source_schema text, p_source_table text,
    p_overrides jsonb, p_time_zone text)
    returns jsonb
    language plpgsql
    set search_path = pg_catalog, pg_temp
as $$
/* The mapping of adopt_table: one entry per column of table p_source (in
   column order), {source_column, source_type, column, type, ...the rules
   of the docpal column, note?}, column and type null for a column left
   out, plus the private keys adopt_table builds its statement from:
   _spec (the normalized docpal column spec), _expr (the value, an SQL
   expression over the source row _s, $1 being the time zone p_time_zone),
   _join (a LEFT JOIN clause the expression needs), _missing (for a
   relation: the condition true when a source value has no target record),
   _cast (the PostgreSQL type a plain cast converts to, for naming a value
   that does not convert), _self (a relation to the table itself: the
   statement reads the source through a CTE holding the new ids, _src with
   column _docpal_id), _id (the uuid primary key whose values become the
   record ids).

   The rules, from the source column's base type (domains unwrapped):
   text, varchar(n), char(n), inet, cidr, macaddr -> text (max_length n);
   text-like with a validated CHECK listing values (adopt_check_options) and
   enums -> select with those options; smallint, integer -> integer; bigint
   -> bigint; numeric(p,s) -> decimal with precision p and scale s; real,
   double precision -> float; boolean; date; time -> time; timestamp
   without time zone -> datetime read in p_time_zone; timestamptz ->
   datetime; interval -> duration; json, jsonb -> json; uuid; arrays of
   text-like -> multi_select whose options are the distinct values present;
   other arrays of these -> json. A type owned by a role that is not a
   superuser (not PostgreSQL's or an extension's) that is not an enum is
   22023 even with an override: reading it could run a cast function of its
   owner's as docpal_owner; an enum is read by enum_out, never through a
   cast. A single-column primary key that is a
   uuid gives the record ids (mapped to id), any other becomes the required
   unique column legacy_<name>. A NOT NULL column is required, a
   single-column UNIQUE one unique. A single-column foreign key to a table
   this company adopted earlier (its _catalog entry of kind adoption) or to
   the source itself becomes a relation (on_delete from the key), its
   values mapped through the target's key column. Names are the source's,
   made valid (lower case, other characters _, a leading letter); a name of
   a system column gets legacy_ in front.

   p_overrides (spec.columns): per source column, null or {"skip": true}
   leaves it out; an object changes the column: without a type, or with
   the same type, its keys are merged over the inferred spec; with another
   type, it starts again from the name, required and unique. select and
   multi_select without options or a type_list take the distinct values
   present (at most 1,000). 22023 for an unknown source column, a column
   spec normalize_column refuses, a type adopt_table cannot fill (relation
   other than from a foreign key, relation_many, formula, autonumber), a
   source type with no docpal type and no override, and two columns with
   the same docpal name. Nothing here executes any text from the source's
   definition; the source's data is read only to collect options. */
declare
    v_system text[] := docpal_private.system_columns();
    v_from text := pg_catalog.format('%I.%I', p_source_schema, p_source_table);
    v_pk smallint[];
    v_att record;
    v_base oid;
    v_typmod integer;
    v_btype text;
    v_elem text;
    v_name text;
    v_over jsonb;
    v_col jsonb;
    v_entry jsonb;
    v_result jsonb := '[]';
    v_src text;
    v_expr text;
    v_join text;
    v_missing text;
    v_cast text;
    v_note text;
    v_self boolean;
    v_options text[];
    v_fk record;
    v_adopt_slug text;
    v_adopt_spec jsonb;
    v_target_col jsonb;
    v_target_sql text;
    v_join_no integer := 0;
    v_sql_type text;
    v_dup text;
    v_unknown text;
begin
    if p_overrides is not null and pg_catalog.jsonb_typeof(p_overrides) <> 'object' then
        raise exception using errcode = '22023', message = 'spec.columns must be an object keyed by source column names';
    end if;
    select k into v_unknown from pg_catalog.jsonb_object_keys(coalesce(p_overrides, '{}')) k
     where not exists (select from pg_catalog.pg_attribute a
                        where a.attrelid = p_source and a.attnum > 0 and not a.attisdropped and a.attname::text = k)
     order by k limit 1;
    if v_unknown is not null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('spec.columns: %s.%s has no column %L', p_source_schema, p_source_table, v_unknown);
    end if;
    select c.conkey into v_pk from pg_catalog.pg_constraint c where c.conrelid = p_source and c.contype = 'p';
    if pg_catalog.cardinality(v_pk) <> 1 then
        v_pk := null;  -- a composite key: its columns are copied as plain columns
    end if;

    for v_att in
        select a.attnum, a.attname::text as attname, a.atttypid, a.atttypmod, a.attnotnull,
               pg_catalog.format_type(a.atttypid, a.atttypmod) as source_type
          from pg_catalog.pg_attribute a
         where a.attrelid = p_source and a.attnum > 0 and not a.attisdropped
         order by a.attnum
    loop
        v_src := pg_catalog.format('_s.%I', v_att.attname);
        v_over := p_overrides->v_att.attname;
        v_entry := pg_catalog.jsonb_build_object('source_column', v_att.attname, 'source_type', v_att.source_type);
        if p_overrides ? v_att.attname
           and (v_over = 'null'::jsonb or pg_catalog.jsonb_typeof(v_over) = 'object' and v_over->'skip' = 'true'::jsonb) then
            v_result := v_result || (v_entry || '{"column": null, "type": null, "skipped": true}');
            continue;
        end if;
        if v_over is not null and (pg_catalog.jsonb_typeof(v_over) <> 'object'
                                   or v_over ? 'skip' and pg_catalog.jsonb_typeof(v_over->'skip') <> 'boolean') then
            raise exception using errcode = '22023',
                message = pg_catalog.format('spec.columns.%s must be null or a column spec object ({"skip": true} leaves it out)',
                                            v_att.attname);
        end if;
        v_over := nullif(v_over - 'skip', '{}');
        -- the base type: domains unwrapped
        v_base := v_att.atttypid;
        v_typmod := v_att.atttypmod;
        while (select t.typtype = 'd' from pg_catalog.pg_type t where t.oid = v_base) loop
            select t.typbasetype, t.typtypmod into v_base, v_typmod from pg_catalog.pg_type t where t.oid = v_base;
        end loop;
        select case when t.typnamespace = 'pg_catalog'::regnamespace then pg_catalog.format_type(t.oid, null)
                    when t.typtype = 'e' then 'enum' end,
               case when t.typelem <> 0 and t.typlen = -1 and e.typnamespace = 'pg_catalog'::regnamespace
                    then pg_catalog.format_type(e.oid, null) end
          into v_btype, v_elem
          from pg_catalog.pg_type t left join pg_catalog.pg_type e on e.oid = t.typelem
         where t.oid = v_base;
        -- a type a login that is not a superuser owns (and not an enum) is never read: a cast from
        -- it, a cast to json of it or of its elements or attributes, may be a function of its owner,
        -- which the copy would run as docpal_owner (PostgreSQL's types and an extension's, owned by
        -- a superuser, only have casts a superuser made); an enum is read through its output
        -- function only (enum_out: no cast is looked up), so a cast made at any time changes nothing
        if (select t.typtype <> 'e' and not r.rolsuper
              from pg_catalog.pg_type t join pg_catalog.pg_roles r on r.oid = t.typowner where t.oid = v_base) then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s of %s.%s has a type a database user made (%s), which adopt_table does not read',
                                            v_att.attname, p_source_schema, p_source_table, v_att.source_type),
                hint = pg_catalog.format('Only PostgreSQL''s and extensions'' types, domains over them and enums are adopted: leave it out with spec.columns.%s = null, or copy it into a table as text first.',
                                         v_att.attname);
        end if;
        if v_btype = 'enum' then
            -- (a domain over it to the enum first: a relabeling, no cast is looked up)
            v_src := pg_catalog.format('pg_catalog.textin(pg_catalog.enum_out(_s.%I::%s))', v_att.attname,
                                       pg_catalog.format_type(v_base, null));
        end if;
        v_expr := null; v_join := null; v_missing := null; v_cast := null; v_note := null; v_self := false;

        -- the name
        v_name := pg_catalog.lower(v_att.attname);
        v_name := pg_catalog.regexp_replace(v_name, '[^a-z0-9_]+', '_', 'g');
        if v_name !~ '^[a-z]' then
            v_name := 'c_' || v_name;
        end if;
        if v_name = any (v_system) or v_att.attnum = any (v_pk) then
            v_name := 'legacy_' || v_name;
        end if;
        v_name := pg_catalog.left(v_name, 63);

        -- a uuid primary key gives the ids (unless spec.columns says otherwise)
        if v_att.attnum = any (v_pk) and v_btype = 'uuid' and v_over is null then
            v_result := v_result || (v_entry || pg_catalog.jsonb_build_object(
                'column', 'id', 'type', 'uuid', 'keeps_ids', true, '_expr', v_src, '_id', v_att.attname));
            continue;
        end if;

        -- the inferred docpal column
        v_col := pg_catalog.jsonb_build_object('name', v_name);
        select c.confrelid, c.confkey[1] as refnum, c.confdeltype,
               (select a.attname::text from pg_catalog.pg_attribute a
                 where a.attrelid = c.confrelid and a.attnum = c.confkey[1]) as refname,
               (select pg_catalog.format('%I.%I', n.nspname, r.relname) from pg_catalog.pg_class r
                  join pg_catalog.pg_namespace n on n.oid = r.relnamespace where r.oid = c.confrelid) as refrel
          into v_fk
          from pg_catalog.pg_constraint c
         where c.conrelid = p_source and c.contype = 'f' and c.conkey = array[v_att.attnum]
         order by c.conname limit 1;
        v_adopt_slug := null;
        v_adopt_spec := null;
        if v_fk.confrelid is not null and v_fk.confrelid <> p_source then
            -- a table adopted earlier: its adoption entry, still the same table, and its key column
            -- (the table's oid compared here, on the coordinator: in a query on _catalog, which
            -- Citus may send to a worker, to_regclass would name the worker's table)
            for v_adopt_slug, v_adopt_spec in execute pg_catalog.format(
                'select c.slug, c.spec from %I._catalog c
                  where c.kind = ''adoption'' and c.spec->>''source_oid'' = $1
                  order by c.updated_at desc', p_schema)
               using v_fk.confrelid::text
            loop
                exit when pg_catalog.to_regclass(pg_catalog.format('%I.%I', p_schema, v_adopt_slug))::oid::text
                          = v_adopt_spec->>'table_oid';
                v_adopt_slug := null;
                v_adopt_spec := null;
            end loop;
            v_target_col := null;
            if v_adopt_slug is not null and v_adopt_spec->'keys'->>v_fk.refname = 'id' then
                v_target_col := '{"name": "id", "type": "uuid", "unique": true}';
            elsif v_adopt_slug is not null then
                select c into v_target_col
                  from pg_catalog.jsonb_array_elements(docpal_private.table_spec(p_schema, v_adopt_slug)->'columns') c
                 where c->>'name' = v_adopt_spec->'keys'->>v_fk.refname and (c->>'unique')::boolean;
            end if;
            if v_target_col is null then
                v_note := pg_catalog.format('foreign key to %s, which this company has not adopted (by a unique column): values copied as they are',
                                            v_fk.refrel);
            else
                v_target_sql := coalesce(docpal_private.column_sql_type(v_target_col), 'uuid');
                v_col := v_col || pg_catalog.jsonb_build_object('type', 'relation', 'target', v_adopt_slug);
                v_note := pg_catalog.format('foreign key to %s, adopted as %s: values mapped to its records', v_fk.refrel, v_adopt_slug);
                if v_target_col->>'name' = 'id' then
                    v_expr := pg_catalog.format('%s::uuid', v_src);
                    v_missing := pg_catalog.format('%1$s is not null and not exists (select from %2$I.%3$I _t where _t.id = %1$s::uuid)',
                                                   v_src, p_schema, v_adopt_slug);
                else
                    v_join_no := v_join_no + 1;
                    v_join := pg_catalog.format('left join %I.%I _j%s on _j%s.%I = %s::%s', p_schema, v_adopt_slug,
                                                v_join_no, v_join_no, v_target_col->>'name', v_src, v_target_sql);
                    -- a value without a target record gets an id no record has: the foreign key refuses it (23503)
                    v_expr := pg_catalog.format('case when %1$s is null then null else coalesce(_j%2$s.id, %3$L::uuid) end',
                                                v_src, v_join_no, '00000000-0000-0000-0000-000000000000');
                    v_missing := pg_catalog.format('%s is not null and _j%s.id is null', v_src, v_join_no);
                end if;
            end if;
        elsif v_fk.confrelid = p_source then
            -- a tree: the relation points at the table being made
            v_self := true;
            v_col := v_col || pg_catalog.jsonb_build_object('type', 'relation', 'target', p_slug);
            v_note := 'foreign key to the table itself: values mapped to the new records';
            v_join_no := v_join_no + 1;
            v_join := pg_catalog.format('left join _src _j%s on %s = %s', v_join_no,
                                        pg_catalog.replace(v_src, pg_catalog.format('_s.%I', v_att.attname),
                                                           pg_catalog.format('_j%s.%I', v_join_no, v_fk.refname)), v_src);
            v_expr := pg_catalog.format('case when %1$s is null then null else coalesce(_j%2$s._docpal_id, %3$L::uuid) end',
                                        v_src, v_join_no, '00000000-0000-0000-0000-000000000000');
            v_missing := pg_catalog.format('%s is not null and _j%s._docpal_id is null', v_src, v_join_no);
        end if;
        if v_col->>'type' = 'relation' then
            v_col := v_col || pg_catalog.jsonb_build_object('on_delete',
                case v_fk.confdeltype when 'c' then 'cascade'
                                      when 'n' then case when v_att.attnotnull then 'restrict' else 'set_null' end
                                      else 'restrict' end);
        elsif v_btype in ('text', 'character varying', 'character') then
            v_options := docpal_private.adopt_check_options(p_source, v_att.attnum);
            if v_options is not null then
                v_col := v_col || pg_catalog.jsonb_build_object('type', 'select', 'options', pg_catalog.to_jsonb(v_options));
            else
                v_col := v_col || '{"type": "text"}';
                if v_btype <> 'text' and v_typmod > 4 then
                    v_col := v_col || pg_catalog.jsonb_build_object('max_length', v_typmod - 4);
                end if;
            end if;
        elsif v_btype = 'enum' then
            v_col := v_col || pg_catalog.jsonb_build_object('type', 'select', 'options',
                (select pg_catalog.jsonb_agg(e.enumlabel order by e.enumsortorder) from pg_catalog.pg_enum e where e.enumtypid = v_base));
        elsif v_btype in ('inet', 'cidr', 'macaddr', 'macaddr8') then
            v_col := v_col || '{"type": "text"}';
        elsif v_btype in ('smallint', 'integer') then
            v_col := v_col || '{"type": "integer"}';
        elsif v_btype = 'bigint' then
            v_col := v_col || '{"type": "bigint"}';
        elsif v_btype = 'numeric' then
            v_col := v_col || '{"type": "decimal"}';
            -- numeric(p,s): typmod - 4 = p << 16 | s (a negative scale has no docpal form)
            if v_typmod > 4 and ((v_typmod - 4) & 65535) <= ((v_typmod - 4) >> 16) then
                v_col := v_col || pg_catalog.jsonb_build_object('precision', (v_typmod - 4) >> 16, 'scale', (v_typmod - 4) & 65535);
            end if;
        elsif v_btype in ('real', 'double precision') then
            v_col := v_col || '{"type": "float"}';
        elsif v_btype = 'boolean' then
            v_col := v_col || '{"type": "boolean"}';
        elsif v_btype = 'date' then
            v_col := v_col || '{"type": "date"}';
        elsif v_btype = 'time without time zone' then
            v_col := v_col || '{"type": "time"}';
        elsif v_btype in ('timestamp without time zone', 'timestamp with time zone') then
            v_col := v_col || '{"type": "datetime"}';
        elsif v_btype = 'interval' then
            v_col := v_col || '{"type": "duration"}';
        elsif v_btype in ('json', 'jsonb') then
            v_col := v_col || '{"type": "json"}';
        elsif v_btype = 'uuid' then
            v_col := v_col || '{"type": "uuid"}';
        elsif v_elem in ('text', 'character varying', 'character') then
            v_col := v_col || '{"type": "multi_select"}';
        elsif v_elem in ('smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision', 'boolean', 'date',
                         'time without time zone', 'timestamp without time zone', 'timestamp with time zone',
                         'interval', 'json', 'jsonb', 'uuid', 'inet', 'cidr') then
            v_col := v_col || '{"type": "json"}';
        end if;
        if v_att.attnum = any (v_pk) then
            v_col := v_col || '{"required": true, "unique": true}';
            v_entry := v_entry || '{"legacy_key": true}';
        else
            if v_att.attnotnull then
                v_col := v_col || '{"required": true}';
            end if;
            if exists (select from pg_catalog.pg_constraint c
                        where c.conrelid = p_source and c.contype = 'u' and c.conkey = array[v_att.attnum]) then
                v_col := v_col || '{"unique": true}';
            end if;
        end if;

        -- spec.columns.<column>
        if v_over is not null then
            if v_over ? 'type' and v_over->>'type' is distinct from v_col->>'type' then
                v_col := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                    'name', v_col->'name', 'required', v_col->'required', 'unique', v_col->'unique'));
                v_expr := null; v_join := null; v_missing := null; v_self := false;
                v_note := null;
            end if;
            v_col := v_col || v_over;
            if v_col->>'type' in ('relation', 'relation_many', 'formula', 'autonumber') and v_expr is null then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('spec.columns.%s: adopt_table cannot fill a %s column', v_att.attname, v_col->>'type'),
                    hint = 'A relation comes from a foreign key to a table adopted earlier; add other kinds after adopting.';
            end if;
            if v_col->>'type' = 'relation' and (v_col->>'target' is distinct from
                    coalesce(v_adopt_slug, case when v_self then p_slug end)) then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('spec.columns.%s: the relation''s target is the table its foreign key names', v_att.attname);
            end if;
        end if;
        if not v_col ? 'type' then
            raise exception using errcode = '22023',
                message = pg_catalog.format('column %s of %s.%s (%s) has no docpal type',
                                            v_att.attname, p_source_schema, p_source_table, v_att.source_type),
                hint = pg_catalog.format('Map it with spec.columns.%1$s = {"type": ...} (it is converted through its text form), or leave it out with spec.columns.%1$s = null.',
                                         v_att.attname);
        end if;
        -- options from the data for a select or multi_select that has none
        if v_col->>'type' in ('select', 'multi_select') and not v_col ? 'options' and not v_col ? 'type_list' then
            execute pg_catalog.format(
                'select pg_catalog.array_agg(d.v order by d.v)
                   from (select distinct x.v from (select %s as v from %s _s) x
                          where x.v is not null and x.v <> '''' limit 1001) d',
                case when v_elem is not null then pg_catalog.format('pg_catalog.unnest(%s)::text', v_src)
                     else pg_catalog.format('%s::text', v_src) end, v_from)
               into v_options;
            if v_options is null then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('column %s of %s.%s holds no values to make the options of a %s from',
                                                v_att.attname, p_source_schema, p_source_table, v_col->>'type'),
                    hint = pg_catalog.format('Give them: spec.columns.%s = {"options": [...]}.', v_att.attname);
            elsif pg_catalog.cardinality(v_options) > 1000 then
                raise exception using errcode = '22023',
                    message = pg_catalog.format('column %s of %s.%s holds more than 1,000 distinct values, too many for options',
                                                v_att.attname, p_source_schema, p_source_table),
                    hint = pg_catalog.format('Map it as json or text: spec.columns.%s = {"type": "json"}.', v_att.attname);
            end if;
            v_col := v_col || pg_catalog.jsonb_build_object('options', pg_catalog.to_jsonb(v_options));
        end if;
        v_col := docpal_private.normalize_column(p_schema, v_col);

        -- the value: an SQL expression over _s
        v_sql_type := docpal_private.column_sql_type(v_col);
        if v_expr is null then
            v_expr := case
                when v_col->>'type' = 'json' then
                    case when v_btype in ('json', 'jsonb') then pg_catalog.format('%s::jsonb', v_src)
                         else pg_catalog.format('pg_catalog.to_jsonb(%s)', v_src) end
                when v_col->>'type' = 'multi_select' then
                    case when v_elem is not null then pg_catalog.format('%s::text[]', v_src)
                         when v_btype in ('json', 'jsonb') then
                             pg_catalog.format('array(select pg_catalog.jsonb_array_elements_text(%s::jsonb))', v_src)
                         else pg_catalog.format('case when %1$s is null then null else array[%1$s::text] end', v_src) end
                when v_sql_type = 'text' and v_btype in ('json', 'jsonb') then pg_catalog.format('(%s::jsonb #>> ''{}'')', v_src)
                when v_sql_type = 'text' and v_btype in ('inet', 'cidr', 'macaddr', 'macaddr8')
                    -- the output form (inet's ::text always adds the netmask)
                    then pg_catalog.format('pg_catalog.format(''%%s'', %s)', v_src)
                when v_sql_type = 'text' then pg_catalog.format('%s::text', v_src)
                when v_col->>'type' = 'datetime' and v_btype = 'timestamp without time zone'
                    then pg_catalog.format('(%s at time zone $1)', v_src)
                when v_col->>'type' = 'datetime' and v_btype = 'date'
                    then pg_catalog.format('(%s::timestamp without time zone at time zone $1)', v_src)
                when v_col->>'type' in ('date', 'time') and v_btype = 'timestamp with time zone'
                    then pg_catalog.format('(%s at time zone $1)::%s', v_src, v_sql_type)
                when v_btype = v_sql_type then v_src
            end;
            if v_expr is null then
                -- a plain cast, or through the text form when there is none
                v_cast := v_sql_type;
                v_expr := pg_catalog.format('%s::%s', v_src, v_sql_type);
                begin
                    execute pg_catalog.format('select %s from %s _s limit 0', v_expr, v_from) using p_time_zone;
                exception when cannot_coerce or datatype_mismatch or undefined_function then
                    v_expr := pg_catalog.format('%s::text::%s', v_src, v_sql_type);
                end;
            end if;
            if v_col->>'type' = 'datetime' and v_btype = 'timestamp without time zone' then
                v_entry := v_entry || pg_catalog.jsonb_build_object('time_zone', p_time_zone);
            end if;
        end if;
        v_result := v_result || (v_entry
            || pg_catalog.jsonb_build_object('column', v_col->>'name', 'type', v_col->>'type')
            || (v_col - 'name' - 'type')
            || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('note', v_note))
            || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                   '_spec', v_col, '_expr', v_expr, '_src', v_src, '_join', v_join, '_missing', v_missing, '_cast', v_cast,
                   '_self', case when v_self then true end)));
    end loop;

    select e->>'column' into v_dup
      from pg_catalog.jsonb_array_elements(v_result) e
     where e->>'column' is not null
     group by e->>'column' having pg_catalog.count(*) > 1
     order by 1 limit 1;
    if v_dup is not null then
        raise exception using errcode = '22023',
            message = pg_catalog.format('two source columns would both become column %s', v_dup),
            hint = 'Name one of them: spec.columns.<source column> = {"name": "..."}.';
    end if;
    return v_result;
end
$$;
