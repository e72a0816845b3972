"""The build: catalog directory -> a published database, as a list of named stages.

load and validate (``validate.py``) -> link (``linker.py``) -> rows (``rows.py``) -> write,
full-text index and check (``sqlite_target.py``, atomically; or ``postgres.py``). Each stage
lives in its own module; this one only runs them in order and times them. Articles go
through link, rows and write a batch at a time, so memory stays flat as articles grow.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from refdb.cache import BuildCache
from refdb.catalog.validate import Catalog, Progress, validate_catalog
from refdb.compiling import history, patching, postgres, sqlite_target
from refdb.compiling.rows import ArticleRows, alternating, merged, new_row, streamed_rows
from refdb.compiling.tables import BuildInfo
from refdb.linking.articles import finished_batches
from refdb.text import counted


@dataclass
class BuildResult:
    path: Path
    systems: int
    articles: int
    mentions: int
    catalog_sha256: str
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each stage
    reused: int = 0  # files and articles whose previous work was reused
    patched: bool = False  # only the difference was applied to the previous database
    read: int | None = None  # files read to see what changed (stat vouched for the rest)
    rebuilt_because: str | None = None  # why a build with reuse could not patch the previous

    def summary(self) -> str:
        """What the build wrote, in the words `refdb build` and every rebuild under --watch say."""
        counts = ", ".join(
            counted(n, noun)
            for n, noun in (
                (self.systems, "system"),
                (self.articles, "article"),
                (self.mentions, "mention"),
            )
        )
        return f"Built {self.path}: {counts} (catalog {self.catalog_sha256[:12]})."


def build(
    catalog_dir: Path | str,
    db_path: Path | str | None,
    *,
    built_at: str | None = None,
    progress: Progress | None = None,
    reuse: bool = True,
    database_url: str | None = None,
    early_scan=None,
) -> BuildResult:
    """Validate ``catalog_dir``, link its articles and replace ``db_path`` atomically.

    ``progress(stage, done, total)`` is called as files are checked and articles linked.
    With ``reuse``, unchanged files and articles reuse the previous build's work (the result
    is the same as a clean build's). With ``database_url`` (``postgresql://…``) the same
    tables are written to that PostgreSQL database instead, in one transaction.
    ``early_scan``: the catalog's stat scan, started before this module was loaded
    (:class:`refdb.compiling.stat_scan.EarlyScan`); the build closes it.
    """
    timed = _Stages()
    why = None
    if reuse and not database_url:
        try:
            patched = patching.build(Path(catalog_dir), Path(db_path), built_at, timed, early_scan)
        finally:
            if early_scan is not None:
                early_scan.close()
        if isinstance(patched, dict):
            return BuildResult(Path(db_path), seconds=timed.seconds, patched=True, **patched)
        why = str(patched)
        timed.seconds.clear()
    cache_path = None if database_url else BuildCache.beside(db_path)
    cache = BuildCache.load(cache_path) if reuse and cache_path else BuildCache(target=cache_path)
    with timed("load and validate"):
        catalog = validate_catalog(Path(catalog_dir), progress, cache, streamed=True)
    with _kept_out_of_collection():
        result = _compile(catalog, db_path, built_at, progress, reuse, database_url, cache, timed)
    result.rebuilt_because = why
    return result


def _compile(catalog, db_path, built_at, progress, reuse, database_url, cache, timed):
    """Link, make rows and write a validated catalog (see :func:`build`)."""
    finish = ArticleRows(catalog, positional=not database_url)  # made where it is linked
    batches = _timed(timed, "link", finished_batches(catalog, finish, progress, cache))
    parts = _timed(timed, "rows", streamed_rows(catalog, batches, built_at))
    info: list = []
    history_of = None if database_url else db_path  # where the previous build's history is
    entry_history = _timed(timed, "history", _history(catalog, history_of, reuse))
    parts = alternating(_noting(BuildInfo, info, parts), entry_history)
    if database_url:  # one transaction of every row, as the server database takes them
        rows = merged(parts)
        with timed("write"):
            postgres.write(database_url, rows)
        return _result(database_url, info[0], timed.seconds, cache)
    try:
        sqlite_target.publish(parts, _system_files(catalog), Path(db_path), timed)
    except BaseException:
        cache.discard()
        raise
    cache.save()  # an optimisation: a path it cannot use is skipped
    return _result(Path(db_path), info[0], timed.seconds, cache)


@contextmanager
def _kept_out_of_collection():
    """The validated catalog lives as long as the build: the cycle collector, sweeping it
    again and again as rows are made, found nothing to free and cost about 3 s at 10,000
    entries. What exists now is kept out of its sweeps until the build ends (a watching
    process builds again and again, and must free each catalog it is done with)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Stages:
    """``with timed("stage"):`` adds the stage's wall time to ``seconds``; a stage timed
    inside another (linking while rows are asked for) counts for itself alone."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._nested = 0.0  # time spent in stages inside the one running

    @contextmanager
    def __call__(self, stage: str):
        started, outer = time.perf_counter(), self._nested
        self._nested = 0.0
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed - self._nested
            self._nested = outer + elapsed


def _timed(timed: _Stages, stage: str, parts: Iterator) -> Iterator:
    """``parts``, each one's making timed as ``stage``."""
    while True:
        with timed(stage):
            part = next(parts, None)
        if part is None:
            return
        yield part


def _history(catalog, db_path, reuse: bool) -> Iterator[dict]:
    """The entries' history rows, a part at a time, made when asked for."""
    yield from history.history_parts(catalog, db_path, new_row, reuse)


def _noting(model: type, found: list, parts: Iterator[dict]) -> Iterator[dict]:
    """``parts``, the rows of ``model`` they carry appended to ``found`` on the way."""
    for part in parts:
        found += part.get(model, [])
        yield part


def _system_files(catalog: Catalog) -> int:
    """How many system rows the database must hold: one per system file read."""
    return sum(path.startswith("systems/") for path in catalog.files)


def _result(target, info, seconds: dict[str, float], cache) -> BuildResult:
    return BuildResult(
        target, info.systems, info.articles, info.mentions, info.catalog_sha256, seconds, cache.hits
    )
