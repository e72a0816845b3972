"""Bounds on what any SQL query can cost the server, in time and in memory.

Datasette's ``sql_time_limit_ms`` interrupts a query between steps of SQLite's virtual
machine, so it cannot stop one step that runs long, and ``max_returned_rows`` bounds rows,
not bytes. Each connection therefore gets: a small limit on the length of any value (a
single step is then short), linear replacements for the built-in functions whose cost is
the product of their arguments' lengths, a byte budget per query enforced as rows are
fetched, and no access to the served file's path. ``ResponseCap`` bounds what leaves the
server whatever produced it.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from contextlib import contextmanager

# Longest string or blob a query may read or build. Article texts are held to the same
# bound when the catalog is checked (validate.MAX_ARTICLE_BYTES), so every stored value fits.
MAX_VALUE_BYTES = 1_000_000
MAX_RESULT_COLUMNS = 64  # with MAX_VALUE_BYTES, the most one fetched row can hold
MAX_LIKE_PATTERN_BYTES = 200  # LIKE and GLOB cost up to pattern x text
MAX_QUERY_BYTES = 16_000_000  # values one query may return, summed over its rows
MAX_RESPONSE_BYTES = 32_000_000  # what one HTTP response may send

_LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_COLUMN: MAX_RESULT_COLUMNS,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: MAX_LIKE_PATTERN_BYTES,
}
_TRUSTED_LENGTH = 2**30  # the plugin's own queries (an article's text and its mentions)


class TooLarge(sqlite3.OperationalError):
    """A query or a function result exceeded its byte budget; Datasette shows it as a query error."""


def bound(conn: sqlite3.Connection) -> None:
    """Install every per-connection bound (called from ``prepare_connection``)."""
    for limit, value in _LIMITS.items():
        conn.setlimit(limit, value)
    conn.set_authorizer(_hide_file_paths)
    conn.row_factory = _counting_rows(conn.row_factory or _plain_row)
    for name, arity, function in _LINEAR_FUNCTIONS:
        conn.create_function(name, arity, function, deterministic=True)


@contextmanager
def trusted(conn: sqlite3.Connection):
    """The plugin's own fixed queries: no byte budget, values as long as the database holds."""
    previous = conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _TRUSTED_LENGTH)
    _state.trusted = True
    try:
        yield conn
    finally:
        _state.trusted = False
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, previous)


def _hide_file_paths(action, arg1, arg2, database, source):
    """``select file from pragma_database_list`` reads NULL: the served path stays private."""
    if action == sqlite3.SQLITE_READ and arg1 == "pragma_database_list" and arg2 == "file":
        return sqlite3.SQLITE_IGNORE
    return sqlite3.SQLITE_OK


_state = threading.local()  # per thread, as each Datasette connection lives on one thread


def _size(value) -> int:
    return len(value) if isinstance(value, (str, bytes)) else 8


def _plain_row(cursor, values):
    return values


def _counting_rows(row_factory):
    """A row factory that adds up the bytes a query returns and stops it past the budget."""

    def make_row(cursor, values):
        if not getattr(_state, "trusted", False):
            counted = getattr(_state, "cursor", None)
            if counted is None or counted() is not cursor:
                _state.cursor, _state.total = weakref.ref(cursor), 0
            _state.total += sum(_size(value) for value in values)
            if _state.total > MAX_QUERY_BYTES:
                raise TooLarge(
                    f"the query returns more than {MAX_QUERY_BYTES:,} bytes; "
                    "select fewer rows or shorter values"
                )
        return row_factory(cursor, values)

    return make_row


def _check_length(result):
    if result is not None and len(result) > MAX_VALUE_BYTES:
        raise TooLarge(f"string or blob longer than {MAX_VALUE_BYTES:,} bytes")
    return result


def _as_text(value):
    """SQLite's replace and trim answer text even for blobs."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _same_kind(*values) -> bool:
    return len({type(v) for v in values}) == 1 and isinstance(values[0], (str, bytes))


def _instr(haystack, needle):
    """SQLite's instr (1-based, 0 when absent), by Python's linear-time search."""
    if haystack is None or needle is None:
        return None
    if not _same_kind(haystack, needle):
        haystack, needle = str(haystack), str(needle)
    return haystack.find(needle) + 1


def _replace(text, old, new):
    """SQLite's replace, linear, refusing a result longer than MAX_VALUE_BYTES before building it."""
    if text is None or old is None or new is None:
        return None
    text, old, new = (
        (text, old, new) if _same_kind(text, old, new) else (str(text), str(old), str(new))
    )
    if not old:
        return text
    grows = len(new) - len(old)
    if grows > 0 and len(text) + text.count(old) * grows > MAX_VALUE_BYTES:
        raise TooLarge(f"replace() result longer than {MAX_VALUE_BYTES:,} bytes")
    return _as_text(_check_length(text.replace(old, new)))


def _trimmer(method: str):
    """trim/ltrim/rtrim(X, Y): characters of Y looked up in a set, so linear in X plus Y."""

    def trim(text, characters):
        if text is None or characters is None:
            return None
        if not _same_kind(text, characters):
            text, characters = str(text), str(characters)
        wanted = set(characters)
        start, end = 0, len(text)
        if method in ("trim", "ltrim"):
            while start < end and text[start] in wanted:
                start += 1
        if method in ("trim", "rtrim"):
            while end > start and text[end - 1] in wanted:
                end -= 1
        return _as_text(text[start:end])

    return trim


_LINEAR_FUNCTIONS = [
    ("instr", 2, _instr),
    ("replace", 3, _replace),
    *[(name, 2, _trimmer(name)) for name in ("trim", "ltrim", "rtrim")],
]


class ResponseCap:
    """ASGI middleware: a response whose body grows past ``limit`` bytes is cut off.

    The start of the response is held until its first body part: a body that is already
    too large then becomes a short 400 that says so instead; a streamed body that grows
    too large ends the connection.
    """

    def __init__(self, app, limit: int = MAX_RESPONSE_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        held, sent, cut = [], [0], [False]

        async def capped_send(message):
            if cut[0]:
                return  # the response was cut: whatever the app sends next is dropped
            if message["type"] == "http.response.start":
                held.append(message)
                return
            if message["type"] == "http.response.body":
                sent[0] += len(message.get("body", b""))
                if sent[0] > self.limit:
                    cut[0] = True
                    if held:
                        await _too_large(send, self.limit)
                        return
                    raise ResponseTooLarge(self.limit)  # mid-stream: end the connection
                if held:
                    await send(held.pop())
            await send(message)

        await self.app(scope, receive, capped_send)


class ResponseTooLarge(Exception):
    pass


async def _too_large(send, limit: int) -> None:
    body = f"The response would exceed {limit:,} bytes; ask for fewer rows or columns.\n"
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
