"""What a curator may write in ``catalog/``: the one declaration of the catalog's contract.

Models are plain pydantic (strict, unknown fields forbidden); the database rows in
``tables.py`` are built only from values that passed here. Vocabularies (categories, alias
kinds, relation types, spec properties and their units) are declared once, in this module.
"""

from __future__ import annotations

import calendar
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    model_validator,
)

from refdb.catalog import units
from refdb.catalog.categories import CATEGORIES
from refdb.catalog.properties import PROPERTIES, Property  # noqa: F401  (the schema's vocabulary)

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Slug = Annotated[str, Field(pattern=SLUG, max_length=80)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
LongText = Annotated[str, Field(min_length=1, max_length=20000)]
Url = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)]
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def check_one_line(value: str) -> str:
    """A name or a title is one line: a line break inside it (LF, CR, NEL, U+2028...) would
    split it on a page and in a citation."""
    found = next((char for char in value if char in _LINE_BREAKS), None)
    if found is not None:
        raise ValueError(f"a name or title is one line; remove the line break (U+{ord(found):04X})")
    return value


Line = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(check_one_line)]

_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def check_partial_date(value: str) -> str:
    """Accept ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` naming a real calendar day or month."""
    match = _PARTIAL_DATE.fullmatch(value)
    if not match:
        raise ValueError(f"'{value}' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(part) if part else None for part in match.groups())
    if not 1800 <= year <= 2100:
        raise ValueError(f"year {year} is out of range")
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"'{value}': month {month} does not exist")
    if day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(f"'{value}': day {day} does not exist in that month")
    return value


def check_country(code: str) -> str:
    """ISO 3166-1 alpha-2, plus SU (the Soviet Union, ISO 3166-3) for Soviet-era designs."""
    if re.fullmatch(r"[A-Z]{2}", code) and (pycountry.countries.get(alpha_2=code) or code == "SU"):
        return code
    raise ValueError(f"'{code}' is not an ISO 3166-1 alpha-2 country code (e.g. RU, FR, SU)")


def load_code_lists() -> None:
    """Read the ISO country and language lists now rather than at the first code checked:
    a tenth of a second that an incremental build spends while its stat scan runs."""
    len(pycountry.countries), len(pycountry.languages)


def check_language(code: str) -> str:
    if re.fullmatch(r"[a-z]{2}", code) and pycountry.languages.get(alpha_2=code):
        return code
    raise ValueError(f"'{code}' is not an ISO 639-1 language code (e.g. en, fr, ru)")


PartialDate = Annotated[str, AfterValidator(check_partial_date)]


def vocabulary(enum: type[StrEnum]) -> Any:
    """An enum field that takes the value's text (strict mode would demand the enum object)."""
    return Annotated[enum, Field(strict=False)]


Country = Annotated[str, AfterValidator(check_country)]
Language = Annotated[str, AfterValidator(check_language)]


# The categories and their standard cards are data, in ``categories.py``.
Category = StrEnum("Category", {name.upper().replace("-", "_"): name for name in CATEGORIES})


class Status(StrEnum):
    IN_SERVICE = "in-service"
    IN_DEVELOPMENT = "in-development"
    IN_TESTING = "in-testing"
    IN_REFIT = "in-refit"
    RESERVE = "reserve"
    RETIRED = "retired"


class AliasKind(StrEnum):
    """How a name relates to the entry; a misnomer links mentions but is shown as wrong."""

    DESIGNATION = "designation"
    NATIVE = "native"
    NATO_NAME = "nato-name"
    TRANSLITERATION = "transliteration"
    NICKNAME = "nickname"
    PRESS_SHORTHAND = "press-shorthand"
    MISNOMER = "misnomer"


class Qualifier(StrEnum):
    APPROX = "approx"
    AT_LEAST = "at-least"
    UP_TO = "up-to"
    CLAIMED = "claimed"
    ESTIMATED = "estimated"


class RelationStatus(StrEnum):
    PLANNED = "planned"
    TESTED = "tested"
    OPERATIONAL = "operational"
    DISPUTED = "disputed"
    RETIRED = "retired"


# Curators write one side of a relation; the build derives the other.
RELATION_INVERSES: dict[str, str] = {
    "carries": "carried-by",
    "launches": "launched-from",
    "variant-of": "has-variant",
    "member-of-class": "class-of",
}
RELATION_INVERSES |= {inverse: forward for forward, inverse in RELATION_INVERSES.items()}
RelationType = Literal[tuple(RELATION_INVERSES)]  # type: ignore[valid-type]


PropertyName = Literal[tuple(PROPERTIES)]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def model_post_init(self, context, /) -> None:
        """Models alike share one record of the fields their file set: a set of its own on
        each of the 500,000 models of 10,000 entries was a quarter of their memory. (A
        frozen model never changes it; pydantic copies it before changing a copy's.)"""
        fields = self.__pydantic_fields_set__
        shared = _FIELDS_SET.setdefault(frozenset(fields), fields)
        object.__setattr__(self, "__pydantic_fields_set__", shared)


