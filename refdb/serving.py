"""Serving a built database read-only with Datasette, the way `refdb serve` and the
Dockerfile do: immutable, with an inspect file, from a snapshot no rebuild replaces."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KEEP_SNAPSHOTS = 3  # serving snapshots kept; older ones go (a server rarely outlives three builds)


def snapshot(db_path: Path | str, directory: Path | str | None = None) -> Path:
    """A read-only copy of a built database under a name that is never reused, for serving.

    A server keeps reading the file it opened; a rebuild writes a new snapshot beside it
    instead of replacing the file under it (which would serve a mix of old and new rows).
    The copy keeps the stem ``refdb`` so Datasette's URLs stay the same.
    """
    db_path = Path(db_path)
    digest = hashlib.sha256(db_path.read_bytes()).hexdigest()[:16]
    target = Path(directory or db_path.parent / f".{db_path.stem}-serve") / digest / db_path.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        os.close(handle)
        shutil.copyfile(db_path, temporary)
        os.chmod(temporary, 0o444)
        os.replace(temporary, target)
    for old in sorted(target.parent.parent.iterdir(), key=lambda p: p.stat().st_mtime)[
        :-KEEP_SNAPSHOTS
    ]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def inspect_file(served: Path) -> Path:
    """Datasette's inspect data (table counts) for an immutable file, computed once."""
    path = served.with_suffix(".inspect.json")
    if not path.exists():
        command = [
            sys.executable,
            "-m",
            "datasette",
            "inspect",
            str(served),
            "--inspect-file",
            str(path),
        ]
        subprocess.run(command, check=True)
    return path


def datasette_command(
    db_path, config_path, metadata_path, host, port, inspect_path=None
) -> list[str]:
    """The ``datasette serve`` command line for a read-only publication of ``db_path``."""
    command = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        "-i",
        str(db_path),
        "-c",
        str(config_path),
        "-m",
        str(metadata_path),
        "--host",
        host,
        "--port",
        str(port),
    ]
    if inspect_path:
        command += ["--inspect-file", str(inspect_path)]
    return command
