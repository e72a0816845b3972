"""Sources a journalist can cite: the publisher register, the source policy, and what the
database, the entry page and the report make of them."""

from __future__ import annotations

import sqlite3

import pytest

from refdb.catalog.sources import canonical_url
from refdb.catalog.validate import validate_catalog
from refdb.compiling.compiler import build
from refdb.errors import CatalogError
from refdb.report import build_report
from refdb.site.plugin import documents

from conftest import datasette_for, get


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def problems_of(root) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        validate_catalog(root)
    return [
        f"{p.path.rsplit('catalog/', 1)[-1]} {p.line}:{p.column} {p.code}"
        for p in caught.value.problems
    ]


def add_to_tu160(root, specs: str = "", sources: str = "") -> None:
    """Append specs and sources to the fixture's Tu-160 entry."""
    entry = root / "systems" / "tu-160.yaml"
    edit(entry, "relations:\n", specs + "relations:\n")
    entry.write_text(entry.read_text() + sources)


@pytest.mark.parametrize(
    "url, canonical",
    [
        ("https://en.m.wikipedia.org/wiki/Tu-160", "https://en.wikipedia.org/wiki/Tu-160"),
        ("https://amp.theguardian.com/world/2023/x", "https://www.theguardian.com/world/2023/x"),
        ("https://m.example.com/story", "https://www.example.com/story"),
        ("https://mobile.example.com/story", "https://www.example.com/story"),
        ("https://www.example.com/news/123/amp/", "https://www.example.com/news/123/"),
        ("https://www.example.com/news/123.amp", "https://www.example.com/news/123"),
        ("https://www.example.com/a?outputType=amp", "https://www.example.com/a"),
        ("https://www.example.com/a?amp", "https://www.example.com/a"),
        ("https://www.example.com/print/news/1?print=1", "https://www.example.com/news/1"),
        (
            "https://www.example.com/a?id=5&utm_source=x&utm_medium=y#part",
            "https://www.example.com/a?id=5#part",
        ),
        ("https://www.example.com/a?fbclid=Iw&gclid=Cj", "https://www.example.com/a"),
        (
            "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/1?amp=1",
            "https://www.example.com/news/1",
        ),
    ],
)
def test_amp_mobile_print_and_tracking_forms_have_a_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    "url",
    [
        "https://tass.com",
        "https://en.wikipedia.org/wiki/Tupolev_Tu-160?oldid=1234",
        "https://ria.ru/20230101/amp-plan.html",
        "https://www.example.com/search?q=print&page=2#results",
        "https://www.example.com/Mixed/Case?B=2&a=1",
    ],
)
def test_a_canonical_url_is_left_as_written(url):
    assert canonical_url(url) == url


def test_a_subdomain_belongs_to_the_publisher_of_its_domain(mini_catalog, tmp_path):
    edit(
        mini_catalog / "systems" / "kh-101.yaml",
        'url: "https://en.wikipedia.org/wiki/Kh-101"',
        'url: "https://fr.wikipedia.org/wiki/Kh-101", language: fr',
    )
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    row = sqlite3.connect(db_path).execute(
        "select publisher_id, publisher, language from sources where id = 'kh-101--wiki-en'"
    )
    assert row.fetchone() == ("wikipedia", "Wikipedia", "fr")


def test_a_claims_only_source_beside_a_reliable_one_may_back_the_entry(mini_catalog):
    entry = mini_catalog / "systems" / "kh-101.yaml"
    edit(entry, "entry_sources: [wiki-en]", "entry_sources: [wiki-en, tass]")
    entry.write_text(
        entry.read_text() + '  tass: {title: A claim, url: "https://tass.com/defense/1"}\n'
    )
    assert validate_catalog(mini_catalog)
    edit(entry, "entry_sources: [wiki-en, tass]", "entry_sources: [tass]")
    assert problems_of(mini_catalog) == ["systems/kh-101.yaml 7:17 claims-only-source"]


def test_a_catalog_without_a_register_is_told_to_create_one(mini_catalog):
    (mini_catalog / "publishers.yaml").unlink()
    assert problems_of(mini_catalog) == ["publishers.yaml 1:1 missing-register"]


def test_an_article_may_come_from_any_outlet_but_its_urls_are_canonical(mini_catalog):
    """The register governs the sources of facts; the press being linked may be any outlet,
    listed or not, trusted or not. A publisher id an article names must exist."""
    header = mini_catalog / "articles" / "bomber-note.yaml"
    original = header.read_text()
    header.write_text(
        original
        + 'url: "https://unlisted.example/note"\n'
        + "translation_of:\n"
        + '  {title: Original, url: "https://tass.com/defense/1?utm_source=feed", language: ru}\n'
    )
    assert problems_of(mini_catalog) == ["articles/bomber-note.yaml 8:26 non-canonical-url"]
    header.write_text(original + "publisher: unlisted-daily\n")
    assert problems_of(mini_catalog) == ["articles/bomber-note.yaml 6:12 unknown-publisher"]


