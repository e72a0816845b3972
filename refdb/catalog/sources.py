"""The source policy: every fact of the catalog is citable by a journalist.

A source names its original publisher (by ``publisher`` id or by the domain of its ``url``)
from the register ``catalog/publishers.yaml``, which says how far the catalog trusts it:
``deprecated`` publishers are never cited, ``claims-only`` ones (state media, manufacturers,
governments) back only what a party claims, and a copy (a mirror, a repost) is cited at the
original's canonical URL with the copy in ``via``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from w3lib.url import url_query_cleaner

from refdb.catalog.loader import Document
from refdb.catalog.schema import (
    ArticleEntry,
    ArticleQuote,
    ExternalSource,
    Publisher,
    PublisherKind,
    Qualifier,
    Reliability,
    SystemEntry,
)
from refdb.errors import Problem

REGISTER_HINT = "add it to catalog/publishers.yaml (name, kind, domains, reliability, reason)"

# Query parameters that only say how a reader arrived (or which rendering they got).
TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "at_", "hsa_")
TRACKING = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid",
    "mc_cid", "mc_eid", "_ga", "_gl", "ocid", "cmpid", "xtor", "ref_src", "ref_url", "smid",
    "sr_share", "spm", "cid", "__twitter_impression",
}  # fmt: skip
RENDERING = {  # parameter -> values that ask for an AMP, print or mobile rendering
    "amp": None,
    "_amp": None,
    "outputtype": {"amp"},
    "output": {"amp"},
    "print": None,
    "printable": None,
    "m": {"1", "true"},
    "mobile": None,
}
RENDERING_LABELS = {"amp", "m", "mobile"}  # amp.example.com, en.m.wikipedia.org
RENDERING_SEGMENTS = {"amp", "print"}  # /news/123/amp/, /print/news/123
AMP_CACHE = ".cdn.ampproject.org"


@dataclass(frozen=True)
class Register:
    """The publisher register with a domain index (``fr.euronews.com`` -> ``euronews``)."""

    publishers: dict[str, Publisher]

    def owner(self, host: str) -> str | None:
        """The publisher whose domain is ``host`` or its nearest parent domain."""
        return _nearest(self.domains, host)

    def rendition_owner(self, host: str) -> str | None:
        """The publisher whose mobile or AMP edition is served at ``host``."""
        return _nearest(self.renditions, host)

    @cached_property
    def domains(self) -> dict[str, str]:
        return {d: pid for pid, p in reversed(self.publishers.items()) for d in p.domains}

    @cached_property
    def renditions(self) -> dict[str, str]:
        return {d: pid for pid, p in reversed(self.publishers.items()) for d in p.rendition_domains}

    def publisher_of(self, source: ExternalSource | ArticleEntry) -> str | None:
        """The id a valid source names, or the owner of its url's domain."""
        if source.publisher is not None:
            return source.publisher if source.publisher in self.publishers else None
        return self.owner(host_of(source.url)) if source.url else None

    def suggest(self, word: str) -> str:
        """'; did you mean ...?' by id, or by name ('Wikipedia' -> 'wikipedia')."""
        by_name = {p.name.casefold(): pid for pid, p in self.publishers.items()}
        if word.casefold() in by_name:
            return f"; did you mean '{by_name[word.casefold()]}'?"
        return did_you_mean(word, self.publishers)


def _nearest(domains: dict[str, str], host: str) -> str | None:
    labels = host.lower().rstrip(".").split(".")
    for start in range(len(labels) - 1):
        owner = domains.get(".".join(labels[start:]))
        if owner is not None:
            return owner
    return None


def did_you_mean(word: str, known) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# -- the register's own rules ---------------------------------------------------------------


