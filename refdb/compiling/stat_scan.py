"""The stat scan of an incremental build: one stat a catalog file, compared with the records
the previous build kept of each (size, mtime, ctime, inode), as git's index is checked.

Stat-ing a hundred thousand files is mostly the system's time, so the scan runs in two
processes: one takes the articles' texts, the other the entries and the articles' headers
(as many files, give or take the entries), and each reads only its half's records. `refdb
build` starts both before it loads the build's modules (:class:`EarlyScan`), so that the
scan and the loading share the machine's cores; what comes back is small: the records that
moved and the paths added and removed. This module imports nothing of the build for that
reason.
"""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import time
from contextlib import closing, suppress
from pathlib import Path
from stat import S_ISREG

from refdb import journal

# A file's timestamps can lag the clock that starts a build by a clock tick, and some file
# systems keep them to the second or two (FAT): a file whose mtime is this close to, or
# after, the start of the build that recorded it may have changed after it was read, so
# its record does not vouch for it ("racily clean", in git's words).
RACY_NS = 2_000_000_000
FOLDERS = (("systems", (".yaml",)), ("articles", (".yaml", ".txt")))
RECORDS = "select path, size, mtime_ns, ctime_ns, inode from catalog_files"
HALVES = "path glob '*/*' and (path glob 'articles/*.txt') = ?"  # the halves moved takes


class Fallback(Exception):
    """The difference is not one the incremental build applies exactly: build the clean way."""


def stat_record(stat: os.stat_result) -> tuple[int, int, int, int]:
    """What a build records of a file beside its hash: size, mtime and ctime (ns), inode. An
    edit changes one of them, even one that keeps the size and resets the mtime."""
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def recorded(db: sqlite3.Connection, half: int) -> set[tuple]:
    """The previous build's stat records of the files in ``half``."""
    return set(db.execute(f"{RECORDS} where {HALVES}", [half]))


def moved(root: Path, half: int, records: set, started_ns: int | None):
    """The stat records of the catalog files in ``half`` of them (0: the entries and the
    articles' headers, 1: the articles' texts) that differ from ``records``, the previous
    build's of that half, or are too recent to vouch for; and the paths added and removed
    since."""
    now = []
    for folder, suffixes in FOLDERS:
        if half and folder != "articles":  # no text is anywhere else
            continue
        directory = os.open(Path(root) / folder, os.O_RDONLY | os.O_DIRECTORY)
        try:  # stat-ing a name in an open directory skips looking the directory up again
            for name in os.listdir(directory):
                if (folder == "articles" and name.endswith(".txt")) != half:
                    continue
                now.append((f"{folder}/{name}", *_stat_plain(directory, folder, name, suffixes)))
        finally:
            os.close(directory)
    listed, known = {record[0] for record in now}, {record[0] for record in records}
    return unvouched(now, records, started_ns), listed - known, known - listed


def _stat_plain(directory: int, folder: str, name: str, suffixes: tuple) -> tuple:
    """The stat record of a regular catalog file, or Fallback for anything else."""
    try:
        found = os.stat(name, dir_fd=directory, follow_symlinks=False)
    except OSError as error:  # gone since the listing: an editor saving it
        raise Fallback(f"the catalog changed while it was scanned: {error}") from None
    if not name.endswith(suffixes) or not S_ISREG(found.st_mode):
        raise Fallback(f"{folder}/{name} is not a plain catalog file")
    return stat_record(found)


def unvouched(now: list[tuple], recorded: set, started_ns: int | None) -> set[tuple]:
    """The stat records ``recorded`` does not hold, and those modified too close to the last
    build's start to vouch for (every one when that start is unknown)."""
    if started_ns is None:
        return set(now)
    changed = set(now).difference(recorded)
    changed.update(record for record in now if record[2] >= started_ns - RACY_NS)
    return changed


