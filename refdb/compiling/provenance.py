"""Where a database comes from: the catalog's version, the code that built it, git history.

A database records the hash of every catalog file and the hash of refdb's code (the same
one the build cache is keyed by), so ``is_current`` can tell whether serving it would serve
what a build would write now.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
import subprocess
from bisect import bisect_left
from contextlib import closing
from itertools import chain, islice, repeat
from operator import add, gt
from pathlib import Path

from refdb.cache import code_version
from refdb.catalog.reader import file_digests
from refdb.journal import read_only_uri


def catalog_sha256(digests: dict[str, str]) -> str:
    """The catalog's version: one hash over every file's path and content (its sha256)."""
    version = CatalogVersion()
    version.add_all(digests)
    return version.hexdigest()


class CatalogVersion:
    """:func:`catalog_sha256` fed one file at a time, in path order (no dict of them all)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, relative: str, digest: str) -> None:
        self._hash.update(relative.encode() + b"\0" + bytes.fromhex(digest))

    def add_all(self, digests: dict[str, str]) -> None:
        """``add`` each file of ``digests`` in path order, in one call (a newsroom's catalog
        has 210,000; a sort of paths mostly in order already costs next to nothing)."""
        paths = sorted(digests)
        self.add_sorted(paths, map(bytes.fromhex, map(digests.__getitem__, paths)))

    def add_sorted(self, paths: list[str], digests) -> None:
        """``add`` each of ``paths``, sorted, with its digest's bytes: one join of them all."""
        names = map(str.encode, map(add, paths, repeat("\0")))
        self._hash.update(b"".join(chain.from_iterable(zip(names, digests, strict=True))))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


MAX_APPENDED = 1000  # rows after the sorted run beyond which sorting them all is quicker


class Recorded:
    """The files a database was built from and their SHA-256, in path order: what its
    catalog version was hashed over, so that an incremental build hashes it again with a
    few files changed. SQLite joins them into two strings, in the table's order (a build
    writes the files in path order, and a patch updates them in place): 210,000 rows read
    one by one into a dict took three times as long, and in the index's order twice."""

    def __init__(self, db: sqlite3.Connection) -> None:
        paths, digests = db.execute(
            "select group_concat(path, char(0)), group_concat(sha256, '') from catalog_files"
        ).fetchone()
        self.paths: list[str] = paths.split("\0") if paths else []
        self.digests: list[bytes] = list(
            struct.unpack("32s" * len(self.paths), bytes.fromhex(digests or ""))
        )
        self._in_path_order()

    def _in_path_order(self) -> None:
        """The files sorted by path. A patch appends the rows of the files it adds, so the
        table is a sorted run and a few rows after it, which go in by bisection."""
        descents = list(map(gt, self.paths, islice(self.paths, 1, None)))
        if True not in descents:
            return
        run = descents.index(True) + 1
        if len(self.paths) - run > MAX_APPENDED:
            order = sorted(range(len(self.paths)), key=self.paths.__getitem__)
            self.paths = [self.paths[at] for at in order]
            self.digests = [self.digests[at] for at in order]
            return
        appended = list(zip(self.paths[run:], self.digests[run:], strict=True))
        del self.paths[run:], self.digests[run:]
        for path, digest in appended:
            at = bisect_left(self.paths, path)
            self.paths.insert(at, path)
            self.digests.insert(at, digest)

    def __contains__(self, path) -> bool:
        return self._at(path) is not None

    def sha256(self, path: str) -> str | None:
        """The digest recorded for ``path``, None where the database has no such file."""
        at = self._at(path)
        return None if at is None else self.digests[at].hex()

    def version(self, now: dict[str, str | None]) -> str:
        """The catalog version with the files of ``now`` changed to their new digests (None:
        removed), the others as recorded."""
        paths, digests = self.paths.copy(), self.digests.copy()
        for path, digest in sorted(now.items()):
            at = bisect_left(paths, path)
            present = at < len(paths) and paths[at] == path
            if digest is None:
                if present:
                    del paths[at], digests[at]
            elif present:
                digests[at] = bytes.fromhex(digest)
            else:
                paths.insert(at, path)
                digests.insert(at, bytes.fromhex(digest))
        version = CatalogVersion()
        version.add_sorted(paths, digests)
        return version.hexdigest()

    def _at(self, path: str) -> int | None:
        at = bisect_left(self.paths, path)
        return at if at < len(self.paths) and self.paths[at] == path else None


def is_current(catalog_dir: Path | str, db_path: Path | str) -> bool:
    """Whether ``db_path`` was built by this code from the catalog exactly as it is on disk."""
    try:
        with closing(sqlite3.connect(read_only_uri(db_path), uri=True)) as conn:
            built = conn.execute("select catalog_sha256, code_sha256 from build_info").fetchone()
    except sqlite3.Error:
        return False
    return built == (catalog_sha256(file_digests(Path(catalog_dir))), code_version())


def git_dates(root: Path, paths: list[str]) -> dict[str, str]:
    """Catalog-relative path -> date of the last commit that touched it (one git call), for
    the files of ``paths`` (files or folders): never every file, as a newsroom's history
    names hundreds of thousands of articles."""
    output = _git(root, "log", "--relative", "--format=%x00%cs", "--name-only", "--", *paths)
    dates: dict[str, str] = {}
    for block in (output or "").split("\0")[1:]:
        day, *paths = block.strip().splitlines()
        for path in paths:
            dates.setdefault(path, day)
    return dates


def git_commit(root: Path) -> str | None:
    return (_git(root, "rev-parse", "HEAD") or "").strip() or None


def git_dirty(root: Path) -> bool | None:
    """Whether the catalog's files differ from its last commit (None outside git): a citation
    naming the commit must then say that the commit does not hold exactly what was built."""
    status = _git(root, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    return None if status is None else bool(status.strip())


def _git(root: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None
