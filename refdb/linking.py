"""The linker over a whole catalog: every article, on every core, reusing the last build's.

Workers are forked after the automaton is built, so they share it instead of building it
again; an unchanged article linked against the same names keeps its cached mentions.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os

from refdb.errors import CatalogError, Problem
from refdb.linker import AnchorError, Linker, Mention, link_article, names_of
from refdb.schema import SystemEntry
from refdb.text import sha256

# Below this many articles one process links faster than starting workers.
PARALLEL_FROM = 500
_SHARED: tuple | None = None  # (automaton, articles), inherited by forked workers


def link_catalog(catalog, progress=None, cache=None) -> list[Mention]:
    """Every mention in every article of a validated catalog, in a stable order; a stale
    anchor is a CatalogError."""
    mentions, problems = find_mentions(catalog, progress, cache)
    if problems:
        raise CatalogError(problems)
    return mentions


def find_mentions(catalog, progress=None, cache=None) -> tuple[list[Mention], list[Problem]]:
    """Every mention in every article of ``catalog``, in a stable order, and the problems.

    Large catalogs are linked on every core: workers are forked after the automaton is
    built, so they share it instead of building it again. With a ``cache``, an article whose
    header and text are unchanged, linked against the same names, keeps its mentions. A
    curator's anchor that no longer applies (an exclusion with nothing to exclude) is an
    problem naming the article file and line (that article then has no mentions).
    """
    global _SHARED
    articles = catalog.articles
    names = names_sha256(catalog.systems)
    keys = [_cache_key(catalog, article, names) for article in articles]
    results = {
        i: (found, None)
        for i, key in enumerate(keys)
        if cache and (found := cache.article_mentions(key)) is not None
    }
    todo = [i for i in range(len(articles)) if i not in results]
    report = progress or (lambda stage, done, total: None)
    if todo:
        _SHARED = (Linker(catalog.systems), articles)
        try:
            for index, result in zip(todo, _map(_link_shared, todo), strict=True):
                results[index] = result
                report("linking articles", len(results), len(articles))
        finally:
            _SHARED = None
    mentions, problems = [], []
    for index, article in enumerate(articles):
        found, stale = results[index]
        mentions += found
        if stale:
            section, anchor, message = stale
            loc = ("mentions", section, anchor, "exact")
            problems.append(
                article.document.problem(loc, f"stale anchor: {message}", "stale-anchor")
            )
        elif cache is not None:
            cache.mentions[keys[index]] = found
    return mentions, problems


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
    """``map`` over every core for many items (forked workers share ``_SHARED``), else inline."""
    workers = min(os.cpu_count() or 1, 8)
    if (
        workers > 1
        and len(items) >= PARALLEL_FROM
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(function, items, chunksize=50)
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
