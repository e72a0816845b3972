"""The linker: every system named in an article, at the exact span of the article's own words."""

from __future__ import annotations

import shutil

import pytest

from refdb import linker, report
from refdb.errors import CatalogError
from refdb.schema import SystemEntry
from refdb.validate import validate_catalog

from conftest import CATALOG, FIXTURES, SEED_IDS


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
        ("les Tu-22M3 et", "Tu-22M3", "tu-22m3"),
        ("les bombardiers Tu-22 qui", "Tu-22", "tu-22m"),
        ("un MiG-31K armé", "MiG-31K", "mig-31k"),
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
    assert linked(link, "Tu-95 MSM") == [("Tu-95 MSM", "tu-95")]  # a variant of the entry
    assert linked(link, "Tu-95 MS") == [("Tu-95 MS", "tu-95")]
    assert linked(link, "Tu-950 and Tu-95 is") == [("Tu-95", "tu-95")]
    assert linked(link, "S-4000 and S-400") == [("S-400", "s-400")]
    assert linked(link, "Tu-22M3, Tu-22M, Tu-22") == [
        ("Tu-22M3", "tu-22m"),
        ("Tu-22M", "tu-22m"),
        ("Tu-22", "tu-22m"),
    ]
    assert linked(link, "Tu-22M5") == [("Tu-22M5", "tu-22m")]  # the most specific entry
    assert linked(link, "Tu-220, Tu-2M and S-4000M") == []


def test_case_sensitive_names_keep_their_capitals_and_may_be_all_caps():
    link = linker.Linker([entry("tu-95", "Tu-95", nato="Bear")])
    text = "a Bear flew; a bear walked; BEAR; bEAR"
    assert linked(link, text) == [("Bear", "tu-95"), ("BEAR", "tu-95")]


def test_every_seed_system_is_mentioned_in_the_seed_article(catalog, catalog_linker):
    article = next(a for a in catalog.articles if a.entry.id == "kim-russia-2023-09")
    mentions = linker.link_article(catalog_linker, article.entry, article.text)
    found = {m.system_id for m in mentions}
    assert found >= SEED_IDS
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
        ("kh-bd", "nouveaux missiles de croisière", None, "curator"),
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
    text = (
        "Le Gén. Dupont a vu les Tu-160, Tu-95 et Tu-22. M. Choïgou a dit « Bonjour. » "
        "Puis cf. la suite… et env. 3 jours plus tard, l’Adm. Yevmenov est parti."
    )
    assert [text[a:b] for a, b in linker.sentences(text, "fr")] == [
        "Le Gén. Dupont a vu les Tu-160, Tu-95 et Tu-22.",
        "M. Choïgou a dit « Bonjour. »",
        "Puis cf. la suite… et env. 3 jours plus tard, l’Adm. Yevmenov est parti.",
    ]


@pytest.fixture
def english_catalog(tmp_path):
    """The real catalog plus the English test article."""
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG, root)
    shutil.copytree(FIXTURES / "english" / "articles", root / "articles", dirs_exist_ok=True)
    return root


def english_mentions(root):
    catalog = validate_catalog(root)
    [article] = [a for a in catalog.articles if a.entry.id == "bomber-review"]
    return article, linker.link_article(linker.Linker(catalog.systems), article.entry, article.text)


def test_english_press_spellings_are_linked(english_catalog):
    article, mentions = english_mentions(english_catalog)
    assert [(m.system_id, m.exact) for m in mentions] == [
        ("tu-160", "Tu\u2011160"),
        ("tu-95ms", "Tu-95MS"),
        ("tu-22m3", "Tu-22M3"),
        ("tu-160", "TU-160"),
        ("tu-160", "Tu-160M"),
        ("mig-31k", "MiG-31I"),
        ("kh-47m2-kinzhal", "Kh-47M2"),
        ("kh-47m2-kinzhal", "Kinzhal"),
        ("marshal-shaposhnikov", "Marshal Shaposhnikov"),
        ("marshal-shaposhnikov", "Admiral Shaposhnikov"),
        ("kalibr", "3M-14"),
        ("kalibr", "Kalibr-NK"),
        ("kh-101", "Kh-101"),
        ("kh-101", "X-101"),
    ]
    for mention in mentions:
        assert article.text[mention.start : mention.end] == mention.exact


