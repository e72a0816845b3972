"""What the entry, article and home pages show, read from the built database.

Plain functions over a sqlite3 connection (Datasette runs them with ``execute_fn``), so the
pages' content is testable without a server. Everything returned is plain text: templates
escape it, so no catalog or article content can inject markup.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sqlite3
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import pycountry
from rapidfuzz import fuzz, process

from refdb import text
from refdb.catalog import units
from refdb.catalog.categories import every_version_gives
from refdb.catalog.countries import country_name

DATABASE = "refdb"


def _rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


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
    [system] = _rows(conn, "select * from systems where id = ?", [system_id]) or [None]
    if system is None:
        return None
    sources = entry_sources(conn, system_id)
    quoted = {source["number"]: source for source in sources if source["kind"] == "article"}
    specs, relations = _specs(conn, system_id), _relations(conn, system_id)
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
        "names": _names_by_language(conn, system_id),
        "misnomers": _rows(
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
        "flags": _rows(
            conn, "select * from flags where system_id = ? order by kind, message", [system_id]
        ),
        "redirects": [
            r["id"]
            for r in _rows(
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
    facts = _rows(
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
        for spec in _specs(conn, relation["target_id"])
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
    rows = _rows(
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
    sources = _rows(
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


def _names_by_language(conn, system_id: str) -> list[dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for alias in _rows(
        conn,
        "select * from aliases where system_id = ? and kind != 'misnomer' order by position",
        [system_id],
    ):
        groups[alias["lang"] or ""].append(
            {
                **alias,
                "kind_words": kind_words(alias["kind"]),
                "used_in_words": ", ".join(
                    language_name(code) for code in split_list(alias.get("used_in"))
                ),
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


def _specs(conn, system_id: str) -> list[dict]:
    specs = _rows(
        conn,
        f"select p.*, {_NUMBERS.format(facts='spec_sources', fact='spec_id', id='p.id')} "
        "from specs p where p.system_id = ? order by p.position",
        [system_id],
    )
    for spec in specs:
        spec["sources"] = source_numbers(spec["source_numbers"])
        if spec["value_text"] is not None:
            spec["display"], spec["also"] = spec["value_text"], []
        else:
            spec["display"] = value_words(spec["value"], spec["unit"])
            spec["also"] = (
                units.also_in(spec["value"], spec["unit"], spec["property"]) if spec["unit"] else []
            )
    return specs


def value_words(value: float, unit: str | None) -> str:
    """2.05, 'mach' -> 'Mach 2.05'; 12300, 'km' -> '12,300 km'."""
    shown = units.number(value)
    return f"Mach {shown}" if unit == "mach" else f"{shown} {unit or ''}".strip()


def _relations(conn, system_id: str) -> list[dict]:
    relations = _rows(
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
    mentions = _rows(
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
    [info] = _rows(conn, "select * from build_info") or [{}]
    [latest] = conn.execute("select max(modified) from systems").fetchone()
    return {**info, "last_changed": latest or (info.get("built_at") or "")[:10]}


# Mentions highlighted on an article page; the rest are listed by the mentions table. A
# page stays linear in the text, and a pathological article does not cost minutes per view.
MAX_MARKED_MENTIONS = 2000


def article_view(conn: sqlite3.Connection, article_id: str) -> dict | None:
    """An article's paragraphs as runs of text carrying their mention and quotes, in order."""
    [article] = _rows(conn, "select * from articles where id = ?", [article_id]) or [None]
    if article is None:
        return None
    mentions = _rows(
        conn,
        "select m.*, s.name as system_name from mentions m join systems s on s.id = m.system_id "
        "where m.article_id = ? order by m.start, m.end desc",
        [article_id],
    )
    quotes = _rows(
        conn,
        "select q.*, s.name as system_name from sources q join systems s on s.id = q.system_id "
        "where q.article_id = ? order by q.quote_start, q.id",
        [article_id],
    )
    marked = mentions[:MAX_MARKED_MENTIONS]
    return {
        "article": article,
        "paragraphs": paragraphs(article["text"], marked, quotes),
        "mentions": mentions,
        "unmarked": len(mentions) - len(marked),
        "quotes": quotes,
        "systems": sorted(
            {(m["system_id"], m["system_name"]) for m in mentions}, key=lambda s: s[1]
        ),
    }


