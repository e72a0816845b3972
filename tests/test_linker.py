"""The linker: every system named in an article, at the exact span of the article's own words."""

from __future__ import annotations

import pytest

from refdb import linker
from refdb.schema import SystemEntry
from refdb.validate import validate_catalog

from conftest import CATALOG


@pytest.fixture(scope="module")
def catalog():
    return validate_catalog(CATALOG)


@pytest.fixture(scope="module")
def catalog_linker(catalog):
    return linker.Linker(catalog.systems)


def entry(system_id: str, *names: str, nato: str | None = None) -> SystemEntry:
    """A minimal valid entry whose first name is its designation and the rest aliases."""
    return SystemEntry.model_validate(
        {
            "id": system_id,
            "name": names[0],
            "designations": [names[0]],
            "nato_reporting_name": nato,
            "category": "fighter",
            "country": "RU",
            "description": "Test entry.",
            "entry_sources": ["s"],
            "sources": {"s": {"title": "T", "publisher": "P"}},
            "aliases": [{"text": n, "lang": "en", "kind": "designation"} for n in names[1:]],
        }
    )


def linked(link: linker.Linker, text: str) -> list[tuple[str, str]]:
    return [(text[h.start : h.end], h.name.system_id) for h in link.hits(text)]


def test_folding_keeps_every_offset():
    tricky = "Straße İstanbul Tu\u2011160 ﬁn Ǆ Kh\u201347M2\u00a0et\u202fMiG-31 Œuvre"
    folded = linker.fold(tricky)
    assert len(folded) == len(tricky)
    assert folded == "straße istanbul tu-160 ﬁn ǆ kh-47m2 et mig-31 œuvre"


@pytest.mark.parametrize(
    "text, exact, system_id",
    [
        ("les bombardiers Tu-160 qui", "Tu-160", "tu-160"),
        ("un Tu\u2011160 (trait d’union insécable)", "Tu\u2011160", "tu-160"),
        ("le TU-160 russe", "TU-160", "tu-160"),
        ("le Tu 160 russe", "Tu 160", "tu-160"),
        ("le Tu160 russe", "Tu160", "tu-160"),
        ("le Tu\u2013160 russe", "Tu\u2013160", "tu-160"),
        ("le Ту-160 russe", "Ту-160", "tu-160"),
        ("le missile Kinjal", "Kinjal", "kh-47m2-kinzhal"),
        ("un Kh\u201147M2\u00a0lancé", "Kh\u201147M2", "kh-47m2-kinzhal"),
        ("les Tu-22M3 et", "Tu-22M3", "tu-22m"),
        ("les bombardiers Tu-22 qui", "Tu-22", "tu-22m"),
        ("un MiG-31K armé", "MiG-31K", "mig-31"),
        ("la frégate Amiral Shaposhnikov.", "Amiral Shaposhnikov", "marshal-shaposhnikov"),
        ("the Admiral Shaposhnikov sailed", "Admiral Shaposhnikov", "marshal-shaposhnikov"),
        ("le Maréchal Chapochnikov", "Maréchal Chapochnikov", "marshal-shaposhnikov"),
        ("des missiles Kalibr tirés", "Kalibr", "kalibr"),
    ],
)
def test_surface_variants_link_to_the_entry_at_the_exact_span(
    catalog_linker, text, exact, system_id
):
    assert linked(catalog_linker, text) == [(exact, system_id)]


def test_longest_valid_match_wins_and_boundaries_hold():
    link = linker.Linker(
        [
            entry("tu-95", "Tu-95", "Tu-95 MS"),
            entry("s-400", "S-400"),
            entry("tu-22m", "Tu-22M", "Tu-22M3", "Tu-22"),
        ]
    )
    assert linked(link, "Tu-95 MSM") == [("Tu-95", "tu-95")]
    assert linked(link, "Tu-95 MS") == [("Tu-95 MS", "tu-95")]
    assert linked(link, "S-4000 and S-400") == [("S-400", "s-400")]
    assert linked(link, "Tu-22M3, Tu-22M, Tu-22") == [
        ("Tu-22M3", "tu-22m"),
        ("Tu-22M", "tu-22m"),
        ("Tu-22", "tu-22m"),
    ]
    assert linked(link, "Tu-22M5") == []


def test_case_sensitive_names_match_only_as_written():
    link = linker.Linker([entry("tu-95", "Tu-95", nato="Bear")])
    assert linked(link, "a Bear flew; a bear walked; BEAR") == [("Bear", "tu-95")]


def test_every_seed_system_is_mentioned_in_the_seed_article(catalog, catalog_linker):
    article = next(a for a in catalog.articles if a.entry.id == "kim-russia-2023-09")
    mentions = linker.link_article(catalog_linker, article.entry, article.text)
    found = {m.system_id for m in mentions}
    assert {
        "tu-160",
        "tu-95",
        "tu-22m",
        "kh-47m2-kinzhal",
        "mig-31",
        "kalibr",
        "marshal-shaposhnikov",
    } <= found
    for mention in mentions:
        assert article.text[mention.start : mention.end] == mention.exact
        assert article.text[mention.sentence_start : mention.sentence_end].count(mention.exact) >= 1


def test_the_seed_article_is_linked_exactly(catalog, catalog_linker):
    article = next(a for a in catalog.articles if a.entry.id == "kim-russia-2023-09")
    mentions = linker.link_article(catalog_linker, article.entry, article.text)
    assert [(m.system_id, m.exact, m.name_kind, m.origin) for m in mentions] == [
        ("tu-160", "Tu-160", "designation", "alias"),
        ("tu-95", "Tu-95", "designation", "alias"),
        ("tu-22m", "Tu-22", "press-shorthand", "alias"),
        ("tu-160", "Tu-160", "designation", "alias"),
        ("kh-47m2-kinzhal", "Kinzhal", "transliteration", "alias"),
        ("mig-31", "MiG-31", "designation", "alias"),
        ("marshal-shaposhnikov", "Amiral Shaposhnikov", "misnomer", "alias"),
        ("marshal-shaposhnikov", "navire", None, "curator"),
        ("kalibr", "Kalibr", "name", "alias"),
    ]


def test_no_person_or_place_is_linked_in_the_seed_article(catalog, catalog_linker):
    article = next(a for a in catalog.articles if a.entry.id == "kim-russia-2023-09")
    exact = {m.exact for m in linker.link_article(catalog_linker, article.entry, article.text)}
    for word in (
        "Kim",
        "Choïgu",
        "Choïgou",
        "Shoigu",
        "Kobylash",
        "Yevmenov",
        "Vladivostok",
        "Primorye",
        "KCNA",
    ):
        assert not any(word in e for e in exact)


def test_sentences_keep_abbreviations_and_quotes_together():
    text = "Le Gén. Dupont a vu les Tu-160, Tu-95 et Tu-22. M. Choïgou a dit « Bonjour. » Puis cf. la suite."
    assert [text[a:b] for a, b in linker.sentences(text, "fr")] == [
        "Le Gén. Dupont a vu les Tu-160, Tu-95 et Tu-22.",
        "M. Choïgou a dit « Bonjour. » Puis cf. la suite.",
    ]
