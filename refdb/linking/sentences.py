"""Sentences of an article: where a mention's sentence starts and ends.

syntok segments; two fixes for French and military text follow it. Segmenting is the costly
part of linking, so only the text around a mention is segmented: a paragraph is first cut where
syntok is certain to end a sentence, and a piece of it with no other terminal punctuation is
one sentence without asking syntok at all.
"""

from __future__ import annotations

import bisect
import re

import regex
import syntok.segmenter as syntok
from syntok._segmentation_states import State

from refdb.text import paragraphs

# Abbreviations after which a full stop does not end a sentence (French and military text,
# and ranks and "about" in the other languages of the catalog; none ends a sentence).
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
    "ген",
    "адм",
    "лейт",
    "ок",
    "бл",
    "płk",
    "kpt",
    "im",  # imienia / имени: "im. Marszałka Szaposznikowa", "им. маршала Шапошникова"
    "им",
    "ім",
    "ul",  # ulica / улица / вулиця: street names carry a system's name (a ship's namesake)
    "ул",
    "вул",
    "godz",
    "aprox",
    "sig",
    "dott",
    "magg",
}
_LAST_WORD = re.compile(r"([\w°-]+)\.\s*$")


_CLOSERS = "»”’\"')]"

# A word of two letters or more (whole, or after a hyphen inside a word), ".", "!" or "?", a
# space, then a capital or an opening quote. syntok always ends a sentence there, as long as the
# word is none of its abbreviations or Roman numerals and every bracket opened before it is
# closed (see certain_ends). Spaces, letters and hyphens are syntok's tokenizer's own.
_CERTAIN_END = regex.compile(
    r"[.!?](?<=(?:(?<![^\s\u200b])|(?<=[\p{L}\p{Nd}][-\u2010\u2011]))"
    r"(?P<word>\p{Lu}\p{Ll}+|\p{Ll}{2,}|\p{Lu}{2,})[.!?])"
    r"(?=[\s\u200b]+(?P<next>[\p{Lu}«„“]))"
)
_NOT_AN_END = State.abbreviations | State.roman_numerals | {"no", "No", "NO"}
_BRACKET = regex.compile(
    "[" + regex.escape("".join(State.opening_brackets | State.closing_brackets)) + "]"
)
# Where syntok could end a sentence: a terminal or an opening bracket; and the zero-width
# space, a space to syntok but not to str.isspace, which a piece that skips syntok must not hold.
_MAY_END = regex.compile(
    "["
    + regex.escape("".join(t for t in State.terminals if len(t) == 1))
    + regex.escape("".join(State.opening_brackets))
    + r"\u200b]"
)
_TERMINALS = frozenset(t for t in State.terminals if len(t) == 1)


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
    the sentences near those spans are found (at least every sentence one of them touches):
    segmenting is the costly part of linking, and sentences are only needed where something
    is mentioned.
    """
    found: list[tuple[int, int]] = []
    for (start, end), spans in _paragraphs_touched(paragraphs(text), around):
        until = max(span_end for _, span_end in spans) if spans else None
        cuts = [start, *certain_ends(text, start, end, until), end]
        for index in _pieces_touched(cuts, spans):
            found.extend(_piece_sentences(text, cuts[index], cuts[index + 1]))
    return sorted(set(found))


def _paragraphs_touched(blocks: list[tuple[int, int]], around: list[tuple[int, int]] | None):
    """Each paragraph one of the spans ``around`` touches, with those spans (every paragraph,
    with None, when ``around`` is None); found by bisection, as articles may be long."""
    if around is None:
        return [(block, None) for block in blocks]
    starts = [start for start, _ in blocks]
    touched: dict[int, list[tuple[int, int]]] = {}
    for start, end in around:
        end = max(end, start + 1)
        first = max(0, bisect.bisect_right(starts, start) - 1)
        for index in range(first, bisect.bisect_left(starts, end)):
            if blocks[index][1] > start:
                touched.setdefault(index, []).append((start, end))
    return [(blocks[index], touched[index]) for index in sorted(touched)]


def _pieces_touched(cuts: list[int], spans: list[tuple[int, int]] | None) -> list[int]:
    """Indexes of the pieces between ``cuts`` that one of ``spans`` touches (all with None)."""
    if spans is None:
        return list(range(len(cuts) - 1))
    wanted = set()
    for start, end in spans:
        first = max(0, bisect.bisect_right(cuts, start) - 1)
        last = min(len(cuts) - 2, bisect.bisect_left(cuts, end) - 1)
        wanted.update(range(first, last + 1))
    return sorted(wanted)


def certain_ends(text: str, start: int, end: int, until: int | None = None) -> list[int]:
    """Where a sentence surely starts in the paragraph ``text[start:end]``: syntok ends one
    there, and neither fix joins it to the one before (no abbreviation, no closing quote).
    With ``until``, the first such place at or past it is the last one found: no sentence
    after it is wanted.

    syntok decides at a terminal from the word before it and the token after it, unless a
    bracket it skips over swallows the terminal; so a cut is taken only where every bracket
    opened earlier in the paragraph is closed. Segmenting between two such cuts gives the
    sentences segmenting the whole paragraph gives there.
    """
    cuts, depth = [], 0
    brackets = _BRACKET.finditer(text, start, end)
    bracket = next(brackets, None)
    for match in _CERTAIN_END.finditer(text, start, end):
        while bracket is not None and bracket.start() < match.start("word"):
            opens = bracket.group() in State.opening_brackets
            depth = depth + 1 if opens else max(0, depth - 1)
            bracket = next(brackets, None)
        word = match.group("word")
        if depth or word in _NOT_AN_END or word.lower() in ABBREVIATIONS:
            continue
        if _after_hyphen(text, match) and _abbreviated(text, start, match):
            continue  # "Rostov-na-Donu." is one word to syntok: its last part is not the word
        cuts.append(match.start("next"))
        if until is not None and cuts[-1] >= until:
            break
    return cuts


def _after_hyphen(text: str, match) -> bool:
    """Whether the word before the terminal follows a hyphen (the pattern's other case: a
    space or the paragraph's start, where the whole word before the full stop is ``word``)."""
    return text[match.start("word") - 1] in "-\u2010\u2011"


def _abbreviated(text: str, start: int, match) -> bool:
    """Whether the whole hyphenated word before a full stop is an abbreviation."""
    last = _LAST_WORD.search(text, max(start, match.start() - 32), match.end())
    return bool(last) and last.group(1).lower() in ABBREVIATIONS


def _piece_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences of ``text[start:end]``, a piece of a paragraph between certain ends.

    A piece whose only terminal ends it is one sentence and needs no segmenter; most
    sentences of news text are such pieces.
    """
    last = end
    while last > start and text[last - 1].isspace():
        last -= 1
    if last > start and text[last - 1] in _TERMINALS:
        last -= 1
    if not _MAY_END.search(text, start, last):
        return [_trim(text, start, end)]
    return segmented(text, start, end)


def segmented(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences syntok and the two fixes find in ``text[start:end]``, a whole paragraph
    or a piece of one, whatever is around it."""
    spans: list[list[int]] = []
    merge_next = False
    for first, last in _segments(text, start, end):
        if spans and _closes(text, first) and spans[-1][1] <= first:
            spans[-1][1] = first + 1
            first += 1
            while first < last and text[first].isspace():
                first += 1
            if first >= last:
                continue
        if merge_next and spans:
            spans[-1][1] = last
        else:
            spans.append([first, last])
        word = _LAST_WORD.search(text[spans[-1][0] : spans[-1][1]])
        merge_next = bool(word) and word.group(1).lower() in ABBREVIATIONS
    return [_trim(text, first, last) for first, last in spans]


def _closes(text: str, index: int) -> bool:
    """Whether a sentence syntok starts at ``index`` opens with a quote or bracket that closes
    the one before ("» Puis"), rather than one that opens its first word ('"We')."""
    return text[index] in _CLOSERS and not text[index + 1 : index + 2].isalnum()


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


# The longest sentence a mention keeps: a paragraph without a sentence end is one "sentence"
# to syntok, and each of its mentions would store all of it (storage square in its length).
MAX_SENTENCE_CHARS = 600


def bounded(text: str, sentence: tuple[int, int], start: int, end: int) -> tuple[int, int]:
    """The sentence around the mention ``start:end``, cut to ``MAX_SENTENCE_CHARS`` where
    syntok found no end: a window centred on the mention, cut at word boundaries."""
    first, last = sentence
    if last - first <= MAX_SENTENCE_CHARS:
        return sentence
    room = max(0, MAX_SENTENCE_CHARS - (end - start))
    low = max(first, start - room // 2)
    high = min(last, max(end, low + MAX_SENTENCE_CHARS))
    low = max(first, min(low, high - MAX_SENTENCE_CHARS, start))
    if low > first:  # begin at a word: after the first space of the window, if before the name
        space = text.find(" ", low, start)
        low = space + 1 if space != -1 else low
    if high < last:  # end at a word: at the last space of the window, if after the name
        space = text.rfind(" ", end, high)
        high = space if space != -1 else high
    return _trim(text, low, high)
