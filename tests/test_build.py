"""`refdb build`: the catalog compiled into one SQLite file, atomically and deterministically."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import multiprocessing
import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_bad_inputs import CORPUS
from test_incremental import content

from refdb import cache
from refdb.cache import BuildCache, code_version
from refdb.cli import cli
from refdb.compiling import rows as rows_module
from refdb.compiling import sqlite_target
from refdb.compiling.compiler import build
from refdb.compiling.provenance import is_current
from refdb.compiling.tables import FULL_TEXT
from refdb.linking import articles
from refdb.site.serving import snapshot

from conftest import CATALOG, SEED_IDS, edit


def rows(db_path, sql):
    with sqlite3.connect(db_path) as connection:
        return connection.execute(sql).fetchall()


def test_failed_build_leaves_the_previous_database_byte_identical(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    before = db_path.read_bytes()
    shutil.copytree(
        CORPUS / "dangling-relation-target" / "catalog", mini_catalog, dirs_exist_ok=True
    )
    result = CliRunner().invoke(
        cli, ["build", "--catalog", str(mini_catalog), "--output", str(db_path)]
    )
    assert result.exit_code == 1
    assert "is unchanged" in result.output
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".refdb.db.cache", "catalog", "refdb.db"]


@pytest.mark.parametrize(
    "interruption",
    [OSError(28, "No space left on device"), KeyboardInterrupt()],
    ids=["disk-full", "signal"],
)
def test_a_failure_while_writing_leaves_no_temporary_file(
    mini_catalog, tmp_path, monkeypatch, interruption
):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    before = db_path.read_bytes()

    def interrupted(*args, **kwargs):
        raise interruption

    monkeypatch.setattr("refdb.compiling.sqlite_target.index", interrupted)
    with pytest.raises(type(interruption)):
        build(mini_catalog, db_path, reuse=False)  # the clean path: the patch path indexes no more
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".refdb.db.cache", "catalog", "refdb.db"]
    monkeypatch.setattr("refdb.compiling.patching._catalog_files", interrupted)
    with pytest.raises(type(interruption)):
        build(mini_catalog, db_path)  # the incremental path copies, patches, fails
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".refdb.db.cache", "catalog", "refdb.db"]


def test_same_catalog_gives_the_same_rows(mini_catalog, tmp_path):
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    build(mini_catalog, first, built_at="2026-01-01T00:00:00+00:00")
    build(mini_catalog, second, built_at="2026-01-01T00:00:00+00:00")

    def dump(path):
        """Every row, but what a build notes of the files on this machine (their stat, the
        time it started reading), by which the next build finds what changed unread."""
        with closing(sqlite3.connect(path)) as db:
            db.execute("update catalog_files set size = 0, mtime_ns = 0, ctime_ns = 0, inode = 0")
            db.execute("update build_info set started_ns = 0")
            return list(db.iterdump())

    assert dump(first) == dump(second)


def test_one_row_per_file_and_inverse_relations_derived(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    result = build(mini_catalog, db_path)
    assert (result.systems, result.articles) == (2, 1)
    assert rows(db_path, "select id from systems order by id") == [("kh-101",), ("tu-160",)]
    assert rows(
        db_path, "select system_id, type, target_id, derived from relations order by derived"
    ) == [
        ("tu-160", "carries", "kh-101", 0),
        ("kh-101", "carried-by", "tu-160", 1),
    ]


def test_foreign_keys_are_declared_and_hold(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    declared = {
        (table, fk[2])
        for table in ("mentions", "specs", "relations", "aliases", "sources")
        for fk in rows(db_path, f"pragma foreign_key_list({table})")
    }
    assert ("mentions", "articles") in declared and ("mentions", "systems") in declared
    assert ("relations", "systems") in declared and ("sources", "articles") in declared
    assert rows(db_path, "pragma foreign_key_check") == []
    assert rows(db_path, "pragma journal_mode") == [("delete",)]


def test_build_metadata_records_the_catalog_version(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    first = build(mini_catalog, db_path)
    (mini_catalog / "systems" / "kh-101.yaml").write_text(
        (mini_catalog / "systems" / "kh-101.yaml").read_text().replace("long-range", "long range")
    )
    second = build(mini_catalog, db_path)
    assert first.catalog_sha256 != second.catalog_sha256
    [(sha, version, systems)] = rows(
        db_path, "select catalog_sha256, refdb_version, systems from build_info"
    )
    assert (sha, systems) == (second.catalog_sha256, 2) and version
    files = dict(rows(db_path, "select path, sha256 from catalog_files"))
    assert set(files) == {
        "publishers.yaml",
        "systems/kh-101.yaml",
        "systems/tu-160.yaml",
        "articles/bomber-note.yaml",
        "articles/bomber-note.txt",
    }


def test_specs_keep_the_unit_written_and_a_normalised_value(tmp_path, mini_catalog):
    entry = mini_catalog / "systems" / "kh-101.yaml"
    entry.write_text(
        entry.read_text().replace(
            "sources:\n",
            "specs:\n"
            "  - {property: max_range, value: 2500, unit: km, sources: [wiki-en]}\n"
            "  - {property: max_range, value: 1700, unit: mi, qualifier: claimed, sources: [wiki-en]}\n"
            "sources:\n",
            1,
        )
    )
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    assert rows(
        db_path,
        "select value, unit, value_normalized, unit_normalized, contested from specs "
        "where system_id = 'kh-101' order by id",
    ) == [
        (2500.0, "km", 2500.0, "km", 1),
        (1700.0, "mi", 2735.885, "km", 1),
    ]
    assert rows(
        db_path, "select value, unit, value_normalized from specs where system_id = 'tu-160'"
    ) == [(2.05, "mach", None)]


def test_search_index_is_diacritic_and_hyphen_insensitive(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)

    def search(q):
        return rows(
            db_path,
            "select s.id from systems s join systems_fts f on f.rowid = s.rowid "
            f"where systems_fts match '{q}'",
        )

    assert search('"tou 160"') == [("tu-160",)]
    assert search("tu160") == [("tu-160",)]
    assert search("x101") == [("kh-101",)]


def test_each_full_text_index_holds_every_row_and_its_memory_setting(built_db):
    """Filled in one pass with a larger in-memory batch of terms than FTS5's default, kept
    in the index's own config (an incremental build's inserts use it too)."""
    for table in FULL_TEXT:
        config = f"select v from {table}_fts_config where k = 'hashsize'"
        assert rows(built_db, config) == [(sqlite_target.FULL_TEXT_MEMORY,)]
        counts = (
            f"select (select count(*) from {table}), (select count(*) from {table}_fts_docsize)"
        )
        [(held, indexed)] = rows(built_db, counts)
        assert held == indexed > 0


def test_serving_snapshots_are_never_replaced_under_a_server(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    first = snapshot(db_path)
    served_bytes = first.read_bytes()
    assert first.name == "refdb.db" and first.parent.parent == tmp_path / ".refdb-serve"
    assert snapshot(db_path) == first
    entry = mini_catalog / "systems" / "kh-101.yaml"
    entry.write_text(entry.read_text().replace("long-range", "long range"))
    build(mini_catalog, db_path)
    second = snapshot(db_path)
    assert second != first and second.name == "refdb.db"
    assert first.read_bytes() == served_bytes


def test_the_catalog_version_orders_article_files_by_path(mini_catalog, tmp_path):
    """A build hashes its articles' files as it reads them, in id order; the version must
    still be the hash over every file in path order ("a-b" < "a" < "a0" as paths)."""
    articles = mini_catalog / "articles"
    for article_id in ("a", "a-b", "a0", "ab", "a-0"):
        header = (articles / "bomber-note.yaml").read_text()
        (articles / f"{article_id}.yaml").write_text(header.replace("bomber-note", article_id))
        (articles / f"{article_id}.txt").write_text(f"A note numbered {article_id}.\n")
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path, reuse=False)
    assert is_current(mini_catalog, db_path)
    with closing(sqlite3.connect(db_path)) as db:
        paths = [row[0] for row in db.execute("select path from catalog_files order by path")]
    on_disk = [p.relative_to(mini_catalog).as_posix() for p in mini_catalog.rglob("*.*")]
    assert paths == sorted(on_disk) and "articles/a-b.txt" in paths


def test_a_database_is_current_until_a_catalog_file_changes(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    assert not is_current(mini_catalog, db_path)
    build(mini_catalog, db_path)
    assert is_current(mini_catalog, db_path)
    text = mini_catalog / "articles" / "bomber-note.txt"
    text.write_text(text.read_text() + " ")
    assert not is_current(mini_catalog, db_path)


def test_a_database_built_by_other_code_is_not_current(mini_catalog, tmp_path):
    """The same code hash as the build cache's: a code change is a rebuild for serve too."""
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    assert rows(db_path, "select code_sha256 from build_info") == [(code_version(),)]
    with sqlite3.connect(db_path) as connection:
        connection.execute("update build_info set code_sha256 = ?", [code_version()[::-1]])
    connection.close()
    assert not is_current(mini_catalog, db_path)


