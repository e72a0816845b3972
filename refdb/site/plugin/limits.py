"""Bounds on what any SQL query can cost the server, in time and in memory.

Datasette's ``sql_time_limit_ms`` interrupts a query only every 1,000 steps of SQLite's
virtual machine, so a short program of a few hundred costly function calls ran for minutes
between two checks, and ``max_returned_rows`` bounds rows, not bytes. Each connection
therefore gets: the time limit checked before every call of a costly function in every
statement that is not the plugin's own; a small limit on the length of any value; linear
replacements for the built-in functions whose cost is the product of their arguments'
lengths, and a bound on that product for LIKE and GLOB, so that no single step runs long; a
byte budget per query (bytes as JSON writes them) enforced as rows are fetched; and no
access to the served file's path, to other visitors' statements (``sqlite_stmt``) or to
library addresses (``fts3_tokenizer``). ``ResponseCap`` bounds what leaves the server
whatever produced it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import sqlite3
import threading
import time
import weakref
from contextlib import contextmanager
from urllib.parse import parse_qsl

from refdb.site.plugin import patterns

# Longest string or blob a query may read or build. Article texts are held to the same
# bound when the catalog is checked (validate.MAX_ARTICLE_BYTES), so every stored value fits.
MAX_VALUE_BYTES = 1_000_000
MAX_RESULT_COLUMNS = 64  # with MAX_VALUE_BYTES, the most one fetched row can hold
MAX_QUERY_BYTES = 16_000_000  # values one query may return, as JSON bytes, over its rows
# LIKE and GLOB: past this pattern length times value length (a few milliseconds of SQLite's
# matcher), the linear matcher answers; a wildcard segment it would search longer is refused.
MAX_PATTERN_WORK = 5_000_000
MAX_SQL_BYTES = 10_000  # the longest SQL text a query may be (Datasette's POST bound too)
# All of SQLite's memory in the server process (every connection: caches, sorts, and the
# copies of a value a statement holds, as when it names a 1 MB value in 400 calls).
MAX_SQLITE_HEAP_BYTES = 512 * 1024 * 1024
MAX_RESPONSE_BYTES = 32_000_000  # what one HTTP response may send

_LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_COLUMN: MAX_RESULT_COLUMNS,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: MAX_SQL_BYTES,
}
_TRUSTED_LENGTH = 2**30  # the plugin's own queries (an article's text and its mentions)


class TooLarge(sqlite3.OperationalError):
    """A query or a function result exceeded its byte budget; Datasette shows it as a query error."""


def bound(conn: sqlite3.Connection, time_limit_ms: int = 1000) -> None:
    """Install every per-connection bound (called from ``prepare_connection``)."""
    for limit, value in _LIMITS.items():
        conn.setlimit(limit, value)
    conn.execute(f"pragma hard_heap_limit = {MAX_SQLITE_HEAP_BYTES}")  # for the whole process
    conn.set_authorizer(_authorize)
    conn.set_trace_callback(_statement_started(time_limit_ms / 1000))
    conn.row_factory = _counting_rows(conn.row_factory or _plain_row)
    for name, arity, function in _LINEAR_FUNCTIONS + _PATTERN_FUNCTIONS + _CHECKED_BUILTINS:
        conn.create_function(name, arity, _in_time(conn, function), deterministic=True)
    for name, arity, function in _CLOSED_FUNCTIONS:
        conn.create_function(name, arity, function)


@contextmanager
def trusted(conn: sqlite3.Connection):
    """The plugin's own fixed queries: no byte budget, no time limit, values as long as the
    database holds."""
    previous = conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _TRUSTED_LENGTH)
    _state.trusted, _state.deadline = True, None
    try:
        yield conn
    finally:
        _state.trusted = False
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, previous)


def _statement_started(seconds: float):
    """A trace callback: the deadline of each statement but the plugin's own, which the
    costly functions check before each call (SQLite itself checks only at jumps)."""

    def started(_sql: str) -> None:
        trusted = getattr(_state, "trusted", False)
        _state.deadline = None if trusted else time.perf_counter() + seconds
        _state.stopped = False

    return started


def _in_time(conn: sqlite3.Connection, function):
    """``function``, first interrupting the statement once its deadline has passed: the
    query then ends as one past Datasette's time limit does."""

    def checked(*args):
        if getattr(_state, "stopped", False):
            return None  # interrupted once: the calls left return at once
        deadline = getattr(_state, "deadline", None)
        if deadline is not None and time.perf_counter() > deadline:
            _state.stopped = True
            _interrupt_alone(conn)
            return None
        return function(*args)

    return checked


def _interrupt_alone(conn: sqlite3.Connection) -> None:
    """Interrupt the running statement and no later one.

    SQLite's interrupt stops every statement the connection starts until none of its
    statements is running. One left unfinished by an earlier query (a cursor whose fetch
    failed, kept by its exception's traceback in a reference cycle) would make the
    following queries on this pooled connection fail as "interrupted", trusted ones too.
    Collecting such cycles first resets their statements, so the interrupt ends with the
    statement that overran."""
    gc.collect()
    conn.interrupt()


# Tables of SQLite's own that show what a visitor has no business seeing: the statements
# other visitors ran (sqlite_stmt), and the served file's path.
_CLOSED_TABLES = {"sqlite_stmt"}


