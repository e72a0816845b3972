"""Linking quality: precision and recall on a labelled corpus, per language and per cause.

    python benchmarks/linking_quality.py [--catalog catalog] [--corpus tests/fixtures/linking/dev.jsonl]
                                         [--misses]

The corpus is JSON Lines, one sentence a line: ``{"id", "lang", "text", "gold": [{"exact",
"system", "cause"}], "decoys": [...]}``. A gold mention is found when the linker links an
overlapping span to the same system; a linked span that overlaps no gold mention of its
system is a false positive, counted under the cause of the decoy it hits (or "unlabelled").
The development corpus (tests/fixtures/linking/dev.jsonl) is written for this project; the
same script runs on any held-out corpus in that format.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refdb.catalog.validate import validate_catalog  # noqa: E402
from refdb.linking.linker import Linker  # noqa: E402

DEV_CORPUS = ROOT / "tests" / "fixtures" / "linking" / "dev.jsonl"


@dataclass
class Score:
    found: int = 0
    gold: int = 0
    linked: int = 0
    wrong: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return (self.linked - self.wrong) / self.linked if self.linked else 1.0


@dataclass
class Evaluation:
    total: Score = field(default_factory=Score)
    by_language: dict[str, Score] = field(default_factory=dict)
    by_cause: dict[str, Score] = field(default_factory=dict)
    decoys: int = 0
    decoys_linked: int = 0
    misses: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)


def load_corpus(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def evaluate(linker: Linker, corpus: list[dict]) -> Evaluation:
    """Score every sentence of ``corpus`` against what ``linker`` links in it."""
    result = Evaluation()
    for item in corpus:
        text, lang = item["text"], item["lang"]
        language = result.by_language.setdefault(lang, Score())
        hits = [(h.start, h.end, h.name.system_id) for h in linker.hits(text, language=lang)]
        for gold in item["gold"]:
            start = text.index(gold["exact"])
            end = start + len(gold["exact"])
            found = any(s < end and start < e and system == gold["system"] for s, e, system in hits)
            for score in (
                result.total,
                language,
                result.by_cause.setdefault(gold["cause"], Score()),
            ):
                score.gold += 1
                score.found += found
            if not found:
                result.misses.append(f"{item['id']}: {gold['exact']} -> {gold['system']}")
        for decoy in item["decoys"]:
            result.decoys += 1
            result.decoys_linked += any(
                system == decoy["system"] and _overlaps(text, decoy["exact"], start, end)
                for start, end, system in hits
            )
        for start, end, system in hits:
            wrong = not any(
                system == g["system"] and _overlaps(text, g["exact"], start, end)
                for g in item["gold"]
            )
            decoy = next(
                (d["cause"] for d in item["decoys"] if _overlaps(text, d["exact"], start, end)),
                "unlabelled",
            )
            causes = [result.total, language]
            if wrong:
                causes.append(result.by_cause.setdefault(decoy, Score()))
                result.false_positives.append(f"{item['id']}: {text[start:end]} -> {system}")
            for score in causes:
                score.linked += 1
                score.wrong += wrong
    return result


def _overlaps(text: str, exact: str, start: int, end: int) -> bool:
    first = text.index(exact)
    return first < end and start < first + len(exact)


def report(result: Evaluation) -> str:
    lines = [f"{'':22} {'recall':>14} {'precision':>16}"]

    def row(label: str, score: Score) -> str:
        recall = f"{score.found}/{score.gold} {score.recall:.2f}" if score.gold else "-"
        precision = f"{score.linked - score.wrong}/{score.linked} {score.precision:.2f}"
        return f"{label:22} {recall:>14} {precision:>16}"

    lines.append(row("all", result.total))
    lines += [row(f"  {lang}", s) for lang, s in sorted(result.by_language.items())]
    lines.append("by cause (false positives under the decoy they hit)")
    lines += [row(f"  {cause}", s) for cause, s in sorted(result.by_cause.items())]
    lines.append(f"decoys linked: {result.decoys_linked} of {result.decoys}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=ROOT / "catalog")
    parser.add_argument("--corpus", type=Path, default=DEV_CORPUS)
    parser.add_argument("--misses", action="store_true", help="list misses and false positives")
    args = parser.parse_args()
    corpus = load_corpus(args.corpus)
    result = evaluate(Linker(validate_catalog(args.catalog).systems), corpus)
    languages = Counter(item["lang"] for item in corpus)
    print(f"corpus {args.corpus.name}: {len(corpus)} sentences in {len(languages)} languages")
    print(report(result))
    if args.misses:
        print("\n".join(["misses:", *result.misses, "false positives:", *result.false_positives]))


if __name__ == "__main__":
    main()
