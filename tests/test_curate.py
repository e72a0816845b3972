"""The curator's loop: an article and an entry in two commands, then check, build, publish."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from refdb import curate
from refdb.cli import cli
from refdb.report import build_report

from conftest import FIXTURES, datasette_for, get

STORY = """<html><head><title>Site | World</title><script>alert("no")</script></head><body>
<nav>Home</nav><h1>Sukhoi bombers seen beside a Tu-160</h1>
<p>Two Su-34 strike aircraft flew past a Tu&#8209;160 on Saturday.</p>
<p>Officials did not say whether the Su-34 would stay.</p><footer>(c) Site</footer></body></html>"""


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def test_html_is_reduced_to_its_visible_paragraphs():
    text, title = curate.html_to_text(STORY)
    assert title == "Sukhoi bombers seen beside a Tu-160"
    assert text == (
        "Sukhoi bombers seen beside a Tu-160\n\n"
        "Two Su-34 strike aircraft flew past a Tu\u2011160 on Saturday.\n\n"
        "Officials did not say whether the Su-34 would stay."
    )


def test_markdown_is_reduced_to_text():
    text, title = curate.markdown_to_text(
        "# A headline\n\nSome *emphasis* and a [link](http://x).\n"
    )
    assert (title, text) == ("A headline", "A headline\n\nSome emphasis and a link .")


def test_a_new_article_and_a_new_system_in_two_commands(tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "mini", catalog)
    story = tmp_path / "story.html"
    story.write_text(STORY)
    add = ("add-article", story, "--catalog", catalog, "--date", "2024-03-02", "--lang", "en")

    code, output = run(*add, "--url", "https://tass.com/world/1")
    assert code == 0, output
    article_id = "2024-03-02-sukhoi-bombers-seen-beside-a-tu-160"
    assert "publisher: tass\n" in (catalog / "articles" / f"{article_id}.yaml").read_text()
    assert "Systems it mentions: tu-160 (2)" in output
    assert "Names no entry claims: Su-34" in output
    assert (catalog / "articles" / f"{article_id}.txt").exists()
    assert (
        run("add-article", story, "--catalog", catalog, "--date", "2024-03-02", "--lang", "en")[0]
        == 1
    )

    code, output = run(
        "new-system",
        "su-34",
        "--catalog",
        catalog,
        "--name",
        "Sukhoi Su-34",
        "--category",
        "bomber",
        "--country",
        "RU",
    )
    assert code == 0, output
    code, output = run("check", "--catalog", catalog)
    assert (
        code == 1
        and "systems/su-34.yaml:15:14: description: String should have at least 1 character"
        in output
    )

    fill_in(catalog / "systems" / "su-34.yaml")
    assert run("check", "--catalog", catalog)[0] == 0
    db_path = tmp_path / "refdb.db"
    code, output = run("build", "--catalog", catalog, "--output", db_path)
    assert code == 0, output

    ds = datasette_for(db_path)
    entry = get(ds, "/refdb/systems/su-34").text
    assert "Two <mark>Su-34</mark> strike aircraft flew past" in entry
    assert 'data-system="su-34"' in get(ds, "/charts?property=max_range").text
    assert "Su-34" not in {u.text for u in build_report(catalog).unlinked_designations}


def fill_in(path):
    """What a curator types into the scaffold (test values, not catalog facts)."""
    text = path.read_text()
    for empty, value in [
        ("designations: []", "designations: [Su-34]"),
        ('role: ""', "role: test role"),
        ('description: ""', "description: Test description."),
        (
            "specs: []",
            "specs:\n  - {property: max_range, value: 1000, unit: km, sources: [source-1]}",
        ),
        (
            '{title: "", url: "https://"',
            '{title: Test source, url: "https://en.wikipedia.org/wiki/Test"',
        ),
    ]:
        assert empty in text, empty
        text = text.replace(empty, value, 1)
    path.write_text(text)


def test_add_article_takes_any_outlet_but_refuses_an_unknown_publisher_id(tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "mini", catalog)
    story = tmp_path / "story.txt"
    story.write_text("A Tu-160 flew.")
    add = ("add-article", story, "--catalog", catalog, "--date", "2024-03-02", "--lang", "en")
    add += ("--title", "A flight")
    code, output = run(*add, "--publisher", "Wikipédia")
    assert code == 1 and "publisher 'Wikipédia' is not in the register" in output
    assert "did you mean 'wikipedia'?" in output
    code, output = run(*add, "--url", "https://www.unlisted.example/story")
    assert code == 0, output  # any outlet: the register governs sources of facts
    [header] = [p for p in (catalog / "articles").glob("*a-flight.yaml")]
    assert "not in the publisher register: unrated" in header.read_text()
    assert "publisher:" not in header.read_text()
    header.unlink()
    header.with_suffix(".txt").unlink()
    code, output = run(*add, "--url", "https://tass.com/world/1?utm_source=feed")
    assert code == 1 and "cite the canonical URL https://tass.com/world/1" in output
    assert not list((catalog / "articles").glob("*a-flight*"))


def test_a_title_in_cyrillic_gives_a_readable_article_id():
    assert curate.slugify("Нічна атака на Одещину") == "nichna-ataka-na-odeshchinu"
    assert curate.slugify("Удар «Калибрами» по Одессе") == "udar-kalibrami-po-odesse"


def test_text_outside_inner_blocks_is_kept_and_deep_nesting_costs_its_length():
    assert curate.html_to_text("<div>Intro <p>A para.</p> and a tail</div>")[0] == (
        "Intro\n\nA para.\n\nand a tail"
    )
    nested = "<ul>" + "<li>item<ul>" * 50_000 + "</ul></li>" * 50_000 + "</ul>"
    text, _ = curate.html_to_text(nested)
    assert text.split("\n\n") == ["item"] * 50_000  # one paragraph per item, not one


def test_add_article_works_beside_an_unfinished_scaffold_and_says_what_it_left_out(tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "mini", catalog)
    assert run("new-system", "su-57", "--catalog", catalog)[0] == 0  # left unfinished
    story = tmp_path / "story.txt"
    story.write_text("A Tu-160 flew over the sea.")
    code, output = run(
        "add-article", story, "--catalog", catalog, "--date", "2024-03", "--lang", "en",
        "--title", "A flight",
    )  # fmt: skip
    assert code == 0, output
    assert "Systems it mentions: tu-160 (1)" in output
    assert "Left out of the above: 1 catalog file(s) with problems" in output
    assert "su-57.yaml" in output


def test_add_article_names_every_system_no_entry_claims_and_what_the_catalog_knows(tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "mini", catalog)
    entry = catalog / "systems" / "tu-160.yaml"
    entry.write_text(
        entry.read_text().replace("description: ", "description: Escorted by S-400 cover. ", 1)
    )
    story = tmp_path / "story.txt"
    story.write_text(
        "Iskander-M-Werfer, eine S-400-Batterie und Geran-2-Drohnen standen bei der Tu-160.\n\n"
        "Kalibr-Marschflugkörper trafen die Iskander-M-Stellung, die Rakete „Sarmat“ nicht."
    )
    code, output = run(
        "add-article",
        story,
        "--catalog",
        catalog,
        "--date",
        "2024-03-02",
        "--lang",
        "de",
        "--title",
        "Launchers seen",
    )
    assert code == 0, output
    assert (
        "Names no entry claims: Iskander-M, S-400 (named by tu-160; no entry), Geran-2, "
        "Kalibr, Sarmat"
    ) in output


def test_a_pasted_plain_text_gives_its_headline_as_the_title():
    assert curate.plain_title("Odessa hit again overnight\n\nThe navy fired.") == (
        "Odessa hit again overnight"
    )
    assert curate.plain_title("The navy fired two missiles.\n\nMore later.") is None
    assert curate.plain_title("One paragraph only, no headline") is None


def test_letters_without_a_decomposition_are_spelled_out_in_an_article_id():
    assert curate.slugify("Rosja przeniosła wyrzutnie") == "rosja-przeniosla-wyrzutnie"
    assert curate.slugify("Die Straße nach Øresund") == "die-strasse-nach-oresund"
