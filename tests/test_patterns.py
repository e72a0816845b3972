"""LIKE and GLOB in linear time answer exactly as SQLite's own do."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from refdb.site.plugin import patterns

SQLITE = sqlite3.connect(":memory:")
# Letters of both cases, the wildcards and class syntax of both, an escape, a non-ASCII letter.
PIECES = st.text(alphabet="aAbBz%_*?[]^-\\é", max_size=8)


@settings(max_examples=3000)
@given(PIECES, PIECES)
def test_like_answers_as_sqlite(pattern, value):
    [(expected,)] = SQLITE.execute("select ? like ?", (value, pattern))
    assert patterns.like(pattern, value) == bool(expected)


@settings(max_examples=3000)
@given(PIECES, PIECES)
def test_like_with_an_escape_answers_as_sqlite(pattern, value):
    [(expected,)] = SQLITE.execute("select ? like ? escape '\\'", (value, pattern))
    assert patterns.like(pattern, value, "\\") == bool(expected)


@settings(max_examples=3000)
@given(PIECES, PIECES)
def test_glob_answers_as_sqlite(pattern, value):
    [(expected,)] = SQLITE.execute("select ? glob ?", (value, pattern))
    assert patterns.glob(pattern, value) == bool(expected)


def test_a_wildcard_segment_searched_over_a_long_value_is_refused_not_run():
    value = "a" * 999_000
    assert patterns.like("%" + "a" * 99 + "b", value) is False  # letters: str.find, linear
    try:
        patterns.like("%" + "a_" * 50 + "b%", value, budget=5_000_000)
    except patterns.PatternTooCostly:
        pass
    else:
        raise AssertionError("a costly wildcard search ran")
