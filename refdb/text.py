"""Text primitives shared by validation, linking and the site: folding, compact keys,
anchors (words found again by their context), paragraphs and content hashes.

Dependency-free on purpose: the Datasette plugin imports this module without loading the
build (Aho-Corasick, morphology, sentence splitting stay with the linker).

``fold`` maps every code point to exactly one code point, so an offset in the folded copy is
the same offset in the original. ``CompactText`` goes one step further for matching: it drops
separators (spaces, dashes, apostrophes) and invisible marks (combining accents such as a
Russian stress mark, soft hyphens, zero-width characters) and maps positions back, so
"Tu 160", "Tu-160", "Tu160" and "Black Jack" / "Blackjack" are the same letters while a span
still slices the exact printed words.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import itertools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
SPACES = "\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u2004\u2005\u2006\u2008\u3000\t\n\r\f\v"
APOSTROPHES = "\u2019\u2018\u02bc\u2032\u00b4`"
# Characters that print nothing (or nothing a reader would type): dropped before matching.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_STROKED = {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ħ": "h"}


class _FoldTable(dict):
    """A ``str.translate`` table filled on demand: one code point in, one code point out."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        self[code] = folded
        return folded


def _fold_char(char: str) -> str:
    if char in DASHES:
        return "-"
    if char in SPACES:
        return " "
    if char in APOSTROPHES:
        return "'"
    if char in _STROKED:
        return _STROKED[char]
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) > 1 and all(unicodedata.combining(mark) for mark in decomposed[1:]):
        char = decomposed[0]
    lower = char.lower()
    return lower if len(lower) == 1 else char


_FOLD = _FoldTable()
# The ASCII characters fold changes other than by lower case: control spaces, the backtick.
_ASCII_FOLDED = tuple((char, " ") for char in "\t\n\v\f\r") + (("`", "'"),)


def fold(text: str) -> str:
    """Case-, diacritic-, dash-, space- and apostrophe-folded copy of ``text``, same length."""
    return _through(_FOLD, text, _ASCII_FOLDED)


def is_dropped(char: str) -> bool:
    """Whether a folded character is left out of compact text: a separator or a mark."""
    return char in " -'" or char in INVISIBLE or unicodedata.combining(char) > 0


class _CompactTable(dict):
    """Folds a character, or drops it when it is a separator or a mark."""

    def __missing__(self, code: int) -> str | None:
        folded = _FOLD[code]
        value = None if is_dropped(folded) else folded
        self[code] = value
        return value


_COMPACT = _CompactTable()
# ASCII characters compact drops: spaces, hyphen, apostrophe and backtick, control spaces.
_ASCII_DROPPED = " -'`\t\n\r\f\v"
_ASCII_COMPACTED = tuple((char, "") for char in _ASCII_DROPPED)
_ASCII_SPACED = tuple((char, " ") for char in _ASCII_DROPPED[1:])  # a space stays one
_NON_ASCII_RUN = re.compile(r"([^\x00-\x7f]+)")
_RUN_BREAK = "\x01"  # kept by compact, and ASCII
_RUNS = threading.local()  # the runs of non-ASCII characters one encoding met, in order


def _run_met(error: UnicodeEncodeError) -> tuple[str, int]:
    """Encoding to ASCII, keep a run of other characters aside and leave a break for it: the
    codec hands over each run whole, faster than a pattern finds them."""
    _RUNS.met.append(error.object[error.start : error.end])
    return _RUN_BREAK, error.end


codecs.register_error("refdb-non-ascii-runs", _run_met)


def compact(text: str) -> str:
    """Folded, without separators or marks: the key under which two spellings are one name."""
    return _through(_COMPACT, text, _ASCII_COMPACTED)


def _through(table: dict, text: str, ascii_changes: tuple[tuple[str, str], ...]) -> str:
    """``text`` translated character by character through ``table``, done faster: the runs
    of non-ASCII characters are translated together, in one call, and the ASCII rest is
    lower-cased and given ``ascii_changes`` (what the table does to ASCII besides lower
    case) by C string methods. Tests hold each use to its table."""
    if "\u0130" in text:  # the one capital whose lower case is two characters
        return text.translate(table)
    if not text.isascii():
        text = _translate_runs(text, table)
    text = text.lower()
    for char, changed in ascii_changes:
        if char in text:
            text = text.replace(char, changed)
    return text