def _non_overlapping(mentions: list[dict]) -> list[dict]:
    chosen, reach = [], 0
    for mention in mentions:  # sorted by start, longest first
        if mention["start"] >= reach:
            chosen.append(mention)
            reach = mention["end"]
    return chosen


def paragraphs(text: str, mentions: list[dict], quotes: list[dict] = ()) -> list[list[dict]]:
    """Split ``text`` at blank lines and at every mention and quote boundary.

    Each run is ``{text, mention, mention_starts, anchors, quotes, quote_starts}``: the
    mention it belongs to (if any), the ids of the quotes covering it, and which mention and
    quotes start with it, so a template can place each anchor (``#m-…``, ``#q-…``) exactly
    once. Mentions that overlap one already shown get a bare anchor (``anchors``). One pass
    over the sorted boundaries: linear in the text and the mentions.
    """
    shown = _non_overlapping(mentions)
    shown_ids = {id(m) for m in shown}
    anchors = defaultdict(list)
    for mention in mentions:
        if id(mention) not in shown_ids:
            anchors[mention["start"]].append(mention["id"])
    breaks = [(m.start(), m.end()) for m in re.finditer(r"\n\s*\n", text)]
    cuts = {0, len(text)} | {p for span in breaks for p in span}
    cuts |= {p for m in mentions for p in (m["start"], m["end"]) if 0 < p < len(text)}
    cuts |= {p for q in quotes for p in (q["quote_start"], q["quote_end"]) if 0 < p < len(text)}
    gaps = dict(breaks)  # paragraph break start -> end
    result, runs, mention_index, gap_end = [], [], 0, -1
    for start, end in itertools.pairwise(sorted(cuts)):
        if start in gaps:
            gap_end = gaps[start]
            if runs:
                result.append(runs)
                runs = []
        if start < gap_end:
            continue
        while mention_index < len(shown) and shown[mention_index]["end"] <= start:
            mention_index += 1
        mention = shown[mention_index] if mention_index < len(shown) else None
        if mention is not None and not (mention["start"] <= start and end <= mention["end"]):
            mention = None
        runs.append(_run(text, start, end, mention, anchors.get(start, []), quotes))
    if runs:
        result.append(runs)
    return result


def _run(text: str, start: int, end: int, mention, anchors: list, quotes: list[dict]) -> dict:
    covering = [q for q in quotes if q["quote_start"] <= start and end <= q["quote_end"]]
    return {
        "text": text[start:end],
        "mention": mention,
        "mention_starts": bool(mention) and mention["start"] == start,
        "anchors": anchors,
        "quotes": [q["id"] for q in covering],
        "quote_starts": [q["id"] for q in covering if q["quote_start"] == start],
    }


# One cited work, however many entries cite it: its address, or its title and publisher.
WORK = "coalesce(url, title || ' · ' || coalesce(publisher, ''))"


def home_stats(conn: sqlite3.Connection) -> dict:
    count = lambda table: conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: E731
    return {
        "systems": count("systems"),
        "articles": count("articles"),
        "mentions": count("mentions"),
        "sources": count("sources"),
        "works": conn.execute(
            f"select count(distinct {WORK}) from sources where kind = 'external'"
        ).fetchone()[0],
        "contested": conn.execute(
            "select count(*) from (select distinct system_id, property from specs where contested)"
        ).fetchone()[0],
        "build": build_info(conn),
        "categories": _rows(
            conn,
            "select s.category, c.label, count(*) as n from systems s "
            "left join categories c on c.id = s.category group by s.category "
            "order by n desc, s.category",
        ),
    }


def named_entries(conn: sqlite3.Connection, query: str) -> list[dict]:
    """The entries ``query`` names: one of their names, a spelling the linker knows them by,
    their id or a redirect id ("tu22m3", "Кинджал", "admiral-shaposhnikov")."""
    return _rows(
        conn,
        "select system_id as id, min(text) as name from ("
        "select system_id, text from aliases where key = :key "
        "union all select system_id, text from forms where key = :key "
        "union all select id, id from systems where id = :id "
        "union all select system_id, id from redirects where id = :id) "
        "group by system_id order by system_id",
        {"key": text.compact(query), "id": query.strip().lower()},
    )


