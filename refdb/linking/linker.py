"""Finds the mentions of catalog systems in article text: normalise, match, place in sentences.

Matching runs on a *folded* copy of the text in which every code point maps to exactly one
code point, so an offset in the folded copy is the same offset in the original: spans always
slice the stored text to the exact words the article printed. One Aho-Corasick pass over an
article finds every alias at once; hits are then filtered by word boundaries and the longest
valid hit wins, so "Tu-22M3" is never read as "Tu-22" plus junk.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from ahocorasick_rs import AhoCorasick, Implementation, MatchKind

from refdb.catalog import romanization
from refdb.catalog.forms import Form, Name, forms_of, names_of  # noqa: F401  (names_of re-exported)
from refdb.catalog.schema import ArticleEntry, SystemEntry
from refdb.linking.sentences import bounded, sentence_of, sentences
from refdb.text import (  # noqa: F401  (re-exported: the linker's text primitives)
    APOSTROPHES,
    DASHES,
    SPACES,
    CompactText,
    compact,
    fold,
    letters,
    non_overlapping,
    resolve_anchor,
    sha256,
    unmixed,
    words_pattern,
)

CONTEXT_CHARS = 32

# Endings the press adds to a name written in Latin letters, by article language: English
# plurals everywhere, Slavic case endings where the language declines borrowed names (the
# endings of masculine nouns in each language's grammar; the ł/l and r/rz alternations
# vanish once folded, so "Kinżale" is "Kinżał" + "e" and "Kalibrze" "Kalibr" + "ze").
ENGLISH_ENDINGS = ("s",)
SLAVIC_ENDINGS: dict[str, tuple[str, ...]] = {
    "pl": (
        "u",
        "a",
        "em",
        "iem",
        "owi",
        "e",
        "ze",
        "ie",
        "y",
        "i",
        "ow",
        "om",
        "ami",
        "ach",
        "ia",
        "iu",
        "iowi",
        "iami",
        "iach",
        "owie",
    ),
    "cs": ("u", "a", "em", "ovi", "e", "y", "i", "um", "ech", "ami", "ach", "ou"),
    "sk": ("u", "a", "om", "ovi", "e", "y", "i", "ov", "och", "ami"),
    "hr": ("a", "u", "om", "e", "i", "ima", "ova", "ovi", "ove", "ovima"),
    "sl": ("a", "u", "om", "e", "i", "ov", "ih", "ami"),
    "sr": ("a", "u", "om", "e", "i", "ima", "ova", "ovi", "ove"),
}
# Endings Russian and Ukrainian attach to a designation ("Ту-160-х", "Су-34-ми"): a closed
# list, since no dictionary knows designations.
CYRILLIC_DESIGNATION_ENDINGS = (
    "х",
    "м",
    "ми",
    "е",
    "ые",
    "ых",
    "ым",
    "ыми",
    "і",
    "ів",
    "ам",
    "ами",
    "ах",
    "ов",
)
# Variant letters after a designation ("Tu-160M2", "3M-14T", "Tu-22M3M"): capitals, digits.
_SUFFIX = re.compile(r"([ \-\u2010-\u2015]?)([A-ZА-ЯЁІЇЄ]{1,2}[0-9]{0,2})")
_FORM_SUFFIX = re.compile(r"[0-9]([A-ZА-ЯЁІЇЄ]{1,2}[0-9]{0,2})$")


_DIGIT = re.compile(r"\d")
_SEPARATORS = frozenset(" -\u00a0\u202f" + DASHES)
_DASHES = frozenset("-" + DASHES)
_CYRILLIC_ENDINGS = tuple(sorted(CYRILLIC_DESIGNATION_ENDINGS, key=len, reverse=True))


@functools.cache
def _latin_endings(language: str | None) -> tuple[str, ...]:
    """The endings a Latin-script name may take in ``language``, longest first."""
    endings = ENGLISH_ENDINGS + SLAVIC_ENDINGS.get(language or "", ())
    return tuple(sorted(set(endings), key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A form with what matching asks of it on every hit, worked out once."""

    form: Form
    designation: bool  # holds a digit: may take variant letters and designation endings
    cyrillic: bool

    @classmethod
    def of(cls, form: Form) -> _Pattern:
        designation = _DIGIT.search(form.text) is not None
        return cls(form, designation, romanization.is_cyrillic(form.text))


class Hit(NamedTuple):
    """Words of a text that name a system (a tuple: made for every candidate, so cheap)."""

    start: int
    end: int
    form: Form
    rule: str  # how the words matched: the form's rule, plus caps, spacing, ending, suffix

    @property
    def name(self) -> Name:
        return self.form.name


