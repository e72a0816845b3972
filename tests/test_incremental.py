"""The incremental build equals a clean build, table by table, row by row.

After each random edit of a copy of the catalog (an entry's description, spec, category
or relation, a name, an article's text, an article added or removed, a publisher record), the database
patched from the previous build is compared with a clean build of the same files.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from refdb.compiler import build
from refdb.errors import CatalogError
from refdb.tables import SQLModel

from conftest import CATALOG

BUILT_AT = "2024-01-01T00:00:00+00:00"


def content(db_path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, ordered by primary key (rowids and build time aside)."""
    found = {}
    with closing(sqlite3.connect(db_path)) as db:
        for table in SQLModel.metadata.sorted_tables:
            key = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
            found[table.name] = db.execute(
                f'select * from "{table.name}" order by {key}'
            ).fetchall()
    return found


def search(db_path: Path, table: str, word: str) -> list:
    with closing(sqlite3.connect(db_path)) as db:
        sql = f"select {table}.id from {table}_fts join {table} on {table}.rowid = {table}_fts.rowid where {table}_fts match ? order by {table}.id"
        return db.execute(sql, (word,)).fetchall()


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _write(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def edit_entry(root: Path, rng: random.Random) -> None:
    path = rng.choice(sorted((root / "systems").glob("*.yaml")))
    data = _yaml(path)
    what = rng.choice(["description", "spec", "category", "name", "relation"])
    if what == "description":
        data["description"] = data["description"] + " Edited."
    elif what == "spec" and data.get("specs"):
        spec = rng.choice(data["specs"])
        if isinstance(spec.get("value"), int | float):
            spec["value"] = spec["value"] * 2 + 1
    elif what == "category":
        data["category"] = rng.choice(
            ["frigate", "destroyer", "strategic-bomber", "cruise-missile"]
        )
    elif what == "relation" and data.get("relations"):
        rng.choice(data["relations"])["note"] = "The relation's note, edited."
    elif what == "name":
        data["name"] = data["name"] + " Renamed"
    _write(path, data)


def some_name(root: Path, rng: random.Random) -> str:
    data = _yaml(rng.choice(sorted((root / "systems").glob("*.yaml"))))
    return rng.choice([data["name"], *data.get("designations", [])])


def add_article(root: Path, rng: random.Random, number: int) -> None:
    article_id = f"added-{number}"
    names = [some_name(root, rng) for _ in range(3)]
    text = f"The destroyer {names[0]} sailed. Officials said the {names[1]} flew with a {names[2]}."
    (root / "articles" / f"{article_id}.txt").write_text(text)
    header = {"id": article_id, "title": f"Added {number}", "date": "2024-02", "language": "en"}
    _write(root / "articles" / f"{article_id}.yaml", header)


def edit_article(root: Path, rng: random.Random) -> None:
    path = rng.choice(sorted((root / "articles").glob("*.txt")))
    path.write_text(path.read_text() + f"\n\nThe frigate {some_name(root, rng)} was seen again.")


def remove_article(root: Path, rng: random.Random) -> None:
    added = sorted((root / "articles").glob("added-*.yaml"))
    if added:
        chosen = rng.choice(added)
        chosen.unlink()
        chosen.with_suffix(".txt").unlink()


def edit_publisher(root: Path, rng: random.Random) -> None:
    path = root / "publishers.yaml"
    data = _yaml(path)
    publisher = data[rng.choice(sorted(data))]
    publisher["reason"] = publisher["reason"] + " Reviewed."
    _write(path, data)


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_build_equals_a_clean_build_after_random_edits(tmp_path, seed):
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG, root)
    patched_db, clean_db = tmp_path / "patched.db", tmp_path / "clean.db"
    build(root, patched_db, built_at=BUILT_AT)
    rng = random.Random(seed)
    steps = [edit_entry, edit_entry, add_article, edit_article, remove_article, edit_publisher]
    patched = 0
    for number in range(14):
        snapshot = tmp_path / "before"
        shutil.rmtree(snapshot, ignore_errors=True)
        shutil.copytree(root, snapshot)
        step = rng.choice(steps)
        step(root, rng, number) if step is add_article else step(root, rng)
        try:
            build(root, clean_db, built_at=BUILT_AT, reuse=False)
        except CatalogError:
            before = patched_db.read_bytes()
            with pytest.raises(CatalogError):
                build(root, patched_db, built_at=BUILT_AT)
            assert patched_db.read_bytes() == before
            shutil.rmtree(root)
            shutil.copytree(snapshot, root)
            continue
        result = build(root, patched_db, built_at=BUILT_AT)
        patched += result.patched
        assert content(patched_db) == content(clean_db), f"after {step.__name__}"
        for table, word in (("systems", "tupolev"), ("mentions", "missile")):
            assert search(patched_db, table, word) == search(clean_db, table, word)
    assert patched >= 4  # the patch path really ran, not only the clean one


def test_one_edited_entry_is_patched_in_place_of_a_rebuild(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    entry = mini_catalog / "systems" / "tu-160.yaml"
    data = _yaml(entry)
    data["description"] = "Edited for the test."
    _write(entry, data)
    result = build(mini_catalog, db_path)
    assert result.patched
    with closing(sqlite3.connect(db_path)) as db:
        described = db.execute("select description from systems where id = 'tu-160'").fetchone()
    assert described == ("Edited for the test.",)


def test_a_renamed_entry_takes_the_clean_path(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    entry = mini_catalog / "systems" / "tu-160.yaml"
    data = _yaml(entry)
    data["name"] = "Tupolev Tu-160 Renamed"
    _write(entry, data)
    assert not build(mini_catalog, db_path).patched


def test_an_entry_edited_in_a_git_checkout_is_patched_with_its_history(mini_catalog, tmp_path):
    """The curator's case: the catalog is a git checkout and the edit is not committed yet.
    The patched database equals a clean build's, history rows included."""
    import subprocess

    def git(*args):
        subprocess.run(["git", "-C", mini_catalog, *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "catalog")
    patched, clean = tmp_path / "patched" / "refdb.db", tmp_path / "clean" / "refdb.db"
    build(mini_catalog, patched, built_at=BUILT_AT)
    entry = mini_catalog / "systems" / "tu-160.yaml"
    data = _yaml(entry)
    data["description"] = "Edited, not yet committed."
    _write(entry, data)
    assert build(mini_catalog, patched, built_at=BUILT_AT).patched
    build(mini_catalog, clean, built_at=BUILT_AT, reuse=False)
    assert content(patched) == content(clean)
    with closing(sqlite3.connect(patched)) as db:
        kinds = db.execute(
            "select kind from entry_changes where system_id = 'tu-160' order by sequence"
        ).fetchall()
    assert kinds == [("added",), ("changed",)]
