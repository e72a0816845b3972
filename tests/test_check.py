"""`refdb check`: every kind of bad input is reported as path:line:column, all at once."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from refdb.cli import cli
from refdb.errors import CatalogError
from refdb.loader import load_yaml
from refdb.validate import validate_catalog

from conftest import CATALOG, FIXTURES

BAD = FIXTURES / "bad"


def problems_for(mini_catalog, case: str):
    """Drop one bad file into a good catalog and return the problems reported for it."""
    shutil.copy(BAD / f"{case}.yaml", mini_catalog / "systems" / f"{case}.yaml")
    with pytest.raises(CatalogError) as caught:
        validate_catalog(mini_catalog)
    return caught.value.problems


@pytest.mark.parametrize(
    "case, line, column, code, words",
    [
        (
            "duplicate-key",
            7,
            1,
            "duplicate-key",
            "duplicate key 'category' (first written on line 4)",
        ),
        ("nested-duplicate-key", 12, 5, "duplicate-key", "duplicate key 'title'"),
        ("unknown-field", 12, 5, "unknown-field", "unknown field 'unti'; did you mean 'unit'?"),
        ("wrong-type", 9, 44, "int-type", "relations.0.count"),
        ("yaml11-no", 5, 10, "value-error", "'no' is not an ISO 3166-1 alpha-2 country code"),
        (
            "dangling-target",
            9,
            29,
            "dangling-target",
            "'kh-102' is not in the catalog; did you mean 'kh-101'?",
        ),
        ("undeclared-source", 9, 61, "undeclared-source", "source 'wiki' is not declared"),
        ("id-mismatch", 1, 5, "id-mismatch", "must equal the file name 'id-mismatch'"),
        ("wrong-dimension", 9, 5, "value-error", "'kg' measures [mass]"),
        ("bad-date", 9, 5, "value-error", "month 13 does not exist"),
        ("tabs", 3, 1, "yaml-syntax", "indent with spaces, not tabs"),
        ("anchors", 2, 7, "yaml-anchor", "anchors (&name) are not allowed"),
        (
            "python-tag",
            2,
            7,
            "yaml-tag",
            "tags (tag:yaml.org,2002:python/object:os.system) are not allowed",
        ),
        ("empty", 1, 1, "empty-file", "file is empty"),
        ("not-utf8", 2, 10, "not-utf8", "not UTF-8"),
    ],
)
def test_bad_file_is_reported_with_its_position(mini_catalog, case, line, column, code, words):
    problems = problems_for(mini_catalog, case)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.path.endswith(f"systems/{case}.yaml")
    assert (problem.line, problem.column, problem.code) == (line, column, code)
    assert words in problem.message


def test_a_name_claimed_by_two_systems_is_reported_in_both_files(mini_catalog):
    problems = problems_for(mini_catalog, "duplicate-alias")
    where = {(p.path.rsplit("/", 1)[-1], p.line, p.column, p.code) for p in problems}
    assert where == {
        ("duplicate-alias.yaml", 9, 12, "duplicate-alias"),
        ("tu-160.yaml", 4, 16, "duplicate-alias"),
    }
    assert "name 'Tu 160' is also a name of 'tu-160' ('Tu-160')" in str(problems)


def test_yaml_1_1_scalars_keep_the_curators_text(tmp_path):
    path = tmp_path / "traps.yaml"
    path.write_text("a: no\nb: on\nc: 012\nd: 1_000\ne: 2023-09-01\nf: 1.5\ng: true\nh: 12\n")
    assert load_yaml(path).data == {
        "a": "no",
        "b": "on",
        "c": "012",
        "d": "1_000",
        "e": "2023-09-01",
        "f": 1.5,
        "g": True,
        "h": 12,
    }


def test_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "windows.yaml"
    path.write_bytes("\ufeffname: Ту-160\r\nkind: native\r\n".encode())
    document = load_yaml(path)
    assert document.data == {"name": "Ту-160", "kind": "native"}
    assert document.position(("kind",)) == (2, 7)


def test_every_problem_of_a_catalog_is_reported_in_one_run(mini_catalog):
    for case in ("duplicate-key", "dangling-target", "undeclared-source", "tabs"):
        shutil.copy(BAD / f"{case}.yaml", mini_catalog / "systems" / f"{case}.yaml")
    with pytest.raises(CatalogError) as caught:
        validate_catalog(mini_catalog)
    codes = sorted(p.code for p in caught.value.problems)
    assert codes == ["dangling-target", "duplicate-key", "undeclared-source", "yaml-syntax"]


def test_two_files_with_one_id_are_an_error(mini_catalog):
    text = (mini_catalog / "systems" / "kh-101.yaml").read_text()
    (mini_catalog / "systems" / "kh-101-copy.yaml").write_text(text)
    with pytest.raises(CatalogError) as caught:
        validate_catalog(mini_catalog)
    duplicates = [p for p in caught.value.problems if p.code == "duplicate-id"]
    assert len(duplicates) == 1
    assert "id 'kh-101' is already used by" in duplicates[0].message


def test_a_symlink_out_of_the_catalog_is_refused(mini_catalog, tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text((mini_catalog / "systems" / "kh-101.yaml").read_text())
    (mini_catalog / "systems" / "kh-101.yaml").unlink()
    (mini_catalog / "systems" / "kh-101.yaml").symlink_to(outside)
    with pytest.raises(CatalogError) as caught:
        validate_catalog(mini_catalog)
    assert "outside-catalog" in {p.code for p in caught.value.problems}


def test_check_command_prints_positions_and_exits_1(mini_catalog):
    shutil.copy(BAD / "unknown-field.yaml", mini_catalog / "systems")
    result = CliRunner().invoke(cli, ["check", "--catalog", str(mini_catalog)])
    assert result.exit_code == 1
    assert (
        "systems/unknown-field.yaml:12:5: unknown field 'unti'; did you mean 'unit'?"
        in result.output
    )
    assert "1 problem found." in result.output


def test_the_real_catalog_checks_clean():
    result = CliRunner().invoke(cli, ["check", "--catalog", str(CATALOG)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Catalog OK:")


def test_a_stale_mention_anchor_names_the_article_file_and_line(mini_catalog):
    header = mini_catalog / "articles" / "bomber-note.yaml"
    header.write_text(
        header.read_text() + "mentions:\n  include:\n    - {exact: the bombers, system: tu-160}\n"
    )
    with pytest.raises(CatalogError) as caught:
        validate_catalog(mini_catalog)
    [problem] = caught.value.problems
    assert problem.path.endswith("articles/bomber-note.yaml")
    assert (problem.line, problem.column, problem.code) == (8, 15, "stale-anchor")
    assert "'the bombers' with this prefix/suffix is not in the article text" in problem.message


def test_a_quote_source_must_be_found_once_in_its_article(mini_catalog):
    entry = mini_catalog / "systems" / "kh-101.yaml"
    entry.write_text(
        entry.read_text()
        + "  seen: {article: bomber-note, quote: Tu-160}\n"
        + "  gone: {article: bomber-note, quote: Tu-22}\n"
    )
    with pytest.raises(CatalogError) as caught:
        validate_catalog(mini_catalog)
    found = {(p.line, p.code) for p in caught.value.problems}
    assert found == {(12, "quote-ambiguous"), (13, "quote-not-found")}