def search_systems(conn: sqlite3.Connection, query: str, limit: int = 20) -> list[dict]:
    """The entries a search finds, each with why: named by the query; of a category the
    query names, in any catalog language ("frégate", "крылатые ракеты"); a name holding
    every word of it; or a description that does ("hypersonic"). Only a name is a match a
    reader is sent to: the rest is a list of results that says why each is there."""
    found: dict[str, dict] = {}

    def add(system_id: str, why: dict) -> None:
        found.setdefault(system_id, {"id": system_id, "why": []})["why"].append(why)

    for entry in named_entries(conn, query):
        add(entry["id"], {"kind": "name", "words": entry["name"]})
    for category in query_categories(conn, query):
        for row in conn.execute(
            "select id from systems where category in (select value from json_each(?)) "
            "order by name limit ?",
            [json.dumps(category["members"]), limit],
        ):
            add(row[0], {"kind": "category", "words": category["label"], "as": category["as"]})
    words = " ".join(re.findall(r"\w+", query))  # FTS5 syntax (a lone quote...) is not for users
    if words:
        phrase = f'"{words}"'  # "Kh-22" is the words kh 22 side by side, not anywhere
        columns = "{name designations nato_reporting_name search_names}"
        for row in conn.execute(
            "select s.id, s.name from systems_fts f join systems s on s.rowid = f.rowid "
            "where systems_fts match ? order by rank limit ?",
            [f"{columns} : {phrase}", limit],
        ):
            add(row[0], {"kind": "name-words", "words": _name_holding(conn, row[0], words)})
        for row in conn.execute(
            "select s.id, snippet(systems_fts, 4, char(57344), char(57345), '…', 12) "
            "from systems_fts f join systems s on s.rowid = f.rowid "
            "where systems_fts match ? order by rank limit ?",
            [f"description : {phrase}", limit],
        ):
            add(row[0], {"kind": "description", "runs": _marked_runs(row[1])})
    return list(found.values())[:limit]


def _name_holding(conn, system_id: str, words: str) -> str:
    """The entry's first name (in card order) holding every word of a search."""
    wanted = [text.fold(word) for word in words.split()]
    names = conn.execute(
        "select text from aliases where system_id = ? order by position", [system_id]
    )
    for (name,) in names:
        tokens = re.findall(r"\w+", text.fold(name))
        if all(word in tokens for word in wanted):
            return name
    return words


def found_runs(sentence: str, words: list[str]) -> list[dict]:
    """``sentence`` as runs, each word that starts like a searched word found (case and
    accents folded, as full-text search matches them): what the mention search marks."""
    if not words or not sentence:
        return [{"text": sentence}] if sentence else []
    folded = text.fold(sentence)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(text.fold(w)) for w in words) + r")\w*")
    runs, last = [], 0
    for match in pattern.finditer(folded):
        runs.append({"text": sentence[last : match.start()]})
        runs.append({"text": sentence[match.start() : match.end()], "found": True})
        last = match.end()
    runs.append({"text": sentence[last:]})
    return [run for run in runs if run["text"]]


def _marked_runs(snippet: str) -> list[dict]:
    """FTS5's snippet, marked with two private-use characters, as runs a template escapes."""
    runs = []
    for index, part in enumerate(re.split("[\ue000\ue001]", snippet)):
        if part:
            runs.append({"text": part, "marked": index % 2 == 1})
    return runs


def query_categories(conn: sqlite3.Connection, query: str) -> list[dict]:
    """The categories whose label, slug or press word in some language ``query`` is, with the
    categories narrower than each (a search for "bomber" lists strategic bombers too)."""
    folded = text.fold(query.strip())
    if not folded:
        return []
    broader = {
        row[0]: split_list(row[1]) for row in conn.execute("select id, broader from categories")
    }
    labels = {row[0]: row[1] for row in conn.execute("select id, label from categories")}
    matched: dict[str, str] = {}
    for category_id, label in labels.items():
        if folded in (text.fold(label), category_id, text.fold(label) + "s"):
            matched.setdefault(category_id, query.strip())
    for category_id, lang, word in conn.execute(
        "select category_id, lang, word from category_words order by category_id, id"
    ):
        if re.fullmatch(text.words_pattern([word]), folded):
            matched.setdefault(category_id, f"{query.strip()} ({language_name(lang)})")
    return [
        {
            "id": category_id,
            "label": labels[category_id],
            "as": how,
            "members": sorted(c for c in broader if category_id in _broader_of(c, broader)),
        }
        for category_id, how in matched.items()
    ]


