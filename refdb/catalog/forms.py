"""Every spelling under which the press writes a system's names, each with the rule that made it.

A curator writes a system's names once (name, designations, NATO name, aliases). Articles
write them in other ways: in another case ("Калибром", "Маршала Шапошникова"), in Ukrainian
("Калібр", "МіГ-31"), romanized by the rules of another language ("Tou-160", "Kinschal",
"Szaposznikow"), with a rank word translated ("Almirante Shaposhnikov"), or with the design
bureau spelled out ("Tupolev-160"). This module derives those *forms* from the catalog's
names. Every form keeps the name it comes from (so it inherits case sensitivity and context
words) and says how it was made, so a mention can explain itself and a curator can veto a
form that misleads (``vetoed_forms`` in the entry).

What a rule cannot know stays with the linker at match time: English plurals and
possessives, Latin-script Slavic endings, hyphenated endings of Cyrillic designations,
variant letters after a designation, spacing and capitals.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass
from functools import cache

from refdb.catalog import categories, declension, romanization
from refdb.catalog.names import Name, listed_names, spelling_key, with_capitals
from refdb.catalog.schema import SystemEntry
from refdb.text import compact, fold

# A word the press translates inside a name, by language (ship names after a rank; "project"
# before a Soviet project number). Source: each language's ordinary dictionary word.
TRANSLATED_WORDS: tuple[dict[str, str], ...] = (
    {
        "en": "Admiral", "fr": "Amiral", "de": "Admiral", "es": "Almirante",
        "it": "Ammiraglio", "pl": "Admirał", "cs": "Admirál", "ru": "Адмирал", "uk": "Адмірал",
    },
    {
        "en": "Marshal", "fr": "Maréchal", "de": "Marschall", "es": "Mariscal",
        "it": "Maresciallo", "pl": "Marszałek", "cs": "Maršál", "ru": "Маршал", "uk": "Маршал",
    },
    {
        "en": "Project", "fr": "projet", "de": "Projekt", "es": "proyecto", "it": "progetto",
        "pl": "projekt", "cs": "projekt", "ru": "проект", "uk": "проєкт",
    },
)  # fmt: skip

# Russian spellings Ukrainian writes otherwise (Український правопис, 2019: the letters и/і,
# е/є, ё, э, ы and the apostrophe for ъ). Alternatives because the letter correspondence
# depends on the word's history; the press uses one of them, never a third.
UKRAINIAN_LETTERS: dict[str, tuple[str, ...]] = {
    "и": ("и", "і"),
    "ы": ("и",),
    "э": ("е",),
    "ё": ("ьо", "йо"),
    "ъ": ("'",),
}
UKRAINIAN_INITIAL: dict[str, tuple[str, ...]] = {"е": ("є", "е")}
# Words whose Ukrainian form is another word, not another spelling (Словник української мови).
UKRAINIAN_WORDS: dict[str, str] = {"кинжал": "кинджал"}

# A design bureau's prefix spelled out in full ("Tupolev-160" for Tu-160), in Russian: the
# romanization rules then give each language's spelling of the bureau.
DESIGNERS: dict[str, str] = {"ту": "Туполев"}

# Grammatical cases and numbers a Russian or Ukrainian name is declined in.
CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct", "voct")
NUMBERS = ("sing", "plur")
MAX_FORMS_PER_NAME = 400  # a bound whatever a curator writes


@dataclass(frozen=True, slots=True)
class Form:
    """A spelling looked for in articles, the name it comes from and the rule that made it."""

    text: str
    name: Name
    rule: str  # "catalog", "inflection:ru", "ukrainian", "romanization:fr", "translation:es"…
    lang: str | None = None  # the language whose press writes it so, when a rule says


def names_of(system: SystemEntry) -> list[Name]:
    """Every name of a system: canonical name, designations, NATO name, then curated aliases.

    One row per spelling (the first, most official kind wins); spellings that differ only in
    capitals stay apart when one of them is case-sensitive ("Club" beside "CLUB").
    """
    known = _remembered(system)
    if known.names is None:
        known.names = tuple(_names_of(system))
    return list(known.names)


def forms_of(system: SystemEntry) -> list[Form]:
    """Every form of every name of ``system``, the catalog's own spellings first."""
    known = _remembered(system)
    if known.forms is None:
        known.forms = tuple(_forms_of(system))
    return list(known.forms)


class _Remembered(weakref.ref):
    """An entry's names and forms, worked out once per entry object: validation, the rows
    and the linker each ask for them in one build. A validated entry is frozen, so what it
    gave still holds; forgotten when the entry is (one small object per entry: the cycle
    collector walks every one of them)."""

    __slots__ = ("key", "names", "forms")

    def __init__(self, system: SystemEntry, callback):
        super().__init__(system, callback)
        self.key, self.names, self.forms = id(system), None, None