def test_an_incremental_build_equals_a_clean_build(tmp_path):
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG, root)
    incremental, clean = tmp_path / "incremental" / "refdb.db", tmp_path / "clean" / "refdb.db"
    first = build(root, incremental)
    assert first.reused == 0
    edit(root / "systems" / "kalibr.yaml", "description: >\n  ", "description: >\n  Edited. ")
    second = build(root, incremental, built_at="2026-01-01T00:00:00+00:00")
    files = len(list(root.glob("**/*.yaml")))
    assert second.reused == files + len(list(root.glob("articles/*.txt"))) - 1
    build(root, clean, built_at="2026-01-01T00:00:00+00:00", reuse=False)
    assert second.patched  # rows replaced in place: the same rows, not the same rowids
    assert content(incremental) == content(clean)
    schema = "select type, name, sql from sqlite_master order by name"
    assert rows(incremental, schema) == rows(clean, schema)


def _many_articles(root: Path, count: int) -> None:
    """``count`` short articles in three languages, some calling a bomber a destroyer."""
    texts = {
        "en": "Report {n}: two Tu-160 bombers flew north. The destroyer Tu-160 then turned back.",
        "fr": "Note {n} : un Tu-160 a tiré un Kh-101 au-dessus de la mer.",
        "ru": "Сводка {n}: самолёт Ту-160 выпустил ракету Х-101.",
    }
    for n in range(count):
        language = sorted(texts)[n % 3]
        (root / "articles" / f"many-{n:04}.yaml").write_text(
            f'id: many-{n:04}\ntitle: Note {n}\ntitle_is_descriptive: true\ndate: "2024-02"\n'
            f"language: {language}\n"
        )
        (root / "articles" / f"many-{n:04}.txt").write_text(texts[language].format(n=n))


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: every catalog links inline")
def test_articles_linked_on_every_core_give_the_rows_one_process_gives(
    mini_catalog, tmp_path, monkeypatch
):
    count = articles.PARALLEL_FROM + 20
    _many_articles(mini_catalog, count)
    workers = tmp_path / "workers"
    made = rows_module.ArticleRows.__call__

    def noting_the_process(self, article, mentions):
        with workers.open("a") as file:
            file.write(f"{os.getpid()}\n")
        return made(self, article, mentions)

    monkeypatch.setattr(rows_module.ArticleRows, "__call__", noting_the_process)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    stamp = "2026-01-01T00:00:00+00:00"
    in_workers = build(mini_catalog, tmp_path / "a" / "refdb.db", built_at=stamp, reuse=False)
    assert str(os.getpid()) not in workers.read_text().split()
    assert list(spool.iterdir()) == []  # the workers' results, each gone once read
    monkeypatch.setattr(articles, "PARALLEL_FROM", 10**9)
    build(mini_catalog, tmp_path / "b" / "refdb.db", built_at=stamp, reuse=False)
    assert str(os.getpid()) in workers.read_text().split()
    assert in_workers.articles == count + 1  # and the fixture's own
    found = content(tmp_path / "a" / "refdb.db")
    assert found == content(tmp_path / "b" / "refdb.db")
    assert len([flag for flag in found["flags"] if "destroyer" in str(flag)]) >= 170


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: every catalog links inline")
def test_a_build_stopped_while_workers_link_leaves_no_results_behind(
    mini_catalog, tmp_path, monkeypatch
):
    _many_articles(mini_catalog, articles.PARALLEL_FROM + 20)
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    before = db_path.read_bytes()
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    written = []

    def stopped(connection, rows):
        written.append(rows)
        if len(written) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr("refdb.compiling.sqlite_target.insert_rows", stopped)
    with pytest.raises(KeyboardInterrupt):
        build(mini_catalog, db_path, reuse=False)
    assert list(spool.iterdir()) == []
    assert db_path.read_bytes() == before
    assert multiprocessing.active_children() == []


