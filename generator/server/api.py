"""The REST surface of contract section 12: tables and columns
(api_schemas), records, queries, history and files (api_records), reports
and dashboards (api_reports).

Every route does the same three things and nothing else:

1. parse the request: path ids, query string, JSON body, If-Match; anything
   malformed is 400 (22023, 22P02 for an id; 54000 for a body over 256 KB)
   before the API key is even looked at, so no SQL runs for it;
2. open the request's transaction (`tenant(request)`: authenticate(key,
   true), the Host checked) and call one docpal function with bound
   parameters (two for a column renamed and altered, in the same
   transaction);
3. send the function's jsonb on as the database wrote it, with the status
   and headers of the route (201 + Location, ETag).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import api_records, api_reports, api_schemas


def routes() -> list[BaseRoute]:
    return api_schemas.routes() + api_records.routes() + api_reports.routes()
