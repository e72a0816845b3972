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
import hashlib
import re
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


def fold(text: str) -> str:
    """Case-, diacritic-, dash-, space- and apostrophe-folded copy of ``text``, same length."""
    return text.translate(_FOLD)


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
_NON_ASCII_RUN = re.compile(r"([^\x00-\x7f]+)")
_RUN_BREAK = "\x01"  # kept by compact, and ASCII


def compact(text: str) -> str:
    """Folded, without separators or marks: the key under which two spellings are one name.

    The same as translating every character through the fold-and-drop table, done faster:
    the runs of non-ASCII characters are translated together, in one call, and the ASCII
    rest is lower-cased and its separators removed by C string methods.
    """
    if "\u0130" in text:  # the one capital whose lower case is two characters
        return text.translate(_COMPACT)
    if not text.isascii():
        parts = _NON_ASCII_RUN.split(text)  # ASCII, run, ASCII, run, ..., ASCII
        runs = _RUN_BREAK.join(parts[1::2]).translate(_COMPACT).split(_RUN_BREAK)
        parts[1::2] = runs  # a break is ASCII: no run holds one, nor folds to one
        text = "".join(parts)
    text = text.lower()
    for char in _ASCII_DROPPED:
        if char in text:
            text = text.replace(char, "")
    return text


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

    The map is walked on demand from the nearest known point, a slice at a time (each
    slice's kept characters counted by C string methods): a text costs time in proportion
    to its length, not its length times its number of hits.
    """

    def __init__(self, text: str):
        self.text = text
        self.compact = compact(text)
        present = tuple(char for char in _COMMON_DROPPED if char in text)
        plain = len(self.compact) == len(text) - sum(map(text.count, present))
        self._kept_in = _counter(present) if plain else _kept_in_any
        self._ratio = len(text) / max(1, len(self.compact))  # characters per kept character
        self._kept = [0]  # checkpoints: kept characters in text[:offset] ...
        self._offsets = [0]  # ... and that offset

    def original(self, position: int) -> int:
        """Offset in the original text of compact character ``position``.

        Positions asked in increasing order (as Aho-Corasick reports match ends) walk the
        text once; an earlier position starts again from the nearest checkpoint.
        """
        index = bisect.bisect_right(self._kept, position) - 1
        kept, offset = self._kept[index], self._offsets[index]
        text, kept_in, ratio = self.text, self._kept_in, self._ratio
        while True:  # read as far as the text's density of separators predicts, then settle
            need = position + 1 - kept
            piece = text[offset : offset + int(need * ratio) + 1]
            got = kept_in(piece)
            if got >= need or not piece:
                break
            kept, offset = kept + got, offset + len(piece)
        if not piece:
            raise IndexError(position)
        target = self.before(self._last_kept(offset + len(piece) - 1), got - need)
        if index + 1 == len(self._kept):
            self._kept.append(position + 1)
            self._offsets.append(target + 1)
        elif self._kept[index + 1] != position + 1:
            self._kept.insert(index + 1, position + 1)
            self._offsets.insert(index + 1, target + 1)
        return target

    def before(self, offset: int, count: int) -> int:
        """Offset of the kept character ``count`` kept characters before the one at ``offset``
        (a short walk back: how a match's start is found from its end)."""
        left, missing = offset, count
        while missing > 0:
            piece = self.text[max(0, left - missing) : left]
            missing -= self._kept_in(piece)
            left -= len(piece)
        while _COMPACT[ord(self.text[left])] is None:
            left += 1
        return left

    def _last_kept(self, offset: int) -> int:
        while _COMPACT[ord(self.text[offset])] is None:
            offset -= 1
        return offset


# The characters that separate words in most text. Where a text drops no other character,
# counting those it holds is all it takes to count what compact keeps of a slice.
_COMMON_DROPPED = (" ", "-", "\n", "'", "\u2019", "\u00a0", "\u202f")


def _counter(dropped: tuple[str, ...]):
    """Kept characters of a slice of text whose only dropped characters are ``dropped``."""
    return lambda piece: len(piece) - sum(map(piece.count, dropped))


def _kept_in_any(piece: str) -> int:
    return len(compact(piece))


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
