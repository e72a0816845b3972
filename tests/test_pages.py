"""The published reference work: entry pages, article pages, search, canned queries, permalinks."""

from __future__ import annotations

import re

import pytest

from refdb.catalog import units
from refdb.compiling.compiler import build
from refdb.site.plugin import article_page, pages

from conftest import datasette_for, get


def test_entry_page_reads_as_a_reference_card(datasette):
    page = get(datasette, "/refdb/systems/tu-160").text
    assert "<h1>Tupolev Tu-160</h1>" in page
    assert "NATO reporting name: <strong>Blackjack</strong>" in page
    assert '<td lang="ru">Ту-160</td>' in page and '<td lang="fr">Cygne blanc</td>' in page
    assert "1981-12-18" in page and "contested" in page  # two sourced empty weights
    assert "110 t" in page and "117 t" in page
    assert "12,300 km" in page and "7,640 mi" in page  # to the 3 digits of 12,300
    assert 'href="/system/kh-101">Kh-101</a>' in page
    assert 'id="source-1"' in page and 'href="#source-1"' in page
    assert "Cite this entry" in page


def test_entry_page_lists_every_mention_with_a_link_to_its_place(datasette):
    page = get(datasette, "/refdb/systems/tu-160").text
    links = re.findall(
        r'href="/refdb/articles/kim-russia-2023-09#m-(kim-russia-2023-09-\d+)"', page
    )
    assert links == ["kim-russia-2023-09-2614", "kim-russia-2023-09-2863"]
    assert "notamment les bombardiers <mark>Tu-160</mark>, Tu-95 et Tu-22" in page


def test_misnomer_is_shown_as_wrong_on_the_entry(datasette):
    page = get(datasette, "/refdb/systems/marshal-shaposhnikov").text
    assert "<strong>Misnomers.</strong>" in page and "<li>“Admiral Shaposhnikov” (en)" in page
    assert "la frégate <mark>Amiral Shaposhnikov</mark>" in page
    assert "under a misnomer" in page


def test_article_page_highlights_every_mention_with_a_link(datasette, built_db):
    page = get(datasette, "/refdb/articles/kim-russia-2023-09").text
    marks = re.findall(
        r'<mark id="m-([\w-]+)"[^>]*><a href="/system/([\w-]+)"[^>]*>([^<]+)</a></mark>', page
    )
    mentions = get(
        datasette, "/refdb/mentions.json?article_id=kim-russia-2023-09&_shape=array&_size=max"
    ).json()
    assert sorted(marks) == sorted((m["id"], m["system_id"], m["exact"]) for m in mentions)
    assert len(marks) == 10


@pytest.mark.parametrize(
    "query, system_id",
    [
        ("kinjal", "kh-47m2-kinzhal"),
        ("Chapochnikov", "marshal-shaposhnikov"),
        ("tu160", "tu-160"),
        ("Tu-22M3", "tu-22m3"),
        ("Маршал", "marshal-shaposhnikov"),
        ("marechal", "marshal-shaposhnikov"),
        ("Blackjack", "tu-160"),
        ("tou-160", "tu-160"),  # generated forms are searched too
        ("Туполев", "tu-160"),
        ("Кинджал", "kh-47m2-kinzhal"),
        ("Kindschal", "kh-47m2-kinzhal"),
        ("Калибром", "kalibr"),
        ("S-300", None),
    ],
)
def test_search_finds_entries_by_any_spelling(datasette, query, system_id):
    rows = get(datasette, f"/refdb/systems.json?_search={query}&_shape=array").json()
    assert (system_id in [r["id"] for r in rows]) if system_id else rows == []


@pytest.mark.parametrize(
    "query, system_id",
    [
        ("Tu-22M3", "tu-22m3"),
        ("tu22m3", "tu-22m3"),
        ("TU-22M", "tu-22m"),
        ("Kinjal", "kh-47m2-kinzhal"),
        ("Tou-160", "tu-160"),
        ("Kindschal", "kh-47m2-kinzhal"),
        ("Маршала Шапошникова", "marshal-shaposhnikov"),
    ],
)
def test_search_box_goes_to_the_entry_a_query_names_exactly(datasette, query, system_id):
    assert get(datasette, f"/search?q={query}").headers["location"] == f"/system/{system_id}"


