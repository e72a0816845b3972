"""The linker: every system named in an article, at the exact span of the article's own words."""

from __future__ import annotations

import shutil

import pytest

from refdb import report
from refdb.catalog.schema import SystemEntry
from refdb.catalog.validate import validate_catalog
from refdb.errors import CatalogError
from refdb.linking import linker
from refdb.linking.articles import link_catalog

from conftest import CATALOG, FIXTURES, SEED_LINKED


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
    assert found == SEED_LINKED
    for mention in mentions:
        assert article.text[mention.start : mention.end] == mention.exact
        assert article.text[mention.sentence_start : mention.sentence_end].count(mention.exact) >= 1


def test_the_seed_article_is_linked_exactly(catalog, catalog_linker):
    article = next(a for a in catalog.articles if a.entry.id == "kim-russia-2023-09")
    mentions = linker.link_article(catalog_linker, article.entry, article.text)
    assert [(m.system_id, m.exact, m.name_kind, m.origin) for m in mentions] == [
        ("tu-160", "Tu-160", "designation", "alias"),
        ("tu-95ms", "Tu-95", None, "curator"),  # the aircraft shown: the anchors say which
        ("tu-22m3", "Tu-22", None, "curator"),
        ("tu-160", "Tu-160", "designation", "alias"),
        ("kh-bd", "nouveaux missiles de croisière", None, "curator"),
        ("kh-47m2-kinzhal", "Kinzhal", "transliteration", "alias"),
        ("mig-31k", "MiG-31", None, "curator"),
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
        ("3m-14", "3M-14"),  # the land-attack missile of the Kalibr family has its own entry
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
        ("Iskander-M, S-400 und Geran-2", ["Iskander-M", "S-400", "Geran-2"]),
        ("die Iskander-M-Stellung, Pantsir-S1s", ["Iskander-M", "Pantsir-S1s"]),
        ("Герань-2 и Искандер-М", ["Герань-2", "Искандер-М"]),
    ],
)
def test_designation_pattern_finds_what_looks_like_a_weapon(text, found):
    assert [m.group() for m in report.DESIGNATION.finditer(text)] == found


@pytest.mark.parametrize(
    "text, language, found",
    [
        ("le missile « Sarmat » a été testé", "fr", ["Sarmat"]),
        ("ракетный комплекс «Сармат» и ракета Буревестник", "ru", ["Сармат", "Буревестник"]),
        ("the 'Sarmat' missile and the Russian missile", "en", ["Sarmat"]),
        ("die „Sarmat“-Rakete", "de", ["Sarmat"]),
        ("neue Raketen vom Typ „Sarmat“", "de", ["Sarmat"]),
        ("ракета типа «Сармат»", "ru", ["Сармат"]),
        ("les missiles russes", "fr", []),
        ("z fregaty Admirał Gorszkow wystrzelono", "pl", ["Admirał Gorszkow"]),
        ("la fregata Admiral Gorškov. Poi", "it", ["Admiral Gorškov"]),
    ],
)
def test_a_name_after_a_class_word_is_a_name_no_entry_may_claim(text, language, found):
    assert [text[a:b] for a, b in report.unclaimed(text, language, [])] == found


def test_report_lists_unlinked_designations_and_unmentioned_entries(english_catalog):
    result = report.build_report(english_catalog)
    assert [(u.text, u.count, u.articles) for u in result.unlinked_designations] == [
        ("S-4000", 1, ["bomber-review"]),
        ("Su-57", 1, ["bomber-review"]),
    ]
    assert result.unlinked_designations[1].example.startswith("Analysts noted that the S-4000")
    assert {"udaloy-class", "kh-22", "oreshnik"} <= set(result.never_mentioned)  # named nowhere
    assert not {"tu-160", "3m-14", "kh-101"} & set(result.never_mentioned)
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
        link_catalog(validate_catalog(english_catalog))


# Linking real press: the forms a name takes in other languages, and the words around it.


def system(system_id: str, name: str, *aliases: dict, **fields) -> SystemEntry:
    """A valid entry with full alias records (text, lang, kind and options)."""
    return SystemEntry.model_validate(
        {
            "id": system_id,
            "name": name,
            "category": "cruise-missile",
            "country": "RU",
            "description": "Test entry.",
            "entry_sources": ["s"],
            "sources": {"s": {"title": "T", "publisher": "P"}},
            "aliases": [{"lang": "en", "kind": "designation", **a} for a in aliases],
            **fields,
        }
    )


