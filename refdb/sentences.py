"""Sentences of an article: where a mention's sentence starts and ends.

syntok segments; two fixes for French and military text follow it. Segmenting is the costly
part of linking, so only the paragraphs that hold a mention are segmented.
"""

from __future__ import annotations

import bisect
import re

import syntok.segmenter as syntok

from refdb.text import paragraphs

# Abbreviations after which a full stop does not end a sentence (French and military text).
ABBREVIATIONS = {
    "m",
    "mm",
    "mme",
    "mlle",
    "dr",
    "pr",
    "me",
    "mgr",
    "st",
    "ste",
    "gén",
    "gen",
    "col",
    "cdt",
    "cmdt",
    "lt",
    "cne",
    "capt",
    "adm",
    "amiral",
    "sgt",
    "maj",
    "vice-adm",
    "contre-adm",
    "lieut",
    "brig",
    "gov",
    "sen",
    "rep",
    "mr",
    "mrs",
    "ms",
    "prof",
    "jan",
    "janv",
    "fév",
    "févr",
    "feb",
    "mar",
    "apr",
    "avr",
    "jun",
    "jul",
    "juil",
    "aug",
    "sept",
    "sep",
    "oct",
    "nov",
    "déc",
    "dec",
    "env",
    "cf",
    "etc",
    "p",
    "pp",
    "vol",
    "no",
    "n°",
    "approx",
    "ca",
    "vs",
    "art",
    "fig",
    "inc",
    "ltd",
    "co",
    "corp",
}
_LAST_WORD = re.compile(r"([\w°-]+)\.\s*$")


_CLOSERS = "»”’\"')]"


def _segments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """syntok's sentences of ``text[start:end]`` as offsets into ``text`` (syntok keeps them)."""
    pieces = []
    for paragraph in syntok.analyze(text[start:end]):
        for sentence in paragraph:
            tokens = list(sentence)
            pieces.append(
                (start + tokens[0].offset, start + tokens[-1].offset + len(tokens[-1].value))
            )
    return pieces


def sentences(
    text: str, language: str = "en", around: list[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed.

    syntok finds the sentences; two fixes follow it: a full stop after an abbreviation of
    French or military text ("Gén.", "M.", "env.") does not end a sentence, and a closing
    quote after the full stop ("« Bonjour. »") stays with its sentence. With ``around``, only
    paragraphs holding one of those spans are segmented: segmenting is the costly part of
    linking, and sentences are only needed where something is mentioned.
    """
    spans: list[list[int]] = []
    wanted = sorted(start for start, _ in around) if around is not None else None
    for paragraph in paragraphs(text):
        if wanted is not None and not _any_within(wanted, *paragraph):
            continue
        merge_next = False
        for start, end in _segments(text, *paragraph):
            if spans and text[start] in _CLOSERS and spans[-1][1] <= start:
                spans[-1][1] = start + 1
                start += 1
                while start < end and text[start].isspace():
                    start += 1
                if start >= end:
                    continue
            if merge_next and spans:
                spans[-1][1] = end
            else:
                spans.append([start, end])
            last = _LAST_WORD.search(text[spans[-1][0] : spans[-1][1]])
            merge_next = bool(last) and last.group(1).lower() in ABBREVIATIONS
    return [_trim(text, start, end) for start, end in spans]


def _any_within(sorted_starts: list[int], start: int, end: int) -> bool:
    index = bisect.bisect_left(sorted_starts, start)
    return index < len(sorted_starts) and sorted_starts[index] < end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_of(bounds: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The sentence holding start:end (bounds sorted, disjoint), or the range of sentences a
    span runs across; found by bisection so an article's cost stays linear in its mentions."""
    first = max(0, bisect.bisect_right(bounds, (start, float("inf"))) - 1)
    if bounds[first][0] <= start and end <= bounds[first][1]:
        return bounds[first]
    last = max(first, bisect.bisect_left(bounds, (end, -1)) - 1)
    return min(bounds[first][0], start), max(bounds[last][1], end)