def test_search_box_goes_straight_to_a_single_match(datasette):
    assert get(datasette, "/search?q=kinjal").headers["location"] == "/system/kh-47m2-kinzhal"
    assert get(datasette, "/search?q=Tupolev").headers["location"] == "/systems?q=Tupolev"
    assert get(datasette, "/search?q=").headers["location"] == "/systems"


def test_search_in_what_articles_say(datasette):
    rows = get(datasette, "/refdb/mentions.json?_search=hypersonique&_shape=array").json()
    assert [r["system_id"] for r in rows] == ["kh-47m2-kinzhal", "mig-31k"]


def test_home_page_is_one_search_box_away(datasette):
    page = get(datasette, "/").text
    assert '<form class="refdb-search" action="/search"' in page and 'name="q"' in page
    assert re.search(r"\d+ systems</a>", page) and "mentions</a>" in page
    assert "Catalog version <code" in page


@pytest.mark.parametrize(
    "query, params, expected",
    [
        (
            "systems_in_article",
            "article=kim-russia-2023-09",
            [
                "tu-160",
                "tu-95ms",
                "tu-22m3",
                "kh-bd",
                "kh-47m2-kinzhal",
                "mig-31k",
                "marshal-shaposhnikov",
                "kalibr",
            ],
        ),
        ("mentions_of_system", "system=tu-160", ["kim-russia-2023-09", "kim-russia-2023-09"]),
        (
            "systems_by_category_and_country",
            "category=strategic-bomber&country=SU",
            ["tu-160", "tu-95", "tu-95ms"],
        ),
        ("related_systems", "system=kh-101", ["tu-160", "tu-95ms"]),
    ],
)
def test_canned_queries_return_the_expected_rows(datasette, query, params, expected):
    rows = get(datasette, f"/refdb/{query}.json?{params}&_shape=array").json()
    column = "article_id" if query == "mentions_of_system" else "system_id"
    assert [r[column] for r in rows] == expected


def test_compare_spec_puts_contested_values_side_by_side(datasette):
    rows = get(datasette, "/refdb/compare_spec.json?property=max_range&_shape=array").json()
    kinzhal = [
        (r["comparable"], r["qualifier"]) for r in rows if r["system_id"] == "kh-47m2-kinzhal"
    ]
    assert kinzhal == [(2000.0, "claimed"), (2000.0, "estimated"), (1000.0, "claimed")]
    assert all(r["contested"] for r in rows if r["system_id"] == "kh-47m2-kinzhal")


def test_permalinks_redirect_and_unknown_ids_are_404(datasette):
    assert get(datasette, "/system/tu-160").headers["location"] == "/refdb/systems/tu-160"
    moved = get(datasette, "/system/admiral-shaposhnikov")
    assert (moved.status_code, moved.headers["location"]) == (301, "/system/marshal-shaposhnikov")
    missing = get(datasette, "/system/tu-999")
    assert missing.status_code == 404 and "No entry “tu-999”" in missing.text


def test_sitemap_lists_every_entry_and_article(datasette):
    sitemap = get(datasette, "/sitemap.xml")
    assert sitemap.headers["content-type"].startswith("application/xml")
    locations = re.findall(r"<loc>([^<]+)</loc>", sitemap.text)
    assert "http://localhost/system/tu-160" in locations
    assert "http://localhost/refdb/articles/kim-russia-2023-09" in locations
    assert "Sitemap: http://localhost/sitemap.xml" in get(datasette, "/robots.txt").text


def test_catalog_text_cannot_inject_markup(mini_catalog, tmp_path):
    entry = mini_catalog / "systems" / "kh-101.yaml"
    entry.write_text(
        entry.read_text().replace(
            "description: Air-launched long-range cruise missile.",
            "description: \"<script>alert('entry')</script> missile\"",
        )
    )
    text = mini_catalog / "articles" / "bomber-note.txt"
    text.write_text(text.read_text() + "\n\n<img src=x onerror=alert(1)> near a Kh-101.")
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    ds = datasette_for(db_path)
    for path in ("/refdb/systems/kh-101", "/refdb/articles/bomber-note", "/"):
        page = get(ds, path).text
        assert "<script>alert" not in page and "<img src=x" not in page
    assert (
        "&lt;script&gt;alert(&#39;entry&#39;)&lt;/script&gt; missile"
        in get(ds, "/refdb/systems/kh-101").text
    )
    assert (
        "&lt;img src=x onerror=alert(1)&gt; near a" in get(ds, "/refdb/articles/bomber-note").text
    )


