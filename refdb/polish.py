"""How the Polish press declines a name written in Latin letters, as data.

pymorphy3 declines Russian and Ukrainian names; no maintained Polish generator fits a build
(the dictionaries are large and not on PyPI as plain wheels), and what the press does to a
weapon's name is small and regular: the adjectives of a nickname agree with its noun
("Białe Łabędzie", "Białym Łabędziem"), and a designation whose letters end in a consonant
takes its ending on the letters ("MiG-a-31", "Iskandera-M"). The endings are those of the
grammar tables below; matching folds case and accents, so a soft stem's "ź" before "ia" is
matched by its spelling "zi" ("Łabędź" + "ia" reads as "Łabędzia").

Source: F. Y. Gladney, *Elementary Polish*, paradigms of adjective and noun endings,
University of Illinois (faculty.las.illinois.edu/gladney/Elementary_Polish/Paradigms.html):
after k, g or a soft consonant an adjective ending takes -i- ("polskiego").
"""

from __future__ import annotations

import re

# Each case and number of a masculine noun phrase (nominative singular left out: it is the
# name as written): the adjective's ending, and the endings its noun may take with it
# (hard and soft stems; animate and inanimate).
PHRASE_CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ego", ("a", "u", "ia", "iu")),  # genitive; accusative of an animate noun
    ("emu", ("owi", "iowi", "u")),  # dative
    ("ym", ("em", "iem")),  # instrumental
    ("ym", ("e", "ie", "ze", "u", "iu")),  # locative
    ("e", ("y", "i", "ie", "e")),  # nominative and accusative plural (not of persons)
    ("ych", ("ów", "iów", "y", "i")),  # genitive plural
    ("ym", ("om", "iom")),  # dative plural
    ("ymi", ("ami", "iami")),  # instrumental plural
    ("ych", ("ach", "iach")),  # locative plural
)
# An adjective ending in -i (after k, g or a soft consonant) writes each ending with -i-.
SOFT_ADJECTIVE = {"y": "i", "ego": "iego", "emu": "iemu", "ym": "im", "e": "ie", "ych": "ich",
                  "ymi": "imi"}  # fmt: skip
# The endings a masculine noun takes, singular and plural, for letters that end a designation.
NOUN_ENDINGS = ("a", "u", "owi", "em", "iem", "e", "ie", "ze", "y", "i", "ów", "om", "ami", "ach")

# A rank before a surname, in the cases the press writes it ("na pokładzie Marszałka
# Szaposznikowa"), and the ending a Russian surname in -ow/-ew/-in takes in each of them.
RANKS: dict[str, tuple[str, ...]] = {
    "Marszałek": ("Marszałka", "Marszałkowi", "Marszałkiem", "Marszałku"),
    "Admirał": ("Admirała", "Admirałowi", "Admirałem", "Admirale"),
}
SURNAME_ENDINGS = ("a", "owi", "em", "ie")  # genitive, dative, instrumental, locative

_VOWELS = set("aeiouyąęóAEIOUYĄĘÓ")
_INSIDE = re.compile(r"^([A-Za-zÀ-ž]+)([\-\u2010\u2011 ])(\w.*)$")


def declined_phrase(text: str) -> list[str]:
    """Every case of a Polish adjective-and-noun name, in agreement ("Biały Łabędź" ->
    "Białego Łabędzia", "Białe Łabędzie"...); [] for any other shape of name."""
    words = text.split(" ")
    *adjectives, noun = words
    if not adjectives or noun[-1:] in _VOWELS or not noun[-1:].isalpha():
        return []
    if not all(word[-1:] in ("y", "i") and len(word) > 2 for word in adjectives):
        return []
    found = []
    for adjective_ending, noun_endings in PHRASE_CASES:
        declined = [_adjective(word, adjective_ending) for word in adjectives]
        for ending in noun_endings:
            found.append(" ".join([*declined, noun + ending]))
    return found


def declined_title(text: str) -> list[str]:
    """A Polish rank and surname in each case, both declined ("Marszałek Szaposznikow" ->
    "Marszałka Szaposznikowa"); [] when the name is not a rank and a surname in -ow, -ew
    or -in."""
    rank, _, surname = text.partition(" ")
    if rank not in RANKS or " " in surname or not surname.endswith(("ow", "ew", "in")):
        return []
    return [
        f"{declined} {surname}{ending}"
        for declined, ending in zip(RANKS[rank], SURNAME_ENDINGS, strict=True)
    ]


def _adjective(word: str, ending: str) -> str:
    if word.endswith("i"):
        return word[:-1] + SOFT_ADJECTIVE[ending]
    return word[:-1] + ending


def inside_designation(text: str) -> list[str]:
    """A designation with the ending on its letters, as the Polish press writes it: after a
    hyphen when the letters are an abbreviation ("MiG-a-31K"), joined to a word
    ("Iskandera-M"); [] when the letters end in a vowel or nothing follows them."""
    match = _INSIDE.match(text)
    if not match:
        return []
    letters, separator, rest = match.groups()
    follows = rest[0].isdigit() or (separator != " " and rest[0].isupper())
    if len(letters) < 2 or letters[-1] in _VOWELS or not follows:
        return []
    abbreviation = letters.isupper() or any(ch.isupper() for ch in letters[1:])
    joined = (letters + "-{}" if abbreviation else letters + "{}") + separator + rest
    return [joined.format(ending) for ending in NOUN_ENDINGS]
