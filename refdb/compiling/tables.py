"""SQLModel table models: the contract of the published database.

Ids of published rows are catalog slugs or are derived from the row's content key
(``ids.py``), so Datasette row URLs such as ``/refdb/systems/tu-160`` or
``/refdb/specs/tu-160--max_range--1`` are stable permalinks across builds: editing one entry
changes no other entry's ids.
"""

from __future__ import annotations

import types

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class System(SQLModel, table=True):
    __tablename__ = "systems"

    id: str = Field(primary_key=True, description="Catalog slug; never changes once published")
    name: str = Field(index=True, description="Canonical English name")
    designation: str = Field(description="Primary designation")
    designations: str = Field(description="All official designations, separated by ' · '")
    nato_reporting_name: str | None = Field(default=None, index=True)
    category: str = Field(index=True)
    family: bool = Field(
        default=False, description="Groups versions with entries of their own; its card is theirs"
    )
    role: str | None = None
    country: str = Field(
        index=True, description="Country of origin, ISO 3166-1 alpha-2 (SU: Soviet Union)"
    )
    country_name: str
    designer: str | None = Field(default=None, index=True)
    manufacturer: str | None = None
    status: str | None = Field(default=None, index=True)
    operators: str = Field(
        default="", description="Operating countries, ISO codes separated by ', '"
    )
    wikidata: str | None = None
    description: str
    search_names: str = Field(description="Every name and spelling, for full-text search")
    file: str = Field(description="Catalog file this entry is compiled from")
    content_sha256: str = Field(description="SHA-256 of the entry's file: its version")
    modified: str | None = Field(
        default=None, description="Date of the last commit that changed the entry's file"
    )


class Alias(SQLModel, table=True):
    __tablename__ = "aliases"

    id: str = Field(primary_key=True, description="<system id>--<key>")
    system_id: str = Field(foreign_key="systems.id", index=True)
    text: str = Field(index=True)
    key: str = Field(
        index=True,
        description="The name folded and without separators: what a search for it must equal",
    )
    lang: str | None = Field(default=None, index=True)
    kind: str = Field(
        index=True,
        description="name, designation, native, nato-name, transliteration, nickname, press-shorthand or misnomer",
    )
    case_sensitive: bool = False
    used_in: str | None = Field(
        default=None,
        description="The article languages in which it is a name (comma-separated); empty: all",
    )
    note: str | None = None
    position: int = Field(description="Place among the entry's names: the card lists them so")


class Form(SQLModel, table=True):
    """A spelling the linker and search look for: a catalog name or one derived from it."""

    __tablename__ = "forms"

    id: str = Field(primary_key=True, description="<system id>--<key>")
    system_id: str = Field(foreign_key="systems.id", index=True)
    alias_id: str | None = Field(  # indexed: removing an alias looks its forms up
        default=None,
        foreign_key="aliases.id",
        index=True,
        description="The catalog name it comes from",
    )
    text: str
    key: str = Field(index=True, description="Folded, without separators: what a search equals")
    rule: str = Field(
        index=True,
        description="catalog, inflection:ru/uk, ukrainian, romanization:<language>, "
        "translation:<language> or designer",
    )
    lang: str | None = None


class Redirect(SQLModel, table=True):
    """Ids users may try (e.g. a press misnomer) that lead to an entry."""

    __tablename__ = "redirects"

    id: str = Field(primary_key=True)
    system_id: str = Field(foreign_key="systems.id", index=True)


class Publisher(SQLModel, table=True):
    """The publisher register (catalog/publishers.yaml): how far each publisher is trusted."""

    __tablename__ = "publishers"

    id: str = Field(primary_key=True, description="Register id (slug)")
    name: str
    kind: str = Field(index=True, description="wire, newspaper, state-media, mirror…")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    domains: str = Field(default="", description="Web domains, separated by ', '")
    rendition_domains: str = Field(
        default="", description="Hosts of its mobile or AMP edition, separated by ', '"
    )
    copy_of: str | None = Field(default=None, description="For a copy: the publisher it copies")
    reliability: str = Field(index=True, description="reliable, claims-only or deprecated")
    reason: str = Field(description="Why the register trusts the publisher this far")