def test_a_query_cannot_build_huge_values(datasette):
    response = get(datasette, "/refdb/-/query.json?sql=select+length(randomblob(200000000))")
    assert response.status_code == 400 and "too big" in response.text
    assert get(
        datasette, "/refdb/-/query.json?sql=select+length(randomblob(1000))&_shape=array"
    ).json() == [{"length(randomblob(1000))": 1000}]


def test_a_fact_links_to_the_article_words_that_back_it(datasette):
    entry = get(datasette, "/refdb/systems/kh-bd").text
    assert (
        '<a class="refdb-quote-link" href="/refdb/articles/kim-russia-2023-09#q-kh-bd--kim-range"'
        in entry
    )
    article = get(datasette, "/refdb/articles/kim-russia-2023-09").text
    start = article.index('<span id="q-kh-bd--kim-range" class="refdb-quote-anchor"></span>')
    quoted = re.sub(r"<[^>]+>", "", article[start : article.index("</p>", start)])
    assert quoted.startswith(
        "d’une portée de plus de 6 500 kilomètres (plus de 6 500 kilomètres). 4 040 milles)"
    )
    assert (
        '<a href="#q-mig-31k--kim-kinzhal">“le Kinzhal hypersonique, transporté par l’avion de combat MiG-31”</a>'
        in article
    )


def test_chart_compares_one_spec_across_systems_on_a_log_scale(datasette):
    page = get(datasette, "/charts?property=max_range").text
    bars = re.findall(r'<a href="/system/([\w-]+)" class="bar"', page)
    assert {"tu-160", "kh-101", "kh-bd", "3m-14", "kh-47m2-kinzhal"} <= set(bars)
    assert "Maximum range (km, logarithmic scale)" in page
    # Decades from the shortest range (the UMPK glide kit's 40 km, a Russian claim) up.
    assert re.findall(r'class="tick" style="left: [\d.]+%">([\d,]+)</span>', page)[:4] == [
        "10",
        "100",
        "1,000",
        "10,000",
    ]
    widths = {
        system: float(width)
        for system, width in re.findall(
            r'data-system="([\w-]+)".*?class="bar-fill" style="width: ([\d.]+)%"', page, re.S
        )
    }
    assert widths["tu-160"] > widths["kh-101"] > widths["kh-47m2-kinzhal"]
    # Every bar says its numbers, in its label and its tooltip.
    assert 'title="Tupolev Tu-160: 12,300 km"' in page
    assert "(sources disagree)" in page
    assert (
        'aria-label="Mentions by month"' in page and '<span class="bar-name">2023-09</span>' in page
    )


def test_every_mention_keeps_an_anchor_even_when_two_overlap():
    text = "A Tu-22M3 flew.\n\nThen it landed."
    both = [
        {"id": "a-2-tu-22m", "start": 2, "end": 9},
        {"id": "a-2-tu-22m3", "start": 2, "end": 9},
    ]
    quote = [{"id": "q1", "quote_start": 0, "quote_end": 15}]
    [first, second] = article_page.paragraphs(text, both, quote)
    assert "".join(run["text"] for run in first) == "A Tu-22M3 flew."
    assert second == [
        {
            "text": "Then it landed.",
            "mention": None,
            "mention_starts": False,
            "anchors": [],
            "quotes": [],
            "quote_starts": [],
        }
    ]
    marked = [run for run in first if run["mention"]]
    assert [(r["text"], r["mention"]["id"], r["anchors"]) for r in marked] == [
        ("Tu-22M3", "a-2-tu-22m", ["a-2-tu-22m3"])
    ]
    assert first[0]["quote_starts"] == ["q1"] and all(run["quotes"] == ["q1"] for run in first)


def test_entry_page_says_under_which_spellings_articles_name_it(datasette):
    page = get(datasette, "/refdb/systems/marshal-shaposhnikov").text
    found = re.search(r'<p class="refdb-found-as">(.*?)</p>', page, re.S).group(1)
    assert "“Amiral Shaposhnikov”" in found and "as catalogued" in found


