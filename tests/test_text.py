"""Text primitives: compact and fold are faster ways to what their tables give, never other
results, and the compact text maps each of its characters back to the printed one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refdb.text import _COMPACT, _FOLD, CompactText, compact, fold

MIXED = st.text(
    alphabet=st.sampled_from("aZ -'\t\x01\x00é Ü İ ß Ту-160 Калибр ł ø ’ \u00a0 \u0301 ‐–—"),
    max_size=60,
)


@given(st.one_of(st.text(max_size=60), MIXED))
def test_compact_is_the_fold_and_drop_table_applied_to_every_character(text):
    assert compact(text) == text.translate(_COMPACT)


@given(st.one_of(st.text(max_size=60), MIXED))
def test_fold_is_the_fold_table_applied_to_every_character(text):
    assert fold(text) == text.translate(_FOLD)


def test_compact_keeps_a_text_s_runs_of_other_scripts_in_place():
    assert compact("Ту-160 et Tu-95, «Калибр» 3M-14") == "ту160ettu95,«калибр»3m14"


@given(st.one_of(st.text(max_size=60), MIXED))
def test_compact_text_maps_every_kept_character_back_to_where_the_text_has_it(text):
    compacted = CompactText(text)
    assert compacted.compact == compact(text)
    kept = [offset for offset, char in enumerate(text) if _COMPACT[ord(char)] is not None]
    assert [compacted.original(position) for position in range(len(kept))] == kept


def test_compact_text_spans_slice_the_printed_words():
    text = "Le «Kinżał» — ou Х-47М2 — et le Tu\u00a0160."
    compacted = CompactText(text)
    first = compacted.compact.index("х47м2")
    start, last = compacted.original(first), compacted.original(first + len("х47м2") - 1)
    assert text[start : last + 1] == "Х-47М2"
    with pytest.raises(IndexError):
        compacted.original(len(compacted.compact))