class Category(SQLModel, table=True):
    """The categories of the vocabulary (``refdb/catalog/categories.py``), with their labels."""

    __tablename__ = "categories"

    id: str = Field(primary_key=True, description="The slug an entry's category is")
    label: str
    broader: str = Field(default="", description="Broader categories, separated by ', '")
    position: int


class CardFact(SQLModel, table=True):
    """One fact of a category's standard card: what a reference gives for such a system."""

    __tablename__ = "card_facts"

    id: str = Field(primary_key=True, description="<category>--<position>")
    category_id: str = Field(foreign_key="categories.id", index=True)
    position: int
    label: str
    properties: str = Field(description="Properties that give the fact, separated by ', '")
    headline: bool = Field(description="Shown among the key facts at the top of an entry")


class CategoryWord(SQLModel, table=True):
    """A word the press of one language uses for a category ('frégate', 'крылат* ракет*')."""

    __tablename__ = "category_words"

    id: str = Field(primary_key=True, description="<category>--<language>--<n>")
    category_id: str = Field(foreign_key="categories.id", index=True)
    lang: str
    word: str = Field(description="'*' takes any ending")
    key: str = Field(index=True, description="The word folded as names are, '*' dropped")


class Article(SQLModel, table=True):
    __tablename__ = "articles"

    id: str = Field(primary_key=True)
    title: str
    title_is_descriptive: bool = Field(
        default=False, description="True when the title was written by a curator, not the publisher"
    )
    publisher: str | None = Field(default=None, index=True, description="Publisher's name")
    publisher_id: str | None = Field(default=None, foreign_key="publishers.id", index=True)
    author: str | None = None
    date: str = Field(index=True, description="Publication date, YYYY, YYYY-MM or YYYY-MM-DD")
    language: str = Field(index=True)
    url: str | None = Field(default=None, description="The original publisher's canonical URL")
    via: str | None = Field(default=None, description="The copy actually read, when not url")
    translation_of_title: str | None = Field(
        default=None, description="Title of the original story this text translates"
    )
    translation_of_url: str | None = None
    note: str | None = None
    text: str
    text_sha256: str
    file: str
    anchored: str = Field(
        default="",
        description="The entries its curator's mention anchors name, separated by spaces",
    )


class Source(SQLModel, table=True):
    __tablename__ = "sources"

    id: str = Field(primary_key=True, description="<system id>--<source key>")
    system_id: str = Field(foreign_key="systems.id", index=True)
    key: str
    number: int = Field(description="Position in the entry's numbered source list")
    kind: str = Field(description="external or article")
    title: str | None = None
    title_is_descriptive: bool = Field(
        default=False, description="True when the title was written by a curator, not the page"
    )
    publisher: str | None = Field(default=None, description="Publisher's name")
    publisher_id: str | None = Field(default=None, foreign_key="publishers.id", index=True)
    author: str | None = None
    url: str | None = Field(default=None, description="The original publisher's canonical URL")
    via: str | None = Field(default=None, description="The copy actually read (mirror, repost)")
    via_publisher_id: str | None = Field(
        default=None, foreign_key="publishers.id", description="Whose host the copy is on"
    )
    archive_url: str | None = None
    language: str | None = Field(default=None, description="ISO 639-1 language of the page")
    date: str | None = None
    accessed: str | None = None
    note: str | None = None
    article_id: str | None = Field(default=None, foreign_key="articles.id", index=True)
    quote: str | None = None
    quote_start: int | None = None
    quote_end: int | None = None