def check_register(publishers: dict[str, Publisher], document: Document) -> list[Problem]:
    """A domain belongs to one publisher; ``copy_of`` names a publisher of the register;
    a ``reason_source`` follows the source policy like any other source."""
    problems, owners = [], {}
    for publisher_id, publisher in publishers.items():
        listed = [("domains", i, d) for i, d in enumerate(publisher.domains)]
        listed += [("rendition_domains", i, d) for i, d in enumerate(publisher.rendition_domains)]
        for field, index, domain in listed:
            if domain in owners:
                problems.append(
                    document.problem(
                        (publisher_id, field, index),
                        f"domain '{domain}' already belongs to '{owners[domain]}'; "
                        "a domain belongs to one publisher only",
                        "duplicate-domain",
                    )
                )
            else:
                owners[domain] = publisher_id
        if publisher.copy_of is not None and publisher.copy_of not in publishers:
            problems.append(
                document.problem(
                    (publisher_id, "copy_of"),
                    f"copy_of '{publisher.copy_of}' is not in the register"
                    + did_you_mean(publisher.copy_of, publishers),
                    "unknown-publisher",
                )
            )
    if problems:
        return problems
    register = Register(publishers)
    for publisher_id, publisher in publishers.items():
        if publisher.reason_source is not None:
            problems += check_source(
                register,
                publisher.reason_source,
                document,
                (publisher_id, "reason_source"),
                about=publisher_id,
            )[1]
    return problems


# -- one source -------------------------------------------------------------------------------


def check_source(
    register: Register,
    source: ExternalSource | ArticleEntry,
    document: Document,
    loc: tuple,
    about: str | None = None,
) -> tuple[str | None, list[Problem]]:
    """The publisher id a source resolves to (None when it cannot), and what is wrong with it.

    Rules: an unknown publisher id or url domain, a publisher id that does not own the url's
    domain, a url on a mirror, a non-canonical url, a deprecated publisher, a copy read on a
    host the register does not know or does not trust to show the original. ``about`` is the
    register record a reason source describes: its own pages may be shown as the evidence.
    """
    problems = []
    publisher_id = source.publisher
    if publisher_id is not None and publisher_id not in register.publishers:
        message = f"publisher '{publisher_id}' is not in the register"
        message += register.suggest(publisher_id) or f"; {REGISTER_HINT}"
        problems.append(document.problem((*loc, "publisher"), message, "unknown-publisher"))
        publisher_id = None
    elif (
        source.url is not None
        and about is not None
        and register.owner(host_of(source.url)) == about
    ):
        publisher_id = about  # a register record's evidence may be a page of its own site
    elif source.url is not None:
        publisher_id, found = _check_url_owner(register, source, document, loc)
        problems += found
    if source.url is not None:
        problems += _check_canonical(source.url, document, (*loc, "url"))
    if source.via is not None and register.owner(host_of(source.via)) != (about or ""):
        problems += _check_via(register, source.via, publisher_id, document, (*loc, "via"))
    if publisher_id is not None and publisher_id != about:
        publisher = register.publishers[publisher_id]
        if publisher.reliability == Reliability.DEPRECATED:
            where = (*loc, "publisher") if source.publisher else (*loc, "url")
            message = (
                f"{publisher.name} ('{publisher_id}') is deprecated: {publisher.reason}; "
                "cite another source"
            )
            problems.append(document.problem(where, message, "deprecated-publisher"))
    return publisher_id, problems


COPIERS = (PublisherKind.MIRROR, PublisherKind.CONTENT_FARM, PublisherKind.PERSONAL)
# Copies a reader cannot rely on to show what the original said.
UNRELIABLE_COPIES = {
    PublisherKind.CONTENT_FARM: "a site that reposts, rewrites or machine-translates others' pages",
    PublisherKind.PERSONAL: "a private person's server",
}


