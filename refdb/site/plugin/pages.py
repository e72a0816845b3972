"""What the entry page shows, read from the built database.

Plain functions over a sqlite3 connection (Datasette runs them with ``execute_fn``), so the
pages' content is testable without a server. Everything returned is plain text: templates
escape it, so no catalog or article content can inject markup.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import pycountry

from refdb.catalog import units
from refdb.catalog.categories import every_version_gives
from refdb.catalog.countries import country_name

DATABASE = "refdb"


def query_rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict]:
    """The rows of ``sql`` as dicts (``sqlite3.Row`` on this cursor alone: the connection is
    Datasette's, and its other readers keep their own row type)."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return [dict(row) for row in cursor.execute(sql, params)]


def resolve_system_id(conn: sqlite3.Connection, wanted: str) -> str | None:
    """The entry an id leads to: itself, or the entry a redirect id points at."""
    if conn.execute("select 1 from systems where id = ?", [wanted]).fetchone():
        return wanted
    row = conn.execute("select system_id from redirects where id = ?", [wanted]).fetchone()
    return row[0] if row else None


def language_name(code: str | None) -> str:
    language = pycountry.languages.get(alpha_2=code) if code else None
    return language.name if language else "All languages"


def system_card(conn: sqlite3.Connection, system_id: str) -> dict | None:
    """Everything the reference card of one entry shows."""
    [system] = query_rows(conn, "select * from systems where id = ?", [system_id]) or [None]
    if system is None:
        return None
    sources = entry_sources(conn, system_id)
    quoted = {source["number"]: source for source in sources if source["kind"] == "article"}
    specs, relations = entry_specs(conn, system_id), _relations(conn, system_id)
    for fact in specs + [r for r in relations if not r["derived"]]:
        fact["quotes"] = [quoted[n] for n in fact["sources"] if n in quoted]
    entry_numbers = [
        row[0]
        for row in conn.execute(
            "select s.number from system_sources f join sources s on s.id = f.source_id "
            "where f.system_id = ? order by s.number",
            [system_id],
        )
    ]
    _back_links(sources, entry_numbers, specs, relations)
    names = country_names(conn)
    system["operator_names"] = [
        names.get(code) or country_name(code) for code in split_list(system["operators"])
    ]
    return {
        "system": system,
        "standard": standard_card(conn, system, specs, relations),
        "names": names_by_language(
            query_rows(
                conn, "select * from aliases where system_id = ? order by position", [system_id]
            )
        ),
        "misnomers": query_rows(
            conn,
            "select * from aliases where system_id = ? and kind = 'misnomer' order by position",
            [system_id],
        ),
        "specs": specs,
        "relations": relations,
        "sources": sources,
        "entry_sources": entry_numbers,
        "mentions": _mentions(conn, system_id, limit=MAX_CARD_MENTIONS),
        "mention_count": conn.execute(
            "select count(*) from mentions where system_id = ?", [system_id]
        ).fetchone()[0],
        "found_as": found_as(conn, system_id),
        "flags": query_rows(
            conn, "select * from flags where system_id = ? order by kind, message", [system_id]
        ),
        "redirects": [
            r["id"]
            for r in query_rows(
                conn, "select id from redirects where system_id = ? order by id", [system_id]
            )
        ],
        "build": build_info(conn),
    }


def standard_card(conn, system: dict, specs: list[dict], relations: list[dict]) -> dict:
    """The entry against its category's standard card: the headline facts with their values,
    how many of the card's facts it gives, and which it lacks. A fact the entry lacks is
    shown as a related entry gives it, labelled with that entry's name: a variant's from its
    parent type, a type's or a family's from its variants. Only the entry's own facts count,
    but for a family, whose card is its versions': there a fact every version gives counts."""
    facts = query_rows(
        conn,
        "select f.*, c.label as category_label from card_facts f "
        "join categories c on c.id = f.category_id where f.category_id = ? order by f.position",
        [system["category"]],
    )
    parents = [_related_specs(conn, r) for r in relations if r["type"] == "variant-of"]
    variants = [_related_specs(conn, r) for r in relations if r["type"] == "has-variant"]
    version_gives = [{spec["property"] for spec in specs} for specs in variants]
    given, headline, missing, borrowed = 0, [], [], []
    for fact in facts:
        properties = set(split_list(fact["properties"]))
        own = [spec for spec in specs if spec["property"] in properties]
        others = [] if own else _giving(parents, properties) or _giving(variants, properties)
        if system["family"] and not own and every_version_gives(version_gives, properties):
            own = others  # a family's card is its versions': a fact every one of them gives
        given += bool(own)
        borrowed += others
        if not own:
            missing.append(fact["label"])
        if fact["headline"]:
            headline.append(
                {"label": fact["label"], "own": bool(own), "groups": _by_entry(own or others)}
            )
    return {
        "category_label": facts[0]["category_label"] if facts else system["category"],
        "family": bool(system["family"]),
        "given": given,
        "standard": len(facts),
        "missing": missing,
        "headline": headline,
        "borrowed": borrowed,
        "borrowed_from": sorted({spec["entry_name"] for spec in borrowed}),
    }


def _related_specs(conn, relation: dict) -> list[dict]:
    """A related entry's specs, each labelled with the entry it belongs to."""
    return [
        {**spec, "entry_id": relation["target_id"], "entry_name": relation["target_name"]}
        for spec in entry_specs(conn, relation["target_id"])
    ]


def _by_entry(specs: list[dict]) -> list[dict]:
    """Specs grouped by the entry that gives them (one group, unnamed, for the entry's own)."""
    groups: dict[str | None, dict] = {}
    for spec in specs:
        entry = spec.get("entry_id")
        group = groups.setdefault(
            entry, {"entry_id": entry, "entry_name": spec.get("entry_name"), "specs": []}
        )
        group["specs"].append(spec)
    return list(groups.values())


def _giving(entries: list[list[dict]], properties: set[str]) -> list[dict]:
    return [spec for specs in entries for spec in specs if spec["property"] in properties]


def _back_links(sources: list[dict], entry_numbers, specs, relations) -> None:
    """Give each source the anchors of the places that cite it, in page order, so the
    numbered list links back to them as an encyclopedia's notes do (``cite-<place>-<n>``)."""
    places = [("entry", entry_numbers)]
    places += [(f"spec-{spec['id']}", spec["sources"]) for spec in specs]
    places += [(f"rel-{r['id']}", r["sources"]) for r in relations if not r["derived"]]
    cited_at = defaultdict(list)
    for place, numbers in places:
        for number in numbers:
            cited_at[number].append(f"cite-{place}-{number}")
    for source in sources:
        source["cited_at"] = cited_at.get(source["number"], [])


def host(url: str | None) -> str | None:
    """The host of an address, as a source's copy or an article's outlet is named."""
    return urlsplit(url).hostname if url else None


def split_list(value: str | None) -> list[str]:
    """'RU, KZ' -> ['RU', 'KZ']: a list column as the build writes it."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def country_names(conn: sqlite3.Connection) -> dict[str, str]:
    """Country code -> the name the build gave it as an origin ('SU' -> 'Soviet Union')."""
    return dict(conn.execute("select distinct country, country_name from systems"))


# How a mention matched, in words: each part of a mention's rule.
RULE_WORDS = {
    "catalog": "as catalogued",
    "inflection": "{} case form",
    "ukrainian": "Ukrainian spelling",
    "romanization": "{} romanization",
    "translation": "{} rank word",
    "designer": "bureau spelled out",
    "caps": "in capitals",
    "spacing": "spaced otherwise",
    "ending": "with an ending",
    "variant-suffix": "with variant letters",
    "curator": "linked by a curator",
}


def rule_words(rule: str) -> str:
    """'romanization:fr+ending' -> 'French romanization, with an ending'."""
    words = []
    for part in rule.split("+"):
        kind, _, lang = part.partition(":")
        template = RULE_WORDS.get(kind, kind)
        words.append(template.format(language_name(lang[:2]) if lang else ""))
    return ", ".join(words)


def found_as(conn: sqlite3.Connection, system_id: str) -> list[dict]:
    """The spellings articles use for an entry, with how each matched and how often."""
    rows = query_rows(
        conn,
        "select exact, rule, count(*) as n from mentions where system_id = ? and origin = 'alias' "
        "group by exact, rule order by n desc, exact",
        [system_id],
    )
    return [{**row, "how": rule_words(row["rule"])} for row in rows]


# What a reader is told beside a source whose publisher backs only claims.
CAUTION = {
    "state-media": "state media",
    "manufacturer": "manufacturer claim",
    "government": "government claim",
    "military": "military claim",
}


def entry_sources(conn: sqlite3.Connection, system_id: str) -> list[dict]:
    """An entry's numbered sources, with the host of the copy read and a word of caution
    for a publisher that is not plainly reliable."""
    sources = query_rows(
        conn,
        "select s.*, p.kind as publisher_kind, p.reliability as publisher_reliability, "
        "v.kind as via_kind, v.id = s.publisher_id as via_own "
        "from sources s left join publishers p on p.id = s.publisher_id "
        "left join publishers v on v.id = s.via_publisher_id "
        "where s.system_id = ? order by s.number",
        [system_id],
    )
    for source in sources:
        source["via_host"] = host(source["via"])
        source["via_words"] = via_words(source["via_kind"], source["via_own"])
        source["caution"] = caution(source["publisher_kind"], source["publisher_reliability"])
    return sources


def via_words(kind: str | None, own: bool | None) -> str | None:
    """What the copy read is, for a reader: 'an unofficial copy' on a mirror, 'an archived
    copy', the publisher's own edition; None for another outlet's republication."""
    if own:
        return "the publisher's own edition"
    return {"mirror": "an unofficial copy", "archive": "an archived copy"}.get(kind or "")


def caution(kind: str | None, reliability: str | None) -> str | None:
    """'state media', 'manufacturer claim'…; None for a reliable (or unknown) publisher."""
    if reliability in (None, "reliable"):
        return None
    return CAUTION.get(kind or "", "claims only" if reliability == "claims-only" else reliability)


def names_by_language(aliases: Iterable[dict]) -> list[dict]:
    """An entry's names by language (English and the language-less designations first), each
    with its kind and the press it is limited to in words; misnomers are listed apart. The
    entry page gives its aliases rows, a version page the names its own file wrote."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for alias in aliases:
        if alias.get("kind") == "misnomer":
            continue
        used_in = alias.get("used_in")
        codes = used_in if isinstance(used_in, list) else split_list(used_in)
        groups[alias.get("lang") or ""].append(
            {
                **alias,
                "kind_words": kind_words(str(alias.get("kind") or "")),
                "used_in_words": ", ".join(language_name(str(code)) for code in codes),
            }
        )
    order = sorted(
        groups, key=lambda lang: (lang not in ("en", ""), lang != "", language_name(lang))
    )
    return [
        {"lang": lang, "language": language_name(lang), "aliases": groups[lang]} for lang in order
    ]


# The numbers, in the entry's list, of the sources a fact's join table links it to.
_NUMBERS = (
    "(select group_concat(number, ', ') from (select s.number from {facts} j "
    "join sources s on s.id = j.source_id where j.{fact} = {id} order by s.number)) "
    "as source_numbers"
)


def source_numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text or "")]


def entry_specs(conn, system_id: str) -> list[dict]:
    specs = query_rows(
        conn,
        f"select p.*, {_NUMBERS.format(facts='spec_sources', fact='spec_id', id='p.id')} "
        "from specs p where p.system_id = ? order by p.position",
        [system_id],
    )
    for spec in specs:
        spec["sources"] = source_numbers(spec["source_numbers"])
        value = spec["value_text"] if spec["value_text"] is not None else spec["value"]
        spec["display"], spec["also"] = spec_words(value, spec["unit"], spec["property"])
    return specs


def spec_words(value: float | str, unit: str | None, prop: str | None) -> tuple[str, list[str]]:
    """A spec's value as the card shows it, and the same in the other units readers use:
    one wording for the entry page and every version page, so they cannot drift."""
    if isinstance(value, str):
        return value, []
    return value_words(value, unit), units.also_in(value, unit, prop) if unit else []


def value_words(value: float, unit: str | None) -> str:
    """2.05, 'mach' -> 'Mach 2.05'; 12300, 'km' -> '12,300 km'."""
    shown = units.number(value)
    return f"Mach {shown}" if unit == "mach" else f"{shown} {unit or ''}".strip()


def _relations(conn, system_id: str) -> list[dict]:
    relations = query_rows(
        conn,
        f"select r.*, s.name as target_name, "
        f"{_NUMBERS.format(facts='relation_sources', fact='relation_id', id='r.id')} "
        "from relations r join systems s on s.id = r.target_id "
        "where r.system_id = ? order by r.derived, r.type, s.name",
        [system_id],
    )
    for relation in relations:
        relation["sources"] = source_numbers(relation["source_numbers"])
        relation["label"] = relation["type"].replace("-", " ")
    return relations


# Kinds of name as readers call them.
NAME_KINDS = {"nato-name": "NATO reporting name", "press-shorthand": "press shorthand"}


def kind_words(kind: str) -> str:
    return NAME_KINDS.get(kind, kind.replace("-", " "))


# Mentions an entry's page and document list, newest first; the rest are a click away in
# the mentions list, which pages (an entry named in thousands of articles stays one page).
MAX_CARD_MENTIONS = 100


def _mentions(conn, system_id: str, limit: int) -> list[dict]:
    mentions = query_rows(
        conn,
        "select m.*, a.title as article_title, a.date as article_date, a.publisher as article_publisher, "
        "a.language as article_language from mentions m join articles a on a.id = m.article_id "
        "where m.system_id = ? order by a.date desc, a.id, m.start limit ?",
        [system_id, limit],
    )
    for mention in mentions:
        before = mention["start"] - mention["sentence_start"]
        after = mention["end"] - mention["sentence_start"]
        sentence = mention["sentence"]
        mention["before"], mention["matched"], mention["after"] = (
            sentence[:before],
            sentence[before:after],
            sentence[after:],
        )
    return mentions


def build_info(conn) -> dict:
    """The build's row, and the date the catalog last changed: the newest entry's last
    commit, or the build's date when the catalog is not a git checkout."""
    [info] = query_rows(conn, "select * from build_info") or [{}]
    [latest] = conn.execute("select max(modified) from systems").fetchone()
    return {**info, "last_changed": latest or (info.get("built_at") or "")[:10]}
