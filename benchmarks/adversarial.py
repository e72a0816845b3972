"""Pathological inputs at two sizes each, so growth is visible: time and peak memory.

    python benchmarks/adversarial.py [--skip-server] [--skip-build]

Server: builds the catalog, serves it as `refdb serve` does on a free 127.0.0.1 port and
sends one request per query (a bounded count, loopback only), printing the answer's status,
size and time and the server's peak resident memory; SQLite's built-in functions, as the
server ran them before refdb replaced them, are timed in-process beside them. Build: quotes
with a prefix, many mentions in one article, designations with many separators, a name
shared by many entries, an article page with tens of thousands of mentions (time and
tracemalloc peak). Figures are printed, never asserted: the tests hold the bounds.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import served  # noqa: E402

from refdb import text as text_primitives  # noqa: E402
from refdb.catalog.schema import ArticleEntry, SystemEntry  # noqa: E402
from refdb.linking import linker  # noqa: E402
from refdb.site.plugin import article_page  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def worst_case(function: str, n: int) -> str:
    """``function`` over n 'a' and a needle of n/2 'a' then 'b': every position compared."""
    haystack, needle = f"printf('%.*c', {n}, 'a')", f"printf('%.*c', {n // 2}, 'a') || 'b'"
    if function == "instr":
        return f"select instr({haystack}, {needle}) as r"
    if function == "replace":
        return f"select length(replace({haystack}, {needle}, 'x')) as r"
    # trim looks each character of X up in Y: a Y of 'b's ending in 'a' is scanned whole.
    return f"select length(trim({haystack}, printf('%.*c', {n // 2}, 'b') || 'a')) as r"


SERVER_QUERIES = [
    *[
        (f"{function}, {n:,} chars", worst_case(function, n))
        for function in ("instr", "replace", "trim")
        for n in (500_000, 999_000)
    ],
    *[
        (
            f"{rows} rows of 0.9 MB (recursive CTE)",
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < "
            f"{rows}) select i, zeroblob(900000) as b from n",
        )
        for rows in (8, 16, 180)
    ],
    *[
        (f"{columns} columns of 0.9 MB", "select " + ", ".join(["zeroblob(900000)"] * columns))
        for columns in (32, 64)
    ],
    ("randomblob(2e8)", "select length(randomblob(200000000))"),
    *[
        (
            f"{op} '{w}a..(99)b' over {n:,} chars",
            f"select printf('%.*c', {n}, 'a') {op} '{w}{'a' * 99}b' as r",
        )
        for op, w in (("like", "%"), ("glob", "*"))
        for n in (500_000, 999_000)
    ],
    *[
        (
            f"sum of {calls} GLOB calls, 999,000 chars",
            "with v(x) as (select printf('%.*c', 999000, 'a')) select "
            + " + ".join(["(x glob '*aab')"] * calls)
            + " as r from v",
        )
        for calls in (100, 400)
    ],
    *[
        (
            f"{rows} rows of 240,000 emoji (JSON escapes)",
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < "
            f"{rows}) select replace(printf('%.*c', 240000, 'x'), 'x', '🚀') as v from n",
        )
        for rows in (2, 6)
    ],
    ("pragma_database_list", "select * from pragma_database_list"),
    ("sqlite_stmt", "select sql from sqlite_stmt"),
]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def get(url: str, headers: dict | None = None) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, body, time.perf_counter() - started


def server_figures() -> None:
    with served(workers=1) as (base, server):  # one process: its memory is the server's
        print(f"server at start: peak RSS {peak_rss_mb(server.pid):.0f} MB")
        print(f"{'query':<36} {'status':>6} {'bytes':>10} {'seconds':>8} {'peak RSS':>9}")
        for label, sql in SERVER_QUERIES:
            url = f"{base}/refdb/-/query.json?_shape=array&sql={quote(sql)}"
            status, body, seconds = get(url)
            rss = peak_rss_mb(server.pid)
            print(f"{label:<36} {status:>6} {len(body):>10,} {seconds:>8.2f} {rss:>7.0f} MB")
        status, body, _ = get(base + "/refdb/systems/tu-160.bib", {"Host": "attacker.example"})
        print(f"Host: attacker.example -> .bib {status}, 'attacker' in body: {b'attacker' in body}")


def builtin_figures() -> None:
    """SQLite's own instr/replace/trim (what the server ran before): quadratic."""
    conn = sqlite3.connect(":memory:")
    print(f"{'SQLite built-in (before)':<36} {'seconds':>8}")
    for function in ("instr", "replace", "trim"):
        for n in (100_000, 200_000):
            started = time.perf_counter()
            conn.execute(worst_case(function, n)).fetchall()
            print(f"{function + f', {n:,} chars':<36} {time.perf_counter() - started:>8.2f}")


