"""Build cost at 1,000 and 10,000 systems and articles, against a floor, and how it grows.

    python benchmarks/build.py [--sizes 1000 10000] [--articles 100000] [--history 1000 20]

For each size N a synthetic catalog of N systems and N articles (or ``--articles`` articles)
is written (deterministic), then built by `refdb build` (stage by stage) in a process of its
own, whose peak memory is the build's alone, and compared with a floor that does only the
unavoidable work on the same input: parse every YAML file with PyYAML's C loader and insert
the same rows with one-transaction executemany. Prints a table, the ratio to the floor, and
the growth factor between the sizes (linear work grows 10x, not 100x).

``--history ENTRIES COMMITS`` measures reading the catalog's git history instead: a
repository whose every commit edits every entry, built clean, then again after one more
commit that edits one entry (the incremental case).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402

from refdb.catalog.validate import validate_catalog  # noqa: E402
from refdb.compiling.compiler import build  # noqa: E402
from refdb.compiling.rows import catalog_rows  # noqa: E402
from refdb.compiling.tables import SQLModel  # noqa: E402
from refdb.linking.articles import link_catalog  # noqa: E402


def floor(root: Path, db_path: Path) -> tuple[float, int]:
    """Parse with the C loader + executemany of the same rows in one transaction."""
    catalog = validate_catalog(root)
    rows = catalog_rows(catalog, link_catalog(catalog))
    started = time.perf_counter()
    for path in sorted(root.glob("*/*.yaml")):
        yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    for path in sorted(root.glob("articles/*.txt")):
        path.read_text()
    connection = sqlite3.connect(db_path)
    for table in SQLModel.metadata.sorted_tables:
        connection.execute(str(sqlite_ddl(table)))
    count = 0
    with connection:
        for model, items in rows.items():
            if items:
                columns = list(vars(items[0]))
                sql = f"insert into {model.__tablename__} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})"
                connection.executemany(sql, [tuple(vars(item).values()) for item in items])
                count += len(items)
    connection.close()
    return time.perf_counter() - started, count


def sqlite_ddl(table):
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateTable

    return CreateTable(table).compile(dialect=sqlite.dialect())


def peak_mb() -> float:
    """The peak resident memory of this process or of the largest of its children (the
    linking workers; their count includes the pages they share with it).

    This process's own is read from /proc (VmHWM) where there is one: getrusage's keeps,
    across exec, the peak of the process that started it, here the benchmark's own,
    which has just held a whole synthetic corpus."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with open("/proc/self/status") as status:
            own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        pass
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def measured_build(root: Path, db_path: Path) -> tuple[dict[str, float], float, float]:
    """A clean build in a fresh process: its stage times, total time and peak memory."""
    command = [sys.executable, __file__, "--measure", str(root), str(db_path)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    measured = json.loads(done.stdout.splitlines()[-1])
    return measured["seconds"], measured["total"], measured["peak_mb"]


def measure(root: str, db_path: str) -> None:
    """The child's side of ``measured_build``: one clean build, reported as a JSON line."""
    started = time.perf_counter()
    result = build(Path(root), Path(db_path), reuse=False)
    total = time.perf_counter() - started
    print(json.dumps({"seconds": result.seconds, "total": total, "peak_mb": peak_mb()}))


def git(root: Path, *args: str) -> None:
    identity = ["-c", "user.name=Benchmark", "-c", "user.email=benchmark@example.org"]
    subprocess.run(["git", "-C", str(root), *identity, *args], check=True, capture_output=True)


def edit_all(root: Path, old: str, new: str, only: str = "*") -> None:
    for path in root.glob(f"systems/{only}.yaml"):
        path.write_text(path.read_text().replace(old, new))


def history(entries: int, commits: int) -> None:
    """History extraction on ``entries`` x ``commits`` versions, clean and incremental."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "catalog"
        synthetic.write_catalog(root, entries, 10)
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "revision 1")
        for revision in range(2, commits + 1):
            edit_all(root, "Synthetic entry", f"Synthetic entry (revision {revision})")
            edit_all(
                root, f"(revision {revision}) (revision {revision - 1})", f"(revision {revision})"
            )
            git(root, "commit", "-q", "-a", "-m", f"revision {revision}")
        db_path = Path(directory) / "refdb.db"
        clean = build(root, db_path, reuse=False).seconds
        with sqlite3.connect(db_path) as conn:
            versions = conn.execute("select count(*) from entry_versions").fetchone()[0]
        size = os.path.getsize(db_path) / 1e6
        edit_all(root, "Synthetic entry", "Synthetic entry, edited", only="sys-42")
        git(root, "commit", "-q", "-a", "-m", "one entry edited")
        again = build(root, db_path).seconds
        print(f"\nhistory of {entries:,} entries x {commits} commits: {versions:,} versions")
        print(f"  clean: history {clean['history']:.2f} s of a {sum(clean.values()):.2f} s build")
        print(
            f"  one more commit (one entry): history {again['history']:.2f} s "
            f"of a {sum(again.values()):.2f} s build"
        )
        print(f"  database {size:,.0f} MB; peak memory {peak_mb():,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--articles", type=int, help="articles per catalog (default: its size)")
    parser.add_argument("--history", type=int, nargs=2, metavar=("ENTRIES", "COMMITS"))
    parser.add_argument("--measure", nargs=2, metavar=("CATALOG", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    if args.history:
        history(*args.history)
        return
    totals = {}
    with tempfile.TemporaryDirectory() as directory:
        for size in args.sizes:
            root = Path(directory) / f"catalog-{size}"
            articles_count = args.articles or size
            synthetic.write_catalog(root, size, articles_count)
            os.sync()  # a curator's catalog is on disk: time the build, not this write-out
            megabytes = sum(p.stat().st_size for p in root.glob("articles/*.txt")) / 1e6
            db_path = Path(directory) / f"refdb-{size}.db"
            # First from disk, as after a fresh clone or a restart; then from memory, as a
            # curator builds again. Timed right after it was generated, a gigabyte the
            # machine was still settling, the build was 10-15% slower than either.
            evicted = _evict(root)
            _, from_disk, _ = measured_build(root, db_path)
            seconds, total, peak = measured_build(root, db_path)
            totals[size] = total
            with sqlite3.connect(db_path) as connection:
                rows = sum(
                    connection.execute(f"select count(*) from {t.name}").fetchone()[0]
                    for t in SQLModel.metadata.sorted_tables
                )
            floor_seconds, _ = floor(root, Path(directory) / f"floor-{size}.db")
            print(
                f"\n{size:,} systems, {articles_count:,} articles ({megabytes:.1f} MB of text), "
                f"{rows:,} rows"
            )
            for stage, stage_seconds in seconds.items():
                print(f"  {stage:<20} {stage_seconds:7.2f} s")
            print(
                f"  {'total':<20} {total:7.2f} s   {rows / total:,.0f} rows/s   peak memory {peak:,.0f} MB"
            )
            unlinked = total - seconds["link"]
            print(
                f"  floor (C YAML parse + executemany of the same rows): {floor_seconds:.2f} s; "
                f"build / floor = {total / floor_seconds:.1f}x, {unlinked / floor_seconds:.1f}x without linking"
            )
            print(
                f"  clean build of a catalog on disk, not in memory "
                f"({evicted / 1e6:,.0f} MB of files evicted from memory first): {from_disk:.2f} s"
            )
            build(root, db_path)  # warm the cache, then edit one entry and rebuild
            edited = root / "systems" / "sys-42.yaml"
            edited.write_text(
                edited.read_text().replace("Synthetic entry.", "Synthetic entry, edited.")
            )
            started = time.perf_counter()
            again = build(root, db_path)
            incremental = time.perf_counter() - started
            print(
                f"  one entry edited, incremental rebuild: {incremental:.2f} s "
                f"({incremental / total:.0%} of a clean build; {again.reused:,} files reused; "
                f"{'patched' if again.patched else 'rebuilt'})"
            )
            cold = [_cold_edit(root, db_path, run) for run in range(5)]
            print(
                f"  one entry edited, from a cold `refdb build` (five runs): "
                f"{min(cold):.2f}–{max(cold):.2f} s"
            )
            cold = [_cold_article(root, db_path, run) for run in range(3)]
            print(
                f"  one article added, from a cold `refdb build` (three runs): "
                f"{min(cold):.2f}–{max(cold):.2f} s"
            )
            articles = root / "articles"
            (articles / "added.yaml").write_text(
                "id: added\ntitle: Added\ndate: 2024-02\nlanguage: en\n"
            )
            (articles / "added.txt").write_text((articles / "art-7.txt").read_text())
            print(f"  one article added, incremental rebuild: {_rebuilt(root, db_path)}")
            renamed = root / "systems" / "sys-43.yaml"  # a designation corrected
            renamed.write_text(renamed.read_text().replace("Rm-5561M2", "Rm-5562M2"))
            print(f"  one entry renamed, incremental rebuild: {_rebuilt(root, db_path)}")
            near_miss = re.compile(r"beside a ([A-Z][a-z]?-[0-9]+) mock-up")
            printed = next(  # a designation an article prints, of no catalogued variant
                match[1]
                for path in sorted(articles.glob("art-*.txt"))
                for match in near_miss.finditer(path.read_text())
            )
            (root / "systems" / "added.yaml").write_text(  # named as an article prints
                f"id: added\nname: Added System\ndesignations: [{printed}]\n"
                "category: cruise-missile\ncountry: RU\ndescription: Synthetic entry.\n"
                "entry_sources: [s]\nsources: {s: {title: Synthetic, publisher: refdb}}\n"
            )
            print(f"  one system added, incremental rebuild: {_rebuilt(root, db_path)}")
    if len(totals) > 1:
        small, large = min(totals), max(totals)
        print(
            f"\ngrowth from {small:,} to {large:,}: {totals[large] / totals[small]:.1f}x "
            f"for {large / small:.0f}x the input"
        )


REFDB = Path(sys.executable).with_name("refdb")  # the command a curator runs


def _cold_edit(root: Path, db_path: Path, run: int) -> float:
    """Edit one entry again and time `refdb build` as a new process, interpreter included."""
    edited = root / "systems" / "sys-42.yaml"
    text = re.sub(
        r"Synthetic entry, edited[^.]*\.", f"Synthetic entry, edited {run}.", edited.read_text()
    )
    edited.write_text(text)
    return _cold_build(root, db_path)


def _cold_article(root: Path, db_path: Path, run: int) -> float:
    """Add one article and time `refdb build` as a new process."""
    articles = root / "articles"
    (articles / f"cold-{run}.yaml").write_text(
        f"id: cold-{run}\ntitle: Added cold\ndate: 2024-03\nlanguage: en\n"
    )
    (articles / f"cold-{run}.txt").write_text((articles / f"art-{11 + run}.txt").read_text())
    return _cold_build(root, db_path)


def _cold_build(root: Path, db_path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(REFDB), "build", "-q", "--catalog", str(root), "-o", str(db_path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _evict(root: Path) -> int:
    """Drop the catalog's files from the page cache, as after a fresh clone or a restart (it
    was synced to disk: clean pages go); the size of the files, in bytes."""
    size = 0
    for path in root.rglob("*"):
        if path.is_file():
            descriptor = os.open(path, os.O_RDONLY)
            try:
                size += os.fstat(descriptor).st_size
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)
    return size


def _rebuilt(root: Path, db_path: Path) -> str:
    """Rebuild after an edit: how long it took and how (patched or rebuilt)."""
    started = time.perf_counter()
    again = build(root, db_path)
    return f"{time.perf_counter() - started:.2f} s ({'patched' if again.patched else 'rebuilt'})"


if __name__ == "__main__":
    main()
