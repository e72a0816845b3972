"""The curator's daily loop: bring an article in, scaffold a new entry.

Both write ordinary catalog files (what a curator would write by hand) and refuse to
overwrite anything; ``refdb check`` and ``refdb build`` then take over.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import yaml
from markdown_it import MarkdownIt
from pydantic import ValidationError

from refdb.catalog import romanization, sources
from refdb.catalog.loader import Document, decode, read_bytes
from refdb.catalog.schema import (
    ArticleEntry,
    Category,
    check_country,
    check_language,
    check_partial_date,
)
from refdb.catalog.validate import MAX_ARTICLE_BYTES, check_catalog
from refdb.linking import linker
from refdb.report import named_in_catalog, unclaimed
from refdb.text import compact, sha256

_BLOCKS = {
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "blockquote",
    "pre",
    "figcaption",
    "td",
    "th",
    "div",
    "section",
    "article",
    "hr",
}


MAX_SOURCE_BYTES = 20 * 1024 * 1024  # an HTML page is larger than the text kept from it


class CurationError(ValueError):
    """A request the catalog cannot take as it is; the message says what to do."""


# Latin letters Unicode does not decompose into a base letter and a mark: spelled out, so a
# Polish 'przeniosła' is 'przeniosla', not 'przeniosa'.
_UNDECOMPOSED = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae",
     "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i", "þ": "th", "Þ": "Th"}
)  # fmt: skip


def slugify(text: str, limit: int = 60) -> str:
    """'Kim Jong Un visite Vladivostok' -> 'kim-jong-un-visite-vladivostok'; Cyrillic is
    romanized first ('Нічна атака' -> 'nichna-ataka'), so a title in any script gives a slug."""
    if romanization.is_cyrillic(text):
        text = romanization.romanize(text, "en")[0]
    text = text.translate(_UNDECOMPOSED)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:  # cut at a word, not inside one
        slug = slug[: limit + 1].rsplit("-", 1)[0]
    return slug or "article"


_HIDDEN = {"head", "script", "style", "noscript", "template", "nav", "footer"}


class _Paragraphs(HTMLParser):
    """One pass over a page: its visible text cut into paragraphs at every block tag, and
    the text of its first h1 (else its title). Linear in the page however deep its nesting
    (walking a parsed tree for the innermost blocks cost the square of the depth)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.pieces: list[str] = []
        self.hidden = 0  # depth inside elements whose text is not shown
        self.open_titles: dict[str, list[str]] = {}
        self.titles: dict[str, str] = {}

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        if tag in _BLOCKS:
            self._end_paragraph()
        if tag in ("h1", "title") and tag not in self.titles:
            self.open_titles.setdefault(tag, [])

    def handle_endtag(self, tag) -> None:
        if tag in _HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in _BLOCKS:
            self._end_paragraph()
        if tag in self.open_titles:
            self.titles[tag] = " ".join(" ".join(self.open_titles.pop(tag)).split())

    def handle_data(self, data) -> None:
        for pieces in self.open_titles.values():
            pieces.append(data)
        if not self.hidden:
            self.pieces.append(data)

    def _end_paragraph(self) -> None:
        paragraph = " ".join(" ".join(self.pieces).split())
        if paragraph:
            self.paragraphs.append(paragraph)
        self.pieces = []

    def close(self) -> None:
        super().close()
        self._end_paragraph()


def html_to_text(html: str) -> tuple[str, str | None]:
    """Visible text of an HTML page, one paragraph per block, and its title if it has one."""
    parser = _Paragraphs()
    parser.feed(html)
    parser.close()
    title = parser.titles.get("h1") or parser.titles.get("title") or None
    return "\n\n".join(parser.paragraphs), title


def plain_title(text: str) -> str | None:
    """The headline of a plain text pasted from a page: its first line, when a blank line
    follows it and it reads as a headline (one line, under 200 characters, not a sentence
    ending in a full stop); None otherwise."""
    first, blank, _ = text.partition("\n\n")
    first = first.strip()
    if not blank or "\n" in first or not 0 < len(first) <= 200 or first.endswith("."):
        return None
    return first


