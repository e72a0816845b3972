"""Row ids derived from what a row is, never from where it falls in the build.

A spec is ``<system>--<property>--<n-th value of that property>``, a relation
``<system>--<type>--<target>``, an alias or a form ``<system>--<compact name>``, a source
``<system>--<key>``; a row with no short natural key (a flag) gets a hash of its key, as
sqlite-utils' ``hash_id`` does. Editing one entry therefore never changes another entry's
ids, and ``/refdb/specs/<id>`` or ``#spec-<id>`` stay valid across builds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlite_utils.utils import hash_record

SEPARATOR = "--"


def join(*parts: object) -> str:
    return SEPARATOR.join(map(str, parts))


def numbered(keys: Iterable[str]) -> list[str]:
    """Each key as it is the first time, with ``--2``, ``--3``... on its repeats."""
    seen: Counter[str] = Counter()
    ids = []
    for key in keys:
        seen[key] += 1
        ids.append(key if seen[key] == 1 else join(key, seen[key]))
    return ids


def source(system_id: str, key: str) -> str:
    return f"{system_id}{SEPARATOR}{key}"


def spec_ids(system) -> list[str]:
    """One id per spec of ``system``: its property and which value of that property it is."""
    seen: Counter[str] = Counter()
    ids = []
    for spec in system.specs:
        seen[spec.property] += 1
        ids.append(f"{system.id}{SEPARATOR}{spec.property}{SEPARATOR}{seen[spec.property]}")
    return ids


def relation_ids(system) -> list[str]:
    return numbered(join(system.id, r.type, r.target) for r in system.relations)


def relation(system_id: str, type_: str, target_id: str) -> str:
    return join(system_id, type_, target_id)


def name(system_id: str, key: str) -> str:
    """An alias or a form: the entry and the name's compact spelling (``text.compact``)."""
    return f"{system_id}{SEPARATOR}{key}"


def hashed(record: dict) -> str:
    """A hash of the row's key columns (sqlite-utils' ``hash_id``)."""
    return hash_record(record)
