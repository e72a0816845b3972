"""The incremental build equals a clean build, table by table, row by row.

After each random edit of a copy of the catalog (an entry's description, spec, category
or relation, a name, an alias or a designation renamed, an alias removed, an entry added or
removed, an article's text, an article added or removed, a publisher record), the database
patched from the previous build is compared with a clean build of the same files.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from refdb.compiling import difference, patching, provenance, relinking
from refdb.compiling.compiler import build
from refdb.compiling.stat_scan import EarlyScan
from refdb.compiling.tables import SQLModel
from refdb.errors import CatalogError
from refdb.text import compact

from conftest import CATALOG

BUILT_AT = "2024-01-01T00:00:00+00:00"


def content(db_path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, ordered by primary key (rowids and build time aside)."""
    found = {}
    with closing(sqlite3.connect(db_path)) as db:
        for table in SQLModel.metadata.sorted_tables:
            key = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
            columns = ", ".join(f'"{c.name}"' for c in table.columns if c.name != "started_ns")
            found[table.name] = db.execute(
                f'select {columns} from "{table.name}" order by {key}'
            ).fetchall()
    return found


def search(db_path: Path, table: str, word: str) -> list:
    with closing(sqlite3.connect(db_path)) as db:
        sql = f"select {table}.id from {table}_fts join {table} on {table}.rowid = {table}_fts.rowid where {table}_fts match ? order by {table}.id"
        return db.execute(sql, (f'"{word}"',)).fetchall()


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


def article_words(root: Path) -> list[str]:
    """Capitalised words of the catalog's articles that no entry is named by: names that,
    given to an entry, link it where the articles print them."""
    words = {
        word.strip(".,;:«»()’'\"")
        for path in sorted((root / "articles").glob("*.txt"))
        for word in path.read_text().split()
    }
    return sorted(w for w in words if len(w) > 4 and w[0].isupper() and w.isalpha())


def rename_entry(root: Path, rng: random.Random) -> None:
    """A name, a designation or an alias given another spelling (often one an article
    prints), or an alias removed."""
    path = rng.choice(sorted((root / "systems").glob("*.yaml")))
    data = _yaml(path)
    word = rng.choice(article_words(root))
    what = rng.choice(["name", "designation", "alias", "alias removed"])
    if what == "name":
        data["name"] = f"{data['name']} {word}"
    elif what == "designation" and data.get("designations"):
        data["designations"][rng.randrange(len(data["designations"]))] = (
            f"{word}-{rng.randint(1, 99)}"
        )
    elif what == "alias" and data.get("aliases"):
        rng.choice(data["aliases"])["text"] = word
    elif data.get("aliases"):
        data["aliases"].pop(rng.randrange(len(data["aliases"])))
    _write(path, data)


def add_system(root: Path, rng: random.Random, number: int) -> None:
    """An entry made from another (its facts, sources and relations), under names of its own,
    one of them a word the articles print."""
    data = _yaml(rng.choice(sorted((root / "systems").glob("*.yaml"))))
    word = rng.choice(article_words(root))
    for field in ("nato_reporting_name", "redirect_ids", "vetoed_forms"):
        data.pop(field, None)
    system_id = f"added-system-{number}"
    data |= {
        "id": system_id,
        "name": f"Added System {number}",
        "designations": [f"AS-{number}"],
        "aliases": [{"text": word, "lang": "fr", "kind": "nickname"}],
    }
    _write(root / "systems" / f"{system_id}.yaml", data)


def remove_system(root: Path, rng: random.Random) -> None:
    """An entry no other entry relates to removed (it may still be a curator's anchor)."""
    paths = sorted((root / "systems").glob("*.yaml"))
    targets = {r["target"] for p in paths for r in _yaml(p).get("relations", [])}
    rng.choice([p for p in paths if p.stem not in targets]).unlink()


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
    steps = [
        edit_entry, rename_entry, rename_entry, add_system, remove_system,
        add_article, edit_article, remove_article, edit_publisher,
    ]  # fmt: skip
    numbered = (add_article, add_system)
    patched = 0
    for number in range(14):
        snapshot = tmp_path / "before"
        shutil.rmtree(snapshot, ignore_errors=True)
        shutil.copytree(root, snapshot)
        step = rng.choice(steps)
        step(root, rng, number) if step in numbered else step(root, rng)
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
        for word in ["tupolev", "missile", *article_words(root)]:
            for table in ("systems", "mentions", "articles"):
                assert search(patched_db, table, word) == search(clean_db, table, word), word
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