_REMEMBERED: dict[int, _Remembered] = {}  # an entry object's id -> what it gave


def _remembered(system: SystemEntry) -> _Remembered:
    known = _REMEMBERED.get(id(system))
    if known is None or known() is not system:
        known = _REMEMBERED[id(system)] = _Remembered(system, _forget)
    return known


def _forget(known: _Remembered) -> None:
    if _REMEMBERED.get(known.key) is known:
        del _REMEMBERED[known.key]


def _names_of(system: SystemEntry) -> list[Name]:
    shared = tuple(system.not_context)
    aliases = [
        Name(
            system.id, a.text, a.kind, a.lang, a.case_sensitive, a.note,
            tuple(a.context) + (categories.class_words(system.category) if a.class_context else ()),
            tuple(a.not_context) + shared, tuple(a.used_in),
        )
        for a in system.aliases
    ]  # fmt: skip
    return listed_names(
        system.id, system.name, system.designations, system.nato_reporting_name, aliases, shared
    )


def _forms_of(system: SystemEntry) -> list[Form]:
    vetoed = {compact(text) for text in system.vetoed_forms}
    names = names_of(system)
    natives = _native_words(names)
    forms = [Form(name.text, name, "catalog", name.lang) for name in names]
    seen = {spelling_key(name.text, name.case_sensitive) for name in names}
    catalog = {compact(name.text) for name in names}
    for name in names:  # a catalog spelling, in any capitals, is never claimed by a rule's form
        for form in itertools.islice(_derived(name, natives), MAX_FORMS_PER_NAME):
            compacted = compact(form.text)
            key = with_capitals(compacted, form.text) if name.case_sensitive else compacted
            if key in seen or compacted in vetoed or compacted in catalog:
                continue
            seen.add(key)
            forms.append(form)
    for form in _near_spellings(forms):  # last: a slip never claims a spelling of its own
        compacted = compact(form.text)
        key = spelling_key(form.text, form.name.case_sensitive)
        if key not in seen and compacted not in seen and compacted not in vetoed:
            seen.add(key)
            forms.append(form)
    return forms


NEAR_SPELLING_MIN = 8  # letters a name needs before one slip of the keyboard is still it


def _near_spellings(forms: list[Form]):
    """Long names typed with one slip, a letter doubled or left out ("Marshall
    Shaposhnikov", "Blackjak", "Шаппошников"), as the press does: only for a catalog name
    (or its rank translated) without digits (a digit dropped is another aircraft: Tu-16);
    a case-sensitive name's slips keep its capitals. The linker ranks a slip below any
    other entry's spelling of the same letters."""
    for form in forms:
        if form.rule.split(":")[0] not in ("catalog", "translation"):
            continue
        key = compact(form.text)
        if len(key) < NEAR_SPELLING_MIN or not key.isalpha():
            continue
        for text in _one_slip(form.text):
            yield Form(text, form.name, "near-spelling", form.lang)


def _one_slip(text: str):
    """``text`` with one letter doubled, or one letter inside a word left out."""
    for i, char in enumerate(text):
        if not char.isalpha():
            continue
        if text[i + 1 : i + 2] != char:
            yield text[: i + 1] + char + text[i + 1 :]
        if 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
            yield text[:i] + text[i + 1 :]


def stale_vetoes(system: SystemEntry) -> list[int]:
    """Indexes of ``vetoed_forms`` that no rule generates (a veto that vetoes nothing)."""
    names = names_of(system)
    natives = _native_words(names)
    forms = [Form(name.text, name, "catalog", name.lang) for name in names]
    forms += [form for name in names for form in _derived(name, natives)]
    generated = {compact(form.text) for form in [*forms, *_near_spellings(forms)]}
    return [i for i, text in enumerate(system.vetoed_forms) if compact(text) not in generated]


def _derived(name: Name, natives: dict[str, str]):
    """What each rule derives from a name."""
    translated = list(_translations(name))
    yield from translated
    cyrillic = [f for f in [Form(name.text, name, "catalog", name.lang), *translated]
                if romanization.is_cyrillic(f.text)]  # fmt: skip
    if cyrillic:
        ukrainian = [u for f in cyrillic if f.lang != "uk" for u in _ukrainian(f)]
        yield from ukrainian
        declined = [d for f in cyrillic + ukrainian for d in _declined(f)]
        yield from declined
        for form in cyrillic + ukrainian:
            language = "uk" if form.lang == "uk" else "ru"
            for text in declension.inside_designation(form.text):
                yield Form(text, name, f"inflection-inside:{language}", language)
        yield from _romanized(cyrillic + ukrainian, declined)
        yield from _designers(cyrillic + ukrainian)
    else:
        if not any(ch.isdigit() for ch in name.text):
            for form in [Form(name.text, name, "catalog", name.lang), *translated]:
                for respelled in _respelled(form, natives):
                    yield respelled
                    if respelled.lang == "pl" and respelled.rule.startswith("translation:pl"):
                        yield from _polish_titles(respelled)
        yield from _declined_latin(name)


