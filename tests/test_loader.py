"""The two ways of loading a YAML file agree: ``load_plain`` (data only, positions found when
a problem must be placed) gives exactly what ``load_yaml`` gives, data and problems alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refdb.catalog.loader import LazyDocument, load_plain, load_yaml
from refdb.errors import CatalogError

TESTS = Path(__file__).resolve().parent
YAML_FILES = sorted(p for p in TESTS.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())

# Pieces that make valid files and every kind of refused one: anchors, aliases, tags, merge
# keys, duplicate keys, flow collections, quoted and plain scalars, numbers, tabs, NUL escapes.
PIECES = [
    "a", "b", ":", " ", "\n", "- ", "[", "]", "{", "}", ",", "'", '"', "&x ", "*x", "!t ",
    "<<", "1", "0", ".", "e", "#", "? ", "|", ">", "  ", "\t", "~", "\\0", "x: ", "---\n",
]  # fmt: skip


def outcome(load, path: Path, raw: bytes):
    """What a loader makes of ``raw``: its data and every position, or its problems."""
    try:
        document = load(path, raw)
    except CatalogError as error:
        return [(p.path, p.line, p.column, p.message, p.code) for p in error.problems]
    return document.data, dict(document.positions), dict(document.key_positions)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(TESTS)))
def test_plain_loading_matches_positioned_loading_on_every_test_file(path):
    raw = path.read_bytes()
    assert outcome(load_plain, path, raw) == outcome(load_yaml, path, raw)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=25).map("".join))
def test_plain_loading_matches_positioned_loading_on_generated_text(text):
    raw, path = text.encode(), Path("generated.yaml")
    assert outcome(load_plain, path, raw) == outcome(load_yaml, path, raw)


def test_a_plainly_loaded_file_finds_its_positions_when_a_problem_needs_them():
    raw = b"id: x\nspecs:\n  - property: range\n    value: 12\n"
    document = load_plain(Path("x.yaml"), raw)
    assert isinstance(document, LazyDocument)
    assert document.position(("specs", 0, "value")) == (4, 12)
    assert document.position(("specs", 0)) == (3, 5)
    assert document.position(("specs",), key=True) == (2, 1)


def test_a_duplicate_key_found_plainly_still_names_the_first_line():
    raw = b"id: x\nname: a\nname: b\n"
    assert outcome(load_plain, Path("x.yaml"), raw) == [
        (
            "x.yaml",
            3,
            1,
            "duplicate key 'name' (first written on line 2); keep one",
            "duplicate-key",
        )
    ]


def test_every_greek_and_cyrillic_letter_is_one_name_in_either_case():
    """The one-name check folds case before it maps look-alikes: 'ВОРОН-5' and 'ворон-5'
    are one name to the linker, so they are one name to the check."""
    from refdb.catalog.crosscheck import claim_key

    letters = [chr(c) for c in [*range(0x391, 0x3CA), *range(0x400, 0x460)] if chr(c).isalpha()]
    split = [c for c in letters if claim_key("x" + c.upper()) != claim_key("x" + c.lower())]
    assert split == []
