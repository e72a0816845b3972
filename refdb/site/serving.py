"""Serving a built database read-only with Datasette, the way `refdb serve` and the
Dockerfile do: immutable, with an inspect file, from a snapshot no rebuild replaces.

One process serves as `datasette serve` does; with ``--workers N`` uvicorn runs N processes
of the same app behind one port (each opens the same read-only snapshot), so every core
answers requests."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from refdb import journal

CLOSE_OLD_AFTER_SECONDS = 60  # longer than any bounded query runs
KEEP_SNAPSHOTS = 3  # serving snapshots kept; older ones go unless a live server holds them
PUBLISHED_AS = "refdb"  # the name the site and datasette.yaml give the database
_URI_CHARACTERS = "?#%"  # Datasette opens the file as a `file:` URI without escaping its path


class ServingError(ValueError):
    """The database cannot be served from where it is; the message says what to do."""


def snapshot(db_path: Path | str, directory: Path | str | None = None) -> Path:
    """A read-only copy of a built database under a name that is never reused, for serving.

    A server keeps reading the file it opened; a rebuild writes a new snapshot beside it
    instead of replacing the file under it (which would serve a mix of old and new rows).
    Whatever the built file is called (``-o other.db``), the copy is named ``refdb.db``:
    Datasette names a database after its file, and the publication's pages, templates
    (``row-refdb-systems.html``) and datasette.yaml address the database ``refdb``.
    """
    db_path = Path(db_path)
    journal.recover(db_path)
    with db_path.open("rb") as built:  # 800 MB for a newsroom's archive: not read whole
        digest = hashlib.file_digest(built, "sha256").hexdigest()[:16]
    folder = Path(directory or db_path.parent / f".{db_path.stem}-serve")
    target = folder / digest / f"{PUBLISHED_AS}.db"
    if any(character in str(target.absolute()) for character in _URI_CHARACTERS):
        raise ServingError(
            f"cannot serve {target}: Datasette would read '?', '#' or '%' in its path as part "
            "of a URI; build into a directory without them (-o)"
        )
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        os.close(handle)
        shutil.copyfile(db_path, temporary)
        os.chmod(temporary, 0o444)
        os.replace(temporary, target)
    _prune(target.parent.parent, keep=target.parent)
    return target


def _prune(directory: Path, keep: Path | None = None) -> None:
    """Remove all but the newest snapshots, never ``keep`` nor one a running server holds."""
    snapshots = sorted(
        (p for p in directory.iterdir() if p.is_dir() and not p.is_symlink()),
        key=_written_at,
    )
    for old in snapshots[:-KEEP_SNAPSHOTS]:
        if old != keep and not _held(old):
            shutil.rmtree(old, ignore_errors=True)


def _written_at(snapshot_dir: Path) -> float:
    """When the snapshot's database was written (its directory changes with every mark)."""
    files = [p for p in snapshot_dir.iterdir() if p.suffix == ".db" and not p.is_symlink()]
    return min((p.stat().st_mtime for p in files), default=snapshot_dir.stat().st_mtime)


def hold(served: Path, pid: int | None = None) -> Path:
    """Mark ``served`` as held by the server process ``pid`` (this process by default, which
    `refdb serve` replaces with Datasette, keeping the pid)."""
    marker = served.parent / f"server.{pid or os.getpid()}"
    marker.touch()
    return marker


def release(served: Path, pid: int | None = None) -> None:
    """This process serves ``served`` no more: drop its mark, and prune what nobody holds."""
    (served.parent / f"server.{pid or os.getpid()}").unlink(missing_ok=True)
    _prune(served.parent.parent)


def _held(snapshot_dir: Path) -> bool:
    """Whether a live process holds the snapshot; markers of dead processes are removed."""
    held = False
    for marker in snapshot_dir.glob("server.*"):
        pid = marker.suffix.lstrip(".")
        if pid.isdigit() and alive(int(pid)):
            held = True
        else:
            marker.unlink(missing_ok=True)
    return held


