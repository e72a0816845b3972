"""What curators should do next: the catalog's problems, designations the articles use that
no entry claims, entries no article mentions yet, flags, and facts with weak sources."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from refdb.catalog import categories, sources
from refdb.catalog.schema import ArticleQuote, Reliability
from refdb.catalog.validate import Catalog
from refdb.check import check
from refdb.errors import Problem
from refdb.linking import consistency, linker
from refdb.linking.sentences import sentences
from refdb.text import DASHES, compact

_DASH = "\\-" + DASHES
_UPPER, _LOWER = "A-ZА-ЯІЇЄ", "a-zа-яіїєґ"
# Letters then digits, as weapons are designated: Su-57, Kh-101, S-400, MiG-31K, B-52H,
# SS-N-27, and digit-led ones such as 3M-14; a name and a number (Geran-2, Shahed-136,
# Hwasong-11) or a name and its version letters (Iskander-M, Pantsir-S1, Kalibr-NK). Spaces
# are not allowed inside ("Kim 2023"), nor a word in capitals before a number ("COVID-19").
# What follows may be an ending or a compound ("S-400s", "Iskander-M-Stellung").
DESIGNATION = re.compile(
    rf"(?<![\w{_DASH}])(?:"
    rf"(?:[{_UPPER}][A-Za-zА-Яа-я]{{0,3}}(?:[{_DASH}][{_UPPER}])?|\d{{1,2}}[{_UPPER}]{{1,2}})"
    rf"[{_DASH}]?\d{{1,4}}[A-Za-zА-Яа-я0-9]{{0,4}}"
    rf"|[{_UPPER}][{_LOWER}]{{3,10}}[{_DASH}]"
    rf"(?:\d{{1,4}}[{_UPPER}]{{0,2}}|[{_UPPER}]{{1,2}}\d{{0,2}})[{_LOWER}]{{0,3}}"
    rf")(?![\w])"
)


# A name no entry has is found in quotes after a word for a weapon ("le missile « Sarmat »"),
# or, where the language names a thing after its class, capitalised after one ("ракета
# Сармат"): the words of ``categories.CLASS_WORDS``.
# "vom Typ", "du type", "typu", "типа" between the class word and the name.
_OF_TYPE = r"(?:(?:vom|von|des|du|de|of the|of)\s+)?(?:typ|typs|type|typu|типа|класса|class)"
NAMES_AFTER_CLASS = {"fr", "es", "it", "pl", "ru", "uk"}
_QUOTED = r"[«\"„“‘']\s?([^«»\"„“”‘’'\n]{2,40}?)\s?[»\"“”’']"


@functools.cache
def _class_named(language: str) -> re.Pattern:
    words = "|".join(
        re.escape(word.rstrip("*")) + (r"\w*" if word.endswith("*") else "")
        for word in categories.CLASS_WORDS.get(language, categories.CLASS_WORDS["en"])
    )
    word = rf"[{_UPPER}][\w]+(?:[{_DASH}][\w]+)*"  # a ship's or a system's name: up to 3 words
    capitalised = rf"|(?<=\s)({word}(?: {word}){{0,2}})" if language in NAMES_AFTER_CLASS else ""
    after = rf"(?i:\b(?:{words})(?:\s+{_OF_TYPE})?)\s+(?:{_QUOTED}{capitalised})"
    before = rf"{_QUOTED}[\s{_DASH}]+(?i:(?:{words})\b)"
    compound = rf"\b([{_UPPER}][\w]+?)[{_DASH}](?i:(?:{words})\b)"  # Kalibr-Marschflugkörper
    return re.compile(rf"{after}|{before}|{compound}")


def unclaimed(text: str, language: str, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Where ``text`` names what looks like a weapons system that no mention covers: a
    designation, or a name after a class word. Spans, in order."""
    spans = [(m.start(), m.end()) for m in DESIGNATION.finditer(text)]
    for match in _class_named(language).finditer(text):
        group = next(index for index in (1, 2, 3, 4) if match.group(index))
        spans.append((match.start(group), match.end(group)))
    return sorted(
        span
        for span in set(spans)
        if not any(start < span[1] and span[0] < end for start, end in covered)
    )


@dataclass
class Unlinked:
    text: str
    count: int = 0
    articles: list[str] = field(default_factory=list)
    example: str = ""
    named_in: list[str] = field(default_factory=list)  # entries whose own text names it