def settled(root: Path) -> None:
    """Date every catalog file an hour back, as files edited before the last build are."""
    an_hour_ago = time.time_ns() - 3600 * 10**9
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(an_hour_ago, an_hour_ago))


def description(db_path: Path, system_id: str) -> str:
    with closing(sqlite3.connect(db_path)) as db:
        sql = "select description from systems where id = ?"
        return db.execute(sql, (system_id,)).fetchone()[0]


def test_only_files_whose_stat_changed_are_read_to_find_what_changed(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    settled(mini_catalog)
    build(mini_catalog, db_path)
    entry = mini_catalog / "systems" / "tu-160.yaml"
    entry.write_text(entry.read_text().replace("description: ", "description: Edited. ", 1))
    result = build(mini_catalog, db_path)
    assert result.patched and result.read == 1  # the edited file, and no other
    assert description(db_path, "tu-160").startswith("Edited. ")


def scan_started(started_early: bool, catalog: Path, db_path: Path):
    """The stat scan as `refdb build` starts it, before the build's modules load; or None,
    the build then scanning itself."""
    return EarlyScan.start(catalog, db_path) if started_early else None


@pytest.mark.parametrize("started_early, cores", [(False, 2), (True, 2), (False, 1)])
def test_an_edit_is_seen_in_either_half_of_the_scan(
    mini_catalog, tmp_path, monkeypatch, started_early, cores
):
    """The scan stats the articles' texts in one process, the entries and the articles'
    headers in another (one after the other, on one core): an edit to an article's text
    and one to another's header."""
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    db_path = tmp_path / "refdb.db"
    for name in ("note-text", "note-header"):
        write_article(mini_catalog, name, "The Tu-160 flew.", title=name, language="en")
    settled(mini_catalog)
    build(mini_catalog, db_path)
    (mini_catalog / "articles" / "note-text.txt").write_text("The Kh-101 flew.")
    write_article(mini_catalog, "note-header", "The Tu-160 flew.", title="Retitled")
    early = scan_started(started_early, mini_catalog, db_path)
    result = build(mini_catalog, db_path, early_scan=early)
    assert result.patched and result.read == 3  # the header rewritten with its text
    assert mentioned_systems(db_path, ["note-text"]) == {("note-text", "kh-101")}
    with closing(sqlite3.connect(db_path)) as db:
        sql = "select title from articles where id = 'note-header'"
        assert db.execute(sql).fetchone() == ("Retitled",)


@pytest.mark.parametrize("started_early", [False, True])
def test_a_stray_file_in_either_half_of_the_scan_sends_the_build_down_the_clean_path(
    mini_catalog, tmp_path, started_early
):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    for stray in (mini_catalog / "systems" / "notes.md", mini_catalog / "articles" / "notes.txt"):
        stray.mkdir() if stray.suffix == ".txt" else stray.write_text("not an entry")
        early = scan_started(started_early, mini_catalog, db_path)
        with (
            closing(sqlite3.connect(db_path)) as previous,
            pytest.raises(difference.Fallback) as why,
        ):
            difference.difference(mini_catalog, previous, early)
        relative = stray.relative_to(mini_catalog).as_posix()
        assert str(why.value) == f"{relative} is not a plain catalog file"
        stray.rmdir() if stray.is_dir() else stray.unlink()


def test_an_early_scan_is_trusted_only_for_the_database_it_read(mini_catalog, tmp_path):
    """The build opens the previous database after the scan has read its records: another
    build may have replaced it meanwhile, and then what the scan found says nothing."""
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    with closing(sqlite3.connect(db_path)) as db:
        read = db.execute("select started_ns, catalog_sha256 from build_info").fetchone()
    early = EarlyScan.start(mini_catalog, db_path)
    with pytest.raises(difference.Fallback, match="changed while the catalog was scanned"):
        early.result((read[0] + 1, read[1]))
    assert EarlyScan.start(mini_catalog, db_path).result(read)[0] == set()  # nothing moved


def test_a_build_that_goes_the_clean_way_stops_the_early_scan(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    with closing(sqlite3.connect(db_path)) as db, db:
        db.execute("update build_info set code_sha256 = 'other code'")
    early = EarlyScan.start(mini_catalog, db_path)
    children = [child.pid for child in early.children]
    result = build(mini_catalog, db_path, early_scan=early)
    assert result.rebuilt_because == "built by other code"  # decided before the scan's answer
    for pid in children:  # reaped: no such child is left
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def mentioned_systems(db_path: Path, article_ids: list[str]) -> set[tuple[str, str]]:
    with closing(sqlite3.connect(db_path)) as db:
        sql = f"select article_id, system_id from mentions where article_id in ({', '.join('?' * len(article_ids))})"
        return set(db.execute(sql, article_ids))


def test_a_rebuild_of_an_unchanged_catalog_reads_nothing_and_changes_no_row(mini_catalog, tmp_path):
    db_path, clean = tmp_path / "refdb.db", tmp_path / "clean.db"
    settled(mini_catalog)
    build(mini_catalog, db_path, built_at=BUILT_AT)
    again = build(mini_catalog, db_path, built_at=BUILT_AT)
    files = [p for p in mini_catalog.rglob("*") if p.is_file()]
    assert again.patched and again.read == 0 and again.reused == len(files)
    build(mini_catalog, clean, built_at=BUILT_AT, reuse=False)
    assert content(db_path) == content(clean)


def test_an_edit_that_keeps_the_size_and_the_mtime_is_still_seen(mini_catalog, tmp_path):
    """The inode's change time moves whatever the editor does to the size and the mtime."""
    db_path = tmp_path / "refdb.db"
    settled(mini_catalog)
    build(mini_catalog, db_path)
    entry = mini_catalog / "systems" / "tu-160.yaml"
    before = entry.stat()
    text = entry.read_text()
    entry.write_text(text.replace("description: ", "description: X", 1).replace(" ", "", 1))
    os.utime(entry, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert entry.stat().st_size == before.st_size
    assert build(mini_catalog, db_path).patched
    assert description(db_path, "tu-160").startswith("X")


def test_a_file_changed_in_the_same_second_as_the_build_read_it_is_read_again(
    mini_catalog, tmp_path
):
    """Git's "racily clean" case: the build read a file, the file was rewritten (same size)
    in the same tick, and the build recorded the rewritten file's stat beside the old hash.
    Its stat then matches, but its mtime is too close to the build's start to be trusted."""
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    entry = mini_catalog / "systems" / "tu-160.yaml"
    text = entry.read_text()
    entry.write_text(text.replace("description: ", "description: X", 1).replace(" ", "", 1))
    now = entry.stat()
    with closing(sqlite3.connect(db_path)) as db, db:  # the record a racing build writes
        db.execute(
            "update catalog_files set size = ?, mtime_ns = ?, ctime_ns = ?, inode = ? "
            "where path = 'systems/tu-160.yaml'",
            (now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino),
        )
    assert build(mini_catalog, db_path).patched
    assert description(db_path, "tu-160").startswith("X")


def test_a_patch_that_would_leave_a_reference_dangling_is_not_committed(
    mini_catalog, tmp_path, monkeypatch
):
    """The patch replaces rows in place with foreign keys deferred: if a row's parent were
    not written back, the commit is refused and the clean path builds instead."""
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path, built_at=BUILT_AT)
    insert_all = patching.insert_into_sqlite

    def without_aliases(db, out):
        insert_all(db, {model: found for model, found in out.items() if model.__name__ != "Alias"})

    monkeypatch.setattr(patching, "insert_into_sqlite", without_aliases)
    entry = mini_catalog / "systems" / "tu-160.yaml"
    entry.write_text(entry.read_text().replace("description: ", "description: Edited. ", 1))
    assert not build(mini_catalog, db_path, built_at=BUILT_AT).patched
    assert description(db_path, "tu-160").startswith("Edited. ")
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("pragma foreign_key_check").fetchall() == []


def write_article(root: Path, article_id: str, text: str, **header) -> None:
    (root / "articles" / f"{article_id}.txt").write_text(text)
    fields = {"id": article_id, "title": article_id, "date": "2024-02", "language": "en"}
    _write(root / "articles" / f"{article_id}.yaml", fields | header)


def mentioned(db_path: Path, article_id: str) -> list[tuple]:
    with closing(sqlite3.connect(db_path)) as db:
        sql = "select exact, system_id from mentions where article_id = ? order by start"
        return db.execute(sql, (article_id,)).fetchall()


def patched_equals_clean(root: Path, db_path: Path, tmp_path: Path) -> bool:
    """Patch ``db_path`` for ``root`` (asserting it is patched) and compare with a clean build."""
    assert build(root, db_path, built_at=BUILT_AT).patched
    clean = tmp_path / "clean.db"
    build(root, clean, built_at=BUILT_AT, reuse=False)
    return content(db_path) == content(clean)


def test_a_renamed_entry_is_patched_and_the_articles_naming_it_relinked(mini_catalog, tmp_path):
    write_article(mini_catalog, "swan-note", "The White Swan flew north with a Tou-160 escort.")
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path, built_at=BUILT_AT)
    assert mentioned(db_path, "swan-note") == [("Tou-160", "tu-160")]
    entry = mini_catalog / "systems" / "tu-160.yaml"
    data = _yaml(entry)
    data["aliases"] = [{"text": "White Swan", "lang": "en", "kind": "nickname"}]
    _write(entry, data)  # "Tou-160" and "Ту-160" gone, "White Swan" new
    assert patched_equals_clean(mini_catalog, db_path, tmp_path)
    assert mentioned(db_path, "swan-note") == [("White Swan", "tu-160")]
    assert mentioned(db_path, "bomber-note")[0] == ("Tu-160", "tu-160")


def test_an_added_system_is_patched_and_linked_where_the_articles_name_it(mini_catalog, tmp_path):
    write_article(mini_catalog, "dagger-note", "A MiG-31K took off with a Kinzhal under it.")
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path, built_at=BUILT_AT)
    assert mentioned(db_path, "dagger-note") == []
    entry = _yaml(mini_catalog / "systems" / "kh-101.yaml")
    entry |= {"id": "kh-47m2", "name": "Kh-47M2 Kinzhal", "designations": ["Kh-47M2"]}
    entry["aliases"] = [{"text": "Kinzhal", "lang": "en", "kind": "nickname"}]
    entry["relations"] = [{"type": "carried-by", "target": "tu-160", "sources": ["wiki-en"]}]
    _write(mini_catalog / "systems" / "kh-47m2.yaml", entry)
    assert patched_equals_clean(mini_catalog, db_path, tmp_path)
    assert mentioned(db_path, "dagger-note") == [("Kinzhal", "kh-47m2")]
    with closing(sqlite3.connect(db_path)) as db:
        derived = db.execute("select id from relations where derived").fetchall()
    assert ("tu-160--carries--kh-47m2",) in derived


