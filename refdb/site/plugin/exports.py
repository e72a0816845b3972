"""CSV exports that a spreadsheet opens as text: no cell is read as a formula.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` in a source title would
be a link a reader clicks). Such a cell gets a leading apostrophe, which spreadsheets hide and
show the text as written; numbers (``-12.5``) stay numbers. Datasette's CSV is bounded
(``max_csv_mb``, no streaming), so the whole body is rewritten at once.
"""

from __future__ import annotations

import csv
import io
import re

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def defused(cell: str) -> str:
    if cell.startswith(_FORMULA) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def defuse_csv(body: bytes) -> bytes:
    """The same CSV, every formula-like cell prefixed with an apostrophe."""
    text = body.decode("utf-8", "replace")
    rows = csv.reader(io.StringIO(text, newline=""))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([defused(cell) for cell in row])
    return out.getvalue().encode("utf-8")


def _is_csv(scope, start) -> bool:
    """Datasette sends CSV as text/csv for a download, as text/plain to show in a browser."""
    kind = dict(start.get("headers", [])).get(b"content-type", b"")
    return b"text/csv" in kind or (b"text/plain" in kind and scope["path"].endswith(".csv"))


class CsvFormulaGuard:
    """ASGI middleware: CSV responses are held and defused before they are sent."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, parts = None, []

        async def guarded_send(message):
            nonlocal start
            if message["type"] == "http.response.start" and _is_csv(scope, message):
                start = message
                return
            if start is not None and message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = defuse_csv(b"".join(parts))
                headers = [
                    (name, str(len(body)).encode() if name == b"content-length" else value)
                    for name, value in start.get("headers", [])
                ]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, guarded_send)
