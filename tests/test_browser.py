"""A real headless Chromium on a served refdb: the path a newcomer takes, clicked through."""

from __future__ import annotations

import os
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
    from refdb.serving import datasette_command

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
    bars = page.locator("svg.refdb-chart a.bar")
    expect(bars.first).to_be_visible()
    assert bars.count() >= 5
    page.select_option("#property", "length")
    page.wait_for_url("**/charts?property=length")
    expect(page.locator("#spec-chart h2")).to_have_text("Length (m, logarithmic scale)")
    page.locator('a.bar[data-system="tu-160"] rect').click()
    page.wait_for_url("**/refdb/systems/tu-160")
    page.screenshot(path=tmp_path / "chart-to-entry.png")