def test_a_removed_system_is_patched_away_with_its_mentions_and_derived_relations(
    mini_catalog, tmp_path
):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path, built_at=BUILT_AT)
    (mini_catalog / "systems" / "tu-160.yaml").unlink()
    assert patched_equals_clean(mini_catalog, db_path, tmp_path)
    assert mentioned(db_path, "bomber-note") == [("Kh-101", "kh-101")]
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("select count(*) from relations").fetchone() == (0,)


def test_an_entry_with_new_variant_letters_relinks_every_designation_written_with_them(
    mini_catalog, tmp_path
):
    """Letters after a designation and a space count as its variant once a catalogued
    designation ends with them: "Kh-101 MT" is then one mention, wherever it is printed."""
    write_article(mini_catalog, "variant-note", "A Kh-101 MT was fired from the sea.")
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path, built_at=BUILT_AT)
    assert mentioned(db_path, "variant-note") == [("Kh-101", "kh-101")]
    entry = _yaml(mini_catalog / "systems" / "kh-101.yaml")
    entry |= {"id": "kh-55", "name": "Kh-55", "designations": ["Kh-55MT"], "aliases": []}
    _write(mini_catalog / "systems" / "kh-55.yaml", entry)
    assert patched_equals_clean(mini_catalog, db_path, tmp_path)
    assert mentioned(db_path, "variant-note") == [("Kh-101 MT", "kh-101")]


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        ("the target of a relation removed", "dangling-target"),
        ("another entry's name taken", "duplicate-alias"),
        ("an exclusion left with nothing to exclude", "stale-anchor"),
        ("the id changed, not the file name", "id-mismatch"),
    ],
)
def test_a_problem_between_entries_is_reported_and_the_database_kept(
    mini_catalog, tmp_path, edit, code
):
    """The patch path does not hide what the whole catalog's checks would find."""
    header = _yaml(mini_catalog / "articles" / "bomber-note.yaml")
    header["mentions"] = {"exclude": [{"exact": "TU‑160", "prefix": "saw a ", "system": "tu-160"}]}
    _write(mini_catalog / "articles" / "bomber-note.yaml", header)
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    before = db_path.read_bytes()
    tu_160 = mini_catalog / "systems" / "tu-160.yaml"
    data = _yaml(tu_160)
    if edit == "the target of a relation removed":
        (mini_catalog / "systems" / "kh-101.yaml").unlink()
    elif edit == "another entry's name taken":
        data["aliases"].append({"text": "X-101", "lang": "en", "kind": "misnomer"})
    elif edit == "the id changed, not the file name":
        data["id"] = "tu-160-blackjack"
    else:
        data |= {"name": "Tupolev bomber", "designations": ["Izdeliye 70"], "aliases": []}
    _write(tu_160, data)
    with pytest.raises(CatalogError) as raised:
        build(mini_catalog, db_path)
    assert code in {problem.code for problem in raised.value.problems}
    assert db_path.read_bytes() == before


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


