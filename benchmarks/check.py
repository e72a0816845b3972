"""Peak memory of `refdb check` and `refdb report` as the archive grows, entries fixed.

    python benchmarks/check.py [--systems 1000] [--articles 1000 10000]

For each article count a synthetic catalog is written (deterministic), then each command runs
in a process of its own, whose peak resident memory is its alone. Both read, check and link one
article at a time, as the build does: memory should not grow with the articles (the ratio
printed is the peak at the most articles over the peak at the fewest).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402


def peak_of(command: list[str]) -> tuple[float, float]:
    """Seconds and peak memory (MB) of ``command`` run as a child, alone."""
    script = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", script, *command], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, int(out.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=1000)
    parser.add_argument("--articles", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    refdb = str(Path(sys.executable).with_name("refdb"))
    peaks: dict[str, dict[int, float]] = {"check": {}, "report": {}}
    with tempfile.TemporaryDirectory() as directory:
        for count in args.articles:
            root = Path(directory) / f"catalog-{count}"
            synthetic.write_catalog(root, args.systems, count)
            print(f"\n{args.systems:,} systems, {count:,} articles")
            for command in peaks:
                seconds, peak = peak_of([refdb, command, "--catalog", str(root)])
                peaks[command][count] = peak
                print(f"  refdb {command:<7} {seconds:6.2f} s   peak memory {peak:6.0f} MB")
    if len(args.articles) > 1:
        few, most = min(args.articles), max(args.articles)
        print(f"\npeak memory from {few:,} to {most:,} articles ({most / few:.0f}x the articles):")
        for command, by_count in peaks.items():
            print(f"  refdb {command:<7} {by_count[most] / by_count[few]:.2f}x")


if __name__ == "__main__":
    main()
