"""The same catalog in PostgreSQL, for a team that shares one server database.

The SQLModel tables of ``tables.py`` are created as they are; what SQLite does with FTS5,
PostgreSQL does with a ``tsvector`` column and a GIN index, queried with
``websearch_to_tsquery``. The text indexed is folded in Python exactly as the linker folds
it (case, accents, dashes), so "kinjal" or "chapochnikov" find what they find in SQLite. The
whole replacement happens in one transaction: readers see the old catalog until it commits.
Datasette publishes SQLite; see the README for going from one to the other.
"""

from __future__ import annotations

import re

from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from refdb.compiling.insert import create_and_insert
from refdb.compiling.tables import FULL_TEXT
from refdb.text import fold

SEARCHED = {table: ("id", list(columns)) for table, columns in FULL_TEXT.items()}


def engine_for(url: str):
    """An engine for a ``postgresql://`` URL, through psycopg 3."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url)


def write(url: str, rows: dict[type, list]) -> None:
    """Replace the catalog in the PostgreSQL database at ``url`` with ``rows``, atomically."""
    engine = engine_for(url)
    models = {model.__tablename__: model for model in rows}
    with engine.begin() as connection:  # one transaction, DDL included
        SQLModel.metadata.drop_all(connection)
        create_and_insert(connection, rows)
        for table, (key, columns) in SEARCHED.items():
            _index(connection, table, key, columns, rows[models[table]])
    engine.dispose()


def _index(connection, table: str, key: str, columns: list[str], items: list) -> None:
    connection.execute(text(f"alter table {table} add column search tsvector"))
    connection.execute(
        text(f"update {table} set search = to_tsvector('simple', :folded) where {key} = :key"),
        [{"key": getattr(item, key), "folded": _folded(item, columns)} for item in items],
    )
    connection.execute(text(f"create index {table}_search on {table} using gin (search)"))


def _folded(item, columns: list[str]) -> str:
    return searchable(" ".join(str(getattr(item, column) or "") for column in columns))


def searchable(text: str) -> str:
    """Folded like the linker folds, with in-word hyphens as spaces: PostgreSQL's parser reads
    the "-160" of "Tu-160" as a negative number, which no query for "tu 160" would match."""
    return re.sub(r"(?<=\w)-(?=\w)", " ", fold(text))


def search_systems(url: str, query: str, limit: int = 20) -> list[str]:
    """Ids of the systems matching a web-style query ("kinjal", "tu 160", "-bomber")."""
    engine = engine_for(url)
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "select id from systems where search @@ websearch_to_tsquery('simple', :query) "
                "order by ts_rank(search, websearch_to_tsquery('simple', :query)) desc, id limit :limit"
            ),
            {"query": searchable(query), "limit": limit},
        )
        ids = [row[0] for row in found]
    engine.dispose()
    return ids


def row_counts(url: str) -> dict[str, int]:
    engine = engine_for(url)
    with engine.connect() as connection:
        counts = {
            table.name: connection.execute(text(f"select count(*) from {table.name}")).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }
    engine.dispose()
    return counts