def _check_via(register: Register, via: str, publisher_id, document, where) -> list[Problem]:
    """The copy read is on a host the register knows, and one that shows the original
    faithfully: the publisher's own site or edition, an archive, a reputable outlet that
    republished it, or a mirror of that very publisher; never a content farm or a private
    server, whose copy cannot be shown to readers as the original's words."""
    host = host_of(via)
    owner = register.owner(host) or register.rendition_owner(host)
    if owner is None:
        message = (
            f"no publisher of the register has the domain {host}, where this copy was read; "
            "add it to catalog/publishers.yaml (an archive, a mirror with copy_of, or the "
            "outlet that republished the page)"
        )
        return [document.problem(where, message, "unknown-via-host")]
    record = register.publishers[owner]
    if record.kind in UNRELIABLE_COPIES:
        why = UNRELIABLE_COPIES[record.kind]
    elif record.reliability == Reliability.DEPRECATED and not (
        record.kind == PublisherKind.MIRROR and record.copy_of == publisher_id
    ):
        why = f"deprecated: {record.reason}"
    else:
        return []
    message = (
        f"{host} ({record.name}) is {why}; read the page at its publisher, in an archive "
        "or in a faithful copy, and give that as via"
    )
    return [document.problem(where, message, "unreliable-copy")]


def _check_url_owner(register, source, document, loc) -> tuple[str | None, list[Problem]]:
    host = host_of(source.url)
    owner = register.owner(host)
    where = (*loc, "url")
    edition_of = register.rendition_owner(host)
    if owner is None and edition_of is not None:
        edition = register.publishers[edition_of]
        message = (
            f"{host} serves the mobile or AMP edition of {edition.name}; cite the canonical page "
            f"on {edition.domains[0] if edition.domains else 'its own site'} and put this "
            "address in `via`"
        )
        return source.publisher or edition_of, [
            document.problem(where, message, "non-canonical-url")
        ]
    if owner is not None and register.publishers[owner].kind in COPIERS:
        mirror = register.publishers[owner]
        original = register.publishers.get(mirror.copy_of or "")
        copied = original.name if original else "other publishers' pages"
        message = (
            f"{host} copies {copied}; cite the original at its canonical URL "
            "and put this address in `via`"
        )
        return source.publisher, [document.problem(where, message, "mirror-url")]
    if source.publisher is None:
        if owner is None:
            message = f"no publisher of the register has the domain {host}; {REGISTER_HINT}"
            return None, [document.problem(where, message, "unknown-publisher")]
        return owner, []
    if owner != source.publisher:
        named = register.publishers[source.publisher]
        message = (
            f"{host} belongs to '{owner}', not to '{source.publisher}'"
            if owner
            else f"{host} is not among the domains of '{source.publisher}' ({named.name})"
        )
        message += "; cite the url's own publisher or add the domain to the right record"
        return source.publisher, [document.problem(where, message, "publisher-url-mismatch")]
    return owner, []