class Linker:
    """An Aho-Corasick automaton over the compact spelling of every form of every name."""

    def __init__(self, systems: list[SystemEntry]):
        patterns: dict[str, list[Form]] = {}
        self.suffixes: set[str] = set()  # variant letters of catalogued designations
        for system in systems:
            for form in forms_of(system):
                key = compact(form.text)
                if key:
                    patterns.setdefault(key, []).append(form)
                suffix = _FORM_SUFFIX.search(form.text)
                if suffix:
                    self.suffixes.add(suffix.group(1))
        # The key's forms, by the key's number in the automaton.
        self.forms = [tuple(map(_Pattern.of, forms)) for forms in patterns.values()]
        self.empty = not patterns
        # A contiguous automaton: the fastest to search here, at an eighth of a DFA's memory.
        self.automaton = (
            None
            if self.empty
            else AhoCorasick(
                list(patterns),
                matchkind=MatchKind.Standard,
                implementation=Implementation.ContiguousNFA,
            )
        )

    def hits(self, text: str, language: str | None = None) -> list[Hit]:
        """Every valid, non-overlapping name in ``text``, leftmost-longest first."""
        return judged(text, self.candidates(text, language), language)

    def candidates(self, text: str, language: str | None = None) -> list[Hit]:
        """Every place a form matches as whole words, overlapping, before context words are
        judged (they are judged in the sentence, which ``judged`` finds)."""
        if self.empty:
            return []
        typed, text = text, unmixed(text)  # one script a word: offsets are the same
        compacted = CompactText(text)
        candidates = []
        matches = self.automaton.find_matches_as_indexes(compacted.compact, overlapping=True)
        for key, first, last in matches:
            end = compacted.original(last - 1) + 1
            if end < len(text) and text[end].isdigit():
                continue  # "Tu-1600": no ending or variant letters start with a digit
            start = compacted.original(first)
            if start > 0 and text[start - 1].isalnum():
                continue
            for pattern in self.forms[key]:
                hit = self._hit(text, start, end, pattern, language)
                if hit:
                    if (
                        typed is not text
                        and typed[hit.start : hit.end] != text[hit.start : hit.end]
                    ):
                        hit = hit._replace(rule=hit.rule + "+mixed-script")
                    candidates.append(hit)
                    if not (hit.name.context or hit.name.not_context):
                        break  # the first name that needs no context words has these words
        return candidates

    def _hit(self, text, start, end, pattern: _Pattern, language) -> Hit | None:
        """The hit of a form at start:end, extended by variant letters and an ending, if
        the word ends there, its capitals are kept and its context words allow it."""
        form = pattern.form
        name, rule = form.name, [form.rule]
        if name.used_in and language and language not in name.used_in:
            return None  # one press's shorthand, read in another language's press
        written = text[start:end]
        if name.case_sensitive and not _capitals_kept(written, form.text):
            return None
        reach = None
        suffix = self._suffix(text, end, pattern) if pattern.designation else None
        if suffix is not None:
            reach = _word_end(text, suffix, pattern, language)
            rule += ["variant-suffix"] if reach == suffix else ["variant-suffix", "ending"]
        if reach is None:  # no variant letters, or they do not end a word: the form alone
            reach, rule = _word_end(text, end, pattern, language), [form.rule]
            if reach is None:
                return None  # the word goes on: "Tu-1600", "Kalibrated"
            if reach != end:
                rule.append("ending")
        if written != form.text:  # written otherwise than the form: say how
            if _is_caps(written, form.text):
                rule.append("caps")
            if _separators(written) != _separators(form.text):
                rule.append("spacing")
        return Hit(start, reach, form, "+".join(rule))

    def _suffix(self, text: str, end: int, pattern: _Pattern) -> int | None:
        """End of variant letters after a designation: attached ("Tu-160M2") or, when they
        hold a digit or are a catalogued variant's letters, after a space ("Tu-95 MS")."""
        if end >= len(text) or not (text[end].isupper() or text[end] in _SEPARATORS):
            return None
        match = _SUFFIX.match(text, end)
        if not match:
            return None
        separator, variant = match.groups()
        after = match.end()
        if after < len(text) and (text[after].isdigit() or text[after].isupper()):
            return None
        if separator and not (any(ch.isdigit() for ch in variant) or variant in self.suffixes):
            return None
        return after


def _word_end(text: str, at: int, pattern: _Pattern, language: str | None) -> int | None:
    """Where the word that a form reaches to ``at`` ends: there, or after an ending."""
    if at >= len(text) or not (text[at].isalnum() or text[at] in _DASHES):
        return at
    after = fold(text[at : at + 8])  # endings are short: fold only what may hold one
    if not (after[0].isalnum() or _hyphenated_ending(after)):
        return at
    stop = _ending(after, pattern, language)
    if stop is None:
        return None if after[0].isalnum() else at
    return at + stop


