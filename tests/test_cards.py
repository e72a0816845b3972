"""Every entry is measured against the standard card of its category: the entry page puts
the headline facts first and says what the card lacks; `refdb report` ranks the gaps."""

from __future__ import annotations

import re

import pytest

from refdb.catalog import categories
from refdb.catalog.schema import PROPERTIES, Category
from refdb.compiling.compiler import build
from refdb.report import build_report

from conftest import datasette_for, get

CATALOG_LANGUAGES = {"en", "fr", "de", "ru", "uk", "pl", "es", "it"}


def test_every_category_has_a_card_of_known_properties_and_words_in_every_catalog_language():
    assert {c.value for c in Category} == set(categories.CATEGORIES)
    for name, category in categories.CATEGORIES.items():
        assert category.card and any(fact.headline for fact in category.card), name
        for fact in category.card:
            assert set(fact.properties) <= set(PROPERTIES), (name, fact)
        assert set(category.words) == CATALOG_LANGUAGES, name
        assert set(category.broader) <= set(categories.CATEGORIES), name


def test_alternatives_count_once_and_a_missing_fact_is_named():
    missing = categories.card_gaps("cruise-missile", {"warhead_mass", "max_range"})
    labels = [fact.label for fact in missing]
    assert "warhead" not in labels and "range" not in labels
    assert labels == [
        "speed",
        "launch weight",
        "entry into service",
        "length",
        "propulsion",
        "guidance",
    ]


def test_report_ranks_entries_by_what_their_cards_lack(mini_catalog):
    cards = build_report(mini_catalog).cards
    assert [(c["system_id"], c["given"], c["standard"]) for c in cards] == [
        ("kh-101", 0, 8),
        ("tu-160", 1, 12),
    ]
    assert cards[1]["missing"][:2] == ["range", "maximum take-off weight"]


@pytest.fixture
def with_variant(mini_catalog, tmp_path):
    (mini_catalog / "systems" / "tu-160m.yaml").write_text(
        "id: tu-160m\nname: Tupolev Tu-160M\ndesignations: [Tu-160M]\n"
        "category: strategic-bomber\ncountry: RU\ndescription: A modernised Tu-160.\n"
        "entry_sources: [wiki]\nspecs:\n"
        "  - {property: first_flight, value: '2022-01-12', sources: [wiki]}\n"
        "relations:\n  - {type: variant-of, target: tu-160, sources: [wiki]}\n"
        "sources:\n  wiki: {title: Tupolev Tu-160, url: 'https://en.wikipedia.org/wiki/Tupolev_Tu-160'}\n"
    )
    path = tmp_path / "refdb.db"
    build(mini_catalog, path)
    return datasette_for(path)


def test_the_entry_page_opens_with_key_facts_and_says_what_the_card_lacks(with_variant):
    page = get(with_variant, "/refdb/systems/tu-160").text
    box = page[page.index('class="refdb-keyfacts"') : page.index('id="names"')]
    assert "<dt>Maximum speed</dt>" in box and "Mach 2.05" in box
    assert "strategic bomber" in box and "Soviet Union" in box
    assert "This card gives 1 of the 12 standard facts of a strategic bomber; not yet: range," in (
        re.sub(r"\s+", " ", box)
    )


def test_a_variant_shows_its_parents_facts_labelled_as_the_parents(with_variant):
    page = re.sub(r"\s+", " ", get(with_variant, "/refdb/systems/tu-160m").text)
    assert re.search(
        r'<a class="refdb-inherited" href="/system/tu-160">Tupolev Tu-160</a>: '
        r'<span class="refdb-keyvalue"><a href="/system/tu-160#spec-[^"]+">Mach 2.05</a>',
        page,
    )
    assert "From related entries" in page
    assert 'href="/system/tu-160#spec-tu-160--max_speed--1"' in page
    # the parent's figures do not count for the variant's own card
    assert "This card gives 1 of the 12 standard facts" in page


def test_a_type_shows_what_its_variants_give_labelled_as_theirs(with_variant):
    page = re.sub(r"\s+", " ", get(with_variant, "/refdb/systems/tu-160").text)
    row = page[page.index('id="related-specs"') :]
    assert "2022-01-12" in row and "Tupolev Tu-160M" in row
    assert "This card gives 1 of the 12 standard facts" in page  # not counted for the type


def _entry(catalog, slug: str, body: str) -> None:
    (catalog / "systems" / f"{slug}.yaml").write_text(
        f"id: {slug}\nname: {slug.upper()}\ncategory: cruise-missile\ncountry: RU\n"
        f"description: A test entry.\nentry_sources: [wiki]\n{body}"
        "sources:\n  wiki: {title: Kh-101, url: 'https://en.wikipedia.org/wiki/Kh-101'}\n"
    )


@pytest.fixture
def family(mini_catalog, tmp_path):
    """A family whose two versions both give a range, one of them a length too, and which
    gives its entry into service itself."""
    _entry(
        mini_catalog,
        "kh-family",
        "family: true\nspecs:\n  - {property: service_entry, value: '2013', sources: [wiki]}\n",
    )
    version = "relations:\n  - {type: variant-of, target: kh-family, sources: [wiki]}\nspecs:\n"
    _entry(
        mini_catalog,
        "kh-a",
        version + "  - {property: max_range, value: 2500, unit: km, sources: [wiki]}\n"
        "  - {property: length, value: 7.45, unit: m, sources: [wiki]}\n",
    )
    _entry(
        mini_catalog,
        "kh-b",
        version + "  - {property: max_range, value: 300, unit: km, sources: [wiki]}\n",
    )
    return mini_catalog


def test_a_familys_card_is_what_every_version_gives_and_what_it_gives_itself(family):
    cards = {card["system_id"]: card for card in build_report(family).cards}
    assert cards["kh-family"]["family"] and cards["kh-family"]["given"] == 2
    assert "range" not in cards["kh-family"]["missing"]  # both versions give one
    assert "entry into service" not in cards["kh-family"]["missing"]  # the family's own
    assert "length" in cards["kh-family"]["missing"]  # one version alone does not make it
    assert cards["kh-a"]["given"] == 2 and not cards["kh-a"]["family"]


def test_the_family_page_shows_each_versions_range_labelled_and_counts_them(family, tmp_path):
    build(family, tmp_path / "refdb.db")
    page = re.sub(
        r"\s+", " ", get(datasette_for(tmp_path / "refdb.db"), "/refdb/systems/kh-family").text
    )
    assert "every one of them gives 2 of the 8 standard facts of a cruise missile" in page
    box = page[page.index('class="refdb-keyfacts"') : page.index('id="names"')]
    assert "KH-A</a>:" in box and "KH-B</a>:" in box and "2,500 km" in box and "300 km" in box
    assert "not yet: speed, warhead, launch weight, length," in box
