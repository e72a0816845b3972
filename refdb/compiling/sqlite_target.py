"""Rows -> one SQLite file, written atomically.

A clean build writes the database in a temporary file beside the target, checks it
(integrity, foreign keys, one row per catalog file; on a thread of its own while the
full-text indexes are made), flushes it to disk and only then renames it over the old one.
An incremental build changes the database in place in one SQLite transaction, whose journal
restores every page it wrote if it fails or is killed (copying a newsroom's 800 MB database
took longer than the change itself). Either way a write that fails
at any point leaves the previous database byte-identical. A write holds a lock on the
target's directory, so it can remove what a killed build left behind. Servers never read the
built file itself but a snapshot of it (:mod:`refdb.site.serving`).
"""

from __future__ import annotations

import fcntl
import glob
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from refdb import journal
from refdb.compiling.insert import create_indexes, create_tables, insert_rows
from refdb.compiling.tables import FULL_TEXT


def publish(parts: Iterable[dict], system_files: int, db_path: Path, timed) -> None:
    """Write the rows of ``parts`` (each model -> rows) to ``db_path`` atomically;
    ``system_files`` is how many system rows the catalog must give. ``timed(stage)`` times
    each stage (write, full-text index, check); an exception from ``parts`` abandons it."""

    def fill(temporary: Path) -> None:
        write(parts, temporary, timed)
        with _write_ahead(temporary), _checking(temporary, system_files) as checked:
            with timed("full-text index"):
                index(temporary)
            with timed("check"):
                checked.result()
                check_full_text(temporary)

    replace(db_path, fill)


@contextmanager
def _write_ahead(path: Path):
    """``path`` in write-ahead-log mode while the body runs, so that one connection can read
    it while another writes; back to a rollback journal, the log folded in, after it."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode = WAL")
    yield
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if db.execute("PRAGMA journal_mode = DELETE").fetchone()[0] != "delete":
            raise RuntimeError("the new database could not leave write-ahead-log mode")


@contextmanager
def _checking(path: Path, system_files: int):
    """``check`` of the file as it is now, on another thread (SQLite works without the
    interpreter's lock) while the body writes the full-text indexes: the check's read
    transaction starts first, so it sees the tables without them, and the two take one
    stage's time instead of two. The future of the check is what the body gets."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    pool = ThreadPoolExecutor(1)
    try:
        db.execute("BEGIN")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot it checks
        yield pool.submit(_check_tables, db, system_files)
    except BaseException:
        db.interrupt()  # a build that failed does not wait for its check
        raise
    finally:
        pool.shutdown()
        db.close()


def replace(db_path: Path, fill) -> None:
    """Replace ``db_path`` by what ``fill(temporary)`` writes beside it, atomically: when
    ``fill`` raises, the temporary file goes and ``db_path`` stays as it was."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _directory_lock(db_path.parent):
        _remove_leftovers(db_path)
        temporary = _temporary_beside(db_path)
        try:
            fill(temporary)
            _fsync(temporary)
            os.replace(temporary, db_path)
            _fsync(db_path.parent)
        except BaseException:
            temporary.unlink(missing_ok=True)
            for companion in ("journal", "wal", "shm"):
                Path(f"{temporary}-{companion}").unlink(missing_ok=True)
            raise


def update(db_path: Path, change) -> None:
    """Apply ``change(connection)`` to ``db_path`` in place, in the one transaction it opens
    and commits: if it raises, or the process dies, SQLite's rollback journal puts back every
    page written, and the file is as it was."""
    with _directory_lock(db_path.parent):
        _remove_leftovers(db_path)
        journal.recover(db_path)
        with closing(sqlite3.connect(db_path, isolation_level=None)) as connection:
            try:
                change(connection)
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise


@contextmanager
def _directory_lock(directory: Path):
    """One build at a time per output directory (a lock on the directory, no extra file)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _remove_leftovers(db_path: Path) -> None:
    """Temporary files of a build that was killed (the lock says none is running)."""
    name = glob.escape(db_path.name)  # '[' and '*' in the name are the name's own
    for pattern in (f".{name}.*.tmp", *(f".{name}.*.tmp-{c}" for c in ("journal", "wal", "shm"))):
        for leftover in db_path.parent.glob(pattern):
            if leftover.is_file() and not leftover.is_symlink():
                leftover.unlink(missing_ok=True)


def _temporary_beside(db_path: Path) -> Path:
    handle, temporary = tempfile.mkstemp(
        prefix=f".{db_path.name}.", suffix=".tmp", dir=db_path.parent
    )
    os.close(handle)
    try:  # mkstemp makes the file private; a published database is read by servers.
        os.chmod(temporary, 0o666 & ~_umask())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write(parts: Iterable[dict], path: Path, timed=None) -> None:
    """All tables, the rows of each part (model -> rows) as it comes, then the indexes, in
    one transaction.

    A part may name rows a later part brings (a source quotes an article written after it),
    so foreign keys are not enforced row by row (deferred, every parent row inserted would
    search its child tables); ``check`` verifies them all before the file is published."""
    timed = timed or (lambda stage: nullcontext())
    # A creator, not a URL: a path is never parsed as one ('?', '#' and '%' stay literal).
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(path))
    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            with timed("write"):
                create_tables(connection)
            for rows in parts:
                with timed("write"):
                    insert_rows(connection, rows)
            with timed("write"):
                create_indexes(connection)
                transaction.commit()
    except DBAPIError as error:  # SQLite's own error (a full disk...), not SQLAlchemy's wrap
        raise error.orig from None
    finally:
        engine.dispose()


