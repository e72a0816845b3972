"""Checks across files, once each file is valid on its own: ids, references, names, vetoes,
quotes and anchors, and the source policy.

Quotes and curator anchors are resolved here, once: their spans are handed on with the
catalog, so the linker, the rows and the consistency flags never look for them again.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

from confusable_homoglyphs import confusables

from refdb.catalog import forms, sources
from refdb.catalog.forms import names_of
from refdb.catalog.loader import Document
from refdb.catalog.reader import REGISTER, Article
from refdb.catalog.schema import ArticleQuote, SystemEntry
from refdb.errors import Problem, display_path
from refdb.text import compact, find_anchor, fold, occurrences, resolve_anchor


def check_ids(systems: list[SystemEntry], documents: dict[str, Document]) -> list[Problem]:
    problems, owners = [], {}
    for system in systems:
        document = documents[system.id]
        if system.id != document.path.stem:
            problems.append(
                document.problem(
                    ("id",),
                    f"id '{system.id}' must equal the file name '{document.path.stem}'",
                    "id-mismatch",
                )
            )
        for redirect in system.redirect_ids:
            owners.setdefault(redirect, []).append(system.id)
    ids = {s.id for s in systems}
    for redirect, owner_ids in owners.items():
        for owner in owner_ids:
            if redirect in ids or len(owner_ids) > 1:
                document = documents[owner]
                index = next(
                    i
                    for s in systems
                    if s.id == owner
                    for i, r in enumerate(s.redirect_ids)
                    if r == redirect
                )
                problems.append(
                    document.problem(
                        ("redirect_ids", index),
                        f"redirect id '{redirect}' is already used by another entry",
                        "duplicate-id",
                    )
                )
    return problems


def check_references(
    systems, documents, articles: dict[str, Article], quotes: dict, ids: set[str] | None = None
) -> list[Problem]:
    """Sources cited are declared, relation targets exist (among ``ids``, by default the
    systems given), quotes find their words (their spans go into ``quotes``, keyed by
    (system id, source key))."""
    problems = []
    ids = {s.id for s in systems} if ids is None else ids
    for system in systems:
        document = documents[system.id]
        declared = set(system.sources)
        cited = [(("entry_sources", i), s) for i, s in enumerate(system.entry_sources)]
        for group in ("aliases", "specs", "relations"):
            for i, item in enumerate(getattr(system, group)):
                cited += [((group, i, "sources", j), s) for j, s in enumerate(item.sources)]
        for loc, source_id in cited:
            if source_id not in declared:
                close = difflib.get_close_matches(source_id, declared, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else "; declare it under sources:"
                problems.append(
                    document.problem(
                        loc,
                        f"source '{source_id}' is not declared in this file{hint}",
                        "undeclared-source",
                    )
                )
        for i, relation in enumerate(system.relations):
            if relation.target not in ids:
                close = difflib.get_close_matches(relation.target, ids, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else "; add that entry first"
                problems.append(
                    document.problem(
                        ("relations", i, "target"),
                        f"relation target '{relation.target}' is not in the catalog{hint}",
                        "dangling-target",
                    )
                )
            elif relation.target == system.id:
                problems.append(
                    document.problem(
                        ("relations", i, "target"),
                        "an entry cannot relate to itself",
                        "self-relation",
                    )
                )
        problems += _check_quotes(system, document, articles, quotes)
    return problems


def _check_quotes(
    system: SystemEntry, document: Document, articles: dict[str, Article], quotes: dict
) -> list[Problem]:
    problems = []
    for source_id, source in system.sources.items():
        if not isinstance(source, ArticleQuote):
            continue
        article = articles.get(source.article)
        if article is None:
            problems.append(
                document.problem(
                    ("sources", source_id, "article"),
                    f"article '{source.article}' is not in the catalog",
                    "unknown-article",
                )
            )
            continue
        folded = _folded(article)
        starts = find_anchor(article.text, source.quote, source.prefix, folded=folded, limit=2)
        if len(starts) == 1:
            quotes[system.id, source_id] = (starts[0], starts[0] + len(source.quote))
        else:
            quoted = SimpleNamespace(exact=source.quote, prefix=source.prefix, suffix=None)
            how_often = occurrences(article.text, quoted, folded)
            what = (
                "is not in the article text" if not starts else f"occurs {how_often}; add a prefix"
            )
            problems.append(
                document.problem(
                    ("sources", source_id, "quote"),
                    f"quote {what}",
                    "quote-not-found" if not starts else "quote-ambiguous",
                )
            )
    return problems


def _folded(article: Article) -> str:
    """The article's text folded, once however many quotes it holds."""
    if article.folded is None:
        article.folded = fold(article.text)
    return article.folded