def measured(label: str, function) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    function()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(f"{label:<52} {seconds:>8.2f} s {peak:>8.1f} MB")


def system(index: int, names: list[str]) -> SystemEntry:
    return SystemEntry.model_validate(
        {
            "id": f"sys-{index}",
            "name": f"System {index}",
            "designations": names,
            "category": "cruise-missile",
            "country": "RU",
            "description": "Synthetic entry.",
            "entry_sources": ["s"],
            "sources": {"s": {"title": "Synthetic", "publisher": "refdb"}},
        }
    )


def article(text_id: str = "a") -> ArticleEntry:
    return ArticleEntry.model_validate(
        {"id": text_id, "title": "T", "date": "2024", "language": "en"}
    )


def build_figures(tmp: Path) -> None:
    print(f"{'build-side input':<52} {'time':>10} {'peak':>11}")
    for size in (250_000, 500_000):
        # The quote occurs at every line; its prefix only once, at the end.
        text = "à 6 500 km. " * (size // 12) + "portée de 6 500 km."
        measured(
            f"quote with a prefix, article of {size:,} chars",
            lambda text=text: text_primitives.find_anchor(text, "6 500 km", "portée de "),
        )
    bomber = [system(0, ["Tu-160"])]
    for count in (5_000, 10_000):
        text = "Tu-160 flew. " * count
        measured(
            f"{count:,} mentions in one article",
            lambda text=text: linker.link_article(linker.Linker(bomber), article(), text),
        )
    for count in (1_000, 2_000):
        # Four separators beside digits: each may be '-', ' ' or nothing (3^4 spellings).
        systems = [system(i, [f"{i}-{i} {i}-{i} {i}"]) for i in range(count)]
        measured(
            f"{count:,} designations with four digit-side separators",
            lambda systems=systems: linker.Linker(systems),
        )
    for count in (1_000, 2_000):
        root = tmp / f"shared-{count}"
        (root / "systems").mkdir(parents=True)
        for i in range(count):
            (root / "systems" / f"s{i}.yaml").write_text(
                f"id: s{i}\nname: System {i}\ncategory: fighter\ncountry: RU\n"
                "description: A test entry.\nentry_sources: [a]\n"
                "aliases:\n  - {text: Shared, lang: en, kind: nickname}\n"
                "sources:\n  a: {title: T, publisher: P}\n"
            )
        measured(f"one name claimed by {count:,} entries (check)", lambda root=root: _check(root))

    for count in (20_000, 40_000):
        text = "Tu-160 " * count
        mentions = [
            {"id": f"m{i}", "start": 7 * i, "end": 7 * i + 6, "system_id": "tu-160"}
            for i in range(count)
        ]
        measured(
            f"article page text of {count:,} mentions (all marked)",
            lambda text=text, mentions=mentions: article_page.paragraphs(text, mentions, []),
        )
    for size in (70_000, 140_000):
        measured(
            f"build: {size:,}-char paragraph, no sentence end",
            lambda size=size: paragraph_without_an_end(tmp, size),
        )
        db_size = (tmp / f"paragraph-{size}.db").stat().st_size / 1e6
        print(f"{'  its database':<52} {db_size:>8.1f} MB")
    for size in (500_000, 1_000_000):
        measured(
            f"200 one-letter quotes, article of {size:,} chars",
            lambda size=size: one_letter_quotes(size),
        )


def paragraph_without_an_end(tmp: Path, size: int) -> None:
    """A build of one article whose text is one paragraph of ``size`` characters with no
    sentence end and a mention every 50 characters: each mention keeps a bounded sentence."""
    import shutil

    from refdb.compiling.compiler import build

    root = tmp / f"paragraph-{size}"
    shutil.copytree(ROOT / "tests" / "fixtures" / "mini", root)
    words = "a Tu-160 flew past the coast and turned back, "
    (root / "articles" / "bomber-note.txt").write_text(words * (size // len(words)) + "\n")
    build(root, tmp / f"paragraph-{size}.db")


def one_letter_quotes(size: int) -> None:
    """200 quotes of one letter, each with its own prefix, in an article of ``size``
    characters: each is sought with its prefix as one string in text folded once."""
    text = "a" * size + "".join(f" prefix{i} a" for i in range(200))
    folded = text_primitives.fold(text)
    for i in range(200):
        text_primitives.find_anchor(text, "a", f"prefix{i} ", folded=folded, limit=2)


def _check(root: Path) -> None:
    from refdb.catalog.validate import validate_catalog
    from refdb.errors import CatalogError

    with contextlib.suppress(CatalogError):  # every entry reports the shared name
        validate_catalog(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    if not args.skip_server:
        server_figures()
        builtin_figures()
    if not args.skip_build:
        with tempfile.TemporaryDirectory() as directory:
            build_figures(Path(directory))


if __name__ == "__main__":
    main()
