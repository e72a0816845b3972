"""The linker over a whole catalog: every article, on every core, reusing the last build's,
handed on in batches so that no stage after it holds every article's mentions.

Workers are forked after the automaton is built, so they share it instead of building it
again; an unchanged article linked against the same names keeps its cached mentions.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import tempfile
from collections import deque
from collections.abc import Iterator
from functools import partial
from itertools import islice
from typing import NamedTuple

from refdb.catalog import crosscheck, loader, sources
from refdb.catalog.reader import Article, CatalogReader
from refdb.catalog.schema import SystemEntry
from refdb.errors import CatalogError, Problem, display_path
from refdb.linking.linker import AnchorError, Linker, Mention, link_article, names_of

# Below this many articles one process links faster than starting workers.
PARALLEL_FROM = 500
# Articles handed on at a time: enough to keep rows and writes fast, few enough that memory
# stays flat however many articles the catalog holds.
BATCH = 250
CHUNK = 25  # items a worker is handed at a time
AHEAD = 2  # batches the workers may link ahead of the stages that take them
_SHARED: _Shared | None = None  # what forked workers inherit


def link_catalog(catalog, progress=None, cache=None) -> list[Mention]:
    """Every mention in every article of a validated catalog, in a stable order; a stale
    anchor is a CatalogError."""
    return [m for _, found in linked_batches(catalog, progress, cache) for m in found]


def linked_batches(
    catalog, progress=None, cache=None, size: int = BATCH
) -> Iterator[tuple[list[Article], list[Mention]]]:
    """The articles of a validated catalog, in order and ``size`` at a time, with their
    mentions: what later stages turn into rows without holding every article's at once.

    Every stale anchor is collected: after the last batch, a CatalogError lists them all
    (a build writing the batches meanwhile is abandoned, its old database kept).
    """
    problems: list[Problem] = []
    articles: list[Article] = []
    mentions: list[Mention] = []
    for article, found, problem in each_article(catalog, progress, cache):
        problems += problem
        if article is None:
            continue
        articles.append(article)
        mentions += found
        if len(articles) == size:
            yield articles, mentions
            articles, mentions = [], []
    if articles:
        yield articles, mentions
    if problems:
        raise CatalogError(problems)


def finished_batches(
    catalog, finish, progress=None, cache=None, size: int = BATCH
) -> Iterator[list]:
    """What ``finish(article, its mentions)`` makes of each article of a validated catalog,
    in order and ``size`` articles at a time. ``finish`` runs where the article was linked
    (another core, for a large catalog) and only what it makes comes back: the build's rows
    rather than the parsed article and its mentions, and the writing process is spared
    making them. Stale anchors are collected as in :func:`linked_batches`."""
    problems: list[Problem] = []
    finished: list = []
    for received, made, problem in each_article(catalog, progress, cache, finish):
        problems += problem
        if received is None:
            continue
        finished.append(made)
        if len(finished) == size:
            yield finished
            finished = []
    if finished:
        yield finished
    if problems:
        raise CatalogError(problems)


def find_mentions(catalog, progress=None, cache=None) -> tuple[list[Mention], list[Problem]]:
    """Every mention in every article of ``catalog``, in a stable order, and the problems."""
    mentions, problems = [], []
    for _, found, problem in each_article(catalog, progress, cache):
        mentions += found
        problems += problem
    return mentions, problems


def each_article(catalog, progress=None, cache=None, finish=None) -> Iterator[tuple]:
    """(article, its mentions, its problems) for every article of ``catalog``, in order; with
    ``finish``, (what the parent must know of the article, ``finish(article, mentions)``, its
    problems).

    Large catalogs are linked on every core: workers are forked after the automaton is
    built, so they share it instead of building it again. A streamed catalog's articles are
    read and checked by the workers, one at a time (an article with a problem comes back as
    None, with its problems). With a ``cache``, an article whose header and text are
    unchanged, linked against the same names, keeps its mentions, and every article's are
    written to the new cache as they come. A curator's anchor that no longer applies (an
    exclusion with nothing to exclude) is a problem naming the article file and line (that
    article then has no mentions).
    """
    global _SHARED
    count = len(catalog.article_ids)
    _SHARED = _Shared(catalog, Linker(catalog.systems) if count else None, cache, finish)
    offsets = (cache.offset_of(key) if cache else None for key in catalog.article_ids)
    linked = _map(_link_chunk, enumerate(offsets), count)
    if catalog.streamed:
        catalog.article_digests = [None] * count
    quoted = {a.entry.id: a.digests for a in catalog.articles} if catalog.streamed else {}
    stage = "checking and linking articles" if catalog.streamed else "linking articles"
    try:
        for index, (article, mentions, problems, line, hit) in enumerate(linked):
            if not catalog.streamed and not problems and finish is None:
                article = catalog.articles[index]
            elif article is not None and catalog.streamed:
                received = article if finish is not None else Received.of(article)
                catalog.keep_digests(index, received.digests)
                problems = problems + _changed_since_quoted(quoted, received)
            if progress:
                progress(stage, index + 1, count)
            if cache is not None:
                cache.hits += hit
                if line is not None:
                    cache.keep(line)
            yield article, mentions, problems
    finally:
        linked.close()
        _SHARED = None


def _changed_since_quoted(quoted: dict[str, tuple], article: Received) -> list[Problem]:
    """An article entries quote is read twice in a streamed build (its quotes are placed
    before it is linked); both reads must have found the same files."""
    if quoted.get(article.id, article.digests) == article.digests:
        return []
    message = "this article changed while the build read it; build again"
    return [Problem(display_path(article.header), 1, 1, message, "changed-during-build")]


class Received(NamedTuple):
    """What the parent keeps of an article a worker read: its id, the sha256 of its header's
    and its text's bytes, and the header's path (a string: a Path unpickled is parsed
    again, a second of the parent's time in 100,000 articles)."""

    id: str
    digests: tuple[str, str]
    header: str

    @classmethod
    def of(cls, article: Article) -> Received:
        return cls(article.entry.id, article.digests, os.fspath(article.document.path))


def names_sha256(systems: list[SystemEntry]) -> str:
    """One hash over every name the linker looks for, with everything that decides whether it
    links (kind, case, context and not-context words, the presses it is used in) and the
    spellings curators vetoed: when any of it changes, every article relinks."""
    digest = hashlib.sha256()
    for system in systems:
        digest.update("\0".join(["vetoed", system.id, *system.vetoed_forms]).encode() + b"\n")
        for name in names_of(system):
            fields = (
                name.system_id, name.text, name.kind, name.case_sensitive,
                *name.context, "\1", *name.not_context, "\1", *name.used_in,
            )  # fmt: skip
            digest.update("\0".join(map(str, fields)).encode() + b"\n")
    return digest.hexdigest()


class _Shared:
    """What forked workers inherit: the catalog, its automaton, and how to check one article."""

    def __init__(self, catalog, automaton: Linker | None, cache, finish=None) -> None:
        self.catalog, self.automaton, self.cache, self.finish = catalog, automaton, cache, finish
        self.names = names_sha256(catalog.systems) if catalog.article_ids else ""
        self.ids = {system.id for system in catalog.systems}
        self.register = sources.Register(catalog.publishers)

    def article(self, index: int) -> tuple[Article | None, list[Problem]]:
        """The article at ``index``: read and checked now for a streamed catalog."""
        if not self.catalog.streamed:
            return self.catalog.articles[index], []
        problems: list[Problem] = []
        reader = CatalogReader(self.catalog.root, lambda *_: None, None, problems)
        article = reader.load_article(self.catalog.article_header(index))
        if article is not None:
            problems += crosscheck.check_article(article, self.ids, self.register)
        return (article if not problems else None), problems

    def prefetch(self, indexes: Iterator[int]) -> None:
        """Start reading the files of the articles at ``indexes`` of a streamed catalog."""
        if self.catalog.streamed:
            headers = [self.catalog.article_header(index) for index in indexes]
            loader.prefetch([*headers, *(header.with_suffix(".txt") for header in headers)])

    def shipped(self, article: Article, found: list[Mention]) -> tuple:
        """What goes back to the parent for a linked article: the article, unless the parent
        holds it already, and its mentions; with ``finish``, what the parent must know of the
        article and what ``finish`` makes of it."""
        if self.finish is not None:
            return Received.of(article), self.finish(article, found)
        return (article if self.catalog.streamed else None), found


def _map(function, items: Iterator, count: int):
    """Every result of ``function``, which makes a list of results of a chunk of ``items``,
    in order: on every core for many items (forked workers share ``_SHARED``), else inline.

    Workers run at most ``AHEAD`` batches ahead of the consumer: results waiting to be
    taken stay bounded however fast the workers link, and so do the items handed out. Each
    chunk's results come back through a file (:func:`_spooled`), not through the pool's pipe."""
    workers = min(os.cpu_count() or 1, 8)
    chunks = iter(lambda: list(islice(items, CHUNK)), [])
    if workers > 1 and count >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
        with (
            tempfile.TemporaryDirectory(prefix="refdb-linking-") as spool,
            multiprocessing.get_context("fork").Pool(workers) as pool,
        ):
            spooled = partial(_spooled, function, spool)
            batches = iter(lambda: list(islice(chunks, BATCH // CHUNK)), [])
            pending = deque(pool.map_async(spooled, b, 1) for b in islice(batches, AHEAD))
            while pending:
                done = pending.popleft().get()
                pending.extend(pool.map_async(spooled, b, 1) for b in islice(batches, 1))
                for path in done:
                    yield from _unspooled(path)
    else:
        for chunk in chunks:
            yield from function(chunk)


def _spooled(function, spool: str, chunk: list) -> str:
    """``function`` of a chunk of items, its results written to a file in ``spool``: the
    file's path. A pool's results share one pipe, which its parent reads only when its
    writing lets it; a worker whose results filled the pipe (a chunk's article texts do)
    stopped and left its core idle, a tenth of a large build's linking time."""
    results = function(chunk)
    descriptor, path = tempfile.mkstemp(dir=spool)
    with os.fdopen(descriptor, "wb") as file:
        pickle.dump(results, file, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _unspooled(path: str) -> list:
    """The results :func:`_spooled` wrote to ``path``, which goes."""
    with open(path, "rb") as file:
        results = pickle.load(file)
    os.unlink(path)
    return results


def _link_chunk(chunk: list[tuple[int, int | None]]) -> list[tuple]:
    """:func:`_link_shared` over each item of ``chunk``, whose files are all asked of the
    disk first."""
    _SHARED.prefetch(index for index, _ in chunk)
    return [_link_shared(item) for item in chunk]


def _link_shared(item: tuple[int, int | None]) -> tuple:
    """Check and link one article of ``_SHARED`` (or take its cached mentions): (article,
    mentions, problems, the cache line to keep, whether the cache had it). A stale anchor
    comes back as a problem, not an exception."""
    index, offset = item
    shared = _SHARED
    article, problems = shared.article(index)
    if article is None:
        return None, [], problems, None, False
    key = (article.entry.id, *article.digests, shared.names)
    if offset is not None and shared.cache is not None:
        found = shared.cache.article_mentions(offset, key, Mention)
        if found is not None:
            return *shared.shipped(article, found[0]), problems, found[1], True
    try:
        found = link_article(shared.automaton, article.entry, article.text, article.anchors)
    except AnchorError as error:
        stale = article.document.problem(
            ("mentions", error.section, error.index, "exact"),
            f"stale anchor: {error}",
            "stale-anchor",
        )
        return *shared.shipped(article, []), [*problems, stale], None, False
    line = shared.cache.article_line(key, found) if shared.cache is not None else None
    return *shared.shipped(article, found), problems, line, False
