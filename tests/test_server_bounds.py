"""Whatever SQL or headers a client sends, the server answers in bounded time and memory,
with URLs the client cannot change and without revealing where the database file lives."""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import sqlite3
import time
from urllib.parse import quote

import pytest
from datasette.app import Datasette

from refdb.site.plugin import limits

from conftest import ROOT, datasette_for, get


def query(ds: Datasette, sql: str):
    return get(ds, f"/refdb/-/query.json?_shape=array&sql={quote(sql)}")


def timed_query(ds: Datasette, sql: str):
    started = time.perf_counter()
    response = query(ds, sql)
    return response, time.perf_counter() - started


# A haystack of 999,000 'a' and a needle of 500,000 'a' then 'b': SQLite's own instr,
# replace and trim compare the needle at every position, 5 x 10^11 byte comparisons.
HAYSTACK = "printf('%.*c', 999000, 'a')"
NEEDLE = "printf('%.*c', 500000, 'a') || 'b'"


@pytest.mark.parametrize(
    "sql",
    [
        f"select instr({HAYSTACK}, {NEEDLE}) as r",
        f"select length(replace({HAYSTACK}, {NEEDLE}, 'x')) as r",
        f"select length(trim({HAYSTACK}, {NEEDLE})) as r",
        f"select length(rtrim({HAYSTACK}, 'b' || {NEEDLE})) as r",
    ],
)
def test_functions_that_compare_every_position_run_in_linear_time(datasette, sql):
    response, seconds = timed_query(datasette, sql)
    assert response.status_code == 200, response.text
    assert seconds < 1.0, seconds


def test_replacements_answer_as_sqlite_does():
    plain, bounded = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    limits.bound(bounded)
    for sql in (
        "select instr('Tu-160 Tu-160', '160'), instr('abc', ''), instr(null, 'a'), instr(12345, 34)",
        "select replace('a-b-c', '-', '--'), replace('abc', '', 'x'), replace('aaa', 'a', '')",
        "select trim('xxhixx', 'x'), ltrim('xxhixx', 'x'), rtrim('xxhixx', 'x'), trim('ab', '')",
        "select instr(x'00010203', x'0203'), replace(x'0102', x'01', x'09')",
    ):
        assert bounded.execute(sql).fetchall() == plain.execute(sql).fetchall(), sql


# The refused replace() raises inside SQLite's callback, which Python reports as unraisable.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_value_longer_than_the_length_limit(datasette):
    too_long = query(datasette, f"select length(randomblob({limits.MAX_VALUE_BYTES + 1})) as n")
    assert too_long.status_code == 400 and "too big" in too_long.text
    growing = query(datasette, f"select length(replace({HAYSTACK}, 'a', 'aa')) as n")
    assert growing.status_code == 400


def test_one_query_cannot_return_more_than_its_byte_budget(datasette):
    """180 values of 0.9 MB: within the row and value limits, past the per-query budget."""
    sql = (
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 180) "
        "select i, zeroblob(900000) as b from n"
    )
    response = query(datasette, sql)
    assert response.status_code == 400
    assert f"more than {limits.MAX_QUERY_BYTES:,} bytes" in response.text


def test_many_columns_are_refused(datasette):
    columns = ", ".join(f"zeroblob(900000) as c{i}" for i in range(limits.MAX_RESULT_COLUMNS + 1))
    assert query(datasette, f"select {columns}").status_code == 400


def test_a_long_like_pattern_over_a_long_value_answers(datasette):
    """200 wildcards over 999,000 characters: SQLite's matcher refused such a pattern for
    its cost; the linear matcher answers it."""
    pattern = "%a" * 200
    response = query(datasette, f"select {HAYSTACK} like '{pattern}' as r")
    assert response.status_code == 200 and response.json() == [{"r": 1}]


