"""Where the build and the server write: odd paths, killed builds, full or read-only disks,
snapshots a running server holds."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from refdb.cli import cli
from refdb.compiling.compiler import build
from refdb.compiling.provenance import is_current
from refdb.site.serving import KEEP_SNAPSHOTS, ServingError, hold, release, snapshot


@pytest.mark.parametrize("folder", ["we?ird", "hash#dir", "per%25cent", "100%"])
def test_an_output_path_is_never_read_as_a_url(mini_catalog, tmp_path, folder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db_path = tmp_path / folder / "refdb.db"
    result = CliRunner().invoke(
        cli, ["build", "--catalog", str(mini_catalog), "-o", f"{folder}/refdb.db", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["catalog", folder])
    assert sqlite3.connect(db_path).execute("select count(*) from systems").fetchone() == (2,)
    assert is_current(mini_catalog, f"{folder}/refdb.db")
    cited = CliRunner().invoke(cli, ["cite", "tu-160", "-d", f"{folder}/refdb.db"])
    assert cited.exit_code == 0 and "Tu-160" in cited.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["catalog", folder])


def test_a_path_datasette_would_misread_is_refused_before_serving(mini_catalog, tmp_path):
    db_path = tmp_path / "we?ird" / "refdb.db"
    build(mini_catalog, db_path)
    with pytest.raises(ServingError, match="build into a directory without them"):
        snapshot(db_path)


def test_citing_a_file_that_is_not_a_refdb_database_says_so(tmp_path):
    for name, content in (("notes.db", b"just some text\n" * 100), ("empty.db", b"")):
        (tmp_path / name).write_bytes(content)
        result = CliRunner().invoke(cli, ["cite", "tu-160", "-d", str(tmp_path / name)])
        assert result.exit_code == 1 and "is not a database built by refdb" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["refdb.db", "refdb[1].db", "ref*db.db"])
def test_a_killed_build_leaves_files_the_next_build_removes(mini_catalog, tmp_path, name):
    db_path = tmp_path / "out" / name
    build(mini_catalog, db_path)
    leftover = db_path.parent / f".{name}.k1ll3d00.tmp"
    leftover.write_bytes(b"half a database")
    (db_path.parent / f".{name}.k1ll3d00.tmp-journal").write_bytes(b"journal")
    build(mini_catalog, db_path)
    assert sorted(p.name for p in db_path.parent.iterdir()) == [f".{name}.cache", name]


def test_a_build_killed_while_writing_is_cleaned_up_by_the_next(mini_catalog, tmp_path):
    """A real SIGKILL in the write stage (the child stops itself there; the test kills it)."""
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    before = db_path.read_bytes()
    code = (
        "import os, signal, refdb.compiling.compiler as c, refdb.compiling.sqlite_target as target\n"
        "real = target.index\n"
        "def stop(path):\n"
        "    real(path); os.kill(os.getpid(), signal.SIGSTOP)\n"
        "target.index = stop\n"
        f"c.build({str(mini_catalog)!r}, {str(db_path)!r}, reuse=False)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(200):
            if any(p.suffix == ".tmp" for p in tmp_path.iterdir()):
                break
            time.sleep(0.05)
        time.sleep(0.2)
        assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert db_path.read_bytes() == before
    build(mini_catalog, db_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".refdb.db.cache", "catalog", "refdb.db"]


def killed_mid_write(catalog: Path, db_path: Path) -> bytes:
    """Build, edit an entry and start an incremental build that spills every page it changed
    to the file and dies before its commit; the database's bytes before it."""
    build(catalog, db_path)
    before = db_path.read_bytes()
    entry = catalog / "systems" / "tu-160.yaml"
    entry.write_text(entry.read_text().replace("description: ", "description: Edited. ", 1))
    code = (
        "import os, signal, refdb.compiling.compiler as c, refdb.compiling.patching as p\n"
        "real = p._catalog_files\n"
        "def die(db, *args):\n"
        "    real(db, *args); db.execute('PRAGMA cache_size = 1')\n"
        "    db.execute('update catalog_files set sha256 = sha256')\n"
        "    db.execute('delete from mentions'); os.kill(os.getpid(), signal.SIGKILL)\n"
        "p._catalog_files = die\n"
        f"c.build({str(catalog)!r}, {str(db_path)!r})\n"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == -signal.SIGKILL
    assert Path(f"{db_path}-journal").is_file() and db_path.read_bytes() != before
    return before


@pytest.mark.parametrize("reader", ["serving snapshot", "refdb cite", "next build", "refdb build"])
def test_an_incremental_build_killed_mid_write_is_rolled_back_for_the_next_reader(
    mini_catalog, tmp_path, reader
):
    """The patch writes the database in place: killed after some of its pages reached the
    file, the journal beside it puts them back before anyone reads it."""
    db_path = tmp_path / "refdb.db"
    before = killed_mid_write(mini_catalog, db_path)
    if reader == "serving snapshot":
        assert snapshot(db_path).read_bytes() == before
    elif reader == "refdb cite":
        cited = CliRunner().invoke(cli, ["cite", "tu-160", "-d", str(db_path)])
        assert cited.exit_code == 0 and "Tu-160" in cited.output
        assert db_path.read_bytes() == before
    else:
        if reader == "next build":
            assert build(mini_catalog, db_path).patched
        else:  # its stat scan starts first, on the database as the journal leaves it
            args = ["build", "--catalog", str(mini_catalog), "-o", str(db_path)]
            built = CliRunner().invoke(cli, args)
            assert built.exit_code == 0 and "Built in full" not in built.output, built.output
        with closing(sqlite3.connect(db_path)) as db:
            [(text,)] = db.execute("select description from systems where id = 'tu-160'")
            assert text.startswith("Edited. ")
            assert db.execute("select count(*) from mentions").fetchone()[0] > 0
    assert not Path(f"{db_path}-journal").exists()


def test_the_gitignore_covers_temporary_files():
    from conftest import ROOT

    ignored = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "check-ignore",
            ".refdb.db.abc123.tmp",
            ".refdb.db.abc123.tmp-journal",
        ],
        capture_output=True,
        text=True,
    )
    assert ignored.stdout.split() == [".refdb.db.abc123.tmp", ".refdb.db.abc123.tmp-journal"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_output_directory_is_a_clear_error(mini_catalog, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        result = CliRunner().invoke(
            cli, ["build", "--catalog", str(mini_catalog), "-o", str(out / "refdb.db")]
        )
    finally:
        out.chmod(0o755)
    assert result.exit_code == 1 and "could not write" in result.output
    assert "Traceback" not in result.output


def test_a_full_disk_is_a_clear_error_and_the_old_database_stays(mini_catalog, tmp_path):
    """A database that cannot grow (SQLite's own 'disk is full') stands in for a full disk."""
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    before = db_path.read_bytes()
    code = (
        "import sqlite3, refdb.compiling.sqlite_target as c\n"
        "real = sqlite3.connect\n"
        "def small(*args, **kwargs):\n"
        "    conn = real(*args, **kwargs); conn.execute('pragma max_page_count = 8'); return conn\n"
        "c.sqlite3.connect = small\n"
        "from refdb.cli import cli\n"
        f"cli(['build', '--catalog', {str(mini_catalog)!r}, '-o', {str(db_path)!r}, '--no-cache', '-q'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert "could not write" in result.stderr and "full" in result.stderr
    assert "Traceback" not in result.stderr
    assert db_path.read_bytes() == before


def test_pruning_never_removes_a_snapshot_a_live_server_holds(mini_catalog, tmp_path):
    db_path = tmp_path / "refdb.db"
    build(mini_catalog, db_path)
    served = snapshot(db_path)
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        hold(served, server.pid)
        entry = mini_catalog / "systems" / "kh-101.yaml"
        for word in ("one", "two", "three", "four"):
            entry.write_text(entry.read_text() + f"# {word}\n")
            build(mini_catalog, db_path)
            time.sleep(0.01)  # distinct modification times
            snapshot(db_path)
        assert served.exists()
    finally:
        server.kill()
        server.wait()
    entry.write_text(entry.read_text() + "# five\n")
    build(mini_catalog, db_path)
    snapshot(db_path)
    assert not served.exists()  # once its server is gone, it is pruned like any other


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MB tmpfs (where the test may mount one), unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_and_a_read_only_disk_are_clear_errors(mini_catalog, small_disk):
    db_path = small_disk / "refdb.db"
    build(mini_catalog, db_path)
    before = db_path.read_bytes()
    filler = small_disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(descriptor, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(descriptor)
    args = ["build", "--catalog", str(mini_catalog), "-o", str(db_path), "--no-cache", "-q"]
    full = CliRunner().invoke(cli, args)
    assert full.exit_code == 1 and "could not write" in full.output, full.output
    assert db_path.read_bytes() == before
    filler.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    read_only = CliRunner().invoke(cli, args)
    assert read_only.exit_code == 1 and "Read-only file system" in read_only.output
    served = CliRunner().invoke(cli, ["serve", "--catalog", str(mini_catalog), "-o", str(db_path)])
    assert served.exit_code == 1 and "cannot serve" in served.output, served.output
    assert db_path.read_bytes() == before


def test_a_snapshot_released_by_its_server_is_pruned_like_any_other(tmp_path):
    """`serve --watch` holds each snapshot it switches to; once it serves a newer one and
    the old one's requests are done, it releases it, so saves do not pile up copies."""
    db_path = tmp_path / "refdb.db"
    served = []
    for n in range(KEEP_SNAPSHOTS + 3):
        db_path.write_bytes(f"database {n}".encode())
        served.append(snapshot(db_path))
        hold(served[-1])
        os.utime(served[-1], (n, n))  # oldest first, whatever the clock's resolution
    directory = served[0].parent.parent
    assert len(list(directory.iterdir())) == KEEP_SNAPSHOTS + 3  # all held
    for old in served[:-1]:
        release(old)
    left = sorted(p.name for p in directory.iterdir())
    assert len(left) == KEEP_SNAPSHOTS and served[-1].parent.name in left


def test_serve_refuses_a_busy_port_before_building(mini_catalog, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db_path = tmp_path / "out" / "refdb.db"
        result = CliRunner().invoke(
            cli, ["serve", "--catalog", str(mini_catalog), "-o", str(db_path), "-p", str(port)]
        )
    assert result.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}" in result.output
    assert not db_path.exists()  # nothing was built first


def test_a_database_built_under_another_name_is_served_as_refdb(mini_catalog, tmp_path):
    """`refdb serve -o other.db` publishes the same pages: the snapshot is named refdb.db."""
    from conftest import datasette_for, get

    db_path = tmp_path / "out" / "other.db"
    build(mini_catalog, db_path)
    served = snapshot(db_path)
    assert served.name == "refdb.db"
    ds = datasette_for(served)
    assert get(ds, "/refdb/systems/tu-160").status_code == 200
    assert get(ds, "/system/tu-160/history").status_code == 200


def test_history_pages_without_a_refdb_database_are_404_not_500(tmp_path):
    import sqlite3 as sqlite

    from conftest import datasette_for, get

    other = tmp_path / "other.db"
    sqlite.connect(other).execute("create table t (x)").connection.commit()
    ds = datasette_for(other)
    for path in ("/system/tu-160/history", "/system/tu-160@0123456789ab", "/system/tu-160/diff"):
        response = get(ds, path)
        assert response.status_code == 404 and "no 'refdb' database" in response.text, path


def test_serve_with_workers_answers_from_that_many_processes_behind_one_port(
    mini_catalog, tmp_path
):
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from test_watch import _descendants, _wait_for

    from conftest import ROOT, _free_port

    port = _free_port()
    command = [
        *(sys.executable, "-c", "from refdb.cli import cli; cli()", "serve", "--workers", "2"),
        *("--catalog", mini_catalog, "-o", tmp_path / "refdb.db", "-p", str(port)),
        *("--config", ROOT / "datasette.yaml", "--metadata", ROOT / "metadata.yaml"),
    ]
    server = subprocess.Popen(
        [str(part) for part in command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/refdb/systems/tu-160"

    def status(_=None) -> int:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status
        except OSError:
            return 0

    try:
        _wait_for(lambda: status() == 200, server)
        workers = [
            pid
            for pid in _descendants(server.pid)
            if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 2
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(status, range(80))) == {200}
    finally:
        server.terminate()
        server.wait(timeout=10)