def test_a_renamed_alias_relinks_every_article(tmp_path):
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG, root)
    db_path = tmp_path / "refdb.db"
    build(root, db_path)
    entry = root / "systems" / "kalibr.yaml"
    entry.write_text(entry.read_text().replace("name: Kalibr\n", "name: Kalibr family\n"))
    second = build(root, db_path)
    files = len(list(root.glob("**/*.yaml"))) + len(list(root.glob("articles/*.txt")))
    assert second.reused == files - 2  # all but the edited entry and the article linked again
    mentions = sqlite3.connect(db_path).execute(
        "select exact from mentions where system_id = 'kalibr'"
    )
    assert [row[0] for row in mentions] == ["Kalibr"]


def test_progress_counts_every_file_and_article(mini_catalog, tmp_path):
    seen = []
    build(
        mini_catalog,
        tmp_path / "refdb.db",
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    assert seen == [
        ("checking systems", 1, 2),
        ("checking systems", 2, 2),
        ("checking and linking articles", 1, 1),
    ]


def test_seed_entries_exist_with_nato_names_and_sources(built_db):
    connection = sqlite3.connect(built_db)
    names = dict(connection.execute("select id, nato_reporting_name from systems"))
    assert set(names) >= SEED_IDS
    assert {i: names[i] for i in ("tu-160", "tu-95", "tu-22m", "kh-47m2-kinzhal", "mig-31")} == {
        "tu-160": "Blackjack",
        "tu-95": "Bear",
        "tu-22m": "Backfire",
        "kh-47m2-kinzhal": "Killjoy",
        "mig-31": "Foxhound",
    }
    nato_names = {
        system_id: {row[0] for row in connection.execute(
            "select text from aliases where system_id = ? and kind = 'nato-name'", [system_id]
        )}
        for system_id in ("kalibr", "3m-14", "3m-54")
    }  # fmt: skip
    # a family: each missile of it has its own entry, under its own NATO name
    assert "SS-N-30A" in nato_names["3m-14"] and "Sizzler" in nato_names["3m-54"]
    assert not nato_names["kalibr"]
    assert names["marshal-shaposhnikov"] is None  # NATO names the class (Udaloy), not the ship
    for system_id in SEED_IDS:
        sources = connection.execute(
            "select count(*) from sources where system_id = ?", [system_id]
        ).fetchone()[0]
        unsourced = connection.execute(
            "select count(*) from specs where system_id = ? and id not in "
            "(select spec_id from spec_sources)",
            [system_id],
        ).fetchone()[0]
        assert sources >= 3 and unsourced == 0, system_id
    misnomer = connection.execute(
        "select system_id, kind from aliases where text = 'Amiral Shaposhnikov'"
    ).fetchall()
    assert misnomer == [("marshal-shaposhnikov", "misnomer")]
    assert connection.execute(
        "select system_id from redirects where id = 'admiral-shaposhnikov'"
    ).fetchone() == ("marshal-shaposhnikov",)


def signed(payload: dict, key: bytes | None = None) -> bytes:
    """A cache's first line as refdb writes it: signature, then JSON (``key``: someone else's)."""
    data = json.dumps(payload).encode()
    signature = (
        hmac.new(key, code_version().encode() + b"\n" + data, hashlib.sha256).hexdigest().encode()
        if key
        else cache._versioned_signature(data)
    )
    return signature + b" " + data + b"\n"


def stored_cache(cache_path: Path) -> dict:
    """The entries' line of a cache (the first)."""
    return json.loads(cache_path.read_bytes().split(b"\n")[0].partition(b" ")[2])


def article_lines(cache_path: Path) -> list[tuple[str, bytes, list]]:
    """(article id, signature, [key, mentions]) of each article line after the first."""
    found = []
    for line in cache_path.read_bytes().splitlines()[1:]:
        article_id, signature, payload = line.split(b" ", 2)
        found.append((article_id.decode(), signature, json.loads(payload)))
    return found


def from_cache(catalog: Path, db_path: Path):
    """A build that cannot patch (its database is gone, the cache beside it stays), so the
    build cache serves it: a rebuild of an unchanged catalog would only patch."""
    db_path.unlink()
    return build(catalog, db_path)


def test_a_cache_written_by_other_code_is_ignored(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    cache_path = BuildCache.beside(db_path)
    stored = stored_cache(cache_path)
    assert stored["version"] == code_version()
    cache_path.write_bytes(signed({**stored, "version": "another refdb"}))
    assert from_cache(mini_catalog, db_path).reused == 0
    assert (
        from_cache(mini_catalog, db_path).reused == 4
    )  # register, 2 systems, 1 article's mentions


@pytest.mark.parametrize(
    "corrupt",
    [b"", b"not a cache", b"\x80\x04\x95pickle", "truncated"],
)
def test_a_corrupt_cache_is_ignored_and_the_build_redoes_the_work(mini_catalog, tmp_path, corrupt):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    cache_path = BuildCache.beside(db_path)
    whole = cache_path.read_bytes()
    cache_path.write_bytes(whole[: len(whole) // 2] if corrupt == "truncated" else corrupt)
    assert from_cache(mini_catalog, db_path).reused == 0
    assert (
        from_cache(mini_catalog, db_path).reused == 4
    )  # register, 2 systems, 1 article's mentions


def test_a_directory_at_the_cache_path_is_left_alone(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    BuildCache.beside(db_path).mkdir()
    result = build(mini_catalog, db_path)
    assert result.systems == 2 and result.reused == 0
    assert BuildCache.beside(db_path).is_dir()
    assert sqlite3.connect(db_path).execute("select count(*) from systems").fetchone() == (2,)


def forge_javascript_url(stored: dict) -> dict:
    """The cache with tu-160's entry carrying a javascript: source URL its file does not have."""
    digest, text = stored["entries"]["systems/tu-160.yaml"]
    forged = text.replace('"url":"https://', '"url":"javascript:alert(1)//', 1)
    assert forged != text
    return {**stored, "entries": {**stored["entries"], "systems/tu-160.yaml": [digest, forged]}}


@pytest.mark.parametrize("signature", ["kept", "another key"])
def test_a_forged_entry_cannot_skip_validation(mini_catalog, tmp_path, signature):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    cache_path = BuildCache.beside(db_path)
    forged = forge_javascript_url(stored_cache(cache_path))
    if signature == "kept":  # the old signature over the new content
        old_signature = cache_path.read_bytes().partition(b" ")[0]
        cache_path.write_bytes(old_signature + b" " + json.dumps(forged).encode() + b"\n")
    else:  # signed correctly, but not with this user's key
        cache_path.write_bytes(signed(forged, key=b"k" * 32))
    assert from_cache(mini_catalog, db_path).reused == 0
    with sqlite3.connect(db_path) as conn:
        assert conn.execute(
            "select count(*) from sources where url like 'javascript:%'"
        ).fetchone() == (0,)


def test_the_cache_is_plain_json_data(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    stored = stored_cache(BuildCache.beside(db_path))
    assert set(stored) == {"version", "entries"}
    [(article_id, _, (key, mentions))] = article_lines(BuildCache.beside(db_path))
    assert article_id == key[0] == "bomber-note" and mentions
    assert cache.key_path().stat().st_mode & 0o077 == 0


def test_a_forged_article_line_is_linked_again(mini_catalog, tmp_path):
    db_path, clean_path = tmp_path / "refdb.db", tmp_path / "clean.db"
    build(mini_catalog, db_path)
    cache_path = BuildCache.beside(db_path)
    entries_line, line = cache_path.read_bytes().splitlines(keepends=True)
    article_id, signature, payload = line.split(b" ", 2)
    forged = payload.replace(b'"tu-160"', b'"kh-101"')
    assert forged != payload
    cache_path.write_bytes(entries_line + b" ".join([article_id, signature, forged]))
    assert from_cache(mini_catalog, db_path).reused == 3  # the entries; not the article's mentions
    build(mini_catalog, clean_path, reuse=False)
    query = "select id, system_id from mentions order by id"
    with closing(sqlite3.connect(db_path)) as built, closing(sqlite3.connect(clean_path)) as clean:
        assert built.execute(query).fetchall() == clean.execute(query).fetchall()


def test_a_new_context_word_relinks_the_articles(tmp_path):
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG, root)
    db_path = tmp_path / "refdb.db"
    build(root, db_path)
    entry = root / "systems" / "kh-47m2-kinzhal.yaml"
    entry.write_text(
        entry.read_text().replace(
            'kind: transliteration, note: "Russian for',
            'kind: transliteration, context: [dague], note: "Russian for',
        )
    )
    second = build(root, db_path)
    files = len(list(root.glob("**/*.yaml"))) + len(list(root.glob("articles/*.txt")))
    assert second.reused == files - 2  # all but the edited entry and the article linked again
    mentions = sqlite3.connect(db_path).execute(
        "select exact from mentions where system_id = 'kh-47m2-kinzhal'"
    )
    assert mentions.fetchall() == []


def test_a_row_pointing_nowhere_fails_the_check_before_anything_is_published(
    mini_catalog, tmp_path
):
    """Rows are written without SQLite checking each reference (fast); the check stage runs
    the whole foreign-key check instead, so a dangling reference never reaches a reader."""
    from refdb.compiling import sqlite_target

    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    with sqlite3.connect(db_path) as db:
        db.execute("update specs set system_id = 'nowhere' where rowid = 1")
    with pytest.raises(RuntimeError, match="foreign key"):
        sqlite_target.check(db_path, system_files=2)


def test_the_check_beside_the_full_text_indexes_refuses_a_row_pointing_nowhere(
    mini_catalog, tmp_path
):
    """The check reads the written tables while the full-text indexes are made: what it
    refuses is still refused, and a published file is a plain one (no write-ahead log)."""
    from refdb.catalog.validate import validate_catalog
    from refdb.compiling import sqlite_target
    from refdb.compiling.rows import catalog_rows
    from refdb.compiling.tables import Spec
    from refdb.linking.articles import link_catalog

    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    before = db_path.read_bytes()
    assert rows(db_path, "PRAGMA journal_mode") == [("delete",)]
    catalog = validate_catalog(mini_catalog)
    made = catalog_rows(catalog, link_catalog(catalog))
    made[Spec][0].system_id = "nowhere"
    with pytest.raises(RuntimeError, match="foreign key"):
        sqlite_target.publish([made], 2, db_path, lambda stage: contextlib.nullcontext())
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".refdb.db.cache", "catalog", "refdb.db"]


def test_a_damaged_record_fails_the_check_and_the_previous_database_stays(mini_catalog, tmp_path):
    """The check reads every row against every index (SQLite's integrity_check, not
    quick_check, which passes a record whose bytes changed in place): a file damaged
    between writing and publishing is refused and the previous database kept."""
    from refdb.compiling import sqlite_target

    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    before = db_path.read_bytes()
    with sqlite3.connect(db_path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("select rootpage from sqlite_master where name = 'systems'").fetchone()
    start = (root[0] - 1) * page_size
    page = before[start : start + page_size]
    assert b"Tupolev Tu-160" in page  # the systems table's only page holds the row
    # the name column, first in the record, one letter off: a well-formed record that no
    # longer matches its entry in the index on names
    damaged = before[:start] + page.replace(b"Tupolev", b"Tupolef", 1) + before[start + page_size :]

    def fill(temporary: Path) -> None:
        temporary.write_bytes(damaged)
        sqlite_target.check(temporary, system_files=2)

    with pytest.raises(RuntimeError, match="integrity check failed"):
        sqlite_target.replace(db_path, fill)
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".refdb.db.cache", "catalog", "refdb.db"]


def test_a_row_takes_its_tables_defaults_and_refuses_a_column_it_lacks():
    from refdb.compiling import tables
    from refdb.compiling.rows import new_row

    row = new_row(tables.Redirect, system_id="tu-160", id="blackjack")
    assert list(vars(row)) == list(tables.Redirect.model_fields)  # the table's column order
    assert vars(row) == {"id": "blackjack", "system_id": "tu-160"}
    source = new_row(tables.Source, id="s", system_id="tu-160", key="s", number=1)
    assert source.title is None and source.title_is_descriptive is False  # declared default
    with pytest.raises(TypeError, match="redirects has no column target"):
        new_row(tables.Redirect, id="blackjack", target="tu-160")


@pytest.mark.parametrize(
    "stored",
    [b"", b"short", b"k" * 31, b"k" * 33],
    ids=["empty (a full disk)", "short", "one byte short", "one byte long"],
)
def test_a_signing_key_that_is_not_32_bytes_is_replaced_never_used(tmp_path, monkeypatch, stored):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    cache.signing_key.cache_clear()
    path = cache.key_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(stored)
    path.chmod(0o600)
    try:
        key = cache.signing_key()
        assert len(key) == 32 and key != stored
        assert path.read_bytes() == key and path.stat().st_mode & 0o077 == 0
        assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    finally:
        cache.signing_key.cache_clear()


def test_a_signing_key_others_can_read_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    cache.signing_key.cache_clear()
    path = cache.key_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"k" * 32)
    path.chmod(0o644)
    try:
        assert cache.signing_key() != b"k" * 32
    finally:
        cache.signing_key.cache_clear()


def test_a_huge_tampered_cache_is_refused_without_being_held_in_memory(tmp_path):
    """A cache or history file of one 50 MB line that does not verify is read once, a chunk
    at a time, and refused: it never sits in memory (a 3 GB one took 6.5 GB)."""
    import tracemalloc

    huge = b"0" * 64 + b" " + b"x" * 50_000_000
    build_cache, history_cache = tmp_path / ".refdb.db.cache", tmp_path / ".refdb.db.history"
    build_cache.write_bytes(huge + b"\n" + huge + b"\n")
    history_cache.write_bytes(huge)
    tracemalloc.start()
    try:
        loaded = BuildCache.load(build_cache)
        assert cache.read_signed(history_cache) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not loaded.reused.entries and not loaded.reused.offsets
    assert peak < 5_000_000, peak


def test_article_lines_are_found_without_holding_a_long_one(tmp_path):
    lines = tmp_path / "lines"
    lines.write_bytes(b"first " + b"y" * 3_000_000 + b"\nsecond 1\nthird")
    with open(lines, "rb") as handle:
        assert cache._offsets(handle) == {"first": 0, "second": 3_000_007, "third": 3_000_016}
