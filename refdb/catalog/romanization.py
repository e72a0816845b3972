"""How the press of each language writes a Russian name in Latin letters, as data.

Each scheme is the table a newsroom of that language follows, named beside it. English uses
iuliia's published schemas (Wikipedia's and BGN/PCGN's); the others are the national
transcription tables, written out here because no maintained library implements them. A
letter may have several spellings in use (the first is the table's own); context rules cover
the cases the tables single out (``е`` at the start of a word, ``й`` after a vowel, ``с``
between vowels, the Polish hard and soft ``л``).
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field

import iuliia

VOWELS = set("аеёиоуыэюяіїєАЕЁИОУЫЭЮЯІЇЄ")
SOFTENING = set("еёиюяьіїєЕЁИЮЯЬІЇЄ")  # letters after which Polish writes a soft l
_CYRILLIC = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ")


@dataclass(frozen=True)
class Scheme:
    """One language's transcription table: letters, context rules and where it comes from."""

    language: str
    source: str
    letters: dict[str, tuple[str, ...]]
    initial: dict[str, tuple[str, ...]] = field(default_factory=dict)  # at a word's start
    after_vowel: dict[str, tuple[str, ...]] = field(default_factory=dict)
    between_vowels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    before_soft: dict[str, tuple[str, ...]] = field(default_factory=dict)
    after_hushing: dict[str, tuple[str, ...]] = field(default_factory=dict)  # after ж ш ц


def _table(**letters: str) -> dict[str, tuple[str, ...]]:
    """``и="i|y"`` -> ``{"и": ("i", "y")}``: alternatives separated by a bar."""
    return {letter: tuple(value.split("|")) for letter, value in letters.items()}


# fmt: off
_COMMON = dict(а="a", б="b", д="d", к="k", л="l", м="m", н="n", о="o", п="p", р="r", т="t", ф="f")

SCHEMES: dict[str, Scheme] = {
    "fr": Scheme(
        "fr",
        "Transcription du russe en français (usage de la presse et de la BnF; tableau de "
        "fr.wikipedia.org/wiki/Transcription_du_russe_en_français)",
        _table(
            **_COMMON, в="v", г="g", е="e", ё="io|e", ж="j", з="z", и="i", й="ï|i", х="kh",
            ц="ts", ч="tch", ш="ch", щ="chtch", ъ="", ы="y", ь="", э="e", ю="iou", я="ia",
            у="ou", с="s", і="i", ї="ï", є="ie",
        ),
        initial=_table(е="ie|e"),
        after_vowel=_table(е="ie", й="ï", и="ï"),
        between_vowels=_table(с="ss"),
    ),
    "de": Scheme(
        "de",
        "Duden-Transkription des Russischen (Duden, Die deutsche Rechtschreibung; Tabelle in "
        "de.wikipedia.org/wiki/Deutsche_Transkription_des_Russischen)",
        _table(
            **_COMMON, в="w", г="g", е="e", ё="jo", ж="sch", з="s", и="i", й="i|j", х="ch",
            ц="z", ч="tsch", ш="sch", щ="schtsch", ъ="", ы="y", ь="", э="e", ю="ju", я="ja",
            у="u", с="s", і="i", ї="ji", є="je",
        ),
        initial=_table(е="je|e"),
        after_vowel=_table(е="je"),
        between_vowels=_table(с="ss"),
    ),
    "pl": Scheme(
        "pl",
        "Transkrypcja rosyjska według zasad PWN (Wielki słownik ortograficzny PWN, "
        "Transkrypcja i transliteracja alfabetu rosyjskiego)",
        _table(
            **{**_COMMON, "л": "ł"}, в="w", г="g", е="ie|e", ё="io", ж="ż", з="z", и="i",
            й="j", х="ch", ц="c", ч="cz", ш="sz", щ="szcz", ъ="", ы="y", ь="", э="e",
            ю="iu", я="ia", у="u", с="s", і="i", ї="ji", є="je",
        ),
        initial=_table(е="je", ё="jo", ю="ju", я="ja"),
        after_vowel=_table(е="je", ё="jo", ю="ju", я="ja"),
        before_soft=_table(л="l"),
        after_hushing=_table(и="y", е="e"),
    ),
    "cs": Scheme(
        "cs",
        "Česká transkripce ruštiny (Ústav pro jazyk český AV ČR, Internetová jazyková "
        "příručka: Přepis z ruštiny)",
        _table(
            **_COMMON, в="v", г="g", е="e", ё="jo", ж="ž", з="z", и="i", й="j", х="ch",
            ц="c", ч="č", ш="š", щ="šč", ъ="", ы="y", ь="", э="e", ю="ju", я="ja", у="u",
            с="s", і="i", ї="ji", є="je",
        ),
        initial=_table(е="je"),
        after_vowel=_table(е="je"),
    ),
    "es": Scheme(
        "es",
        "Transcripción del ruso al español (Fundéu RAE y Ortografía de la lengua española, "
        "2010; tabla en es.wikipedia.org/wiki/Transcripción_del_ruso_al_español)",
        _table(
            **_COMMON, в="v", г="g", е="e", ё="io|yo", ж="zh|sh|y", з="z", и="i", й="i|y",
            х="j|kh", ц="ts", ч="ch", ш="sh", щ="sch|shch", ъ="", ы="y", ь="", э="e",
            ю="iu|yu", я="ia|ya", у="u", с="s", і="i", ї="yi", є="ye",
        ),
        initial=_table(е="ye|e"),
    ),
    "it": Scheme(
        "it",
        "Traslitterazione scientifica del russo, usata dalla stampa e dalle enciclopedie "
        "italiane (Treccani), con le grafie inglesi correnti",
        _table(
            **_COMMON, в="v", г="g", е="e", ё="ë|io", ж="ž|zh", з="z", и="i", й="j|y", х="ch|kh",
            ц="c|ts", ч="č|ch", ш="š|sh", щ="šč|shch", ъ="", ы="y", ь="", э="è|e", ю="ju|yu",
            я="ja|ya", у="u", с="s", і="i", ї="ji", є="je",
        ),
    ),
}