_TRANSLATIONS = {fold(word): row for row in TRANSLATED_WORDS for word in row.values()}


def _translations(name: Name):
    """The name with a translatable word (a rank, "project") in each other language."""
    words = name.text.split(" ")
    for index, word in enumerate(words):
        row = _TRANSLATIONS.get(fold(word))
        if row is None:
            continue
        cyrillic = romanization.is_cyrillic(word)
        for lang, other in row.items():
            if romanization.is_cyrillic(other) == cyrillic and fold(other) != fold(word):
                text = " ".join([*words[:index], other, *words[index + 1 :]])
                yield Form(text, name, f"translation:{lang}", lang)


def _declined_latin(name: Name):
    """A Latin name as the press declines it: a Polish or German nickname's adjective in
    agreement with its noun ("Białym Łabędziem", "Weißen Schwäne"); a designation's ending on
    its letters ("MiG-a-31"); and a French, Spanish or Italian name of several words in the
    plural ("Cisnes blancos")."""
    plural = declension.romance_plural(name.text, name.lang or "")
    if plural:
        yield Form(plural, name, f"plural:{name.lang}", name.lang)
    if name.lang == "pl":
        for text in declension.declined_phrase(name.text):
            yield Form(text, name, "inflection:pl", "pl")
    if name.lang == "de":
        for text in declension.german_phrase(name.text):
            yield Form(text, name, "inflection:de", "de")
    for text in declension.inside_designation(name.text):
        yield Form(text, name, "inflection-inside:pl", "pl")


def _polish_titles(form: Form):
    """A rank and surname in Polish, declined together ("Marszałka Szaposznikowa")."""
    for text in declension.declined_title(form.text):
        yield Form(text, form.name, f"{form.rule}+inflection:pl", "pl")


def _ukrainian(form: Form):
    """Ukrainian spellings of a Russian name (Калибр -> Калібр, МиГ -> МіГ, Кинжал -> Кинджал)."""
    choices = [_ukrainian_word(word) for word in form.text.split(" ")]
    for words in itertools.islice(itertools.product(*choices), 8):
        text = " ".join(words)
        if text != form.text:
            yield Form(text, form.name, "ukrainian", "uk")


def _ukrainian_word(word: str) -> list[str]:
    lexical = UKRAINIAN_WORDS.get(word.lower())
    if lexical:
        return [_case_like(word, lexical)]
    choices = []
    for i, char in enumerate(word):
        table = UKRAINIAN_INITIAL if i == 0 else UKRAINIAN_LETTERS
        options = table.get(char.lower()) or UKRAINIAN_LETTERS.get(char.lower()) or (char,)
        choices.append([o.upper() if char.isupper() else o for o in options])
    return ["".join(c) for c in itertools.islice(itertools.product(*choices), 4)]


def _declined(form: Form):
    """Every case and number of a Russian or Ukrainian name, word by word in agreement.

    Words with digits (designations) stay as written: the linker accepts their hyphenated
    endings ("Ту-160-х") at match time.
    """
    language = "uk" if form.lang == "uk" or form.name.lang == "uk" else "ru"
    for text in _declensions(form.text, language):
        yield Form(text, form.name, f"inflection:{language}", language)


@cache
def _declensions(text: str, language: str) -> tuple[str, ...]:
    """The declined spellings of ``text`` (remembered: the linker and the rows both ask for
    every system's forms, and the dictionary is the costly part)."""
    words = text.split(" ")
    tables = [_forms_by_case(word, language) for word in words]
    if not any(tables):
        return ()
    found = []
    for case, number in itertools.product(CASES, NUMBERS):
        declined = [
            _case_like(word, table[case, number]) if (case, number) in table else word
            for word, table in zip(words, tables, strict=True)
        ]
        declined_text = " ".join(declined)
        if declined_text != text and declined_text not in found:
            found.append(declined_text)
    return tuple(found)


