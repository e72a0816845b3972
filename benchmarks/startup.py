"""How fast the command starts: `refdb --help` and `refdb cite` on a built database.

    python benchmarks/startup.py [--runs 5] [--database refdb.db]

Each command runs in a fresh process, as a curator types it; prints the fastest and the
median wall time of each, and what `import refdb.cli` costs on its own.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(command: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", type=Path, default=Path("refdb.db"))
    args = parser.parse_args()
    refdb = [str(Path(sys.executable).parent / "refdb")]  # the installed command
    cases = {
        "python -c pass (the interpreter alone)": [sys.executable, "-c", "pass"],
        "import refdb.cli": [sys.executable, "-c", "import refdb.cli"],
        "refdb --help": [*refdb, "--help"],
    }
    if args.database.exists():
        cases["refdb cite tu-160"] = [*refdb, "cite", "tu-160", "-d", str(args.database)]
    else:
        print(f"({args.database} not built: refdb cite not measured)")
    for name, command in cases.items():
        fastest, median = timed(command, args.runs)
        print(f"{name:<42} fastest {fastest:.3f} s   median {median:.3f} s")


if __name__ == "__main__":
    main()
