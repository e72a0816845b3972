"""Every version of every entry, read from the catalog's git history, and what changed.

A citation names an entry's version: the first 12 hex digits of the SHA-256 of its YAML
file. The build walks the first-parent line of the catalog's git history (a merged branch
counts as one change, at its merge), reads each entry file as every commit left it, and
records each version with the commit, date and message that made it, its YAML text and its
data, so a reader can open exactly what was cited. A working tree that differs from its
last commit adds an "uncommitted" version; a catalog outside git has only its current
versions; a shallow clone has the versions its commits hold, the oldest marked as such.

Reading git costs one ``git log`` and one ``git cat-file --batch``; what an earlier build
extracted (each commit's changes, each file version's data) is reused from a signed cache
beside the database (``.refdb.db.history``), so a build reads only the new commits.

``describe_changes`` says in words what differs between two versions; the site uses it too.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refdb.schema import PROPERTIES

VERSION_LENGTH = 12
ENTRY_PATH = re.compile(r"systems/([a-z0-9]+(?:-[a-z0-9]+)*)\.yaml")
GIT_TIMEOUT = 600


def version_of(content: bytes) -> str:
    """The version a citation names: the start of the SHA-256 of the entry's file."""
    return hashlib.sha256(content).hexdigest()[:VERSION_LENGTH]


def blob_id(content: bytes) -> str:
    """The id git gives ``content`` (a blob), to compare the working tree with a commit."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


# --- reading git --------------------------------------------------------------------------


@dataclass
class Commit:
    sha: str
    parents: list[str]
    date: str
    message: str
    changes: list[tuple[str, str | None, str | None, str | None]]  # status, old, new, blob


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    """Output of a git command run in the catalog, or None (no git, not a repository...)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


@dataclass
class Repository:
    root: Path
    head: str
    shallow: bool

    @classmethod
    def of(cls, root: Path) -> Repository | None:
        """The git checkout the catalog is in, if it has a commit."""
        out = _git(root, "rev-parse", "--is-shallow-repository", "--verify", "HEAD")
        if out is None:
            return None
        shallow, head = out.decode().split()
        return cls(Path(root), head, shallow == "true")

    def first_parents(self) -> list[str]:
        """HEAD's first-parent line, newest first."""
        return (_git(self.root, "rev-list", "--first-parent", "HEAD") or b"").decode().split()

    def log(self, since: str | None) -> list[Commit]:
        """The commits after ``since`` on the first-parent line, oldest first, with the
        entry files each added, changed, renamed or deleted."""
        revisions = f"{since}..HEAD" if since else "HEAD"
        out = _git(
            self.root,
            "-c",
            "core.quotepath=off",
            "log",
            "--first-parent",
            "--diff-merges=first-parent",
            "--reverse",
            "--raw",
            "-z",
            "--no-abbrev",
            "-M",
            "--relative",
            "--format=%x01%H%x00%P%x00%cI%x00%s",
            revisions,
            "--",
            "systems",
        )
        return [_commit(chunk) for chunk in (out or b"").decode().split("\x01")[1:]]

    def blobs(self, ids: list[str]) -> dict[str, bytes]:
        """The content of each blob, read through one ``git cat-file --batch``."""
        if not ids:
            return {}
        out = _git(self.root, "cat-file", "--batch", stdin="\n".join(ids).encode() + b"\n")
        found, position = {}, 0
        while out and position < len(out):
            header_end = out.index(b"\n", position)
            sha, kind, *size = out[position:header_end].decode().split()
            position = header_end + 1
            if kind == "missing":
                continue
            found[sha] = out[position : position + int(size[0])]
            position += int(size[0]) + 1
        return found


def _commit(chunk: str) -> Commit:
    sha, parents, date, message, *tokens = chunk.split("\0")
    changes, tokens = [], iter(token.strip("\n") for token in tokens)
    for meta in tokens:
        if not meta.startswith(":"):
            continue
        *_, blob, status = meta.split()
        if status[0] in "RC":
            old, new = next(tokens), next(tokens)
        else:
            old = new = next(tokens)
        if status[0] == "D":
            changes.append(("D", old, None, None))
        elif status[0] == "R":
            changes.append(("R", old, new, blob))
        elif status[0] == "A" or status[0] == "C":
            changes.append(("A", None, new, blob))
        else:
            changes.append(("M", old, new, blob))
    return Commit(sha, parents.split(), date, message, changes)


