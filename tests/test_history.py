"""Entry history: every version from the catalog's git history, readable at its own URL.

Each test builds a real git repository of a small catalog with several commits, builds it
with refdb and reads the pages through real Datasette.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from refdb.cite import UnknownVersion, cite
from refdb.cli import cli
from refdb.compiling.compiler import build

from conftest import FIXTURES, datasette_for, get

KH_55 = """id: kh-55
name: Raduga Kh-55
designations: [Kh-55]
category: cruise-missile
country: SU
description: Subsonic air-launched cruise missile.
entry_sources: [wiki-en]
sources:
  wiki-en: {title: "Kh-55", url: "https://en.wikipedia.org/wiki/Kh-55"}
"""


def git(repo: Path, *args: str, day: str = "2026-01-01") -> str:
    moment = f"{day}T12:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": moment, "GIT_COMMITTER_DATE": moment}
    identity = ["-c", "user.name=Curator", "-c", "user.email=curator@example.org"]
    result = subprocess.run(
        ["git", "-C", str(repo), *identity, *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def commit(repo: Path, message: str, day: str) -> None:
    git(repo, "add", "-A", day=day)
    git(repo, "commit", "-q", "-m", message, day=day)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def make_repo(root: Path) -> Path:
    """A repository with the catalog in catalog/ and four commits: the mini catalog; a faster
    Tu-160 with a range and a new Kh-55; a Russian nickname and the Kh-55 renamed Kh-55SM;
    the Kh-55SM removed."""
    catalog = root / "catalog"
    shutil.copytree(FIXTURES / "mini", catalog)
    git(root, "init", "-q", "-b", "main")
    commit(root, "Add the Tu-160 and the Kh-101", "2026-01-01")
    tu160 = catalog / "systems" / "tu-160.yaml"
    edit(tu160, "value: 2.05, unit: mach", "value: 2.1, unit: mach")
    edit(
        tu160,
        "relations:",
        "  - {property: max_range, value: 12300, unit: km, sources: [wiki-en]}\nrelations:",
    )
    (catalog / "systems" / "kh-55.yaml").write_text(KH_55)
    commit(root, "Tu-160: speed per Wikipedia, and its range; add the Kh-55", "2026-02-01")
    edit(
        tu160,
        "kind: transliteration}",
        "kind: transliteration}\n  - {text: Белый лебедь, lang: ru, kind: nickname}",
    )
    git(root, "mv", "catalog/systems/kh-55.yaml", "catalog/systems/kh-55sm.yaml")
    edit(catalog / "systems" / "kh-55sm.yaml", "id: kh-55\n", "id: kh-55sm\n")
    commit(root, "Tu-160: the Russian nickname; the Kh-55 entry is the Kh-55SM", "2026-03-01")
    (catalog / "systems" / "kh-55sm.yaml").unlink()
    commit(root, "Remove the Kh-55SM until it is sourced", "2026-04-01")
    return root


@pytest.fixture
def repo(tmp_path) -> Path:
    """The repository, for a test that commits more to it."""
    return make_repo(tmp_path / "repo")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The repository built once, for the tests that only read: (database, Datasette)."""
    root = tmp_path_factory.mktemp("history")
    make_repo(root / "repo")
    db_path = root / "refdb.db"
    return db_path, built(root / "repo" / "catalog", db_path)


def built(catalog: Path, db_path: Path):
    build(catalog, db_path, built_at="2026-05-01T00:00:00+00:00")
    return datasette_for(db_path)


def history_rows(db_path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"select * from {table} order by id").fetchall()