def _forms_by_case(word: str, language: str) -> dict[tuple[str, str], str]:
    """(case, number) -> the word in it, from the dictionary's readings of the word as a
    noun or adjective in the nominative: the first reading that has a form gives it (the
    Ukrainian dictionary reads "Шахед" as a surname, singular only, and as a noun)."""
    table: dict[tuple[str, str], str] = {}
    for parse in _parses(word, language):
        for form in parse.lexeme:
            if form.tag.case in CASES:
                table.setdefault((form.tag.case, form.tag.number or "sing"), form.word)
    singular_only = table and not any(number == "plur" for _, number in table)
    final = word[-1:]
    if singular_only and final.isalpha() and final not in declension.CYRILLIC_VOWEL_OR_SOFT:
        table |= _plural_of_a_hard_noun(word.lower(), language)
    return table


# The plural endings of a masculine noun with a hard stem, for a name the dictionary reads
# only as a surname (singular only): "Іскандер" -> "Іскандери", "Іскандерами".
PLURAL_ENDINGS = {
    "ru": {"nomn": "ы", "gent": "ов", "datv": "ам", "accs": "ы", "ablt": "ами", "loct": "ах"},
    "uk": {"nomn": "и", "gent": "ів", "datv": "ам", "accs": "и", "ablt": "ами", "loct": "ах"},
}


def _plural_of_a_hard_noun(word: str, language: str) -> dict[tuple[str, str], str]:
    endings = dict(PLURAL_ENDINGS[language])
    if language == "ru" and word[-1] in "кгхжшчщ":  # spelling rule: и, never ы, after them
        endings["nomn"] = endings["accs"] = "и"
    return {(case, "plur"): word + ending for case, ending in endings.items()}


def _parses(word: str, language: str) -> list:
    """The dictionary readings of a word as a noun or adjective in the nominative."""
    if any(ch.isdigit() for ch in word) or not romanization.is_cyrillic(word):
        return []
    return [
        parse
        for parse in _analyzer(language).parse(word)
        if parse.tag.POS in ("NOUN", "ADJF") and "nomn" in parse.tag
    ]


@cache
def _analyzer(language: str):
    """pymorphy3 with its Russian or Ukrainian dictionary, loaded once, only when needed."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang=language)


def _romanized(forms: list[Form], declined: list[Form]):
    """Each language's romanization of the Cyrillic forms (declined ones for the languages
    whose press declines names: Polish and Czech)."""
    for form in forms:
        for scheme in (*romanization.ENGLISH, *romanization.SCHEMES):
            for text in romanization.romanize(form.text, scheme):
                yield Form(text, form.name, f"romanization:{scheme}", scheme[:2])
    for form in declined:
        for scheme in ("pl", "cs"):
            for text in romanization.romanize(form.text, scheme)[:1]:
                yield Form(text, form.name, f"romanization:{scheme}", scheme)


def _designers(forms: list[Form]):
    """ "Туполев-160" for "Ту-160", then romanized: "Tupolev-160", "Toupolev-160"..."""
    for form in forms:
        prefix, dash, rest = form.text.partition("-")
        designer = DESIGNERS.get(prefix.lower())
        if designer and dash and rest[:1].isdigit():
            spelled = Form(f"{designer}-{rest}", form.name, "designer", form.lang)
            yield spelled
            for romanized in _romanized([spelled], []):
                yield Form(romanized.text, form.name, f"designer+{romanized.rule}", romanized.lang)


def _respelled(form: Form, natives: dict[str, str]):
    """A Latin name written in the romanization of another language, word by word, where a
    word is the romanization of one of the system's native names ("Amiral Shaposhnikov" ->
    "Amiral Chapochnikov"). The native words come from the system's Cyrillic names."""
    words = form.text.split(" ")
    if not any(fold(word) in natives for word in words):
        return
    for scheme in (*romanization.ENGLISH, *romanization.SCHEMES):
        respelled = []
        for word in words:
            native = natives.get(fold(word))
            respelled.append(romanization.romanize(native, scheme)[0] if native else word)
        text = " ".join(respelled)
        if text != form.text:
            rule = f"romanization:{scheme}"
            if form.rule != "catalog":
                rule = f"{form.rule}+{rule}"
            yield Form(text, form.name, rule, scheme[:2])


def _native_words(names: list[Name]) -> dict[str, str]:
    """The words of a system's Cyrillic names, indexed by each of their romanizations, so
    its Latin names can be respelled (see ``_respelled``)."""
    index: dict[str, str] = {}
    for name in names:
        if not romanization.is_cyrillic(name.text):
            continue
        for word in name.text.split(" "):
            if any(ch.isdigit() for ch in word):
                continue
            for scheme in (*romanization.ENGLISH, *romanization.SCHEMES):
                for spelling in romanization.romanize(word, scheme):
                    index.setdefault(fold(spelling), word)
    return index


def _case_like(model: str, word: str) -> str:
    """``word`` in the capitals of ``model``: all capitals, capitalised, or as it is."""
    if model.isupper() and len(model) > 1:
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