def test_every_form_is_a_row_a_curator_can_browse(built_db):
    import sqlite3

    with sqlite3.connect(built_db) as db:
        rules = dict(db.execute("select text, rule from forms where system_id = 'kh-47m2-kinzhal'"))
    assert rules["Kinschal"] == "catalog" and rules["Kinżał"] == "romanization:pl"
    assert rules["Кинжалами"] == "inflection:ru"


def test_an_article_with_tens_of_thousands_of_mentions_renders_quickly(built_db, tmp_path):
    """40,000 mentions of one system in one article: the page highlights the first ones, says
    where the rest are, (its cost is measured in benchmarks/adversarial.py)."""
    import shutil
    import sqlite3

    from refdb.site.plugin.article_page import MAX_MARKED_MENTIONS

    db_path = tmp_path / "refdb.db"
    shutil.copy(built_db, db_path)
    count, word = 40_000, "Tu-160 "
    with sqlite3.connect(db_path) as conn:
        conn.execute("update articles set text = ? where id = 'kim-russia-2023-09'", [word * count])
        conn.execute("delete from mentions where article_id = 'kim-russia-2023-09'")
        conn.executemany(
            "insert into mentions (id, article_id, system_id, exact, start, end, prefix, suffix, "
            "sentence, sentence_start, sentence_end, text_sha256, origin, rule) values (?, "
            "'kim-russia-2023-09', 'tu-160', 'Tu-160', ?, ?, '', '', 'Tu-160', ?, ?, '', 'alias', "
            "'catalog')",
            [(f"m{i}", 7 * i, 7 * i + 6, 7 * i, 7 * i + 6) for i in range(count)],
        )
    ds = datasette_for(db_path)
    page = get(ds, "/refdb/articles/kim-russia-2023-09")
    assert page.status_code == 200
    marked = set(re.findall(r'data-mention="(m-m[0-9]+)"', page.text))
    assert len(marked) == MAX_MARKED_MENTIONS
    assert "the other 38,000 are listed" in page.text


# --- Pages people read and reuse -------------------------------------------------------


def test_sources_are_numbered_and_link_back_to_every_place_that_cites_them(datasette):
    page = get(datasette, "/refdb/systems/tu-160").text
    sources = page[page.index('<section id="sources">') :]
    item = re.search(r'<li id="source-2"[^>]*>(.*?)</li>', sources, re.S).group(1)
    assert '<span class="refdb-ref-number">2.</span>' in item
    backs = re.findall(r'href="#(cite-[\w-]+-2)"', item)
    assert backs and all(f'id="{anchor}"' in page for anchor in backs)
    # Each citation of source 2 above the list is one of the places linked back to.
    assert len(backs) == len(re.findall(r'<sup class="cite" id="cite-[\w-]+-2">', page))


def test_a_relation_recorded_on_another_entry_labels_its_sources_as_that_entrys(datasette):
    page = get(datasette, "/refdb/systems/tu-160").text
    recorded = re.search(
        r'<small class="refdb-recorded-on">\(as recorded on the <a href="/system/kh-bd#relations">'
        r"(.*?)</small>",
        page,
        re.S,
    ).group(1)
    assert 'href="/system/kh-bd#source-2"' in recorded
    assert ">[Kh-BD 2]</a>" in recorded and ">[2]<" not in recorded


def test_entry_shows_operators_by_name_and_displacement_in_tonnes_and_long_tons(datasette):
    ship = get(datasette, "/refdb/systems/marshal-shaposhnikov").text
    assert "7,900 t" in ship and "7,800 long tons" in ship and " lb" not in ship
    assert "<dt>Operators</dt><dd>Russia</dd>" in ship
    mig = get(datasette, "/refdb/systems/mig-31").text
    assert "<dt>Operators</dt><dd>Russia, Kazakhstan</dd>" in mig
    assert (
        "case-sensitive" not in ship
        and "NATO reporting name</td>" in get(datasette, "/refdb/systems/tu-160").text
    )


def test_units_by_exact_definition_agree_with_pint():
    import pint

    from refdb.catalog import units

    registry = pint.UnitRegistry()
    for unit, (base, _) in units.EXACT.items():
        for other, (other_base, _) in units.EXACT.items():
            if base == other_base:
                expected = registry.Quantity(1, unit).to(other).magnitude
                assert units.exact(1, unit, other) == pytest.approx(expected, rel=1e-12)


