"""The build: catalog directory -> a published database, as a list of named stages.

load and validate (``validate.py``) -> link (``linker.py``) -> rows (``rows.py``) -> write,
full-text index and check (``sqlite_target.py``, atomically; or ``postgres.py``). Each stage
lives in its own module; this one only runs them in order and times them.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from refdb import history, linking, patching, postgres, sqlite_target
from refdb.cache import BuildCache
from refdb.rows import catalog_rows, new_row
from refdb.tables import BuildInfo
from refdb.validate import Catalog, Progress, validate_catalog


@dataclass
class BuildResult:
    path: Path
    systems: int
    articles: int
    mentions: int
    catalog_sha256: str
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each stage
    reused: int = 0  # files and articles whose previous work was reused
    patched: bool = False  # the previous database was copied and only the difference applied


def build(
    catalog_dir: Path | str,
    db_path: Path | str | None,
    *,
    built_at: str | None = None,
    progress: Progress | None = None,
    reuse: bool = True,
    database_url: str | None = None,
) -> BuildResult:
    """Validate ``catalog_dir``, link its articles and replace ``db_path`` atomically.

    ``progress(stage, done, total)`` is called as files are checked and articles linked.
    With ``reuse``, unchanged files and articles reuse the previous build's work (the result
    is the same as a clean build's). With ``database_url`` (``postgresql://…``) the same
    tables are written to that PostgreSQL database instead, in one transaction.
    """
    timed = _Stages()
    if reuse and not database_url:
        patched = patching.build(Path(catalog_dir), Path(db_path), built_at, timed)
        if patched is not None:
            return BuildResult(Path(db_path), seconds=timed.seconds, patched=True, **patched)
        timed.seconds.clear()
    cache_path = None if database_url else BuildCache.beside(db_path)
    cache = BuildCache.load(cache_path) if reuse and cache_path else BuildCache()
    with timed("load and validate"):
        catalog = validate_catalog(Path(catalog_dir), progress, cache)
    with timed("link"):
        mentions = linking.link_catalog(catalog, progress, cache)
    with timed("rows"):
        rows = catalog_rows(catalog, mentions, built_at)
    with timed("history"):
        rows |= history.history_rows(catalog, None if database_url else db_path, new_row, reuse)
    if database_url:
        with timed("write"):
            postgres.write(database_url, rows)
        return _result(database_url, rows, timed.seconds, cache)
    sqlite_target.publish(rows, _system_files(catalog), Path(db_path), timed)
    cache.save(cache_path)  # an optimisation: a path it cannot use is skipped
    return _result(Path(db_path), rows, timed.seconds, cache)


class _Stages:
    """``with timed("stage"):`` records the stage's wall time in ``seconds``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str):
        started = time.perf_counter()
        yield
        self.seconds[stage] = time.perf_counter() - started


def _system_files(catalog: Catalog) -> int:
    """How many system rows the database must hold: one per system file read."""
    return sum(path.startswith("systems/") for path in catalog.files)


def _result(target, rows: dict[type, list], seconds: dict[str, float], cache) -> BuildResult:
    info = rows[BuildInfo][0]
    return BuildResult(
        target, info.systems, info.articles, info.mentions, info.catalog_sha256, seconds, cache.hits
    )
