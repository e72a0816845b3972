"""Finds the mentions of catalog systems in article text: normalise, match, place in sentences.

Matching runs on a *folded* copy of the text in which every code point maps to exactly one
code point, so an offset in the folded copy is the same offset in the original: spans always
slice the stored text to the exact words the article printed. One Aho-Corasick pass over an
article finds every alias at once; hits are then filtered by word boundaries and the longest
valid hit wins, so "Tu-22M3" is never read as "Tu-22" plus junk.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import multiprocessing
import os
import re
from collections import Counter
from dataclasses import dataclass

import ahocorasick
import syntok.segmenter as syntok

from refdb import romanization
from refdb.errors import CatalogError
from refdb.forms import Form, Name, forms_of, names_of  # noqa: F401  (names_of re-exported)
from refdb.schema import ArticleEntry, MentionAnchor, SystemEntry
from refdb.text import (  # noqa: F401  (re-exported: the linker's text primitives)
    APOSTROPHES,
    DASHES,
    SPACES,
    CompactText,
    compact,
    fold,
    fold_separators,
    letters,
)

CONTEXT_CHARS = 32
CONTEXT_WINDOW = 150  # characters either side of a name in which its context words are sought

# Endings the press adds to a name written in Latin letters, by article language: English
# plurals everywhere, Slavic case endings where the language declines borrowed names (the
# endings of masculine nouns in each language's grammar; the ł/l and r/rz alternations
# vanish once folded, so "Kinżale" is "Kinżał" + "e" and "Kalibrze" "Kalibr" + "ze").
ENGLISH_ENDINGS = ("s",)
SLAVIC_ENDINGS: dict[str, tuple[str, ...]] = {
    "pl": ("u", "a", "em", "owi", "e", "ze", "ie", "y", "i", "ow", "om", "ami", "ach"),
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


@dataclass(frozen=True)
class Hit:
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
        self.automaton = ahocorasick.Automaton()
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
        for key, forms in patterns.items():
            self.automaton.add_word(key, (len(key), tuple(forms)))
        if patterns:
            self.automaton.make_automaton()
        self.empty = not patterns

    def hits(self, text: str, language: str | None = None) -> list[Hit]:
        """Every valid, non-overlapping name in ``text``, leftmost-longest first."""
        if self.empty:
            return []
        compacted = CompactText(text)
        candidates = []
        for last, (length, forms) in self.automaton.iter(compacted.compact):
            end = compacted.original(last) + 1
            if end < len(text) and text[end].isdigit():
                continue  # "Tu-1600": no ending or variant letters start with a digit
            start = compacted.before(end - 1, length - 1)
            if start > 0 and text[start - 1].isalnum():
                continue
            for form in forms:
                hit = self._hit(text, start, end, form, language)
                if hit:
                    candidates.append(hit)
                    break
        return _leftmost_longest(candidates)

    def _hit(self, text, start, end, form: Form, language) -> Hit | None:
        """The hit of ``form`` at start:end, extended by variant letters and an ending, if
        the word ends there, its capitals are kept and its context words allow it."""
        name, rule = form.name, [form.rule]
        if name.case_sensitive and not _capitals_kept(text[start:end], form.text):
            return None
        reach = None
        suffix = self._suffix(text, end, form)
        if suffix is not None:
            reach = _word_end(text, suffix, form, language)
            rule += ["variant-suffix"] if reach == suffix else ["variant-suffix", "ending"]
        if reach is None:  # no variant letters, or they do not end a word: the form alone
            reach, rule = _word_end(text, end, form, language), [form.rule]
            if reach is None:
                return None  # the word goes on: "Tu-1600", "Kalibrated"
            if reach != end:
                rule.append("ending")
        if name.context and not _in_context(text, start, reach, name.context):
            return None
        if name.not_context and _in_context(text, start, reach, name.not_context):
            return None
        written = text[start:end]
        if _is_caps(written, form.text):
            rule.append("caps")
        if _separators(written) != _separators(form.text):
            rule.append("spacing")
        return Hit(start, reach, form, "+".join(rule))

    def _suffix(self, text: str, end: int, form: Form) -> int | None:
        """End of variant letters after a designation: attached ("Tu-160M2") or, when they
        hold a digit or are a catalogued variant's letters, after a space ("Tu-95 MS")."""
        if not any(ch.isdigit() for ch in form.text):
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


