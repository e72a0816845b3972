"""Odd requests get an answer that says what is wrong, never a server error.

The publication is read-only: a POST (Datasette's write endpoints) is refused with 405. A
table page's parameters that name a column (``_facet``, ``_col``, ``_sort``...) must name
one of the table's columns, and ``_facet_array`` applies to no column of refdb (none holds
JSON arrays). Where Datasette itself fails on a request that carries its special
parameters (a ``_where`` past the time limit inside a facet, ``_json`` on deeply nested
values), the 500 becomes a 400 that says the parameters could not be answered.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

COLUMN_PARAMETERS = {"_facet", "_col", "_nocol", "_sort", "_sort_desc", "_label"}
_TABLE_PATH = re.compile(r"^/(?P<database>[^/]+)/(?P<table>[^/.]+)(?:\.\w+)?$")


class RequestGuard:
    """ASGI middleware over Datasette's app; ``database`` is the served refdb database's name."""

    def __init__(self, app, datasette, database: str):
        self.app, self.datasette, self.database = app, datasette, database

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            return await _answer(send, 405, "This publication is read-only: use GET.\n", allow=True)
        parameters = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        refused = await self._refused(scope["path"], parameters)
        if refused:
            return await _answer(send, 400, refused + "\n")
        if not any(name.startswith("_") or name == "sql" for name, _ in parameters):
            return await self.app(scope, receive, send)
        return await self.app(scope, receive, _no_server_error(send))

    async def _refused(self, path: str, parameters: list[tuple[str, str]]) -> str | None:
        """What is wrong with a table page's column parameters, if anything."""
        match = _TABLE_PATH.match(path)
        named = [(name, value) for name, value in parameters if name in COLUMN_PARAMETERS]
        arrays = [value for name, value in parameters if name == "_facet_array"]
        if not match or unquote(match["database"]) != self.database or not (named or arrays):
            return None
        if arrays:
            return "_facet_array: no column of this database holds JSON arrays; use _facet"
        db = self.datasette.get_database(self.database)
        table = unquote(match["table"])
        if not await db.table_exists(table):
            return None  # Datasette answers 404 itself
        columns = set(await db.table_columns(table))
        for name, value in named:
            if value not in columns:
                return f"{name}: the table {table} has no column '{value}'"
        return None


def _no_server_error(send):
    """``send``, with a 500 turned into a 400: the request's parameters were the trouble."""
    held = {}

    async def checked(message):
        if message["type"] == "http.response.start" and message["status"] == 500:
            held["start"] = message
            return
        if "start" in held:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await _answer(
                    send,
                    400,
                    "This request's parameters could not be answered (a column that holds "
                    "something else, or a query past its time limit); change or remove them.\n",
                )
            return
        await send(message)

    return checked


async def _answer(send, status: int, text: str, allow: bool = False) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if allow:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})