def _broader_of(category: str, broader: dict[str, list[str]]) -> set[str]:
    found, todo = set(), [category]
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(broader.get(name, []))
    return found


def sitemap_paths(conn: sqlite3.Connection) -> list[str]:
    systems = [f"/system/{row[0]}" for row in conn.execute("select id from systems order by id")]
    articles = [
        f"/{DATABASE}/articles/{row[0]}"
        for row in conn.execute("select id from articles order by id")
    ]
    return systems + articles


def suggestions(conn: sqlite3.Connection, query: str, limit: int = 5) -> list[dict]:
    """The entries whose names are nearest to ``query``: "did you mean" for a search that
    finds nothing and for an unknown id. Every spelling the linker knows (the ``forms`` and
    ``aliases`` keys) is compared with the query folded the same way (``text.compact``)."""
    key = text.compact(query)
    if not key:
        return []
    spellings = _rows(
        conn,
        "select f.key, f.text, s.id, s.name from forms f join systems s on s.id = f.system_id "
        "union select a.key, a.text, s.id, s.name from aliases a join systems s on s.id = a.system_id "
        "union select s.id, s.id, s.id, s.name from systems s",
    )
    matches = process.extract(
        key, [row["key"] for row in spellings], scorer=fuzz.WRatio, score_cutoff=70, limit=None
    )
    best: dict[str, dict] = {}
    for _, score, index in sorted(matches, key=lambda match: (-match[1], match[2])):
        row = spellings[index]
        if row["id"] not in best:
            best[row["id"]] = {
                "id": row["id"],
                "name": row["name"],
                "as": row["text"],
                "score": round(score, 1),
            }
    return list(best.values())[:limit]


def articles_naming(conn: sqlite3.Connection, query: str, limit: int = 10) -> dict:
    """The articles whose text holds ``query`` as a phrase, newest first, each with a
    snippet around it: where a reader goes when the catalog has no entry by that name."""
    words = re.findall(r"\w+", query)
    if not words:
        return {"rows": [], "total": 0}
    phrase = '"' + " ".join(words) + '"'
    total = conn.execute(
        "select count(*) from articles_fts where articles_fts match ?", [phrase]
    ).fetchone()[0]
    rows = _rows(
        conn,
        "select a.id, a.title, a.date, a.language, "
        "snippet(articles_fts, 1, char(57344), char(57345), '…', 16) as snippet "
        "from articles_fts join articles a on a.rowid = articles_fts.rowid "
        "where articles_fts match ? order by a.date desc, a.id limit ?",
        [phrase, limit],
    )
    for row in rows:
        row["runs"] = _marked_runs(row.pop("snippet"))
    return {"rows": rows, "total": total}


# The filters of the systems list: a title, the condition a value puts on a system, and
# what a system counts under in the facet. Origin and operators are two facets: the Tu-160
# comes from the Soviet Union and is flown by Russia.
_OPERATOR_CODES = (
    "json_each(case when s.operators = '' then '[]' "
    "else '[\"' || replace(s.operators, ', ', '\",\"') || '\"]' end)"
)
LIST_FILTERS = {
    "category": ("Category", "s.category = :category", "s.category"),
    "country": ("Origin", "s.country = :country", "s.country"),
    "operator": (
        "Operated by",
        "instr(', ' || s.operators || ', ', ', ' || :operator || ', ') > 0",
        "o.value",
    ),
    "status": ("Status", "s.status = :status", "s.status"),
}
LIST_PAGE_SIZE = 100


