"""How cells of canned queries and of the mentions table are shown (``render_cell``).

Columns are recognised by name, as the canned queries in datasette.yaml name them: a name
links to its entry or article (by the id in the row's lowercase column), a value carries its
unit and qualifier, numbers are grouped, yes/no columns and slugs read as words.
Every value is escaped; only the links and marks added here are markup.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from refdb.catalog import units
from refdb.site.plugin import pages, searching

YES_NO = {"Sources disagree", "Derived"}
NUMBERS = {"Mentions", "Count"}
WORDS = {"Relation", "Status"}  # slugs read as words: "variant-of" -> "variant of"


def _get(row, column: str):
    """A row's value; a foreign key the table page expanded to {value, label} as its value."""
    try:
        value = row[column]
    except (IndexError, KeyError):
        return None
    return value["value"] if isinstance(value, dict) else value


def query_cell(datasette, row, column: str, value):
    """A canned query's cell, by its column's name: the capitalised columns are the ones a
    reader sees (``_query_results.html``), the lowercase ones carry the ids they link to."""
    if value is None:
        return None
    urls = datasette.urls
    if column == "System" and _get(row, "system_id"):
        href = urls.path("/system/" + str(_get(row, "system_id")))
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    if column == "Article" and _get(row, "article_id"):
        href = urls.row(pages.DATABASE, "articles", str(_get(row, "article_id")))
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    if column == "Sentence" and _get(row, "mention_id"):
        return _sentence(urls, row, str(value))
    if column == "Value":
        return _value(value, _get(row, "unit"), _get(row, "qualifier"))
    if column == "On one scale" and isinstance(value, int | float):
        return _scaled(value, row)
    if column == "Sources" and _get(row, "system_id"):
        entry = urls.path(f"/system/{_get(row, 'system_id')}")
        return Markup("").join(
            Markup(f'<a href="{escape(entry)}#source-{n}">[{n}]</a>')
            for n in pages.source_numbers(str(value))
        )
    if column in YES_NO:
        return "yes" if value else "no"
    if column in WORDS:
        return str(value).replace("-", " ")
    if column in NUMBERS and isinstance(value, int | float) and not isinstance(value, bool):
        return units.number(value)
    return None


def _value(value, unit: str | None, qualifier: str | None) -> str:
    """A value as stored, with its unit and qualifier: "claimed 2,000 km", "Mach 2.05"."""
    shown = (
        pages.value_words(value, unit)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else str(value)
    )
    return f"{qualifier.replace('-', ' ')} {shown}" if qualifier else shown


def _scaled(value: float, row) -> str:
    """A value on the property's common scale, to the precision of the value as written."""
    written, unit, scale = _get(row, "raw_value"), _get(row, "unit"), _get(row, "comparable_unit")
    if unit == scale:
        return pages.value_words(value, scale)
    digits = units.significant_digits(written) if isinstance(written, int | float) else 3
    return "≈ " + pages.value_words(units.to_significant(value, digits), scale)


def _sentence(urls, row, sentence: str) -> Markup:
    """The sentence with its mention marked and linked to its place in the article."""
    start, end = _get(row, "mention_start"), _get(row, "mention_end")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end:
        return escape(sentence)
    href = (
        urls.row(pages.DATABASE, "articles", str(_get(row, "article_id")))
        + f"#m-{_get(row, 'mention_id')}"
    )
    return Markup(
        f'{escape(sentence[:start])}<mark><a href="{escape(href)}">'
        f"{escape(sentence[start:end])}</a></mark>{escape(sentence[end:])}"
    )


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
    """``sentence`` escaped, with each word that starts like a searched word marked."""
    return Markup("").join(
        Markup('<b class="refdb-hit">') + escape(run["text"]) + Markup("</b>")
        if run.get("found")
        else escape(run["text"])
        for run in searching.found_runs(sentence, words)
    )