def test_an_entry_removed_in_a_git_checkout_is_patched_and_keeps_its_history(
    mini_catalog, tmp_path
):
    """A removed entry's committed versions stay readable, with its removal (not committed)."""
    import subprocess

    def git(*args):
        subprocess.run(["git", "-C", mini_catalog, *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "catalog")
    db_path = tmp_path / "patched" / "refdb.db"
    build(mini_catalog, db_path, built_at=BUILT_AT)
    (mini_catalog / "systems" / "tu-160.yaml").unlink()
    assert patched_equals_clean(mini_catalog, db_path, tmp_path)
    with closing(sqlite3.connect(db_path)) as db:
        kinds = db.execute(
            "select kind from entry_changes where system_id = 'tu-160' order by sequence"
        ).fetchall()
    assert kinds == [("added",), ("removed",)]


# What the press prints around names: letters of the scripts the code pages write and of
# others, capitals that fold (the Kelvin sign, a dotted I), every separator and mark that
# compact text drops.
PRINTED = "aAbBkK1260 -'’‐–—\u00a0\u00ad\u0301\u200béÉłŁśżčÇдДёЁіїєґσΣİßœ中\u212a"


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(PRINTED, max_size=40), min_size=1, max_size=6), data=st.data())
def test_a_changed_spelling_is_sought_in_exactly_the_texts_whose_compact_form_holds_it(texts, data):
    """Whichever code page writes a text (or none), the search for a new spelling finds the
    texts the linker would find it in, and only those."""
    assert all(relinking._code_page(codec) for codec in relinking._CODE_PAGES)
    compacts = [compact(text) for text in texts]
    spellings = st.text(PRINTED, min_size=1, max_size=4).map(compact).filter(bool)
    keys = set(data.draw(st.lists(spellings, max_size=20)))
    for compacted in compacts:
        start = data.draw(st.integers(0, len(compacted)))
        keys.add(compacted[start : data.draw(st.integers(start, len(compacted)))] or "k")
    expected = {i for i, compacted in enumerate(compacts) if any(k in compacted for k in keys)}
    assert relinking._containing(keys, enumerate(texts)) == expected