# fmt: on

# The English press follows Wikipedia's romanization (BGN/PCGN based), and writes names it
# has not seen in Wikipedia as passports (ICAO Doc 9303: "Belyi") or maps ("Beliy") do;
# every one a published table that iuliia implements.
ENGLISH = {
    "en": iuliia.WIKIPEDIA,
    "en-bgn": iuliia.BGN_PCGN,
    "en-icao": iuliia.ICAO_DOC_9303,
    "en-yandex": iuliia.YANDEX_MAPS,
}

# Letters of Ukrainian that the Russian tables lack, spelled as the English press spells them.
_UKRAINIAN_LETTERS = str.maketrans({"і": "i", "І": "I", "ї": "yi", "Ї": "Yi", "є": "ye", "Є": "Ye"})

MAX_SPELLINGS_PER_WORD = 4  # alternatives multiply; the table's own spelling always comes first


# The letters above and their capitals: the characters whose lower case is one of them.
_CYRILLIC_LETTER = re.compile(f"[{''.join(sorted(_CYRILLIC | {c.upper() for c in _CYRILLIC}))}]")


def is_cyrillic(text: str) -> bool:
    """Whether ``text`` holds a Russian or Ukrainian letter (one search: asked of every name
    and form of every entry)."""
    return not text.isascii() and _CYRILLIC_LETTER.search(text) is not None


def romanize(text: str, scheme: str) -> list[str]:
    """The spellings of a Cyrillic ``text`` under ``scheme`` (en, en-bgn, fr, de, pl, cs, es,
    it), the table's own first; other characters (digits, dashes, Latin) are kept."""
    return list(_romanized(text, scheme))


@functools.cache
def _romanized(text: str, scheme: str) -> tuple[str, ...]:
    """Remembered: every system's forms are asked for by the linker and by the rows."""
    if scheme in ENGLISH:
        return (ENGLISH[scheme].translate(text.translate(_UKRAINIAN_LETTERS)),)
    table = SCHEMES[scheme]
    words = [_word(word, table) for word in text.split(" ")]
    return tuple(" ".join(parts) for parts in itertools.islice(itertools.product(*words), 8))


def _word(word: str, scheme: Scheme) -> list[str]:
    choices = [_letter(word, i, scheme) for i in range(len(word))]
    spellings = []
    for combination in itertools.islice(itertools.product(*choices), MAX_SPELLINGS_PER_WORD):
        spellings.append("".join(combination))
    return spellings


def _letter(word: str, i: int, scheme: Scheme) -> tuple[str, ...]:
    char = word[i]
    lower = char.lower()
    if lower not in scheme.letters:
        return (char,)
    previous = word[i - 1] if i else ""
    following = word[i + 1] if i + 1 < len(word) else ""
    options = scheme.letters[lower]
    if not previous or not previous.isalpha():
        options = scheme.initial.get(lower, options)
    elif previous in VOWELS:
        options = scheme.between_vowels.get(lower, options) if following in VOWELS else options
        options = scheme.after_vowel.get(lower, options)
    if previous and previous.lower() in "жшц":
        options = scheme.after_hushing.get(lower, options)
    if following in SOFTENING:
        options = scheme.before_soft.get(lower, options)
    return tuple(_case_like(char, option, following) for option in options)


def _case_like(char: str, spelling: str, following: str) -> str:
    """A spelling in the case of the letter it stands for (all capitals inside a capitalised
    abbreviation: "Ш" in "ШХ" is "SH", in "Шапошников" "Sh")."""
    if not char.isupper() or not spelling:
        return spelling
    if following.isupper():
        return spelling.upper()
    return spelling[0].upper() + spelling[1:]