def hits(link: linker.Linker, text: str, language: str = "en") -> list[tuple[str, str, str]]:
    return [
        (text[h.start : h.end], h.name.system_id, h.rule)
        for h in link.hits(text, language=language)
    ]


@pytest.fixture(scope="module")
def russian():
    """Entries with the native names the forms are derived from."""
    return linker.Linker(
        [
            system(
                "kalibr", "Kalibr",
                {"text": "Калибр", "lang": "ru", "kind": "native", "case_sensitive": True,
                 "not_context": ["мм", "орудия"]},
            ),
            system(
                "kinzhal", "Kh-47M2 Kinzhal", {"text": "Kinzhal", "kind": "transliteration"},
                {"text": "Кинжал", "lang": "ru", "kind": "native"},
                {"text": "Х-47М2", "lang": "ru", "kind": "native"},
                {"text": "Killjoy", "kind": "nato-name", "case_sensitive": True},
            ),
            system(
                "shaposhnikov", "Marshal Shaposhnikov",
                {"text": "Маршал Шапошников", "lang": "ru", "kind": "native"},
                {"text": "Amiral Shaposhnikov", "lang": "fr", "kind": "misnomer"},
                not_context=["Boris", "Генштаб*", "General Staff"],
            ),
            system("tu-160", "Tupolev Tu-160", {"text": "Ту-160", "lang": "ru", "kind": "native"},
                   {"text": "Blackjack", "kind": "nato-name", "case_sensitive": True}),
            system("mig-31", "MiG-31", {"text": "МиГ-31", "lang": "ru", "kind": "native"},
                   {"text": "MiG-31K", "kind": "designation"}),
            system("tu-22m", "Tu-22M", {"text": "Tu-22M3", "kind": "designation"}),
            system("tu-95", "Tu-95", {"text": "Tu-95MS"}),
            system("kh-101", "Kh-101"),
            system("3m-14", "3M-14"),
        ]
    )  # fmt: skip


def test_english_plurals_and_possessives_link_the_entry(russian):
    text = "Two Tu-95s, three Kinzhals, the MiG-31Ks, Kh-101s and the Tu-160's range."
    assert [(exact, system_id) for exact, system_id, _ in hits(russian, text)] == [
        ("Tu-95s", "tu-95"),
        ("Kinzhals", "kinzhal"),
        ("MiG-31Ks", "mig-31"),
        ("Kh-101s", "kh-101"),
        ("Tu-160", "tu-160"),
    ]
    assert all(rule.endswith("ending") for _, _, rule in hits(russian, text)[:4])


def test_a_form_still_ends_at_a_word_end(russian):
    assert hits(russian, "Tu-1600, МиГ-310, Kh-1010 and Kinzhalovich") == []


def test_russian_and_ukrainian_case_forms_come_from_the_dictionary(russian):
    assert hits(russian, "ударил Калибром с «Маршала Шапошникова»", "ru") == [
        ("Калибром", "kalibr", "inflection:ru"),
        ("Маршала Шапошникова", "shaposhnikov", "inflection:ru"),
    ]
    assert hits(russian, "вдарила Калібрами, а МіГ-31 і Кинджал", "uk") == [
        ("Калібрами", "kalibr", "inflection:uk"),
        ("МіГ-31", "mig-31", "ukrainian"),
        ("Кинджал", "kinzhal", "ukrainian"),
    ]


def test_cyrillic_designations_take_their_hyphenated_endings(russian):
    assert hits(russian, "два Ту-160-х вылетели", "ru") == [
        ("Ту-160-х", "tu-160", "catalog+ending")
    ]


def test_slavic_endings_apply_only_in_a_language_that_declines_names(russian):
    assert hits(russian, "z Kinzhalem i Kalibrami", "pl") == [
        ("Kinzhalem", "kinzhal", "catalog+ending"),
        ("Kalibrami", "kalibr", "romanization:pl"),  # Калибрами, romanized the Polish way
    ]
    assert hits(russian, "z Kinzhalem", "en") == []


