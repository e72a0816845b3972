"""An entry's names as every page lists them: its canonical name, designations and NATO name,
then the curated aliases, one per spelling. Standard library and ``refdb.text`` only, so the
site lists an old version's names by the very rule the build gave the current one's."""

from __future__ import annotations

from dataclasses import dataclass, replace

from refdb.text import compact


@dataclass(frozen=True, slots=True)
class Name:
    """One name of a system as the linker and the database see it."""

    system_id: str
    text: str
    kind: str
    lang: str | None
    case_sensitive: bool
    note: str | None = None
    context: tuple[str, ...] = ()  # words one of which must be near the name for it to count
    not_context: tuple[str, ...] = ()  # words none of which may be near it
    used_in: tuple[str, ...] = ()  # the article languages in which it is a name; () all


def listed_names(
    system_id: str,
    name: str,
    designations: list[str],
    nato: str | None,
    aliases: list[Name],
    shared: tuple[str, ...],
) -> list[Name]:
    """An entry's names as every page lists them: its ``name``, ``designations`` and ``nato``
    reporting name (the official ones, each with the entry's not-context words ``shared``),
    then the curated ``aliases``, one per spelling (:func:`unique_names`)."""
    official = [Name(system_id, name, "name", "en", False, not_context=shared)]
    official += [
        Name(system_id, d, "designation", None, False, not_context=shared) for d in designations
    ]
    if nato:
        official.append(Name(system_id, nato, "nato-name", "en", True, not_context=shared))
    return unique_names(official + aliases, len(official), shared)


def unique_names(names: list[Name], count: int, shared: tuple[str, ...]) -> list[Name]:
    """One name per spelling of ``names``, whose first ``count`` are the official ones (the
    name, designations and NATO name): the first, most official kind wins, and an alias that
    repeats an official spelling only says how that spelling links (its capitals, context
    words, presses). ``shared``: the entry's own not-context words, every name's."""
    official: dict[str, int] = {}  # compact spelling -> place of an official name in unique
    seen, unique = set(), []
    for index, name in enumerate(names):
        key = spelling_key(name.text, name.case_sensitive)
        place = official.get(compact(name.text)) if index >= count else None
        if place is not None and _has_options(name, shared):
            # an alias repeating an official spelling says how that spelling links
            first = unique[place]
            unique[place] = replace(
                first, case_sensitive=name.case_sensitive, context=name.context,
                not_context=name.not_context, used_in=name.used_in, note=first.note or name.note,
            )  # fmt: skip
            seen.add(key)
            continue
        if key not in seen:
            seen.add(key)
            if index < count:
                official.setdefault(compact(name.text), len(unique))
            unique.append(name)
    return unique


def _has_options(name: Name, shared: tuple[str, ...]) -> bool:
    """Whether an alias says more than its spelling: capitals, context words, presses."""
    return bool(name.case_sensitive or name.context or name.used_in) or (
        len(name.not_context) > len(shared)
    )


def spelling_key(text: str, case_sensitive: bool) -> str:
    """What makes two spellings one name: the compact form, and the capitals when they count."""
    key = compact(text)
    return with_capitals(key, text) if case_sensitive else key


def with_capitals(key: str, text: str) -> str:
    return key + "\0" + "".join("A" if ch.isupper() else "a" for ch in text if ch.isalpha())
