"""Row ids are derived from what a row is: editing one entry moves no other entry's ids."""

from __future__ import annotations

import sqlite3

from refdb.compiling.compiler import build

EDITED = "kh-101"


def row_keys(db_path) -> dict[str, set[tuple]]:
    """Every table's primary keys, each with the system its row belongs to (when it says)."""
    connection = sqlite3.connect(db_path)
    tables = [
        name
        for (name,) in connection.execute(
            "select name from sqlite_master where type = 'table' and name not like '%fts%'"
        )
    ]
    keys = {}
    for table in tables:
        columns = connection.execute(f"pragma table_info({table})").fetchall()
        primary = [column[1] for column in sorted(columns, key=lambda c: c[5]) if column[5]]
        owner = "system_id" if any(column[1] == "system_id" for column in columns) else "null"
        selected = ", ".join([*primary, owner])
        keys[table] = set(connection.execute(f"select {selected} from {table}"))
    connection.close()
    return keys


def belongs_to_edited(row: tuple) -> bool:
    *key, owner = row
    return owner == EDITED or any(str(part).startswith(f"{EDITED}--") for part in key)


def test_editing_one_entry_changes_no_other_entrys_row_ids(mini_catalog, tmp_path):
    build(mini_catalog, tmp_path / "before.db")
    entry = mini_catalog / "systems" / f"{EDITED}.yaml"
    text = entry.read_text().replace(
        "\naliases:\n", "\naliases:\n  - {text: Kha-101, lang: en, kind: nickname}\n"
    )
    specs = "specs:\n  - {property: length, value: 7.45, unit: m, sources: [wiki-en]}\n"
    entry.write_text(text + specs)
    build(mini_catalog, tmp_path / "after.db")

    before, after = row_keys(tmp_path / "before.db"), row_keys(tmp_path / "after.db")
    assert before.keys() == after.keys()
    changed = {table: before[table] ^ after[table] for table in before}
    assert changed["specs"] and changed["aliases"] and changed["spec_sources"]
    assert before["aliases"] <= after["aliases"]  # the entry's own names kept their ids too
    for table, rows in changed.items():
        assert all(belongs_to_edited(row) for row in rows), (table, rows)


def test_facts_link_to_their_sources_through_foreign_keys(built_db):
    connection = sqlite3.connect(built_db)
    for table, fact_table in (
        ("system_sources", "systems"),
        ("alias_sources", "aliases"),
        ("spec_sources", "specs"),
        ("relation_sources", "relations"),
    ):
        targets = {row[2] for row in connection.execute(f"pragma foreign_key_list({table})")}
        assert targets == {fact_table, "sources"}, table
        assert connection.execute(f"select count(*) from {table}").fetchone()[0] > 0, table
    [(spec_id, sources)] = connection.execute(
        "select p.id, group_concat(j.source_id) from specs p join spec_sources j on j.spec_id = p.id "
        "where p.system_id = 'tu-160' and p.property = 'max_range' group by p.id order by p.id "
        "limit 1"
    ).fetchall()
    assert spec_id == "tu-160--max_range--1" and sources.startswith("tu-160--")
