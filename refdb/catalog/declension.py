"""How the press declines a name no dictionary knows, as data.

pymorphy3 declines Russian and Ukrainian words; what it cannot know is what the press does to
a weapon's name: a designation whose letters end in a consonant takes its ending on the
letters ("МиГа-31", "Искандера-М"; in Polish "MiG-a-31", "Iskandera-M"). And no maintained
Polish generator fits a build (the dictionaries are large and not on PyPI as plain wheels),
while what the Polish press does to a name in Latin letters is small and regular: the
adjectives of a nickname agree with its noun ("Białe Łabędzie", "Białym Łabędziem"), a rank
is declined with its surname ("Marszałka Szaposznikowa"). The endings are those of the
grammar tables below; matching folds case and accents, so a soft stem's "ź" before "ia" is
matched by its spelling "zi" ("Łabędź" + "ia" reads as "Łabędzia").

Source: F. Y. Gladney, *Elementary Polish*, paradigms of adjective and noun endings,
University of Illinois (faculty.las.illinois.edu/gladney/Elementary_Polish/Paradigms.html):
after k, g or a soft consonant an adjective ending takes -i- ("polskiego").
"""

from __future__ import annotations

import re

from refdb.catalog import romanization

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
# The endings the press puts on the letters of a designation ("MiG-a-31", "Iskanderem-M"):
# a masculine noun's genitive, dative, instrumental and locative, and the plural's genitive,
# instrumental and locative (the nominative and accusative are the designation as written).
NOUN_ENDINGS = ("a", "u", "owi", "em", "iem", "ze", "i", "ów", "ami", "ach")
# The same in Russian and Ukrainian press ("МиГа-31", "Искандера-М", "МіГа-31К").
CYRILLIC_NOUN_ENDINGS = ("а", "у", "ом", "е", "і", "ов", "ів", "ами", "ах")

# A rank before a surname, in the cases the press writes it ("na pokładzie Marszałka
# Szaposznikowa"), and the ending a Russian surname in -ow/-ew/-in takes in each of them.
RANKS: dict[str, tuple[str, ...]] = {
    "Marszałek": ("Marszałka", "Marszałkowi", "Marszałkiem", "Marszałku"),
    "Admirał": ("Admirała", "Admirałowi", "Admirałem", "Admirale"),
}
SURNAME_ENDINGS = ("a", "owi", "em", "ie")  # genitive, dative, instrumental, locative

_VOWELS = set("aeiouyąęóAEIOUYĄĘÓ")
_INSIDE = re.compile(r"^([A-Za-zÀ-žА-Яа-яЁёІіЇїЄєҐґ]+)([\-\u2010\u2011 ])(\w.*)$")
# A Cyrillic word that ends in one of these takes no consonant ending: the vowels, the soft
# sign and й.
CYRILLIC_VOWEL_OR_SOFT = romanization.VOWELS | set("ьйЬЙ")


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
    ("Iskandera-M"); joined, in Russian and Ukrainian ("МиГа-31"); [] when the letters end
    in a vowel or nothing follows them."""
    match = _INSIDE.match(text)
    if not match:
        return []
    letters, separator, rest = match.groups()
    cyrillic = letters[-1] >= "\u0400"
    vowels = CYRILLIC_VOWEL_OR_SOFT if cyrillic else _VOWELS
    abbreviation = any(ch.isupper() for ch in letters[1:])  # "MiG", not "Iskander"
    if separator == " ":  # "MiG 31", not "System 5": spaced, only an abbreviation and a number
        follows = rest[0].isdigit() and abbreviation
    else:
        follows = rest[0].isdigit() or rest[0].isupper()
    # Only letters read as a word take an ending ("MiG", "Iskander"); letters spelled out one
    # by one ("KN", "BPK") and letters without a vowel ("Kh") stay as written.
    spoken = not letters.isupper() and any(ch in vowels for ch in letters)
    if len(letters) < 2 or letters[-1] in vowels or not follows or not spoken:
        return []
    if cyrillic:  # Russian and Ukrainian join the ending to the letters: "МиГа-31"
        joined = letters + "{}" + separator + rest
        return [joined.format(ending) for ending in CYRILLIC_NOUN_ENDINGS]
    joined = (letters + "-{}" if abbreviation else letters + "{}") + separator + rest
    return [joined.format(ending) for ending in NOUN_ENDINGS]


# German declines a nickname of an adjective and a noun word by word: the adjective takes one
# of five endings in every case, number and declension (strong, weak, mixed; Duden, *Die
# Grammatik*, adjective declension), the noun its own case forms, which only a dictionary
# gives: they are kept here for the nouns of the catalog's German names. Source: Duden,
# *Deutsches Universalwörterbuch*, "Schwan, der; -[e]s, Schwäne" (read at
# universal_lexikon.de-academic.com/57757/Schwan); dative singular in -e and dative plural
# in -n as its noun tables give them.
GERMAN_ADJECTIVE_ENDINGS = ("e", "em", "en", "er", "es")
GERMAN_NOUN_FORMS: dict[str, tuple[str, ...]] = {
    "Schwan": ("Schwan", "Schwans", "Schwanes", "Schwane", "Schwäne", "Schwänen"),
}


def german_phrase(text: str) -> list[str]:
    """An adjective and a noun in every case and number German puts them in together
    ("Weißer Schwan" -> "Weißen Schwäne", "Weißem Schwan"...), for a noun the table knows."""
    words = text.split(" ")
    nouns = GERMAN_NOUN_FORMS.get(words[-1]) if len(words) == 2 else None
    if nouns is None or not words[0].isalpha():
        return []
    stem = _german_stem(words[0])
    declined = (f"{stem}{ending} {noun}" for ending in GERMAN_ADJECTIVE_ENDINGS for noun in nouns)
    return [phrase for phrase in declined if phrase != text]


def _german_stem(adjective: str) -> str:
    """The adjective without the ending it is written with ("Weißer" -> "Weiß")."""
    for ending in sorted(GERMAN_ADJECTIVE_ENDINGS, key=len, reverse=True):
        if adjective.endswith(ending) and len(adjective) > len(ending) + 2:
            return adjective[: -len(ending)]
    return adjective


def romance_plural(text: str, language: str) -> str | None:
    """The plural of a French, Spanish or Italian name of several words, every word in
    agreement ("Cygne blanc" -> "Cygnes blancs", "Cisne blanco" -> "Cisnes blancos",
    "Cigno bianco" -> "Cigni bianchi"); a name of one word takes its plural at match time."""
    words = text.split(" ")
    plural = _PLURALS.get(language)
    if plural is None or len(words) < 2 or not all(word.isalpha() for word in words):
        return None
    return " ".join(plural(word) for word in words)


def _french(word: str) -> str:
    return word if word[-1] in "sxzSXZ" else word + "s"


def _spanish(word: str) -> str:
    if word[-1].lower() in "aeiouáéó":
        return word + "s"
    return word[:-1] + "ces" if word[-1] == "z" else word + "es"


def _italian(word: str) -> str:
    stem, last = word[:-1], word[-1:]
    if last == "o" or last == "e":
        return stem + ("hi" if stem[-1:] in "cg" and last == "o" else "i")
    if last == "a":
        return stem + ("he" if stem[-1:] in "cg" else "e")
    return word  # a word ending in a consonant or an accent does not change


_PLURALS = {"fr": _french, "es": _spanish, "it": _italian}
