"""Where a database comes from: the catalog's version, the code that built it, git history.

A database records the hash of every catalog file and the hash of refdb's code (the same
one the build cache is keyed by), so ``is_current`` can tell whether serving it would serve
what a build would write now.
"""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from refdb.cache import code_version
from refdb.reader import file_contents
from refdb.text import sha256


def catalog_sha256(files: dict[str, bytes]) -> str:
    """The catalog's version: one hash over every file's path and content."""
    return catalog_sha256_of({relative: sha256(content) for relative, content in files.items()})


def catalog_sha256_of(hashes: dict[str, str]) -> str:
    """``catalog_sha256`` from each file's SHA-256 (hex), for a caller that has them."""
    digest = []
    for relative, content_sha256 in sorted(hashes.items()):
        digest.append(relative.encode() + b"\0" + bytes.fromhex(content_sha256))
    return sha256(b"".join(digest))


def is_current(catalog_dir: Path | str, db_path: Path | str) -> bool:
    """Whether ``db_path`` was built by this code from the catalog exactly as it is on disk."""
    try:
        with closing(sqlite3.connect(read_only_uri(db_path), uri=True)) as conn:
            built = conn.execute("select catalog_sha256, code_sha256 from build_info").fetchone()
    except sqlite3.Error:
        return False
    return built == (catalog_sha256(file_contents(Path(catalog_dir))), code_version())


def read_only_uri(db_path: Path | str) -> str:
    """A ``file:`` URI for reading ``db_path``, with ``?``, ``#`` and ``%`` in it escaped."""
    return Path(db_path).absolute().as_uri() + "?mode=ro"


def git_dates(root: Path) -> dict[str, str]:
    """Catalog-relative path -> date of the last commit that touched it (one git call)."""
    output = _git(root, "log", "--relative", "--format=%x00%cs", "--name-only", "--", ".")
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
