"""`refdb serve --watch`: a saved edit shows on reload, and no request fails meanwhile."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from refdb.site.watching import catalog_file

from conftest import FIXTURES, ROOT, _free_port


@pytest.fixture
def watched(tmp_path, request):
    """A served copy of the small fixture catalog, watched; yields (catalog, base URL).
    Watched by the system's notifications, or by polling when the test asks for it."""
    environment = {k: v for k, v in os.environ.items() if k != "WATCHFILES_FORCE_POLLING"}
    way = getattr(request, "param", None)
    if way == "polling":
        environment["WATCHFILES_FORCE_POLLING"] = "1"
    workers = ["--workers", "2"] if way == "workers" else []
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "mini", catalog)
    port = _free_port()
    command = [
        *(sys.executable, "-c", "from refdb.cli import cli; cli()", "serve", "--watch", *workers),
        *("--catalog", catalog, "-o", tmp_path / "out" / "refdb.db", "-p", str(port)),
        *("--config", ROOT / "datasette.yaml", "--metadata", ROOT / "metadata.yaml"),
    ]
    process = subprocess.Popen(
        [str(part) for part in command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _status(url + "/-/versions.json") == 200, process)
        _servers[url] = process.pid
        yield catalog, url
    finally:
        helpers = _descendants(process.pid)
        process.terminate()
        process.wait(timeout=10)
    # The builder processes end with the server, even when a signal ends it.
    _wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in helpers), seconds=10)


_servers: dict[str, int] = {}


def _server_pid(url: str) -> int:
    return _servers[url]


def _descendants(pid: int) -> set[int]:
    """Processes started by ``pid`` and by them, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _description(url: str) -> str:
    with urllib.request.urlopen(url + "/refdb/systems/tu-160.json?_shape=objects") as response:
        return json.load(response)["rows"][0]["description"]


def _wait_for(condition, process=None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if (process and process.poll() is not None) or time.monotonic() > deadline:
            raise AssertionError("timed out" + (f": {process.stderr.read()}" if process else ""))
        time.sleep(0.1)


@pytest.mark.parametrize("watched", ["one process", "workers"], indirect=True)
def test_an_edit_shows_on_reload_and_no_request_fails(watched):
    catalog, url = watched
    statuses: list[int] = []
    stop = threading.Event()

    def keep_reading() -> None:  # bounded: at most 3,000 requests
        while not stop.is_set() and len(statuses) < 3000:
            statuses.append(_status(url + "/refdb/systems/tu-160"))

    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        entry = catalog / "systems" / "tu-160.yaml"
        entry.write_text(entry.read_text().replace("Supersonic", "Edited, supersonic"))
        _wait_for(lambda: _description(url).startswith("Edited, supersonic"))
        # every worker serves the new build from then on, whichever answers
        assert all(_description(url).startswith("Edited, supersonic") for _ in range(20))
        entry.write_text(entry.read_text() + "unknown_field: 1\n")  # a broken save
        time.sleep(2)
        assert _description(url).startswith("Edited, supersonic")  # still the last good build
    finally:
        stop.set()
        reader.join()
    assert statuses and set(statuses) == {200}, sorted(set(statuses))


def test_a_builder_that_dies_is_replaced_and_the_edit_still_shows(watched):
    """The OOM killer (here kill -9) ends the builder process: the next save starts a new
    one, says so, and the server goes on showing the catalog as it is saved."""
    catalog, url = watched
    entry = catalog / "systems" / "tu-160.yaml"
    entry.write_text(entry.read_text().replace("Supersonic", "First edit, supersonic"))
    _wait_for(lambda: _description(url).startswith("First edit"))
    server = _server_pid(url)
    for pid in _descendants(server):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    entry.write_text(entry.read_text().replace("First edit", "Second edit"))
    _wait_for(lambda: _description(url).startswith("Second edit"))
    assert _status(url + "/refdb/systems/tu-160") == 200


def test_pages_under_watch_are_not_cached_so_an_edit_shows_on_the_next_click(watched):
    _, url = watched
    for path in ("/refdb/systems/tu-160", "/refdb/systems.json", "/system/tu-160.json"):
        with urllib.request.urlopen(url + path) as response:
            cache = response.headers.get("cache-control", "")
        assert "max-age=300" not in cache and (
            not cache or "max-age=0" in cache or "no-" in cache
        ), (
            path,
            cache,
        )


@pytest.mark.parametrize("watched", ["polling"], indirect=True)
def test_where_the_system_gives_no_notifications_the_catalog_is_polled(watched):
    catalog, url = watched
    entry = catalog / "systems" / "tu-160.yaml"
    entry.write_text(entry.read_text().replace("Supersonic", "Polled, supersonic"))
    _wait_for(lambda: _description(url).startswith("Polled, supersonic"))


def test_only_the_files_a_build_reads_start_one(tmp_path):
    wanted = catalog_file(tmp_path)
    for path in ("publishers.yaml", "systems/tu-160.yaml", "articles/a.yaml", "articles/a.txt"):
        assert wanted(None, str(tmp_path / path)), path
    for path in (
        "systems/.tu-160.yaml.swp", "systems/tu-160.yaml~", "systems/4913", "README.md",
        "systems/notes.txt", "articles/a.txt.bak", "other/x.yaml",
    ):  # fmt: skip
        assert not wanted(None, str(tmp_path / path)), path


def test_a_rebuild_under_watch_reports_what_refdb_build_reports(mini_catalog, tmp_path):
    from refdb.compiling.compiler import build
    from refdb.site.watching import _build

    db_path = tmp_path / "refdb.db"
    said = build(mini_catalog, db_path).summary()
    assert "1 article," in said and said.startswith(f"Built {db_path}: 2 systems")
    assert _build(str(mini_catalog), str(db_path)) == (True, said)