def _authorize(action, arg1, arg2, database, source):
    """``select file from pragma_database_list`` reads NULL: the served path stays private;
    reading ``sqlite_stmt`` is refused."""
    if action == sqlite3.SQLITE_READ and arg1 == "pragma_database_list" and arg2 == "file":
        return sqlite3.SQLITE_IGNORE
    if action == sqlite3.SQLITE_READ and arg1 in _CLOSED_TABLES:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


_state = threading.local()  # per thread, as each Datasette connection lives on one thread


def _size(value) -> int:
    """The bytes a value takes in Datasette's JSON: escapes counted (an emoji is 12 bytes as
    ``\\ud83d\\ude80``), a blob as base64."""
    if isinstance(value, str):
        if value.isascii() and value.isprintable():
            return len(value) + 2 + value.count('"') + value.count("\\")
        return len(json.dumps(value))
    if isinstance(value, bytes):
        return 4 * len(value) // 3 + 4
    return 8


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
                cursor.close()  # its statement ends here, not when the traceback is freed
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


def _builtin() -> sqlite3.Connection:
    """A private connection of this thread, whose LIKE and GLOB are SQLite's own."""
    conn = getattr(_state, "builtin", None)
    if conn is None:
        conn = _state.builtin = sqlite3.connect(":memory:")
        conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_SQL_BYTES)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)  # randomblob(2e8) too
    return conn


def _on_builtin(sql: str, args: tuple):
    """One call on the private connection; a value past the length limit is reported as
    SQLite reports it ("string or blob too big"), which an OverflowError becomes."""
    try:
        return _builtin().execute(sql, args).fetchone()[0]
    except sqlite3.DataError as error:
        raise OverflowError(str(error)) from None
    except sqlite3.OperationalError as error:
        if "too big" in str(error):
            raise OverflowError(str(error)) from None
        raise


def _pattern_function(name: str, arity: int):
    """SQLite's ``name`` (like, glob) where the value is short; where the pattern times the
    value is more work than one step may take, the linear matcher of ``patterns`` (SQLite's
    compares the pattern at every position of the value)."""
    sql = f"select {name}({', '.join('?' * arity)})"
    linear = getattr(patterns, name)

    def match(pattern, value, *escape):
        if pattern is None or value is None or None in escape:
            return None
        if len(str(pattern)) * _length(value) <= MAX_PATTERN_WORK:
            return _on_builtin(sql, (pattern, value, *escape))
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        return int(linear(str(pattern), text, *escape, budget=MAX_PATTERN_WORK))

    return match


def _length(value) -> int:
    return len(value) if isinstance(value, (str, bytes)) else len(str(value))


_PATTERN_FUNCTIONS = [
    ("like", 2, _pattern_function("like", 2)),
    ("like", 3, _pattern_function("like", 3)),
    ("glob", 2, _pattern_function("glob", 2)),
]


def _builtin_function(name: str, arity: int):
    """SQLite's own ``name``, called on the private connection (``arity`` -1: any number
    of arguments)."""

    def call(*args):
        marks = ", ".join("?" * len(args))
        return _on_builtin(f"select {name}({marks})", args)

    return call


# Built-ins that cost milliseconds a call at the largest values: they check the deadline
# first. (The JSON functions are left as SQLite's: a wrapper would lose their JSON subtype.)
_CHECKED_BUILTINS = [
    (name, arity, _builtin_function(name, arity))
    for name, arity in (("hex", 1), ("quote", 1), ("printf", -1), ("format", -1), ("randomblob", 1))
]


def _closed(name: str):
    def refuse(*args):
        raise sqlite3.OperationalError(f"{name}() is not available here")  # shown as a UDF error

    return refuse


# fts3_tokenizer() hands out, and takes, a pointer into the server's memory.
_CLOSED_FUNCTIONS = [("fts3_tokenizer", n, _closed("fts3_tokenizer")) for n in (1, 2)]


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


# Arbitrary SQL (the query page, ?sql=, a table's _where=) may hold this many of Datasette's
# SQL threads at once, so the pages readers use are never queued behind it; a request that
# cannot have a slot within ARBITRARY_SQL_WAIT_SECONDS is answered 503 with Retry-After.
ARBITRARY_SQL_SLOTS = 1
ARBITRARY_SQL_WAIT_SECONDS = 10
_QUERY_PATH = re.compile(r"^/[^/]+/-/query(?:\.\w+)?/?$")


def runs_arbitrary_sql(scope) -> bool:
    if scope["type"] != "http":
        return False
    if _QUERY_PATH.match(scope["path"]):
        return True
    names = {name for name, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"))}
    return bool(names & {"sql", "_where"})


class SqlShare:
    """ASGI middleware: a fair share of SQL threads. Requests that run arbitrary SQL wait for
    one of ``slots`` (in the event loop, not in Datasette's thread pool); every other request
    goes straight through."""

    def __init__(
        self, app, slots: int = ARBITRARY_SQL_SLOTS, wait: float = ARBITRARY_SQL_WAIT_SECONDS
    ):
        self.app, self.wait = app, wait
        self.slots = asyncio.Semaphore(slots)

    async def __call__(self, scope, receive, send):
        if not runs_arbitrary_sql(scope):
            return await self.app(scope, receive, send)
        try:
            await asyncio.wait_for(self.slots.acquire(), self.wait)
        except TimeoutError:
            return await _busy(send, self.wait)
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


async def _busy(send, wait: float) -> None:
    body = (
        "Too many SQL queries are running; try again in a few seconds. "
        "(Pages, search and the JSON API of entries are not affected.)\n"
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"retry-after", str(max(1, round(wait))).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