def in_halves(work):
    """``work(0)`` here and ``work(1)`` in a forked child at the same time, their results
    (sets) joined; one after the other where there is one core or no fork. Two processes
    halve the time; two threads did not."""
    if not _forks():
        return _joined(work(0), work(1))
    child = _Child(work, 1)
    try:
        mine = work(0)
    finally:
        theirs = child.result()
    return _joined(mine, theirs)


def _joined(one: tuple[set, ...], other: tuple[set, ...]) -> tuple[set, ...]:
    """Two halves' records that moved, paths added and paths removed, as one."""
    return tuple(mine | theirs for mine, theirs in zip(one, other, strict=True))


def _forks() -> bool:
    return (os.cpu_count() or 1) >= 2 and hasattr(os, "fork")


class _Child:
    """``work(half)`` in a forked process, its result or its Fallback read back through a pipe."""

    def __init__(self, work, half: int) -> None:
        readable, writable = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child hands its result over and exits, whatever happens
            try:
                os.close(readable)
                try:
                    result = ("done", work(half))
                except Exception as error:  # the parent raises it as the reason to build clean
                    why = str(error) if isinstance(error, Fallback) else repr(error)
                    result = ("fallback", why)
                with os.fdopen(writable, "wb") as pipe:
                    pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            finally:
                os._exit(0)
        os.close(writable)
        self.pipe = os.fdopen(readable, "rb")

    def result(self):
        """What the child found; Fallback when it found a reason for the clean path or died."""
        try:
            with self.pipe:
                outcome, found = pickle.load(self.pipe)
        except (EOFError, pickle.UnpicklingError):  # killed before it answered
            outcome, found = "fallback", "the scan's second process ended without an answer"
        finally:
            os.waitpid(self.pid, 0)
        if outcome == "fallback":
            raise Fallback(found)
        return found


class EarlyScan:
    """The whole scan in two forked processes, started before the build's modules load.

    Each child reads the previous build's records of its half of the files and its start,
    stats that half and sends back the records that moved and its paths. The build checks
    that the previous database it opens is the one the children read (same start, same
    catalog version) before it trusts what they found."""

    def __init__(self, started_ns: int, children: list[_Child]) -> None:
        self.started_ns, self.children = started_ns, children

    @classmethod
    def start(cls, root: Path | str, db_path: Path | str) -> EarlyScan | None:
        """The scan under way, or None where an early one cannot help (no previous database,
        one core, no fork)."""
        if not _forks() or not Path(db_path).is_file() or Path(db_path).is_symlink():
            return None
        try:
            journal.recover(db_path)  # as the build itself does first
        except (sqlite3.Error, OSError):  # the build meets it again, and says what it is
            return None
        started_ns = time.time_ns()
        uri = journal.read_only_uri(db_path)
        children = [_Child(lambda half: _scanned(Path(root), uri, half), h) for h in (0, 1)]
        return cls(started_ns, children)

    def result(self, previous: tuple) -> tuple[set, set, set]:
        """Both halves' moved records and paths added and removed, for the previous build
        ``previous`` (its start and catalog version, as the build read them)."""
        found, why = [], None
        for child in self._taken():  # each is waited for, whatever another found
            try:
                found.append(child.result())
            except Fallback as error:
                why = why or error
        if why is not None:
            raise why
        if any(read != previous for read, *_ in found):
            raise Fallback("the previous database changed while the catalog was scanned")
        return _joined(*(halves for _, *halves in found))

    def close(self) -> None:
        """Stop the children whose result was not asked for (the clean path was taken)."""
        for child in self._taken():
            os.kill(child.pid, signal.SIGKILL)
            with suppress(Fallback):
                child.result()

    def _taken(self) -> list[_Child]:
        children, self.children = self.children, []
        return children


def _scanned(root: Path, uri: str, half: int) -> tuple:
    """A child's half: the previous build's (start, catalog version), the records that moved
    and the paths added and removed."""
    with closing(sqlite3.connect(uri, uri=True)) as db:
        previous = db.execute("select started_ns, catalog_sha256 from build_info").fetchone()
        records = recorded(db, half)
    started_ns = previous[0] if previous else None
    return tuple(previous or ()), *moved(root, half, records, started_ns)
