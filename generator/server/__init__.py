"""``docpal serve``: docpal over HTTP (contract section 12).

A thin, stateless layer: every route parses its input, binds it to one docpal
function (or a few in the same transaction) and maps the result or the
SQLSTATE onto HTTP. No business rule lives here; the database decides.

    app.py       the Starlette application: routes, lifespan, access log
    db.py        the connection pools and the request transaction
                 (SET LOCAL ROLE, authenticate(key, true), Host check)
    errors.py    SQLSTATE -> status, the error body, Retry-After
    run.py       uvicorn, --workers, clean shutdown
    protocol.py  uvicorn's HTTP protocol with the request head bounded (size, time)
    openapi.py   GET /api/openapi.json (per company, from list_tables) and the page GET /api/docs
    admin.py     the page /admin and its routes /admin/api/ (DOCPAL_ADMIN_TOKEN, as docpal_service)
    dashboard.py the page /app/dashboards/{slug} and its charts route (an API key)
    charts.py    get_dashboard's widgets drawn as accessible SVG and HTML on the server
    static/      the pages' HTML, scripts and styles (admin.*, dashboard.*, docs.*)
"""
