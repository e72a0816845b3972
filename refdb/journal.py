"""The one step every reader of a built database takes first: an incremental build changes the
database in place, and if it was killed while writing, SQLite's rollback journal beside the
file holds the pages to put back. Any read-write connection puts them back; a read-only one
cannot, and refuses the file ("attempt to write a readonly database"), and a reader that
copies the bare file (a serving snapshot) would copy half a change."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def recover(db_path: Path | str) -> None:
    """Roll back what a killed build left in ``db_path``'s journal; nothing when there is none."""
    if Path(f"{db_path}-journal").is_file():
        with closing(sqlite3.connect(db_path)) as db:
            db.execute("select count(*) from sqlite_master").fetchone()


def read_only_uri(db_path: Path | str) -> str:
    """A ``file:`` URI for reading ``db_path``, with ``?``, ``#`` and ``%`` in it escaped
    (``as_uri`` escapes them; a file: URI would read them as query, fragment, escape)."""
    return Path(db_path).absolute().as_uri() + "?mode=ro"
