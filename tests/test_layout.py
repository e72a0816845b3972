"""The tree follows the pipeline: catalog -> linking -> compiling -> site, each stage package
importing only itself and the stages before it; the shared modules beside them stay light."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import refdb

PACKAGE = Path(refdb.__file__).parent
STAGES = ["catalog", "linking", "compiling", "site"]  # in the order the data goes
SHARED = ["text", "errors", "journal"]  # what every stage may import: the standard library only


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(module: str) -> set[str]:
    """Every module ``module`` imports, at its top or inside a function (refdb's by their
    full dotted name, ``from refdb.catalog import schema`` as ``refdb.catalog.schema``)."""
    names = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names |= {
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            }
    return names


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "refdb" and parts[1] in STAGES else None


def test_every_module_is_in_a_stage_or_named_beside_them():
    beside = {"refdb", "refdb.cli", "refdb.cite", "refdb.curate", "refdb.check", "refdb.report"}
    beside.add("refdb.ids")  # row ids from what a row is: flags (linking) and rows (compiling)
    beside |= {f"refdb.{name}" for name in [*SHARED, "settings", "cache"]}
    assert {module for module in MODULES if stage(module) is None} - set(STAGES) == beside | {
        f"refdb.{name}" for name in STAGES
    }


def test_every_stage_imports_only_itself_and_the_stages_before_it():
    climbing = [
        (module, target)
        for module in MODULES
        if stage(module)
        for target in imported(module)
        if stage(target) and STAGES.index(stage(target)) > STAGES.index(stage(module))
    ]
    assert climbing == []


def test_shared_modules_need_only_the_standard_library():
    """Every stage and the site import them: they must not pull in the build."""
    for name in SHARED:
        tops = {module.split(".")[0] for module in imported(f"refdb.{name}")}
        assert tops <= set(sys.stdlib_module_names) | {"__future__"}, name


def test_the_site_imports_no_build_stage_and_no_validation_model():
    for module in (m for m in MODULES if stage(m) == "site" and m != "refdb.site.watching"):
        for target in imported(module):
            assert stage(target) not in {"linking", "compiling"}, (module, target)
            assert target not in {"refdb.catalog.schema", "refdb.catalog.validate"}, module


def test_the_build_stages_reach_the_database_only_through_the_targets():
    writers = {"sqlalchemy", "sqlite3", "sqlite_utils", "psycopg"}
    for module in MODULES:
        if stage(module) in {"catalog", "linking"} or module == "refdb.compiling.rows":
            assert not {target.split(".")[0] for target in imported(module)} & writers, module


def test_no_module_is_longer_than_a_newcomer_reads_at_once():
    assert {
        name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > 600
    } == {}


def test_no_module_imports_the_package_that_holds_it():
    """A package's ``__init__`` imports its modules; one of them importing the package back
    (even inside a function) is a cycle."""
    cycles = [
        (module, target)
        for module, path in MODULES.items()
        if path.name != "__init__.py"
        for target in imported(module)
        if module.startswith(target + ".") and target != "refdb"
    ]
    assert cycles == []


def test_the_modules_beside_the_stages_import_no_stage():
    """What every stage uses must not reach into one: that would be an arrow back up."""
    for name in [*SHARED, "ids", "cache", "settings"]:
        assert not {stage(target) for target in imported(f"refdb.{name}")} - {None}, name