def named_in_catalog(catalog: Catalog) -> dict[str, list[str]]:
    """Compact name -> the entries whose description or notes name it: a system the catalog
    already knows of (a variant, a rival, a launcher) without an entry of its own."""
    found: dict[str, list[str]] = {}
    for system in catalog.systems:
        notes = [system.description or ""]
        notes += [item.note or "" for item in [*system.specs, *system.relations, *system.aliases]]
        text = "\n".join(notes)
        for start, end in unclaimed(text, "en", []):
            ids = found.setdefault(compact(text[start:end]), [])
            if system.id not in ids:
                ids.append(system.id)
    return found


@dataclass
class Report:
    unlinked_designations: list[Unlinked]
    never_mentioned: list[str]
    articles_without_mentions: list[str]
    flags: list[dict] = field(default_factory=list)
    unsourced_names: list[dict] = field(default_factory=list)
    claims_only_facts: list[dict] = field(default_factory=list)
    single_source_facts: list[dict] = field(default_factory=list)
    cards: list[dict] = field(default_factory=list)
    key_figures: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the report covers the other files

    def as_dict(self) -> dict:
        return asdict(self)


def build_report(catalog_dir: Path | str) -> Report:
    """Check and link the catalog, then list its problems and what is missing from the files
    that have none. Articles are read one at a time, as the build reads them: what the report
    keeps of each is what it lists (a name no entry claims, a flag), not its text."""
    reading = _Reading()
    checked = check(Path(catalog_dir), each=reading.add)
    return reading.report(checked.catalog, checked.problems)


class _Reading:
    """What the report keeps of each article as it is read: what it lists, not the text."""

    def __init__(self) -> None:
        self.unlinked: dict[str, Unlinked] = {}
        self.mentioned: set[str] = set()
        self.silent: list[str] = []
        self.flags: list[consistency.Flag] = []
        self.systems: dict[str, object] = {}

    def add(self, catalog: Catalog, article, mentions: list[linker.Mention]) -> None:
        self.systems = self.systems or {s.id: s for s in catalog.systems}
        self.mentioned |= {m.system_id for m in mentions}
        if not mentions:
            self.silent.append(article.entry.id)
        covered = [(m.start, m.end) for m in mentions]
        bounds = None
        for span in unclaimed(article.text, article.entry.language, covered):
            bounds = bounds or sentences(article.text, article.entry.language)
            _count(self.unlinked, article, span, bounds)
        text = {article.entry.id: (article.text, article.entry.language)}
        self.flags += consistency.check_mentions(self.systems, mentions, text)

    def report(self, catalog: Catalog, problems: list[Problem]) -> Report:
        known = named_in_catalog(catalog)
        claimed = {compact(n.text) for s in catalog.systems for n in linker.names_of(s)}
        for key, item in self.unlinked.items():
            item.named_in = [] if key in claimed else known.get(key, [])
        ranked = sorted(self.unlinked.values(), key=lambda u: (-u.count, u.text))
        never = [s.id for s in catalog.systems if s.id not in self.mentioned]
        quoted = {a.entry.id: (a.text, a.entry.language) for a in catalog.articles}
        flags = [
            flag
            for system in catalog.systems
            for flag in consistency.check_quotes(system, quoted, catalog.quotes)
        ]
        flags += self.flags
        return Report(
            ranked,
            never,
            sorted(self.silent),
            [asdict(flag) for flag in flags],
            unsourced_names(catalog),
            claims_only_facts(catalog),
            single_source_facts(catalog),
            standard_cards(catalog),
            key_figures(catalog),
            list(problems),
        )


# Names whose correctness a reader cannot see for themselves: they need a source most.
NEEDS_SOURCE_MOST = ("misnomer", "press-shorthand", "nickname", "nato-name")


def official(system) -> set[str]:
    """The entry's own name and designations, which its entry sources already back."""
    return {compact(n) for n in [system.name, *system.designations]}


def unsourced_names(catalog: Catalog) -> list[dict]:
    """Aliases written without a source, those a reader most needs one for first."""
    found = [
        {"system_id": system.id, "text": alias.text, "kind": str(alias.kind)}
        for system in catalog.systems
        for alias in system.aliases
        if not alias.sources and compact(alias.text) not in official(system)
    ]
    return sorted(
        found, key=lambda a: (a["kind"] not in NEEDS_SOURCE_MOST, a["system_id"], a["text"])
    )


