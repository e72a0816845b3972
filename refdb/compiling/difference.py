"""What an incremental build starts from: the files that differ from what the previous
database was built from (one stat a file, as git's index is checked), read and validated
alone and against the rest of the catalog as the previous database holds it; or the
``Fallback`` that says why the clean path must run instead."""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from refdb.cache import code_version, is_regular
from refdb.catalog import crosscheck
from refdb.catalog.loader import MAX_FILE_BYTES, decode, load_yaml, read_at_most
from refdb.catalog.pydantic_problems import validate_document
from refdb.catalog.reader import MAX_ARTICLE_BYTES, REGISTER, Article, RegisterFile
from refdb.catalog.schema import (
    ArticleEntry,
    ArticleQuote,
    PublisherRegister,
    SystemEntry,
    load_code_lists,
)
from refdb.compiling import provenance, stat_scan
from refdb.compiling.stat_scan import Fallback
from refdb.errors import Problem
from refdb.linking import linker

AT_MOST = 200  # changed files beyond which the clean path (with its cache) is as quick


@dataclass
class Difference:
    """What the catalog on disk changes against the previous database."""

    files: CatalogFiles  # every catalog file now, read when asked for
    hashes: dict[str, str]  # the SHA-256 of each file read
    changed: set[str]  # paths added, changed or removed
    catalog_sha256: str  # the catalog's version now
    started_ns: int  # when this build began looking at the files
    built_from: tuple  # the previous build's catalog version and start, as read
    systems: set[str] = field(default_factory=set)  # ids of edited entries
    added_systems: set[str] = field(default_factory=set)
    removed_systems: set[str] = field(default_factory=set)
    articles: set[str] = field(default_factory=set)  # ids of added or changed articles
    removed_articles: set[str] = field(default_factory=set)

    @property
    def written_systems(self) -> set[str]:
        """The entries whose rows are written anew: edited or added."""
        return self.systems | self.added_systems


class CatalogFiles(Mapping):
    """Every catalog file's path, and its bytes on demand: the files the previous build read
    (``built``) but those removed, and those added. A file the previous build's stat record
    vouches for is not read unless a later stage needs it (then once)."""

    def __init__(self, root: Path, built: provenance.Recorded, added: set, removed: set):
        self.root, self.built, self.added, self.removed = root, built, added, removed
        self.read: dict[str, bytes] = {}
        self.stats: dict[str, tuple] = {}  # stat records of the files read to be hashed

    def __getitem__(self, path: str) -> bytes:
        if path not in self.read:
            if path not in self:
                raise KeyError(path)
            self.read[path] = _read_limited(self.root, path)
        return self.read[path]

    def __iter__(self):
        kept = (path for path in self.built.paths if path not in self.removed)
        return heapq.merge(kept, sorted(self.added))

    def __len__(self) -> int:
        return len(self.built.paths) - len(self.removed) + len(self.added)

    def __contains__(self, path) -> bool:
        return path in self.added or (path not in self.removed and path in self.built)


def scan(
    root: Path, previous: sqlite3.Connection, built: provenance.Recorded, info: tuple, early=None
):
    """Every catalog file, and the SHA-256 of those read, or Fallback when the directory
    holds anything the clean reader would report (a misnamed file, a link, a FIFO, an
    article half missing...). A file is read and hashed only when its stat differs from the
    previous build's record or it may have changed after that build read it (git's "racily
    clean" rule): one stat a file (:mod:`refdb.compiling.stat_scan`, under way already when
    ``early`` is given), the records compared as sets, not one by one. ``built`` is what the
    previous build read, ``info`` its start and catalog version."""
    register = root / REGISTER
    if not is_regular(register):
        raise Fallback("no publisher register")
    started_ns = info[0]
    if early is not None:
        load_code_lists()  # while the scan's processes may still run: validation needs them
        moved, added, removed = early.result(info)
    else:
        halves = [stat_scan.recorded(previous, half) for half in (0, 1)]  # read before a fork
        moved, added, removed = stat_scan.in_halves(
            lambda half: stat_scan.moved(root, half, halves[half], started_ns)
        )
    register_record = (REGISTER, *stat_scan.stat_record(os.stat(register)))
    recorded = set(previous.execute(f"{stat_scan.RECORDS} where path = ?", [REGISTER]))
    moved |= stat_scan.unvouched([register_record], recorded, started_ns)
    files = CatalogFiles(root, built, added, removed)
    _check_pairs(added | removed, files)
    hashes = {}
    for path, *stat in sorted(moved):
        files.stats[path] = tuple(stat)
        hashes[path] = _sha(files[path])
    return files, hashes


