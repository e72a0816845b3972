"""Flags where an article and the catalog disagree: numbers after conversion, misnomers, class words."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refdb.catalog.categories import CATEGORIES, fits
from refdb.compiling.compiler import build
from refdb.linking import consistency
from refdb.linking.consistency import class_word_before

from conftest import CATALOG


@pytest.mark.parametrize(
    "text, language, expected",
    [
        (
            "d’une portée de plus de 6 500 kilomètres (plus de 6 500 kilomètres). 4 040 milles)",
            "fr",
            [(6500.0, "km"), (6500.0, "km"), (4040.0, "mi")],
        ),
        ("a range of 6,500 km (4,040 miles)", "en", [(6500.0, "km"), (4040.0, "mi")]),
        ("une charge de 2,5 tonnes à Mach 10", "fr", [(2.5, "t"), (10.0, "mach")]),
        ("at 3,000 km/h, or 1,620 knots", "en", [(3000.0, "km/h"), (1620.0, "kn")]),
        ("en 2023, Kim a vu 12 avions", "fr", []),
    ],
)
def test_quantities_are_read_as_the_press_writes_them(text, language, expected):
    assert consistency.quantities(text, language) == expected


@pytest.mark.parametrize(
    "value, unit, other, other_unit, verdict",
    [
        (6500, "km", 4040, "mi", True),
        (6500, "km", 5500, "km", False),
        (3000, "km/h", 1620, "kn", True),
        (3000, "km/h", 2000, "kn", False),
        (12000, "km/h", 10, "mach", True),
        (12000, "km/h", 5, "mach", False),
        (2.05, "mach", 2200, "km/h", True),
        (480, "kg", 0.48, "t", True),
        (480, "kg", 4.8, "t", False),
        (6500, "km", 480, "kg", None),
    ],
)
def test_units_are_converted_before_comparing(value, unit, other, other_unit, verdict):
    assert consistency.agrees(value, unit, other, other_unit) is verdict


def test_build_flags_disagreements_and_never_fails(tmp_path):
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG, root)
    kh_bd = root / "systems" / "kh-bd.yaml"
    kh_bd.write_text(kh_bd.read_text().replace("value: 6500, unit: km", "value: 5500, unit: km"))
    ship = root / "systems" / "marshal-shaposhnikov.yaml"
    ship.write_text(ship.read_text().replace("category: frigate", "category: destroyer"))
    db_path = tmp_path / "refdb.db"
    build(root, db_path)
    flags = (
        sqlite3.connect(db_path)
        .execute("select system_id, kind, message from flags order by id")
        .fetchall()
    )
    assert (
        "kh-bd",
        "quote-number",
        "maximum range is 5,500 km in the catalog, but the quoted article says "
        "“d’une portée de plus de 6 500 kilomètres (plus de 6 500 kilomètres). 4 040 milles)”",
    ) in flags
    assert (
        "marshal-shaposhnikov",
        "misnomer",
        "the article calls it “Amiral Shaposhnikov”, a misnomer for the Marshal Shaposhnikov",
    ) in flags
    assert (
        "marshal-shaposhnikov",
        "class-word",
        "the article calls it a “frégate”, but the catalog classes it as a destroyer",
    ) in flags


def test_the_real_catalog_has_only_the_misnomer_flag(built_db):
    flags = sqlite3.connect(built_db).execute("select system_id, kind from flags").fetchall()
    assert flags == [("marshal-shaposhnikov", "misnomer")]


@pytest.mark.parametrize(
    ("sentence", "name", "word"),
    [
        ("la frégate Amiral Shaposhnikov a été inspectée", "Amiral", "frégate"),
        ("les bombardiers Tu-160, Tu-95 et Tu-22 ont décollé", "Tu-22", "bombardiers"),
        ("le bombardier russe Tu-160 survole la mer", "Tu-160", "bombardier"),
        ("bombowce typu Tu-22M3 startowały", "Tu-22M3", "bombowce"),
        ("стратегический бомбардировщик Ту-160 взлетел", "Ту-160", "стратегический бомбардировщик"),
        ("крылатыми ракетами Х-101 ударили", "Х-101", "крылатыми ракетами"),
    ],
)
def test_a_class_word_right_before_a_name_is_applied_to_it(sentence, name, word):
    applied = class_word_before(sentence, sentence.index(name))
    assert applied is not None and applied[0] == word


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ("Die Bomber wurden von MiG-31 begleitet.", "MiG-31"),
        ("Bombers were escorted by MiG-31 interceptors.", "MiG-31"),
        ("des missiles de croisière à longue portée Kalibr", "Kalibr"),
        ("drones attacked the base where Tu-22M3 stood", "Tu-22M3"),
    ],
)
def test_a_class_word_about_something_else_in_the_sentence_is_not_applied(sentence, name):
    assert class_word_before(sentence, sentence.index(name)) is None


def test_a_word_of_a_broader_category_fits():
    """ "Bombardier" fits a strategic bomber, "chasseur" an interceptor, a warship word a
    class of ships: only a word of another kind of weapon is flagged."""
    assert {"bomber"} & fits("strategic-bomber")
    assert {"fighter"} & fits("interceptor")
    assert {"destroyer"} & fits("ship-class")
    assert not {"bomber"} & fits("frigate")


CLASS_WORDS = sorted(
    {w.replace("*", "") for c in CATEGORIES.values() for ws in c.words.values() for w in ws}
)


@pytest.mark.parametrize("word", CLASS_WORDS)
@pytest.mark.parametrize(
    "between",
    ["", "russes ", "du type «", "typu ", "Tu-160, Kh-22 и ", "(X-32) and ", "\u00a0'"],
)
def test_every_class_word_is_found_however_it_reaches_the_name(word, between):
    """Names after most words are not searched for a class word (the last word before them
    cannot end one); every word of every category, whatever stands between it and the name,
    still is."""
    sentence = f"Hier, {word.upper()} {between}Tu-95 a décollé."
    applied = class_word_before(sentence, sentence.index("Tu-95"))
    assert applied is not None and applied[0] == word.upper()


FRAGMENTS = [
    *CLASS_WORDS[::7], "bombers", "ракетами", "russes", "nord-coréens", "soviétiques",
    "iraní", "type", "du type", "класса", "of the class", ",", "and", "et", "и", "oraz",
    "Tu-160", "«Kh-101»", "(X-32)", "the", "beside", "la", "escorted by", "wurden von", ".",
    ":", ")", ";", "—", "«", "“", "‘", "’", "ʼ", "'", "(", "x" * 45,
]  # fmt: skip
SEPARATORS = ["", " ", "  ", "\u00a0", "\n", "-"]


@settings(max_examples=400)
@given(
    st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS)), max_size=10),
    st.sampled_from([str, str.upper, str.title]),
)
def test_skipping_the_search_never_changes_the_answer(fragments, case):
    text = case("".join(fragment + separator for fragment, separator in fragments))
    start = len(text)
    text += "Tu-95 took off."
    assert class_word_before(text, start) == consistency._class_word_searched(text, start)
