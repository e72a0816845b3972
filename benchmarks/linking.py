"""Linking throughput: one Aho-Corasick pass per article against a naive regex per alias.

    python benchmarks/linking.py [--systems 10000] [--articles 10000] [--naive-sample 10]

Prints the automaton build time, linking throughput in MB/s over every article, the time of
finding the sentence of every mention (linking before and with those sentences, in MB/s), and
the same articles through a loop of one compiled regex per alias (sampled, as it is far too
slow to run on everything), with the ratio between the two.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402

from refdb.catalog.schema import ArticleEntry  # noqa: E402
from refdb.linking import linker  # noqa: E402
from refdb.linking.sentences import sentences  # noqa: E402


def naive(patterns: list[re.Pattern], text: str) -> int:
    folded = linker.fold(text)
    return sum(1 for pattern in patterns for _ in pattern.finditer(folded))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=10)
    args = parser.parse_args()

    entries = synthetic.systems(args.systems)
    texts = synthetic.articles(args.articles, entries)
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    aliases = sum(len(linker.names_of(e)) for e in entries)

    started = time.perf_counter()
    automaton = linker.Linker(entries)
    built = time.perf_counter() - started

    started = time.perf_counter()
    spans = [[(hit.start, hit.end) for hit in automaton.hits(text)] for text in texts]
    linked = time.perf_counter() - started
    hits = sum(map(len, spans))

    started = time.perf_counter()
    for text, around in zip(texts, spans, strict=True):
        sentences(text, "en", around=around)
    placed = time.perf_counter() - started

    started = time.perf_counter()
    for index, text in enumerate(texts):
        entry = ArticleEntry(id=f"a-{index}", title="Synthetic", date="2024", language="en")
        linker.link_article(automaton, entry, text)
    full = time.perf_counter() - started

    patterns = [
        re.compile(rf"(?<!\w){re.escape(linker.fold(n.text))}(?!\w)")
        for e in entries
        for n in linker.names_of(e)
    ]
    sample = texts[: args.naive_sample]
    started = time.perf_counter()
    naive_hits = sum(naive(patterns, text) for text in sample)
    naive_time = (time.perf_counter() - started) * len(texts) / len(sample)
    ours_on_sample = sum(len(automaton.hits(text)) for text in sample)

    print(
        f"systems {len(entries):,}  names {aliases:,}  articles {len(texts):,}  text {megabytes:.1f} MB"
    )
    print(f"automaton built in {built:.2f} s")
    print(f"linked {hits:,} mentions in {linked:.2f} s: {megabytes / linked:.2f} MB/s")
    print(
        f"their sentences found in {placed:.2f} s: linking {megabytes / linked:.2f} MB/s "
        f"before them, {megabytes / (linked + placed):.2f} MB/s with them"
    )
    print(f"with sentences, context and anchors: {full:.2f} s: {megabytes / full:.2f} MB/s")
    print(
        f"naive regex loop, {len(sample)} articles sampled ({ours_on_sample} vs {naive_hits} raw hits): "
        f"{naive_time:.0f} s extrapolated to all articles"
    )
    print(f"ratio naive / Aho-Corasick: {naive_time / linked:.0f}x")


if __name__ == "__main__":
    main()
