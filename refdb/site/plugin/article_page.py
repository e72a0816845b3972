"""What an article's page shows: its text in paragraphs with every mention and quote
marked.

Plain functions over a sqlite3 connection, as in ``pages``."""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections import defaultdict

from refdb.site.plugin.pages import query_rows

# Mentions highlighted on an article page; the rest are listed by the mentions table. A
# page stays linear in the text, and a pathological article does not cost minutes per view.
MAX_MARKED_MENTIONS = 2000


def article_view(conn: sqlite3.Connection, article_id: str) -> dict | None:
    """An article's paragraphs as runs of text carrying their mention and quotes, in order."""
    [article] = query_rows(conn, "select * from articles where id = ?", [article_id]) or [None]
    if article is None:
        return None
    mentions = query_rows(
        conn,
        "select m.*, s.name as system_name from mentions m join systems s on s.id = m.system_id "
        "where m.article_id = ? order by m.start, m.end desc",
        [article_id],
    )
    quotes = query_rows(
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