# --- the cache ----------------------------------------------------------------------------


@dataclass
class HistoryCache:
    """Commits' changes (they never change) and file versions' data (valid for this code)."""

    commits: dict[str, Commit] = field(default_factory=dict)
    blobs: dict[str, list] = field(default_factory=dict)  # blob -> [sha256, data, problem]
    changes: dict[str, list[str]] = field(default_factory=dict)  # step -> what changed, in words

    @staticmethod
    def beside(db_path: Path | str) -> Path:
        db_path = Path(db_path)
        return db_path.with_name(f".{db_path.name}.history")

    @classmethod
    def load(cls, path: Path | None) -> HistoryCache:
        from refdb.cache import code_version, read_signed

        stored = read_signed(path) if path is not None else None
        if stored is None:
            return cls()
        try:
            commits = {sha: Commit(sha, *fields) for sha, fields in stored["commits"].items()}
            same_code = stored.get("code") == code_version()
            blobs = stored["blobs"] if same_code else {}
            changes = stored["changes"] if same_code else {}
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()
        return cls(commits, blobs, changes)

    def save(self, path: Path | None) -> None:
        """Written beside the database; an optimisation, so a path it cannot use is skipped."""
        from refdb.cache import code_version, write_signed

        if path is None:
            return
        commits = {
            sha: [c.parents, c.date, c.message, c.changes] for sha, c in self.commits.items()
        }
        write_signed(
            path,
            {
                "code": code_version(),
                "commits": commits,
                "blobs": self.blobs,
                "changes": self.changes,
            },
        )


# --- versions and events ------------------------------------------------------------------


@dataclass
class Event:
    """One step in an entry's history: a version added or changed, a rename, a removal."""

    kind: str  # added, changed, renamed, removed, restored; earliest (a shallow clone's first)
    path: str
    blob: str | None
    commit: Commit | None
    renamed_from: str | None = None