@lru_cache(maxsize=65536)
def _latin_lookalike(char: str) -> str:
    """The Latin letter ``char`` is drawn like (Cyrillic 'а' -> 'a'), from Unicode's
    confusables table, or ``char`` itself."""
    if char.isascii() or not char.isalpha():
        return char
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"]) or []
    for item in found:
        for glyph in item["homoglyphs"]:
            if glyph["n"].startswith("LATIN ") and len(glyph["c"]) == 1:
                return glyph["c"]
    return char


@lru_cache(maxsize=65536)
def _caseless_lookalike(char: str) -> str:
    """The Latin letter ``char`` looks like in its capital or small form, else its small form."""
    for form in (char.upper(), char.lower(), char.casefold(), char):
        if len(form) == 1 and (latin := _latin_lookalike(form)).isascii():
            return latin.lower()
    return char.casefold()


def claim_key(text: str) -> str:
    """The key under which two names count as one for the one-name-per-entry check: NFC,
    without format characters (zero-width space, joiners), each letter mapped to the Latin
    letter it looks like in either case (so 'ВОРОН-5' and 'ворон-5', which the linker folds
    into one, and a Cyrillic 'Т' for a Latin 'T' are one name), then compacted as the
    linker compacts. What the linker matches is unchanged."""
    if text.isascii():  # already NFC, no format character, every letter Latin
        return compact(text)
    text = unicodedata.normalize("NFC", text)
    visible = "".join(
        _caseless_lookalike(char) for char in text if unicodedata.category(char) != "Cf"
    )
    return compact(visible)


MAX_OTHERS_NAMED = 3  # a name shared by many entries lists a few: the error path stays linear


def check_names(systems: list[SystemEntry], documents: dict[str, Document]) -> list[Problem]:
    """A name may belong to one system only, or the linker could not tell them apart."""
    claims: dict[str, dict[str, tuple[SystemEntry, str]]] = {}
    for system in systems:
        for name in names_of(system):
            claims.setdefault(claim_key(name.text), {}).setdefault(system.id, (system, name.text))
    problems, locations = [], {}
    for owners in claims.values():
        if len(owners) < 2:
            continue
        listed = list(owners.values())
        for system, text in listed:
            others = [
                f"'{other.id}' ('{other_text}')"
                for other, other_text in listed[: MAX_OTHERS_NAMED + 1]
                if other is not system
            ][:MAX_OTHERS_NAMED]
            more = len(listed) - 1 - len(others)
            others_text = ", ".join(others) + (f" and {more:,} more" if more else "")
            if system.id not in locations:
                locations[system.id] = _name_locations(system)
            problems.append(
                documents[system.id].problem(
                    locations[system.id].get(text, ("name",)),
                    f"name '{text}' is also a name of {others_text}; a name must identify one entry",
                    "duplicate-alias",
                )
            )
    return problems


def check_vetoes(systems: list[SystemEntry], documents: dict[str, Document]) -> list[Problem]:
    """A vetoed form must be one the rules generate, or the veto guards nothing."""
    return [
        documents[system.id].problem(
            ("vetoed_forms", index),
            f"no rule generates '{system.vetoed_forms[index]}' for this entry; remove the veto "
            "(the forms an entry is looked for under are listed in the database's forms table)",
            "stale-veto",
        )
        for system in systems
        if system.vetoed_forms
        for index in forms.stale_vetoes(system)
    ]