@pytest.mark.parametrize("patch", [True, False], ids=["patched", "cached"])
def test_words_that_veto_a_name_relink_the_articles_it_stood_in(mini_catalog, tmp_path, patch):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path, built_at=BUILT_AT)
    assert ("Tu-160", "tu-160") in mentioned(db_path, "bomber-note")
    if not patch:  # a clean build, reusing the cache of the articles linked before
        db_path.unlink()
    entry = mini_catalog / "systems" / "tu-160.yaml"
    data = _yaml(entry)
    data["not_context"] = ["sea"]
    _write(entry, data)
    build(mini_catalog, db_path, built_at=BUILT_AT)
    clean = tmp_path / "clean.db"
    build(mini_catalog, clean, built_at=BUILT_AT, reuse=False)
    assert ("Tu-160", "tu-160") not in mentioned(db_path, "bomber-note")
    assert content(db_path) == content(clean)


def test_a_build_that_cannot_patch_says_why(mini_catalog, tmp_path):
    from click.testing import CliRunner

    from refdb.cli import cli

    db_path = tmp_path / "refdb.db"
    assert build(mini_catalog, db_path).rebuilt_because == "there is no previous database"
    register = mini_catalog / "publishers.yaml"
    register.write_text(register.read_text() + "\n# a comment\n")
    result = build(mini_catalog, db_path)
    assert not result.patched and result.rebuilt_because == "the publisher register changed"
    register.write_text(register.read_text() + "# another\n")
    said = CliRunner().invoke(cli, ["build", "--catalog", str(mini_catalog), "-o", str(db_path)])
    assert "Built in full, reusing what it could: the publisher register changed." in said.output


