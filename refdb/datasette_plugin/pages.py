"""What the entry, article and home pages show, read from the built database.

Plain functions over a sqlite3 connection (Datasette runs them with ``execute_fn``), so the
pages' content is testable without a server. Everything returned is plain text: templates
escape it, so no catalog or article content can inject markup.
"""

from __future__ import annotations

import itertools
import math
import re
import sqlite3
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import pycountry
from datasette.utils import escape_fts

from refdb import text, units

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
    return {
        "system": system,
        "names": _names_by_language(conn, system_id),
        "misnomers": _rows(
            conn,
            "select * from aliases where system_id = ? and kind = 'misnomer' order by position",
            [system_id],
        ),
        "specs": specs,
        "relations": relations,
        "sources": sources,
        "entry_sources": [
            row[0]
            for row in conn.execute(
                "select s.number from system_sources f join sources s on s.id = f.source_id "
                "where f.system_id = ? order by s.number",
                [system_id],
            )
        ],
        "mentions": _mentions(conn, system_id),
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
        "build": _build_info(conn),
    }


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
        "select s.*, p.kind as publisher_kind, p.reliability as publisher_reliability "
        "from sources s left join publishers p on p.id = s.publisher_id "
        "where s.system_id = ? order by s.number",
        [system_id],
    )
    for source in sources:
        source["via_host"] = urlsplit(source["via"]).hostname if source["via"] else None
        source["caution"] = caution(source["publisher_kind"], source["publisher_reliability"])
    return sources


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
        groups[alias["lang"] or ""].append(alias)
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
            unit, value = spec["unit"] or "", units.number(spec["value"])
            spec["display"] = f"Mach {value}" if unit == "mach" else f"{value} {unit}".strip()
            spec["also"] = units.also_in(spec["value"], unit) if unit else []
    return specs


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


def _mentions(conn, system_id: str) -> list[dict]:
    mentions = _rows(
        conn,
        "select m.*, a.title as article_title, a.date as article_date, a.publisher as article_publisher, "
        "a.language as article_language from mentions m join articles a on a.id = m.article_id "
        "where m.system_id = ? order by a.date desc, a.id, m.start",
        [system_id],
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


def _build_info(conn) -> dict:
    [info] = _rows(conn, "select * from build_info") or [{}]
    return info


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


def home_stats(conn: sqlite3.Connection) -> dict:
    count = lambda table: conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: E731
    return {
        "systems": count("systems"),
        "articles": count("articles"),
        "mentions": count("mentions"),
        "sources": count("sources"),
        "contested": conn.execute(
            "select count(distinct system_id || property) from specs where contested"
        ).fetchone()[0],
        "build": _build_info(conn),
        "categories": _rows(
            conn,
            "select category, count(*) as n from systems group by category order by n desc, category",
        ),
    }


def search_systems(conn: sqlite3.Connection, query: str, limit: int = 20) -> list[str]:
    """Ids of systems matching ``query``: the entry it names exactly ("tu22m3" is one of the
    Tu-22M3's names), else those whose names or description hold every word of it."""
    named = conn.execute(
        "select system_id from aliases where key = :key "
        "union select system_id from forms where key = :key",
        {"key": text.compact(query)},
    )
    exact = [row[0] for row in named]
    if len(exact) == 1:
        return exact
    words = " ".join(re.findall(r"\w+", query))  # FTS5 syntax (a lone quote...) is not for users
    if not words:
        return []
    rows = conn.execute(
        "select s.id from systems_fts f join systems s on s.rowid = f.rowid "
        "where systems_fts match ? order by rank limit ?",
        [escape_fts(words), limit],
    )
    return [row[0] for row in rows]


def sitemap_paths(conn: sqlite3.Connection) -> list[str]:
    systems = [f"/system/{row[0]}" for row in conn.execute("select id from systems order by id")]
    articles = [
        f"/{DATABASE}/articles/{row[0]}"
        for row in conn.execute("select id from articles order by id")
    ]
    return systems + articles


CHART_WIDTH, LABEL_WIDTH, ROW_HEIGHT = 760, 230, 22


def spec_chart(conn: sqlite3.Connection, prop: str) -> dict:
    """Bars on a log scale, one per system, grouped by category: the largest value a source
    gives, with every other sourced value marked on the bar."""
    rows = _rows(
        conn,
        "select s.id, s.name, s.category, p.value_normalized as value, p.unit_normalized as unit "
        "from specs p join systems s on s.id = p.system_id "
        "where p.property = ? and p.value_normalized > 0 order by s.category, s.name",
        [prop],
    )
    labels = {row[0]: row[1] for row in conn.execute("select property, property_label from specs")}
    if not rows:
        return {
            "property": prop,
            "label": labels.get(prop, prop),
            "groups": [],
            "ticks": [],
            "height": 0,
        }
    low = math.floor(math.log10(min(r["value"] for r in rows)))
    high = math.ceil(math.log10(max(r["value"] for r in rows)))
    high += high == low

    def scale(value: float) -> float:
        """x of ``value``; the right margin leaves room for the last tick's label."""
        return LABEL_WIDTH + (math.log10(value) - low) / (high - low) * (
            CHART_WIDTH - LABEL_WIDTH - 40
        )

    groups, y = [], 30
    for category, members in itertools.groupby(rows, key=lambda r: r["category"]):
        bars, y = [], y + ROW_HEIGHT
        heading_y = y - 6
        for system_id, values in itertools.groupby(members, key=lambda r: r["id"]):
            values = list(values)
            numbers = sorted({v["value"] for v in values})
            bars.append(
                {
                    "id": system_id,
                    "name": values[0]["name"],
                    "y": y,
                    "width": scale(numbers[-1]) - LABEL_WIDTH,
                    "marks": [scale(n) for n in numbers[:-1]],
                    "values": numbers,
                    "unit": values[0]["unit"],
                }
            )
            y += ROW_HEIGHT
        groups.append({"category": category, "heading_y": heading_y, "bars": bars})
    ticks = [{"x": scale(10**k), "label": f"{10**k:,}"} for k in range(low, high + 1)]
    return {
        "property": prop,
        "label": labels.get(prop, prop),
        "groups": groups,
        "ticks": ticks,
        "height": y + 10,
        "unit": rows[0]["unit"],
        "label_width": LABEL_WIDTH,
        "width": CHART_WIDTH,
    }


def chartable_properties(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [
        tuple(row)
        for row in conn.execute(
            "select property, property_label from specs where value_normalized > 0 "
            "group by property having count(distinct system_id) > 1 order by property_label"
        )
    ]


def mention_timeline(conn: sqlite3.Connection) -> dict:
    """Mentions per month of article date, as bars."""
    counts = conn.execute(
        "select substr(a.date, 1, 7) as month, count(*) from mentions m join articles a on a.id = m.article_id "
        "group by month order by month"
    ).fetchall()
    most = max((n for _, n in counts), default=1)
    width = min(80, max(24, 600 // max(len(counts), 1)))
    return {
        "bars": [
            {
                "month": month,
                "count": n,
                "x": 40 + i * width,
                "width": width - 8,
                "height": 160 * n / most,
                "y": 180 - 160 * n / most,
            }
            for i, (month, n) in enumerate(counts)
        ],
        "width": 40 + width * len(counts) + 20,
    }
