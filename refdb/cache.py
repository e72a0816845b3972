"""What a build can reuse from the previous one: validated entries and article mentions.

Keyed by content hashes, so a hit is exactly the work a clean build would redo: an entry
file with the same bytes validates to the same entry, and an article with the same header
and text, linked against the same set of names, has the same mentions. The cache lives
beside the database (``.refdb.db.cache``), is written only by a successful build, and is
ignored whole when refdb's code changes (its version or any of its source files). Delete it,
or build with ``--no-cache``, for a clean build; the result is the same either way.

The cache is plain JSON data (it cannot carry code), one signed line after another: first
the validated entries, then one line per article with its mentions, in the catalog's order.
An article's line is written as soon as it is linked and read back only when that article
is linked again, so neither a build nor the cache holds every article's mentions at once.
Lines are signed with a key kept in the user's own cache directory, not beside the
database, and each signature covers the code version: whoever can write the cache file but
not that key cannot make a build skip validating a file or linking an article. A cache
that is missing, is not a regular file, or whose first line does not parse or verify is
ignored; an article line that does not verify is linked again.
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


KEY_BYTES = 32


@lru_cache(maxsize=1)
def signing_key() -> bytes:
    """The user's private signing key: 32 random bytes in a file only the user can read.

    A key file that is not exactly that (empty after a full disk, cut short, readable by
    others, not a regular file) is replaced by a fresh key, written whole or not at all; when
    no key can be stored, a one-off key is used (then no cache from an earlier process
    verifies, and builds redo the work). A weak key is never used to sign."""
    path = key_path()
    try:
        if is_regular(path) and os.stat(path).st_mode & 0o077 == 0:
            key = path.read_bytes()
            if len(key) == KEY_BYTES:
                return key
        return _new_key(path)
    except OSError:
        return secrets.token_bytes(KEY_BYTES)


def _new_key(path: Path) -> bytes:
    """A fresh key, written to a temporary file and renamed over ``path`` once on disk."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(key)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return key


def is_regular(path: Path) -> bool:
    """Whether ``path`` is a regular file itself (not a link, directory, FIFO or device)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _signature(payload: bytes) -> bytes:
    return hmac.new(signing_key(), payload, hashlib.sha256).hexdigest().encode()


def _versioned_signature(payload: bytes) -> bytes:
    """A signature that holds for this code only: a line of another version's cache,
    copied in, does not verify."""
    return _signature(code_version().encode() + b"\n" + payload)


SIGNATURE_BYTES = 64  # hex SHA-256
CHUNK = 1 << 20


def _read_verified(handle, end: bytes, versioned: bool) -> Any:
    """The data after the signature at the handle's position, up to ``end`` (a newline, or
    b"" for the end of the file), checked a chunk at a time before any of it is kept: a
    tampered file, however large, costs reading it once and no memory. ValueError when it
    does not verify."""
    signature = handle.read(SIGNATURE_BYTES + 1)[:SIGNATURE_BYTES]
    start = handle.tell()
    digest = hmac.new(signing_key(), digestmod=hashlib.sha256)
    if versioned:
        digest.update(code_version().encode() + b"\n")
    length = 0
    while chunk := handle.read(CHUNK):
        cut = chunk.find(end) if end else -1
        part = chunk if cut == -1 else chunk[:cut]
        digest.update(part)
        length += len(part)
        if cut != -1:
            break
    if not hmac.compare_digest(signature, digest.hexdigest().encode()):
        raise ValueError("the cache does not verify")
    handle.seek(start)
    payload = handle.read(length)
    if end:
        handle.read(len(end))
    return json.loads(payload)


@dataclass
class BuildCache:
    entries: dict[str, tuple[str, Any]] = field(default_factory=dict)  # path -> (sha, entry)
    hits: int = 0
    reused: BuildCache | None = None  # what this build read from; None for the one it writes
    source: Path | None = None  # the previous cache file, its article lines read on demand
    offsets: dict[str, int] = field(default_factory=dict)  # article id -> its line in source
    target: Path | None = None  # where this build's cache is saved (None: it is not)
    _partial: Any = None  # the file this build's lines go to, renamed over the cache by save

    @classmethod
    def beside(cls, db_path: Path | str) -> Path:
        db_path = Path(db_path)
        return db_path.with_name(f".{db_path.name}.cache")

    @classmethod
    def load(cls, path: Path | str) -> BuildCache:
        """The previous build's cache, or an empty one (missing, not a regular file, unsigned,
        corrupt or from other code)."""
        path = Path(path)
        fresh = cls(reused=cls(), target=path)
        if not is_regular(path):
            return fresh
        try:
            with open(path, "rb") as lines:
                stored = _read_verified(lines, b"\n", versioned=True)
                if stored["version"] != code_version():
                    return fresh
                entries = {path: (sha, text) for path, [sha, text] in stored["entries"].items()}
                offsets = _offsets(lines)
        except (OSError, KeyError, TypeError, ValueError, AttributeError):
            return fresh
        fresh.reused = cls(entries=entries, source=path, offsets=offsets)
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

    def offset_of(self, article_id: str) -> int | None:
        """Where the previous build's line for this article is, if it wrote one."""
        return self.reused.offsets.get(article_id) if self.reused else None

    def article_mentions(self, offset: int, key: tuple, mention) -> tuple[list, bytes] | None:
        """The mentions stored at ``offset`` when its line verifies and is for ``key``, each
        made by ``mention(*fields)`` (the linker's type: the cache knows none), and the line
        itself (to keep): safe to call from any worker process."""
        try:
            with open(self.reused.source, "rb") as lines:
                lines.seek(offset)
                prefix = lines.read(MAX_ID_BYTES + 1).split(b" ", 1)[0]
                lines.seek(offset + len(prefix) + 1)
                stored_key, found = _read_verified(lines, b"\n", versioned=True)
                length = lines.tell() - offset
                lines.seek(offset)
                line = lines.read(length)
            if tuple(stored_key) != key:
                return None
            return [mention(*fields) for fields in found], line
        except (OSError, IndexError, TypeError, ValueError, AttributeError):
            return None

    @staticmethod
    def article_line(key: tuple, mentions: list) -> bytes:
        """The signed line that stores an article's mentions under ``key``."""
        found = [list(vars(m).values()) for m in mentions]  # a Mention's fields, in order
        return key[0].encode() + b" " + _signed_line([list(key), found])

    def keep(self, line: bytes) -> None:
        """Write an article's line to the cache this build saves at ``target`` (begun with
        the entries' line on the first call)."""
        if self.target is None:
            return
        if self._partial is None:
            self._begin(self.target)
        if self._partial:
            self._partial.write(line)

    def _begin(self, path: Path) -> None:
        self._partial = False  # no cache when the directory refuses it
        if path.exists() and not is_regular(path):
            return
        try:
            handle, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f"{path.name}.", suffix=".tmp"
            )
        except OSError:
            return
        # open across calls (closed by save or discard), by name: its path is what save renames
        self._partial = open(temporary, "wb")  # noqa: SIM115
        os.close(handle)
        pieces = (
            _json(relative) + ":" + _json([digest, entry.model_dump_json(warnings=False)])
            for relative, (digest, entry) in self.entries.items()
        )
        opening = '{"version":' + _json(code_version()) + ',"entries":{'
        _write_signed(self._partial, _joined(opening, pieces, "}}"))

    def save(self) -> bool:
        """Put the cache in place at ``target``; False (and nothing written) when that path is
        taken by something that is not a regular file or the directory refuses the write."""
        if self.target is None:
            return False
        path = self.target
        if self._partial is None:
            self._begin(path)
        if not self._partial:
            return False
        partial, self._partial = self._partial, None
        try:
            partial.close()
            if path.exists() and not is_regular(path):
                raise OSError("the cache path is taken")
            os.replace(partial.name, path)
        except OSError:
            Path(partial.name).unlink(missing_ok=True)
            return False
        return True

    def discard(self) -> None:
        """Drop what this build wrote (it failed): the previous cache stays."""
        if self._partial:
            self._partial.close()
            Path(self._partial.name).unlink(missing_ok=True)
        self._partial = None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _joined(opening: str, pieces, closing: str):
    """``opening``, the pieces separated by commas, ``closing``: a JSON object or list
    written a piece at a time."""
    yield opening
    for index, piece in enumerate(pieces):
        yield piece if index == 0 else "," + piece
    yield closing


