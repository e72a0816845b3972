"""The catalog reader takes only regular files, reads text as NFC, and stays linear on the
error paths: what a file system or an editor can put in the catalog is a positioned problem,
never a hang or a traceback."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
import unicodedata

import pytest

from refdb.catalog.crosscheck import claim_key
from refdb.catalog.loader import prefetch
from refdb.catalog.validate import validate_catalog
from refdb.compiling.compiler import build
from refdb.compiling.provenance import is_current
from refdb.errors import CatalogError


def problems(root) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        validate_catalog(root)
    return [f"{os.path.basename(p.path)} {p.code}" for p in caught.value.problems]


def test_a_fifo_named_like_a_catalog_file_is_a_problem_not_a_hang(mini_catalog):
    os.mkfifo(mini_catalog / "systems" / "pipe.yaml")
    code = (
        "import sys\nfrom refdb.cli import cli\n"
        f"cli(['check', '--catalog', {str(mini_catalog)!r}])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "pipe.yaml:1:1: this is a FIFO, not a file" in result.stderr
    assert not is_current(mini_catalog, mini_catalog / "refdb.db")  # serve's check returns too


def resident_bytes(path) -> int:
    """How much of ``path`` the system holds in memory, as util-linux's fincore reports it."""
    output = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return int(output)


def evicted(path) -> bool:
    """Whether ``path``'s pages could be dropped from memory (not on a memory file system)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)
    return resident_bytes(path) == 0


@pytest.mark.skipif(
    not hasattr(os, "posix_fadvise") or not shutil.which("fincore"),
    reason="needs util-linux fincore",
)
def test_files_asked_for_are_read_from_disk_at_once_and_odd_paths_are_skipped(tmp_path):
    files = [tmp_path / f"article-{n}.txt" for n in range(3)]
    for file in files:
        file.write_bytes(os.urandom(300_000))
    if not all(map(evicted, files)):
        pytest.skip("this file system keeps every file in memory")
    os.mkfifo(tmp_path / "pipe.txt")
    prefetch([tmp_path / "missing.txt", tmp_path, tmp_path / "pipe.txt", *files])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and min(map(resident_bytes, files)) < 300_000:
        time.sleep(0.05)  # the reading goes on after prefetch has returned
    assert min(map(resident_bytes, files)) >= 300_000


def test_a_device_named_like_a_catalog_file_is_a_problem(mini_catalog):
    try:
        os.mknod(mini_catalog / "systems" / "null.yaml", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs privileges")
    assert problems(mini_catalog) == ["null.yaml not-a-file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_a_problem(mini_catalog):
    (mini_catalog / "systems" / "kh-101.yaml").chmod(0)
    assert "kh-101.yaml unreadable" in problems(mini_catalog)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_systems_folder_is_a_problem_not_a_traceback(mini_catalog):
    (mini_catalog / "systems").chmod(0)
    try:
        assert "systems unreadable" in problems(mini_catalog)
    finally:
        (mini_catalog / "systems").chmod(0o755)


def nfd_copy(root, tmp_path):
    """The same catalog with the article saved decomposed (NFD), as some editors save it."""
    text = root / "articles" / "bomber-note.txt"
    text.write_text(text.read_text().replace("sea.", "mer à côté, Tu-160 réservé."))
    copy = tmp_path / "nfd"
    subprocess.run(["cp", "-r", str(root), str(copy)], check=True)
    nfd = copy / "articles" / "bomber-note.txt"
    nfd.write_text(unicodedata.normalize("NFD", text.read_text()))
    assert nfd.read_bytes() != text.read_bytes()
    return copy


def test_an_article_saved_in_nfd_gets_the_same_links(mini_catalog, tmp_path):
    import sqlite3

    nfd = nfd_copy(mini_catalog, tmp_path)
    composed, decomposed = tmp_path / "nfc.db", tmp_path / "nfd.db"
    build(mini_catalog, composed)
    build(nfd, decomposed)
    sql = "select system_id, start, end, exact, sentence from mentions order by start"
    rows = [sqlite3.connect(db).execute(sql).fetchall() for db in (composed, decomposed)]
    assert rows[0] == rows[1] and len(rows[0]) == 4
    text = sqlite3.connect(decomposed).execute("select text from articles").fetchone()[0]
    assert text == unicodedata.normalize("NFC", text)
    for _, start, end, exact, _ in rows[1]:
        assert text[start:end] == exact


@pytest.mark.parametrize(
    "variant",
    [
        "Tu\u200b-160",
        "Tu-160\u2060",
        "\u0422u-160",
        "Tu-16\u200d0",
        unicodedata.normalize("NFD", "Tú-160"),
    ],
)
def test_invisible_look_alike_and_decomposed_spellings_share_a_key(variant):
    assert claim_key(variant) == claim_key("Tu-160")


def test_distinct_names_keep_distinct_keys():
    assert claim_key("Ту-160") != claim_key("Tu-160")  # the Cyrillic native name: 'у' is not 'u'
    assert claim_key("Kh-101") != claim_key("Kh-102")


def test_a_name_shared_by_thousands_of_entries_is_reported_in_linear_time(tmp_path):
    """Every entry claims the same alias: one problem per entry, each naming a few others."""
    root = tmp_path / "catalog"
    (root / "systems").mkdir(parents=True)
    for number in range(2000):
        (root / "systems" / f"s{number}.yaml").write_text(
            f"id: s{number}\nname: System {number}\ncategory: fighter\ncountry: RU\n"
            "description: A test entry.\nentry_sources: [a]\n"
            "aliases:\n  - {text: Shared, lang: en, kind: nickname}\n"
            "sources:\n  a: {title: T, publisher: P}\n"
        )
    started = time.perf_counter()
    with pytest.raises(CatalogError) as caught:
        validate_catalog(root)
    assert time.perf_counter() - started < 10
    found = [p for p in caught.value.problems if p.code == "duplicate-alias"]
    assert len(found) == 2000
    assert all(p.message.count("'s") <= 4 and "1,996 more" in p.message for p in found)
