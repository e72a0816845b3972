"""`refdb serve --watch`: rebuild when a catalog file is saved and switch the running server to
the new snapshot, without a restart and without a failed request.

Datasette runs in this process (uvicorn, as `datasette serve` runs it). A watcher polls the
catalog's file names, sizes and modification times; on a change a builder process builds
(the build forks workers, which a threaded server must not do itself), the server snapshots
the result and puts the new database in place in one assignment, the way Datasette's own
``add_database`` replaces its mapping. Requests already running keep the old database, which
is closed once they have had time to finish. A build that fails leaves the server as it was.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click

from refdb import serving

POLL_SECONDS = 0.5
CLOSE_OLD_AFTER_SECONDS = 60  # longer than any bounded query runs


def catalog_signature(catalog_dir: Path) -> tuple:
    """What changes when a curator saves a catalog file: names, sizes, modification times."""
    entries = []
    for root, _, files in os.walk(catalog_dir):
        for name in files:
            try:
                stat = os.stat(os.path.join(root, name))
            except OSError:
                continue  # removed while walking: the next poll sees it gone
            entries.append((os.path.join(root, name), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


def serve_watching(
    catalog_dir: Path, db_path: Path, config: dict, metadata: dict, host: str, port: int
) -> None:
    """Serve the current snapshot of ``db_path`` and keep it current with ``catalog_dir``."""
    import uvicorn
    from datasette.app import Datasette

    served = serving.snapshot(db_path)
    serving.hold(served)
    datasette = Datasette(immutables=[str(served)], config=config, metadata=metadata)
    server = uvicorn.Server(
        uvicorn.Config(datasette.app(), host=host, port=port, log_level="warning")
    )

    # A forkserver child builds: forked before any server thread exists, it may fork the
    # build's own workers, and it keeps its imports between builds.
    builder = ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_exit_with,
        initargs=(os.getpid(),),
    )
    builder.submit(_warm)

    async def main() -> None:
        watcher = asyncio.create_task(_watch(datasette, builder, catalog_dir, db_path, served))
        try:
            await server.serve()
        finally:
            watcher.cancel()
            builder.shutdown(cancel_futures=True)

    click.echo(f"Serving {served} on http://{host}:{port}/ and watching {catalog_dir}")
    asyncio.run(main())


async def _watch(datasette, builder, catalog_dir: Path, db_path: Path, served: Path) -> None:
    signature = catalog_signature(catalog_dir)
    while True:
        await asyncio.sleep(POLL_SECONDS)
        current = catalog_signature(catalog_dir)
        if current == signature:
            continue
        signature = current
        if await _rebuild(builder, catalog_dir, db_path):
            fresh = serving.snapshot(db_path)
            if fresh != served:
                serving.hold(fresh)
                _switch(datasette, fresh)
                served = fresh
                click.echo(f"Now serving {fresh}")


async def _rebuild(builder: ProcessPoolExecutor, catalog_dir: Path, db_path: Path) -> bool:
    """Build in the warm builder process; print what the build says, as `refdb build` does."""
    loop = asyncio.get_running_loop()
    ok, message = await loop.run_in_executor(builder, _build, str(catalog_dir), str(db_path))
    click.echo(message, err=not ok)
    return ok


def _build(catalog_dir: str, db_path: str) -> tuple[bool, str]:
    """Runs in the builder process: a single-threaded process kept warm between builds."""
    from refdb.compiler import build
    from refdb.errors import CatalogError

    try:
        result = build(catalog_dir, db_path)
    except CatalogError as error:
        return False, "\n".join(map(str, error.problems)) + "\nServing the previous build."
    return True, f"Built {result.path}: {result.systems} systems, {result.mentions} mentions."


def _exit_with(server_pid: int) -> None:
    """In the builder: end when the server ends, however it ends (a signal skips cleanup, and
    an idle builder would otherwise wait for work forever)."""

    def watch() -> None:
        while serving.alive(server_pid):
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _warm() -> None:
    import refdb.compiler  # noqa: F401  (the imports are most of a small build's time)


def _switch(datasette, path: Path) -> None:
    """Put the database at ``path`` where the old one was, under the same name and route."""
    from datasette.database import Database

    old = datasette.databases["refdb"]
    fresh = Database(datasette, path=str(path), is_mutable=False)
    fresh.name, fresh.route = old.name, old.route
    datasette.databases = {**datasette.databases, old.name: fresh}  # one assignment, as
    # Datasette's add_database does: a request sees the old mapping or the new one
    asyncio.get_running_loop().call_later(CLOSE_OLD_AFTER_SECONDS, old.close)
