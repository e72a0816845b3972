"""The same catalog in PostgreSQL: same tables, same rows, full-text search that behaves alike."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select, text

from refdb.compiling import postgres
from refdb.compiling.compiler import build
from refdb.compiling.tables import SQLModel

from conftest import CATALOG

BUILT_AT = "2026-01-01T00:00:00+00:00"


def test_postgres_holds_the_same_rows_as_sqlite(postgres_url, built_db):
    result = build(CATALOG, None, database_url=postgres_url)
    assert result.path == postgres_url and result.systems > 0
    sqlite = sqlite3.connect(built_db)
    for table, count in postgres.row_counts(postgres_url).items():
        assert count == sqlite.execute(f"select count(*) from {table}").fetchone()[0], table
    engine = postgres.engine_for(postgres_url)
    with engine.connect() as connection:
        sample = connection.execute(
            text('select id, exact, start, "end", sentence from mentions order by id')
        ).all()
        flags = connection.execute(text("select system_id, kind from flags")).all()
        foreign_keys = connection.execute(
            text(
                "select count(*) from information_schema.table_constraints where constraint_type = 'FOREIGN KEY'"
            )
        ).scalar_one()
    engine.dispose()
    assert [tuple(r) for r in sample] == sqlite.execute(
        'select id, exact, start, "end", sentence from mentions order by id'
    ).fetchall()
    assert [tuple(r) for r in flags] == [("marshal-shaposhnikov", "misnomer")]
    assert foreign_keys >= 10


def test_postgres_search_finds_entries_by_any_spelling(postgres_url):
    build(CATALOG, None, database_url=postgres_url)
    assert postgres.search_systems(postgres_url, "kinjal") == ["kh-47m2-kinzhal"]
    assert postgres.search_systems(postgres_url, "Chapochnikov") == ["marshal-shaposhnikov"]
    assert postgres.search_systems(postgres_url, "tu 160")[0] == "tu-160"
    assert "tu-160" not in postgres.search_systems(postgres_url, "tupolev -blackjack")


def everything(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, ordered by primary key (but when the build started)."""
    engine = postgres.engine_for(url)
    with engine.connect() as connection:
        found = {}
        for table in SQLModel.metadata.sorted_tables:
            columns = [column for column in table.columns if column.name != "started_ns"]
            query = select(*columns).order_by(*table.primary_key)
            found[table.name] = [tuple(row) for row in connection.execute(query)]
    engine.dispose()
    return found


def test_a_second_build_replaces_the_first_in_one_transaction(
    postgres_url, mini_catalog, monkeypatch
):
    build(CATALOG, None, database_url=postgres_url, built_at=BUILT_AT)
    first = everything(postgres_url)
    build(CATALOG, None, database_url=postgres_url, built_at=BUILT_AT)
    assert everything(postgres_url) == first  # replaced by the same rows

    def fails(*args, **kwargs):  # after the old tables are dropped and the new rows written
        raise RuntimeError("the server went away")

    monkeypatch.setattr(postgres, "_index", fails)
    with pytest.raises(RuntimeError):
        build(mini_catalog, None, database_url=postgres_url, built_at=BUILT_AT)
    assert everything(postgres_url) == first  # nothing of the failed build is left


def test_postgres_holds_the_publisher_register_and_each_source_s_publisher(
    postgres_url, mini_catalog
):
    build(mini_catalog, None, database_url=postgres_url)
    engine = postgres.engine_for(postgres_url)
    with engine.connect() as connection:
        publishers = connection.execute(
            text("select id, reliability from publishers order by id")
        ).all()
        cited = connection.execute(
            text(
                "select distinct s.publisher_id, p.kind from sources s join publishers p on p.id = s.publisher_id"
            )
        ).all()
    engine.dispose()
    assert [tuple(r) for r in publishers] == [
        ("p", "reliable"),
        ("tass", "claims-only"),
        ("wikipedia", "reliable"),
    ]
    assert [tuple(r) for r in cited] == [("wikipedia", "encyclopedia")]
