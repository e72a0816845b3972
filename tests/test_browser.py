"""A real headless Chromium on a served refdb: the path a newcomer takes, clicked through."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing; `make test` installs Debian's chromium package")
    pytest.skip(
        f"{CHROMIUM} not installed (run `make test`, which installs it)", allow_module_level=True
    )

from playwright.sync_api import expect, sync_playwright  # noqa: E402

# The flags this machine needs: no sandbox as root, and no background calls to the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(built_db):
    """Datasette served on a loopback port exactly as `refdb serve` starts it."""
    from refdb.site.serving import datasette_command

    port = free_port()
    command = datasette_command(
        built_db, ROOT / "datasette.yaml", ROOT / "metadata.yaml", "127.0.0.1", port
    )
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/-/versions.json", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_from_the_tu_160_page_to_the_highlighted_mention(server, page, tmp_path):
    page.goto(f"{server}/system/tu-160")
    expect(page.locator("h1")).to_have_text("Tupolev Tu-160")
    link = page.locator("#mentions a.refdb-mention-link").first
    target = link.get_attribute("href").split("#", 1)[1]
    link.click()
    page.wait_for_url(f"**/refdb/articles/kim-russia-2023-09#{target}")
    mark = page.locator(f"mark#{target}")
    expect(mark).to_be_visible()
    expect(mark).to_have_text("Tu-160")
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") == "rgb(255, 241, 118)"
    assert mark.evaluate("m => m.matches(':target')")
    page.screenshot(path=tmp_path / "article-mention.png", full_page=True)
    assert (tmp_path / "article-mention.png").stat().st_size > 10_000


def test_a_newcomer_searches_kinjal_and_reaches_the_sentence(server, page, tmp_path):
    page.goto(server + "/")
    page.fill("#refdb-q", "kinjal")
    page.keyboard.press("Enter")
    page.wait_for_url("**/refdb/systems/kh-47m2-kinzhal")
    expect(page.locator("h1")).to_have_text("Kh-47M2 Kinzhal")
    page.screenshot(path=tmp_path / "kinzhal.png", full_page=True)
    page.locator("#mentions a.refdb-mention-link").first.click()
    expect(page.locator("mark:target")).to_have_text("Kinzhal")


def test_a_quoted_fact_is_highlighted_in_the_article(server, page, tmp_path):
    page.goto(f"{server}/system/kh-bd")
    page.locator("#specs a.refdb-quote-link").first.click()
    page.wait_for_url("**/refdb/articles/kim-russia-2023-09#q-kh-bd--kim-range")
    targeted = page.locator(".refdb-quote.targeted")
    expect(targeted.first).to_be_visible()
    assert "".join(targeted.all_inner_texts()).startswith(
        "d’une portée de plus de 6 500 kilomètres"
    )
    page.screenshot(path=tmp_path / "quote.png")


def test_the_chart_page_draws_bars_that_lead_to_entries(server, page, tmp_path):
    page.goto(f"{server}/charts")
    bars = page.locator(".refdb-bars a.bar")
    expect(bars.first).to_be_visible()
    assert bars.count() >= 5
    page.select_option("#property", "length")
    page.wait_for_url("**/charts?property=length")
    expect(page.locator("#spec-chart h2")).to_have_text("Length (m, logarithmic scale)")
    page.locator('a.bar[data-system="tu-160"] .bar-fill').click()
    page.wait_for_url("**/refdb/systems/tu-160")
    page.screenshot(path=tmp_path / "chart-to-entry.png")


# --- Every page at a phone's width and a laptop's -----------------------------------------

WIDTHS = [390, 1366]
# One page of each type a reader reaches.
PAGE_TYPES = {
    "entry": "/system/tu-160",
    "ship entry": "/system/marshal-shaposhnikov",
    "article": "/refdb/articles/kim-russia-2023-09",
    "home": "/",
    "systems list": "/systems",
    "search results": "/systems?q=Tupolev",
    "search without a match": "/systems?q=tu1600x",
    "canned query": "/refdb/compare_spec?property=max_speed",
    "canned query of sentences": "/refdb/mentions_of_system?system=tu-160",
    "charts": "/charts?property=max_speed",
    "unknown id": "/system/tu-1600",
    "unknown row": "/refdb/systems/nope",
    "table": "/refdb/systems",
    "mention search": "/refdb/mentions?_search=hypersonique",
    "articles": "/articles",
    "what articles say": "/mentions?q=croisière",
    "sources": "/sources",
    "where sources disagree": "/contested",
    "database": "/refdb",
    "history": "/system/tu-160/history",
}


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def sized(browser, request):
    context = browser.new_context(viewport={"width": request.param, "height": 800})
    page = context.new_page()
    page.width = request.param
    yield page
    context.close()


def test_no_page_is_wider_than_the_screen(server, sized, built_db):
    import sqlite3

    with sqlite3.connect(built_db) as db:
        [(version,)] = db.execute(
            "select substr(content_sha256, 1, 12) from systems where id = 'tu-160'"
        )
    wider = {}
    for kind, path in {**PAGE_TYPES, "version": f"/system/tu-160@{version}"}.items():
        sized.goto(server + path)
        width = sized.evaluate("document.documentElement.scrollWidth")
        if width > sized.width:
            wider[kind] = width
    assert wider == {}


def test_sources_are_numbered_and_link_back_to_the_citation(server, sized):
    sized.goto(f"{server}/system/tu-160")
    source = sized.locator("#source-2")
    expect(source.locator(".refdb-ref-number")).to_have_text("2.")
    assert source.locator(".refdb-ref-number").is_visible()
    cited = sized.locator('#specs sup.cite a[href="#source-2"]').first
    cited.click()
    expect(sized.locator("li:target")).to_have_id("source-2")
    back = source.locator(".refdb-backlinks a").first
    target = back.get_attribute("href")[1:]
    back.click()
    expect(sized.locator("sup.cite:target")).to_have_id(target)
    recorded = sized.locator(".refdb-recorded-on sup.cite a").first
    expect(recorded).to_have_text(re.compile(r"\[Kh-[\w-]+ \d+\]"))  # the other entry's numbers


def test_the_header_search_box_on_an_article_leads_to_an_entry(server, sized):
    sized.goto(f"{server}/refdb/articles/kim-russia-2023-09")
    box = sized.locator("#refdb-header-q")
    expect(box).to_be_visible()
    box.fill("Amiral Chapochnikov")
    box.press("Enter")
    sized.wait_for_url("**/refdb/systems/marshal-shaposhnikov")
    box = sized.locator("#refdb-header-q")
    box.fill("tu1600")
    box.press("Enter")
    sized.wait_for_url("**/systems?q=tu1600")
    expect(sized.locator(".refdb-no-match")).to_contain_text("Did you mean Tupolev Tu-160")
    sized.locator(".refdb-no-match a").first.click()
    sized.wait_for_url("**/refdb/systems/tu-160")


def test_the_systems_list_filters_by_facet_and_reads_on_a_phone(server, sized):
    sized.goto(f"{server}/")
    sized.locator(".refdb-counts a", has_text="strategic bomber").click()
    sized.wait_for_url("**/systems?category=strategic-bomber")
    sized.locator('[data-facet="country"] a', has_text="Soviet Union").click()
    rows = sized.locator("tr[data-system]")
    expect(rows).to_have_count(3)
    header_shown = sized.locator(".refdb-list thead").is_visible()
    label = sized.locator('tr[data-system="tu-160"] td[data-label="Designation"]').evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    if sized.width < 640:  # a card per system, each value labelled
        assert not header_shown and label == '"Designation: "'
    else:
        assert header_shown and label == "none"


def test_charts_show_numbers_on_one_scale_readable_on_a_phone(server, sized):
    sized.goto(f"{server}/charts?property=max_speed")
    expect(sized.locator(".refdb-convention")).to_contain_text("11,000 m")
    bar = sized.locator('a.bar[data-system="tu-160"]')
    expect(bar.locator(".bar-value")).to_have_text("Mach 2.05 ≈ 2,180 km/h / 2,200 km/h")
    assert bar.get_attribute("title").startswith("Tupolev Tu-160: Mach 2.05 ≈ 2,180 km/h / 2,200")
    ships = sized.locator('a.bar[data-system="udaloy-class"] .bar-value')
    expect(ships).to_have_text("29.5 kn ≈ 54.6 km/h / 35 kn ≈ 64.8 km/h")
    size = bar.locator(".bar-name").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 14
    fill, track = bar.locator(".bar-fill").bounding_box(), bar.locator(".bar-track").bounding_box()
    # the largest value, log10(2,200 km/h), on an axis from 10 to 100,000 km/h
    assert fill["width"] / track["width"] == pytest.approx(0.5856, abs=0.005)
    assert track["width"] >= min(300, sized.width / 2)  # the whole width of a phone


def test_a_canned_query_takes_its_parameter_from_a_list_and_links_results(server, sized):
    sized.goto(f"{server}/refdb/mentions_of_system")
    assert sized.title() == "Mentions of a system across articles — refdb"
    sized.select_option("select[name=system]", "tu-160")
    sized.locator("form.sql input[type=submit]").click()
    sized.wait_for_url("**/refdb/mentions_of_system?system=tu-160")
    sized.locator("td mark a", has_text="Tu-160").first.click()
    sized.wait_for_url("**/refdb/articles/kim-russia-2023-09#m-*")
    expect(sized.locator("mark:target")).to_have_text("Tu-160")


def test_the_cite_box_says_the_citation_is_not_public_yet(server, sized):
    sized.goto(f"{server}/system/kh-101")
    warning = sized.locator("#cite .refdb-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("base_url")
    expect(sized.locator("footer")).to_contain_text("CC BY 4.0")


def test_an_unknown_id_offers_the_nearest_entry(server, sized):
    response = sized.goto(f"{server}/system/tu-1600")
    assert response.status == 404
    sized.locator(".refdb-suggestions a").first.click()
    sized.wait_for_url("**/refdb/systems/tu-160")


def test_from_home_to_where_sources_disagree_and_on_to_the_entry(server, sized):
    sized.goto(f"{server}/")
    sized.locator(".refdb-counts a", has_text="properties on which sources disagree").click()
    sized.wait_for_url("**/contested")
    value = sized.locator('.refdb-values a[href^="/system/3m-14#spec-"]').first
    expect(value).to_be_visible()
    value.click()
    sized.wait_for_url("**/systems/3m-14#spec-*")
    expect(sized.locator("tr.contested:target")).to_be_in_viewport()


def test_the_copy_button_confirms_then_offers_to_copy_again(server, sized):
    sized.goto(f"{server}/system/tu-160")
    button = sized.locator("#refdb-copy")
    button.click()
    expect(button).not_to_have_text("Copy citation")  # "Copied", or the text selected
    expect(button).to_have_text("Copy citation", timeout=5000)


def test_back_links_from_a_source_are_targets_a_finger_can_hit(server, sized):
    sized.goto(f"{server}/system/tu-160")
    links = sized.locator(".refdb-backlinks a")
    assert links.count() > 1
    for box in (links.nth(n).bounding_box() for n in range(links.count())):
        assert box["width"] >= 24 and box["height"] >= 24
