"""What a build can reuse from the previous one: validated entries and article mentions.

Keyed by content hashes, so a hit is exactly the work a clean build would redo: an entry
file with the same bytes validates to the same entry, and an article with the same header
and text, linked against the same set of names, has the same mentions. The cache lives
beside the database (``.refdb.db.cache``), is written only by a successful build, and is
ignored whole when refdb's code changes (its version or any of its source files). Delete it,
or build with ``--no-cache``, for a clean build; the result is the same either way.

The cache is plain JSON data (it cannot carry code) signed with a key kept in the user's
own cache directory, not beside the database: whoever can write the cache file but not
that key cannot make a build skip validating a file. A cache that is missing, is not a
regular file, does not parse or does not carry a valid signature is ignored, and the build
redoes the work.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any


@lru_cache(maxsize=1)
def code_version() -> str:
    """refdb's version and a hash of its sources: cached work is only valid for the same code."""
    digest = hashlib.sha256(version("refdb").encode())
    for source in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "refdb" / "cache.key"


@lru_cache(maxsize=1)
def signing_key() -> bytes:
    """The user's private signing key, created on first use; a one-off key when it cannot
    be stored (then no cache from an earlier process verifies, and builds redo the work)."""
    path = key_path()
    try:
        return path.read_bytes() if is_regular(path) else _new_key(path)
    except OSError:
        return secrets.token_bytes(32)


def _new_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key)
    return key


def is_regular(path: Path) -> bool:
    """Whether ``path`` is a regular file itself (not a link, directory, FIFO or device)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _signature(payload: bytes) -> bytes:
    return hmac.new(signing_key(), payload, hashlib.sha256).hexdigest().encode()


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
        """The previous build's cache, or an empty one (missing, not a regular file, unsigned,
        corrupt or from other code)."""
        fresh = cls(reused=cls())
        stored = read_signed(Path(path))
        if not isinstance(stored, dict) or stored.get("version") != code_version():
            return fresh
        try:
            entries = {path: (sha, text) for path, [sha, text] in stored["entries"].items()}
            mentions = {tuple(key): found for key, found in stored["mentions"]}
        except (KeyError, TypeError, ValueError, AttributeError):
            return fresh
        fresh.reused = cls(entries=entries, mentions=mentions)
        return fresh

    def entry(self, relative: str, digest: str, model: type):
        """The validated entry of an unchanged file (a ``model``), kept for the next build too."""
        found = self.reused.entries.get(relative) if self.reused else None
        if not found or found[0] != digest or not isinstance(found[1], str):
            return None
        try:
            entry = model.model_validate_json(found[1])
        except ValueError:
            return None
        self.entries[relative] = (digest, entry)
        self.hits += 1
        return entry

    def article_mentions(self, key: tuple) -> list | None:
        """The mentions of an unchanged article (the linker records every article's anew)."""
        from refdb.linker import Mention

        found = self.reused.mentions.get(key) if self.reused else None
        if found is None:
            return None
        try:
            mentions = [Mention(**fields) for fields in found]
        except TypeError:
            return None
        self.hits += 1
        return mentions

    def save(self, path: Path | str) -> bool:
        """Write the cache beside the database; False (and nothing written) when the path is
        taken by something that is not a regular file or the directory refuses the write."""
        data = {
            "version": code_version(),
            "entries": {
                relative: [digest, entry.model_dump_json(warnings=False)]
                for relative, (digest, entry) in self.entries.items()
            },
            "mentions": [  # a Mention's fields are plain values: no deep copy (asdict) needed
                [list(key), [vars(m) for m in found]] for key, found in self.mentions.items()
            ],
        }
        return write_signed(path, data)


def write_signed(path: Path, data: Any) -> bool:
    """``data`` as JSON, signed with the user's key, written atomically at ``path``; False
    (and nothing written) when the path is taken by something that is not a regular file or
    the directory refuses the write: a cache is an optimisation, never a reason to fail."""
    path = Path(path)
    if path.exists() and not is_regular(path):
        return False
    payload = json.dumps(data, ensure_ascii=False).encode()
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(_signature(payload) + b"\n" + payload)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        return False
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def read_signed(path: Path) -> Any:
    """The cache's data if the file is a regular file carrying a valid signature, else None."""
    if not is_regular(path):
        return None
    try:
        signature, _, payload = path.read_bytes().partition(b"\n")
        if not hmac.compare_digest(signature, _signature(payload)):
            return None
        return json.loads(payload)
    except (OSError, ValueError):
        return None
