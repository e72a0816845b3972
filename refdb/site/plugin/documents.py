"""An entry as one nested JSON document (``/system/<id>.json``), and the charts across
entries: one property's values, mentions over time.

Plain functions over a sqlite3 connection, as in ``pages``."""

from __future__ import annotations

import itertools
import math
import sqlite3

from refdb.catalog import units
from refdb.site.plugin.pages import DATABASE, query_rows, split_list, system_card, value_words


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
    rows = query_rows(
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