def markdown_to_text(markdown: str) -> tuple[str, str | None]:
    return html_to_text(MarkdownIt().render(markdown))


def register_publisher(catalog, publisher: str | None, url: str | None) -> str | None:
    """The register id of the article's publisher (given, or found from the url's domain;
    None for an outlet the register does not list, which an article may come from: the
    register governs the sources of facts, not the press being linked); refuses what
    ``refdb check`` would refuse, before anything is written."""
    register = sources.Register(catalog.publishers)
    if publisher is None and url is not None:
        publisher = register.owner(sources.host_of(url))
    where = Document(Path(catalog.root) / "publishers.yaml", {})
    header = SimpleNamespace(publisher=publisher, url=url, via=None)
    problems = sources.article_problems(register, header, where, ())[1]
    if problems:
        raise CurationError("; ".join(p.message for p in problems))
    return publisher


@dataclass
class NewArticle:
    id: str
    header: Path
    text_path: Path
    mentioned: list[tuple[str, int]]  # (system id, mentions)
    unlinked: list[str]
    left_out: list[str]  # catalog files with problems, not used to find what the text names


def add_article(
    source: Path,
    catalog_dir: Path,
    *,
    title: str | None = None,
    publisher: str | None = None,
    date: str,
    language: str,
    url: str | None = None,
) -> NewArticle:
    """Write ``source`` (text, Markdown or HTML) into the catalog as a new article."""
    source = Path(source)
    raw = decode(source, read_bytes(source, limit=MAX_SOURCE_BYTES))
    found_title = None
    if source.suffix.lower() in (".html", ".htm"):
        text, found_title = html_to_text(raw)
    elif source.suffix.lower() in (".md", ".markdown"):
        text, found_title = markdown_to_text(raw)
    else:
        text = raw.strip()
        found_title = plain_title(text)
    check_partial_date(date)
    check_language(language)
    title = title or found_title
    if not title:
        raise CurationError("no title found in the file; pass --title")
    _check_text(text)
    article_id = slugify(f"{date} {title}")
    fields = {
        "id": article_id,
        "title": title,
        "publisher": publisher,
        "date": date,
        "language": language,
        "url": url,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    _check_header(fields)
    catalog, problems = check_catalog(Path(catalog_dir))  # other files' problems are theirs
    fields["publisher"] = register_publisher(catalog, publisher, url)
    if url and not fields["publisher"]:
        fields["note"] = (
            f"The publisher ({sources.host_of(url)}) is not in the publisher register: unrated."
        )
    fields = {k: v for k, v in fields.items() if v is not None}
    articles = Path(catalog_dir) / "articles"
    header, text_path = articles / f"{article_id}.yaml", articles / f"{article_id}.txt"
    if header.exists() or text_path.exists():
        raise CurationError(
            f"an article with id '{article_id}' exists ({header}); pass another --title"
        )
    digest = sha256(text)
    for existing in catalog.articles:
        if sha256(existing.text) == digest:
            raise CurationError(f"this text is already in the catalog as '{existing.entry.id}'")
    articles.mkdir(parents=True, exist_ok=True)
    text_path.write_text(text, encoding="utf-8")
    header.write_text(yaml.safe_dump(fields, allow_unicode=True, sort_keys=False), encoding="utf-8")
    left_out = sorted({p.path for p in problems})
    return NewArticle(
        article_id, header, text_path, *_what_it_names(catalog, text, language), left_out
    )


def _check_text(text: str) -> None:
    """The text as `refdb check` will read it: not empty, no NUL, within the size limit."""
    if not text.strip():
        raise CurationError("the article has no text; check the file")
    if "\0" in text:
        raise CurationError("the article text contains a NUL character; remove it")
    if len(text.encode()) > MAX_ARTICLE_BYTES:
        raise CurationError(f"the article text is longer than {MAX_ARTICLE_BYTES:,} bytes")


def _check_header(fields: dict) -> None:
    """The header validated by the schema `refdb check` uses, before anything is written."""
    problems = [
        f"--{key}: NUL character; remove it"
        for key, value in fields.items()
        if isinstance(value, str) and "\0" in value
    ]
    try:
        ArticleEntry.model_validate(fields)
    except ValidationError as error:
        problems += [
            f"--{item['loc'][0] if item['loc'] else 'header'}: "
            + item["msg"].removeprefix("Value error, ")
            for item in error.errors()
        ]
    if problems:
        raise CurationError("; ".join(problems).replace("--language", "--lang"))


def _what_it_names(catalog, text: str, language: str) -> tuple[list[tuple[str, int]], list[str]]:
    hits = linker.Linker(catalog.systems).hits(text, language)
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.name.system_id] = counts.get(hit.name.system_id, 0) + 1
    covered = [(h.start, h.end) for h in hits]
    known = named_in_catalog(catalog)
    unlinked = []
    for start, end in unclaimed(text, language, covered):
        named_by = known.get(compact(text[start:end]))
        said = f" (named by {', '.join(named_by)}; no entry)" if named_by else ""
        unlinked.append(text[start:end] + said)
    return sorted(counts.items()), list(dict.fromkeys(unlinked))


