"""Sentences of an article: the sentence a reader sees around each mention, found fast.

A paragraph is cut where syntok surely ends a sentence, and only the pieces holding a mention
are segmented; these tests pin that the sentences stay those of the whole paragraph.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refdb.linking.sentences import (
    MAX_SENTENCE_CHARS,
    bounded,
    certain_ends,
    segmented,
    sentence_of,
    sentences,
)
from refdb.text import paragraphs

from conftest import CATALOG, FIXTURES


def sentence_or_span(bounds, start, end):
    """What the linker records for a mention: its sentence, or itself where there is none."""
    return sentence_of(bounds, start, end) if bounds else (start, end)


def split(text: str, language: str = "en", around=None) -> list[str]:
    return [text[start:end] for start, end in sentences(text, language, around)]


@pytest.mark.parametrize(
    "language, expected",
    [
        ("fr", ["Le Gén. Martin a vu les Tu-95 à Engels.", "M. Dubois était là, env. 3 h."]),
        ("fr", ["L’Adm. Moreau a inspecté la frégate.", "Elle est repartie en sept. 2023."]),
        ("en", ["Adm. Clark met Mr. Reed and Gen. Hale.", "They left at noon."]),
        ("de", ["Dr. Weber nannte ca. 500 km.", "Das Ministerium schwieg."]),
        ("es", ["El Gral. Ruiz habló con el Sr. Soto.", "Nadie lo confirmó."]),
        ("es", ["El misil alcanza aprox. 2.000 km.", "La cifra es dudosa."]),
        ("it", ["Il Sig. Bianchi e il Dott. Neri hanno visto il MiG-31.", "Fu smentito."]),
        ("pl", ["Płk. Nowak przyleciał o godz. 10.30 do bazy.", "Odleciał wieczorem."]),
        ("ru", ["Ген. Иванов осмотрел Ту-160.", "Дальность составляет ок. 2 тыс. км."]),
        ("uk", ["Ген. Петренко назвав дальність бл. 1,5 тис. км.", "Так повідомили в ЗСУ."]),
    ],
)
def test_a_full_stop_after_an_abbreviation_does_not_end_the_sentence(language, expected):
    assert split(" ".join(expected), language) == expected


def test_a_closing_quote_after_the_full_stop_stays_with_its_sentence():
    expected = [
        "Le ministre a dit : « Nous livrerons les Tu-22M3. »",
        "« Le Kinjal vole vite », a répondu le Col. Roux.",
        "Personne ne l’a cru.",
    ]
    assert split(" ".join(expected), "fr") == expected


def test_an_opening_quote_starts_the_sentence_it_opens():
    expected = ["The pilots landed.", '"We will fly again," one said.', "'Soon,' said another."]
    assert split(" ".join(expected)) == expected


def test_decimal_numbers_and_initials_do_not_end_a_sentence():
    expected = [
        "The missile reaches Mach 3.5 and the bomber flew for 10.5 hours, J. Ward said.",
        "The U.S. Navy disagreed with A. B. Stone.",
        "Nobody else spoke.",
    ]
    assert split(" ".join(expected)) == expected


@pytest.mark.parametrize(
    "language, expected",
    [
        (
            "ru",
            [
                "Самолёт Ту-160 взлетел с аэродрома Энгельс.",
                "Ракета «Калибр» пролетела 2,5 тыс. км.",
            ],
        ),
        ("uk", ["Ракету «Кинджал» збили над Києвом.", "Росія це заперечує!", "Чому?"]),
    ],
)
def test_cyrillic_sentences_end_at_their_terminals(language, expected):
    assert split(" ".join(expected), language) == expected


def test_a_paragraph_without_terminal_punctuation_is_one_sentence_to_its_last_word():
    text = "  Les Tu-160 de la base d’Engels\nLe ministère confirme le vol  \n\nSuite."
    assert split(text, "fr") == [
        "Les Tu-160 de la base d’Engels\nLe ministère confirme le vol",
        "Suite.",
    ]


def test_no_sentence_runs_across_a_paragraph_break():
    text = "Le Tu-95 a décollé.\n\n» Le Tu-160 aussi, selon le ministère.\n\nFin"
    assert split(text, "fr") == [
        "Le Tu-95 a décollé.",
        "» Le Tu-160 aussi, selon le ministère.",
        "Fin",
    ]


def test_a_paragraph_is_cut_after_a_plain_word_a_terminal_and_a_capital():
    text = "The jets left. The mock-up stayed! « Les avions » were seen? Officials said so."
    assert [text[cut:].split()[0] for cut in certain_ends(text, 0, len(text))] == [
        "The",
        "«",
        "Officials",
    ]


def test_cuts_are_looked_for_only_until_the_last_span_wanted():
    text = "The jets left. The mock-up stayed! « Les avions » were seen? Officials said so."
    cuts = [text.index("The mock"), text.index("« Les"), text.index("Officials")]
    assert certain_ends(text, 0, len(text), until=text.index("mock-up")) == cuts[:2]
    assert certain_ends(text, 0, len(text), until=cuts[1]) == cuts[:2]
    assert certain_ends(text, 0, len(text), until=0) == cuts[:1]


@pytest.mark.parametrize(
    "text",
    [
        "It was Gen. Smith there.",  # an abbreviation of syntok's
        "Le Gén. Dupont est là.",  # one of the fixes
        "Seen by J. Smith today.",  # an initial
        "It was plan b. Then it failed.",  # a single letter
        "Its speed was Mach 3. Nobody knew.",  # a number
        "Chapter II. The end.",  # a Roman numeral
        "Look at no. Five is next.",  # "no." before a word
        "The base (near the coast. Still open) is quiet.",  # inside brackets
        'He left. "We will win," he said.',  # a quote that the fix would move
        "He left.» Next.",  # no space after the terminal
        "It was the iPhone. Next one.",  # a word syntok splits in two
    ],
)
def test_no_certain_end_after_an_abbreviation_initial_number_or_inside_brackets(text):
    cuts = certain_ends(text, 0, len(text))
    assert cuts == [], [text[cut:] for cut in cuts]


FRAGMENTS = [
    *("the", "days", "mock-up", "up", "b", "x-é", "env", "no", "etc", "km", "sept", "dr", "e.g", "ок"),
    *("The", "Le", "Smith", "NATO", "II", "J", "M", "No", "Gen", "Gén", "Adm", "Ген"),
    *("Київ", "iPhone", "Tu-160", "U.S", "3", "3.5", "1.500"),
    *(". ", ". ", ". ", "! ", "? ", "; ", "... ", "… ", ".» ", '." ', ".) ", ", ", ": "),
    *(" ", " ", " ", "\n", "\u200b", "\xa0", "(", ")", "[", "]", "«", "»", '"', "“", "„"),
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=60).map("".join))
def test_cutting_paragraphs_at_certain_ends_changes_no_sentence(text):
    whole = sorted(span for block in paragraphs(text) for span in segmented(text, *block))
    assert sentences(text) == whole


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=60).map("".join),
    st.floats(0, 1),
    st.integers(0, 40),
)
def test_the_sentence_around_a_span_is_the_one_the_whole_text_gives(text, where, length):
    start = min(int(where * len(text)), len(text) - 1)
    end = min(len(text), start + length)
    assume(not text[start].isspace())  # a mention starts on a word
    around = sentences(text, around=[(start, end)])
    assert set(around) <= set(sentences(text))
    assert sentence_or_span(around, start, end) == sentence_or_span(sentences(text), start, end)


def test_every_mention_sentence_of_the_seed_and_development_texts_is_found_around_it():
    texts = [(path.read_text(encoding="utf-8"), "fr") for path in CATALOG.glob("articles/*.txt")]
    corpus = (FIXTURES / "linking" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    texts += [(item["text"], item["lang"]) for item in map(json.loads, corpus)]
    for text, language in texts:
        whole = sentences(text, language)
        for word in {word for word in text.split() if word[:1].isupper()}:
            start = text.index(word)
            end = start + len(word)
            found = sentences(text, language, around=[(start, end)])
            assert set(found) <= set(whole)
            assert sentence_of(found, start, end) == sentence_of(whole, start, end)


def test_a_mention_in_a_paragraph_without_a_sentence_end_keeps_a_bounded_sentence(tmp_path):
    """A 150,000-character paragraph with no full stop is one sentence to syntok; each of its
    mentions keeps a window of the words around it, not the whole paragraph."""
    from refdb.compiling.compiler import build

    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "mini", catalog)
    body = " ".join(f"passage {i} of a report where a Tu-160 flew" for i in range(3_000))
    (catalog / "articles" / "bomber-note.txt").write_text(body + "\n")
    build(catalog, tmp_path / "refdb.db")
    rows = (
        sqlite3.connect(tmp_path / "refdb.db")
        .execute("select start, end, sentence_start, sentence from mentions")
        .fetchall()
    )
    assert len(rows) == 3_000
    for start, end, sentence_start, sentence in rows:
        assert len(sentence) <= MAX_SENTENCE_CHARS
        assert sentence_start <= start and end <= sentence_start + len(sentence)
        assert body[sentence_start : sentence_start + len(sentence)] == sentence
        assert sentence_start == 0 or body[sentence_start - 1] == " "  # cut at a word


@given(st.integers(0, 5_000), st.integers(1, 40))
def test_a_bounded_sentence_holds_its_mention(where, length):
    text = "x " * 5_000
    start = min(where, len(text) - length)
    first, last = bounded(text, (0, len(text)), start, start + length)
    assert first <= start and start + length <= last and last - first <= MAX_SENTENCE_CHARS
