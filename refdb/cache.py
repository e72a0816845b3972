"""What a build can reuse from the previous one: validated entries and article mentions.

Keyed by content hashes, so a hit is exactly the work a clean build would redo: an entry
file with the same bytes validates to the same entry, and an article with the same header
and text, linked against the same set of names, has the same mentions. The cache lives
beside the database (``.refdb.db.cache``), is written only by a successful build, and is
ignored whole when refdb's code changes (its version or any of its source files). Delete it, or build with ``--no-cache``, for a
clean build; the result is the same either way.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """refdb's version and a hash of its sources: cached work is only valid for the same code."""
    digest = hashlib.sha256(version("refdb").encode())
    for source in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


@dataclass
class BuildCache:
    entries: dict[str, tuple[str, Any]] = field(default_factory=dict)  # path -> (sha, entry)
    mentions: dict[tuple, list] = field(default_factory=dict)  # (article, shas, names) -> mentions
    hits: int = 0
    reused: BuildCache | None = None  # what this build read from; None for the one it writes

    @classmethod
    def beside(cls, db_path: Path | str) -> Path:
        db_path = Path(db_path)
        return db_path.with_name(f".{db_path.name}.cache")

    @classmethod
    def load(cls, path: Path | str) -> BuildCache:
        """The previous build's cache, or an empty one (missing, unreadable or another version)."""
        fresh = cls(reused=cls())
        try:
            with open(path, "rb") as handle:
                stored = pickle.load(handle)  # written by refdb itself, beside its own output
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return fresh
        if not isinstance(stored, dict) or stored.get("version") != code_version():
            return fresh
        fresh.reused = cls(entries=stored["entries"], mentions=stored["mentions"])
        return fresh

    def entry(self, relative: str, digest: str):
        """The validated entry of an unchanged file, kept for the next build too."""
        found = self.reused.entries.get(relative) if self.reused else None
        if found and found[0] == digest:
            self.entries[relative] = found
            self.hits += 1
            return found[1]
        return None

    def article_mentions(self, key: tuple) -> list | None:
        """The mentions of an unchanged article (the linker records every article's anew)."""
        found = self.reused.mentions.get(key) if self.reused else None
        self.hits += found is not None
        return found

    def save(self, path: Path | str) -> None:
        path = Path(path)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                stored = {
                    "version": code_version(),
                    "entries": self.entries,
                    "mentions": self.mentions,
                }
                pickle.dump(stored, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