SCAFFOLD = """\
# {name}: a new entry. Fill in every empty value, then run `refdb check`; the check
# fails, naming each line, until the required facts and their sources are there.
# The format is documented in catalog/README.md.
id: {id}
name: {name_yaml}
designations: []                  # official designations, e.g. [Tu-160]; the first is the primary one
# nato_reporting_name: ...        # only if NATO assigned one
category: {category}              # one of: {categories}
role: ""                          # what it is for, in a few words
country: {country}                # country of origin: ISO 3166-1 alpha-2 (SU for Soviet-era designs)
# designer: ...
# manufacturer: ...
# status: in-service              # in-service, in-development, in-testing, in-refit, reserve, retired
operators: []                     # ISO codes of current operators
description: ""                   # one to three sentences a reader of a report would want
entry_sources: [source-1]         # the sources behind the fields above
aliases: []                       # e.g. - {{text: "Ту-160", lang: ru, kind: native}}
specs: []                         # e.g. - {{property: max_range, value: 2500, unit: km, sources: [source-1]}}
relations: []                     # e.g. - {{type: carries, target: kh-101, sources: [source-1]}}
sources:                          # url: the original's canonical address, its domain in catalog/publishers.yaml
  source-1: {{title: "", url: "https://", accessed: "{today}"}}
"""


def new_system(
    system_id: str,
    catalog_dir: Path,
    *,
    name: str | None = None,
    category: str | None = None,
    country: str | None = None,
    today: str,
) -> Path:
    """Write a commented entry that `refdb check` accepts once its facts are filled in."""
    if name is not None and any(
        unicodedata.category(c) in ("Cc", "Zl", "Zp") or c == "\x85" for c in name
    ):
        raise CurationError("--name must be one line of text, without control characters")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", system_id):
        raise CurationError(
            f"'{system_id}' is not a slug; use lowercase letters, digits and hyphens"
        )
    if category and category not in {c.value for c in Category}:
        raise CurationError(f"unknown category '{category}'")
    if country:
        check_country(country)
    path = Path(catalog_dir) / "systems" / f"{system_id}.yaml"
    if path.exists():
        raise CurationError(f"{path} exists; edit it instead")
    name = name or system_id.upper()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        SCAFFOLD.format(
            id=system_id,
            name=name,
            name_yaml=yaml.safe_dump(name, allow_unicode=True).strip().removesuffix("\n..."),
            category=category or '""',
            country=country or '""',
            today=today,
            categories=", ".join(c.value for c in Category),
        ),
        encoding="utf-8",
    )
    return path
