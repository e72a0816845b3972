"""Text primitives: compact is a faster way to the same key, never another key."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from refdb.text import _COMPACT, compact

MIXED = st.text(
    alphabet=st.sampled_from("aZ -'\t\x01\x00é Ü İ ß Ту-160 Калибр ł ø ’ \u00a0 \u0301 ‐–—"),
    max_size=60,
)


@given(st.one_of(st.text(max_size=60), MIXED))
def test_compact_is_the_fold_and_drop_table_applied_to_every_character(text):
    assert compact(text) == text.translate(_COMPACT)


def test_compact_keeps_a_text_s_runs_of_other_scripts_in_place():
    assert compact("Ту-160 et Tu-95, «Калибр» 3M-14") == "ту160ettu95,«калибр»3m14"
