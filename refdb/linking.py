"""The linker over a whole catalog: every article, on every core, reusing the last build's,
handed on in batches so that no stage after it holds every article's mentions.

Workers are forked after the automaton is built, so they share it instead of building it
again; an unchanged article linked against the same names keeps its cached mentions.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from itertools import islice

from refdb.errors import CatalogError, Problem
from refdb.linker import AnchorError, Linker, Mention, link_article, names_of
from refdb.reader import Article
from refdb.schema import SystemEntry
from refdb.text import sha256

# Below this many articles one process links faster than starting workers.
PARALLEL_FROM = 500
# Articles handed on at a time: enough to keep rows and writes fast, few enough that memory
# stays flat however many articles the catalog holds.
BATCH = 500
AHEAD = 2  # batches the workers may link ahead of the stages that take them
_SHARED: tuple | None = None  # (automaton, articles), inherited by forked workers


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
        if problem:
            problems.append(problem)
        articles.append(article)
        mentions += found
        if len(articles) == size:
            yield articles, mentions
            articles, mentions = [], []
    if articles:
        yield articles, mentions
    if problems:
        raise CatalogError(problems)


def find_mentions(catalog, progress=None, cache=None) -> tuple[list[Mention], list[Problem]]:
    """Every mention in every article of ``catalog``, in a stable order, and the problems."""
    mentions, problems = [], []
    for _, found, problem in each_article(catalog, progress, cache):
        mentions += found
        if problem:
            problems.append(problem)
    return mentions, problems


def each_article(catalog, progress=None, cache=None) -> Iterator[tuple]:
    """(article, its mentions, its problem or None) for every article of ``catalog``, in order.

    Large catalogs are linked on every core: workers are forked after the automaton is
    built, so they share it instead of building it again. With a ``cache``, an article whose
    header and text are unchanged, linked against the same names, keeps its mentions. A
    curator's anchor that no longer applies (an exclusion with nothing to exclude) is a
    problem naming the article file and line (that article then has no mentions).
    """
    global _SHARED
    articles = catalog.articles
    names = names_sha256(catalog.systems)
    keys = [_cache_key(catalog, article, names) for article in articles]
    stored = cache.reused.mentions if cache and cache.reused else {}
    todo = [i for i, key in enumerate(keys) if key not in stored]
    report = progress or (lambda stage, done, total: None)
    _SHARED = (Linker(catalog.systems), articles) if todo else None
    linked, done = _map(_link_shared, todo), len(articles) - len(todo)
    try:
        for index, article in enumerate(articles):
            found = cache.article_mentions(keys[index]) if keys[index] in stored else None
            if found is not None:
                result = found, None
            elif keys[index] in stored:  # unreadable cached mentions: link it here
                _SHARED = _SHARED or (Linker(catalog.systems), articles)
                result = _link_shared(index)
            else:
                result, done = next(linked), done + 1
                report("linking articles", done, len(articles))
            yield article, result[0], _problem(article, result[1])
            if not result[1] and cache is not None:
                cache.mentions[keys[index]] = result[0]
    finally:
        linked.close()
        _SHARED = None


def _problem(article, stale: tuple | None) -> Problem | None:
    if not stale:
        return None
    section, anchor, message = stale
    loc = ("mentions", section, anchor, "exact")
    return article.document.problem(loc, f"stale anchor: {message}", "stale-anchor")


def names_sha256(systems: list[SystemEntry]) -> str:
    """One hash over every name the linker looks for, with everything that decides whether it
    links (kind, case, context words): when any of it changes, every article relinks."""
    digest = hashlib.sha256()
    for system in systems:
        for name in names_of(system):
            fields = (name.system_id, name.text, name.kind, name.case_sensitive, *name.context)
            digest.update("\0".join(map(str, fields)).encode() + b"\n")
    return digest.hexdigest()


def _cache_key(catalog, article, names: str) -> tuple:
    header = article.document.path.relative_to(catalog.root).as_posix()
    text = article.text_path.relative_to(catalog.root).as_posix()
    return (article.entry.id, sha256(catalog.files[header]), sha256(catalog.files[text]), names)


def _map(function, items: list[int]):
    """``map`` over every core for many items (forked workers share ``_SHARED``), else inline.

    Workers run at most ``AHEAD`` batches ahead of the consumer: results waiting to be
    taken stay bounded however fast the workers link."""
    workers = min(os.cpu_count() or 1, 8)
    if (
        workers > 1
        and len(items) >= PARALLEL_FROM
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            batches = (items[i : i + BATCH] for i in range(0, len(items), BATCH))
            pending = deque(
                pool.map_async(function, b, chunksize=50) for b in islice(batches, AHEAD)
            )
            while pending:
                done = pending.popleft().get()
                pending.extend(
                    pool.map_async(function, b, chunksize=50) for b in islice(batches, 1)
                )
                yield from done
    else:
        yield from map(function, items)


def _link_shared(index: int) -> tuple[list[Mention], tuple | None]:
    """Link one article of ``_SHARED``; a stale anchor comes back as data, not an exception."""
    automaton, articles = _SHARED
    article = articles[index]
    try:
        return link_article(automaton, article.entry, article.text, article.anchors), None
    except AnchorError as error:
        return [], (error.section, error.index, str(error))
