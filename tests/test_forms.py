"""Forms and names of an entry: worked out once per entry, the same whoever asks."""

from __future__ import annotations

import gc
import sys

from refdb.catalog import forms, romanization
from refdb.catalog.schema import SystemEntry


def entry(**fields) -> SystemEntry:
    return SystemEntry.model_validate(
        {
            "id": "kinzhal",
            "name": "Kh-47M2 Kinzhal",
            "designations": ["Kh-47M2"],
            "category": "air-launched-ballistic-missile",
            "country": "RU",
            "description": "Test entry.",
            "entry_sources": ["s"],
            "sources": {"s": {"title": "T", "publisher": "P"}},
            "aliases": [{"text": "Кинжал", "lang": "ru", "kind": "native"}],
            **fields,
        }
    )


def test_an_entry_gives_the_same_forms_every_time_it_is_asked():
    system = entry()
    first, again = forms.forms_of(system), forms.forms_of(system)
    assert first == again
    assert all(a is b for a, b in zip(first, again, strict=True))  # worked out once
    assert {"Kinjal", "Kinschal", "Кинджал", "Кинжалом"} <= {form.text for form in first}
    first.clear()  # a caller's list is its own
    assert forms.forms_of(system) == again
    assert forms.names_of(system) == forms.names_of(system)


def test_equal_entries_give_equal_forms_and_each_is_forgotten_with_its_entry():
    system, twin = entry(), entry()
    assert forms.forms_of(system) == forms.forms_of(twin)
    other = entry(vetoed_forms=["Kinjal"])
    assert "Kinjal" not in {form.text for form in forms.forms_of(other)}
    key = id(other)
    del other
    gc.collect()
    assert key not in forms._REMEMBERED


def test_a_letter_is_cyrillic_exactly_when_its_lower_case_is_a_russian_or_ukrainian_letter():
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert romanization.is_cyrillic(char) == (char.lower() in romanization._CYRILLIC), char
    assert romanization.is_cyrillic("Ту-160") and romanization.is_cyrillic("ҐРАД")
    assert not romanization.is_cyrillic("Tu-160 Çapoşnikov İ")