def test_systems_list_shows_what_readers_look_for_with_facets(datasette):
    page = get(datasette, "/systems").text
    header = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    assert re.findall(r'<th scope="col">([^<]+)</th>', header) == [
        "Name", "Designation", "NATO name", "Category", "Origin", "Operated by", "Status",
    ]  # fmt: skip
    assert "content_sha256" not in page and "search_names" not in page
    assert '<a href="/systems?category=strategic-bomber">strategic bomber</a>' in page
    filtered = get(datasette, "/systems?category=strategic-bomber&country=SU").text
    assert re.findall(r'<tr data-system="([\w-]+)">', filtered) == ["tu-160", "tu-95", "tu-95ms"]
    # A selected facet value links to the list without it.
    assert 'href="/systems?country=SU">strategic bomber</a>' in filtered


def test_origin_and_operators_are_two_facets(datasette):
    """Filtering by Russia as an operator keeps the Soviet-built bombers Russia flies."""
    page = get(datasette, "/systems").text
    assert '<section class="refdb-facet" data-facet="country">' in page
    assert '<section class="refdb-facet" data-facet="operator">' in page
    flown = re.findall(r'<tr data-system="([\w-]+)">', get(datasette, "/systems?operator=RU").text)
    made = re.findall(r'<tr data-system="([\w-]+)">', get(datasette, "/systems?country=RU").text)
    assert {"tu-160", "tu-95ms", "mig-31"} <= set(flown) and "tu-160" not in made
    assert "shahed-136" in flown and "shahed-136" not in made  # an Iranian design Russia flies
    kazakh = get(datasette, "/systems?operator=KZ").text
    assert re.findall(r'<tr data-system="([\w-]+)">', kazakh) == ["mig-31"]
    assert "<h2>Operated by</h2>" in page and "<h2>Origin</h2>" in page


def test_home_page_counts_and_categories_lead_to_the_systems_list(datasette):
    home = get(datasette, "/").text
    assert re.search(r'<a href="/systems">\d+ systems</a>', home)
    assert '<a href="/systems?category=frigate">' in home
    assert get(datasette, "/systems?category=frigate").status_code == 200


@pytest.mark.parametrize(
    "query, nearest",
    [
        ("tu1600", "tu-160"),
        ("Kinjall", "kh-47m2-kinzhal"),
        ("Shaposhnikof", "marshal-shaposhnikov"),
    ],
)
def test_a_search_that_finds_nothing_answers_did_you_mean(datasette, query, nearest):
    page = get(datasette, f"/systems?q={query}").text
    assert "is not in the catalog" in page and "CREATE TABLE" not in page
    meant = re.search(r"Did you mean(.*?)</p>", page, re.S).group(1)
    assert re.findall(r'href="/system/([\w-]+)"', meant)[0] == nearest


def test_an_unknown_id_suggests_the_nearest_entries(datasette):
    missing = get(datasette, "/system/tu-1600")
    assert missing.status_code == 404
    nearest = re.findall(r'<li><a href="/system/([\w-]+)">', missing.text)
    assert nearest[0] == "tu-160"


def test_every_page_has_a_search_box_the_licence_and_the_last_change(datasette):
    for path in ("/", "/refdb/systems/tu-160", "/refdb/articles/kim-russia-2023-09", "/systems",
                 "/charts", "/refdb/compare_spec?property=max_range", "/refdb/specs", "/refdb"):  # fmt: skip
        page = get(datasette, path).text
        assert '<form class="refdb-header-search" action="/search"' in page, path
        footer = page[page.index('<footer class="ft">') :]
        assert 'rel="license">CC BY 4.0</a>' in footer, path
        assert re.search(r"Catalog last changed \d{4}-\d\d-\d\d", footer), path


