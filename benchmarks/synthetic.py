"""A synthetic catalog, deterministic from a seed: N systems with aliases, M news-like articles.

Designations look like real ones (letters, a dash, digits, a suffix) and articles mention a
few of them per paragraph among filler sentences, so linking sees a realistic density of
hits, near-misses ("Ab-123" beside "Ab-1234") and plain text.
"""

from __future__ import annotations

import random
import string

from refdb.catalog.schema import SystemEntry

FILLER = (
    "Officials said on Tuesday that the exercise would continue for several days.",
    "Le ministre a déclaré que la coopération militaire se poursuivrait l’an prochain.",
    "Analysts noted that the deliveries had been delayed by sanctions and supply problems.",
    "La flotte du Pacifique a mené des manœuvres au large de Vladivostok.",
    "The statement gave no figures for the number of aircraft involved.",
    "Selon l’agence, les essais ont eu lieu dans une zone fermée à la navigation.",
)


def designation(rng: random.Random) -> str:
    prefix = rng.choice(string.ascii_uppercase) + rng.choice(string.ascii_lowercase + "")
    return f"{prefix}-{rng.randint(1, 9999)}{rng.choice(['', 'M', 'K', 'MS', 'M2'])}"


def systems(count: int, seed: int = 1) -> list[SystemEntry]:
    """``count`` valid entries with five names each (about 5 * count patterns)."""
    rng, seen, entries = random.Random(seed), set(), []
    while len(entries) < count:
        names = [designation(rng) for _ in range(4)]
        if any(n.lower() in seen for n in names) or len(set(n.lower() for n in names)) < 4:
            continue
        seen.update(n.lower() for n in names)
        index = len(entries)
        entries.append(
            SystemEntry.model_validate(
                {
                    "id": f"sys-{index}",
                    "name": f"System {index} {names[0]}",
                    "designations": names[:1],
                    "category": "cruise-missile",
                    "country": "RU",
                    "description": "Synthetic entry.",
                    "entry_sources": ["s"],
                    "sources": {"s": {"title": "Synthetic", "publisher": "refdb"}},
                    "aliases": [
                        {"text": n, "lang": "en", "kind": "designation"} for n in names[1:]
                    ],
                }
            )
        )
    return entries


def articles(count: int, entries: list[SystemEntry], seed: int = 2, size: int = 3000) -> list[str]:
    """``count`` texts of about ``size`` characters in paragraphs of four sentences, one
    sentence in eight naming two systems (news density: a few mentions per article)."""
    rng, texts = random.Random(seed), []
    names = [a.text for e in entries for a in e.aliases]
    for _ in range(count):
        sentences, length = [], 0
        while length < size:
            sentence = rng.choice(FILLER)
            if rng.random() < 0.125:
                sentence = (
                    f"The {rng.choice(names)} was shown beside a {rng.choice(names)}0 mock-up. "
                    + sentence
                )
            sentences.append(sentence)
            length += len(sentence) + 1
        paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
        texts.append("\n\n".join(paragraphs))
    return texts


def write_catalog(root, systems_count: int, articles_count: int, seed: int = 1) -> None:
    """A valid catalog on disk: ``systems_count`` entry files and ``articles_count`` articles."""
    from pathlib import Path

    import yaml

    root = Path(root)
    (root / "systems").mkdir(parents=True, exist_ok=True)
    (root / "publishers.yaml").write_text(
        "refdb:\n  name: refdb synthetic data\n  kind: reference\n  reliability: reliable\n"
        "  reason: generated for benchmarks; cites nothing real\n"
    )
    (root / "articles").mkdir(parents=True, exist_ok=True)
    entries = systems(systems_count, seed)
    rng = random.Random(seed)
    for index, entry in enumerate(entries):
        data = entry.model_dump(mode="json", exclude_defaults=True)
        data["specs"] = [
            {
                "property": "max_range",
                "value": rng.randint(100, 9000),
                "unit": "km",
                "sources": ["s"],
            },
            {"property": "first_flight", "value": f"{rng.randint(1950, 2024)}", "sources": ["s"]},
        ]
        if index:
            data["relations"] = [
                {"type": "carries", "target": f"sys-{rng.randrange(index)}", "sources": ["s"]}
            ]
        (root / "systems" / f"{entry.id}.yaml").write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        )
    for index, text in enumerate(articles(articles_count, entries, seed + 1)):
        header = {
            "id": f"art-{index}",
            "title": f"Synthetic article {index}",
            "date": "2024-01",
            "language": "en",
        }
        (root / "articles" / f"art-{index}.yaml").write_text(
            yaml.safe_dump(header, sort_keys=False)
        )
        (root / "articles" / f"art-{index}.txt").write_text(text)
