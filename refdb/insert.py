"""One insert path for every target: SQLAlchemy core over the SQLModel tables.

SQLAlchemy quotes every identifier (``end`` is a column) and sends each table's rows as one
``executemany`` of a prepared statement, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlmodel import SQLModel


def create_and_insert(connection: Connection, rows: dict[type, list]) -> None:
    """Create the tables, then insert ``rows`` (model -> rows), parents before children."""
    SQLModel.metadata.create_all(connection)
    models = {model.__tablename__: model for model in rows}
    for table in SQLModel.metadata.sorted_tables:
        items = rows.get(models.get(table.name), [])
        if items:
            connection.execute(table.insert(), [vars(item) for item in items])
