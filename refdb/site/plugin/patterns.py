"""LIKE and GLOB in time linear in the value, for the values where SQLite's own take long.

SQLite compares a pattern at every position of the value: a 100-character pattern after a
``%`` over a value of a million characters is 10^8 comparisons in one step of its machine,
where no time limit can interrupt it. A pattern is a run of segments between ``%`` (``*``
in GLOB), each of a fixed length; the first is matched at the start, the last at the end,
and each one between at its leftmost place after the one before, which is the only place
that can leave room for the rest. A segment of plain letters is found by ``str.find``
(linear); only a segment with ``_``/``?`` or a character class is a regular-expression
search, whose cost the caller bounds.

Semantics are SQLite's (without ICU): LIKE ignores the case of ASCII letters only and takes
an optional one-character escape; GLOB is case-sensitive with ``?``, ``*`` and ``[...]``
classes (``^`` negates, ``a-z`` ranges, a ``]`` first is literal). The tests compare every
answer with SQLite's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class PatternTooCostly(ValueError):
    """A segment with wildcards would be searched at too many positions."""


@dataclass(frozen=True)
class Segment:
    """A fixed-length run of a pattern: its regular expression, or its letters when it has
    no wildcard (then ``str.find`` finds it)."""

    regex: str
    literal: str | None
    length: int


def like(pattern: str, value: str, escape: str | None = None, budget: float = float("inf")):
    """``value LIKE pattern [ESCAPE escape]``."""
    segments = _like_segments(pattern, escape)
    return segments is not None and _match(segments, value.translate(_ASCII_LOWER), budget)


def glob(pattern: str, value: str, budget: float = float("inf")) -> bool:
    """``value GLOB pattern``."""
    segments = _glob_segments(pattern)
    return segments is not None and _match(segments, value, budget)


Atom = tuple[str, str]  # ("literal", char) | ("any", "") | ("class", regex) | ("star", "")


def _like_segments(pattern: str, escape: str | None) -> list[Segment] | None:
    atoms: list[Atom] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if escape is not None and char == escape:
            index += 1
            if index == len(pattern):
                return None  # a trailing escape matches nothing, as in SQLite
            atoms.append(("literal", pattern[index].translate(_ASCII_LOWER)))
        elif char == "%":
            atoms.append(("star", ""))
        elif char == "_":
            atoms.append(("any", ""))
        else:
            atoms.append(("literal", char.translate(_ASCII_LOWER)))
        index += 1
    return _segments(atoms)


def _glob_segments(pattern: str) -> list[Segment] | None:
    atoms: list[Atom] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            atoms.append(("star", ""))
        elif char == "?":
            atoms.append(("any", ""))
        elif char == "[":
            found = _glob_class(pattern, index)
            if found is None:
                return None  # an unclosed class matches nothing, as in SQLite
            regex, index = found
            atoms.append(("class", regex))
            continue
        else:
            atoms.append(("literal", char))
        index += 1
    return _segments(atoms)


def _glob_class(pattern: str, start: int) -> tuple[str, int] | None:
    """``[...]`` at ``start`` as a regular-expression class, and the index after it: each
    character stands for itself, and ``x-y`` (not first, not last) adds the range x..y as
    SQLite reads it (a reversed range adds nothing)."""
    index, negate = start + 1, False
    if index < len(pattern) and pattern[index] == "^":
        negate, index = True, index + 1
    parts, prior, first = [], "", True
    while index < len(pattern) and (pattern[index] != "]" or first):
        char = pattern[index]
        following = pattern[index + 1] if index + 1 < len(pattern) else ""
        if char == "-" and prior and following not in ("", "]"):
            if prior <= following:
                parts.append(f"{re.escape(prior)}-{re.escape(following)}")
            prior, index = "", index + 2
        else:
            parts.append(re.escape(char))
            prior, index = char, index + 1
        first = False
    if index >= len(pattern):
        return None
    if not parts:
        return ("[^\\s\\S]" if not negate else "[\\s\\S]"), index + 1
    return f"[{'^' if negate else ''}{''.join(parts)}]", index + 1


def _segments(atoms: list[Atom]) -> list[Segment]:
    """The pattern's fixed-length runs between stars: one more than there are stars."""
    segments, current = [], []
    for kind, value in atoms:
        if kind == "star":
            segments.append(_segment(current))
            current = []
        else:
            current.append((kind, value))
    segments.append(_segment(current))
    return segments


def _segment(atoms: list[Atom]) -> Segment:
    if all(kind == "literal" for kind, _ in atoms):
        text = "".join(value for _, value in atoms)
        return Segment(re.escape(text), text, len(text))
    parts = [
        re.escape(value) if kind == "literal" else value if kind == "class" else "."
        for kind, value in atoms
    ]
    return Segment("".join(parts), None, len(atoms))


def _match(segments: list[Segment], value: str, budget: float) -> bool:
    if len(segments) == 1:  # no star: the whole value, exactly
        return segments[0].length == len(value) and _at(segments[0], value, 0)
    first, *middle, last = segments
    if not _at(first, value, 0):
        return False
    position = first.length
    for segment in middle:
        found = _find(segment, value, position, budget)
        if found < 0:
            return False
        position = found + segment.length
    end = len(value) - last.length
    return end >= position and _at(last, value, end)


def _at(segment: Segment, value: str, position: int) -> bool:
    if segment.literal is not None:
        return value.startswith(segment.literal, position)
    return re.compile(segment.regex, re.DOTALL).match(value, position) is not None


def _find(segment: Segment, value: str, position: int, budget: float) -> int:
    if segment.literal is not None:
        return value.find(segment.literal, position)
    if (len(value) - position) * segment.length > budget:
        raise PatternTooCostly(
            f"a segment of {segment.length} characters with wildcards, searched over "
            f"{len(value) - position:,} characters"
        )
    found = re.compile(segment.regex, re.DOTALL).search(value, position)
    return found.start() if found else -1