def versions(db_path: Path, system_id: str) -> list[str]:
    """The entry's versions, oldest first."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "select version from entry_changes where system_id = ? and version is not null "
            "order by sequence",
            [system_id],
        )
        return [row[0] for row in rows]


def card(page: str) -> str:
    """The entry as the version page renders it (not the banner, which follows the catalog)."""
    return re.search(r'<article class="refdb-card".*?</article>', page, re.S).group()


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#34;", '"')


def test_every_commit_of_an_entry_is_a_version_with_its_commit_date_and_message(shared):
    db_path, _ = shared
    with sqlite3.connect(db_path) as conn:
        steps = conn.execute(
            "select kind, version, date, message from entry_changes where system_id = 'tu-160' "
            "order by sequence"
        ).fetchall()
        current = conn.execute("select content_sha256 from systems where id = 'tu-160'").fetchone()
    assert [(kind, day[:10]) for kind, _, day, _ in steps] == [
        ("added", "2026-01-01"),
        ("changed", "2026-02-01"),
        ("changed", "2026-03-01"),
    ]
    assert steps[1][3] == "Tu-160: speed per Wikipedia, and its range; add the Kh-55"
    assert steps[-1][1] == current[0][:12]
    assert len({version for _, version, _, _ in steps}) == 3


def test_history_page_lists_versions_newest_first_with_changes_in_words(shared):
    db_path, ds = shared
    oldest, middle, newest = versions(db_path, "tu-160")
    response = get(ds, "/system/tu-160/history")
    assert response.status_code == 200
    text = words(response.text)
    assert text.index(newest) < text.index(middle) < text.index(oldest)
    assert "maximum speed Mach 2.05 changed to Mach 2.1" in text
    assert (
        "spec added: maximum range 12,300 km (source: “Tupolev Tu-160” (en.wikipedia.org))" in text
    )
    assert "name added: “Белый лебедь” (ru, nickname)" in text
    assert "“Tu-160: the Russian nickname; the Kh-55 entry is the Kh-55SM”" in text
    assert f'href="/system/tu-160@{middle}"' in response.text
    assert f'href="/system/tu-160/diff?from={oldest}&amp;to={middle}"' in response.text
    assert "not kept in git" not in text


def test_each_version_page_shows_the_entry_as_it_was(shared):
    db_path, ds = shared
    oldest, middle, newest = versions(db_path, "tu-160")
    pages = {v: get(ds, f"/system/tu-160@{v}") for v in (oldest, middle, newest)}
    assert {response.status_code for response in pages.values()} == {200}
    first, second, last = (words(card(pages[v].text)) for v in (oldest, middle, newest))
    assert "Mach 2.05" in first and "Mach 2.1" not in first and "maximum range" not in first
    assert "Mach 2.1" in second and "12,300 km" in second and "Белый лебедь" not in second
    assert "Белый лебедь" in last
    assert 'href="/system/kh-101">Kh-101</a>' in card(pages[oldest].text)  # a name, not an id
    old_banner = words(pages[oldest].text.split('<article class="refdb-card"')[0])
    assert "An old version of this entry, as it was 2026-01-01" in old_banner
    assert 'href="/system/tu-160">See the current one</a>' in pages[oldest].text
    assert "maximum speed Mach 2.05 changed to Mach 2.1" in old_banner  # what changed since
    assert "This is the current version" in words(pages[newest].text)
    assert "12300" in words(pages[middle].text)  # the file as it was, verbatim


def test_the_diff_between_two_versions_in_words_and_lines(shared):
    db_path, ds = shared
    oldest, _, newest = versions(db_path, "tu-160")
    response = get(ds, f"/system/tu-160/diff?from={oldest}&to={newest}")
    assert response.status_code == 200
    assert "maximum speed Mach 2.05 changed to Mach 2.1" in words(response.text)
    assert '<span class="removed">-  - {property: max_speed, value: 2.05' in response.text
    assert '<span class="added">+  - {property: max_speed, value: 2.1' in response.text
    latest = get(ds, f"/system/tu-160/diff?from={oldest}")  # to the latest by default
    assert latest.status_code == 200 and f"@{newest}" in latest.text


def test_an_unknown_version_is_a_404_that_links_the_history(shared):
    db_path, ds = shared
    for path in ("/system/tu-160@0123456789ab", "/system/tu-160@not-a-version"):
        response = get(ds, path)
        assert response.status_code == 404
        assert 'id="history-link" href="/system/tu-160/history"' in response.text
    missing = get(ds, "/system/tu-16@0123456789ab")
    assert missing.status_code == 404 and "Search the systems" in missing.text
    assert get(ds, "/system/tu-160/diff?from=0123456789ab").status_code == 404


def test_a_citation_links_its_version_and_the_link_opens_that_version(shared):
    db_path, ds = shared
    oldest, _, newest = versions(db_path, "tu-160")
    [item] = json.loads(cite("tu-160", db_path, "csl-json", date(2026, 5, 2)))
    assert item["version"] == newest
    link = re.search(r"this version: (\S+)", item["note"]).group(1)
    assert link == f"{item['URL']}@{newest}"
    page = get(ds, urlsplit(link).path)
    assert page.status_code == 200 and "This is the current version" in page.text
    entry_page = get(ds, "/refdb/systems/tu-160").text
    assert f"(this version: http://localhost/system/tu-160@{newest})" in entry_page
    assert f'href="/system/tu-160@{newest}">This version</a>' in entry_page
    for extension in ("bib", "ris", "csljson"):
        export = get(ds, f"/refdb/systems/tu-160.{extension}").text
        assert f"http://localhost/system/tu-160@{newest}" in export


def test_cite_version_cites_an_older_version_dated_by_its_commit(shared):
    db_path, ds = shared
    oldest = versions(db_path, "tu-160")[0]
    result = CliRunner().invoke(
        cli,
        ["cite", "tu-160", "--version", oldest, "--format", "ris", "--database", str(db_path)],
    )
    assert result.exit_code == 0, result.output
    assert f"ET  - {oldest}" in result.output and "DA  - 2026/01/01" in result.output
    link = re.search(r"UR  - (\S+@\S+)", result.output).group(1)
    page = get(ds, urlsplit(link).path)
    assert "Mach 2.05" in words(card(page.text))
    wrong = CliRunner().invoke(
        cli, ["cite", "tu-160", "--version", "0123456789ab", "--database", str(db_path)]
    )
    assert wrong.exit_code == 1 and "its versions, newest first: " in wrong.output
    assert oldest in wrong.output
    with pytest.raises(UnknownVersion):
        cite("tu-160", db_path, version="0123456789ab")


def test_editing_an_entry_never_changes_an_older_version_page(repo, tmp_path):
    db_path = tmp_path / "refdb.db"
    ds = built(repo / "catalog", db_path)
    old = versions(db_path, "tu-160")
    before = {v: card(get(ds, f"/system/tu-160@{v}").text) for v in old}
    tu160 = repo / "catalog" / "systems" / "tu-160.yaml"
    edit(tu160, "Supersonic variable-sweep-wing", "Supersonic swing-wing")
    commit(repo, "Tu-160: shorter description", "2026-06-01")
    edit(tu160, "value: 2.1, unit: mach", "value: 2.2, unit: mach")  # and one not committed
    ds = built(repo / "catalog", db_path)
    assert versions(db_path, "tu-160")[: len(old)] == old
    after = {v: card(get(ds, f"/system/tu-160@{v}").text) for v in old}
    assert after == before
    history = words(get(ds, "/system/tu-160/history").text)
    assert "in the working copy, not committed yet" in history
    assert "description reworded" in history
    assert "maximum speed Mach 2.1 changed to Mach 2.2" in history
    banner = words(get(ds, f"/system/tu-160@{old[-1]}").text)
    assert "An old version" in banner and "maximum speed Mach 2.1 changed to Mach 2.2" in banner
    [item] = json.loads(cite("tu-160", db_path, "csl-json"))  # the uncommitted version
    assert get(ds, f"/system/tu-160@{item['version']}").status_code == 200


def test_a_renamed_then_removed_entry_keeps_its_versions(shared):
    db_path, ds = shared
    first, renamed = versions(db_path, "kh-55sm")
    history = get(ds, "/system/kh-55sm/history")
    text = words(history.text)
    assert history.status_code == 200 and "This entry is no longer in the catalog" in text
    assert "file renamed from systems/kh-55.yaml to systems/kh-55sm.yaml" in text
    assert "entry removed" in text and "id changed from “kh-55” to “kh-55sm”" in text
    assert get(ds, "/system/kh-55/history").headers["location"] == "/system/kh-55sm/history"
    old = get(ds, f"/system/kh-55@{first}")  # the id a citation of that version gave
    assert old.status_code == 200 and "Raduga Kh-55" in words(card(old.text))
    gone = words(get(ds, f"/system/kh-55sm@{renamed}").text)
    assert "An old version of an entry that was removed from the catalog (2026-04-01)" in gone
    cited = cite("kh-55", db_path, "text", version=first)
    assert f"/system/kh-55sm@{first}" in cited


def test_an_entry_is_dated_by_the_last_commit_that_changed_it(repo, tmp_path):
    """Not by a later commit of articles alone (the dates are asked of git for the entries'
    folder only: a newsroom's history names hundreds of thousands of articles)."""
    catalog = repo / "catalog"
    article = sorted((catalog / "articles").glob("*.txt"))[0]
    article.write_text(article.read_text() + "\nUne phrase de plus.\n")
    commit(repo, "An article corrected", "2026-06-01")
    db_path = tmp_path / "refdb.db"
    build(catalog, db_path)
    with sqlite3.connect(db_path) as conn:
        dates = dict(conn.execute("select id, modified from systems"))
    assert dates == {"tu-160": "2026-03-01", "kh-101": "2026-01-01"}


def test_without_git_only_the_current_version_is_recorded_and_said_plainly(tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "mini", catalog)
    db_path = tmp_path / "refdb.db"
    ds = built(catalog, db_path)
    [version] = versions(db_path, "tu-160")
    history = words(get(ds, "/system/tu-160/history").text)
    assert "This catalog is not kept in git, so only the current version" in history
    assert "the current catalog (not kept in git)" in history
    page = get(ds, f"/system/tu-160@{version}")
    assert page.status_code == 200 and "This is the current version" in page.text


def test_a_shallow_clone_has_the_versions_it_holds_and_says_so(repo, tmp_path):
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)],
        check=True,
        capture_output=True,
    )
    db_path = tmp_path / "refdb.db"
    ds = built(clone / "catalog", db_path)
    [version] = versions(db_path, "tu-160")
    history = words(get(ds, "/system/tu-160/history").text)
    assert "This copy of the catalog's history is shallow" in history
    assert "the earliest version in this copy of the history" in history
    assert get(ds, f"/system/tu-160@{version}").status_code == 200
    full = versions(build_full(repo, tmp_path), "tu-160")
    assert full[-1] == version
    missing = get(ds, f"/system/tu-160@{full[0]}")
    assert missing.status_code == 404 and "/system/tu-160/history" in missing.text