@pytest.mark.parametrize(
    "written, rule",
    [
        ("Kinjal", "romanization:fr"),
        ("Kinschal", "romanization:de"),
        ("Kinżał", "romanization:pl"),
        ("Kinžal", "romanization:cs"),
        ("Marszała Szaposznikowa", "romanization:pl"),  # a Russian genitive, Polish spelling
        ("Kindschal", "romanization:de"),  # the German spelling of the Ukrainian Кинджал
        ("Tou-160", "romanization:fr"),
        ("Ch-47M2", "romanization:de"),
        ("Tupolev-160", "designer+romanization:en"),
        ("Marschall Schaposchnikow", "translation:de+romanization:de"),
    ],
)
def test_each_press_romanizes_the_native_name_by_its_own_table(russian, written, rule):
    [(exact, _, found_rule)] = hits(russian, f"— {written} —", "de")
    assert exact == written
    # Spellings two tables share fold to one form; the first table that makes it names it.
    assert found_rule.split(":")[0] == rule.split(":")[0]


def test_catalog_words_combine_with_romanizations(russian):
    """The French misnomer "Amiral Shaposhnikov" also yields "Amiral Chapochnikov"."""
    assert hits(russian, "la frégate Amiral Chapochnikov", "fr") == [
        ("Amiral Chapochnikov", "shaposhnikov", "romanization:fr")
    ]
    assert hits(russian, "El Almirante Shaposhnikov", "es")[0][:2] == (
        "Almirante Shaposhnikov",
        "shaposhnikov",
    )


def test_all_caps_names_link_and_common_words_do_not(russian):
    text = "FOXHOUND and AS-24 KILLJOY; a BLACKJACK; a blackjack table; a Killjoy; killjoy"
    assert [(e, s) for e, s, _ in hits(russian, text)] == [
        ("KILLJOY", "kinzhal"),
        ("BLACKJACK", "tu-160"),
        ("Killjoy", "kinzhal"),
    ]
    assert hits(russian, "KILLJOY")[0][2] == "catalog+caps"


def test_spacing_variants_are_the_same_letters(russian):
    text = "a Black Jack, a Tu-95 MS, a Tu 160 and a Tu160"
    assert [(e, s, r) for e, s, r in hits(russian, text)] == [
        ("Black Jack", "tu-160", "catalog+spacing"),
        ("Tu-95 MS", "tu-95", "catalog+spacing"),
        ("Tu 160", "tu-160", "romanization:en+spacing"),  # from the native Ту-160
        ("Tu160", "tu-160", "romanization:en+spacing"),
    ]


def test_variant_letters_link_the_most_specific_entry(russian):
    text = "Tu-22M3M, 3M-14T, Tu-160M2, Tu-160 M2, Tu-95MSM; KH-101 IS"
    assert [(e, s) for e, s, _ in hits(russian, text)] == [
        ("Tu-22M3M", "tu-22m"),
        ("3M-14T", "3m-14"),
        ("Tu-160M2", "tu-160"),
        ("Tu-160 M2", "tu-160"),
        ("Tu-95MSM", "tu-95"),
        ("KH-101", "kh-101"),
    ]


def test_a_stress_mark_is_ignored_and_the_span_keeps_it(russian):
    text = "корабль «Маршал Ша\u0301пошников» вернулся"
    [(exact, system_id, _)] = hits(russian, text, "ru")
    assert (exact, system_id) == ("Маршал Ша\u0301пошников", "shaposhnikov")


def test_not_context_tells_a_namesake_from_the_system(russian):
    assert hits(russian, "Marshal Boris Shaposhnikov headed the General Staff") == []
    assert hits(russian, "Маршал Шапошников, начальник Генштаба РККА", "ru") == []
    assert hits(russian, "Калибр орудия 152 мм", "ru") == []  # a gun's calibre
    assert hits(russian, "Калибр", "ru") == [("Калибр", "kalibr", "catalog")]
    assert hits(russian, "калибр ракеты", "ru") == []  # lower case: the common noun


def test_a_quoted_name_is_the_system_whatever_its_sentence_says_of_the_common_word(russian):
    # The press quotes a missile's or a ship's name; a gun's calibre in the same sentence
    # does not make the quoted word the common noun.
    sentence = "Фрегат несёт «Калибры», но калибр его орудия — 100 мм."
    assert hits(russian, sentence, "ru") == [("Калибры", "kalibr", "inflection:ru+quoted-name")]
    assert hits(russian, "Фрегат несёт « Калибр » и два орудия.", "ru") == [
        ("Калибр", "kalibr", "catalog+quoted-name")
    ]
    assert hits(russian, "Фрегат несёт Калибры и два орудия.", "ru") == []  # unquoted: vetoed
    assert hits(russian, "Фрегат несёт «Калибры и два орудия».", "ru") == []  # not alone in them


