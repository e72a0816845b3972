"""The home page's figures and what a search finds: entries by name, close spellings,
categories, and the articles naming a system the catalog lacks.

Plain functions over a sqlite3 connection, as in ``pages``."""

from __future__ import annotations

import json
import re
import sqlite3

from rapidfuzz import fuzz, process

from refdb import text
from refdb.site.plugin.pages import DATABASE, build_info, language_name, query_rows, split_list

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
        "categories": query_rows(
            conn,
            "select s.category, c.label, count(*) as n from systems s "
            "left join categories c on c.id = s.category group by s.category "
            "order by n desc, s.category",
        ),
    }


def named_entries(conn: sqlite3.Connection, query: str) -> list[dict]:
    """The entries ``query`` names: one of their names, a spelling the linker knows them by,
    their id or a redirect id ("tu22m3", "Кинджал", "admiral-shaposhnikov")."""
    return query_rows(
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
    spellings = query_rows(
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
    rows = query_rows(
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
