"""``docpal serve``: docpal over HTTP (contract section 12).

A thin, stateless layer: every route parses its input, binds it to one docpal
function (or a few in the same transaction) and maps the result or the
SQLSTATE onto HTTP. No business rule lives here; the database decides.

    app.py       the Starlette application: routes, lifespan, access log
    db.py        the connection pools and the request transaction
                 (SET LOCAL ROLE, authenticate(key, true), Host check)
    errors.py    SQLSTATE -> status, the error body, Retry-After
    run.py       uvicorn, --workers, clean shutdown
"""