def _word_end(text: str, at: int, form: Form, language: str | None) -> int | None:
    """Where the word that a form reaches to ``at`` ends: there, or after an ending."""
    if at >= len(text) or not (text[at].isalnum() or fold(text[at]) == "-"):
        return at
    after = fold(text[at : at + 8])  # endings are short: fold only what may hold one
    if not (after[0].isalnum() or _hyphenated_ending(after)):
        return at
    stop = _ending(after, form, language)
    if stop is None:
        return None if after[0].isalnum() else at
    return at + stop


def _ending(after: str, form: Form, language: str | None) -> int | None:
    """Length of the ending that closes the word at the start of ``after`` (folded), or None."""
    at = 0
    if romanization.is_cyrillic(form.text):
        if not any(ch.isdigit() for ch in form.text):
            return None  # declined forms are generated
        endings = CYRILLIC_DESIGNATION_ENDINGS
        if after.startswith("-"):
            at = 1
    else:
        endings = ENGLISH_ENDINGS + SLAVIC_ENDINGS.get(language or "", ())
    for ending in sorted(endings, key=len, reverse=True):
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


def _in_context(text: str, start: int, end: int, words: tuple[str, ...]) -> bool:
    """Whether one of ``words`` stands, as a whole word, near the name at start:end."""
    before = text[max(0, start - CONTEXT_WINDOW) : start]
    window = fold(before + " " + text[end : end + CONTEXT_WINDOW])
    return _context_pattern(words).search(window) is not None


@functools.lru_cache(maxsize=4096)
def _context_pattern(words: tuple[str, ...]) -> re.Pattern:
    """One pattern for a name's context words; ``word*`` matches any ending of ``word``."""
    parts = [
        re.escape(fold(word[:-1])) + r"\w*" if word.endswith("*") else re.escape(fold(word))
        for word in words
    ]
    return re.compile(rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)")


def _leftmost_longest(hits: list[Hit]) -> list[Hit]:
    """Leftmost, then longest; on the same words the most specific form (the longest, a
    catalog spelling before a generated one) wins."""
    chosen, reach = [], 0
    ranked = sorted(
        hits,
        key=lambda h: (h.start, -(h.end - h.start), -len(h.form.text), h.form.rule != "catalog"),
    )
    for hit in ranked:
        if hit.start >= reach:
            chosen.append(hit)
            reach = hit.end
    return chosen


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
    for paragraph in _paragraphs(text):
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


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Blank-line separated blocks: no sentence runs across a paragraph break."""
    blocks, start = [], 0
    for match in re.finditer(r"\n\s*\n", text):
        blocks.append((start, match.start()))
        start = match.end()
    blocks.append((start, len(text)))
    return [(a, b) for a, b in blocks if text[a:b].strip()]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def find_anchor(
    text: str,
    exact: str,
    prefix: str | None = None,
    suffix: str | None = None,
    folded: str | None = None,
) -> list[int]:
    """Start offsets where ``exact`` occurs with the given context (compared folded)."""
    folded = fold(text) if folded is None else folded
    needle = fold(exact)
    before = fold(prefix) if prefix is not None else None
    after = fold(suffix) if suffix is not None else None
    starts, position = [], folded.find(needle)
    while position >= 0:
        stop = position + len(needle)
        before_ok = before is None or folded.startswith(before, position - len(before), position)
        after_ok = after is None or folded.startswith(after, stop)
        if before_ok and after_ok and position >= len(before or ""):
            starts.append(position)
        position = folded.find(needle, position + 1)
    return starts


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


def resolve(text: str, anchor: MentionAnchor, folded: str) -> int:
    """The one start offset of ``anchor`` in the text, or ValueError saying what to fix."""
    starts = find_anchor(text, anchor.exact, anchor.prefix, anchor.suffix, folded)
    if not starts:
        raise ValueError(f"'{anchor.exact}' with this prefix/suffix is not in the article text")
    if len(starts) > 1:
        raise ValueError(
            f"'{anchor.exact}' occurs {len(starts)} times; add a prefix or suffix to pick one"
        )
    return starts[0]


def link_article(linker: Linker, article: ArticleEntry, text: str) -> list[Mention]:
    """Every mention in one article: linker hits, less exclusions, plus inclusions."""
    found = linker.hits(text, article.language)
    folded = fold(text) if article.mentions.include or article.mentions.exclude else text
    hits = {(hit.start, hit.end, hit.name.system_id): hit for hit in found}
    for index, anchor in enumerate(article.mentions.exclude):
        start = _resolve_or_raise(text, anchor, folded, "exclude", index)
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
        start = _resolve_or_raise(text, anchor, folded, "include", index)
        if (start, start + len(anchor.exact), anchor.system) in hits:
            message = (
                f"'{anchor.exact}' is already linked to {anchor.system}; remove this inclusion"
            )
            raise AnchorError("include", index, message)
        spans.append((start, start + len(anchor.exact), anchor.system, None))
    spans.sort(key=lambda span: span[:3])
    bounds = sentences(text, article.language, around=[(start, end) for start, end, *_ in spans])
    starts = Counter(span[0] for span in spans)
    return [
        _mention(article.id, text, bounds, start, end, system_id, hit, starts[start] > 1)
        for start, end, system_id, hit in spans
    ]


def _resolve_or_raise(text, anchor, folded, section, index) -> int:
    try:
        return resolve(text, anchor, folded)
    except ValueError as error:
        raise AnchorError(section, index, str(error)) from None


def _sentence_of(bounds: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The sentence holding start:end (bounds sorted, disjoint), or the range of sentences a
    span runs across; found by bisection so an article's cost stays linear in its mentions."""
    first = max(0, bisect.bisect_right(bounds, (start, float("inf"))) - 1)
    if bounds[first][0] <= start and end <= bounds[first][1]:
        return bounds[first]
    last = max(first, bisect.bisect_left(bounds, (end, -1)) - 1)
    return min(bounds[first][0], start), max(bounds[last][1], end)


