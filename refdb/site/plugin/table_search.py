"""The systems table's own search form leads to refdb's search, which never shows DDL.

Datasette's table page answers a search that finds nothing with "0 records" and the table's
CREATE TABLE statement. A reader searching the systems table in HTML is sent to /search
instead, which goes straight to the one entry a query names or lists the matches with "did
you mean" suggestions. JSON, CSV and the other renderers keep Datasette's own answer.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

SYSTEMS_TABLE = "/refdb/systems"


class SearchRedirect:
    """ASGI: ``GET /refdb/systems?_search=q`` (HTML) -> ``/search?q=q``."""

    def __init__(self, app, search_path: str = "/search"):
        self.app, self.search_path = app, search_path

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == SYSTEMS_TABLE:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("_search")
            if query:
                location = f"{self.search_path}?{urlencode({'q': query[0]})}"
                await send(
                    {"type": "http.response.start", "status": 302,
                     "headers": [(b"location", location.encode()), (b"content-length", b"0")]}
                )  # fmt: skip
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)