def test_system_json_is_the_whole_card_as_one_document(datasette):
    response = get(datasette, "/system/tu-160.json")
    assert response.headers["content-type"].startswith("application/json")
    card = response.json()
    assert card["url"] == "http://localhost/system/tu-160" and card["name"] == "Tupolev Tu-160"
    assert {"text": "Ту-160", "kind": "native", "note": None} in card["names"]["ru"]
    speed = next(s for s in card["specs"] if s["property"] == "max_speed")
    assert (speed["value"], speed["unit"], speed["comparable"]) == (
        2.05,
        "mach",
        pytest.approx(2177.51),
    )
    kh101 = next(r for r in card["relations"] if r["target"]["id"] == "kh-101")
    assert kh101["target"]["url"] == "http://localhost/system/kh-101" and kh101["sources"]
    numbers = {s["number"] for s in card["sources"]}
    assert all(n in numbers for spec in card["specs"] for n in spec["sources"])
    mention = card["mentions"][0]
    assert mention["url"].startswith("http://localhost/refdb/articles/kim-russia-2023-09#m-")
    assert mention["article"]["title"] and mention["sentence"]
    assert get(datasette, "/system/admiral-shaposhnikov.json").headers["location"] == (
        "/system/marshal-shaposhnikov.json"
    )
    missing = get(datasette, "/system/tu-1600.json")
    assert missing.status_code == 404 and missing.json()["did_you_mean"][0]["id"] == "tu-160"


def test_compare_spec_puts_mach_knots_and_kmh_on_one_scale(datasette):
    rows = get(datasette, "/refdb/compare_spec.json?property=max_speed&_shape=array").json()
    order = [r["system_id"] for r in rows]
    assert order[0] == "oreshnik" and order[-1] == "udaloy-class"  # Mach 11, then 29.5 kn
    assert order.index("kh-22") < order.index("mig-31")  # Mach 4 ≈ 4,248 > 3,000 km/h
    speeds = [(r["system_id"], r["raw_value"]) for r in rows]
    assert speeds.index(("tu-160", 2.05)) < speeds.index(("tu-22m3", 2000))  # ≈ 2,178 km/h
    page = get(datasette, "/refdb/compare_spec?property=max_speed").text
    assert "1,062 km/h" in page  # the convention, stated on the page


def test_canned_queries_pick_parameters_from_lists_and_link_their_results(datasette):
    page = get(datasette, "/refdb/mentions_of_system?system=tu-160").text
    assert "<title>Mentions of a system across articles — refdb</title>" in page
    assert '<select id="qp1" name="system"' in page
    assert '<option value="tu-160" selected>Tupolev Tu-160</option>' in page
    assert re.search(r'<a href="/refdb/articles/kim-russia-2023-09">Kim Jong Un et Sergueï', page)
    assert re.search(
        r'<mark><a href="/refdb/articles/kim-russia-2023-09#m-[\w-]+">Tu-160</a></mark>', page
    )
    related = get(datasette, "/refdb/related_systems?system=tu-160").text
    assert '<a href="/system/kh-101">Kh-101</a>' in related
    assert re.search(r'<td class="col-Derived[^"]*" data-label="Derived">yes</td>', related)
    assert re.search(r'data-label="Relation">carries</td>', related)
    compare = get(datasette, "/refdb/compare_spec?property=max_range").text
    assert re.search(r'data-label="Value">12,300 km</td>', compare)
    assert re.search(r'data-label="Value">claimed 2,000 km</td>', compare)
    assert '<a href="/system/tu-160#source-10">[10]</a>' in compare
    by_country = get(datasette, "/refdb/systems_by_category_and_country?category=&country=").text
    assert '<option value="SU">Soviet Union</option>' in by_country
    assert '<option value="strategic-bomber">strategic bomber</option>' in by_country
    assert re.search(r'<label for="qp2">Origin</label>', by_country)


def test_canned_queries_show_readers_columns_and_keep_ids_for_data_work(datasette):
    page = get(datasette, "/refdb/systems_in_article?article=kim-russia-2023-09").text
    table = page[page.index('<table class="refdb-specs refdb-stack refdb-query-results">') :]
    headers = re.findall(r'<th class="col-[^"]*" scope="col">([^<]+)</th>', table)
    assert headers == ["System", "Category", "Mentions", "Written as"]
    assert "strategic-bomber" not in table and "strategic bomber" in table
    assert '<pre id="sql-query">' in page[page.index('<details class="refdb-sql">') :]
    assert page.index("refdb-query-results") < page.index('<details class="refdb-sql">')
    rows = get(datasette, "/refdb/systems_in_article.json?article=kim-russia-2023-09&_shape=array")
    assert {"System", "system_id"} <= set(rows.json()[0])  # the id, for data work
    arbitrary = get(datasette, "/refdb/-/query?sql=select+id+as+system+from+systems+limit+1").text
    assert "rows-and-columns" in arbitrary and "refdb-query-results" not in arbitrary