def test_a_build_that_commits_while_another_reads_makes_that_one_build_clean(
    mini_catalog, tmp_path, monkeypatch
):
    """Two builds into one database: the second to write finds the first's commit, does not
    apply a difference computed against what is gone, and builds clean instead."""
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path, built_at=BUILT_AT)
    entry = mini_catalog / "systems" / "tu-160.yaml"
    entry.write_text(entry.read_text().replace("description: ", "description: Edited. ", 1))
    real = patching.difference

    def read_then_another_commits(root, db, early):
        found = real(root, db, early)
        with closing(sqlite3.connect(db_path)) as other:
            other.execute("update build_info set started_ns = started_ns + 1")
            other.commit()
        return found

    monkeypatch.setattr(patching, "difference", read_then_another_commits)
    result = build(mini_catalog, db_path, built_at=BUILT_AT)
    assert not result.patched
    assert result.rebuilt_because == "another build changed the database while this one read it"
    assert description(db_path, "tu-160").startswith("Edited. ")


def test_a_database_that_cannot_be_changed_in_place_is_built_clean_beside_it(
    mini_catalog, tmp_path, monkeypatch
):
    """A file SQLite refuses to write (read-only for its user, a full disk) is not patched:
    the clean path writes a new file and renames it over the old one, as before."""
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path, built_at=BUILT_AT)
    entry = mini_catalog / "systems" / "tu-160.yaml"
    entry.write_text(entry.read_text().replace("description: ", "description: Edited. ", 1))

    def refused(db, out):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(patching, "insert_into_sqlite", refused)
    result = build(mini_catalog, db_path, built_at=BUILT_AT)
    assert not result.patched
    assert result.rebuilt_because == (
        "the previous database could not be changed in place (attempt to write a readonly database)"
    )
    assert description(db_path, "tu-160").startswith("Edited. ")


digests = st.binary(min_size=32, max_size=32).map(bytes.hex)
catalog_paths = st.builds(
    "{}/{}.yaml".format, st.sampled_from(["systems", "articles"]), st.text("ab-é1", min_size=1)
)


@given(
    before=st.dictionaries(catalog_paths, digests),
    now=st.dictionaries(catalog_paths, st.none() | digests),
    appended=st.sampled_from([0, provenance.MAX_APPENDED]),
)
def test_the_catalog_version_after_a_change_is_the_version_of_the_catalog_hashed_anew(
    before, now, appended
):
    """An incremental build hashes the recorded files again with the changed ones swapped in
    (None: removed), added in their place: the same version a clean build hashes, whatever
    order the table holds them in (rows out of order are put in place, or all sorted)."""
    with closing(sqlite3.connect(":memory:")) as db, pytest.MonkeyPatch.context() as patch:
        patch.setattr(provenance, "MAX_APPENDED", appended)
        db.execute("create table catalog_files (path text primary key, sha256 text)")
        db.executemany("insert into catalog_files values (?, ?)", reversed(before.items()))
        recorded = provenance.Recorded(db)
    after = {path: digest for path, digest in (before | now).items() if digest is not None}
    assert recorded.version(now) == provenance.catalog_sha256(after)
    assert all(recorded.sha256(path) == digest for path, digest in before.items())
