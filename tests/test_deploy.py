"""The deployment recipe publishes what `refdb serve` publishes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile

from refdb.serving import datasette_command

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
        assert f"refdb/datasette_plugin/templates/{needed}" in names
    assert "refdb/datasette_plugin/static/refdb.css" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "refdb = refdb.datasette_plugin" in zipfile.ZipFile(wheel).read(entry_points).decode()