def test_mention_search_marks_the_match_and_links_to_its_place(datasette):
    page = get(datasette, "/refdb/mentions?_search=hypersonique").text
    assert re.search(
        r'<mark><a href="/refdb/articles/kim-russia-2023-09#m-[\w-]+">Kinzhal</a></mark>', page
    )
    assert '<b class="refdb-hit">hypersonique</b>' in page


def test_the_cite_box_warns_until_a_public_base_url_and_publisher_are_set(built_db):
    default = get(datasette_for(built_db), "/refdb/systems/tu-160").text
    assert "Not ready to cite publicly" in default
    assert "base_url" in default and "plugins: refdb: publisher" in default
    configured = datasette_for(built_db)
    configured.config["plugins"]["refdb"] = {
        "base_url": "https://refdb.example.org",
        "publisher": "Example Institute",
    }
    page = get(configured, "/refdb/systems/tu-160").text
    assert "Not ready to cite publicly" not in page
    assert (
        "Example Institute. Retrieved" in page and "https://refdb.example.org/system/tu-160" in page
    )


def test_article_page_carries_its_own_citation_metadata(datasette):
    page = get(datasette, "/refdb/articles/kim-russia-2023-09").text
    head = page[: page.index("</head>")]
    meta = dict(re.findall(r'<meta name="([\w.]+)" content="([^"]*)">', head))
    assert meta["citation_title"].startswith("Kim Jong Un")
    assert meta["citation_date"] == "2023/09" and meta["citation_language"] == "fr"
    assert meta["DC.language"] == "fr" and meta["DC.date"] == "2023-09"
    assert meta["citation_public_url"] == "http://localhost/refdb/articles/kim-russia-2023-09"
    entry = get(datasette, "/refdb/systems/tu-160").text
    assert (
        '<meta name="citation_author"' in entry
        and '<meta name="citation_language" content="en">' in entry
    )


# --- A plugin that only reads ------------------------------------------------------------


@pytest.fixture(scope="module")
def other_datasette(tmp_path_factory):
    """Datasette with the refdb plugin but another database only."""
    import sqlite3

    from datasette.app import Datasette

    path = tmp_path_factory.mktemp("other") / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (id integer primary key)")
    return Datasette([str(path)])


@pytest.mark.parametrize(
    "path",
    ["/system/tu-160", "/system/tu-160.json", "/search?q=tu", "/systems", "/charts"],
)
def test_every_plugin_page_is_a_clear_404_without_a_refdb_database(other_datasette, path):
    response = get(other_datasette, path)
    assert response.status_code == 404 and "no 'refdb' database" in response.text


def test_datasette_own_pages_work_without_a_refdb_database(other_datasette):
    assert get(other_datasette, "/").status_code == 200
    assert get(other_datasette, "/other/t").status_code == 200
    assert get(other_datasette, "/sitemap.xml").status_code == 200
    assert [d["name"] for d in get(other_datasette, "/-/databases.json").json()["databases"]] == [
        "other"
    ]


@pytest.mark.parametrize(
    "path, message",
    [
        ("/systems?page=x", "page must be a whole number"),
        ("/systems?page=0", "page must be a whole number"),
        ("/systems?page=99", "page must be at most 1"),
        ("/systems?q=" + "a" * 201, "at most 200 characters"),
        ("/systems?category=" + "a" * 201, "at most 200 characters"),
        ("/search?q=" + "a" * 201, "at most 200 characters"),
        ("/charts?property=nonsense", "property must be one of"),
        ("/charts?property=%00", "property must be"),
        ("/refdb/systems/tu-160.bib?accessed=yesterday", "accessed must be a date"),
    ],
)
def test_a_bad_parameter_is_a_400_that_says_what_to_send(datasette, path, message):
    response = get(datasette, path)
    assert response.status_code == 400 and message in response.text