def _translate_runs(text: str, table: dict) -> str:
    """``text`` with its runs of non-ASCII characters translated by ``table``, each run once;
    the ASCII between them as it is."""
    if _RUN_BREAK in text:  # the break would be ambiguous: find the runs by pattern
        parts = _NON_ASCII_RUN.split(text)  # ASCII, run, ASCII, run, ..., ASCII
    else:
        _RUNS.met = runs = []
        between = text.encode("ascii", "refdb-non-ascii-runs").decode("ascii")
        parts = [""] * (2 * len(runs) + 1)
        parts[0::2], parts[1::2] = between.split(_RUN_BREAK), runs
    parts[1::2] = _RUN_BREAK.join(parts[1::2]).translate(table).split(_RUN_BREAK)
    return "".join(parts)  # a break is ASCII: no run holds one, nor folds to one


# Letters that print alike in Latin and Cyrillic, each way round; a Latin vowel with an
# accent stands for the plain Cyrillic vowel (a stress mark typed on a Latin keyboard).
_TWINS = dict(zip("aceopxyiABCEHIKMOPTXY", "асеорхуіАВСЕНІКМОРТХУ", strict=True))
_TWINS |= {accented: "а" for accented in "áàâäãå"} | {"Á": "А", "À": "А"}
_TWINS |= {accented: "е" for accented in "éèêë"} | {"É": "Е", "È": "Е"}
_TWINS |= {accented: "о" for accented in "óòôöõ"} | {"Ó": "О", "ý": "у"}
_TO_CYRILLIC = str.maketrans(_TWINS)
_TO_LATIN = str.maketrans(
    {cyr: lat for lat, cyr in _TWINS.items() if lat.isascii() and cyr not in "і"} | {"і": "i"}
)
_LATIN = "A-Za-z\u00c0-\u024f"
_CYRILLIC = "\u0400-\u04ff"


def _has_cyrillic(text: str) -> bool:
    """Whether ``text`` holds a letter of U+0400-U+04FF: most texts hold none, and the lead
    bytes of those letters in UTF-8 are found faster than any pattern finds the letters."""
    encoded = text.encode("utf-8", "surrogatepass")
    return any(lead in encoded for lead in (b"\xd0", b"\xd1", b"\xd2", b"\xd3"))


_SCRIPT_CHANGE = re.compile(f"[{_LATIN}][{_CYRILLIC}]|[{_CYRILLIC}][{_LATIN}]")
_WORD = re.compile(r"[^\W\d_]+")


def unmixed(text: str) -> str:
    """``text`` with each word typed in two scripts ("Кинжáл" with a Latin á, "Kалибр" with
    a Latin K) written in the script most of its letters are in, letter for look-alike
    letter; the same length, so offsets hold. Words in one script are left as they are."""
    if text.isascii() or not _has_cyrillic(text) or not _SCRIPT_CHANGE.search(text):
        return text
    pieces, last = [], 0
    for change in _SCRIPT_CHANGE.finditer(text):
        if change.start() < last:
            continue
        word = _word_at(text, change.start())
        if word is None:
            continue
        start, end = word
        pieces += [text[last:start], _one_script(text[start:end])]
        last = end
    return "".join(pieces) + text[last:]


def _word_at(text: str, at: int) -> tuple[int, int] | None:
    start = at
    while start > 0 and (text[start - 1].isalpha() or unicodedata.combining(text[start - 1])):
        start -= 1
    match = _WORD.match(text, start)
    return (start, max(match.end(), at + 2)) if match else None


def _one_script(word: str) -> str:
    cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in word)
    latin = sum(ch.isalpha() for ch in word) - cyrillic
    return word.translate(_TO_CYRILLIC if cyrillic >= latin else _TO_LATIN)


def letters(text: str) -> str:
    """The characters of ``text`` that compact keeps, unfolded (their case intact)."""
    folded = fold(text)
    return "".join(ch for ch, f in zip(text, folded, strict=True) if not is_dropped(f))


class CompactText:
    """A text folded, without separators and marks, with a map back to original offsets.

    Made from a same-length copy of the text in which every dropped character is a space:
    split at the spaces, the pieces joined are the compact text, and the number of pieces
    that end before a compact character is the number of characters dropped before it. A
    position maps back with one binary search, however many hits a text has.
    """

    def __init__(self, text: str):
        self.text = text
        pieces = _spaced(text).split(" ")
        self.compact = "".join(pieces)
        self._ends = list(itertools.accumulate(map(len, pieces)))  # compact length at each drop

    def original(self, position: int) -> int:
        """Offset in the original text of compact character ``position``."""
        if not 0 <= position < len(self.compact):
            raise IndexError(position)
        return position + bisect.bisect_right(self._ends, position)