def facts(system) -> list[tuple[str, list[str]]]:
    """(what the fact is, the keys of its sources) for the entry, its specs and relations."""
    found = [("entry", system.entry_sources)]
    for spec in system.specs:
        value = f"{spec.value} {spec.unit or ''}".strip()
        claimed = f" ({spec.qualifier})" if spec.qualifier else ""
        found.append((f"{spec.property} = {value}{claimed}", spec.sources))
    found += [(f"{r.type} {r.target}", r.sources) for r in system.relations]
    return found


def claims_only_facts(catalog: Catalog) -> list[dict]:
    """Facts that only claims-only publishers (state media, manufacturers) back: what a
    party says, still waiting for an independent source."""
    register, found = sources.Register(catalog.publishers), []
    articles = {a.entry.id: a.entry for a in catalog.articles}
    for system in catalog.systems:
        levels = {}
        for key, source in system.sources.items():
            cited = articles.get(source.article) if isinstance(source, ArticleQuote) else source
            publisher_id = register.publisher_of(cited) if cited else None
            if publisher_id is not None:
                levels[key] = register.publishers[publisher_id].reliability
        for fact, keys in facts(system):
            if all(levels.get(key) == Reliability.CLAIMS_ONLY for key in keys):
                found.append({"system_id": system.id, "fact": fact, "sources": list(keys)})
    return found


def single_source_facts(catalog: Catalog) -> list[dict]:
    """Facts a single source backs: one more source would let a reader cross-check them."""
    return [
        {"system_id": system.id, "fact": fact, "sources": list(keys)}
        for system in catalog.systems
        for fact, keys in facts(system)
        if len(keys) == 1
    ]


def standard_cards(catalog: Catalog) -> list[dict]:
    """Each entry against the standard card of its category: how many of its facts it
    gives and which it lacks, the emptiest card first. A family's card is its versions'."""
    given = {system.id: {spec.property for spec in system.specs} for system in catalog.systems}
    versions = defaultdict(list)
    for system in catalog.systems:
        for relation in system.relations:
            if relation.type == "variant-of":
                versions[relation.target].append(given[system.id])
    found = []
    for system in catalog.systems:
        card = categories.CATEGORIES[system.category].card
        if system.family:
            missing = categories.family_gaps(system.category, given[system.id], versions[system.id])
        else:
            missing = categories.card_gaps(system.category, given[system.id])
        found.append(
            {
                "system_id": system.id,
                "category": str(system.category),
                "family": system.family,
                "given": len(card) - len(missing),
                "standard": len(card),
                "missing": [fact.label for fact in missing],
            }
        )
    return sorted(found, key=lambda c: (c["given"] / c["standard"], c["system_id"]))


# The figures a reader compares systems by: each should rest on two publishers.
KEY_FIGURES = (
    "max_range", "combat_radius", "ferry_range", "max_speed", "cruise_speed",
    "max_takeoff_weight", "empty_weight", "launch_weight", "warhead_mass",
    "displacement_standard", "displacement_full", "first_flight", "service_entry",
)  # fmt: skip


def key_figures(catalog: Catalog) -> list[dict]:
    """Every key figure with the publishers that back it, those on one publisher first."""
    register = sources.Register(catalog.publishers)
    articles = {a.entry.id: a.entry for a in catalog.articles}
    found = []
    for system in catalog.systems:
        for spec in system.specs:
            if spec.property not in KEY_FIGURES:
                continue
            publishers = set()
            for key in spec.sources:
                source = system.sources[key]
                if isinstance(source, ArticleQuote):
                    source = articles.get(source.article)
                publisher = register.publisher_of(source) if source else None
                publishers.add(publisher or key)
            value = f"{spec.value} {spec.unit or ''}".strip()
            qualifier = f" ({spec.qualifier})" if spec.qualifier else ""
            found.append(
                {
                    "system_id": system.id,
                    "fact": f"{spec.property} = {value}{qualifier}",
                    "publishers": sorted(publishers),
                }
            )
    return sorted(found, key=lambda f: (len(f["publishers"]) > 1, f["system_id"], f["fact"]))


def _count(unlinked: dict[str, Unlinked], article, span: tuple[int, int], bounds) -> None:
    written = article.text[span[0] : span[1]]
    item = unlinked.setdefault(compact(written), Unlinked(written))
    item.count += 1
    if article.entry.id not in item.articles:
        item.articles.append(article.entry.id)
    if not item.example:
        start, end = next(((a, b) for a, b in bounds if a <= span[0] < b), span)
        item.example = article.text[start:end]