def test_serving_imports_none_of_the_build():
    import subprocess
    import sys

    build_modules = ["refdb.linking.linker", "refdb.compiling.compiler", "refdb.catalog.forms", "refdb.compiling.history",
                     "refdb.catalog.schema", "pymorphy3", "ahocorasick_rs", "syntok", "pint", "sqlmodel",
                     "pydantic"]  # fmt: skip
    script = (
        f"import sys, refdb.site.plugin\nprint([m for m in {build_modules!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_plugin_uses_no_private_datasette_api():
    from pathlib import Path

    plugin = Path(pages.__file__).parent
    for module in plugin.glob("*.py"):
        source = module.read_text()
        assert not re.search(r"\b(datasette|ds|db|request)\._[a-z]", source), module.name


def test_searching_the_systems_table_leads_to_refdb_search_never_to_ddl(datasette):
    moved = get(datasette, "/refdb/systems?_search=zzzqqq")
    assert (moved.status_code, moved.headers["location"]) == (302, "/search?q=zzzqqq")
    listing = get(datasette, "/systems?q=zzzqqq").text
    assert "CREATE TABLE" not in listing
    rows = get(datasette, "/refdb/systems.json?_search=kinjal&_shape=array").json()
    assert [r["id"] for r in rows] == ["kh-47m2-kinzhal"]  # the JSON API answers as before


@pytest.mark.parametrize(
    "value, unit, shown",
    [
        (275, "t", ["606,000 lb"]),  # not 606,271: the source gave three digits
        (245, "kN", ["25,000 kgf", "55,100 lbf"]),
        (12300, "km", ["7,640 mi", "6,640 nmi"]),
        (2.05, "mach", ["≈ 2,180 km/h at altitude (ISA, above 11 km)"]),
        (35, "kn", ["65 km/h"]),
    ],
)
def test_a_conversion_keeps_the_precision_of_the_value_as_written(value, unit, shown):
    assert units.also_in(value, unit) == shown


def test_values_are_shown_as_stored_and_json_carries_no_float_noise(datasette):
    compare = get(datasette, "/refdb/compare_spec?property=max_speed").text
    assert re.search(r'data-label="Value">Mach 2.05</td>', compare)  # not "2"
    assert re.search(r'data-label="On one scale">≈ 2,180 km/h</td>', compare)
    card = get(datasette, "/system/tu-160.json").text
    assert not re.search(r"\d\.\d*(?:0000|9999)\d", card)
    nearest = get(datasette, "/system/tu-1600.json").json()["did_you_mean"]
    assert all(round(s["score"], 1) == s["score"] for s in nearest)


def card_part(page: str, pattern: str) -> str:
    """The words of one part of a card (the names table, the entry's own specs table),
    without the quote links only the entry page has."""
    found = re.search(pattern, page, re.S)
    assert found, pattern
    html = re.sub(r'<a class="refdb-quote-link".*?</a>', "", found.group())
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_current_version_page_shows_every_entry_s_card_as_its_entry_page_does(
    datasette, built_db
):
    """One presenter and one markup for both pages: names, values, conversions (a ship's
    tonnes then long tons) and notes read the same, entry by entry."""
    import sqlite3

    with sqlite3.connect(built_db) as db:
        current = db.execute(
            "select s.id, v.version from entry_versions v join systems s on s.id = v.system_id "
            "where v.sha256 = s.content_sha256 and v.problem is null order by s.id"
        ).fetchall()
    assert len(current) >= 20
    names = r'<table class="refdb-names.*?</table>'
    specs = r'<table class="refdb-specs refdb-stack">.*?</table>'
    for system_id, version in current:
        entry = get(datasette, f"/refdb/systems/{system_id}").text
        as_of = get(datasette, f"/system/{system_id}@{version}").text
        assert card_part(as_of, names) == card_part(entry, names), system_id
        if 'id="specs"' in as_of:
            assert card_part(as_of, specs) == card_part(entry, specs), system_id
    ship = card_part(get(datasette, "/refdb/systems/marshal-shaposhnikov").text, specs)
    assert "7,800 long tons" in ship and " lb" not in ship


def test_a_country_has_one_name_as_an_origin_and_as_an_operator():
    """Pages name operators no entry has as its origin with the same short names the build
    gives origins ('Syria', not 'Syrian Arab Republic'); an unknown code shows as it is."""
    from refdb.catalog.countries import country_name
    from refdb.site.plugin import history, pages

    assert country_name("SY") == "Syria" and country_name("SU") == "Soviet Union"
    assert country_name("IN") == "India" and country_name("XX") == "XX"
    assert pages.country_name is country_name and history.country_name is country_name
