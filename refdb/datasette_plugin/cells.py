"""How cells of canned queries and of the mentions table are shown (``render_cell``).

Columns are recognised by name, as the canned queries in datasette.yaml name them: an id
column links to its entry or article, numbers are grouped, yes/no columns read as words.
Every value is escaped; only the links and marks added here are markup.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from refdb import text, units
from refdb.datasette_plugin import pages

YES_NO = {"contested", "derived"}
NUMBERS = {"value", "comparable", "count", "mentions"}


def _get(row, column: str):
    """A row's value; a foreign key the table page expanded to {value, label} as its value."""
    try:
        value = row[column]
    except (IndexError, KeyError):
        return None
    return value["value"] if isinstance(value, dict) else value


def query_cell(datasette, row, column: str, value):
    """A canned query's cell, by its column's name."""
    if value is None:
        return None
    urls = datasette.urls
    if column == "system":
        return Markup(f'<a href="{escape(urls.path("/system/" + str(value)))}">{escape(value)}</a>')
    if column == "article":
        href = urls.row(pages.DATABASE, "articles", str(value))
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    if column == "mention" and _get(row, "article"):
        href = urls.row(pages.DATABASE, "articles", str(_get(row, "article"))) + f"#m-{value}"
        return Markup(f'<a href="{escape(href)}">in the article</a>')
    if column == "sources" and _get(row, "system"):
        entry = urls.path(f"/system/{_get(row, 'system')}")
        return Markup("").join(
            Markup(f'<a href="{escape(entry)}#source-{n}">[{n}]</a>')
            for n in pages.source_numbers(str(value))
        )
    if column in YES_NO:
        return "yes" if value else "no"
    if column in NUMBERS and isinstance(value, int | float) and not isinstance(value, bool):
        return units.number(value)  # as stored: a source's Mach 2.05 is not "2"
    return None


def mention_cell(datasette, request, row, column: str, value):
    """A mention's sentence with the mention marked and linked to its place in the
    article, and the words searched for marked too."""
    if column != "sentence" or not value:
        return None
    needed = ("start", "end", "sentence_start", "article_id", "id")
    if any(_get(row, name) is None for name in needed):
        return None  # columns left out (?_col=, ?_nocol=): the sentence as it is
    start = _get(row, "start") - _get(row, "sentence_start")
    end = _get(row, "end") - _get(row, "sentence_start")
    href = datasette.urls.row(pages.DATABASE, "articles", _get(row, "article_id"))
    href += f"#m-{_get(row, 'id')}"
    words = re.findall(r"\w+", request.args.get("_search", ""))[:20]
    return Markup(
        f'{_marked(value[:start], words)}<mark><a href="{escape(href)}">'
        f"{escape(value[start:end])}</a></mark>{_marked(value[end:], words)}"
    )


def _marked(sentence: str, words: list[str]) -> Markup:
    """``sentence`` escaped, with each word that starts like a searched word marked
    (case and accents folded, as full-text search matches them)."""
    if not words:
        return escape(sentence)
    folded = text.fold(sentence)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(text.fold(w)) for w in words) + r")\w*")
    pieces, last = [], 0
    for match in pattern.finditer(folded):
        pieces.append(escape(sentence[last : match.start()]))
        pieces.append(
            Markup('<b class="refdb-hit">')
            + escape(sentence[match.start() : match.end()])
            + Markup("</b>")
        )
        last = match.end()
    pieces.append(escape(sentence[last:]))
    return Markup("").join(pieces)
