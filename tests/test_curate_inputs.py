"""add-article and new-system write only what `refdb check` accepts, or nothing at all."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from refdb.catalog.loader import load_yaml
from refdb.cli import cli

from conftest import FIXTURES


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def catalog(tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "mini", target)
    return target


def files(catalog) -> list[str]:
    return sorted(p.name for p in (catalog / "articles").iterdir())


@pytest.mark.parametrize(
    "options, says",
    [
        (["--url", "javascript:alert(1)"], "--url"),
        (["--title", "T" * 2500], "--title"),
        (["--publisher", ""], "--publisher"),
        (["--title", "A title\0with NUL"], "NUL"),
        (["--title", "A title\u2028across two lines"], "one line"),
        (["--title", "A title\x85with NEL"], "one line"),
    ],
)
def test_add_article_refuses_a_header_check_would_reject(catalog, tmp_path, options, says):
    story = tmp_path / "story.txt"
    story.write_text("Two Tu-160 bombers flew over the sea.\n")
    before = files(catalog)
    args = ["add-article", story, "--catalog", catalog, "--date", "2024-03", "--lang", "en"]
    code, output = run(*args, "--title", "A title", *options)
    assert code == 1 and says in output and "Traceback" not in output
    assert files(catalog) == before


@pytest.mark.parametrize(
    "content", ["", "  \n\n  ", "<html><body><script>x()</script></body></html>"]
)
def test_add_article_refuses_an_empty_text(catalog, tmp_path, content):
    story = tmp_path / "story.html"
    story.write_text(content)
    args = ["add-article", story, "--catalog", catalog, "--date", "2024-03", "--lang", "en"]
    code, output = run(*args, "--title", "Nothing")
    assert code == 1 and "no text" in output
    assert files(catalog) == ["bomber-note.txt", "bomber-note.yaml"]


def test_add_article_refuses_nul_in_the_source(catalog, tmp_path):
    story = tmp_path / "story.txt"
    story.write_bytes(b"Two Tu-160\0 bombers.\n")
    args = ["add-article", story, "--catalog", catalog, "--date", "2024-03", "--lang", "en"]
    code, output = run(*args, "--title", "Nul")
    assert code == 1 and "story.txt:1:11: NUL character" in output


def test_what_add_article_writes_passes_check(catalog, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text("Deux Tu-160 ont survolé la mer.\n")
    args = ["add-article", story, "--catalog", catalog, "--date", "2024-03", "--lang", "fr"]
    assert run(*args, "--title", 'Un titre: "cité" # pas un commentaire')[0] == 0
    assert run("check", "--catalog", catalog)[0] == 0


@pytest.mark.parametrize(
    "name", ["Evil\nid: other", "Evil\rname: x", "Evil\u2028line", "Tab\there"]
)
def test_new_system_refuses_a_name_of_several_lines(catalog, name):
    code, output = run("new-system", "evil", "--catalog", catalog, "--name", name)
    assert code == 1 and "one line" in output
    assert not (catalog / "systems" / "evil.yaml").exists()


def test_new_system_writes_an_odd_name_exactly(catalog):
    name = "Name: with # and 'quotes' & {braces}"
    assert run("new-system", "odd", "--catalog", catalog, "--name", name)[0] == 0
    assert load_yaml(catalog / "systems" / "odd.yaml").data["name"] == name
