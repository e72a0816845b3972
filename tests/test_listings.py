"""From the home page a reader reaches pages to read, not raw tables: the articles, what the
articles say, the sources and the values sources disagree on. Each raw table stays one
labelled click further, for data work."""

from __future__ import annotations

import re
import sqlite3

import pytest

from refdb.compiling.compiler import build

from conftest import datasette_for, get

HOME_LINKS = {
    "/systems": "Systems",
    "/articles": "Articles",
    "/mentions": "What articles say",
    "/sources": "Sources",
    "/contested": "Where sources disagree",
    "/charts": None,
}


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def links(html: str) -> set[str]:
    return set(re.findall(r'href="([^"#?]+)', html))


def test_every_link_of_the_home_page_opens_a_designed_page_not_a_raw_table(datasette):
    home = get(datasette, "/").text
    assert HOME_LINKS.keys() <= links(home)
    assert not {link for link in links(home) if link.startswith("/refdb/")}
    for path, heading in HOME_LINKS.items():
        page = get(datasette, path)
        assert page.status_code == 200, path
        assert "rows-and-columns" not in page.text, path  # Datasette's raw table
        if heading:
            assert f"<h1>{heading}</h1>" in page.text, path


def test_each_designed_list_links_its_raw_table_once_and_labelled(datasette):
    for path, table in [
        ("/articles", "articles"),
        ("/mentions", "mentions"),
        ("/sources", "sources"),
    ]:
        page = get(datasette, path).text
        assert page.count(f'href="/refdb/{table}"') == 1, path
        assert "For data work:" in words(page), path


def test_the_licence_is_said_once_on_the_home_page(datasette):
    home = words(get(datasette, "/").text)
    assert home.count("CC BY 4.0") == 1


def test_the_home_page_counts_what_the_lists_show(datasette, built_db):
    home = words(get(datasette, "/").text)
    contested_html = get(datasette, "/contested").text
    contested = words(contested_html)
    sources = words(get(datasette, "/sources").text)
    (disagree,) = re.findall(r"([\d,]+) properties on which sources disagree", home)
    assert re.search(rf"\b{disagree} properties on which an entry's sources give", contested)
    assert contested_html.count('<td data-label="Property">') == int(disagree)
    (works,) = re.findall(r"([\d,]+) sources\s*;", home)
    assert f"{works} works the catalog cites" in sources
    with sqlite3.connect(built_db) as db:
        [(cited,)] = db.execute("select count(*) from sources where kind = 'external'")
    assert 0 < int(works.replace(",", "")) < cited  # a work cited by several entries counts once


def test_the_articles_page_lists_each_article_with_what_it_names(datasette, built_db):
    page = words(get(datasette, "/articles").text)
    with sqlite3.connect(built_db) as db:
        [(articles,)] = db.execute("select count(*) from articles")
        [(systems, mentions)] = db.execute(
            "select count(distinct system_id), count(*) from mentions "
            "where article_id = 'kim-russia-2023-09'"
        )
    assert f"{articles} article{'s' if articles > 1 else ''}, newest first." in page
    assert "2023-09" in page and "French" in page
    assert f"{systems} systems named ({mentions} mentions)" in page


def test_the_mention_search_marks_the_mention_and_the_words_searched_for(datasette):
    page = get(datasette, "/mentions?q=croisière").text
    hits = re.findall(r'<li data-mention="([\w-]+)">(.*?)</li>', page, re.S)
    assert hits
    for _, hit in hits:
        mention = re.search(
            r'<mark><a href="/refdb/articles/kim-russia-2023-09#m-[\w-]+">.*?</mark>', hit
        )
        assert mention
        assert '<b class="refdb-hit">croisière</b>' in hit or "croisière" in mention.group()
    assert f"{len(hits)} mentions of a system in a sentence holding “croisière”" in words(page)
    nothing = words(get(datasette, "/mentions?q=xylophone").text)
    assert "0 mentions of a system in a sentence holding “xylophone”" in nothing


def test_search_syntax_is_read_as_words_not_as_a_query(datasette):
    for query in ['"', "Tu-160 OR", "NEAR(", "*", "a:b"]:
        assert get(datasette, f"/mentions?q={query}").status_code == 200, query


def test_the_sources_page_names_each_work_once_with_the_entries_citing_it(datasette):
    page = get(datasette, "/sources").text
    listed = page[page.index('<ol class="refdb-cards refdb-source-list">') :]
    items = re.findall(r"<li>(.*?)</li>", listed[: listed.index("</ol>")], re.S)
    titles = [re.sub(r"<[^>]+>", "", item.split("<br>")[0]).strip() for item in items]
    assert len(titles) == len(set(titles))
    cited = [re.findall(r'href="/system/([\w-]+)#source-(\d+)"', item) for item in items]
    assert all(cited)
    assert max(len(entries) for entries in cited) > 1


def test_the_contested_page_shows_every_value_with_its_qualifier(datasette, built_db):
    page = words(get(datasette, "/contested").text)
    with sqlite3.connect(built_db) as db:
        kalibr = db.execute(
            "select count(*) from specs where system_id = '3m-14' and property = 'max_range'"
        ).fetchone()[0]
    assert kalibr >= 2
    section = page[page.index("3M-14 Kalibr") : page.index("3M-54 Kalibr")]
    assert section.count(" km") >= kalibr
    assert "claimed" in section


@pytest.fixture
def many_articles(mini_catalog, tmp_path):
    """The fixture catalog with enough articles for two pages."""
    folder = mini_catalog / "articles"
    for n in range(55):
        (folder / f"note-{n:02}.yaml").write_text(
            f"id: note-{n:02}\ntitle: Note {n}\ndate: '2024-01-{n % 28 + 1:02}'\nlanguage: en\n"
        )
        (folder / f"note-{n:02}.txt").write_text(f"The Tu-160 flew over the sea on day {n}.\n")
    path = tmp_path / "refdb.db"
    build(mini_catalog, path)
    return datasette_for(path)


def test_long_lists_come_a_page_at_a_time(many_articles):
    first = get(many_articles, "/articles")
    assert "Page 1 of 2" in words(first.text) and 'rel="next" href="/articles?page=2"' in first.text
    second = get(many_articles, "/articles?page=2")
    assert second.status_code == 200 and 'rel="prev"' in second.text
    assert len(re.findall(r"<li data-article=", first.text)) == 50
    assert get(many_articles, "/articles?page=3").status_code == 400
    mentions = get(many_articles, "/mentions?q=sea&page=2").text
    assert 'rel="prev" href="/mentions?q=sea&amp;page=1"' in mentions


def test_an_unknown_address_is_a_page_with_the_ways_in(datasette):
    missing = get(datasette, "/no-such-thing")
    assert missing.status_code == 404
    assert "<h1>No such page</h1>" in missing.text
    assert 'action="/search"' in missing.text and 'href="/systems"' in missing.text


def test_a_descriptive_title_is_shown_in_square_brackets(datasette, built_db):
    with sqlite3.connect(built_db) as db:
        titles = [t for (t,) in db.execute("select title from articles where title_is_descriptive")]
        titles += [
            t
            for (t,) in db.execute(
                "select title from sources where title_is_descriptive and kind = 'external'"
            )
        ]
    assert titles, "the catalog has no descriptive title to show"
    shown = get(datasette, "/sources").text + get(datasette, "/articles").text
    assert any(f"[{title}]" in shown for title in titles)
    assert "(descriptive title)" not in shown