def parse_version(path: str, content: bytes) -> tuple[dict | None, str | None]:
    """An entry file's data as the current format validates it, else as plain YAML with the
    reason it no longer validates (the catalog's format may have moved on since)."""
    from pydantic import ValidationError

    from refdb.errors import CatalogError
    from refdb.loader import MAX_FILE_BYTES, load_yaml
    from refdb.schema import SystemEntry

    if len(content) > MAX_FILE_BYTES:
        return None, f"larger than {MAX_FILE_BYTES:,} bytes"
    try:
        document = load_yaml(Path(path), content)
    except CatalogError as error:
        return None, error.problems[0].message
    if not isinstance(document.data, dict):
        return None, "not a mapping of fields"
    try:
        entry = SystemEntry.model_validate(document.data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return document.data, f"does not validate as today's format ({where}: {first['msg']})"
    return entry.model_dump(mode="json", exclude_defaults=True, warnings=False), None


def _events(commits: list[Commit], shallow: bool) -> list[list[Event]]:
    """Each entry's events in order; a rename continues the entry's story, and a file
    added where an entry was removed restores it."""
    lineages: list[list[Event]] = []
    live: dict[str, list[Event]] = {}  # path -> the events of the entry now at that path
    removed: dict[str, list[Event]] = {}  # path -> the events of the entry last removed there
    for commit in commits:
        boundary = shallow and not commit.parents
        for status, old, new, blob in commit.changes:
            if status == "D":
                if old in live:
                    removed[old] = live.pop(old)
                    removed[old].append(Event("removed", old, None, commit))
                continue
            if not ENTRY_PATH.fullmatch(new):
                continue
            if status == "R" and old in live:
                events = live.pop(old)
                events.append(Event("renamed", new, blob, commit, renamed_from=old))
            elif new in live:
                events = live[new]
                events.append(Event("changed", new, blob, commit))
            else:
                events = removed.pop(new, [])
                kind = "restored" if events else ("earliest" if boundary else "added")
                if not events:
                    lineages.append(events)
                events.append(Event(kind, new, blob, commit))
            live[new] = events
    return lineages


def _removed(lineages: list[list[Event]]) -> dict[str, list[Event]]:
    """Path -> the events of the entry last removed from it (one pass, not one per path)."""
    return {events[-1].path: events for events in lineages if events[-1].kind == "removed"}


def _id(path: str) -> str:
    return ENTRY_PATH.fullmatch(path).group(1)


def _working_tree(lineages: list[list[Event]], current: dict[str, bytes], kept: bool) -> None:
    """Entry files that differ from the last commit: an uncommitted version or removal.
    Outside git (``kept`` false) each current file is its entry's only version."""
    live = {events[-1].path: events for events in lineages if events[-1].blob}
    removed = _removed(lineages)
    for path, content in current.items():
        events = live.pop(path, None) or removed.pop(path, [])
        if not events:
            lineages.append([Event("added" if kept else "current", path, blob_id(content), None)])
        elif events[-1].blob != blob_id(content):
            kind = "restored" if events[-1].kind == "removed" else "changed"
            events.append(Event(kind, path, blob_id(content), None))
    for path, events in live.items():
        events.append(Event("removed", path, None, None))


def _by_id(lineages: list[list[Event]]) -> dict[str, list[Event]]:
    """Lineages by the id they end with; two that end with the same id are one story."""
    grouped: dict[str, list[Event]] = {}
    for events in lineages:
        grouped.setdefault(_id(events[-1].path), []).extend(events)
    return grouped


# --- rows ---------------------------------------------------------------------------------


def history_rows(
    catalog, db_path: Path | str | None, row, reuse: bool = True, only: set[str] | None = None
) -> dict[type, list]:
    """The rows of ``entry_versions`` and ``entry_changes`` for a validated catalog.

    ``row(model, **values)`` makes one row (the compiler's constructor). With ``reuse``, what
    the previous build beside ``db_path`` extracted is reused. With ``only`` (entry ids), the
    rows of those entries alone, ``catalog.files`` holding at least their files: how an
    incremental build renews the history of the entries it changes.
    """
    from refdb import tables

    system_ids = {system.id for system in catalog.systems}
    current = {
        path: content
        for path, content in catalog.files.items()
        if ENTRY_PATH.fullmatch(path) and _id(path) in system_ids
    }
    cache_path = HistoryCache.beside(db_path) if db_path else None
    cache = HistoryCache.load(cache_path if reuse else None)
    repository = Repository.of(catalog.root)
    commits = _commits(repository, cache) if repository else []
    lineages = _events(commits, bool(repository and repository.shallow))
    if only is not None:
        lineages = [events for events in lineages if _id(events[-1].path) in only]
    _working_tree(lineages, current, kept=repository is not None)
    by_id = _by_id(lineages)
    contents = _contents(repository, by_id, current)
    data = _data(contents, cache, {s.id: s for s in catalog.systems}, current)
    rows: dict[type, list] = {tables.EntryVersion: [], tables.EntryChange: []}
    changes, cache.changes = cache.changes, {}
    for system_id, events in sorted(by_id.items()):
        _entry_rows(system_id, events, contents, data, rows, row, (changes, cache.changes))
    if repository and only is None:
        cache.save(cache_path)
    return rows


def _commits(repository: Repository, cache: HistoryCache) -> list[Commit]:
    """HEAD's first-parent commits, oldest first: cached ones reused, the rest read."""
    if repository.shallow:  # its edge may deepen later: read it whole (it is short anyway)
        cache.commits = {}
        return repository.log(None)
    line = repository.first_parents()
    known = next((sha for sha in line if sha in cache.commits), None)
    new = repository.log(known)
    cache.commits |= {commit.sha: commit for commit in new}
    kept = {sha: cache.commits[sha] for sha in line if sha in cache.commits}
    cache.commits = kept
    return [kept[sha] for sha in reversed(line) if sha in kept]


def _contents(repository, by_id, current: dict[str, bytes]) -> dict[str, bytes]:
    """Blob id -> content of every version, from the working tree or from git."""
    contents = {blob_id(content): content for content in current.values()}
    wanted = sorted(
        {e.blob for events in by_id.values() for e in events if e.blob} - contents.keys()
    )
    if repository:
        contents |= repository.blobs(wanted)
    return contents


def _data(contents, cache: HistoryCache, systems, current) -> dict[str, list]:
    """Blob id -> [sha256, data, problem]; the current files' data is the validated entry."""
    blobs = {}
    now = {blob_id(content): path for path, content in current.items()}
    for blob, content in contents.items():
        found = cache.blobs.get(blob)  # a blob id names its content: what it held still holds
        if found is None and blob in now:
            entry = systems[_id(now[blob])]
            found = [
                hashlib.sha256(content).hexdigest(),
                entry.model_dump(mode="json", exclude_defaults=True, warnings=False),
                None,
            ]
        elif found is None:
            found = [hashlib.sha256(content).hexdigest(), *parse_version("entry", content)]
        blobs[blob] = found
    cache.blobs = blobs
    return blobs


def _entry_rows(system_id, events, contents, data, rows, row, words) -> None:
    """An entry's versions and steps; ``words`` is (what an earlier build said each step
    changed, what this one says), as a step is the same step whatever commit holds it."""
    from refdb import tables

    previous, seen = None, set()
    for sequence, event in enumerate(events, start=1):
        version = sha256 = None
        if event.blob is not None and event.blob in data:
            sha256, entry_data, problem = data[event.blob]
            version = sha256[:VERSION_LENGTH]
            if version not in seen:
                seen.add(version)
                rows[tables.EntryVersion].append(
                    _version_row(row, system_id, version, sha256, event, contents, entry_data)
                )
                rows[tables.EntryVersion][-1].problem = problem
        elif event.blob is not None:
            continue  # a blob git no longer has (a damaged clone): nothing to show
        step = f"{previous}>{event.blob}>{event.kind}>{event.renamed_from}"
        said = words[0].get(step)
        if said is None:
            before = data[previous][1] if previous else None
            after = data[event.blob][1] if event.blob else None
            said = _event_words(event, before, after)
        words[1][step] = said
        rows[tables.EntryChange].append(
            row(
                tables.EntryChange,
                id=f"{system_id}:{sequence}",
                system_id=system_id,
                sequence=sequence,
                kind=event.kind,
                version=version,
                previous_version=data[previous][0][:VERSION_LENGTH] if previous else None,
                file=event.path,
                renamed_from=event.renamed_from,
                git_commit=event.commit.sha if event.commit else None,
                date=event.commit.date if event.commit else None,
                message=event.commit.message if event.commit else None,
                changes=json.dumps(said, ensure_ascii=False),
            )
        )
        if event.blob:
            previous = event.blob


def _version_row(row, system_id, version, sha256, event, contents, entry_data):
    from refdb import tables

    entry_data = entry_data if isinstance(entry_data, dict) else {}
    designations = entry_data.get("designations") or []
    name = str(entry_data.get("name") or system_id)
    return row(
        tables.EntryVersion,
        id=f"{system_id}@{version}",
        system_id=system_id,
        version=version,
        sha256=sha256,
        id_then=_id(event.path),
        file=event.path,
        name=name,
        designation=str(designations[0]) if designations else name,
        country_name=_country_name(entry_data.get("country")),
        git_commit=event.commit.sha if event.commit else None,
        date=event.commit.date if event.commit else None,
        yaml=contents[event.blob].decode("utf-8", errors="replace"),
        data=json.dumps(entry_data, ensure_ascii=False) if entry_data else None,
    )


def _country_name(code) -> str | None:
    from refdb.rows import country_name as name_of

    try:
        return name_of(code) if isinstance(code, str) else None
    except (AttributeError, LookupError, KeyError):
        return code


def _event_words(event: Event, before: dict | None, after: dict | None) -> list[str]:
    if event.kind == "removed":
        return ["entry removed"]
    if event.kind == "current":
        return ["the current version; the catalog is not kept in git, so no earlier one is known"]
    if event.kind == "earliest":
        return ["the earliest version in this copy of the history (a shallow clone)"]
    if before is None:
        return ["entry restored" if event.kind == "restored" else "entry created"]
    words = describe_changes(before, after or {})
    if event.renamed_from:
        words.insert(0, f"file renamed from {event.renamed_from} to {event.path}")
    if event.kind == "restored":
        words.insert(0, "entry restored")
    return words or ["no change to the data (layout or comments only)"]


# --- what changed, in words ---------------------------------------------------------------

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
