"""`refdb serve --watch`: rebuild when a catalog file is saved and switch the running server to
the new snapshot, without a restart and without a failed request.

Datasette runs in this process (uvicorn, as `datasette serve` runs it). A watcher waits for
the system's notice that a catalog file changed; on a change a builder process builds
(the build forks workers, which a threaded server must not do itself), the server snapshots
the result and puts the new database in place in one assignment, the way Datasette's own
``add_database`` replaces its mapping. Requests already running keep the old database, which
is closed once they have had time to finish; its snapshot is then released, so it can be
pruned. A build that fails leaves the server as it was. A builder that dies (the OOM killer,
a signal) is replaced and the build retried, with a message; one that keeps dying stops the
server with an error rather than leave it silently stale.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import click

from refdb import serving

DEBOUNCE_MS = 300  # saves this close together are one change
CLOSE_OLD_AFTER_SECONDS = 60  # longer than any bounded query runs
BUILDER_DEATHS_TOLERATED = 3  # in a row; then the server stops instead of serving stale pages


def catalog_file(catalog_dir: Path):
    """Whether a changed path is one a build reads: the register, an entry, an article's
    header or text (an editor's swap or backup file beside them is not)."""
    root = str(catalog_dir.resolve())

    def wanted(change, path: str) -> bool:
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        folder, _, name = relative.rpartition("/")
        if not folder:
            return name == "publishers.yaml"
        suffixes = (".yaml",) if folder == "systems" else (".yaml", ".txt")
        return folder in ("systems", "articles") and name.endswith(suffixes)

    return wanted


async def catalog_changes(catalog_dir: Path):
    """Once each time catalog files are saved (a burst of saves is one change): file-system
    notifications through watchfiles, which polls instead where the system gives none (or
    where ``WATCHFILES_FORCE_POLLING`` is set), so an archive is not walked twice a second."""
    import watchfiles

    async for _ in watchfiles.awatch(
        catalog_dir, watch_filter=catalog_file(catalog_dir), debounce=DEBOUNCE_MS
    ):
        yield


def serve_watching(
    catalog_dir: Path, db_path: Path, config: dict, metadata: dict, host: str, port: int
) -> None:
    """Serve the current snapshot of ``db_path`` and keep it current with ``catalog_dir``."""
    import uvicorn
    from datasette.app import Datasette

    served = serving.snapshot(db_path)
    serving.hold(served)
    # A curator's edit shows on the next click: pages are not kept by browsers meanwhile.
    config = {**config, "settings": {**(config.get("settings") or {}), "default_cache_ttl": 0}}
    datasette = Datasette(immutables=[str(served)], config=config, metadata=metadata)
    server = uvicorn.Server(
        uvicorn.Config(datasette.app(), host=host, port=port, log_level="warning")
    )

    builder = Builder()

    async def main() -> None:
        watcher = asyncio.create_task(_watch(datasette, builder, catalog_dir, db_path, served))
        watcher.add_done_callback(lambda task: _stop_on_failure(task, server))
        try:
            await server.serve()
        finally:
            watcher.cancel()
            builder.shutdown()

    click.echo(f"Serving {served} on http://{host}:{port}/ and watching {catalog_dir}")
    asyncio.run(main())
    if builder.failed:
        raise click.ClickException(builder.failed)


class Builder:
    """The process that builds, replaced when it dies.

    A forkserver child builds: forked before any server thread exists, it may fork the
    build's own workers, and it keeps its imports between builds."""

    def __init__(self) -> None:
        self.deaths, self.failed = 0, ""
        self.pool = self._start()

    @staticmethod
    def _start() -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_exit_with,
            initargs=(os.getpid(),),
        )
        pool.submit(_warm)
        return pool

    async def build(self, catalog_dir: Path, db_path: Path) -> tuple[bool, str]:
        loop = asyncio.get_running_loop()
        while True:
            try:
                result = await loop.run_in_executor(
                    self.pool, _build, str(catalog_dir), str(db_path)
                )
            except BrokenProcessPool:
                self.deaths += 1
                if self.deaths >= BUILDER_DEATHS_TOLERATED:
                    self.failed = (
                        f"the builder process died {self.deaths} times in a row (out of "
                        "memory?); stopped rather than serve a catalog that no longer updates"
                    )
                    raise
                click.echo(
                    "The builder process died (out of memory, or killed); "
                    "starting a new one and building again.",
                    err=True,
                )
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = self._start()
                continue
            self.deaths = 0
            return result

    def shutdown(self) -> None:
        self.pool.shutdown(cancel_futures=True)


def _stop_on_failure(task: asyncio.Task, server) -> None:
    """A watcher that ends with an error stops the server, loudly."""
    if not task.cancelled() and task.exception() is not None:
        click.echo(f"Watching stopped: {task.exception()!r}", err=True)
        server.should_exit = True


async def _watch(datasette, builder: Builder, catalog_dir: Path, db_path: Path, served: Path):
    async for _ in catalog_changes(catalog_dir):
        ok, message = await builder.build(catalog_dir, db_path)
        click.echo(message, err=not ok)
        if ok:
            fresh = serving.snapshot(db_path)
            if fresh != served:
                serving.hold(fresh)
                _switch(datasette, fresh, served)
                served = fresh
                click.echo(f"Now serving {fresh}")


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


def _switch(datasette, path: Path, previous: Path) -> None:
    """Put the database at ``path`` where the old one was, under the same name and route;
    once requests on the old one have finished, close it and release its snapshot."""
    from datasette.database import Database

    old = datasette.databases["refdb"]
    fresh = Database(datasette, path=str(path), is_mutable=False)
    fresh.name, fresh.route = old.name, old.route
    datasette.databases = {**datasette.databases, old.name: fresh}  # one assignment, as
    # Datasette's add_database does: a request sees the old mapping or the new one

    def retire() -> None:
        old.close()
        serving.release(previous)

    asyncio.get_running_loop().call_later(CLOSE_OLD_AFTER_SECONDS, retire)