def test_the_register_s_reason_source_follows_the_policy(mini_catalog):
    edit(
        mini_catalog / "publishers.yaml",
        'url: "https://en.wikipedia.org/wiki/TASS"',
        'url: "https://en.m.wikipedia.org/wiki/TASS"',
    )
    assert problems_of(mini_catalog) == ["publishers.yaml 17:10 non-canonical-url"]


def test_text_specs_are_shown_and_exported_but_never_charted(mini_catalog, tmp_path):
    add_to_tu160(
        mini_catalog,
        specs=(
            "  - {property: engines, value: four afterburning turbofans, sources: [wiki-en]}\n"
            "  - {property: thrust, value: 25000, unit: kgf, sources: [wiki-en]}\n"
        ),
    )
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "select property, value, value_text, value_normalized, unit_normalized from specs "
        "where system_id = 'tu-160' and property in ('engines', 'thrust') order by property"
    ).fetchall()
    assert rows == [
        ("engines", None, "four afterburning turbofans", None, None),
        ("thrust", 25000.0, None, 245.166, "kN"),
    ]
    assert "engines" not in dict(documents.chartable_properties(conn))
    ds = datasette_for(db_path)
    assert "four afterburning turbofans" in get(ds, "/refdb/systems/tu-160").text
    exported = get(ds, "/refdb/specs.json?property=engines&_shape=array").json()
    assert [spec["value_text"] for spec in exported] == ["four afterburning turbofans"]


def test_a_text_spec_takes_words_and_no_unit(mini_catalog):
    add_to_tu160(
        mini_catalog, specs="  - {property: guidance, value: 12, unit: km, sources: [wiki-en]}\n"
    )
    assert problems_of(mini_catalog) == ["systems/tu-160.yaml 15:5 value-error"]


def test_the_entry_page_names_the_copy_read_the_archive_and_a_claims_only_publisher(
    mini_catalog, tmp_path
):
    register = mini_catalog / "publishers.yaml"
    register.write_text(
        register.read_text()
        + "reposts:\n  name: Reposts Daily\n  kind: newspaper\n  domains: [reposts.example]\n"
        "  reliability: reliable\n  reason: A newspaper that republishes agency stories.\n"
        "mirror:\n  name: A mirror\n  kind: mirror\n  copy_of: wikipedia\n"
        "  domains: [mirror.example]\n  reliability: deprecated\n  reason: It copies Wikipedia.\n"
        '  reason_source: {title: Test, url: "https://en.wikipedia.org/wiki/Test",'
        ' via: "https://mirror.example/Test"}\n'
    )
    add_to_tu160(
        mini_catalog,
        specs="  - {property: max_range, value: 14000, unit: km, qualifier: claimed, sources: [tass]}\n",
        sources=(
            '  tass: {title: A claim, url: "https://tass.com/defense/1",'
            ' via: "https://reposts.example/tass/1",'
            ' archive_url: "https://web.archive.org/web/2024/https://tass.com/defense/1"}\n'
            '  wiki-copy: {title: Tupolev Tu-160, url: "https://en.wikipedia.org/wiki/Tupolev_Tu-160",'
            ' via: "https://mirror.example/Tupolev_Tu-160"}\n'
        ),
    )
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    page = get(datasette_for(db_path), "/refdb/systems/tu-160").text
    assert '<a class="refdb-via" href="https://reposts.example/tass/1"' in page
    assert ">via reposts.example</a>" in page
    assert ">via mirror.example</a> <small>(an unofficial copy)</small>" in page
    assert 'href="https://web.archive.org/web/2024/https://tass.com/defense/1"' in page
    assert '<span class="refdb-caution">(state media)</span>' in page
    assert page.count("refdb-caution") == 1  # Wikipedia is reliable: no word of caution


def test_the_database_holds_the_register_and_each_source_s_publisher(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    conn = sqlite3.connect(db_path)
    assert conn.execute(
        "select id, name, kind, country, reliability from publishers order by id"
    ).fetchall() == [
        ("p", "Test Press", "reference", None, "reliable"),
        ("tass", "TASS", "state-media", "RU", "claims-only"),
        ("wikipedia", "Wikipedia", "encyclopedia", None, "reliable"),
    ]
    assert conn.execute("select distinct publisher_id from sources").fetchall() == [("wikipedia",)]


def test_the_report_lists_claims_only_and_single_source_facts(mini_catalog):
    add_to_tu160(
        mini_catalog,
        specs="  - {property: max_range, value: 14000, unit: km, qualifier: claimed, sources: [tass]}\n",
        sources='  tass: {title: A claim, url: "https://tass.com/defense/1"}\n',
    )
    report = build_report(mini_catalog)
    assert report.claims_only_facts == [
        {"system_id": "tu-160", "fact": "max_range = 14000 km (claimed)", "sources": ["tass"]}
    ]
    single = {(f["system_id"], f["fact"]) for f in report.single_source_facts}
    assert single == {
        ("kh-101", "entry"),
        ("tu-160", "entry"),
        ("tu-160", "max_speed = 2.05 mach"),
        ("tu-160", "max_range = 14000 km (claimed)"),
        ("tu-160", "carries kh-101"),
    }
