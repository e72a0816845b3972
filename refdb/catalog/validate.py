"""Loaded YAML -> a validated catalog, or every problem at once with file:line:column.

Each file is read and checked against the pydantic models of ``schema.py`` (``reader.py``);
then the catalog as a whole (``crosscheck.py``): ids match file names and are unique,
relation targets and source ids exist, no name is claimed by two systems, the source policy
holds, and every article quote and curator anchor still finds its words.
"""

from __future__ import annotations

import gc
import heapq
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from refdb.cache import BuildCache
from refdb.catalog import crosscheck, sources
from refdb.catalog.loader import Document
from refdb.catalog.reader import (  # noqa: F401  (re-exported: what validation hands on)
    MAX_ARTICLE_BYTES,
    Article,
    CatalogReader,
    Progress,
    article_header,
    file_digests,
)
from refdb.catalog.schema import ArticleQuote, Publisher, SystemEntry
from refdb.errors import CatalogError, Problem, display_path


@dataclass
class Catalog:
    """A catalog that passed every check (or the files of one that did), sorted by id.

    A *streamed* catalog (what a build validates) holds every entry but not every article:
    ``article_ids`` lists them all, ``articles`` holds only those entries quote, and
    each article is read and checked as it is linked (``refdb.linking.articles.each_article``), so memory
    does not grow with the articles."""

    root: Path
    systems: list[SystemEntry]
    articles: list[Article]
    publishers: dict[str, Publisher] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes, not articles'
    digests: dict[str, str] = field(default_factory=dict)  # relative path -> sha256, every file
    # (system id, source key) -> (start, end) of an article quote in its article's text
    quotes: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    article_ids: list[str] = field(default_factory=list)  # every article's, in order
    streamed: bool = False
    started_ns: int | None = None  # when reading began (see provenance.unchanged)
    # a streamed catalog's header and text sha256 of each article, as each is read: 64
    # bytes in one object (two hex strings cost three times that, per article)
    article_digests: list[bytes | None] = field(default_factory=list)

    def keep_digests(self, index: int, digests: tuple[str, str]) -> None:
        self.article_digests[index] = bytes.fromhex(digests[0] + digests[1])

    def article_header(self, index: int) -> Path:
        return article_header(self.root, self.article_ids[index])

    def file_digests(self) -> Iterator[tuple[str, str]]:
        """(relative path, sha256) of every file, in path order (a streamed catalog's once
        every article is read): what the catalog's version and its files' table are made of."""
        if not self.streamed:
            return iter(sorted(self.digests.items()))
        own = sorted((p, d) for p, d in self.digests.items() if not p.startswith("articles/"))
        return heapq.merge(own, self._article_files())

    def _article_files(self) -> Iterator[tuple[str, str]]:
        """A streamed catalog's article files and their sha256, in path order: an id has no
        dot, so an article's .txt and .yaml sort together, and articles by ``id + "."``."""
        ids = self.article_ids
        for index in sorted(range(len(ids)), key=lambda index: ids[index] + "."):
            digests, stem = self.article_digests[index], f"articles/{ids[index]}"
            yield f"{stem}.txt", digests[32:].hex()
            yield f"{stem}.yaml", digests[:32].hex()


def validate_catalog(
    root: Path,
    progress: Progress | None = None,
    cache: BuildCache | None = None,
    *,
    streamed: bool = False,
) -> Catalog:
    """Load and check every file under ``root``; raise CatalogError listing all problems.

    With a ``cache``, an entry file whose bytes have not changed since the last build reuses
    its validated entry instead of being parsed and validated again. ``streamed``: check
    the entries now and each article when it is linked (see :class:`Catalog`); when the
    entries have problems, the articles are checked now too, so that all are listed.
    """
    catalog, problems = check_catalog(root, progress, cache, streamed=streamed)
    if problems:
        raise CatalogError(problems)
    return catalog


