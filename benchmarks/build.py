"""Build cost at 1,000 and 10,000 systems and articles, against a floor, and how it grows.

    python benchmarks/build.py [--sizes 1000 10000]

For each size N a synthetic catalog of N systems and N articles is written (deterministic),
then built by `refdb build` (stage by stage), and compared with a floor that does only the
unavoidable work on the same input: parse every YAML file with PyYAML's C loader and insert
the same rows with one-transaction executemany. Prints a table, the ratio to the floor, and
the growth factor between the sizes (linear work grows 10x, not 100x).
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402

from refdb import linking  # noqa: E402
from refdb.compiler import build  # noqa: E402
from refdb.rows import catalog_rows  # noqa: E402
from refdb.tables import SQLModel  # noqa: E402
from refdb.validate import validate_catalog  # noqa: E402


def floor(root: Path, db_path: Path) -> tuple[float, int]:
    """Parse with the C loader + executemany of the same rows in one transaction."""
    catalog = validate_catalog(root)
    rows = catalog_rows(catalog, linking.link_catalog(catalog))
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
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    totals = {}
    with tempfile.TemporaryDirectory() as directory:
        for size in args.sizes:
            root = Path(directory) / f"catalog-{size}"
            synthetic.write_catalog(root, size, size)
            megabytes = sum(p.stat().st_size for p in root.glob("articles/*.txt")) / 1e6
            started = time.perf_counter()
            result = build(root, Path(directory) / f"refdb-{size}.db", reuse=False)
            total = time.perf_counter() - started
            totals[size] = total
            rows = sum(
                sqlite3.connect(result.path).execute(f"select count(*) from {t.name}").fetchone()[0]
                for t in SQLModel.metadata.sorted_tables
            )
            floor_seconds, _ = floor(root, Path(directory) / f"floor-{size}.db")
            print(
                f"\n{size:,} systems, {size:,} articles ({megabytes:.1f} MB of text), {rows:,} rows"
            )
            for stage, seconds in result.seconds.items():
                print(f"  {stage:<20} {seconds:7.2f} s")
            print(
                f"  {'total':<20} {total:7.2f} s   {rows / total:,.0f} rows/s   peak memory {peak_mb():,.0f} MB"
            )
            unlinked = total - result.seconds["link"]
            print(
                f"  floor (C YAML parse + executemany of the same rows): {floor_seconds:.2f} s; "
                f"build / floor = {total / floor_seconds:.1f}x, {unlinked / floor_seconds:.1f}x without linking"
            )
            build(root, result.path)  # warm the cache, then edit one entry and rebuild
            edited = root / "systems" / "sys-42.yaml"
            edited.write_text(
                edited.read_text().replace("Synthetic entry.", "Synthetic entry, edited.")
            )
            started = time.perf_counter()
            again = build(root, result.path)
            incremental = time.perf_counter() - started
            print(
                f"  one entry edited, incremental rebuild: {incremental:.2f} s "
                f"({incremental / total:.0%} of a clean build; {again.reused:,} files reused)"
            )
    if len(totals) > 1:
        small, large = min(totals), max(totals)
        print(
            f"\ngrowth from {small:,} to {large:,}: {totals[large] / totals[small]:.1f}x "
            f"for {large / small:.0f}x the input"
        )


if __name__ == "__main__":
    main()
