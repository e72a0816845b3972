"""Bounded load on a served refdb, loopback only: 20 concurrent clients, a fixed request count.

    python benchmarks/load.py [--requests 2000] [--clients 20] [--workers 1 2]

Builds the catalog into a temporary database and serves it with `refdb serve --workers N` on a
free 127.0.0.1 port, for each N given; hits the home page, entry pages, article pages, search
and a canned query in turn, and prints requests/s, latency percentiles and the error count
(must be 0), then each N's requests/s over one worker's. The clients run on the same machine,
so they take part of the cores the workers would use.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from refdb.compiling.compiler import build

ROOT = Path(__file__).resolve().parents[1]
PATHS = [
    "/",
    "/system/tu-160",
    "/refdb/systems/kh-47m2-kinzhal",
    "/refdb/systems/marshal-shaposhnikov",
    "/refdb/articles/kim-russia-2023-09",
    "/search?q=kinjal",
    "/refdb/systems?_search=Tupolev",
    "/refdb/mentions_of_system.json?system=tu-160",
    "/refdb/compare_spec?property=max_range",
    "/refdb/systems/tu-160.bib",
]
TIME_LIMIT_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            ok = response.status == 200
    except OSError:
        ok = False
    return time.perf_counter() - started, ok


def run(base: str, total: int, clients: int) -> tuple[list[float], int, float]:
    """``total`` requests over ``clients`` threads, cycling through PATHS."""
    urls = [base + path for path, _ in zip(itertools.cycle(PATHS), range(total), strict=False)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(fetch, urls, timeout=TIME_LIMIT_S))
    elapsed = time.perf_counter() - started
    return [latency for latency, _ in results], sum(not ok for _, ok in results), elapsed


@contextlib.contextmanager
def served(workers: int):
    """The project's catalog, built and served by `refdb serve --workers N` on a free loopback
    port: yields (base URL, server process) once it answers, and stops it afterwards."""
    with tempfile.TemporaryDirectory() as directory:
        db_path = Path(directory) / "refdb.db"
        build(ROOT / "catalog", db_path)
        port = free_port()
        command = [
            *(str(Path(sys.executable).with_name("refdb")), "serve"),
            *("--catalog", str(ROOT / "catalog"), "-o", str(db_path), "-p", str(port)),
            *("--config", str(ROOT / "datasette.yaml"), "--metadata", str(ROOT / "metadata.yaml")),
            *("--workers", str(workers)),
        ]
        server = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                if fetch(base + "/-/versions.json")[1]:
                    break
                time.sleep(0.1)
            run(base, 100, 4)  # every worker opens its connections and warms up
            yield base, server
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rates, failed = {}, 0
    for workers in args.workers:
        with served(workers) as (base, _):
            latencies, errors, elapsed = run(base, args.requests, args.clients)
        rates[workers] = len(latencies) / elapsed
        failed += errors
        cuts = statistics.quantiles(latencies, n=100)
        print(
            f"{workers} worker(s): {len(latencies)} requests, {args.clients} clients, "
            f"{elapsed:.1f} s: {rates[workers]:.0f} requests/s; latency p50 "
            f"{cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms; "
            f"errors: {errors}"
        )
    if 1 in rates:
        for workers, rate in rates.items():
            if workers != 1:
                print(f"{workers} workers / 1 worker: {rate / rates[1]:.2f}x the requests/s")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
