"""Shared fixtures: the real catalog built once into a real SQLite file, and Datasette on it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml
from datasette.app import Datasette

from refdb.compiling.compiler import build

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalog"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The seven systems the first article names (the ship under its press misnomer).
SEED_IDS = {
    "tu-160",
    "tu-95",
    "tu-22m",
    "kh-47m2-kinzhal",
    "mig-31",
    "kalibr",
    "marshal-shaposhnikov",
}
# What its mentions link to: the aircraft shown were the variants the article's anchors name
# (Tu-95MS, Tu-22M3, MiG-31K), and the "new cruise missiles" are the Kh-BD.
SEED_LINKED = (SEED_IDS - {"tu-95", "tu-22m", "mig-31"}) | {
    "tu-95ms",
    "tu-22m3",
    "mig-31k",
    "kh-bd",
}


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in a catalog file, failing if ``old`` is not there: a test
    that edits the real catalog must not silently edit nothing when the catalog changes."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="session")
def built_db(tmp_path_factory) -> Path:
    """The project's catalog compiled into a fresh database."""
    path = tmp_path_factory.mktemp("db") / "refdb.db"
    build(CATALOG, path)
    return path


@pytest.fixture
def mini_catalog(tmp_path) -> Path:
    """A writable copy of the two-system fixture catalog, for tests that break it."""
    target = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "mini", target)
    return target


def datasette_for(db_path: Path) -> Datasette:
    """Datasette configured exactly as `refdb serve` runs it."""
    config = yaml.safe_load((ROOT / "datasette.yaml").read_text())
    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text())
    return Datasette(immutables=[str(db_path)], config=config, metadata=metadata)


@pytest.fixture(scope="session")
def datasette(built_db) -> Datasette:
    return datasette_for(built_db)


def get(ds: Datasette, path: str):
    """GET ``path`` through Datasette's own in-process client."""
    return asyncio.run(ds.client.get(path))


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on a loopback port, started from Debian's binaries."""
    import glob
    import os
    import subprocess

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.environ.get("CI"):
            raise RuntimeError(
                "PostgreSQL is not installed; `make test` installs Debian's postgresql package"
            )
        pytest.skip("PostgreSQL server binaries not found (run `make test`, which installs them)")
    bin_dir = Path(found[-1]).parent
    import tempfile

    root = Path(
        tempfile.mkdtemp(prefix="refdb-postgres-")
    )  # pytest's own tmp is closed to other users
    as_owner = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    run = lambda *command: subprocess.run([*as_owner, *command], check=True, capture_output=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "refdb", "--no-sync")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(root / "log"),
        "-w",
        "start",
    )
    try:
        yield f"postgresql://refdb@127.0.0.1:{port}/postgres"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