def systems_list(
    conn: sqlite3.Connection, query: str = "", filters: dict | None = None, page: int = 1
) -> dict:
    """The systems list page: the systems matching a search and filters, a page at a time,
    with a count per value of each filter (the facets) and, when nothing matches a search,
    the nearest names."""
    filters = {key: value for key, value in (filters or {}).items() if value}
    results = search_systems(conn, query, limit=1000) if query else []
    why = {result["id"]: result["why"] for result in results}
    found = list(why) if query else None
    where, params = _conditions(found, filters)
    order = (
        "(select key from json_each(:found) where value = s.id)"
        if found
        else "s.name collate nocase"
    )
    total = conn.execute(f"select count(*) from systems s{where}", params).fetchone()[0]
    rows = _rows(
        conn,
        "select s.id, s.name, s.designation, s.nato_reporting_name, s.category, s.country, "
        f"s.country_name, s.operators, s.status from systems s{where} "
        f"order by {order} limit :limit offset :offset",
        {**params, "limit": LIST_PAGE_SIZE, "offset": (page - 1) * LIST_PAGE_SIZE},
    )
    labels, countries = category_labels(conn), country_names(conn)
    for row in rows:
        row["why"] = why.get(row["id"], [])
        row["category_label"] = labels.get(row["category"], row["category"])
        row["operator_names"] = [
            countries.get(code) or country_name(code) for code in split_list(row["operators"])
        ]
    named = any(w["kind"] in ("name", "category") for ws in why.values() for w in ws)
    return {
        "query": query,
        "named": named,
        "categories": query_categories(conn, query) if query else [],
        "filters": filters,
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / LIST_PAGE_SIZE)),
        "facets": _facets(conn, found, filters),
        "suggestions": suggestions(conn, query) if query and not total else [],
        "articles": articles_naming(conn, query) if query and not named else None,
    }


def _conditions(found: list[str] | None, filters: dict) -> tuple[str, dict]:
    """The where clause (and its parameters) of a search's results and the filters."""
    clauses = ["s.id in (select value from json_each(:found))"] if found is not None else []
    clauses += [LIST_FILTERS[name][1] for name in filters]
    where = " where " + " and ".join(clauses) if clauses else ""
    return where, {"found": json.dumps(found or []), **filters}


def category_labels(conn) -> dict[str, str]:
    return dict(conn.execute("select id, label from categories"))


def _facets(conn, found: list[str] | None, filters: dict) -> list[dict]:
    """For each filter, the count of systems per value among those the other filters keep."""
    facets = []
    countries, labels = country_names(conn), category_labels(conn)
    for name, (title, _, value_sql) in LIST_FILTERS.items():
        where, params = _conditions(found, {k: v for k, v in filters.items() if k != name})
        source = f"systems s, {_OPERATOR_CODES} o" if name == "operator" else "systems s"
        counts = conn.execute(
            f"select {value_sql}, count(*) from {source}{where} group by {value_sql} "
            f"order by count(*) desc, {value_sql}",
            params,
        ).fetchall()
        options = [
            {
                "value": value,
                "label": _facet_label(name, value, countries, labels),
                "count": count,
                "selected": filters.get(name) == value,
            }
            for value, count in counts
            if value
        ]
        facets.append({"column": name, "title": title, "options": options})
    return facets


def _facet_label(name: str, value: str, countries: dict, labels: dict) -> str:
    if name in ("country", "operator"):
        return countries.get(value) or country_name(value)
    if name == "category":
        return labels.get(value, value)
    return value.replace("-", " ")


def list_choices(conn: sqlite3.Connection) -> dict[str, list[tuple[str, str]]]:
    """Values a reader picks from, by query parameter name: (value, label) pairs."""
    names = country_names(conn)
    return {
        "system": [tuple(r) for r in conn.execute("select id, name from systems order by name")],
        "article": [
            (row[0], f"{row[1]} ({row[2]})")
            for row in conn.execute("select id, title, date from articles order by date desc, id")
        ],
        "category": [
            tuple(row)
            for row in conn.execute(
                "select c.id, c.label from categories c "
                "where c.id in (select category from systems) order by c.label"
            )
        ],
        "country": sorted(names.items(), key=lambda item: item[1]),
        "property": [
            tuple(row)
            for row in conn.execute(
                "select property, property_label from specs group by property order by property_label"
            )
        ],
    }