def test_context_words_are_judged_in_the_names_own_sentence(russian):
    person = "Boris Shaposhnikov led the General Staff. "
    ship = "Marshal Shaposhnikov sailed from Vladivostok on Monday."
    assert hits(russian, person + ship) == [("Marshal Shaposhnikov", "shaposhnikov", "catalog")]
    assert hits(russian, ship + " Boris Shaposhnikov died in 1945.") == [
        ("Marshal Shaposhnikov", "shaposhnikov", "catalog")
    ]
    assert hits(russian, "Marshal Boris Shaposhnikov sailed from Vladivostok.") == []


def test_a_name_needing_context_counts_where_the_article_names_its_system_plainly():
    kinzhal = system(
        "kinzhal", "Kh-47M2", {"text": "Kinzhal", "kind": "transliteration", "context": ["missile"]}
    )
    link = linker.Linker([kinzhal])
    assert hits(link, "Kinzhal strikes resumed.") == []
    assert [h[0] for h in hits(link, "A Kh-47M2 was fired at dawn. Kinzhal strikes resumed.")] == [
        "Kh-47M2",
        "Kinzhal",
    ]
    both = "The Kinzhal missile flew at dawn. A second Kinzhal followed at noon."
    assert [h[0] for h in hits(link, both)] == ["Kinzhal", "Kinzhal"]  # one sense per article


def test_an_alias_scoped_to_one_press_is_a_name_only_there():
    tu22m = system(
        "tu-22m", "Tu-22M",
        {"text": "Tu-22", "lang": "fr", "kind": "press-shorthand", "used_in": ["fr"]},
    )  # fmt: skip
    link = linker.Linker([tu22m])
    assert hits(link, "Des Tu-22 ont frappé Dnipro.", "fr") == [("Tu-22", "tu-22m", "catalog")]
    assert hits(link, "Tu-22 z lat 60. stoi w muzeum.", "pl") == []
    assert hits(link, "A Tu-22M flew.", "en") == [("Tu-22M", "tu-22m", "catalog")]


def test_a_word_typed_in_two_scripts_reads_as_its_script(russian):
    latin_a = "Кинж\u00e1л"  # an accented Latin a inside a Cyrillic word
    assert hits(russian, f"Ракета {latin_a} запущена", "ru") == [
        (latin_a, "kinzhal", "catalog+mixed-script")
    ]
    assert hits(
        russian, "ракеты Kалибр", "ru"
    )  # a Latin K[0][1:] == ("kalibr", "catalog+mixed-script")
    assert linker.unmixed("Tu-160 и Ту-160") == "Tu-160 и Ту-160"  # one script a word: untouched


@pytest.mark.parametrize(
    "text, exact, rule",
    [
        ("Piloci MiG-a-31K wystartowali.", "MiG-a-31K", "inflection-inside:pl"),
        ("Baterie Iskandera-M rozmieszczono.", "Iskandera-M", "inflection-inside:pl"),
        ("Dwa Białe Łabędzie przeleciały.", "Białe Łabędzie", "inflection:pl"),
        ("Pisano o Białym Łabędziu.", "Białym Łabędziu", "inflection:pl"),
        ("Na pokładzie Marszałka Szaposznikowa.", "Marszałka Szaposznikowa", "+inflection:pl"),
        ("Zestrzelono Blackjacka.", "Blackjacka", "catalog+ending"),
    ],
)
def test_the_polish_press_declines_names_inside_and_in_agreement(text, exact, rule):
    polish = linker.Linker(
        [
            system("mig-31k", "MiG-31K"),
            system("iskander-m", "Iskander-M"),
            system(
                "tu-160", "Tu-160",
                {"text": "Biały Łabędź", "lang": "pl", "kind": "nickname"},
                {"text": "Blackjack", "kind": "nato-name", "case_sensitive": True},
            ),
            system(
                "shaposhnikov", "Marshal Shaposhnikov",
                {"text": "Маршал Шапошников", "lang": "ru", "kind": "native"},
            ),
        ]
    )  # fmt: skip
    [(found, _, how)] = hits(polish, text, "pl")
    assert found == exact and how.endswith(rule)


def test_a_long_name_typed_with_one_slip_is_still_the_name():
    link = linker.Linker(
        [
            system("shaposhnikov", "Marshal Shaposhnikov"),
            system("oreshnik", "Oreshnik"),
            system("tu-16", "Tu-16"),
            system("tu-160", "Tu-160"),
            system("bear", "Bear", {"text": "Blackjack", "case_sensitive": True}),
        ]
    )
    assert hits(link, "The Marshall Shaposhnikov docked.") == [
        ("Marshall Shaposhnikov", "shaposhnikov", "near-spelling")
    ]
    assert hits(link, "An Oreshnk was fired.") == [("Oreshnk", "oreshnik", "near-spelling")]
    assert [h[1] for h in hits(link, "A Tu-16 and a Tu-160.")] == ["tu-16", "tu-160"]  # digits
    assert hits(link, "A Blackjak flew.") == [("Blackjak", "bear", "near-spelling")]
    assert hits(link, "He lost at blackjak.") == []  # a slip keeps the name's capitals


