"""Versions of an entry and what changed between two of them, in words: what the build's
history stage records for each step and the site shows on its history and diff pages. Plain
data in, sentences out, so the site reads it without loading the build.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from refdb.catalog.properties import PROPERTIES

VERSION_LENGTH = 12  # hex digits of a file's SHA-256 that name one of its versions


FIELD_LABELS = {
    "id": "id",
    "name": "name",
    "nato_reporting_name": "NATO reporting name",
    "category": "category",
    "family": "whether it is a family of versions",
    "role": "role",
    "country": "country of origin",
    "designer": "designer",
    "manufacturer": "manufacturer",
    "status": "status",
    "wikidata": "Wikidata item",
    "designations": "designations",
    "operators": "operators",
    "redirect_ids": "redirect ids",
    "entry_sources": "sources of the descriptive fields",
    "not_context": "words that mean something else",
    "used_in": "the languages whose press uses it",
    "vetoed_forms": "refused spellings",
}
SOURCE_LABELS = {
    "title": "title",
    "title_is_descriptive": "descriptive title",
    "url": "URL",
    "publisher": "publisher",
    "via": "copy read (via)",
    "archive_url": "archived copy",
    "language": "language",
    "author": "author",
    "date": "date",
    "accessed": "access date",
    "note": "note",
    "article": "article",
    "quote": "quote",
    "prefix": "words before the quote",
}


def describe_changes(before: dict, after: dict) -> list[str]:
    """What differs from ``before`` to ``after`` (two versions' data), one sentence each:
    fields added, removed or changed; names, specs, relations and sources by what they say."""
    cited = {**(before.get("sources") or {}), **(after.get("sources") or {})}
    titles = {key: source_words(source) for key, source in cited.items()}  # readers, not keys
    words = []
    for key, label in FIELD_LABELS.items():
        words += _field(label, *_titled(key, before.get(key), after.get(key), titles))
    if before.get("description") != after.get("description"):
        words.append(_description(before.get("description"), after.get("description")))
    words += _aliases(before.get("aliases") or [], after.get("aliases") or [], titles)
    words += _specs(before.get("specs") or [], after.get("specs") or [], titles)
    words += _relations(before.get("relations") or [], after.get("relations") or [], titles)
    words += _sources(before.get("sources") or {}, after.get("sources") or {})
    known = {*FIELD_LABELS, "description", "aliases", "specs", "relations", "sources"}
    for key in sorted((before.keys() | after.keys()) - known):
        words += _field(key.replace("_", " "), before.get(key), after.get(key))
    return words


def _titled(key: str, old: Any, new: Any, titles: dict) -> tuple[Any, Any]:
    """Lists of source keys as the sources' titles: a reader never sees a curator's key."""
    if key not in ("sources", "entry_sources"):
        return old, new
    return tuple(
        [_Title(titles.get(k, k)) for k in value] if isinstance(value, list) else value
        for value in (old, new)
    )


class _Title(str):
    """A source already described in words: shown as it is, not quoted again."""


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, _Title):
        return str(value)
    if isinstance(value, str):
        return f"“{value}”"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | float):
        return f"{value:,}"
    return json.dumps(value, ensure_ascii=False)


def _field(label: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if old in (None, [], ""):
        return [f"{label} added: {_shown(new)}"]
    if new in (None, [], ""):
        return [f"{label} removed (was {_shown(old)})"]
    if isinstance(old, list) and isinstance(new, list):
        added = [item for item in new if item not in old]
        removed = [item for item in old if item not in new]
        parts = [f"added {_shown(added)}"] if added else []
        parts += [f"removed {_shown(removed)}"] if removed else []
        return [f"{label}: {'; '.join(parts) or 'reordered'}"]
    return [f"{label} changed from {_shown(old)} to {_shown(new)}"]


def _description(old: str | None, new: str | None) -> str:
    if not old:
        return "description added"
    if not new:
        return "description removed"
    old_words, new_words = str(old).split(), str(new).split()
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_words, new_words).get_opcodes():
        if tag != "equal":
            removed, added = removed + i2 - i1, added + j2 - j1
    if not (added or removed):
        return "description reflowed (same words)"
    return f"description reworded ({added} words in, {removed} out)"


def _sub_changes(
    old: dict, new: dict, labels: dict | None = None, titles: dict | None = None
) -> list[str]:
    labels, titles = labels or {}, titles or {}
    return [
        sentence
        for key in dict.fromkeys([*old, *new])
        for sentence in _field(
            labels.get(key, key.replace("_", " ")),
            *_titled(key, old.get(key), new.get(key), titles),
        )
    ]


def _alias_text(alias: dict) -> str:
    details = ", ".join(str(alias[key]) for key in ("lang", "kind") if alias.get(key))
    return f"“{alias.get('text')}”" + (f" ({details})" if details else "")


def _aliases(old: list, new: list, titles: dict) -> list[str]:
    old_by = {str(a.get("text")): a for a in old if isinstance(a, dict)}
    new_by = {str(a.get("text")): a for a in new if isinstance(a, dict)}
    words = [f"name added: {_alias_text(new_by[t])}" for t in new_by if t not in old_by]
    words += [f"name removed: {_alias_text(old_by[t])}" for t in old_by if t not in new_by]
    for text in [t for t in new_by if t in old_by]:
        changes = _sub_changes(old_by[text], new_by[text], titles=titles)
        if changes:
            words.append(f"name “{text}”: {'; '.join(changes)}")
    return words


def spec_words(spec: dict) -> str:
    """'maximum range 5,500 km (approx)' — a spec as a reader says it."""
    prop = PROPERTIES.get(spec.get("property"))
    label = prop.label if prop else str(spec.get("property"))
    value = spec.get("value")
    unit = spec.get("unit")
    shown = value if isinstance(value, str) else _shown(value)
    amount = f"Mach {shown}" if unit == "mach" else f"{shown} {unit or ''}".strip()
    qualifier = f" ({str(spec['qualifier']).replace('-', ' ')})" if spec.get("qualifier") else ""
    return f"{label} {amount}{qualifier}"


def _specs(old: list, new: list, titles: dict) -> list[str]:
    """Specs by property: the same value with other sources or notes is a change to it; one
    value replacing one other is a changed value; the rest were added or removed."""
    gone = [s for s in old if isinstance(s, dict) and s not in new]
    came = [s for s in new if isinstance(s, dict) and s not in old]
    words = []
    for prop in dict.fromkeys(s.get("property") for s in gone + came):
        was = [s for s in gone if s.get("property") == prop]
        now = [s for s in came if s.get("property") == prop]
        for spec in list(now):
            same = next((s for s in was if spec_words(s) == spec_words(spec)), None)
            if same is not None:
                words.append(_spec_change(same, spec, titles))
                was.remove(same)
                now.remove(spec)
        if len(was) == 1 and len(now) == 1:
            words.append(_spec_change(was[0], now[0], titles))
            continue
        words += [f"spec added: {spec_words(s)}{_backed(s, titles)}" for s in now]
        words += [f"spec removed: {spec_words(s)}" for s in was]
    return words


def _backed(item: dict, titles: dict) -> str:
    sources = [titles.get(key, str(key)) for key in item.get("sources") or []]
    return f" (source: {'; '.join(sources)})" if sources else ""


def _spec_change(old: dict, new: dict, titles: dict) -> str:
    if spec_words(old) != spec_words(new):
        sentence = f"{spec_words(old)} changed to {spec_words(new)[len(_label(new)) + 1 :]}"
    else:
        sentence = spec_words(new)
    rest = {k: v for k, v in old.items() if k not in ("property", "value", "unit", "qualifier")}
    after = {k: v for k, v in new.items() if k not in ("property", "value", "unit", "qualifier")}
    details = _sub_changes(rest, after, titles=titles)
    return sentence + (f": {'; '.join(details)}" if details else "")


def _label(spec: dict) -> str:
    prop = PROPERTIES.get(spec.get("property"))
    return prop.label if prop else str(spec.get("property"))


def _relation_words(relation: dict) -> str:
    return f"{str(relation.get('type')).replace('-', ' ')} {relation.get('target')}"


def _relations(old: list, new: list, titles: dict) -> list[str]:
    old_by = {_relation_words(r): r for r in old if isinstance(r, dict)}
    new_by = {_relation_words(r): r for r in new if isinstance(r, dict)}
    words = [
        f"relation added: {key}{_backed(new_by[key], titles)}"
        for key in new_by
        if key not in old_by
    ]
    words += [f"relation removed: {key}" for key in old_by if key not in new_by]
    for key in [k for k in new_by if k in old_by]:
        changes = _sub_changes(
            {k: v for k, v in old_by[key].items() if k not in ("type", "target")},
            {k: v for k, v in new_by[key].items() if k not in ("type", "target")},
            titles=titles,
        )
        if changes:
            words.append(f"relation {key}: {'; '.join(changes)}")
    return words


def source_words(source: Any) -> str:
    """'“Tupolev Tu-160” (en.wikipedia.org)', or a quote from a catalog article."""
    if not isinstance(source, dict):
        return _shown(source)
    if source.get("article"):
        return f"quote “{source.get('quote')}” from the article {source['article']}"
    host = re.sub(r"^https?://([^/]+).*", r"\1", source.get("url") or "")
    where = host or source.get("publisher")
    return f"“{source.get('title')}”" + (f" ({where})" if where else "")


def _sources(old: dict, new: dict) -> list[str]:
    words = [f"source added: {source_words(value)}" for key, value in new.items() if key not in old]
    words += [
        f"source removed: {source_words(value)}" for key, value in old.items() if key not in new
    ]
    for key in [k for k in new if k in old]:
        if isinstance(old[key], dict) and isinstance(new[key], dict):
            changes = _sub_changes(old[key], new[key], SOURCE_LABELS)
        else:
            changes = _field("value", old[key], new[key])
        if changes:
            words.append(f"source {source_words(new[key])}: {'; '.join(changes)}")
    return words
