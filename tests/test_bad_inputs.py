"""Nothing bad gets in, nothing is lost: the bad-input corpus, generated traps and fuzzing.

Each directory of ``tests/bad_inputs/`` holds files that are laid over a copy of the small
fixture catalog (``catalog/``), a README saying what the case is, and ``expected``: one line
``path line:column code`` per problem, or ``ok`` for input that must be accepted.
"""

from __future__ import annotations

import os
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refdb.catalog.loader import MAX_FILE_BYTES, load_yaml
from refdb.catalog.pydantic_problems import validate_document
from refdb.catalog.schema import SystemEntry
from refdb.catalog.validate import validate_catalog
from refdb.compiling.compiler import build
from refdb.errors import CatalogError

from conftest import FIXTURES

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def lay_out(case: str, tmp_path: Path) -> Path:
    """The fixture catalog with the case's files laid over it (symlinks kept as links)."""
    shutil.copytree(FIXTURES / "mini", tmp_path / "catalog")
    for item in (CORPUS / case).iterdir():
        if item.name == "catalog":
            shutil.copytree(item, tmp_path / "catalog", symlinks=True, dirs_exist_ok=True)
        elif item.name not in ("README", "expected"):
            shutil.copy(item, tmp_path / item.name)
    return tmp_path / "catalog"


def reported(error: CatalogError, root: Path) -> list[str]:
    return [
        f"{Path(os.path.abspath(p.path)).relative_to(root.resolve())} {p.line}:{p.column} {p.code}"
        for p in error.problems
    ]


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_reported_and_the_old_database_kept(case, tmp_path):
    expected = (CORPUS / case / "expected").read_text().split("\n")[:-1]
    good = tmp_path / "good"
    db_path = tmp_path / "out" / "refdb.db"
    shutil.copytree(FIXTURES / "mini", good)
    build(good, db_path)
    before = db_path.read_bytes()
    root = lay_out(case, tmp_path / "case")
    if expected == ["ok"]:
        build(root, db_path)
        return
    with pytest.raises(CatalogError) as caught:
        build(root, db_path)
    assert reported(caught.value, root) == expected
    assert all(p.message for p in caught.value.problems)
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == [".refdb.db.cache", "refdb.db"]


def test_accepted_values_keep_their_text(tmp_path):
    root = lay_out("unquoted-date-stays-text", tmp_path)
    [spec] = next(s for s in validate_catalog(root).systems if s.id == "fine").specs
    assert spec.value == "1981-12-18"


def expect_refused(path: Path, code: str, *, seconds: float = 2.0, megabytes: float = 50) -> None:
    """Loading ``path`` fails with ``code``, quickly and in bounded memory."""
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(CatalogError) as caught:
        load_yaml(path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert [p.code for p in caught.value.problems] == [code]
    assert elapsed < seconds and peak < megabytes, (elapsed, peak)


def test_a_file_of_tens_of_megabytes_is_refused_by_size(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("description: " + "x" * (30 * 1024 * 1024) + "\n")
    expect_refused(path, "file-too-large", megabytes=3 * MAX_FILE_BYTES / 1e6)


def test_fifty_thousand_levels_of_nesting_are_refused_before_any_recursion(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    expect_refused(path, "too-deep")


def test_the_merge_key_bomb_is_refused_at_once(tmp_path):
    lines = ["a0: &a0 {x: 1}"] + [
        f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}" for i in range(1, 27)
    ]
    path = tmp_path / "merge.yaml"
    path.write_text("\n".join(lines) + "\n")
    expect_refused(path, "yaml-anchor")


def test_the_billion_laughs_bomb_is_refused_at_once(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    expect_refused(path, "yaml-anchor")


VALID = (FIXTURES / "mini" / "systems" / "tu-160.yaml").read_text()


@settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_yaml_gives_an_entry_or_a_positioned_error(tmp_path, data):
    """Delete, duplicate or replace any slice of a valid file: never a crash, always a position."""
    start = data.draw(st.integers(0, len(VALID)))
    end = data.draw(st.integers(start, min(len(VALID), start + 40)))
    insert = data.draw(
        st.sampled_from(
            ["", "\t", ":", "- ", "&a ", "*a", "!!str ", "{", "]", "\n  ", "'", "#", "\x00", "é"]
        )
    )
    mutated = VALID[:start] + insert + data.draw(st.text(max_size=5)) + VALID[end:]
    check_mutant(tmp_path, mutated)


@settings(
    max_examples=100, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_arbitrary_text_gives_an_entry_or_a_positioned_error(tmp_path, text):
    check_mutant(tmp_path, text)


def check_mutant(tmp_path: Path, text: str) -> None:
    """The file is read and validated as the catalog reader does it: either an entry, or
    problems that each name a line, a column and a code (pydantic's errors included)."""
    path = tmp_path / "tu-160.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    problems: list = []
    try:
        entry = validate_document(load_yaml(path), SystemEntry, problems)
    except CatalogError as error:
        entry, problems = None, error.problems
    assert (entry is None) == bool(problems)
    assert all(p.line >= 1 and p.column >= 1 and p.code for p in problems), problems