def _name_locations(system: SystemEntry) -> dict[str, tuple]:
    """Where each name of an entry is written (the first place wins, as in names_of)."""
    written = [(alias.text, ("aliases", i, "text")) for i, alias in enumerate(system.aliases)]
    written += [(text, ("designations", i)) for i, text in enumerate(system.designations)]
    written += [(system.nato_reporting_name, ("nato_reporting_name",)), (system.name, ("name",))]
    locations = {}
    for text, place in written:
        locations.setdefault(text, place)
    return locations


def check_article_anchors(articles: dict[str, Article], system_ids: set[str]) -> list[Problem]:
    """Curator anchors name catalog systems and find their words once (their starts are kept
    on the article for the linker)."""
    return [p for article in articles.values() for p in _check_anchors(article, system_ids)]


def check_article(article: Article, system_ids: set[str], register) -> list[Problem]:
    """What one article must satisfy against the rest of the catalog: its anchors and its
    sources (``register``, a ``sources.Register``); how a build checks articles one by one."""
    problems = _check_anchors(article, system_ids)
    return problems + sources.check_article_sources(register, article)[1]


def _check_anchors(article: Article, system_ids: set[str]) -> list[Problem]:
    problems = []
    folded = None  # folded only for an article that has anchors: most have none
    for section in ("include", "exclude"):
        for index, anchor in enumerate(getattr(article.entry.mentions, section)):
            loc = ("mentions", section, index)
            if anchor.system not in system_ids:
                problems.append(
                    article.document.problem(
                        (*loc, "system"),
                        f"system '{anchor.system}' is not in the catalog",
                        "dangling-target",
                    )
                )
            if not re.search(r"\w", anchor.exact):
                problems.append(
                    article.document.problem(
                        (*loc, "exact"),
                        "an anchor's exact words must contain a letter or digit",
                        "anchor-without-words",
                    )
                )
                continue
            folded = fold(article.text) if folded is None else folded
            try:
                article.anchors[section, index] = resolve_anchor(article.text, anchor, folded)
            except ValueError as error:
                problems.append(
                    article.document.problem(
                        (*loc, "exact"), f"stale anchor: {error}", "stale-anchor"
                    )
                )
    return problems


def check_across(
    root: Path,
    register,
    systems: list[SystemEntry],
    documents: dict[str, Document],
    articles: dict[str, Article],
    quotes: dict,
    *,
    ids: set[str] | None = None,
    named: list[SystemEntry] | None = None,
    anchored: dict[str, Article] | None = None,
    of_articles: bool = True,
) -> list[Problem]:
    """Every check across files, the one list the clean build and the incremental one both
    run: ``systems`` (their ``documents``) against each other and the catalog's ``ids`` (by
    default their own), the names of ``named`` (by default all of them), the curator anchors
    of ``anchored`` articles, then the source policy (:func:`check_sources`). The incremental
    build passes only the changed entries and checks them against the rest apart, in SQL."""
    ids = {system.id for system in systems} if ids is None else ids
    problems = check_ids(systems, documents)
    problems += check_references(systems, documents, articles, quotes, ids)
    problems += check_names(systems if named is None else named, documents)
    problems += check_vetoes(systems, documents)
    problems += check_article_anchors(anchored or {}, ids)
    return problems + check_sources(
        root, register, systems, documents, articles, of_articles=of_articles
    )


def check_sources(
    root: Path, register, systems, system_docs, articles, *, of_articles: bool = True
) -> list[Problem]:
    """The source policy, once the register is known good enough to look publishers up in.
    ``of_articles`` false: the articles' own sources are checked elsewhere, one by one
    (``check_article``); ``articles`` only say which publisher each quoted article has."""
    if register is None:
        path = root / REGISTER
        if path.exists():  # it did not validate; its own problems are already listed
            return []
        message = f"the publisher register {REGISTER} is missing; create it (see catalog/README.md)"
        return [Problem(display_path(path), 1, 1, message, "missing-register")]
    problems = sources.check_register(register.publishers, register.document)
    lookup = sources.Register(register.publishers)
    return problems + sources.check_catalog(lookup, systems, system_docs, articles, of_articles)
