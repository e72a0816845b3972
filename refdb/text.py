"""Text primitives shared by validation, linking and the site: folding and compact keys.

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

import re
import unicodedata

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
_DASH_SPACE = str.maketrans({**{c: "-" for c in DASHES}, **{c: " " for c in SPACES}})


def fold(text: str) -> str:
    """Case-, diacritic-, dash-, space- and apostrophe-folded copy of ``text``, same length."""
    return text.translate(_FOLD)


def fold_separators(text: str) -> str:
    """Only dashes and spaces folded."""
    return text.translate(_DASH_SPACE)


def is_dropped(char: str) -> bool:
    """Whether a folded character is left out of compact text: a separator or a mark."""
    return char in " -'" or char in INVISIBLE or unicodedata.combining(char) > 0


class _DropTable(dict):
    def __missing__(self, code: int) -> str | None:
        value = None if is_dropped(chr(code)) else chr(code)
        self[code] = value
        return value


_DROP = _DropTable()
_DROPPED_RUN = re.compile(r"[ \-'\u00ad\u200b-\u200d\u2060\ufeff\u0300-\u036f\u0483-\u0489]+")


def compact(text: str) -> str:
    """Folded, without separators or marks: the key under which two spellings are one name."""
    return fold(text).translate(_DROP)


def letters(text: str) -> str:
    """The characters of ``text`` that compact keeps, unfolded (their case intact)."""
    folded = fold(text)
    return "".join(ch for ch, f in zip(text, folded, strict=True) if not is_dropped(f))


class CompactText:
    """A folded text without separators and marks, with a map back to original offsets."""

    def __init__(self, folded: str):
        self.folded = folded
        self.compact = folded.translate(_DROP)
        self._kept: list[int] | None = None

    def original(self, position: int) -> int:
        """Offset in the original text of compact character ``position``."""
        if self._kept is None:
            self._kept = self._kept_offsets()
        return self._kept[position]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of the compact span start:end."""
        return self.original(start), self.original(end - 1) + 1

    def _kept_offsets(self) -> list[int]:
        """Original offset of each compact character, built from the dropped runs (one
        regular-expression pass; the work is per word, not per character)."""
        kept, last = [], 0
        for run in _DROPPED_RUN.finditer(self.folded):
            kept.extend(range(last, run.start()))
            last = run.end()
        kept.extend(range(last, len(self.folded)))
        if len(kept) != len(self.compact):  # a mark outside the run pattern: the slow way
            kept = [i for i, ch in enumerate(self.folded) if not is_dropped(ch)]
        return kept