def system_document(conn: sqlite3.Connection, system_id: str, link) -> dict | None:
    """The whole reference card of one entry as one nested document (``/system/<id>.json``).

    ``link(path)`` makes a site path absolute. Names are grouped by language, specs carry
    their unit, their value on the property's common scale and the numbers of their
    sources, and sources are listed once, numbered as on the page.
    """
    card = system_card(conn, system_id)
    if card is None:
        return None
    system = card["system"]
    return {
        "id": system["id"],
        "url": link(f"/system/{system['id']}"),
        "name": system["name"],
        "designations": split_list(system["designations"]),
        "nato_reporting_name": system["nato_reporting_name"],
        "category": system["category"],
        "role": system["role"],
        "country": {"code": system["country"], "name": system["country_name"]},
        "designer": system["designer"],
        "manufacturer": system["manufacturer"],
        "status": system["status"],
        "operators": [
            {"code": code, "name": name}
            for code, name in zip(
                split_list(system["operators"]), system["operator_names"], strict=True
            )
        ],
        "wikidata": system["wikidata"],
        "description": system["description"],
        "description_sources": card["entry_sources"],
        "version": system["content_sha256"][:12],
        "modified": system["modified"],
        "redirect_ids": card["redirects"],
        "names": {
            group["lang"] or "und": [
                {"text": a["text"], "kind": a["kind"], "note": a["note"]} for a in group["aliases"]
            ]
            for group in card["names"]
        },
        "misnomers": [
            {"text": a["text"], "lang": a["lang"], "note": a["note"]} for a in card["misnomers"]
        ],
        "specs": [_spec_document(spec) for spec in card["specs"]],
        "relations": [_relation_document(r, link) for r in card["relations"]],
        "sources": [_source_document(source, link) for source in card["sources"]],
        "mentions": [_mention_document(m, link) for m in card["mentions"]],
        "mention_count": card["mention_count"],
        "all_mentions": link(f"/{DATABASE}/mentions.json?system_id={system['id']}&_sort=id"),
        "flags": [
            {"kind": f["kind"], "message": f["message"], "article": f["article_id"]}
            for f in card["flags"]
        ],
        "catalog": {
            "version": (card["build"].get("catalog_sha256") or "")[:12],
            "git_commit": card["build"].get("git_commit"),
            "built_at": card["build"].get("built_at"),
        },
    }


def _spec_document(spec: dict) -> dict:
    numeric = spec["value_text"] is None
    return {
        "property": spec["property"],
        "label": spec["property_label"],
        "value": spec["value"] if numeric else spec["value_text"],
        "unit": spec["unit"],
        "normalized": {"value": spec["value_normalized"], "unit": spec["unit_normalized"]}
        if spec["value_normalized"] is not None
        else None,
        "comparable": units.comparable(spec["value"], spec["unit"], spec["value_normalized"]),
        "qualifier": spec["qualifier"],
        "contested": bool(spec["contested"]),
        "note": spec["note"],
        "sources": spec["sources"],
    }


def _relation_document(relation: dict, link) -> dict:
    return {
        "type": relation["type"],
        "target": {
            "id": relation["target_id"],
            "name": relation["target_name"],
            "url": link(f"/system/{relation['target_id']}"),
        },
        "count": relation["count"],
        "status": relation["status"],
        "note": relation["note"],
        # A derived relation is the inverse of one the target entry records: its source
        # numbers are the target entry's.
        "recorded_on": relation["target_id"] if relation["derived"] else None,
        "sources": relation["sources"],
    }


def _source_document(source: dict, link) -> dict:
    fields = ("title", "publisher", "author", "url", "via", "archive_url", "language", "date")
    document = {"number": source["number"], "kind": source["kind"]}
    document |= {field: source[field] for field in fields + ("accessed", "note")}
    document["caution"] = source["caution"]
    if source["kind"] == "article":
        document["article"] = {
            "id": source["article_id"],
            "quote": source["quote"],
            "url": link(f"/{DATABASE}/articles/{source['article_id']}#q-{source['id']}"),
        }
    return document


def _mention_document(mention: dict, link) -> dict:
    return {
        "id": mention["id"],
        "exact": mention["exact"],
        "sentence": mention["sentence"],
        "start": mention["start"],
        "end": mention["end"],
        "name_kind": mention["name_kind"],
        "url": link(f"/{DATABASE}/articles/{mention['article_id']}#m-{mention['id']}"),
        "article": {
            "id": mention["article_id"],
            "title": mention["article_title"],
            "date": mention["article_date"],
            "publisher": mention["article_publisher"],
            "language": mention["article_language"],
        },
    }