def _ending(after: str, pattern: _Pattern, language: str | None) -> int | None:
    """Length of the ending that closes the word at the start of ``after`` (folded), or None."""
    at = 0
    if pattern.cyrillic:
        if not pattern.designation:
            return None  # declined forms are generated
        endings = _CYRILLIC_ENDINGS
        if after.startswith("-"):
            at = 1
    else:
        endings = _latin_endings(language)
    for ending in endings:
        stop = at + len(ending)
        if after.startswith(ending, at) and (stop >= len(after) or not after[stop].isalnum()):
            return stop
    return None


def _hyphenated_ending(after: str) -> bool:
    """A Cyrillic ending after a hyphen ("Ту-160-х"), which would otherwise end the word."""
    return after.startswith("-") and len(after) > 1 and "а" <= after[1] <= "я"


def _capitals_kept(written: str, form: str) -> bool:
    """A case-sensitive name matches where every capital of the name is a capital in the text
    ("Blackjack", "BLACKJACK", "Black Jack"; never "blackjack")."""
    return all(
        w.isupper() or not w.isalpha()
        for w, f in zip(letters(written), letters(form), strict=False)
        if f.isupper()
    )


def _is_caps(written: str, form: str) -> bool:
    kept = letters(written)
    return kept.isupper() and not letters(form).isupper() and any(c.isalpha() for c in kept)


def _separators(words: str) -> str:
    return "".join(ch for ch in fold(words) if ch in " -")


def judged(
    text: str,
    candidates: list[Hit],
    language: str | None = None,
    bounds: list[tuple[int, int]] | None = None,
) -> list[Hit]:
    """The candidates whose context words allow them, leftmost-longest.

    Context words are sought in the name's own sentence (``bounds``: the article's sentences
    around the candidates, found here when not given), so a word of the next sentence neither
    vetoes nor vouches for it. A name whose ``context`` words are not in its sentence still
    counts where the article names the same system elsewhere in a way that needs no doubt:
    one sense per article. A ``not_context`` word in its own sentence always vetoes it.
    """
    doubtful = [hit for hit in candidates if hit.name.context or hit.name.not_context]
    if not doubtful:
        return _leftmost_longest(candidates)
    if bounds is None:
        around = [(hit.start, hit.end) for hit in doubtful]
        bounds = sentences(text, language or "en", around=around)
    sure, pending = [], []
    for hit in candidates:
        name = hit.name
        if not (name.context or name.not_context):
            sure.append(hit)
            continue
        window = _sentence_around(text, bounds, hit)
        if name.not_context and _context_pattern(name.not_context).search(window):
            if not _quoted(text, hit):
                continue
            hit = hit._replace(rule=hit.rule + "+quoted-name")
        if name.context and not _context_pattern(name.context).search(window):
            pending.append(hit)
            continue
        sure.append(hit)
    if pending:
        named = {hit.name.system_id for hit in _leftmost_longest(sure)}
        sure += [hit for hit in pending if hit.name.system_id in named]
    return _leftmost_longest(sure)


# Quotation marks around a name, as the press of each language prints them: «…», “…”, „…“,
# ‹…›, "…".
_OPENING_QUOTES, _CLOSING_QUOTES = frozenset('«“„‹"'), frozenset('»”“›"')


def _quoted(text: str, hit: Hit) -> bool:
    """Whether the hit's words stand alone between quotation marks (with their spacing), as
    the press prints the name of a missile or a ship («Калибров», « Amiral Kouznetsov »): a
    quoted name is a name, not the common word or the person its not-context words avoid."""
    before = text[max(0, hit.start - 2) : hit.start].rstrip("\u00a0\u202f ")
    after = text[hit.end : hit.end + 2].lstrip("\u00a0\u202f ")
    return before[-1:] in _OPENING_QUOTES and after[:1] in _CLOSING_QUOTES


def _sentence_around(text: str, bounds: list[tuple[int, int]], hit: Hit) -> str:
    """The folded words of the hit's sentence either side of it (at most the sentence a
    mention keeps), the hit's own words left out."""
    start, end = bounded(text, sentence_of(bounds, hit.start, hit.end), hit.start, hit.end)
    return fold(text[start : hit.start] + " " + text[hit.end : end])


@functools.lru_cache(maxsize=4096)
def _context_pattern(words: tuple[str, ...]) -> re.Pattern:
    """One pattern for a name's context words; ``word*`` matches any ending of ``word``."""
    return re.compile(words_pattern(words))


_START, _END = attrgetter("start"), attrgetter("end")


def _leftmost_longest(hits: list[Hit]) -> list[Hit]:
    """Leftmost, then longest; on the same words a real spelling before a slip, then the
    most specific form (the longest, a catalog spelling before a generated one) wins."""
    ranked = sorted(
        hits,
        key=lambda h: (
            h.start,
            -(h.end - h.start),
            h.form.rule == "near-spelling",  # a slip never beats a spelling of another entry
            -len(h.form.text),
            h.form.rule != "catalog",
        ),
    )
    return non_overlapping(ranked, _START, _END)