def alive(pid: int) -> bool:
    """Whether the process ``pid`` is running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


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


SERVE_ENVIRONMENT = "REFDB_SERVE"  # what each worker process serves (JSON), set by `serve`


def workers_command(
    db_path, config_path, metadata_path, host, port, inspect_path, workers: int, pointer=None
) -> tuple[list[str], dict[str, str]]:
    """The uvicorn command line (and its environment) that serves ``db_path`` read-only in
    ``workers`` processes behind one port, each running :func:`app`; with a ``pointer``
    (``serve --watch``), each follows the snapshot it names, and pages are not cached."""
    served = {
        "db": str(db_path),
        "config": str(config_path),
        "metadata": str(metadata_path),
        "inspect": str(inspect_path),
        "pointer": str(pointer) if pointer else None,
    }
    command = [
        *(sys.executable, "-m", "uvicorn", f"{__name__}:app", "--factory"),
        *("--workers", str(workers), "--host", host, "--port", str(port)),
        *("--lifespan", "on", "--log-level", "warning", "--no-access-log"),
    ]
    return command, {**os.environ, SERVE_ENVIRONMENT: json.dumps(served)}


def app():
    """One worker's ASGI app: Datasette over the immutable snapshot named in the environment,
    configured as `datasette serve` configures it from the same files."""
    from datasette.app import Datasette

    from refdb.settings import read_mapping

    served = json.loads(os.environ[SERVE_ENVIRONMENT])
    config = read_mapping(Path(served["config"]))
    if served["pointer"]:
        config = uncached(config)
    datasette = Datasette(
        immutables=[served["db"]],
        config=config,
        metadata=read_mapping(Path(served["metadata"])),
        inspect_data=json.loads(Path(served["inspect"]).read_text()),
    )
    hold(Path(served["db"]))
    if served["pointer"]:
        return _following(datasette, Path(served["pointer"]), Path(served["db"]))
    return datasette.app()


def uncached(config: dict) -> dict:
    """Datasette's configuration for ``serve --watch``: a curator's edit shows on the next
    click, as pages are not kept by browsers meanwhile."""
    return {**config, "settings": {**(config.get("settings") or {}), "default_cache_ttl": 0}}


def point_to(served: Path) -> Path:
    """Name ``served`` as the snapshot every worker is to serve, in one rename."""
    pointer = served.parent.parent / "current"
    temporary = pointer.with_name(f".current.{os.getpid()}.tmp")
    temporary.write_text(str(served))
    os.replace(temporary, pointer)
    return pointer


def _following(datasette, pointer: Path, served: Path):
    """Datasette's app, switched to the snapshot ``pointer`` names when it names another:
    checked once a request (a stat), so every worker moves on its next request."""
    inner = datasette.app()
    state = {"seen": _identity(pointer), "served": served}

    async def asgi(scope, receive, send):
        if scope["type"] == "http":
            seen = _identity(pointer)
            if seen != state["seen"]:
                state["seen"] = seen
                fresh = Path(pointer.read_text().strip())
                if fresh != state["served"] and fresh.exists():
                    hold(fresh)
                    switch(datasette, fresh, state["served"])
                    state["served"] = fresh
        await inner(scope, receive, send)

    return asgi


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def switch(datasette, path: Path, previous: Path) -> None:
    """Put the database at ``path`` where the old one was, under the same name and route;
    once requests on the old one have finished, close it and release its snapshot."""
    import asyncio  # only a running server switches: the command line starts without it

    from datasette.database import Database

    old = datasette.databases["refdb"]
    fresh = Database(datasette, path=str(path), is_mutable=False)
    fresh.name, fresh.route = old.name, old.route
    datasette.databases = {**datasette.databases, old.name: fresh}  # one assignment, as
    # Datasette's add_database does: a request sees the old mapping or the new one

    def retire() -> None:
        old.close()
        release(previous)

    asyncio.get_running_loop().call_later(CLOSE_OLD_AFTER_SECONDS, retire)