# The terms FTS5 gathers in memory before it writes them out as a segment (its
# "hashsize", 1 MB by default): with 16 MB, the indexes of 100,000 articles were made in
# 3.9 s instead of 5.7 s (far fewer segments to merge), for 28 MB more at the build's end.
FULL_TEXT_MEMORY = 16 << 20


def index(path: Path) -> None:
    """FTS5 over names, aliases and descriptions, over mention sentences, and over whole
    articles (what finds a system the catalog lacks); each an external-content table
    ``<table>_fts`` as sqlite-utils makes them and Datasette finds them. Made here, not by
    sqlite-utils' ``enable_fts``, for the memory setting between creating and filling."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for table, columns in FULL_TEXT.items():
            fts, quoted = f"{table}_fts", ", ".join(f'"{column}"' for column in columns)
            db.execute(
                f'CREATE VIRTUAL TABLE "{fts}" USING FTS5 (\n    {quoted},\n'
                f"    tokenize='unicode61 remove_diacritics 2',\n    content=\"{table}\"\n)"
            )
            db.execute(
                f"insert into {fts} ({fts}, rank) values ('hashsize', ?)", [FULL_TEXT_MEMORY]
            )
            db.execute(f"insert into {fts} (rowid, {quoted}) select rowid, {quoted} from {table}")


def index_rows(db: sqlite3.Connection, table: str, column: str, keys: list, action: str) -> None:
    """Add (``insert``) or remove (``delete``, before the rows go) the full-text entries of
    ``table``'s rows whose ``column`` is one of ``keys``: what ``index`` does for every row,
    kept current by an incremental build."""
    if not keys:
        return
    columns = ", ".join(FULL_TEXT[table])
    fts, marks = f"{table}_fts", ",".join("?" * len(keys))
    command = f"{fts}, rowid" if action == "delete" else "rowid"
    values = f"'delete', rowid, {columns}" if action == "delete" else f"rowid, {columns}"
    db.execute(
        f"insert into {fts} ({command}, {columns}) "
        f"select {values} from {table} where {column} in ({marks})",
        keys,
    )


def check(path: Path, system_files: int) -> None:
    """The checks that make a bad file fail before it is published (``_check_tables``)."""
    with closing(sqlite3.connect(path)) as db:
        _check_tables(db, system_files)


def _check_tables(db: sqlite3.Connection, system_files: int) -> None:
    """Every page, and every row against every index (integrity_check: quick_check would
    pass a record damaged in place), every reference, one system row per system file. Not
    compacted: written in one transaction, the file has next to no free pages for VACUUM to
    reclaim."""
    if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
        raise RuntimeError("SQLite integrity check failed on the new database")
    broken = db.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign key check failed: {broken[:5]}")
    systems = db.execute("select count(*) from systems").fetchone()[0]
    if systems != system_files:
        raise RuntimeError(
            "row count differs from the number of system files; nothing was published"
        )


def check_full_text(path: Path) -> None:
    """The full-text indexes' own tables, written after ``check`` read the file: each table
    and its indexes, as integrity_check checks every other."""
    with closing(sqlite3.connect(path)) as db:
        for table in FULL_TEXT:
            for part in ("data", "idx", "docsize", "config"):
                found = db.execute(f"PRAGMA integrity_check({table}_fts_{part})").fetchone()
                if found[0] != "ok":
                    raise RuntimeError("SQLite integrity check failed on a full-text index")


def _fsync(path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
