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

What differs between two versions, in words, is ``refdb.catalog.versions``' (the site uses it too).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from refdb.catalog.countries import country_name
from refdb.catalog.versions import VERSION_LENGTH, describe_changes

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

    from refdb.catalog.loader import MAX_FILE_BYTES, load_yaml
    from refdb.catalog.schema import SystemEntry
    from refdb.errors import CatalogError

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
    """The rows of ``entry_versions`` and ``entry_changes`` for a validated catalog, all at
    once (:func:`history_parts` gives them a part at a time)."""
    from refdb.compiling import tables

    rows: dict[type, list] = {tables.EntryVersion: [], tables.EntryChange: []}
    for part in history_parts(catalog, db_path, row, reuse, only):
        for model, items in part.items():
            rows[model] += items
    return rows


ENTRIES_PER_PART = 1000


def history_parts(
    catalog, db_path: Path | str | None, row, reuse: bool = True, only: set[str] | None = None
) -> Iterator[dict[type, list]]:
    """The rows of ``entry_versions`` and ``entry_changes``, ``ENTRIES_PER_PART`` entries at
    a time: each version's YAML and data made as its part is, not all at once (at 10,000
    entries, 17 MB held together at the end of the build).

    ``row(model, **values)`` makes one row (the compiler's constructor). With ``reuse``, what
    the previous build beside ``db_path`` extracted is reused. With ``only`` (entry ids), the
    rows of those entries alone, ``catalog.files`` holding at least their files: how an
    incremental build renews the history of the entries it changes.
    """
    from refdb.compiling import tables

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
    data = _Data(contents, cache, {s.id: s for s in catalog.systems}, current, repository)
    changes, cache.changes = cache.changes, {}
    ids = sorted(by_id)
    for start in range(0, len(ids), ENTRIES_PER_PART):
        rows: dict[type, list] = {tables.EntryVersion: [], tables.EntryChange: []}
        for system_id in ids[start : start + ENTRIES_PER_PART]:
            events = by_id[system_id]
            _entry_rows(system_id, events, contents, data, rows, row, (changes, cache.changes))
        data.part_done()
        yield rows
    if repository and only is None:
        cache.blobs = data.kept
        cache.save(cache_path)


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


class _Data:
    """Blob id -> [sha256, data, problem], each made when first asked for; the current
    files' data is the validated entry. Kept for the cache where the catalog is in git
    (outside git there is nothing to read again, and nothing is kept)."""

    def __init__(self, contents, cache: HistoryCache, systems, current, repository) -> None:
        self.contents, self.cached, self.systems = contents, cache.blobs, systems
        self.now = {blob_id(content): path for path, content in current.items()}
        self.kept: dict[str, list] = {}
        self.keep = repository is not None

    def __contains__(self, blob: str) -> bool:
        return blob in self.contents

    def __getitem__(self, blob: str) -> list:
        found = self.kept.get(blob) or self.cached.get(blob)  # a blob id names its content
        if found is None:
            found = self._made(blob, self.contents[blob])
        self.kept[blob] = found
        return found

    def part_done(self) -> None:
        """What the part's entries needed is forgotten, unless the cache will keep it."""
        if not self.keep:
            self.kept.clear()

    def _made(self, blob: str, content: bytes) -> list:
        sha256 = hashlib.sha256(content).hexdigest()
        if blob in self.now:
            entry = self.systems[_id(self.now[blob])]
            return [
                sha256,
                entry.model_dump(mode="json", exclude_defaults=True, warnings=False),
                None,
            ]
        return [sha256, *parse_version("entry", content)]


def _entry_rows(system_id, events, contents, data, rows, row, words) -> None:
    """An entry's versions and steps; ``words`` is (what an earlier build said each step
    changed, what this one says), as a step is the same step whatever commit holds it."""
    from refdb.compiling import tables

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
    from refdb.compiling import tables

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
    return country_name(code) if isinstance(code, str) else None


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