class _SpacedTable(dict):
    """Folds a character, or makes it a space when compact drops it."""

    def __missing__(self, code: int) -> str:
        kept = _COMPACT[code]
        self[code] = value = " " if kept is None else kept
        return value


_SPACED = _SpacedTable()


def _spaced(text: str) -> str:
    """``text`` folded as compact folds it, with a space for every character compact drops:
    the same length, so an offset in it is an offset in ``text``."""
    return _through(_SPACED, text, _ASCII_SPACED)


def counted(number: int, noun: str) -> str:
    """'1 article', '2,000 articles': a count as every message words it."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def sha256(content: str | bytes) -> str:
    """Hex SHA-256 of bytes, or of text as UTF-8: the version of a file, a text, a catalog."""
    return hashlib.sha256(
        content.encode("utf-8") if isinstance(content, str) else content
    ).hexdigest()


def find_anchor(
    text: str,
    exact: str,
    prefix: str | None = None,
    suffix: str | None = None,
    folded: str | None = None,
    limit: int | None = None,
) -> list[int]:
    """Start offsets where ``exact`` occurs with the given context (compared folded), at most
    ``limit`` of them. The prefix, words and suffix are sought as one string, so a search
    is linear in the text however often the words alone occur (a one-letter quote)."""
    folded = fold(text) if folded is None else folded
    before, needle, after = (fold(part or "") for part in (prefix, exact, suffix))
    whole = before + needle + after
    starts, position = [], folded.find(whole)
    while position >= 0 and (limit is None or len(starts) < limit):
        starts.append(position + len(before))
        position = folded.find(whole, position + 1)
    return starts


def resolve_anchor(text: str, anchor, folded: str | None = None) -> int:
    """The one start offset of ``anchor`` (``exact``, ``prefix``, ``suffix``) in ``text``, or
    ValueError saying what to fix."""
    starts = find_anchor(text, anchor.exact, anchor.prefix, anchor.suffix, folded, limit=2)
    if not starts:
        raise ValueError(f"'{anchor.exact}' with this prefix/suffix is not in the article text")
    if len(starts) > 1:
        raise ValueError(
            f"'{anchor.exact}' occurs {occurrences(text, anchor, folded)}; "
            "add a prefix or suffix to pick one"
        )
    return starts[0]


def occurrences(text: str, anchor, folded: str | None = None, most: int = 100) -> str:
    """'3 times', or 'more than 100 times': how often an ambiguous anchor occurs."""
    found = find_anchor(text, anchor.exact, anchor.prefix, anchor.suffix, folded, most + 1)
    return f"more than {most} times" if len(found) > most else f"{len(found)} times"


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def paragraph_breaks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line break between paragraphs."""
    return [(match.start(), match.end()) for match in _PARAGRAPH_BREAK.finditer(text)]


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line separated block holding more than whitespace."""
    blocks, start = [], 0
    for break_start, break_end in paragraph_breaks(text):
        blocks.append((start, break_start))
        start = break_end
    blocks.append((start, len(text)))
    return [(a, b) for a, b in blocks if text[a:b].strip()]


def non_overlapping(
    ranked: Iterable[T], start: Callable[[T], int], end: Callable[[T], int]
) -> list[T]:
    """The spans that overlap none chosen before them, in ``ranked`` order (sorted by start,
    the preferred span first at each start: leftmost-longest when the longest comes first)."""
    chosen, reach = [], 0
    for item in ranked:
        if start(item) >= reach:
            chosen.append(item)
            reach = end(item)
    return chosen


def words_pattern(words: Iterable[str]) -> str:
    """A regular expression, over folded text, for any of ``words`` as whole words: ``word*``
    takes any ending, and a space or hyphen between words takes any run of spaces or one
    hyphen ("крылат* ракет*" finds "крылатыми ракетами"; "chasseur*-bombardier*" finds
    "chasseurs bombardiers")."""
    parts = []
    for word in words:
        tokens = re.split(r"[ -]+", fold(word).strip())
        parts.append(
            r"[\s-]+".join(
                re.escape(token[:-1]) + r"\w*" if token.endswith("*") else re.escape(token)
                for token in tokens
            )
        )
    return rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)"
