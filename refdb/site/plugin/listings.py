"""The lists a reader reaches from the home page, as pages to read rather than tables: the
articles, what articles say (the mention search), the sources, and the values sources
disagree on. Each is a page at a time, and links the raw table for data work.

Plain functions over a sqlite3 connection, as in ``pages``; everything returned is text the
templates escape.
"""

from __future__ import annotations

import math
import re
import sqlite3

from refdb.site.plugin.pages import (
    WORK,
    _rows,
    _specs,
    caution,
    found_runs,
    host,
    language_name,
)

PAGE_SIZE = 50


def _paged(total: int, page: int) -> dict:
    return {"total": total, "page": page, "pages": max(1, math.ceil(total / PAGE_SIZE))}


def articles_list(conn: sqlite3.Connection, page: int = 1) -> dict:
    """The articles, newest first: title, date, publisher, language, and what they name."""
    total = conn.execute("select count(*) from articles").fetchone()[0]
    rows = _rows(
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
    rows = _rows(
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
    rows = _rows(
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
        specs = [spec for spec in _specs(conn, system_id) if spec["contested"]]
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
