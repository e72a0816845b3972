"""One insert path for every target: SQLAlchemy core over the SQLModel tables.

SQLAlchemy compiles each table's insert for the database at hand (identifiers quoted: ``end``
is a column; the driver's parameter style), and the rows go to the driver as one
``executemany`` of that statement, on SQLite and on PostgreSQL alike (SQLite's straight to
its cursor as a stream of tuples); a large build inserts its rows a part at a time
(``insert_rows``), and the incremental build the rows of what changed into the previous
database, on its own sqlite3 connection (``insert_into_sqlite``). On SQLite the indexes come
after the rows (``create_tables``, then ``create_indexes``).
"""

from __future__ import annotations

from functools import cache
from operator import itemgetter

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable
from sqlmodel import SQLModel


def create_and_insert(connection: Connection, rows: dict[type, list]) -> None:
    """Create the tables, then insert ``rows`` (model -> rows), parents before children."""
    SQLModel.metadata.create_all(connection)
    insert_rows(connection, rows)


def create_tables(connection: Connection) -> None:
    """The tables alone, without their secondary indexes (see ``create_indexes``)."""
    for table in SQLModel.metadata.sorted_tables:
        connection.execute(CreateTable(table))


def create_indexes(connection: Connection) -> None:
    """The tables' secondary indexes, made once the rows are in: an index built from all
    its keys at once is cheaper than one kept in order row by row (a fifth of SQLite's
    time writing 300,000 rows)."""
    for table in SQLModel.metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda index: index.name):
            index.create(connection)


def insert_rows(connection: Connection, rows: dict[type, list]) -> None:
    """Insert ``rows`` (model -> rows) into tables that exist, parents before children."""
    for table, items in _in_parent_order(rows):
        statement = table.insert().compile(dialect=connection.dialect)
        if statement.positional:  # SQLite
            _insert_positional(connection.connection, statement, items)
        else:
            connection.exec_driver_sql(statement.string, [vars(item) for item in items])


class Positional(list):
    """Rows of ``model`` as tuples in the order of its table's insert on SQLite: what the
    linking workers send the writing process, which unpickles them for a fraction of what as
    many objects cost (:func:`positional`)."""

    def __init__(self, model: type[SQLModel], rows=()) -> None:
        super().__init__(rows)
        self.model = model


def positional(model: type[SQLModel], items: list) -> Positional:
    """``items`` (rows of ``model``) as :class:`Positional` rows."""
    return Positional(model, map(_in_order(_sqlite_order(model)), map(vars, items)))


@cache
def _sqlite_order(model: type[SQLModel]) -> tuple[str, ...]:
    return tuple(model.__table__.insert().compile(dialect=sqlite.dialect()).positiontup)


def insert_into_sqlite(db, rows: dict[type, list]) -> None:
    """``insert_rows`` on a plain sqlite3 connection ``db``, in the transaction it has open."""
    dialect = sqlite.dialect()
    for table, items in _in_parent_order(rows):
        _insert_positional(db, table.insert().compile(dialect=dialect), items)


def _in_parent_order(rows: dict[type, list]):
    models = {model.__tablename__: model for model in rows}
    for table in SQLModel.metadata.sorted_tables:
        items = rows.get(models.get(table.name), [])
        if items:
            yield table, items


def _insert_positional(db, statement, items: list) -> None:
    """Tuples in the statement's order, the fastest form, streamed to the driver's cursor:
    none of them outlives its own insert."""
    if isinstance(items, Positional):
        if tuple(statement.positiontup) != _sqlite_order(items.model):
            raise ValueError(f"{items.model.__tablename__} rows not in the insert's order")
        rows = iter(items)
    else:
        rows = map(_in_order(statement.positiontup), map(vars, items))
    cursor = db.cursor()
    try:
        cursor.executemany(statement.string, rows)
    finally:
        cursor.close()


def _in_order(names: list[str]):
    """A row's values (its ``vars``) as a tuple in the order of ``names``, in one C call."""
    if len(names) == 1:
        return lambda values: (values[names[0]],)
    return itemgetter(*names)