def spec_chart(conn: sqlite3.Connection, prop: str) -> dict:
    """Bars on a log scale, one per system, grouped by category: the largest value a source
    gives, with every other sourced value marked on the bar. Positions are percentages of
    the bar's track, so the chart reflows to any width. Mach figures are placed on the km/h
    scale by the one convention of ``units.MACH_CONVENTION``."""
    rows = _rows(
        conn,
        "select s.id, s.name, s.category, p.value, p.unit, p.value_normalized, p.unit_normalized "
        "from specs p join systems s on s.id = p.system_id where p.property = ? "
        "and (p.value_normalized > 0 or (p.unit = 'mach' and p.value > 0)) "
        "order by s.category, s.name",
        [prop],
    )
    label = conn.execute(
        "select property_label from specs where property = ? limit 1", [prop]
    ).fetchone()
    chart = {"property": prop, "label": label[0] if label else prop, "groups": [], "ticks": []}
    if not rows:
        return chart
    for row in rows:
        row["comparable"] = units.comparable(row["value"], row["unit"], row["value_normalized"])
    # Only speeds can be in Mach, and Mach is placed on the km/h scale.
    unit = next((r["unit_normalized"] for r in rows if r["unit_normalized"]), "km/h")
    low = math.floor(math.log10(min(r["comparable"] for r in rows)))
    high = math.ceil(math.log10(max(r["comparable"] for r in rows)))
    high += high == low

    def scale(value: float) -> float:
        return round(100 * (math.log10(value) - low) / (high - low), 2)

    for category, members in itertools.groupby(rows, key=lambda r: r["category"]):
        bars = []
        for system_id, values in itertools.groupby(members, key=lambda r: r["id"]):
            values = sorted(values, key=lambda r: r["comparable"])
            bars.append(
                {
                    "id": system_id,
                    "name": values[0]["name"],
                    "width": scale(values[-1]["comparable"]),
                    "marks": [scale(v["comparable"]) for v in values[:-1]],
                    "values": [_chart_value(v, unit) for v in values],
                }
            )
        chart["groups"].append({"category": category, "bars": bars})
    chart["ticks"] = [{"x": scale(10**k), "label": f"{10**k:,}"} for k in range(low, high + 1)]
    chart["unit"] = unit
    chart["mach"] = any(r["unit"] == "mach" for r in rows)
    chart["mach_convention"] = units.MACH_CONVENTION
    return chart


def _chart_value(row: dict, unit: str) -> str:
    """'12,300 km'; '35 kn ≈ 64.8 km/h' for a value written in another unit; 'Mach 2.05 ≈
    2,180 km/h' for a Mach figure (to the nearest 10: the convention is no finer)."""
    value = row["comparable"]
    if row["unit"] == "mach":
        value = round(value, -1)
    shown = f"{units.number(round(value, 1 if value < 100 else 0))} {unit}"
    if row["unit"] in (None, unit):
        return shown
    return f"{value_words(row['value'], row['unit'])} ≈ {shown}"


def chartable_properties(conn: sqlite3.Connection, min_systems: int = 2) -> list[tuple[str, str]]:
    """Numeric properties that at least ``min_systems`` systems have: (property, label)."""
    return [
        tuple(row)
        for row in conn.execute(
            "select property, property_label from specs "
            "where value_normalized > 0 or (unit = 'mach' and value > 0) "
            "group by property having count(distinct system_id) >= ? order by property_label",
            [min_systems],
        )
    ]


def mention_timeline(conn: sqlite3.Connection) -> dict:
    """Mentions per month of article date, as bars whose length is a share of the largest."""
    counts = conn.execute(
        "select substr(a.date, 1, 7) as month, count(*) from mentions m join articles a on a.id = m.article_id "
        "group by month order by month"
    ).fetchall()
    most = max((n for _, n in counts), default=1)
    return {
        "bars": [
            {"month": month, "count": n, "width": round(100 * n / most, 2)} for month, n in counts
        ]
    }