@dataclass(frozen=True)
class Mention:
    """A system named in an article, anchored by position and by quote (W3C selectors)."""

    article_id: str
    system_id: str
    start: int
    end: int
    exact: str
    prefix: str
    suffix: str
    sentence_start: int
    sentence_end: int
    name_text: str | None
    name_kind: str | None
    origin: str  # "alias" (found by the linker) or "curator" (a curator's inclusion)
    form: str | None = None  # the spelling the linker matched (a catalog name or a form of it)
    rule: str = "catalog"  # how: the form's rule, plus caps, spacing, ending, variant-suffix
    shared_start: bool = False  # another system's mention starts at the same character

    @property
    def id(self) -> str:
        """Stable while the text before it is: the article and the offset (and the system when
        a curator links the same words to a second system)."""
        return f"{self.article_id}-{self.start}" + (
            f"-{self.system_id}" if self.shared_start else ""
        )


class AnchorError(ValueError):
    """A curator's anchor no longer finds its words in the article; ``index`` says which."""

    def __init__(self, section: str, index: int, message: str):
        super().__init__(message)
        self.section, self.index = section, index


def anchor_starts(article: ArticleEntry, text: str) -> dict[tuple[str, int], int]:
    """(section, index) -> start of each curator anchor of ``article`` in ``text``
    (validation resolves them for a build; this is for an article linked on its own)."""
    folded = fold(text) if article.mentions.include or article.mentions.exclude else text
    starts = {}
    for section in ("exclude", "include"):
        for index, anchor in enumerate(getattr(article.mentions, section)):
            try:
                starts[section, index] = resolve_anchor(text, anchor, folded)
            except ValueError as error:
                raise AnchorError(section, index, str(error)) from None
    return starts


def link_article(
    linker: Linker, article: ArticleEntry, text: str, anchors: dict | None = None
) -> list[Mention]:
    """Every mention in one article: linker hits, less exclusions, plus inclusions.

    ``anchors`` are the curator anchors' starts as validation resolved them."""
    anchors = anchor_starts(article, text) if anchors is None else anchors
    candidates = linker.candidates(text, article.language)
    included = [
        (anchors["include", index], anchors["include", index] + len(anchor.exact))
        for index, anchor in enumerate(article.mentions.include)
    ]
    # The sentences around everything that may be a mention: context words are judged in
    # them, and the mentions kept are placed in them.
    around = [(hit.start, hit.end) for hit in candidates] + included
    bounds = sentences(text, article.language, around=around) if around else []
    found = judged(text, candidates, article.language, bounds)
    hits = {(hit.start, hit.end, hit.name.system_id): hit for hit in found}
    for index, anchor in enumerate(article.mentions.exclude):
        start = anchors["exclude", index]
        end = start + len(anchor.exact)
        key = (start, end, anchor.system)
        if key not in hits:
            raise AnchorError(
                "exclude",
                index,
                f"nothing links '{anchor.exact}' to {anchor.system} here; remove this exclusion",
            )
        del hits[key]
    spans = [(hit.start, hit.end, hit.name.system_id, hit) for hit in hits.values()]
    for index, anchor in enumerate(article.mentions.include):
        start = anchors["include", index]
        if (start, start + len(anchor.exact), anchor.system) in hits:
            message = (
                f"'{anchor.exact}' is already linked to {anchor.system}; remove this inclusion"
            )
            raise AnchorError("include", index, message)
        spans.append((start, start + len(anchor.exact), anchor.system, None))
    spans.sort(key=lambda span: span[:3])
    starts = Counter(span[0] for span in spans)
    return [
        _mention(article.id, text, bounds, start, end, system_id, hit, starts[start] > 1)
        for start, end, system_id, hit in spans
    ]


def _mention(article_id, text, bounds, start, end, system_id, hit, shared_start) -> Mention:
    sentence = sentence_of(bounds, start, end) if bounds else (start, end)
    sentence = bounded(text, sentence, start, end)
    name = hit.name if hit else None
    return Mention(
        article_id=article_id,
        system_id=system_id,
        start=start,
        end=end,
        exact=text[start:end],
        prefix=text[max(0, start - CONTEXT_CHARS) : start],
        suffix=text[end : end + CONTEXT_CHARS],
        sentence_start=sentence[0],
        sentence_end=sentence[1],
        name_text=name.text if name else None,
        name_kind=str(name.kind) if name else None,
        origin="alias" if hit else "curator",
        form=hit.form.text if hit else None,
        rule=hit.rule if hit else "curator",
        shared_start=shared_start,
    )
