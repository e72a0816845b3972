"""The tree follows the pipeline: shared primitives stay light, stages keep to their modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import refdb

PACKAGE = Path(refdb.__file__).parent


def imported(module: str) -> set[str]:
    """Top-level names of every module ``refdb/<module>.py`` imports."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_text_primitives_need_only_the_standard_library():
    """Validation, the linker and the site all import text.py; it must not pull in the build."""
    assert imported("text") <= set(sys.stdlib_module_names) | {"__future__"}


def test_the_build_stages_reach_the_database_only_through_the_targets():
    writers = {"sqlalchemy", "sqlite3", "sqlite_utils", "psycopg"}
    for stage in ("validate", "crosscheck", "reader", "linker", "linking", "sentences", "rows"):
        assert not imported(stage) & writers, stage
