"""Shared fixtures: the real catalog built once into a real SQLite file, and Datasette on it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml
from datasette.app import Datasette

from refdb.compiler import build

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalog"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