def _write_signed(handle, pieces) -> None:
    """The signed line of the JSON text the pieces make, written as they come: the entries'
    line is tens of megabytes at 10,000 entries, which one string (and its encoded copy)
    would add to the build's peak memory. The signature, which goes first, is written last
    over a placeholder of its length."""
    start = handle.tell()
    handle.write(b"0" * SIGNATURE_BYTES + b" ")
    digest = hmac.new(signing_key(), code_version().encode() + b"\n", hashlib.sha256)
    for piece in pieces:
        encoded = piece.encode()
        digest.update(encoded)
        handle.write(encoded)
    handle.write(b"\n")
    end = handle.tell()
    handle.seek(start)
    handle.write(digest.hexdigest().encode())
    handle.seek(end)


def _signed_line(data: Any) -> bytes:
    """``data`` as one line of JSON after its signature (which covers the code version)."""
    payload = _json(data).encode()
    return _versioned_signature(payload) + b" " + payload + b"\n"


def _verified(line: bytes) -> Any:
    """The data of a signed line; ValueError when it does not verify."""
    signature, _, payload = line.rstrip(b"\n").partition(b" ")
    if not hmac.compare_digest(signature, _versioned_signature(payload)):
        raise ValueError("the cache line does not verify")
    return json.loads(payload)


MAX_ID_BYTES = 256  # an article id is a short slug


def _offsets(lines) -> dict[str, int]:
    """Article id -> offset of each article line after the first (not verified here: the
    line is verified when it is read for its article). Each line's start is read, then its
    end sought a chunk at a time: no line is held whole, however long a tampered one is."""
    offsets, start = {}, lines.tell()
    while head := lines.read(MAX_ID_BYTES):
        article_id = head.split(b"\n", 1)[0].split(b" ", 1)[0]
        offsets[article_id.decode(errors="replace")] = start
        end = _line_end(lines, start, head)
        if end is None:
            break
        start = end
        lines.seek(start)
    return offsets


def _line_end(lines, start: int, head: bytes) -> int | None:
    """The offset after the newline that ends the line starting at ``start`` (``head`` its
    first bytes, already read); None when the file ends first."""
    newline = head.find(b"\n")
    if newline != -1:
        return start + newline + 1
    position = start + len(head)
    while chunk := lines.read(CHUNK):
        newline = chunk.find(b"\n")
        if newline != -1:
            return position + newline + 1
        position += len(chunk)
    return None


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
        with open(path, "rb") as handle:
            return _read_verified(handle, b"", versioned=False)
    except (OSError, ValueError):
        return None