def test_the_english_press_romanizes_as_passports_and_maps_do(russian):
    nickname = system(
        "tu-160", "Tu-160", {"text": "Белый лебедь", "lang": "ru", "kind": "nickname"}
    )
    link = linker.Linker([nickname])
    for written, rule in [
        ("Belyi Lebed", "romanization:en-icao"),
        ("Beliy Lebed", "romanization:en-yandex"),
    ]:
        assert hits(link, f"the {written} flew")[0] == (written, "tu-160", rule)


def test_a_german_compound_built_on_a_name_links_the_name():
    link = linker.Linker([system("iskander-m", "Iskander-M"), system("kalibr", "Kalibr")])
    assert hits(link, "Die Iskander-M-Stellung wurde getroffen.", "de")[0][:2] == (
        "Iskander-M",
        "iskander-m",
    )
    assert hits(link, "Kalibr-Marschflugkörper trafen Odessa.", "de")[0][:2] == ("Kalibr", "kalibr")


def test_a_name_that_is_an_ordinary_word_links_beside_a_word_for_its_class():
    kalibr = system(
        "kalibr", "Kalibr",
        {"text": "Club", "case_sensitive": True, "class_context": True},
        category="cruise-missile",
    )  # fmt: skip
    link = linker.Linker([kalibr])
    assert hits(link, "Le Club de Paris a rééchelonné la dette.", "fr") == []
    assert hits(link, "Un missile Club a été tiré.", "fr")[0][:2] == ("Club", "kalibr")
    assert hits(link, "Des Kalibr sont partis. Le Club a frappé.", "fr")[1][:2] == (
        "Club",
        "kalibr",
    )
    assert hits(link, "Ракета Club упала.", "ru")[0][0] == "Club"  # the class word in Russian


def test_an_alias_repeating_an_official_spelling_gives_it_its_options():
    kh101 = system(
        "kh-101", "Kh-101",
        {"text": "Kodiak", "kind": "nato-name", "case_sensitive": True, "class_context": True},
        nato_reporting_name="Kodiak",
    )  # fmt: skip
    link = linker.Linker([kh101])
    assert hits(link, "A Kodiak county official spoke.") == []
    assert hits(link, "A Kodiak cruise missile fell.")[0][:2] == ("Kodiak", "kh-101")


@pytest.mark.parametrize(
    "text, language, exact",
    [
        ("Экипажи Белых лебедей готовы.", "ru", "Белых лебедей"),
        ("Росіяни запустили Шахеди.", "uk", "Шахеди"),
        ("Удар двома Іскандерами.", "uk", "Іскандерами"),
        ("Пілоти МіГа-31К злетіли.", "uk", "МіГа-31К"),
        ("Los Cisnes blancos aterrizaron.", "es", "Cisnes blancos"),
        ("Les Cygnes blancs ont décollé.", "fr", "Cygnes blancs"),
        ("Die Piloten der Weißen Schwäne landeten.", "de", "Weißen Schwäne"),
        ("Mit dem Weißen Schwan flog er nach Engels.", "de", "Weißen Schwan"),
    ],
)
def test_names_are_declined_and_put_in_the_plural_as_each_press_does(text, language, exact):
    link = linker.Linker(
        [
            system(
                "tu-160", "Tu-160",
                {"text": "Белый лебедь", "lang": "ru", "kind": "nickname"},
                {"text": "Cisne blanco", "lang": "es", "kind": "nickname"},
                {"text": "Cygne blanc", "lang": "fr", "kind": "nickname"},
                {"text": "Weißer Schwan", "lang": "de", "kind": "nickname", "case_sensitive": True},
            ),
            system("shahed-136", "Shahed-136", {"text": "Шахед", "lang": "uk", "kind": "press-shorthand"}),
            system("iskander-m", "Iskander-M", {"text": "Іскандер", "lang": "uk", "kind": "press-shorthand"}),
            system("mig-31k", "MiG-31K", {"text": "МіГ-31К", "lang": "uk", "kind": "native"}),
        ]
    )  # fmt: skip
    found = hits(link, text, language)
    assert found and found[0][0] == exact, found


