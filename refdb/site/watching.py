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

With ``--workers N`` uvicorn's workers serve instead, and this process only watches and
builds: it names each new snapshot in a pointer file (one rename), and each worker switches
to it the same way on its next request (``serving.point_to``, ``serving.switch``).
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

from refdb.site import serving

DEBOUNCE_MS = 300  # saves this close together are one change
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

    watched = catalog_dir.resolve()  # the paths reported are under the path watched
    async for _ in watchfiles.awatch(
        watched, watch_filter=catalog_file(watched), debounce=DEBOUNCE_MS
    ):
        yield


def serve_watching(
    catalog_dir: Path,
    db_path: Path,
    config: dict,
    metadata: dict,
    host: str,
    port: int,
    workers: int = 1,
    files: tuple[Path, Path] | None = None,
) -> None:
    """Serve the current snapshot of ``db_path`` and keep it current with ``catalog_dir``:
    in this process, or in ``workers`` uvicorn workers (reading Datasette's ``files``, the
    configuration and metadata) that each follow the snapshot this process points them to."""
    served = serving.snapshot(db_path)
    serving.hold(served)
    builder = Builder()
    if workers > 1:
        pointer = serving.point_to(served)
        command, environment = serving.workers_command(
            served, *files, host, port, serving.inspect_file(served), workers, pointer
        )
        run = _in_workers(command, environment, builder, catalog_dir, db_path, served, pointer)
    else:
        run = _in_process(config, metadata, host, port, builder, catalog_dir, db_path, served)
    click.echo(
        f"Serving {served} on http://{host}:{port}/ with {workers} worker(s) "
        f"and watching {catalog_dir}"
    )
    asyncio.run(run)
    if builder.failed:
        raise click.ClickException(builder.failed)


async def _in_process(config, metadata, host, port, builder, catalog_dir, db_path, served):
    import uvicorn
    from datasette.app import Datasette

    datasette = Datasette(
        immutables=[str(served)], config=serving.uncached(config), metadata=metadata
    )
    server = uvicorn.Server(
        uvicorn.Config(datasette.app(), host=host, port=port, log_level="warning")
    )

    def publish(fresh: Path, previous: Path) -> None:
        serving.switch(datasette, fresh, previous)

    watcher = asyncio.create_task(_watch(builder, catalog_dir, db_path, served, publish))
    watcher.add_done_callback(lambda task: _stop_on_failure(task, server))
    try:
        await server.serve()
    finally:
        watcher.cancel()
        builder.shutdown()


async def _in_workers(command, environment, builder, catalog_dir, db_path, served, pointer):
    """uvicorn's workers serve; this process builds and points them to each new snapshot
    (each switches on its next request, as one process does). A signal or a worker pool
    that ends stops both."""
    import signal

    process = await asyncio.create_subprocess_exec(*command, env=environment)

    def publish(fresh: Path, previous: Path) -> None:
        serving.point_to(fresh)
        serving.release(previous)  # the workers hold what they still serve

    watcher = asyncio.create_task(_watch(builder, catalog_dir, db_path, served, publish))
    stopped = asyncio.get_running_loop().create_future()
    for number in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(number, stopped.cancel)
    ended = asyncio.ensure_future(process.wait())
    try:
        await asyncio.wait({watcher, ended, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if watcher.done() and not watcher.cancelled() and watcher.exception() is not None:
            click.echo(f"Watching stopped: {watcher.exception()!r}", err=True)
    finally:
        watcher.cancel()
        if process.returncode is None:
            process.terminate()
            await process.wait()
        builder.shutdown()


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


async def _watch(builder: Builder, catalog_dir: Path, db_path: Path, served: Path, publish):
    """Build on every save; ``publish(fresh, previous)`` each new snapshot."""
    async for _ in catalog_changes(catalog_dir):
        ok, message = await builder.build(catalog_dir, db_path)
        click.echo(message, err=not ok)
        if ok:
            fresh = serving.snapshot(db_path)
            if fresh != served:
                serving.hold(fresh)
                publish(fresh, served)
                served = fresh
                click.echo(f"Now serving {fresh}")


def _build(catalog_dir: str, db_path: str) -> tuple[bool, str]:
    """Runs in the builder process: a single-threaded process kept warm between builds."""
    from refdb.compiling.compiler import build
    from refdb.errors import CatalogError

    try:
        result = build(catalog_dir, db_path)
    except CatalogError as error:
        return False, "\n".join(map(str, error.problems)) + "\nServing the previous build."
    return True, result.summary()


def _exit_with(server_pid: int) -> None:
    """In the builder: end when the server ends, however it ends (a signal skips cleanup, and
    an idle builder would otherwise wait for work forever)."""

    def watch() -> None:
        while serving.alive(server_pid):
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _warm() -> None:
    import refdb.compiling.compiler  # noqa: F401  (the imports are most of a small build's time)
