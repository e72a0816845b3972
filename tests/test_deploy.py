"""The deployment recipe publishes what `refdb serve` publishes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile

from refdb.site.serving import datasette_command

from conftest import ROOT


def test_dockerfile_serves_with_the_same_options_as_refdb_serve():
    dockerfile = (ROOT / "Dockerfile").read_text()
    command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    expected = datasette_command(
        "/app/refdb.db",
        "/app/datasette.yaml",
        "/app/metadata.yaml",
        "0.0.0.0",
        8001,
        "/app/refdb.inspect.json",
    )
    assert command == ["datasette", *expected[3:]]
    assert "refdb build --catalog catalog --output /app/refdb.db" in dockerfile


def test_the_installed_package_carries_its_templates_and_styles(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    [wheel] = tmp_path.glob("refdb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "row-refdb-systems.html",
        "row-refdb-articles.html",
        "index.html",
        "refdb_not_found.html",
    ):
        assert f"refdb/site/plugin/templates/{needed}" in names
    assert "refdb/site/plugin/static/refdb.css" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "refdb = refdb.site.plugin" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_lock_pins_every_declared_dependency_within_its_range_and_is_what_runs():
    """pyproject.toml declares ranges (refdb installs beside other Datasette plugins);
    requirements.lock pins every package the project and its tests install, and CI runs
    exactly those versions."""
    import tomllib
    from importlib.metadata import version

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, pinned = line.split("==")
            locked[canonicalize_name(name)] = pinned
    for text in declared:
        requirement = Requirement(text)
        pinned = locked[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pinned, prereleases=True), (text, pinned)
    for name, pinned in locked.items():
        assert version(name) == pinned, name