_FIELDS_SET: dict[frozenset, set] = {}


def _empty():
    """A list field that starts empty: each model's list made by list(), where a literal []
    as the default is deep-copied for every model (a tenth of an article's validation)."""
    return Field(default_factory=list)


class ExternalSource(Strict):
    """A published work, cited at its original publisher (``url``, ``publisher``) even when
    the copy actually read is elsewhere (``via``); ``sources.py`` applies the source policy."""

    title: Line
    title_is_descriptive: bool = False
    url: Url | None = None
    publisher: Text | None = None  # an id of catalog/publishers.yaml; checked by sources.py
    via: Url | None = None
    archive_url: Url | None = None
    language: Language | None = None
    author: Text | None = None
    date: PartialDate | None = None
    accessed: PartialDate | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _findable(self) -> ExternalSource:
        if not (self.url or self.publisher):
            raise ValueError("a source needs a url or a publisher so a reader can find it")
        return self


class ArticleQuote(Strict):
    """Words quoted from an article of the catalog; the build resolves them to a span."""

    article: Slug
    quote: Text
    prefix: Text | None = None
    note: Text | None = None


def _source_kind(value: Any) -> str:
    return "article" if isinstance(value, dict) and "article" in value else "external"


Source = Annotated[
    Annotated[ExternalSource, Tag("external")] | Annotated[ArticleQuote, Tag("article")],
    Discriminator(_source_kind),
]
SourceIds = Annotated[list[Slug], Field(min_length=1, max_length=50)]


# Words near a name that decide whether it names this system: ``context`` (one must stand
# within the window), ``not_context`` (none may). A word ending in ``*`` matches any ending.
ContextWords = Annotated[
    list[Annotated[str, Field(min_length=2, max_length=80, pattern=r"\w")]], Field(max_length=50)
]


class Alias(Strict):
    text: Annotated[str, Field(min_length=2, max_length=200), AfterValidator(check_one_line)]
    lang: Language
    kind: vocabulary(AliasKind)
    case_sensitive: bool = False
    context: ContextWords = _empty()
    not_context: ContextWords = _empty()
    # Links only where a word for its class of weapon stands in the sentence (its category's
    # words or "missile", "ракета"... in any catalog language), or where the article names the
    # system plainly elsewhere: for a name that is also an ordinary word ("Club", "Kodiak").
    class_context: bool = False
    # The article languages in which the alias is a name (a press shorthand of one press:
    # "Tu-22" is the Tu-22M in French reports, the 1950s Tu-22 in Polish); empty: all.
    used_in: list[Language] = _empty()
    note: Text | None = None
    sources: list[Slug] = _empty()


class Spec(Strict):
    """One sourced value of one property; contested values are several specs side by side."""

    property: PropertyName
    value: float | int | str
    unit: str | None = None
    qualifier: vocabulary(Qualifier) | None = None
    note: Text | None = None
    sources: SourceIds

    @model_validator(mode="after")
    def _value_fits_property(self) -> Spec:
        prop = PROPERTIES[self.property]
        if prop.kind == "text":
            if not isinstance(self.value, str) or self.unit is not None or not self.value.strip():
                raise ValueError(f"{self.property} takes words (a quoted string) and no unit")
            return self
        if prop.kind == "date":
            if not isinstance(self.value, str) or self.unit is not None:
                raise ValueError(
                    f"{self.property} takes a quoted date (YYYY, YYYY-MM or YYYY-MM-DD) and no unit"
                )
            check_partial_date(self.value)
            return self
        if isinstance(self.value, str):
            raise ValueError(f"{self.property} takes a number, not the string '{self.value}'")
        if self.value < 0:
            raise ValueError(f"{self.property} cannot be negative")
        if prop.kind == "count":
            if self.unit is not None or not isinstance(self.value, int):
                raise ValueError(f"{self.property} is a whole count and takes no unit")
            amount = self.value
        else:
            if self.unit is None:
                raise ValueError(f"{self.property} needs a unit, e.g. '{prop.canonical_unit}'")
            amount = units.convert(self.value, self.unit, prop.canonical_unit)
            if amount is None and self.unit == "mach":  # kept as written, bounded all the same
                amount = self.value * units.MACH_AT_ALTITUDE_KMH
        if amount is not None and amount > prop.maximum:
            raise ValueError(
                f"{self.property} of {self.value} {self.unit or ''} is beyond any real system"
            )
        return self


class Relation(Strict):
    type: RelationType
    target: Slug
    count: Annotated[int, Field(ge=1, le=1000)] | None = None
    status: vocabulary(RelationStatus) | None = None
    note: Text | None = None
    sources: SourceIds


# What one entry may hold: more than a reference card needs, few enough that an entry's page,
# its row and its forms stay small (every name yields dozens of forms).
MAX_NAMES = 300
MAX_FACTS = 300


def _at_most(count: int):
    return Field(max_length=count)