class Spec(SQLModel, table=True):
    __tablename__ = "specs"

    id: str = Field(primary_key=True, description="<system id>--<property>--<n-th value>")
    system_id: str = Field(foreign_key="systems.id", index=True)
    property: str = Field(index=True)
    property_label: str
    value: float | None = Field(default=None, description="Number as the source gives it")
    value_text: str | None = Field(
        default=None, description="Dates (YYYY[-MM[-DD]]) and words (engines, guidance...)"
    )
    unit: str | None = None
    value_normalized: float | None = Field(
        default=None, index=True, description="Value in unit_normalized, for comparison"
    )
    unit_normalized: str | None = None
    qualifier: str | None = None
    contested: bool = Field(
        default=False, description="Sources give other values for this property"
    )
    note: str | None = None
    position: int = Field(description="Place in the entry's list of specs")


class Relation(SQLModel, table=True):
    __tablename__ = "relations"

    id: str = Field(primary_key=True, description="<system id>--<type>--<target id>")
    system_id: str = Field(foreign_key="systems.id", index=True)
    type: str = Field(index=True)
    target_id: str = Field(foreign_key="systems.id", index=True)
    count: int | None = None
    status: str | None = None
    note: str | None = None
    derived: bool = Field(
        default=False, description="Inverse of a relation written on the target's entry"
    )


def _fact_sources(class_name: str, table: str, fact_column: str, facts: str, doc: str):
    """A join table: which sources (by ``sources.id``) back which fact (by ``<facts>.id``).
    Both columns are foreign keys, so Datasette links a fact to its sources and back."""

    def body(namespace: dict) -> None:
        namespace["__doc__"] = doc
        namespace["__tablename__"] = table
        namespace["__annotations__"] = {fact_column: str, "source_id": str}
        namespace[fact_column] = Field(foreign_key=f"{facts}.id", primary_key=True)
        namespace["source_id"] = Field(foreign_key="sources.id", primary_key=True, index=True)

    return types.new_class(class_name, (SQLModel,), {"table": True}, body)


SystemSource = _fact_sources(
    "SystemSource",
    "system_sources",
    "system_id",
    "systems",
    "A source backing the entry as a whole (its existence, names and designations).",
)
AliasSource = _fact_sources(
    "AliasSource", "alias_sources", "alias_id", "aliases", "A source backing one name."
)
SpecSource = _fact_sources(
    "SpecSource", "spec_sources", "spec_id", "specs", "A source backing one spec value."
)
RelationSource = _fact_sources(
    "RelationSource", "relation_sources", "relation_id", "relations",
    "A source backing a relation (a derived one: the sources of the relation it inverts).",
)  # fmt: skip


class Mention(SQLModel, table=True):
    """A system named in an article: position and quote selectors (W3C Web Annotation)."""

    __tablename__ = "mentions"

    id: str = Field(primary_key=True, description="<article id>-<start offset>")
    article_id: str = Field(foreign_key="articles.id", index=True)
    system_id: str = Field(foreign_key="systems.id", index=True)
    alias_id: str | None = Field(default=None, foreign_key="aliases.id", index=True)
    exact: str = Field(description="The article's own words: text[start:end]")
    start: int = Field(description="Offset of the first character, in code points")
    end: int
    prefix: str
    suffix: str
    sentence: str
    sentence_start: int
    sentence_end: int
    text_sha256: str = Field(description="SHA-256 of the article text the offsets point into")
    name_kind: str | None = Field(
        default=None, description="Kind of the matched name (misnomer, press-shorthand…)"
    )
    origin: str = Field(
        description="alias (found by the linker) or curator (a curator's inclusion)"
    )
    form: str | None = Field(default=None, description="The spelling the linker matched")
    rule: str = Field(
        default="catalog",
        description="How it matched: the form's rule, plus caps, spacing, ending or variant-suffix",
    )


class CatalogFile(SQLModel, table=True):
    """Each file the build read, with what ``stat`` said of it: the next build reads again
    only a file whose record changed (or that changed near the build, see ``started_ns``)."""

    __tablename__ = "catalog_files"

    path: str = Field(primary_key=True)
    sha256: str
    size: int | None = Field(default=None, sa_type=BigInteger)
    mtime_ns: int | None = Field(default=None, sa_type=BigInteger)
    ctime_ns: int | None = Field(default=None, sa_type=BigInteger)
    inode: int | None = Field(default=None, sa_type=BigInteger)


