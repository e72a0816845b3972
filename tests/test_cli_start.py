"""The command starts without the build: `refdb --help` and `refdb cite` load neither the
validation models nor the database models nor the linker (their cost is measured by
benchmarks/startup.py, not here)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pydantic", "sqlmodel", "sqlalchemy", "ahocorasick_rs", "pymorphy3", "syntok")


def loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(run.stdout.split())


def test_the_command_line_loads_no_build_module_to_start():
    loaded = loaded_after("import refdb.cli")
    assert not {module for module in HEAVY if module in loaded}


def test_citing_loads_no_build_module(built_db):
    loaded = loaded_after(
        "from click.testing import CliRunner\nfrom refdb.cli import cli\n"
        f"result = CliRunner().invoke(cli, ['cite', 'tu-160', '-d', {str(built_db)!r}])\n"
        "assert result.exit_code == 0 and 'Tu-160' in result.output, result.output"
    )
    assert not {module for module in HEAVY if module in loaded}
