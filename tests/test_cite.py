"""Citations: CSL-JSON first, BibTeX, RIS and text derived from it, versioned per entry."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest
import rispy
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON
from click.testing import CliRunner
from pybtex.database import parse_string

from refdb.cite import Publication, UnknownEntry, cite
from refdb.cli import cli
from refdb.compiling.compiler import build

from conftest import CATALOG, ROOT, datasette_for, get

ACCESSED = date(2026, 11, 25)
PUBLICATION = Publication(
    title="refdb — weapons systems reference",
    publisher="refdb project",
    base_url="https://refdb.example.org",
)


def test_bibtex_parses_and_keeps_the_designation_as_written(built_db):
    text = cite("kh-47m2-kinzhal", built_db, "bibtex", ACCESSED, PUBLICATION)
    entry = parse_string(text, "bibtex").entries["refdb-kh-47m2-kinzhal"]
    assert entry.type == "online"
    assert entry.fields["title"] == "{Kh-47M2 Kinzhal}"
    assert entry.fields["url"] == "https://refdb.example.org/system/kh-47m2-kinzhal"
    assert entry.fields["urldate"] == "2026-11-25"
    version = entry.fields["version"]
    assert len(version) == 12 and entry.fields["note"].startswith("catalog ")
    assert entry.fields["note"].endswith(
        f"this version: \\url{{https://refdb.example.org/system/kh-47m2-kinzhal@{version}}}"
    )
    misc = parse_string(cite("tu-160", built_db, "bibtex-misc", ACCESSED, PUBLICATION), "bibtex")
    assert misc.entries["refdb-tu-160"].type == "misc"
    assert (
        "\\url{https://refdb.example.org/system/tu-160}"
        in misc.entries["refdb-tu-160"].fields["note"]
    )


def test_ris_parses_with_access_date_and_version(built_db):
    [record] = rispy.loads(cite("tu-160", built_db, "ris", ACCESSED, PUBLICATION))
    assert record["type_of_reference"] == "ELEC"
    assert record["title"] == "Tupolev Tu-160"
    version = record["edition"]
    assert len(version) == 12
    assert record["urls"] == [
        "https://refdb.example.org/system/tu-160",
        f"https://refdb.example.org/system/tu-160@{version}",
    ]
    assert record["access_date"] == "2026/11/25"


def test_csl_json_renders_with_citeproc(built_db):
    items = json.loads(cite("marshal-shaposhnikov", built_db, "csl-json", ACCESSED, PUBLICATION))
    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    bibliography.register(Citation([CitationItem("refdb-marshal-shaposhnikov")]))
    [rendered] = [str(entry) for entry in bibliography.bibliography()]
    assert (
        "Marshal Shaposhnikov" in rendered
        and "https://refdb.example.org/system/marshal-shaposhnikov" in rendered
    )
    assert "(Accessed: November 25, 2026)" in rendered


def test_text_citation_names_entry_versions_and_access_date(built_db):
    text = cite("tu-160", built_db, "text", ACCESSED, PUBLICATION)
    assert text.startswith("Tupolev Tu-160. (")
    assert "In refdb — weapons systems reference (version " in text
    version = text.split("(version ")[1][:12]
    assert text.rstrip().endswith(
        "Retrieved November 25, 2026, from https://refdb.example.org/system/tu-160 "
        f"(this version: https://refdb.example.org/system/tu-160@{version})"
    )
    assert (
        cite("tu-160", built_db, "markdown", ACCESSED, PUBLICATION)
        .rstrip()
        .endswith(
            "from <https://refdb.example.org/system/tu-160> "
            f"(this version: <https://refdb.example.org/system/tu-160@{version}>)"
        )
    )


def test_redirect_ids_cite_the_entry_and_unknown_ids_suggest_close_ones(built_db):
    assert "refdb-marshal-shaposhnikov" in cite(
        "admiral-shaposhnikov", built_db, "csl-json", ACCESSED
    )
    with pytest.raises(UnknownEntry, match="did you mean tu-160"):
        cite("tu-16", built_db)


def test_version_follows_the_entry_not_the_rest_of_the_catalog(tmp_path):
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG, root)
    db_path = tmp_path / "refdb.db"

    def versions():
        build(root, db_path)
        return {
            i: json.loads(cite(i, db_path, "csl-json", ACCESSED))[0] for i in ("tu-160", "tu-95")
        }

    before = versions()
    entry = root / "systems" / "tu-95.yaml"
    entry.write_text(
        entry.read_text().replace("turboprop strategic bomber", "turboprop strategic  bomber")
    )
    after = versions()
    assert after["tu-95"]["version"] != before["tu-95"]["version"]
    assert after["tu-160"]["version"] == before["tu-160"]["version"]
    assert after["tu-160"]["note"] != before["tu-160"]["note"]  # the catalog version did change


def test_cite_command(built_db):
    result = CliRunner().invoke(
        cli,
        [
            "cite",
            "tu-160",
            "--format",
            "bibtex",
            "--accessed",
            "2026-11-25",
            "--database",
            str(built_db),
            "--config",
            str(ROOT / "datasette.yaml"),
            "--metadata",
            str(ROOT / "metadata.yaml"),
            "--base-url",
            "https://refdb.example.org",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "url = {https://refdb.example.org/system/tu-160}" in result.output
    assert "booktitle = {refdb — weapons systems reference}" in result.output
    assert "organization = {refdb project}" in result.output
    # The placeholder publisher is said on standard error; the base URL was given.
    assert "Warning: no publisher is configured" in result.stderr
    assert "base URL" not in result.stderr and "Warning" not in result.stdout
    local = CliRunner().invoke(
        cli, ["cite", "tu-160", "--database", str(built_db), "--config", ROOT / "datasette.yaml"]
    )
    assert "Warning: no public base URL is configured" in local.stderr
    missing = CliRunner().invoke(cli, ["cite", "tu-16", "--database", str(built_db)])
    assert (
        missing.exit_code == 1 and "no entry with id 'tu-16'; did you mean tu-160" in missing.output
    )


@pytest.mark.parametrize(
    "path, content_type, filename",
    [
        ("/refdb/systems/tu-160.bib", "application/x-bibtex", "refdb-tu-160.bib"),
        ("/refdb/systems/tu-160.ris", "application/x-research-info-systems", "refdb-tu-160.ris"),
        (
            "/refdb/systems/tu-160.csljson",
            "application/vnd.citationstyles.csl+json",
            "refdb-tu-160.csl.json",
        ),
    ],
)
def test_datasette_serves_each_format(datasette, path, content_type, filename):
    response = get(datasette, path + "?accessed=2026-11-25")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert "http://localhost/system/tu-160" in response.text


def test_a_filtered_table_exports_one_bibliography(datasette):
    text = get(datasette, "/refdb/systems.bib?category=strategic-bomber").text
    assert set(parse_string(text, "bibtex").entries) == {
        "refdb-tu-160",
        "refdb-tu-95",
        "refdb-tu-95ms",
    }


def test_entry_page_offers_the_citation_and_metadata_for_reference_tools(datasette):
    page = get(datasette, "/refdb/systems/tu-160").text
    assert '<p id="refdb-citation">Tupolev Tu-160. (' in page
    assert "Copy citation" in page
    for extension in ("bib", "ris", "csljson"):
        assert f'href="/refdb/systems/tu-160.{extension}" download' in page
    assert '<meta name="citation_title" content="Tupolev Tu-160">' in page
    assert '<meta name="DC.identifier" content="http://localhost/system/tu-160">' in page
    assert '"@type": "CreativeWork"' in page


def test_a_citation_says_when_the_catalog_differs_from_its_commit(mini_catalog, tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", "-C", mini_catalog, *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "catalog")
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    clean = cite("tu-160", db_path, "csl-json")
    entry = mini_catalog / "systems" / "tu-160.yaml"
    entry.write_text(entry.read_text().replace("Supersonic", "Edited, supersonic"))
    build(mini_catalog, db_path)
    edited = cite("tu-160", db_path, "csl-json")
    assert "commit " in clean and "not yet committed" not in clean
    assert "with changes not yet committed" in edited
    page = get(datasette_for(db_path), "/refdb/systems/tu-160").text
    assert "built with changes not yet committed" in page


@pytest.mark.parametrize(
    "file, content, says",
    [
        ("datasette.yaml", "plugins: [oops\n  refdb: {", "datasette.yaml:2:8: not valid YAML"),
        ("metadata.yaml", "title: [x\n", "metadata.yaml:2:1: not valid YAML"),
        ("datasette.yaml", "- a list\n", "datasette.yaml: must be a mapping"),
        ("datasette.yaml", "plugins:\n  refdb: [x]\n", "plugins.refdb must be a mapping"),
    ],
)
def test_cite_names_a_broken_settings_file_instead_of_a_traceback(
    built_db, tmp_path, monkeypatch, file, content, says
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / file).write_text(content)
    result = CliRunner().invoke(cli, ["cite", "tu-160", "-d", str(built_db)])
    assert result.exit_code == 1 and says in result.output, result.output
    assert "Traceback" not in result.output


def test_citing_an_entry_added_after_the_build_says_to_rebuild(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    (mini_catalog / "systems" / "su-57.yaml").write_text("id: su-57\n")  # added since
    result = CliRunner().invoke(
        cli, ["cite", "su-57", "-d", str(db_path), "--catalog", str(mini_catalog)]
    )
    assert result.exit_code == 1 and "no entry with id 'su-57'" in result.output
    assert "was built before it; run `refdb build`" in result.output