def build_full(repo: Path, tmp_path: Path) -> Path:
    db_path = tmp_path / "full" / "refdb.db"
    build(repo / "catalog", db_path)
    return db_path


def test_a_rebuild_reuses_what_it_extracted_and_gives_a_clean_builds_result(repo, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(repo / "catalog", db_path, built_at="2026-05-01T00:00:00+00:00")
    cache = db_path.with_name(".refdb.db.history")
    assert cache.is_file()
    edit(repo / "catalog" / "systems" / "kh-101.yaml", "long-range", "long-range stealthy")
    commit(repo, "Kh-101: stealthy", "2026-06-01")
    build(repo / "catalog", db_path, built_at="2026-05-01T00:00:00+00:00")
    incremental = [history_rows(db_path, t) for t in ("entry_versions", "entry_changes")]
    cache.write_bytes(b"not signed\n{}")  # a cache that does not verify is ignored
    build(repo / "catalog", db_path, built_at="2026-05-01T00:00:00+00:00")
    clean = [history_rows(db_path, t) for t in ("entry_versions", "entry_changes")]
    assert incremental == clean
    assert len(versions(db_path, "kh-101")) == 2


def test_history_made_a_part_at_a_time_is_the_history_made_at_once(repo, tmp_path, monkeypatch):
    """The build writes the history a few entries at a time; the parts' boundaries (here
    one entry each) change nothing."""
    whole = build_full(repo, tmp_path)
    monkeypatch.setattr("refdb.compiling.history.ENTRIES_PER_PART", 1)
    parted = tmp_path / "parted" / "refdb.db"
    build(repo / "catalog", parted, reuse=False)
    for table in ("entry_versions", "entry_changes"):
        assert history_rows(parted, table) == history_rows(whole, table), table
    assert len(history_rows(whole, "entry_versions")) > 3