def asgi_get(app, path: str) -> tuple[int, bytes]:
    """One GET straight through an ASGI app: the status and the body it sent."""
    sent = []
    target, _, query_string = path.partition("?")
    scope = {
        "type": "http",
        "method": "GET",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query_string.encode(),
        "headers": [(b"host", b"127.0.0.1")],
        "scheme": "http",
        "server": ("127.0.0.1", 8001),
        "http_version": "1.1",
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    [status] = [m["status"] for m in sent if m["type"] == "http.response.start"]
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_response_past_the_cap_is_cut_short(datasette):
    app = limits.ResponseCap(datasette.app(), limit=2_000)
    assert asgi_get(app, "/refdb/-/query.json?sql=select+1")[0] == 200
    status, body = asgi_get(app, "/refdb/systems.json?_size=100")
    assert status == 400 and b"would exceed 2,000 bytes" in body


def test_the_served_file_path_is_not_readable_through_sql(datasette, built_db):
    rows = query(datasette, "select * from pragma_database_list").json()
    assert rows == [{"seq": 0, "name": "main", "file": None}]
    assert str(built_db) not in query(datasette, "select file from pragma_database_list").text


HOSTILE = {"host": "attacker.example"}


@pytest.mark.parametrize(
    "path",
    [
        "/refdb/systems/tu-160",
        "/refdb/systems/tu-160.bib",
        "/refdb/systems/tu-160.ris",
        "/sitemap.xml",
        "/robots.txt",
        "/refdb/systems.json?_size=2",
    ],
)
def test_the_host_header_never_reaches_a_url(datasette, path):
    response = asyncio.run(datasette.client.get(path, headers=HOSTILE))
    assert response.status_code == 200
    assert "attacker" not in response.text and "http://localhost" in response.text


def test_urls_come_from_the_configured_base_url(built_db):
    ds = datasette_for(built_db)
    ds.config.setdefault("plugins", {})["refdb"] = {"base_url": "https://refdb.example.org/"}
    for path in ("/refdb/systems/tu-160.ris", "/sitemap.xml", "/robots.txt"):
        text = asyncio.run(ds.client.get(path, headers=HOSTILE)).text
        assert "https://refdb.example.org/" in text and "attacker" not in text, path


@pytest.mark.parametrize(
    "path, status",
    [
        ('/search?q="', 302),
        ("/search?q=%22%20OR%20(", 302),
        ("/refdb/systems/tu-160.bib?accessed=garbage", 400),
        ("/refdb/articles.bib", 404),
        ("/refdb/articles/kim-russia-2023-09.ris", 404),
    ],
)
def test_odd_requests_get_an_answer_not_a_server_error(datasette, path, status):
    assert get(datasette, path).status_code == status


def test_the_limits_in_the_readme_are_the_ones_applied():
    readme = (ROOT / "README.md").read_text()
    assert f"{limits.MAX_VALUE_BYTES:,}" in readme
    assert f"{limits.MAX_QUERY_BYTES:,}" in readme
    assert f"{limits.MAX_RESPONSE_BYTES:,}" in readme


def test_every_article_text_fits_the_server_value_limit():
    from refdb.catalog.validate import MAX_ARTICLE_BYTES

    assert MAX_ARTICLE_BYTES <= limits.MAX_VALUE_BYTES


@pytest.mark.parametrize("op, wildcard", [("like", "%"), ("glob", "*")])
def test_like_and_glob_on_a_long_value_answer_in_linear_time(datasette, op, wildcard):
    """A 100-character pattern over a value of 999,000 characters was 10^8 comparisons in
    one step of SQLite's machine, where no time limit can interrupt it."""
    for pattern, expected in ((wildcard + "a" * 99 + "b", 0), (wildcard + "a" * 99, 1)):
        response = query(datasette, f"select {HAYSTACK} {op} '{pattern}' as r")
        assert response.status_code == 200 and response.json() == [{"r": expected}], op


def test_many_calls_in_a_program_without_loops_are_stopped_at_the_time_limit(datasette):
    """SQLite checks the time limit only at jumps of its machine: a sum of 400 calls, each
    within its own bound, ran to the end however long it took. Each call now checks it."""
    calls = " + ".join(["(x glob '*aab')"] * 400)
    sql = f"with v(x) as (select printf('%.*c', 999000, 'a')) select {calls} as r from v"
    response = query(datasette, sql)
    assert response.status_code == 400 and "took too long" in response.text, response.text


def _unfinished(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor whose statement has rows left to read: SQLite counts it as still running."""
    cursor = conn.execute(
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 100) "
        "select i from n"
    )
    cursor.fetchone()
    return cursor


def _plain(conn: sqlite3.Connection):
    try:
        return conn.execute("select 1").fetchall()
    except sqlite3.OperationalError as error:
        return str(error)


@pytest.fixture
def no_automatic_gc():
    """Reference cycles stay until something collects them, as between two collections."""
    gc.disable()
    yield
    gc.enable()


def test_a_statement_stopped_at_its_time_limit_stops_no_later_one(no_automatic_gc):
    """An earlier query's statement left unfinished in a reference cycle (a cursor held by
    its exception's traceback) had made SQLite's interrupt hold for every later statement
    on the pooled connection, until something freed the cycle."""
    conn = sqlite3.connect(":memory:")
    limits.bound(conn, time_limit_ms=0)  # every checked call is past its deadline
    cycle = [_unfinished(conn)]
    cycle.append(cycle)
    del cycle
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        conn.execute("select instr('Tu-160', '160')").fetchall()
    assert _plain(conn) == [(1,)]


def test_a_statement_past_its_deadline_is_interrupted_once_not_at_every_call(no_automatic_gc):
    """What the interrupt does first (a full collection) is done once a statement: the calls
    after it return at once."""
    conn = sqlite3.connect(":memory:")
    limits.bound(conn, time_limit_ms=0)
    collections = []

    def counted(phase, info):
        if phase == "start" and info["generation"] == 2:
            collections.append(info)

    gc.callbacks.append(counted)
    try:
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            conn.execute("select " + " + ".join(["instr('Tu-160', '160')"] * 50)).fetchall()
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            conn.execute("select instr('Tu-22M3', 'M')").fetchall()
    finally:
        gc.callbacks.remove(counted)
    assert len(collections) == 2  # one for each statement


def test_a_query_past_its_byte_budget_leaves_no_statement_running():
    """The error that stops a query past its byte budget keeps the cursor in its traceback
    for as long as anyone holds the error; its statement ends at once all the same."""
    conn = sqlite3.connect(":memory:")
    limits.bound(conn, time_limit_ms=0)
    sql = (
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 40) "
        "select ? from n"
    )
    with pytest.raises(limits.TooLarge) as stopped:
        conn.execute(sql, ["x" * 900_000]).fetchall()
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        conn.execute("select instr('Tu-160', '160')").fetchall()
    assert stopped.value.__traceback__ is not None  # the error, and its cursor, still held
    assert _plain(conn) == [(1,)]


def test_sql_longer_than_its_bound_is_refused(datasette):
    sql = "select " + " + ".join(["1"] * (limits.MAX_SQL_BYTES // 4 + 1))
    response = get(datasette, f"/refdb/-/query.json?sql={quote(sql)}")
    assert response.status_code == 400


def test_like_and_glob_answer_as_sqlite_does():
    plain, bounded = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    limits.bound(bounded)
    sql = (
        "select 'Tu-160' like 'tu-%', 'Tu-160' glob 'tu-*', 'Tu-160' glob 'Tu-[0-9]*', "
        "'a%b' like 'a\\%b' escape '\\', 'Ту-160' like 'ту%', null like 'a', 12345 like '1%5'"
    )
    assert bounded.execute(sql).fetchall() == plain.execute(sql).fetchall()


# The refused fts3_tokenizer() raises inside SQLite's callback: Python reports it as unraisable.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    "sql",
    [
        "select sql from sqlite_stmt",
        "select * from sqlite_stmt",
        "select fts3_tokenizer('simple')",
        "select hex(fts3_tokenizer('simple'))",
    ],
)
def test_other_visitors_statements_and_library_addresses_are_not_readable(datasette, sql):
    response = query(datasette, sql)
    assert response.status_code == 400, response.text


def test_the_byte_budget_counts_what_json_writes_not_characters(datasette):
    """Six values of 240,000 emoji: 1.4 million characters, 17 MB of escaped JSON."""
    sql = (
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 6) "
        "select i, replace(printf('%.*c', 240000, 'x'), 'x', '🚀') as v from n"
    )
    response = query(datasette, sql)
    assert response.status_code == 400
    assert f"more than {limits.MAX_QUERY_BYTES:,} bytes" in response.text


def test_arbitrary_sql_has_its_share_of_threads_and_pages_are_not_queued(datasette):
    """While one arbitrary query holds its slot, a second waits and is answered 503 with
    Retry-After once its wait runs out; an entry page meanwhile is served at once."""
    app = limits.SqlShare(datasette.app(), slots=1, wait=0.2)
    slow = quote(
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000000) "
        "select count(*) from n"
    )

    async def both():
        first = asyncio.create_task(asgi_status(app, f"/refdb/-/query.json?sql={slow}"))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(asgi_status(app, f"/refdb/-/query.json?sql={slow}"))
        page = asyncio.create_task(asgi_status(app, "/refdb/systems/tu-160"))
        return await first, await second, await page

    first, second, page = asyncio.run(both())
    assert first[0] in (200, 400)  # done, or stopped at the time limit: it ran
    assert second == (503, b"1") and page[0] == 200


async def asgi_status(app, path: str) -> tuple[int, bytes | None]:
    sent = []
    target, _, query_string = path.partition("?")
    scope = {
        "type": "http", "method": "GET", "path": target, "raw_path": target.encode(),
        "query_string": query_string.encode(), "headers": [(b"host", b"127.0.0.1")],
        "scheme": "http", "server": ("127.0.0.1", 8001), "http_version": "1.1",
    }  # fmt: skip

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    retry = dict(start.get("headers", [])).get(b"retry-after")
    return start["status"], retry


@pytest.mark.parametrize("download", ["", "&_dl=1"])
def test_csv_exports_carry_no_spreadsheet_formula(datasette, download):
    sql = (
        "select '=HYPERLINK(\"http://x\",\"click\")' as a, '+1+1' as b, '@SUM(A1)' as c, "
        "'-12.5' as d, 'plain' as e"
    )
    response = get(datasette, f"/refdb/-/query.csv?sql={quote(sql)}{download}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[1] == ['\'=HYPERLINK("http://x","click")', "'+1+1", "'@SUM(A1)", "-12.5", "plain"]


DEEP = "[" * 5000


@pytest.mark.parametrize(
    "path, status",
    [
        ("/refdb/mentions?_col=sentence", 200),
        ("/refdb/mentions?_nocol=start", 200),
        ("/refdb/mentions?_facet=no_such_column", 400),
        ("/refdb/systems?_facet_array=designations", 400),
        ("/refdb/systems?_sort=no_such_column", 400),
        (f"/refdb/mentions.json?_json={DEEP}", 200),  # names no column: ignored
        (f"/refdb/-/query.json?sql=select+'{quote(DEEP)}'+as+v&_json=v", 400),  # too deep
        (
            "/refdb/mentions?_facet=system_id&_where="
            + quote(
                "(with recursive n(i) as (select 1 union all select i + 1 from n where "
                "i < 100000000) select count(*) from n) > 0"
            ),
            400,
        ),
    ],
)
def test_odd_table_parameters_get_an_answer_not_a_server_error(datasette, path, status):
    response = get(datasette, path)
    assert response.status_code == status, response.text[:300]


def test_the_publication_refuses_writes_with_405(datasette):
    response = asyncio.run(datasette.client.post("/refdb/-/query", data={"sql": "select 1"}))
    assert response.status_code == 405 and "read-only" in response.text
