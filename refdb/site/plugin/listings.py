"""The lists a reader reaches from the home page, as pages to read rather than tables: the
systems (with their facets and what a search finds), the articles, what articles say (the
mention search), the sources, and the values sources disagree on. Each is a page at a time,
and links the raw table for data work.

Plain functions over a sqlite3 connection, as in ``pages``; everything returned is text the
templates escape.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3

from refdb.catalog.countries import country_name
from refdb.site.plugin.pages import (
    caution,
    country_names,
    entry_specs,
    host,
    language_name,
    query_rows,
    split_list,
)
from refdb.site.plugin.searching import (
    WORK,
    articles_naming,
    found_runs,
    query_categories,
    search_systems,
    suggestions,
)

PAGE_SIZE = 50


def _paged(total: int, page: int) -> dict:
    return {"total": total, "page": page, "pages": max(1, math.ceil(total / PAGE_SIZE))}


def articles_list(conn: sqlite3.Connection, page: int = 1) -> dict:
    """The articles, newest first: title, date, publisher, language, and what they name."""
    total = conn.execute("select count(*) from articles").fetchone()[0]
    rows = query_rows(
        conn,
        "select a.id, a.title, a.title_is_descriptive, a.date, a.publisher, a.url, a.language, "
        "(select count(*) from mentions m where m.article_id = a.id) as mentions, "
        "(select count(distinct system_id) from mentions m where m.article_id = a.id) as systems "
        "from articles a order by a.date desc, a.id limit ? offset ?",
        [PAGE_SIZE, (page - 1) * PAGE_SIZE],
    )
    for row in rows:
        row["language_name"] = language_name(row["language"])
        row["outlet"] = row["publisher"] or host(row["url"])
    return {"rows": rows, **_paged(total, page)}


def mention_search(conn: sqlite3.Connection, query: str, page: int = 1) -> dict:
    """What articles say: the sentences that name a system and hold every word of
    ``query`` (all of them, newest first, without one), each linked to its place."""
    words = re.findall(r"\w+", query)
    params: dict = {"limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}
    if words:
        params["match"] = " ".join(f'"{word}"' for word in words)
        where = "m.rowid in (select rowid from mentions_fts where mentions_fts match :match)"
    else:
        where = "1"
    total = conn.execute(f"select count(*) from mentions m where {where}", params).fetchone()[0]
    rows = query_rows(
        conn,
        "select m.id, m.exact, m.start, m.end, m.sentence, m.sentence_start, m.system_id, "
        "s.name as system_name, m.article_id, a.title as article_title, a.date as article_date, "
        "a.language from mentions m join systems s on s.id = m.system_id "
        f"join articles a on a.id = m.article_id where {where} "
        "order by a.date desc, a.id, m.start limit :limit offset :offset",
        params,
    )
    for row in rows:
        row["runs"] = _sentence_runs(row, words)
    return {"query": query, "rows": rows, **_paged(total, page)}


def _sentence_runs(row: dict, wanted: list[str]) -> list[dict]:
    """The sentence as runs: the mention (linked), and the words searched for (marked)."""
    sentence, offset = row["sentence"], row["sentence_start"]
    start, end = row["start"] - offset, row["end"] - offset
    runs = found_runs(sentence[:start], wanted)
    runs.append({"text": sentence[start:end], "mention": True})
    return runs + found_runs(sentence[end:], wanted)


def sources_list(conn: sqlite3.Connection, page: int = 1) -> dict:
    """Every work the catalog cites, once (an address cited by several entries is one work),
    with its publisher and the entries that cite it, by publisher then title."""
    total = conn.execute(
        f"select count(distinct {WORK}) from sources where kind = 'external'"
    ).fetchone()[0]
    rows = query_rows(
        conn,
        "select s.work, min(s.title) as title, min(s.title_is_descriptive) as descriptive, "
        "min(s.url) as url, min(s.via) as via, min(s.publisher) as publisher, min(s.date) as date, "
        "min(p.kind) as publisher_kind, min(p.reliability) as reliability, "
        "group_concat(s.system_id || ' ' || s.number, ',') as cited_by "
        f"from (select *, {WORK} as work from sources where kind = 'external') s "
        "left join publishers p on p.id = s.publisher_id group by s.work "
        "order by coalesce(min(s.publisher), 'zzz') collate nocase, min(s.title) collate nocase "
        "limit ? offset ?",
        [PAGE_SIZE, (page - 1) * PAGE_SIZE],
    )
    names = dict(conn.execute("select id, name from systems"))
    for row in rows:
        row["caution"] = caution(row["publisher_kind"], row["reliability"])
        row["via_host"] = host(row["via"])
        row["entries"] = [
            {"id": system_id, "name": names.get(system_id, system_id), "number": int(number)}
            for system_id, number in (part.split(" ") for part in row["cited_by"].split(","))
        ]
    return {"rows": rows, **_paged(total, page)}


def contested_values(conn: sqlite3.Connection) -> dict:
    """One row per property on which an entry's sources disagree, its values side by side,
    each with its qualifier, note and the numbers of its sources on the entry."""
    contested = conn.execute(
        "select distinct p.system_id, s.name from specs p join systems s on s.id = p.system_id "
        "where p.contested order by s.name collate nocase"
    ).fetchall()
    rows = []
    for system_id, name in contested:
        specs = [spec for spec in entry_specs(conn, system_id) if spec["contested"]]
        for prop in dict.fromkeys(spec["property"] for spec in specs):
            values = [spec for spec in specs if spec["property"] == prop]
            rows.append(
                {
                    "system_id": system_id,
                    "system_name": name,
                    "label": values[0]["property_label"],
                    "values": values,
                }
            )
    return {"rows": rows, "total": len(rows)}


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
    rows = query_rows(
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