def _check_pairs(added_or_removed: set[str], now) -> None:
    """Fallback unless every article added or removed has its header and text both, or
    neither (the previous build had them in pairs; other files did not come or go)."""
    for path in added_or_removed:
        if path.startswith("articles/"):
            stem = path.rsplit(".", 1)[0]
            if (f"{stem}.yaml" in now) != (f"{stem}.txt" in now):
                raise Fallback("an article without its text or header")


def _read_limited(root: Path, path: str) -> bytes:
    """A catalog file's bytes, or Fallback when it is larger than the clean reader takes."""
    limit = MAX_ARTICLE_BYTES if path.endswith(".txt") else MAX_FILE_BYTES
    content = _read(str(root / path), limit)
    if len(content) > limit:
        raise Fallback(f"{path} is too large")
    return content


def _read(path: str, limit: int) -> bytes:
    """A file's bytes (``limit + 1`` at most); a link is refused."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        return read_at_most(descriptor, limit)
    finally:
        os.close(descriptor)


def difference(root: Path, previous: sqlite3.Connection, early=None) -> Difference:
    """The files that differ from what ``previous`` was built from, classified; ``early``:
    the stat scan `refdb build` started (:class:`refdb.compiling.stat_scan.EarlyScan`)."""
    started_ns = early.started_ns if early is not None else time.time_ns()
    info = previous.execute(
        "select code_sha256, git_commit, started_ns, catalog_sha256 from build_info"
    ).fetchone()
    if info is None or info[0] != code_version():
        raise Fallback("built by other code")
    if info[1] != provenance.git_commit(root):
        raise Fallback("the catalog's git commit moved")
    built = provenance.Recorded(previous)
    files, hashes = scan(root, previous, built, (info[2], info[3]), early)
    # A file its stat vouched for has its recorded hash: only those read can differ.
    changed = {path for path in files.stats if built.sha256(path) != hashes[path]}
    removed = files.removed
    changed |= removed
    if len(changed) > AT_MOST:
        raise Fallback("too many files changed")
    if REGISTER in changed:
        raise Fallback("the publisher register changed")
    version = built.version(hashes | dict.fromkeys(removed))
    found = Difference(files, hashes, changed, version, started_ns, (info[3], info[2]))
    for path in changed:
        folder, name = path.split("/", 1)
        stem = name.rsplit(".", 1)[0]
        if folder == "systems":
            if path not in built:
                found.added_systems.add(stem)
            elif path not in files:
                found.removed_systems.add(stem)
            else:
                found.systems.add(stem)
        elif f"articles/{stem}.yaml" in files:
            found.articles.add(stem)
        else:
            found.removed_articles.add(stem)
    return found


def _sha(content: bytes | None) -> str | None:
    return None if content is None else hashlib.sha256(content).hexdigest()


class Previous:
    """Reads what the previous database holds about the entries and articles at hand."""

    def __init__(self, connection: sqlite3.Connection):
        self.db = connection

    def ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("select id from systems")}

    def entries(self, system_ids) -> dict[str, SystemEntry]:
        """Each entry as the previous build validated it (its current version's data)."""
        found = {}
        for system_id in sorted(system_ids):
            row = self.db.execute(
                "select v.data from entry_versions v join systems s on s.id = v.system_id "
                "where s.id = ? and v.sha256 = s.content_sha256 and v.problem is null",
                (system_id,),
            ).fetchone()
            if row is None or row[0] is None:
                raise Fallback(f"no validated data for {system_id}")
            found[system_id] = SystemEntry.model_validate(json.loads(row[0]))
        return found

    def quoting(self, article_ids) -> set[str]:
        """Systems whose sources quote one of these articles."""
        marks = ",".join("?" * len(article_ids))
        sql = f"select distinct system_id from sources where article_id in ({marks})"
        return {row[0] for row in self.db.execute(sql, sorted(article_ids))}

    def text(self, article_id: str) -> str:
        return self.db.execute("select text from articles where id = ?", (article_id,)).fetchone()[
            0
        ]

    def texts(self, skip: set[str]):
        """(id, text) of every article but those of ``skip``."""
        for article_id, text in self.db.execute("select id, text from articles"):
            if article_id not in skip:
                yield article_id, text

    def form_keys(self) -> set[str]:
        """The compact spelling of every form of every system, in one string SQLite joins
        (120,000 rows read one at a time took twice as long)."""
        joined = "select group_concat(key, char(0)) from forms where key != ''"
        (keys,) = self.db.execute(joined).fetchone()
        return set(keys.split("\0")) if keys else set()

    def owners(self, keys: set[str], skip: set[str]) -> dict[str, list[str]]:
        """Compact key -> the systems (but those of ``skip``) that have a form of that key."""
        found: dict[str, list[str]] = {}
        for system_id, key in rows_where(self.db, "select system_id, key from forms", "key", keys):
            if system_id not in skip:
                found.setdefault(key, []).append(system_id)
        return found


def fallback_on(problems: list[Problem]) -> None:
    if problems:
        raise Fallback("the changed files have problems: the clean path reports them all")


def _load(root: Path, path: str, raw: bytes, model, problems: list[Problem]):
    document = load_yaml(root / path, raw)
    return validate_document(document, model, problems), document


def load_articles(root: Path, files: dict[str, bytes], article_ids, problems) -> dict:
    """The articles (header and text) of these ids, validated as the reader does."""
    articles = {}
    for article_id in sorted(article_ids):
        header = f"articles/{article_id}.yaml"
        entry, document = _load(root, header, files[header], ArticleEntry, problems)
        if entry is None or entry.id != article_id:
            raise Fallback("an article header does not validate")
        text_path = root / f"articles/{article_id}.txt"
        text = decode(text_path, files[f"articles/{article_id}.txt"])
        if not text.strip():
            raise Fallback("an empty article")
        articles[article_id] = Article(entry, text, document, text_path)
    return articles


# --- validation ---------------------------------------------------------------------------


@dataclass
class Checked:
    """The changed files, validated against the rest of the catalog."""

    publishers: dict
    systems: dict[str, SystemEntry]  # edited and added entries, as they are now
    documents: dict
    articles: dict[str, Article]  # the articles later stages need
    quotes: dict
    before: dict[str, SystemEntry]  # edited entries as the previous build had them
    renamed: set[str]  # edited entries whose names, forms or redirect ids changed
    ids: set[str]  # every system id of the catalog now


def validate(root: Path, diff: Difference, previous: Previous, problems: list[Problem]) -> Checked:
    """The changed entries and articles, checked against the rest of the catalog; the
    entries and articles later stages need (also those quoting a changed article)."""
    if diff.removed_articles and previous.quoting(diff.removed_articles):
        raise Fallback("a removed article is quoted")
    diff.systems |= previous.quoting(diff.articles) - diff.removed_systems
    register_raw = diff.files[REGISTER]
    register, register_doc = _load(root, REGISTER, register_raw, PublisherRegister, problems)
    fallback_on(problems)
    publishers = dict(register.root)
    before = previous.entries(diff.systems)
    systems, documents = {}, {}
    for system_id in sorted(diff.written_systems):
        path = f"systems/{system_id}.yaml"
        systems[system_id], documents[system_id] = _load(
            root, path, diff.files[path], SystemEntry, problems
        )
    fallback_on(problems)
    if any(entry.id != system_id for system_id, entry in systems.items()):
        raise Fallback("an entry's id is not its file's name: the clean path reports it")
    ids = (previous.ids() - diff.removed_systems) | diff.added_systems
    if not ids:
        raise Fallback("no system left: the clean path reports it")
    renamed = {
        key for key in diff.systems if _linking_view(systems[key]) != _linking_view(before[key])
    }
    quoted = {
        source.article
        for entry in systems.values()
        for source in entry.sources.values()
        if isinstance(source, ArticleQuote)
    }
    articles = load_articles(root, diff.files, diff.articles | quoted, problems)
    fallback_on(problems)
    listed = [systems[key] for key in sorted(systems)]
    named = [systems[key] for key in sorted(renamed | diff.added_systems)]
    quotes: dict = {}
    problems += crosscheck.check_across(
        root, RegisterFile(publishers, register_doc), listed, documents, articles, quotes,
        ids=ids, named=named, anchored={key: articles[key] for key in diff.articles},
    )  # fmt: skip
    fallback_on(problems)
    checked = Checked(publishers, systems, documents, articles, quotes, before, renamed, ids)
    _against_the_rest(previous.db, diff, checked)
    return checked


def _linking_view(entry: SystemEntry) -> tuple:
    """Everything of an entry that decides what it links and which ids its names get."""
    return (linker.names_of(entry), linker.forms_of(entry), entry.redirect_ids)


def _against_the_rest(db, diff: Difference, checked: Checked) -> None:
    """What the whole catalog's checks would find between the entries renamed, added or
    removed and the others: a name claimed twice, a redirect id taken, a relation onto a
    removed entry. The clean path reports each of them."""
    named = checked.renamed | diff.added_systems
    replaced = sorted(checked.renamed | diff.removed_systems)
    if named and _names_taken(db, [checked.systems[key] for key in sorted(named)], replaced):
        raise Fallback("a new name is another entry's: the clean path reports it")
    others = {
        redirect: owner
        for redirect, owner in db.execute("select id, system_id from redirects")
        if owner not in replaced
    }
    redirects = [r for key in sorted(named) for r in checked.systems[key].redirect_ids]
    if (
        len(set(redirects)) != len(redirects)
        or set(redirects) & (checked.ids | others.keys())
        or diff.added_systems & others.keys()
    ):
        raise Fallback("a redirect id collides with an id: the clean path reports it")
    gone = sorted(diff.removed_systems)
    if gone:
        onto = db.execute(
            f"select system_id from relations where not derived and target_id in ({placeholders(gone)})",
            gone,
        )
        if {row[0] for row in onto} - diff.written_systems - diff.removed_systems:
            raise Fallback("an entry relates to a removed one: the clean path reports it")


def _names_taken(db, entries: list[SystemEntry], replaced: list[str]) -> bool:
    """Whether a name of ``entries`` is, as the one-name-per-entry check compares names, a
    name of another entry than those (or those of ``replaced``, whose names are going).
    The aliases table holds every name; an ASCII name's key is its compact form, others'
    are worked out (look-alike letters)."""
    claimed = {crosscheck.claim_key(name.text) for e in entries for name in linker.names_of(e)}
    skip = replaced + [entry.id for entry in entries]
    listed = sorted(claimed)
    found = db.execute(
        f"select text from aliases where system_id not in ({placeholders(skip)}) "
        f"and (key in ({placeholders(listed)}) or text glob '*[^ -~]*')",
        skip + listed,
    )
    return any(crosscheck.claim_key(text) in claimed for (text,) in found)


# --- asking the previous database -------------------------------------------------------


def placeholders(values) -> str:
    """``?,?,...``: one SQL parameter for each of ``values``."""
    return ",".join("?" * len(values))


def rows_where(db, select: str, column: str, values, batch: int = 10_000) -> list[tuple]:
    """``select`` restricted to rows whose ``column`` is one of ``values`` (asked a batch at
    a time: SQLite bounds the parameters of a statement)."""
    values = sorted(values)
    found = []
    for start in range(0, len(values), batch):
        part = values[start : start + batch]
        found += db.execute(f"{select} where {column} in ({placeholders(part)})", part).fetchall()
    return found
