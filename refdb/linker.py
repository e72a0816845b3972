"""Finds the mentions of catalog systems in article text: normalise, match, place in sentences.

Matching runs on a *folded* copy of the text in which every code point maps to exactly one
code point, so an offset in the folded copy is the same offset in the original: spans always
slice the stored text to the exact words the article printed. One Aho-Corasick pass over an
article finds every alias at once; hits are then filtered by word boundaries and the longest
valid hit wins, so "Tu-22M3" is never read as "Tu-22" plus junk.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import re
import unicodedata
from dataclasses import dataclass

import ahocorasick
import syntok.segmenter as syntok

from refdb.errors import CatalogError
from refdb.schema import AliasKind, ArticleEntry, MentionAnchor, SystemEntry

CONTEXT_CHARS = 32

DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u00ad"
SPACES = "\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u2004\u2005\u2006\u2008\u3000\t\n\r\f\v"
APOSTROPHES = "\u2019\u2018\u02bc\u2032\u00b4`"
_STROKED = {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ħ": "h"}


class _FoldTable(dict):
    """A ``str.translate`` table filled on demand: one code point in, one code point out."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        assert len(folded) == 1
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
    """Only dashes and spaces folded: what a case-sensitive alias is compared on."""
    return text.translate(_DASH_SPACE)


def compact(text: str) -> str:
    """Folded, without separators: the key under which two aliases count as the same name."""
    return re.sub(r"[\s\-'.]", "", fold(text))


# A separator between two parts of a name ("Tu-160", "Tu 160", "Tu160") may be written as a
# hyphen, a space or, next to a digit, nothing at all.
_SEPARATOR = re.compile(r"[ \-]")


def surface_variants(name: str) -> set[str]:
    """The folded spellings under which ``name`` is looked for."""
    folded = fold(name)
    gaps = [m.start() for m in _SEPARATOR.finditer(folded)]
    if not gaps or len(gaps) > 4:
        return {folded}
    choices = []
    for gap in gaps:
        beside_digit = folded[gap - 1 : gap].isdigit() or folded[gap + 1 : gap + 2].isdigit()
        choices.append(("-", " ", "") if beside_digit else ("-", " "))
    variants = set()
    for combination in itertools.product(*choices):
        parts, last = [], 0
        for gap, separator in zip(gaps, combination, strict=False):
            parts += [folded[last:gap], separator]
            last = gap + 1
        variants.add("".join(parts) + folded[last:])
    return variants


@dataclass(frozen=True)
class Name:
    """One name of a system as the linker and the database see it."""

    system_id: str
    text: str
    kind: str
    lang: str | None
    case_sensitive: bool
    note: str | None = None
    context: tuple[str, ...] = ()  # words one of which must be near the name for it to count


def names_of(system: SystemEntry) -> list[Name]:
    """Every name of a system: canonical name, designations, NATO name, then curated aliases."""
    names = [Name(system.id, system.name, "name", "en", False)]
    names += [Name(system.id, d, AliasKind.DESIGNATION, None, False) for d in system.designations]
    if system.nato_reporting_name:
        names.append(Name(system.id, system.nato_reporting_name, AliasKind.NATO_NAME, "en", True))
    names += [
        Name(system.id, a.text, a.kind, a.lang, a.case_sensitive, a.note, tuple(a.context))
        for a in system.aliases
    ]
    seen, unique = set(), []
    for name in names:  # one row per spelling; the first (most official) kind wins
        if compact(name.text) not in seen:
            seen.add(compact(name.text))
            unique.append(name)
    return unique


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    name: Name