class BuildInfo(SQLModel, table=True):
    __tablename__ = "build_info"

    id: int = Field(primary_key=True)
    catalog_sha256: str = Field(description="SHA-256 over every catalog file's path and content")
    refdb_version: str
    code_sha256: str = Field(description="Hash of refdb's version and code: what built it")
    built_at: str
    started_ns: int | None = Field(
        default=None,
        sa_type=BigInteger,
        description="When the build began reading files (ns since the epoch): a file modified "
        "since, or just before, is read again by the next build whatever its stat says",
    )
    git_commit: str | None = None
    git_dirty: bool | None = Field(
        default=None, description="The catalog had changes not yet committed (null outside git)"
    )
    systems: int
    articles: int
    mentions: int


class Flag(SQLModel, table=True):
    """Where an article and the catalog disagree: for a curator to look at, never an error."""

    __tablename__ = "flags"

    id: str = Field(primary_key=True, description="Hash of the flag's key (sqlite-utils' hash_id)")
    system_id: str = Field(foreign_key="systems.id", index=True)
    kind: str = Field(index=True, description="quote-number, misnomer or class-word")
    message: str
    article_id: str | None = Field(default=None, foreign_key="articles.id", index=True)
    mention_id: str | None = Field(default=None, foreign_key="mentions.id")
    source_id: str | None = Field(default=None, foreign_key="sources.id")
    spec_id: str | None = Field(default=None, foreign_key="specs.id")


class EntryVersion(SQLModel, table=True):
    """One version of an entry as its git history (or the working tree) holds it: what a
    citation's version names, kept so it can be read as it was."""

    __tablename__ = "entry_versions"

    id: str = Field(primary_key=True, description="<system id>@<version>")
    system_id: str = Field(
        index=True, description="The entry's id now (or when it was removed); not a key"
    )
    version: str = Field(index=True, description="First 12 hex digits of the file's SHA-256")
    sha256: str = Field(description="SHA-256 of the entry's file as it was")
    id_then: str = Field(index=True, description="The entry's id in this version")
    file: str = Field(description="Catalog path of the file in this version")
    name: str
    designation: str
    country_name: str | None = None
    git_commit: str | None = Field(
        default=None, description="First commit with this content; null if not committed"
    )
    date: str | None = Field(default=None, description="That commit's date (ISO 8601)")
    yaml: str = Field(description="The file's text")
    data: str | None = Field(default=None, description="The entry's data, JSON")
    problem: str | None = Field(
        default=None, description="Why the data is as written rather than validated"
    )


class EntryChange(SQLModel, table=True):
    """One step of an entry's history: a commit that added, changed, renamed or removed it."""

    __tablename__ = "entry_changes"

    id: str = Field(primary_key=True, description="<system id>:<sequence>")
    system_id: str = Field(index=True)
    sequence: int = Field(description="1 for the oldest step")
    kind: str = Field(
        description="added, changed, renamed, removed, restored, earliest (a shallow clone's "
        "first) or current (no git)"
    )
    version: str | None = Field(default=None, description="The version it made; null if removed")
    previous_version: str | None = None
    file: str
    renamed_from: str | None = None
    git_commit: str | None = Field(default=None, description="Null for a change not committed yet")
    date: str | None = None
    message: str | None = Field(default=None, description="The commit's subject line")
    changes: str = Field(description="What changed, in words: a JSON list of sentences")


# The columns each full-text index covers, one list for every target: SQLite's FTS5 tables
# (built whole, then patched row by row) and PostgreSQL's tsvector columns.
FULL_TEXT: dict[str, tuple[str, ...]] = {
    "systems": ("name", "designations", "nato_reporting_name", "search_names", "description"),
    "mentions": ("sentence", "exact"),
    "articles": ("title", "text"),  # what finds a system the catalog lacks
}
