"""`refdb check`: problems are reported as path:line:column, all of them in one run.

Each kind of bad input has its case in tests/bad_inputs/ (see test_bad_inputs.py); these
tests cover what the corpus cannot: the loader's values, several problems at once, the CLI.
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from test_bad_inputs import CORPUS

from refdb.catalog.loader import load_yaml
from refdb.catalog.validate import validate_catalog
from refdb.check import check
from refdb.cli import cli
from refdb.errors import CatalogError

from conftest import CATALOG, edit


def add_case(catalog, case: str, as_id: str = "bad") -> None:
    """Copy a corpus case's bad entry into ``catalog`` under the id (and file name) ``as_id``."""
    text = (CORPUS / case / "catalog" / "systems" / "bad.yaml").read_text()
    text = text.replace("bad", as_id).replace(
        "[T-1]", f"[T-{as_id}]"
    )  # its id, name and designation
    (catalog / "systems" / f"{as_id}.yaml").write_text(text)


def test_yaml_1_1_scalars_keep_the_curators_text(tmp_path):
    path = tmp_path / "traps.yaml"
    path.write_text("a: no\nb: on\nc: 012\nd: 1_000\ne: 2023-09-01\nf: 1.5\ng: true\nh: 12\ni: ~\n")
    assert load_yaml(path).data == {
        "a": "no",
        "b": "on",
        "c": "012",
        "d": "1_000",
        "e": "2023-09-01",
        "f": 1.5,
        "g": True,
        "h": 12,
        "i": None,
    }


def test_positions_are_kept_for_every_value(tmp_path):
    path = tmp_path / "windows.yaml"
    path.write_bytes("\ufeffname: Ту-160\r\nspecs:\r\n  - {property: crew, value: 4}\r\n".encode())
    document = load_yaml(path)
    assert document.data == {"name": "Ту-160", "specs": [{"property": "crew", "value": 4}]}
    assert document.position(("specs", 0, "value")) == (3, 29)
    assert document.position(("specs", 0, "missing")) == (3, 5)


def test_every_problem_of_a_catalog_is_reported_in_one_run(mini_catalog):
    cases = (
        "duplicate-key-top-level",
        "dangling-relation-target",
        "tab-indentation",
        "undeclared-spec-source",
    )
    for number, case in enumerate(cases):
        add_case(mini_catalog, case, as_id=f"bad-{number}")
    with pytest.raises(CatalogError) as caught:
        validate_catalog(mini_catalog)
    assert [(p.path.rsplit("/", 1)[-1], p.code) for p in caught.value.problems] == [
        ("bad-0.yaml", "duplicate-key"),
        ("bad-1.yaml", "dangling-target"),
        ("bad-2.yaml", "yaml-syntax"),
        ("bad-3.yaml", "undeclared-source"),
    ]


def test_check_command_prints_positions_and_exits_1(mini_catalog):
    add_case(mini_catalog, "unknown-nested-field")
    result = CliRunner().invoke(cli, ["check", "--catalog", str(mini_catalog)])
    assert result.exit_code == 1
    assert (
        "systems/bad.yaml:11:5: unknown field 'unti'; did you mean 'unit'? [unknown-field]"
        in result.output
    )
    assert "1 problem found." in result.output


def test_the_real_catalog_checks_clean():
    result = CliRunner().invoke(cli, ["check", "--catalog", str(CATALOG)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Catalog OK:")


def test_check_links_the_sound_files_and_reports_their_problems_too(mini_catalog):
    """A problem only linking finds (an exclusion with nothing to exclude) is reported in the
    same run as a broken entry, not after it is fixed."""
    add_case(mini_catalog, "unknown-nested-field")
    shutil.copytree(CORPUS / "stale-exclusion" / "catalog", mini_catalog, dirs_exist_ok=True)
    result = CliRunner().invoke(cli, ["check", "--catalog", str(mini_catalog)])
    assert result.exit_code == 1
    assert "systems/bad.yaml:11:5:" in result.output and "[unknown-field]" in result.output
    assert "articles/bomber-note.yaml:" in result.output and "[stale-anchor]" in result.output
    assert "2 problems found." in result.output


def test_report_lists_the_problems_then_reports_on_the_rest(mini_catalog):
    add_case(mini_catalog, "unknown-nested-field")
    result = CliRunner().invoke(cli, ["report", "--catalog", str(mini_catalog)])
    assert result.exit_code == 0, result.output
    problems, _, rest = result.output.partition("Names in articles that match no entry")
    assert problems.startswith("Problems (fix these first")
    assert "systems/bad.yaml:11:5:" in problems and "[unknown-field]" in problems
    assert "Entries no article mentions:\n  none\n" in rest  # the broken entry is left out
    as_json = CliRunner().invoke(cli, ["report", "--catalog", str(mini_catalog), "--json"])
    report = json.loads(as_json.output)
    [problem] = report["problems"]
    assert (problem["line"], problem["column"], problem["code"]) == (11, 5, "unknown-field")
    assert report["never_mentioned"] == [] and report["single_source_facts"]


def test_one_run_lists_every_problem_of_a_file(mini_catalog):
    """A schema problem (an unknown field, an invalid spec) no longer hides the problems the
    checks across files find in the same file: a dangling target, a non-canonical URL."""
    edit(
        mini_catalog / "systems" / "tu-160.yaml",
        "category: strategic-bomber",
        "category: strategic-bomber\nrang: 12",
    )
    edit(mini_catalog / "systems" / "tu-160.yaml", "target: kh-101", "target: kh-1010")
    edit(
        mini_catalog / "systems" / "tu-160.yaml",
        "https://en.wikipedia.org/wiki/Tupolev_Tu-160",
        "https://en.m.wikipedia.org/wiki/Tupolev_Tu-160",
    )
    edit(
        mini_catalog / "systems" / "tu-160.yaml", "value: 2.05, unit: mach", "value: 2.05, unit: kg"
    )
    codes = sorted(p.code for p in check(mini_catalog).problems)
    assert codes == ["dangling-target", "non-canonical-url", "unknown-field", "value-error"]
    # the partial entry is checked, never built
    assert "tu-160" not in {s.id for s in check(mini_catalog).catalog.systems}