@contextmanager
def _without_cycle_collection():
    """Loading allocates a few objects per value of every file and frees almost none: the
    cycle collector, run again and again over a growing heap, found nothing to free and
    cost about 40% of the stage at 10,000 files. Reference counting still frees garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_catalog(
    root: Path,
    progress: Progress | None = None,
    cache: BuildCache | None = None,
    *,
    streamed: bool = False,
) -> tuple[Catalog, list[Problem]]:
    """Every problem of the catalog under ``root``, and the catalog of the files that have
    none (nor depend on one that has: a quote of a broken article, an anchor on a broken
    entry), for the stages that can still run on them."""
    with _without_cycle_collection():
        return _check_catalog(Path(root), progress, cache, streamed)


def _check_catalog(
    root: Path, progress: Progress | None, cache: BuildCache | None, streamed: bool
) -> tuple[Catalog, list[Problem]]:
    if not root.is_dir():
        message = "catalog directory not found; pass --catalog DIR"
        return Catalog(root, [], []), [Problem(str(root), 1, 1, message, "no-catalog")]
    problems: list[Problem] = []
    started_ns = time.time_ns()
    reader = CatalogReader(
        root, progress or (lambda stage, done, total: None), cache or BuildCache(), problems
    )
    register = reader.load_register()
    systems, system_docs = reader.load_all("systems", SystemEntry)
    for partial, document in reader.salvaged:  # checked across files, never built (_sound)
        if partial.id not in system_docs:
            systems.append(partial)
            system_docs[partial.id] = document
    article_ids = reader.article_ids()
    if streamed:
        articles = _quoted_articles(reader, systems, article_ids)
    else:
        articles = reader.load_articles([article_header(root, key) for key in article_ids])
    if not systems and not problems:
        message = "no system files (*.yaml) found"
        problems.append(Problem(display_path(root / "systems"), 1, 1, message, "no-systems"))
    quotes: dict[tuple[str, str], tuple[int, int]] = {}
    ids = {s.id for s in systems}
    problems += crosscheck.check_across(
        root, register, systems, system_docs, articles, quotes,
        anchored=None if streamed else articles, of_articles=not streamed,
    )  # fmt: skip
    if streamed and problems and register:  # the build stops here: list the articles' too
        problems += _article_problems(reader, article_ids, ids, register)
    if problems:
        systems, articles = _sound(systems, system_docs, articles, problems)
    sound = {s.id for s in systems}
    catalog = Catalog(
        root=root,
        systems=sorted(systems, key=lambda s: s.id),
        articles=sorted(articles.values(), key=lambda a: a.entry.id),
        publishers=register.publishers if register else {},
        documents={s.id: system_docs[s.id] for s in systems},
        files=reader.files,
        digests=reader.digests,
        quotes={key: span for key, span in quotes.items() if key[0] in sound},
        article_ids=article_ids if streamed else list(articles),
        streamed=streamed,
        started_ns=started_ns,
    )
    return catalog, problems


def _quoted_articles(reader: CatalogReader, systems, article_ids: list[str]) -> dict[str, Article]:
    """The articles entries quote, read now (their problems are reported when each article
    is checked in turn): quotes are placed in their texts before any row is written."""
    quoted = {
        source.article
        for system in systems
        for source in system.sources.values()
        if isinstance(source, ArticleQuote)
    }
    found, problems = {}, reader.problems
    reader.problems = []
    try:
        for article_id in article_ids:
            if article_id in quoted:
                article = reader.load_article(article_header(reader.root, article_id))
                if article is not None:
                    found[article.entry.id] = article
    finally:
        reader.problems = problems
    return found


def _article_problems(reader: CatalogReader, article_ids, ids: set[str], register) -> list[Problem]:
    """Every article's problems, found one article at a time (none is kept)."""
    problems, lookup = [], sources.Register(register.publishers)
    for article_id in article_ids:
        article = reader.load_article(article_header(reader.root, article_id))
        if article is not None:
            problems += crosscheck.check_article(article, ids, lookup)
    return problems


def _sound(systems, documents: dict[str, Document], articles: dict[str, Article], problems):
    """The systems and articles whose files have no problem, and that quote, or anchor on,
    only each other: what later stages can work on when the catalog has problems."""
    broken = {problem.path for problem in problems}
    articles = {
        key: article
        for key, article in articles.items()
        if display_path(article.document.path) not in broken
        and display_path(article.text_path) not in broken
    }
    systems = [s for s in systems if display_path(documents[s.id].path) not in broken]
    ids = {s.id for s in systems}
    articles = {
        key: article
        for key, article in articles.items()
        if all(
            anchor.system in ids
            for anchor in (*article.entry.mentions.include, *article.entry.mentions.exclude)
        )
    }
    systems = [s for s in systems if _quotes_only(s, articles)]
    return systems, articles


def _quotes_only(system: SystemEntry, articles: dict[str, Article]) -> bool:
    return all(
        source.article in articles
        for source in system.sources.values()
        if isinstance(source, ArticleQuote)
    )