def _mention(article_id, text, bounds, start, end, system_id, hit, shared_start) -> Mention:
    sentence = _sentence_of(bounds, start, end) if bounds else (start, end)
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


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Below this many articles one process links faster than starting workers.
PARALLEL_FROM = 500
_SHARED: tuple | None = None  # (automaton, articles), inherited by forked workers


def link_catalog(catalog, progress=None, cache=None) -> list[Mention]:
    """Every mention in every article of a validated catalog, in a stable order.

    Large catalogs are linked on every core: workers are forked after the automaton is
    built, so they share it instead of building it again. With a ``cache``, an article whose
    header and text are unchanged, linked against the same names, keeps its mentions. A
    curator's anchor that no longer applies (an exclusion with nothing to exclude) is an
    error naming the article file and line.
    """
    global _SHARED
    articles = catalog.articles
    names = names_sha256(catalog.systems)
    keys = [_cache_key(catalog, article, names) for article in articles]
    results = {
        i: (found, None)
        for i, key in enumerate(keys)
        if cache and (found := cache.article_mentions(key)) is not None
    }
    todo = [i for i in range(len(articles)) if i not in results]
    report = progress or (lambda stage, done, total: None)
    if todo:
        _SHARED = (Linker(catalog.systems), articles)
        try:
            for index, result in zip(todo, _map(_link_shared, todo), strict=True):
                results[index] = result
                report("linking articles", len(results), len(articles))
        finally:
            _SHARED = None
    mentions, problems = [], []
    for index, article in enumerate(articles):
        found, stale = results[index]
        mentions += found
        if stale:
            section, anchor, message = stale
            loc = ("mentions", section, anchor, "exact")
            problems.append(
                article.document.problem(loc, f"stale anchor: {message}", "stale-anchor")
            )
        elif cache is not None:
            cache.mentions[keys[index]] = found
    if problems:
        raise CatalogError(problems)
    return mentions


def names_sha256(systems: list[SystemEntry]) -> str:
    """One hash over every name the linker looks for, with everything that decides whether it
    links (kind, case, context words): when any of it changes, every article relinks."""
    digest = hashlib.sha256()
    for system in systems:
        for name in names_of(system):
            fields = (name.system_id, name.text, name.kind, name.case_sensitive, *name.context)
            digest.update("\0".join(map(str, fields)).encode() + b"\n")
    return digest.hexdigest()


def _cache_key(catalog, article, names: str) -> tuple:
    header = article.document.path.relative_to(catalog.root).as_posix()
    text = article.text_path.relative_to(catalog.root).as_posix()
    digest = lambda relative: hashlib.sha256(catalog.files[relative]).hexdigest()  # noqa: E731
    return (article.entry.id, digest(header), digest(text), names)


def _map(function, items: list[int]):
    """``map`` over every core for many items (forked workers share ``_SHARED``), else inline."""
    workers = min(os.cpu_count() or 1, 8)
    if (
        workers > 1
        and len(items) >= PARALLEL_FROM
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(function, items, chunksize=50)
    else:
        yield from map(function, items)


def _link_shared(index: int) -> tuple[list[Mention], tuple | None]:
    """Link one article of ``_SHARED``; a stale anchor comes back as data, not an exception."""
    automaton, articles = _SHARED
    article = articles[index]
    try:
        return link_article(automaton, article.entry, article.text), None
    except AnchorError as error:
        return [], (error.section, error.index, str(error))