def test_context_words_with_a_star_match_any_ending():
    link = linker.Linker([system("kinzhal", "Kinzhal", not_context=["sol-air", "зенитн*"])])
    assert hits(link, "зенитный комплекс Kinzhal", "ru") == []
    assert hits(link, "missiles sol-air Kinzhal", "fr") == []
    assert hits(link, "le missile Kinzhal", "fr")[0][0] == "Kinzhal"


def test_a_curator_vetoes_a_generated_form(russian):
    vetoed = system(
        "kinzhal", "Kinzhal", {"text": "Кинжал", "lang": "ru", "kind": "native"},
        vetoed_forms=["Kinjal"],
    )  # fmt: skip
    link = linker.Linker([vetoed])
    assert hits(link, "le Kinjal", "fr") == []
    assert hits(link, "le Kinschal", "de")[0][0] == "Kinschal"


def test_a_veto_that_vetoes_nothing_is_a_positioned_error(mini_catalog):
    path = mini_catalog / "systems" / "tu-160.yaml"
    path.write_text(path.read_text() + "vetoed_forms: [Nothing-Like-It]\n")
    with pytest.raises(CatalogError) as caught:
        validate_catalog(mini_catalog)
    [problem] = caught.value.problems
    assert (problem.code, problem.path.endswith("tu-160.yaml")) == ("stale-veto", True)
    assert "remove the veto" in problem.message


def test_every_mention_records_the_form_and_rule_it_matched(catalog, catalog_linker):
    article = next(a for a in catalog.articles if a.entry.id == "kim-russia-2023-09")
    mentions = linker.link_article(catalog_linker, article.entry, article.text)
    linked_by_rule = [m for m in mentions if m.origin == "alias"]
    assert linked_by_rule and all(m.form and m.rule for m in linked_by_rule)
    curated = [m for m in mentions if m.origin == "curator"]
    assert all(m.rule == "curator" and m.form is None for m in curated)


def _scored(linker_, name: str):
    import sys

    sys.path.insert(0, str(CATALOG.parent / "benchmarks"))
    import linking_quality

    corpus = linking_quality.load_corpus(linking_quality.DEV_CORPUS.parent / name)
    assert {item["lang"] for item in corpus} >= {"en", "fr", "de", "ru", "uk", "pl", "es", "it"}
    return linking_quality.evaluate(linker_, corpus)


def test_the_development_corpus_meets_the_quality_targets(catalog_linker):
    """Sentences written for the linker in eight languages (tests/fixtures/linking/dev.jsonl),
    scored as benchmarks/linking_quality.py scores them: recall >= 0.97, precision >= 0.98,
    no decoy linked."""
    result = _scored(catalog_linker, "dev.jsonl")
    assert result.total.recall >= 0.97, result.misses
    assert result.total.precision >= 0.98, result.false_positives
    assert result.decoys >= 40 and result.decoys_linked == 0, result.false_positives


def test_the_held_out_corpus_stays_where_it_was_scored(catalog_linker):
    """The held-out half (heldout.jsonl) is never tuned on: it was scored once, after the
    rules were set (recall 0.969, precision 1.00, no decoy linked). This keeps it there."""
    result = _scored(catalog_linker, "heldout.jsonl")
    assert result.total.recall >= 0.96, "a held-out sentence is missed that was not"
    assert result.total.precision >= 0.98 and result.decoys_linked == 0


def test_german_declines_an_adjective_and_a_noun_together_for_the_nouns_it_knows():
    from refdb.catalog.declension import german_phrase

    forms = german_phrase("Weißer Schwan")
    assert {"Weiße Schwäne", "Weißen Schwänen", "Weißen Schwans", "Weißem Schwan"} <= set(forms)
    assert "Weißer Schwan" not in forms  # the name as written is the catalog's own form
    assert german_phrase("Schwarzer Adler") == []  # a noun whose forms no table gives
    assert german_phrase("Schwan") == []
    link = linker.Linker(
        [
            system(
                "tu-160",
                "Tu-160",
                {"text": "Weißer Schwan", "lang": "de", "kind": "nickname", "case_sensitive": True},
            )
        ]
    )
    [hit] = link.hits("Zwei Weiße Schwäne über der Ostsee.", "de")
    assert hit.rule == "inflection:de"
    assert link.hits("Zwei weiße Schwäne auf dem Teich.", "de") == []  # birds, in lower case
