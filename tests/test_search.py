"""Search never sends a reader to the wrong entry: only a name is a place to go; anything
else is a list of results that says why each entry is there."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from refdb.compiling.compiler import build

from conftest import FIXTURES, datasette_for, get


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    path = tmp_path_factory.mktemp("mini") / "refdb.db"
    build(FIXTURES / "mini", path)
    return datasette_for(path)


def results(ds, query: str) -> list[str]:
    """The results page's rows: the entry's name and why it is listed, as a reader sees it."""
    page = get(ds, f"/systems?q={quote(query)}").text
    rows = re.findall(r'<th scope="row" data-label="Name">(.*?)</th>', page, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


@pytest.mark.parametrize(
    "query",
    ["Blackjack", "Ту-160", "tou160", "TU-160", "Туполев-160", "tu-160"],
)
def test_a_name_or_alias_goes_to_its_entry(mini, query):
    assert get(mini, f"/search?q={quote(query)}").headers["location"] == "/system/tu-160"


def test_a_word_of_a_description_lists_the_entry_and_says_why(mini):
    assert get(mini, "/search?q=supersonic").headers["location"] == "/systems?q=supersonic"
    page = get(mini, "/systems?q=supersonic").text
    assert "No entry is named “supersonic”" in page
    assert results(mini, "supersonic") == [
        "Tupolev Tu-160 its description: Supersonic variable-sweep-wing strategic bomber."
    ]
    assert "<mark>Supersonic</mark>" in page


def test_words_of_a_name_list_the_entry_with_the_name(mini):
    assert get(mini, "/search?q=Tupolev").headers["location"] == "/systems?q=Tupolev"
    assert results(mini, "Tupolev") == ["Tupolev Tu-160 a name holds the words: “Tupolev Tu-160”"]


def test_a_system_without_an_entry_finds_nothing_and_no_entry_is_opened(mini):
    assert get(mini, "/search?q=S-400").headers["location"] == "/systems?q=S-400"
    page = words(get(mini, "/systems?q=S-400").text)
    assert "“S-400” is not in the catalog" in page
    assert "No article mentions “S-400” either." in page


def test_a_system_without_an_entry_lists_the_articles_that_mention_it(mini):
    assert get(mini, "/search?q=Observers").headers["location"] == "/systems?q=Observers"
    page = get(mini, "/systems?q=Observers").text
    assert "“Observers” is not in the catalog" in words(page)
    assert "1 article mentions “Observers”:" in words(page)
    listed = re.findall(r'<li data-article="([\w-]+)"><a href="([^"]+)">', page)
    assert listed == [("bomber-note", "/refdb/articles/bomber-note")]
    assert '<b class="refdb-hit">Observers</b> also saw a TU‑160' in page


def test_a_word_of_a_description_also_lists_the_articles_holding_it(datasette):
    page = words(get(datasette, "/systems?q=Kobylash").text)
    assert "No entry is named “Kobylash”" in page
    assert "1 article mentions “Kobylash”:" in page
    assert results(datasette, "Kobylash") == [
        "Kh-BD its description: …Range Aviation, Lt Gen Sergei Kobylash , said for the first time that…"
    ]


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize(
    "query, expected",
    [
        ("bombardier", "Tupolev Tu-160 a bomber: “bombardier (French)”"),
        ("strategic bombers", "Tupolev Tu-160 a strategic bomber: “strategic bombers”"),
        ("крылатые ракеты", "Kh-101 a cruise missile: “крылатые ракеты (Russian)”"),
        ("Marschflugkörper", "Kh-101 a cruise missile: “Marschflugkörper (German)”"),
        ("pociski manewrujące", "Kh-101 a cruise missile: “pociski manewrujące (Polish)”"),
    ],
)
def test_a_category_word_in_any_catalog_language_finds_the_category(mini, query, expected):
    assert expected in results(mini, query)
    assert "is the category" in get(mini, f"/systems?q={quote(query)}").text


def test_a_category_word_never_opens_an_entry_even_when_one_system_has_it(mini):
    assert get(mini, "/search?q=Marschflugk%C3%B6rper").headers["location"].startswith("/systems")