class SystemEntry(Strict):
    """One weapons system: ``catalog/systems/<id>.yaml``."""

    id: Slug
    name: Line
    designations: Annotated[list[Line], _at_most(50)] = _empty()
    nato_reporting_name: Line | None = None
    category: vocabulary(Category)
    # a family groups versions that have their own entries (variant-of it): its standard
    # card is theirs, a fact given when every version gives it
    family: bool = False
    role: Text | None = None
    country: Country
    designer: Text | None = None
    manufacturer: Text | None = None
    status: vocabulary(Status) | None = None
    operators: Annotated[list[Country], _at_most(100)] = _empty()
    wikidata: Annotated[str, Field(pattern=r"^Q[1-9][0-9]*$")] | None = None
    description: LongText
    redirect_ids: Annotated[list[Slug], _at_most(50)] = _empty()
    entry_sources: SourceIds
    aliases: Annotated[list[Alias], _at_most(MAX_NAMES)] = _empty()
    not_context: ContextWords = _empty()  # for every name: words that mean another thing so named
    # generated spellings refused
    vetoed_forms: Annotated[list[Text], Field(max_length=200)] = _empty()
    specs: Annotated[list[Spec], _at_most(MAX_FACTS)] = _empty()
    relations: Annotated[list[Relation], _at_most(MAX_FACTS)] = _empty()
    sources: Annotated[dict[Slug, Source], _at_most(MAX_FACTS)]


class MentionAnchor(Strict):
    """A W3C-style text quote selector: the exact words plus enough context to be unique."""

    exact: Text
    prefix: Text | None = None
    suffix: Text | None = None
    system: Slug
    note: Text | None = None


class MentionCorrections(Strict):
    include: list[MentionAnchor] = _empty()
    exclude: list[MentionAnchor] = _empty()


class ArticleEntry(Strict):
    """A news article: ``catalog/articles/<id>.yaml`` beside its verbatim text ``<id>.txt``."""

    id: Slug
    title: Line
    title_is_descriptive: bool = False
    publisher: Text | None = None  # an id of catalog/publishers.yaml, or found from ``url``
    author: Text | None = None
    date: PartialDate
    language: Language
    url: Url | None = None
    via: Url | None = None
    translation_of: ExternalSource | None = None
    note: Text | None = None
    # a fresh instance per article: a model instance as the default is deep-copied for each
    mentions: MentionCorrections = Field(default_factory=MentionCorrections)


class PublisherKind(StrEnum):
    WIRE = "wire"
    NEWSPAPER = "newspaper"
    MAGAZINE = "magazine"
    BROADCASTER = "broadcaster"
    SPECIALIST_PRESS = "specialist-press"
    GOVERNMENT = "government"
    MILITARY = "military"
    MANUFACTURER = "manufacturer"
    ENCYCLOPEDIA = "encyclopedia"
    REFERENCE = "reference"
    THINK_TANK = "think-tank"
    ACADEMIC = "academic"
    STATE_MEDIA = "state-media"
    BLOG = "blog"
    MIRROR = "mirror"  # a faithful copy of another publisher's pages (copy_of)
    ARCHIVE = "archive"
    CONTENT_FARM = "content-farm"  # reposts, rewrites or machine translations of others' pages
    PERSONAL = "personal"  # a private person's server


class Reliability(StrEnum):
    """reliable: cite for facts; claims-only: cite for what a party claims; deprecated: never."""

    RELIABLE = "reliable"
    CLAIMS_ONLY = "claims-only"
    DEPRECATED = "deprecated"


_DOMAIN = re.compile(r"([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")


def check_domain(value: str) -> str:
    if len(value) <= 253 and _DOMAIN.fullmatch(value):
        return value
    raise ValueError(f"'{value}' is not a domain; write the lowercase host only, e.g. tass.com")


Domain = Annotated[str, AfterValidator(check_domain)]


class Publisher(Strict):
    """One record of ``catalog/publishers.yaml``: who publishes at which domains, and how far
    the catalog trusts them, with the reason (and, when not plainly reliable, its source)."""

    name: Text
    kind: vocabulary(PublisherKind)
    country: Country | None = None
    domains: list[Domain] = _empty()
    # Hosts serving the publisher's own pages in another rendering (a mobile or AMP edition):
    # a copy read there is `via`; a `url` there is refused for the canonical page.
    rendition_domains: list[Domain] = _empty()
    reliability: vocabulary(Reliability)
    reason: Text
    reason_source: ExternalSource | None = None
    copy_of: Slug | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _justified(self) -> Publisher:
        if self.reliability != Reliability.RELIABLE and self.reason_source is None:
            raise ValueError(
                f"a {self.reliability} publisher needs a reason_source: a source for the reason"
            )
        copiers = (PublisherKind.MIRROR, PublisherKind.PERSONAL, PublisherKind.CONTENT_FARM)
        if self.copy_of is not None and self.kind not in copiers:
            raise ValueError(
                "copy_of is only for a site that copies another (mirror, personal, content-farm)"
            )
        return self


class PublisherRegister(RootModel[dict[Slug, Publisher]]):
    """``catalog/publishers.yaml``: publisher id -> record."""

    model_config = ConfigDict(strict=True, frozen=True)