def test_curator_corrections_survive_an_edit_earlier_in_the_article(english_catalog):
    text_path = english_catalog / "articles" / "bomber-review.txt"
    header = english_catalog / "articles" / "bomber-review.yaml"
    header.write_text(
        header.read_text()
        + "  include:\n    - {exact: the frigate, prefix: 'toured ', system: marshal-shaposhnikov}\n"
    )
    _, before = english_mentions(english_catalog)
    opening = "A new opening paragraph, with a Kinzhal in it.\n\n"
    text_path.write_text(opening + text_path.read_text())
    article, after = english_mentions(english_catalog)
    shift = len(opening)
    kept = [(m.system_id, m.exact, m.start + shift) for m in before]
    assert [(m.system_id, m.exact, m.start) for m in after][1:] == kept
    assert (after[0].exact, after[0].start) == ("Kinzhal", opening.index("Kinzhal"))
    assert ("marshal-shaposhnikov", "the frigate", "curator") in {
        (m.system_id, m.exact, m.origin) for m in after
    }
    assert "ship-borne Kinzhal" not in {article.text[m.start - 11 : m.end] for m in after}


@pytest.mark.parametrize(
    "text, found",
    [
        ("the Su-57 and the S-400", ["Su-57", "S-400"]),
        ("a 3M-14, a MiG-31K and an SS-N-27", ["3M-14", "MiG-31K", "SS-N-27"]),
        ("the Kh\u2011101 with a no-break hyphen", ["Kh\u2011101"]),
        ("Kim 2023, COVID-19, 4 040 milles, 6,500 km", []),
    ],
)
def test_designation_pattern_finds_what_looks_like_a_weapon(text, found):
    assert [m.group() for m in report.DESIGNATION.finditer(text)] == found


def test_report_lists_unlinked_designations_and_unmentioned_entries(english_catalog):
    result = report.build_report(english_catalog)
    assert [(u.text, u.count, u.articles) for u in result.unlinked_designations] == [
        ("S-4000", 1, ["bomber-review"]),
        ("Su-57", 1, ["bomber-review"]),
    ]
    assert result.unlinked_designations[1].example.startswith("Analysts noted that the S-4000")
    assert result.never_mentioned == ["udaloy-class"]
    assert result.articles_without_mentions == []


def test_a_context_required_name_links_only_near_its_context_words():
    kinzhal = SystemEntry.model_validate(
        {
            "id": "kh-47m2-kinzhal",
            "name": "Kh-47M2",
            "designations": ["Kh-47M2"],
            "category": "fighter",
            "country": "RU",
            "description": "Test entry.",
            "entry_sources": ["s"],
            "sources": {"s": {"title": "T", "publisher": "P"}},
            "aliases": [
                {
                    "text": "Kinzhal",
                    "lang": "en",
                    "kind": "transliteration",
                    "context": ["missile", "hypersonique", "MiG-31"],
                }
            ],
        }
    )
    link = linker.Linker([kinzhal])
    assert linked(link, "le Kinzhal hypersonique") == [("Kinzhal", "kh-47m2-kinzhal")]
    assert linked(link, "a MiG‑31 carrying a Kinzhal") == [("Kinzhal", "kh-47m2-kinzhal")]
    assert linked(link, "the frigate's Kinzhal air-defence system") == []
    assert linked(link, "missiles and a Kinzhal") == []  # whole words only


def test_a_curator_may_link_the_same_words_to_a_second_system(english_catalog):
    header = english_catalog / "articles" / "bomber-review.yaml"
    header.write_text(header.read_text() + "  include:\n    - {exact: Tu-22M3, system: tu-22m}\n")
    _, mentions = english_mentions(english_catalog)
    both = [(m.system_id, m.id) for m in mentions if m.exact == "Tu-22M3"]
    assert [system for system, _ in both] == ["tu-22m", "tu-22m3"]
    assert len({mention_id for _, mention_id in both}) == 2


def test_an_inclusion_the_linker_already_makes_is_an_error(english_catalog):
    header = english_catalog / "articles" / "bomber-review.yaml"
    header.write_text(header.read_text() + "  include:\n    - {exact: Tu-22M3, system: tu-22m3}\n")
    with pytest.raises(
        CatalogError, match="'Tu-22M3' is already linked to tu-22m3; remove this inclusion"
    ):
        linker.link_catalog(validate_catalog(english_catalog))
