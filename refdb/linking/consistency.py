"""What an article says against what the catalog records: flags for a curator, never errors.

Three checks: a spec backed by an article quote whose numbers disagree with it (after unit
conversion: 6,500 km and 4,040 miles agree, 6,500 km and 5,500 km do not); a mention under
a known misnomer; and a class word just before a mention that contradicts the entry's
category ("the destroyer X" for an entry classed as a frigate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ahocorasick_rs import AhoCorasick, MatchKind

from refdb import ids
from refdb.catalog import categories, units
from refdb.catalog.schema import PROPERTIES, ArticleQuote, SystemEntry
from refdb.linking import linker
from refdb.text import fold, words_pattern

TOLERANCE = 0.02  # relative difference under which two quantities agree (rounding in the press)

UNIT_WORDS = {
    "km": r"km|kilom[eè]tres?|kilometers?",
    "mi": r"milles|miles?|mi",
    "nmi": r"milles nautiques|nautical miles?|nmi",
    "km/h": r"km/h|kilom[eè]tres?/heure|kilom[eè]tres? par heure|kilometers? per hour",
    "kn": r"n[oœ]euds|knots?|kn",
    "m": r"m[eè]tres?|meters?|m",
    "ft": r"pieds|feet|ft",
    "t": r"tonnes?|tons?|t",
    "kg": r"kilogrammes?|kilograms?|kg",
}
_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f\u2009,.]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_QUANTITY = re.compile(
    rf"(?P<number>{_NUMBER})\s?(?P<unit>{'|'.join(f'(?:{w})' for w in sorted(UNIT_WORDS.values(), key=len, reverse=True))})(?![\w])",
    re.IGNORECASE,
)

# A class word applies to the name right after it: "the frigate X", "les bombardiers russes
# X", "Bomber vom Typ X", "bombowce typu X", or the names of a list after it ("the bombers
# Tu-160, Tu-95 and Tu-22"). Words between that say something else ("bombers escorted by X")
# mean the word is not about the system, and nothing is flagged.
_NATIONALITY = (
    "russe*", "russ[oi]", "russa", "rus[oa]s?", "sovi[eé]tique*", "sovi[eé]tic[oa]*",
    "iranien*", "iranian[oi]", "iran[ií]", "nord-cor[eé]en*", "norcorean[oa]s?",
    "nordcorean[oi]",
)  # fmt: skip
_TYPE_WORDS = ("type", "typ", "typs", "typu", "типа", "класса", "class")
_TYPE = rf"(?:de|du|des|of the|of|vom|des|der)?\s*(?:{'|'.join(_TYPE_WORDS)})"
_LIST_ITEM = r"[«\"“„‘'(]?[^\s,;.]*\d[^\s,;]*[»\"”’')]?"
_GLUE_WORDS = ("and", "et", "und", "и", "і", "та", "i", "oraz", "y", "e")
_LIST_GLUE = r"\s*(?:,|" + "|".join(rf"\b{word}\b" for word in _GLUE_WORDS) + r")\s*"


def _fold_pattern(words) -> str:
    return "|".join(
        w
        if "[" in w
        else re.escape(fold(w[:-1])) + r"\w*"
        if w.endswith("*")
        else re.escape(fold(w))
        for w in words
    )


_WORDS = {
    (name, pattern)
    for name, category in categories.CATEGORIES.items()
    for words in category.words.values()
    for pattern in [words_pattern(words)]
}
# Every class word of every category, as curators write them ("missile* de croisière").
_CLASS_WORDS = [
    word for category in categories.CATEGORIES.values() for words in category.words.values()
    for word in words
]  # fmt: skip
# What may stand between a class word and the name it applies to, up to the name.
_APPLIES = re.compile(
    rf"(?:\s+(?:{_fold_pattern(_NATIONALITY)}))?"
    rf"(?:\s+{_TYPE})?\s*[«\"“„‘'(]?\s*"
    rf"(?:{_LIST_ITEM}(?:{_LIST_GLUE}{_LIST_ITEM})*{_LIST_GLUE})?$",
    re.IGNORECASE,
)


# Where a class word may start, found first so that the whole pattern is tried only there;
# one "not after a letter" for all the words, not one per word: five times faster.
_ANY_CLASS_WORD = re.compile(
    r"(?<!\w)(?:"
    + "|".join(
        sorted(
            {
                words_pattern([word]).removeprefix(r"(?<!\w)(?:").removesuffix(r")(?!\w)")
                for word in _CLASS_WORDS
            },
            key=lambda pattern: (-len(pattern), pattern),
        )
    )  # the longest word first, of any category: "fighter jet" before "fighter"
    + r")(?!\w)",
    re.IGNORECASE,
)


# The first three letters of every class word's first word (all of it when shorter, as the
# "U" of "U-Boot"): the only words worth trying, found by one automaton pass, leftmost first
# (a match holds letters only, so no word start is hidden inside an earlier one).
_FIRST_LETTERS = {fold(word.split(" ")[0].split("-")[0].rstrip("*"))[:3] for word in _CLASS_WORDS}
_FIRST_LETTERS_FINDER = AhoCorasick(
    sorted(_FIRST_LETTERS - {""}), matchkind=MatchKind.LeftmostLongest
)  # a word that starts with a separator has no first letters, and no token starts so
_TOKEN = re.compile(r"(?<!\w)\w+")


def _last_word_pattern(word: str) -> str:
    """The pattern, over folded text, of the last run of letters of a class word (``word*``
    takes any ending): "croisiere" of "missile* de croisière", "attaque" of "avion* d'attaque"."""
    last = re.split(r"[^\w*]+", fold(word).strip())[-1]
    return re.escape(last[:-1]) + r"\w*" if last.endswith("*") else re.escape(last)


# The last run of letters of whatever may stand right before a name a class word applies to:
# a class word, a nationality, a "type", or the glue of a list. A name after any other word
# ("The X", "beside a X") has no class word before it: the 120 characters before it need no
# search, which is most names in the press. One pattern per first letter, compiled when
# first needed (a build that links nothing does not pay for it): one of three hundred
# alternatives took longer than the search it spares.
_LAST_WORDS = [
    *map(_last_word_pattern, _CLASS_WORDS),
    *(_fold_pattern([word.split("-")[-1]]) for word in _NATIONALITY),
    *map(re.escape, (*_TYPE_WORDS, *_GLUE_WORDS)),
]  # fmt: skip


@cache
def _last_word(first: str) -> re.Pattern | None:
    """The pattern of the last words that start with ``first`` (every pattern starts with a
    letter of folded, lower-case, text), or None when none does."""
    patterns = [pattern for pattern in _LAST_WORDS if pattern[0] == first]
    return re.compile("|".join(patterns), re.IGNORECASE) if patterns else None


# What may stand between a class word and its name after the last word: spaces and an
# opening quote, as in ``_APPLIES``.
_SKIPPED = re.compile(r"[\s«\"“„‘'(]*")
_WORD = re.compile(r"\w+")
_LOOK_BACK = 40  # characters before a name in which the last word before it is looked for


def _may_apply(text: str, start: int) -> bool:
    """Whether a class word may apply to the name at ``start``: the last word before it (past
    spaces and quotes) may end one, or a list's comma stands there. False only when none
    can; the whole search decides otherwise."""
    before = fold(text[max(0, start - _LOOK_BACK) : start])[::-1]  # from the name backwards
    skipped = _SKIPPED.match(before).end()
    word = _WORD.match(before, skipped)
    if word is None:  # a comma, or nothing: maybe; a full stop, a colon, a bracket: no
        return skipped == len(before) or before[skipped] == ","
    if word.end() == len(before):
        return True  # the word may begin before what was looked at
    last = word.group()[::-1]
    pattern = _last_word(last[0])
    return pattern is not None and pattern.fullmatch(last) is not None


def class_word_before(text: str, start: int) -> tuple[str, set[str]] | None:
    """The class word the text applies to the name at ``start``, and the categories that word
    names; None when no class word stands right before it."""
    return _class_word_searched(text, start) if _may_apply(text, start) else None


def _class_word_searched(text: str, start: int) -> tuple[str, set[str]] | None:
    """:func:`class_word_before`, by searching the 120 characters before the name."""
    before = fold(text[max(0, start - 120) : start])
    match = next(
        (
            word
            for _, at, _ in _FIRST_LETTERS_FINDER.find_matches_as_indexes(before)
            if (token := _TOKEN.match(before, at))
            and (token.group()[:3] in _FIRST_LETTERS or token.group()[:1] in _FIRST_LETTERS)
            and (word := _ANY_CLASS_WORD.match(before, at))
            and _APPLIES.match(before, word.end())
        ),
        None,
    )
    if match is None:
        return None
    word = match.group()
    named = {name for name, pattern in _WORDS if re.fullmatch(pattern, word)}
    offset = max(0, start - 120) + match.start()
    return text[offset : offset + len(word)], named


@dataclass(frozen=True)
class Flag:
    system_id: str
    kind: str  # quote-number, misnomer, class-word
    message: str
    article_id: str | None = None
    mention_id: str | None = None
    source_key: str | None = None
    spec_id: str | None = None


_MACH = re.compile(r"\bMach\s?(?P<number>\d+(?:[.,]\d+)?)", re.IGNORECASE)
# The speed of sound between sea level (ISA, 1,225 km/h) and above 11 km (1,062 km/h): a Mach
# figure agrees with a speed in km/h when it falls between the two.
SOUND_KMH = (units.MACH_AT_ALTITUDE_KMH, 1225.0)


def quantities(text: str, language: str = "en") -> list[tuple[float, str]]:
    """(value, unit) pairs written in ``text``: '6 500 kilomètres', '4,040 miles', 'Mach 10'."""
    found = []
    for match in _QUANTITY.finditer(text):
        unit = next(
            u
            for u, words in UNIT_WORDS.items()
            if re.fullmatch(words, match["unit"], re.IGNORECASE)
        )
        found.append((_number(match["number"], language), unit))
    found += [(float(m["number"].replace(",", ".")), "mach") for m in _MACH.finditer(text)]
    return found


def _number(written: str, language: str) -> float:
    """'6 500' -> 6500; '6,500' -> 6500 in English; '2,5' -> 2.5 in French."""
    compact = re.sub(r"[ \u00a0\u202f\u2009]", "", written)
    if language != "en" and re.fullmatch(r"\d+,\d{1,2}", compact):
        return float(compact.replace(",", "."))
    if re.search(r"[.,]\d{3}(?!\d)", compact) and not re.fullmatch(r"\d+\.\d+", compact):
        compact = re.sub(r"[.,](?=\d{3}(?!\d))", "", compact)
    return float(compact.replace(",", "."))


def agrees(value: float, unit: str, other: float, other_unit: str) -> bool | None:
    """Whether two quantities agree within TOLERANCE; None when they measure different things."""
    if "mach" in (unit, other_unit) and unit != other_unit:
        mach, speed, speed_unit = (
            (value, other, other_unit) if unit == "mach" else (other, value, unit)
        )
        try:
            kmh = units.convert(speed, speed_unit, "km/h")
        except ValueError:
            return None
        low, high = (mach * sound for sound in SOUND_KMH)
        return low * (1 - TOLERANCE) <= kmh <= high * (1 + TOLERANCE)
    try:
        converted = units.convert(other, other_unit, unit)
    except ValueError:
        return None
    if converted is None:
        return None
    return abs(converted - value) <= TOLERANCE * max(abs(value), 1e-9)


def check_quotes(
    system: SystemEntry, texts: dict[str, tuple[str, str]], quotes: dict
) -> list[Flag]:
    """Specs backed by an article quote whose numbers contradict the spec (``quotes``: the
    spans validation resolved, by (system id, source key))."""
    flags = []
    for spec_id, spec in zip(ids.spec_ids(system), system.specs, strict=True):
        if PROPERTIES[spec.property].kind != "quantity":
            continue
        for key in spec.sources:
            source = system.sources[key]
            if not isinstance(source, ArticleQuote):
                continue
            text, language = texts[source.article]
            start, end = quotes[system.id, key]
            quoted = text[start:end]
            verdicts = [
                agrees(spec.value, spec.unit, v, u) for v, u in quantities(quoted, language)
            ]
            verdicts = [v for v in verdicts if v is not None]
            if verdicts and not any(verdicts):
                flags.append(
                    Flag(
                        system.id,
                        "quote-number",
                        f"{PROPERTIES[spec.property].label} is {units.number(spec.value)} {spec.unit} in the catalog, "
                        f"but the quoted article says “{quoted}”",
                        source.article,
                        source_key=key,
                        spec_id=spec_id,
                    )
                )
    return flags


def check_mentions(
    systems: dict[str, SystemEntry], mentions: list[linker.Mention], texts
) -> list[Flag]:
    """Misnomers and contradicting class words at each mention."""
    flags = []
    for mention in mentions:
        system = systems[mention.system_id]
        if mention.name_kind == "misnomer":
            flags.append(
                Flag(
                    system.id,
                    "misnomer",
                    f"the article calls it “{mention.exact}”, a misnomer for the {system.name}",
                    mention.article_id,
                    mention.id,
                )
            )
        text, _ = texts[mention.article_id]
        applied = class_word_before(text, mention.start)
        if applied and not applied[1] & categories.fits(system.category):
            label = categories.CATEGORIES[system.category].label
            flags.append(
                Flag(
                    system.id,
                    "class-word",
                    f"the article calls it a “{applied[0]}”, but the catalog classes it as "
                    f"{'an' if label[0] in 'aeiou' else 'a'} {label}",
                    mention.article_id,
                    mention.id,
                )
            )
    return flags