def canonical_url(url: str) -> str:
    """``url`` without AMP, mobile, print and tracking forms (unchanged when it has none)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith(AMP_CACHE) and re.match(r"/c/(s/)?", parts.path):
        scheme = "https" if parts.path.startswith("/c/s/") else "http"
        inner = parts.path.removeprefix("/c/").removeprefix("s/")
        query = f"?{parts.query}" if parts.query else ""
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        return canonical_url(f"{scheme}://{inner}{query}{fragment}")
    labels = host.split(".")
    kept = [label for label in labels[:-2] if label not in RENDERING_LABELS] + labels[-2:]
    if len(kept) == 2 < len(labels):  # amp.example.com, m.example.com: the site is at www.
        kept.insert(0, "www")
    segments = parts.path.split("/")
    path = "/".join(s for s in segments if s.lower() not in RENDERING_SEGMENTS)
    path = re.sub(r"\.amp(\.html?)?$", lambda m: m.group(1) or "", path)
    if parts.path.endswith("/") and not path.endswith("/"):
        path += "/"
    if kept != labels or path != parts.path:
        netloc = parts.netloc.lower().replace(host, ".".join(kept))
        url = urlunsplit((parts.scheme, netloc, path or "/", parts.query, parts.fragment))
    query = parse_qsl(parts.query, keep_blank_values=True)
    dropped = [name for name, value in query if _noise(name, value)]
    if dropped:
        url = url_query_cleaner(url, dropped, remove=True, unique=False, keep_fragments=True)
    return url


def _noise(name: str, value: str) -> bool:
    name = name.lower()
    if name in TRACKING or name.startswith(TRACKING_PREFIXES):
        return True
    values = RENDERING.get(name, ())
    return values is None or value.lower() in (values or ())


def _check_canonical(url: str, document: Document, where: tuple) -> list[Problem]:
    canonical = canonical_url(url)
    if canonical == url:
        return []
    message = (
        "this is an AMP, mobile, print or tracking form of the page; "
        f"cite the canonical URL {canonical}"
    )
    return [document.problem(where, message, "non-canonical-url")]


# -- the catalog ------------------------------------------------------------------------------


def check_catalog(
    register: Register, systems, system_docs, articles, of_articles: bool = True
) -> list[Problem]:
    """Every source of every system and article header (of the systems alone, with
    ``of_articles`` false), and what claims-only sources back."""
    problems, article_publishers = [], {}
    for article in articles.values():
        article_publishers[article.entry.id], found = check_article_sources(register, article)
        problems += found if of_articles else []
    for system in systems:
        document = system_docs[system.id]
        reliability = {}
        for key, source in system.sources.items():
            if isinstance(source, ArticleQuote):
                publisher_id = article_publishers.get(source.article)
            else:
                publisher_id, found = check_source(register, source, document, ("sources", key))
                problems += found
            if publisher_id is not None:
                reliability[key] = register.publishers[publisher_id].reliability
        problems += check_claims(system, document, reliability, register)
    return problems


def check_article_sources(register: Register, article) -> tuple[str | None, list[Problem]]:
    """An article header's publisher (None when it names none) and the problems of its
    sources: its own and the original it translates."""
    entry, document = article.entry, article.document
    publisher, problems = None, []
    if entry.url or entry.publisher:
        publisher, problems = article_problems(register, entry, document, ())
    if entry.translation_of is not None:
        problems += check_source(register, entry.translation_of, document, ("translation_of",))[1]
    return publisher, problems


# An article is the press being linked, not a source of facts: it may come from any outlet,
# listed in the register or not, trusted or not. A publisher id it names must exist.
_ANY_OUTLET = {"deprecated-publisher", "unknown-publisher"}


def article_problems(register: Register, header, document, loc: tuple):
    """An article header's own publisher and url: the source policy, but for whom it is."""
    publisher, problems = check_source(register, header, document, loc)
    if header.publisher is None:
        problems = [p for p in problems if p.code not in _ANY_OUTLET]
    else:
        problems = [p for p in problems if p.code != "deprecated-publisher"]
    return publisher, problems


def check_claims(system: SystemEntry, document: Document, reliability, register) -> list[Problem]:
    """A claims-only source backs a spec only as a claim, and an entry's description or a
    relation only beside a reliable source; aliases and article quotes are not limited."""
    claims_only = {
        key
        for key, level in reliability.items()
        if level == Reliability.CLAIMS_ONLY and not isinstance(system.sources[key], ArticleQuote)
    }
    problems = []
    for i, spec in enumerate(system.specs):
        if spec.qualifier == Qualifier.CLAIMED:
            continue
        for j, key in enumerate(spec.sources):
            if key in claims_only:
                message = (
                    f"source '{key}' is {_described(system, key, register)}, which backs only "
                    "claims; add `qualifier: claimed` to this spec or cite another source"
                )
                problems.append(
                    document.problem(("specs", i, "sources", j), message, "claims-only-source")
                )
    groups = [(("entry_sources",), system.entry_sources)]
    groups += [(("relations", i, "sources"), r.sources) for i, r in enumerate(system.relations)]
    for loc, keys in groups:
        if any(reliability.get(key) == Reliability.RELIABLE for key in keys):
            continue
        for j, key in enumerate(keys):
            if key in claims_only:
                message = (
                    f"source '{key}' is {_described(system, key, register)}, which backs only "
                    "claims; cite a reliable source beside it"
                )
                problems.append(document.problem((*loc, j), message, "claims-only-source"))
    return problems


def _described(system: SystemEntry, key: str, register: Register) -> str:
    source = system.sources[key]
    publisher_id = source.publisher or register.owner(host_of(source.url or ""))
    publisher = register.publishers[publisher_id]
    return f"from {publisher.name} ({publisher.kind.replace('-', ' ')})"