class Linker:
    """An Aho-Corasick automaton over every spelling of every name in the catalog."""

    def __init__(self, systems: list[SystemEntry]):
        self.automaton = ahocorasick.Automaton()
        patterns: dict[str, list[tuple[Name, str]]] = {}
        for system in systems:
            for name in names_of(system):
                for variant in surface_variants(name.text):
                    patterns.setdefault(variant, []).append((name, variant))
        for key, entries in patterns.items():
            self.automaton.add_word(key, (len(key), tuple(entries)))
        if patterns:
            self.automaton.make_automaton()
        self.empty = not patterns

    def hits(self, text: str, folded: str | None = None) -> list[Hit]:
        """Every valid, non-overlapping name in ``text``, leftmost-longest first."""
        if self.empty:
            return []
        folded = fold(text) if folded is None else folded
        candidates = []
        for last, (length, entries) in self.automaton.iter(folded):
            start, end = last + 1 - length, last + 1
            if not _at_word_boundaries(folded, start, end):
                continue
            for name, variant in entries:
                if name.case_sensitive and fold_separators(text[start:end]) != _cased(
                    name, variant
                ):
                    continue
                if name.context and not _in_context(folded, start, end, name.context):
                    continue
                candidates.append(Hit(start, end, name))
                break
        return _leftmost_longest(candidates)


CONTEXT_WINDOW = 150  # characters either side of a name in which its context words are sought


def _in_context(folded: str, start: int, end: int, words: tuple[str, ...]) -> bool:
    """Whether one of ``words`` stands, as a whole word, near the name at start:end."""
    window = folded[max(0, start - CONTEXT_WINDOW) : end + CONTEXT_WINDOW]
    return any(re.search(rf"(?<!\w){re.escape(fold(word))}(?!\w)", window) for word in words)


def _cased(name: Name, variant: str) -> str:
    """The case-sensitive spelling of a variant: the name's own letters at the same places."""
    letters = iter(fold_separators(name.text).replace("-", "").replace(" ", ""))
    return "".join(ch if ch in " -" else next(letters) for ch in variant)


def _at_word_boundaries(folded: str, start: int, end: int) -> bool:
    before = folded[start - 1] if start > 0 else " "
    after = folded[end] if end < len(folded) else " "
    return not before.isalnum() and not after.isalnum()


def _leftmost_longest(hits: list[Hit]) -> list[Hit]:
    chosen, reach = [], 0
    for hit in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
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
    for paragraph in _paragraphs(text):
        if around is not None and not any(paragraph[0] <= a < paragraph[1] for a, _ in around):
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
    starts, position = [], folded.find(needle)
    while position >= 0:
        before_ok = prefix is None or folded[:position].endswith(fold(prefix))
        after_ok = suffix is None or folded[position + len(needle) :].startswith(fold(suffix))
        if before_ok and after_ok:
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
    folded = fold(text)
    hits = {(hit.start, hit.end, hit.name.system_id): hit for hit in linker.hits(text, folded)}
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
    spans = [(hit.start, hit.end, hit.name.system_id, hit.name, "alias") for hit in hits.values()]
    for index, anchor in enumerate(article.mentions.include):
        start = _resolve_or_raise(text, anchor, folded, "include", index)
        if (start, start + len(anchor.exact), anchor.system) in hits:
            message = (
                f"'{anchor.exact}' is already linked to {anchor.system}; remove this inclusion"
            )
            raise AnchorError("include", index, message)
        spans.append((start, start + len(anchor.exact), anchor.system, None, "curator"))
    bounds = sentences(text, article.language, around=[(start, end) for start, end, *_ in spans])
    starts = [span[0] for span in spans]
    return [
        _mention(
            article.id, text, bounds, start, end, system_id, name, origin, starts.count(start) > 1
        )
        for start, end, system_id, name, origin in sorted(spans, key=lambda s: (s[0], s[1], s[2]))
    ]


def _resolve_or_raise(text, anchor, folded, section, index) -> int:
    try:
        return resolve(text, anchor, folded)
    except ValueError as error:
        raise AnchorError(section, index, str(error)) from None


def _mention(
    article_id, text, bounds, start, end, system_id, name, origin, shared_start
) -> Mention:
    sentence = next(((a, b) for a, b in bounds if a <= start and end <= b), None)
    if sentence is None:  # a span across a sentence break: take the enclosing range
        sentence = (min(a for a, b in bounds if b > start), max(b for a, b in bounds if a < end))
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
        origin=origin,
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
