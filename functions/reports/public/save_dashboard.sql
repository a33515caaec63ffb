-- grant: docpal_service, docpal_app
create or replace function docpal.save_dashboard(spec jsonb)
    returns jsonb
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
as $$
/* Saves a dashboard of the company in context: spec {slug, name, widgets},
   each widget {id, title, report, params, chart, x, y, w, h}
   (docpal_private.dashboard_spec: a 24-column grid, charts number, bar,
   line, pie, table, kanban). Any member may save a new slug (a dashboard
   is a definition; its data is read with the reader's grants); replacing an
   existing one is for the user who saved it, and for owners and admins not
   acting through a narrowed API key (42501), and makes the caller its
   saver.
   Returns {slug, name, widgets, saved_by, saved_at}. 22023 for a malformed
   spec (an unknown report included), 54000 for a spec over 256 KB, more
   than 50 widgets or a new slug when the company has 200 dashboards
   (docpal_private.report_cap), 42501 without a context. */
declare
    v_ctx docpal_private.caller;
    v_board jsonb;
    v_at timestamptz := pg_catalog.now();
    v_done timestamptz;
    v_saver uuid;
begin
    perform docpal_private.check_spec_size(save_dashboard.spec, 'save_dashboard');
    select * into v_ctx from docpal_private.require_company();
    v_board := docpal_private.dashboard_spec(v_ctx.schema_name, save_dashboard.spec);
    perform docpal_private.report_tables(v_ctx.schema_name);
    perform docpal_private.report_cap(v_ctx.schema_name, 'dashboard', v_board->>'slug');  -- 54000 for a new one past 200
    loop
        -- a new slug is anyone's; an existing one is locked, then checked (two new saves of the
        -- same slug: the second waits and is then a replace, checked like any other)
        execute pg_catalog.format(
            'insert into %I._dashboards (slug, name, widgets, saved_by, saved_at) values ($1, $2, $3, $4, $5)
             on conflict (slug) do nothing returning saved_at', v_ctx.schema_name)
           into v_done using v_board->>'slug', v_board->>'name', v_board->'widgets', v_ctx.user_id, v_at;
        exit when v_done is not null;
        execute pg_catalog.format('select d.saved_by from %I._dashboards d where d.slug = $1 for update', v_ctx.schema_name)
           into v_saver using v_board->>'slug';
        if v_saver is not null then
            perform docpal_private.dashboard_check_saver(v_ctx, v_saver, v_board->>'slug');
            execute pg_catalog.format(
                'update %I._dashboards d set name = $2, widgets = $3, saved_by = $4, saved_at = $5
                  where d.slug = $1 returning d.saved_at', v_ctx.schema_name)
               into v_done using v_board->>'slug', v_board->>'name', v_board->'widgets', v_ctx.user_id, v_at;
            exit;
        end if;
        -- dropped between the two statements: insert it again
    end loop;
    return v_board || pg_catalog.jsonb_build_object('saved_by', v_ctx.user_id, 'saved_at', v_done);
end
$$;
