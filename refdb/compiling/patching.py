"""The incremental build: apply what changed in the catalog to the previous database.

When the previous database was built by this code from a catalog that differs in a few files
(``catalog_files`` and ``build_info`` say which), only those files are validated and only
their rows are replaced: the rows of every entry edited, added or removed (with the inverse
relations derived from or onto it, its flags and history rows), the changed articles' rows,
and the full-text rows of what changed.

Articles are linked again only where a change can move a mention: an added or edited article,
and an unchanged one where an entry's names changed (an entry renamed, added or removed, an
alias or a form gone or new). That one is found through the previous database: its mentions
under a spelling that changed, its curator anchors on the entry, or its text holding one of
the entry's new spellings (one pass over the articles' compact text). Each such article is
linked against every system a spelling of which begins a word in it, which gives the same
mentions as the whole catalog's linker.

Whatever this module cannot apply exactly raises ``Fallback`` and the build takes the clean
path: a catalog with a problem, among the changed files or between them and the rest (a name
claimed twice, a redirect id taken, a relation or a curator anchor onto a removed entry...:
the clean path reports them all), the publisher register changed, a git commit made since the
last build, more than ``AT_MOST`` files changed. The result equals a clean build's content;
it is written in place in one transaction (:func:`refdb.compiling.sqlite_target.update`). A catalog in
which nothing changed is a patch of nothing: the database is current, only its build time moves.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import ahocorasick

from refdb import journal
from refdb.cache import code_version, is_regular
from refdb.catalog import crosscheck, sources
from refdb.catalog.loader import MAX_FILE_BYTES, decode, load_yaml, read_at_most
from refdb.catalog.pydantic_problems import validate_document
from refdb.catalog.reader import MAX_ARTICLE_BYTES, REGISTER, Article
from refdb.catalog.schema import ArticleEntry, ArticleQuote, PublisherRegister, SystemEntry
from refdb.compiling import history, provenance, rows, tables
from refdb.errors import CatalogError, Problem
from refdb.linking import consistency, linker
from refdb.text import compact

AT_MOST = 200  # changed files beyond which the clean path (with its cache) is as quick


class Fallback(Exception):
    """The difference is not one this module applies exactly: build the clean way."""


@dataclass
class Difference:
    """What the catalog on disk changes against the previous database."""

    files: CatalogFiles  # every catalog file now, read when asked for
    hashes: dict[str, str]  # the SHA-256 of each of them
    changed: set[str]  # paths added, changed or removed
    started_ns: int  # when this build began looking at the files
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
    """Every catalog file's path, and its bytes on demand: a file the previous build's stat
    record vouches for is not read unless a later stage needs it (then once)."""

    def __init__(self, root: Path, paths: list[str]):
        self.root, self.paths, self.read = root, dict.fromkeys(paths), {}
        self.stats: dict[str, tuple] = {}  # stat records of the files read to be hashed

    def __getitem__(self, path: str) -> bytes:
        if path not in self.read:
            if path not in self.paths:
                raise KeyError(path)
            self.read[path] = _read_limited(self.root, path)
        return self.read[path]

    def __iter__(self):
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, path) -> bool:
        return path in self.paths


def scan(root: Path, previous: sqlite3.Connection, built: dict, started_ns: int | None):
    """Every catalog file and its SHA-256, or Fallback when the directory holds anything the
    clean reader would report (a misnamed file, a link, a FIFO, an article half missing...).
    A file is read and hashed only when its stat differs from the previous build's record or
    it may have changed after that build read it (git's "racily clean" rule): one stat a
    file, as git's index is checked, and the records compared as sets, not one by one.
    ``built`` is the previous build's path -> SHA-256."""
    register = root / REGISTER
    if not is_regular(register):
        raise Fallback("no publisher register")
    now = [(REGISTER, *provenance.stat_record(os.stat(register)))]
    for folder, suffixes in (("systems", (".yaml",)), ("articles", (".yaml", ".txt"))):
        with os.scandir(root / folder) as entries:
            for entry in entries:
                if not entry.name.endswith(suffixes) or not entry.is_file(follow_symlinks=False):
                    raise Fallback(f"{folder}/{entry.name} is not a plain catalog file")
                stat = entry.stat(follow_symlinks=False)
                path, size, ctime = f"{folder}/{entry.name}", stat.st_size, stat.st_ctime_ns
                now.append((path, size, stat.st_mtime_ns, ctime, stat.st_ino))
    records = "select path, size, mtime_ns, ctime_ns, inode from catalog_files"
    moved = set(now).difference(previous.execute(records))
    if started_ns is not None:  # modified too close to the last build's start to vouch for
        moved.update(record for record in now if record[2] >= started_ns - provenance.RACY_NS)
    files = CatalogFiles(root, [record[0] for record in now])
    present = files.paths.keys()
    _check_pairs(built.keys() ^ present, present)
    hashes = built.copy()
    for path in built.keys() - present:
        del hashes[path]
    for path, *stat in sorted(moved if started_ns is not None else now):
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


def difference(root: Path, previous: sqlite3.Connection) -> Difference:
    """The files that differ from what ``previous`` was built from, classified."""
    started_ns = time.time_ns()
    info = previous.execute("select code_sha256, git_commit, started_ns from build_info").fetchone()
    if info is None or info[0] != code_version():
        raise Fallback("built by other code")
    if info[1] != provenance.git_commit(root):
        raise Fallback("the catalog's git commit moved")
    built = dict(previous.execute("select path, sha256 from catalog_files order by path"))
    files, hashes = scan(root, previous, built, info[2])
    # A file its stat vouched for has its recorded hash: only those read can differ.
    changed = {p for p in files.stats if built.get(p) != hashes[p]}
    changed |= built.keys() - files.paths.keys()
    if len(changed) > AT_MOST:
        raise Fallback("too many files changed")
    if REGISTER in changed:
        raise Fallback("the publisher register changed")
    found = Difference(files, hashes, changed, started_ns)
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
        """The compact spelling of every form of every system."""
        return {key for (key,) in self.db.execute("select key from forms") if key}

    def owners(self, keys: set[str], skip: set[str]) -> dict[str, list[str]]:
        """Compact key -> the systems (but those of ``skip``) that have a form of that key."""
        found: dict[str, list[str]] = {}
        for system_id, key in _rows_where(self.db, "select system_id, key from forms", "key", keys):
            if system_id not in skip:
                found.setdefault(key, []).append(system_id)
        return found


def _problems(problems: list[Problem]) -> None:
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
    _problems(problems)
    publishers = dict(register.root)
    before = previous.entries(diff.systems)
    systems, documents = {}, {}
    for system_id in sorted(diff.written_systems):
        path = f"systems/{system_id}.yaml"
        systems[system_id], documents[system_id] = _load(
            root, path, diff.files[path], SystemEntry, problems
        )
    _problems(problems)
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
    _problems(problems)
    listed = [systems[key] for key in sorted(systems)]
    named = [systems[key] for key in sorted(renamed | diff.added_systems)]
    quotes: dict = {}
    problems += crosscheck.check_ids(listed, documents)
    problems += crosscheck.check_references(listed, documents, articles, quotes, ids)
    problems += crosscheck.check_names(named, documents)
    problems += crosscheck.check_vetoes(listed, documents)
    changed_articles = {key: articles[key] for key in diff.articles}
    problems += crosscheck.check_article_anchors(changed_articles, ids)
    problems += sources.check_register(publishers, register_doc)
    lookup = sources.Register(publishers)
    problems += sources.check_catalog(lookup, listed, documents, articles)
    _problems(problems)
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
            f"select system_id from relations where not derived and target_id in ({_marks(gone)})",
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
        f"select text from aliases where system_id not in ({_marks(skip)}) "
        f"and (key in ({_marks(listed)}) or text glob '*[^ -~]*')",
        skip + listed,
    )
    return any(crosscheck.claim_key(text) in claimed for (text,) in found)


# --- which articles to link again ---------------------------------------------------------


def to_relink(
    root: Path, diff: Difference, checked: Checked, previous: Previous, letters: set[str]
) -> set[str]:
    """The unchanged articles whose mentions the renamed, added or removed entries can
    change, loaded into ``checked.articles`` with their curator anchors resolved.

    A spelling an entry keeps with the same forms links as before. One it gains, or whose
    forms change, can link wherever an article's compact text holds it; one it loses
    unlinks its mentions, and, where another entry has a form of the same spelling, lets
    that one link where it was beaten before; a curator anchor on the entry may go stale.
    Variant ``letters`` that became or ceased to be a catalogued variant's change how any
    designation followed by them links."""
    gone = diff.removed_systems
    if not (checked.renamed or diff.added_systems or gone):
        return set()
    changed = _changed_keys(checked, diff.added_systems)
    for system_id, key in _rows_where(
        previous.db, "select system_id, key from forms", "system_id", gone
    ):
        changed.setdefault(system_id, set()).add(key)
    sought = {
        key
        for system_id, keys in changed.items()
        if system_id in checked.systems
        for key in keys & _patterns(checked.systems[system_id]).keys()
    }
    lost = {key for keys in changed.values() for key in keys} - sought
    sought |= _shared(previous.db, lost, checked.renamed | gone)
    if letters:
        sought |= _followed_by(previous, checked, diff.added_systems, letters)
    skip = diff.articles | diff.removed_articles
    found = _containing(sought, _may_hold(sought, previous.texts(skip)))
    found |= _mentioning(previous.db, changed)
    found |= _anchoring(previous.db, checked.renamed | gone)
    found -= skip
    problems: list[Problem] = []
    relinked = load_articles(root, diff.files, found, problems)
    problems += crosscheck.check_article_anchors(relinked, checked.ids)
    _problems(problems)
    checked.articles |= relinked
    return found


def _patterns(entry: SystemEntry) -> dict[str, tuple]:
    """Compact key -> the entry's forms of that spelling, in order: what the whole catalog's
    automaton holds of this entry under that key."""
    found: dict[str, list] = {}
    for form in linker.forms_of(entry):
        key = compact(form.text)
        if key:
            found.setdefault(key, []).append(form)
    return {key: tuple(forms) for key, forms in found.items()}


def _changed_keys(checked: Checked, added: set[str]) -> dict[str, set[str]]:
    """Entry id -> the spellings whose forms differ between the previous build and now."""
    changed = {}
    for system_id in checked.renamed | added:
        old = _patterns(checked.before[system_id]) if system_id in checked.before else {}
        new = _patterns(checked.systems[system_id])
        changed[system_id] = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    return changed


def _followed_by(previous: Previous, checked: Checked, added, letters: set[str]) -> set[str]:
    """Every designation's spelling (then or now) followed by one of ``letters``, compacted:
    what an article holds where a designation is followed by them, spaced or not."""
    keys = previous.form_keys()
    for system_id in checked.renamed | added:
        keys |= _patterns(checked.systems[system_id]).keys()
    tails = {compact(text) for text in letters}
    return {key + tail for key in keys if any(ch.isdigit() for ch in key) for tail in tails}


def _rows_where(db, select: str, column: str, values, batch: int = 10_000) -> list[tuple]:
    """``select`` restricted to rows whose ``column`` is one of ``values`` (asked a batch at
    a time: SQLite bounds the parameters of a statement)."""
    values = sorted(values)
    found = []
    for start in range(0, len(values), batch):
        part = values[start : start + batch]
        found += db.execute(f"{select} where {column} in ({_marks(part)})", part).fetchall()
    return found


def _shared(db, keys: set[str], skip: set[str]) -> set[str]:
    """Those of ``keys`` that a form of another entry (not of ``skip``) has too."""
    return {
        key
        for system_id, key in _rows_where(db, "select system_id, key from forms", "key", keys)
        if system_id not in skip
    }


def _mentioning(db, changed: dict[str, set[str]]) -> set[str]:
    """Articles with a mention of these entries under a changed spelling (or by a curator)."""
    found = set()
    sql = "select article_id, system_id, form from mentions"
    for article_id, system_id, form in _rows_where(db, sql, "system_id", changed):
        if form is None or compact(form) in changed[system_id]:
            found.add(article_id)
    return found


def _anchoring(db, system_ids: set[str]) -> set[str]:
    """Unchanged articles whose curator anchors name one of these entries, as the previous
    database recorded them (``articles.anchored``): no header is read."""
    if not system_ids:
        return set()
    found = set()
    for article_id, anchored in db.execute(
        "select id, anchored from articles where anchored != ''"
    ):
        if system_ids.intersection(anchored.split()):
            found.add(article_id)
    return found


def _may_hold(keys: set[str], texts):
    """The ``(id, text)`` that can hold one of ``keys``, as far as their digits tell: in a
    text whose compact form holds a key, the key's digits stand together once separators
    and all but ASCII are left out. All of them when a key has no digit, or when so many are
    sought that an automaton's one pass is quicker."""
    runs = set()
    for key in keys:
        digits = re.findall(r"[0-9]+", key)
        if not digits:
            yield from texts
            return
        runs.add(max(digits, key=len).encode())
    if len(runs) >= FEW_KEYS:
        yield from texts
        return
    for text_id, text in texts:
        skeleton = text.encode("utf-8", "surrogatepass").translate(None, _NOT_IN_SKELETON)
        if any(run in skeleton for run in runs):
            yield text_id, text


# What a text's digits skeleton leaves out: every byte of a character beyond ASCII, and the
# ASCII characters compact text drops (spaces, hyphens, apostrophes).
_NOT_IN_SKELETON = bytes(b for b in range(256) if b > 0x7F or not compact(chr(b)))


# Single-byte code pages most press text is written in. A text one of them encodes is
# compacted by one ``bytes.translate`` (the compact form of each of its characters is one
# character of the same code page, or nothing), far faster than character by character.
_CODE_PAGES = ("cp1252", "cp1251", "cp1250")


@functools.cache
def _code_page(codec: str) -> tuple[bytes, bytes] | None:
    """The byte table and the bytes to delete that compact a text encoded in ``codec``; None
    when a character of it compacts to something the code page cannot write."""
    table, dropped = bytearray(range(256)), bytearray()
    for byte in range(256):
        try:
            kept = compact(bytes([byte]).decode(codec))
        except UnicodeDecodeError:
            continue  # no character encodes to it
        try:
            written = kept.encode(codec)
        except UnicodeEncodeError:
            return None
        if len(written) > 1:
            return None
        if written:
            table[byte] = written[0]
        else:
            dropped.append(byte)
    return bytes(table), bytes(dropped)


def _compacted(text: str) -> tuple[str | None, bytes | str]:
    """(code page, the compact text written in it), or (None, the compact text) when no code
    page writes the whole text."""
    for codec in _CODE_PAGES:
        tables = _code_page(codec)
        if tables is None:
            continue
        try:
            encoded = text.encode(codec)
        except UnicodeEncodeError:
            continue
        return codec, encoded.translate(*tables)
    return None, compact(text)


def _containing(keys: set[str], texts) -> set[str]:
    """Ids of the ``(id, text)`` whose compact text holds one of ``keys``."""
    if not keys:
        return set()
    finders: dict = {}
    found = set()
    for text_id, text in texts:
        codec, compacted = _compacted(text)
        if codec not in finders:
            finders[codec] = _finder(keys, codec)
        if finders[codec](compacted):
            found.add(text_id)
    return found


FEW_KEYS = 16  # below this many, one search per key beats an automaton's pass


def _finder(keys: set[str], codec: str | None):
    """Whether a text ``_compacted`` wrote in ``codec`` holds one of ``keys`` (one it cannot
    write cannot occur in a text it writes)."""
    written = []
    for key in sorted(keys):
        try:
            written.append(key if codec is None else key.encode(codec))
        except UnicodeEncodeError:
            continue
    if len(written) < FEW_KEYS:
        return lambda compacted: any(key in compacted for key in written)
    automaton = ahocorasick.Automaton()
    for key in written:
        automaton.add_word(key if codec is None else key.decode("latin-1"), key)
    automaton.make_automaton()

    def holds(compacted) -> bool:
        text = compacted if codec is None else compacted.decode("latin-1")
        return next(automaton.iter(text), None) is not None

    return holds


def variant_letters(previous: Previous, diff: Difference, checked: Checked):
    """The variant letters the catalog's designations end with now, as the whole catalog's
    linker knows them, and those that were or are such letters but are not both: wherever
    an article writes them after a designation and a space, the linker reads them otherwise."""
    replaced = checked.renamed | diff.removed_systems
    new = [checked.systems[key] for key in checked.renamed | diff.added_systems]
    now = VariantLetters(previous.db, replaced, _letters_of(new))
    old = _letters_of(checked.before[key] for key in checked.renamed)
    gone = _rows_where(previous.db, "select text from forms", "system_id", diff.removed_systems)
    old |= {suffix for (text,) in gone if (suffix := _variant(text))}
    moved = {letters for letters in old ^ now.new if not now.elsewhere(letters)}
    return now, moved


class VariantLetters:
    """The variant letters of every catalogued designation, each looked up when the linker
    asks (``letters in``): in the ``forms`` table, the rows of the ``replaced`` entries aside,
    and among the ``new`` entries' letters. Reading every form for them cost more than the
    few questions a patch's articles ask."""

    def __init__(self, db, replaced: set[str], new: set[str]):
        self.db, self.replaced, self.new = db, sorted(replaced), new
        self.asked: dict[str, bool] = {}

    def __contains__(self, letters: str) -> bool:
        return letters in self.new or self.elsewhere(letters)

    def elsewhere(self, letters: str) -> bool:
        """Whether a form of an entry not replaced ends with a digit and these letters, as
        ``linker._FORM_SUFFIX`` reads a form's variant."""
        if letters not in self.asked:
            found = self.db.execute(  # "$" matches before a final newline too
                f"select 1 from forms where (text glob ? or text glob ?) and system_id not in "
                f"({_marks(self.replaced)}) limit 1",
                [f"*[0-9]{letters}", f"*[0-9]{letters}\n", *self.replaced],
            )
            self.asked[letters] = found.fetchone() is not None
        return self.asked[letters]


def _letters_of(entries) -> set[str]:
    return {
        suffix for entry in entries for f in linker.forms_of(entry) if (suffix := _variant(f.text))
    }


def _variant(text: str) -> str | None:
    suffix = linker._FORM_SUFFIX.search(text)
    return suffix.group(1) if suffix else None


# --- linking ------------------------------------------------------------------------------


def link(previous: Previous, diff: Difference, checked: Checked, article_ids, letters):
    """The mentions of these articles, linked against the systems one of whose forms begins a
    word in them: exactly what the whole catalog's linker finds there (other systems have no
    form that could match, and a spelling's forms come in the catalog's order). ``letters``
    are the variant letters of every catalogued designation."""
    if not article_ids:
        return []
    keys = previous.form_keys()
    new = {key: _patterns(checked.systems[key]) for key in checked.renamed | diff.added_systems}
    keys |= {key for patterns in new.values() for key in patterns}
    lengths = sorted({len(key) for key in keys})
    found = set()
    for article_id in article_ids:
        found |= _spelled_in(checked.articles[article_id].text, keys, lengths)
    candidates = {
        system_id
        for owners in previous.owners(found, checked.renamed | diff.removed_systems).values()
        for system_id in owners
    }
    candidates |= {system_id for system_id, patterns in new.items() if found & patterns.keys()}
    entries = previous.entries(candidates - checked.systems.keys())
    entries |= {key: checked.systems[key] for key in candidates & checked.systems.keys()}
    automaton = linker.Linker([entries[key] for key in sorted(entries)])
    automaton.suffixes = letters
    mentions = []
    for article_id in sorted(article_ids):
        article = checked.articles[article_id]
        try:
            mentions += linker.link_article(automaton, article.entry, article.text, article.anchors)
        except linker.AnchorError as error:
            raise Fallback("a stale anchor: the clean path reports it") from error
    return mentions


def _spelled_in(text: str, keys: set[str], lengths: list[int]) -> set[str]:
    """Those of ``keys`` (of these ``lengths``) that begin a word of ``text`` once compacted:
    the spellings under which the linker can find a system there."""
    compacted, starts = _word_starts(text)
    found = set()
    for start in starts:
        for length in lengths:
            key = compacted[start : start + length]
            if len(key) < length:
                break
            if key in keys:
                found.add(key)
    return found


def _word_starts(text: str) -> tuple[str, list[int]]:
    """The compact text, and the offsets in it of the characters that no letter or digit
    precedes in ``text``: where the linker lets a name begin."""
    kept, starts, after_alnum = 0, [], False
    for char in text:
        if _kept(char):
            if not after_alnum:
                starts.append(kept)
            kept += 1
        after_alnum = char.isalnum()
    return compact(text), starts


@functools.cache
def _kept(char: str) -> bool:
    return bool(compact(char))


# --- applying the difference --------------------------------------------------------------


def build(root: Path, db_path: Path, built_at: str | None, timed) -> dict | Fallback:
    """Patch a copy of ``db_path`` for the catalog at ``root`` and publish it atomically;
    or, nothing written, the Fallback that says why the clean path must run instead."""
    from refdb.compiling import sqlite_target

    if not is_regular(db_path):
        return Fallback("there is no previous database")
    try:
        journal.recover(db_path)
        with closing(sqlite3.connect(provenance.read_only_uri(db_path), uri=True)) as db:
            previous = Previous(db)
            with timed("load and validate"):
                diff = difference(root, db)
                checked = validate(root, diff, previous, [])
            with timed("link"):
                letters, moved = variant_letters(previous, diff, checked)
                relinked = to_relink(root, diff, checked, previous, moved)
                linked = diff.articles | relinked
                mentions = link(previous, diff, checked, linked, letters)
    except Fallback as why:
        return why
    except CatalogError:
        return Fallback("the catalog has a problem, which the full check reports")
    except (sqlite3.DatabaseError, OSError, ValueError) as error:
        return Fallback(f"the previous database could not be patched ({error})")
    summary: dict = {}

    def change(patched: sqlite3.Connection) -> None:
        with timed("write"):
            _apply(patched, root, diff, checked, relinked, mentions, built_at, summary)

    try:
        sqlite_target.update(db_path, change)
    except Fallback as why:
        return why
    except sqlite3.IntegrityError as error:
        return Fallback(f"the patch did not hold together ({error})")
    return summary


def _marks(values) -> str:
    return ",".join("?" * len(values))


def _apply(db, root, diff: Difference, checked: Checked, relinked, mentions, built_at, summary):
    register = sources.Register(checked.publishers)
    # Rows are replaced in place, parents before their children are back: SQLite counts the
    # references left dangling as it goes and refuses the commit if any remain, a check as
    # large as the change (a whole-database foreign_key_check took most of a second).
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("BEGIN")
    db.execute("PRAGMA defer_foreign_keys = ON")
    out: dict[type, list] = {model: [] for model in _MODELS}
    system_ids = sorted(diff.written_systems)
    doomed = sorted(diff.written_systems | diff.removed_systems)  # whose rows go
    catalog = SimpleNamespace(
        root=root, documents=checked.documents, files=diff.files, quotes=checked.quotes
    )
    modified = provenance.git_dates(root) if system_ids else {}
    for system_id in system_ids:
        rows.system_rows(checked.systems[system_id], catalog, checked.articles, out, register)
        out[tables.System][-1].modified = modified.get(out[tables.System][-1].file)
    kept_mentions = _kept_mentions(db, checked.renamed, diff.articles | relinked)
    _delete_systems(db, doomed)
    _derived_relations(db, doomed, out)
    out |= _history(root, diff, checked, doomed)
    article_ids = sorted(diff.articles | diff.removed_articles)
    _delete_articles(db, article_ids)
    _delete_mentions(db, sorted(relinked))
    for article_id in sorted(diff.articles):
        out[tables.Article].append(rows.article_row(checked.articles[article_id], root, register))
    _insert_all(db, out)
    _insert_mentions(db, mentions, checked.articles)
    _realias(db, kept_mentions, out[tables.Alias])
    _flags(db, system_ids, doomed, article_ids + sorted(relinked), checked)
    _fts(db, "systems", "id", system_ids, "insert")
    _fts(db, "mentions", "article_id", sorted(diff.articles | relinked), "insert")
    _fts(db, "articles", "id", sorted(diff.articles), "insert")
    _catalog_files(db, root, diff, built_at, summary)
    summary["reused"] -= len(relinked)  # unchanged files, less the articles linked again
    db.execute("COMMIT")


_MODELS = [
    tables.System, tables.Alias, tables.AliasSource, tables.Form, tables.Redirect,
    tables.Source, tables.SystemSource, tables.Spec, tables.SpecSource, tables.Relation,
    tables.RelationSource, tables.EntryVersion, tables.EntryChange, tables.Article,
    tables.Mention, tables.Flag,
]  # fmt: skip


def _history(root: Path, diff: Difference, checked: Checked, doomed: list[str]) -> dict:
    """The history rows of the entries edited, added or removed (a removed entry keeps the
    versions git holds, and its removal)."""
    if not doomed:
        return {}
    written = sorted(diff.written_systems)
    files = {f"systems/{key}.yaml": diff.files[f"systems/{key}.yaml"] for key in written}
    sub = SimpleNamespace(root=root, systems=[checked.systems[k] for k in written], files=files)
    return history.history_rows(sub, None, rows.new_row, reuse=False, only=set(doomed))


def _fts(db, table: str, column: str, keys: list[str], action: str) -> None:
    """Add (or remove, before the rows go) these rows' entries in ``table``'s FTS index."""
    if not keys:
        return
    columns = ", ".join(tables.FULL_TEXT[table])
    fts = f"{table}_fts"
    where = f"where {column} in ({_marks(keys)})"
    if action == "delete":
        db.execute(
            f"insert into {fts} ({fts}, rowid, {columns}) "
            f"select 'delete', rowid, {columns} from {table} {where}",
            keys,
        )
    else:
        db.execute(
            f"insert into {fts} (rowid, {columns}) select rowid, {columns} from {table} {where}",
            keys,
        )


def _delete_systems(db, system_ids: list[str]) -> None:
    """Every row keyed by these entries (their derived relations are redone apart)."""
    if not system_ids:
        return
    marks = _marks(system_ids)
    _fts(db, "systems", "id", system_ids, "delete")
    for sql in (
        f"delete from alias_sources where alias_id in (select id from aliases where system_id in ({marks}))",
        f"delete from spec_sources where spec_id in (select id from specs where system_id in ({marks}))",
        f"delete from relation_sources where relation_id in (select id from relations where not derived and system_id in ({marks}))",
        f"delete from system_sources where system_id in ({marks})",
        f"delete from aliases where system_id in ({marks})",
        f"delete from forms where system_id in ({marks})",
        f"delete from redirects where system_id in ({marks})",
        f"delete from sources where system_id in ({marks})",
        f"delete from specs where system_id in ({marks})",
        f"delete from relations where not derived and system_id in ({marks})",
        f"delete from entry_versions where system_id in ({marks})",
        f"delete from entry_changes where system_id in ({marks})",
        f"delete from systems where id in ({marks})",
    ):
        db.execute(sql, system_ids)


def _derived_relations(db, system_ids: list[str], out: dict) -> None:
    """The inverse relations derived from or onto these entries, redone as a clean build
    derives them: over the written relations that involve them, in the catalog's order."""
    if not system_ids:
        return
    marks = _marks(system_ids)
    involved = f"(system_id in ({marks}) or target_id in ({marks}))"
    db.execute(
        "delete from relation_sources where relation_id in "
        f"(select id from relations where derived and {involved})",
        system_ids * 2,
    )
    db.execute(f"delete from relations where derived and {involved}", system_ids * 2)
    columns = list(tables.Relation.model_fields)
    kept = [
        SimpleNamespace(**dict(zip(columns, row, strict=True)))
        for row in db.execute(
            f"select {', '.join(_quoted(columns))} from relations where not derived and "
            f"target_id in ({marks}) and system_id not in ({marks}) order by system_id, rowid",
            system_ids * 2,
        )
    ]
    written = sorted(kept + out[tables.Relation], key=lambda r: r.system_id)  # stable sort
    backing = [
        SimpleNamespace(relation_id=relation_id, source_id=source_id)
        for relation_id, source_id in db.execute(
            f"select relation_id, source_id from relation_sources where relation_id in "
            f"({_marks(kept)}) order by rowid",
            [r.id for r in kept],
        )
    ] + out[tables.RelationSource]
    before = len(written), len(backing)
    rows.derive_inverse_relations(written, backing)
    out[tables.Relation] += written[before[0] :]
    out[tables.RelationSource] += backing[before[1] :]


def _quoted(columns) -> list[str]:
    return [f'"{column}"' for column in columns]


def _insert_all(db, out: dict[type, list]) -> None:
    for model, items in out.items():
        if not items:
            continue
        columns = list(model.model_fields)
        sql = (
            f'insert into "{model.__tablename__}" ({", ".join(_quoted(columns))}) '
            f"values ({_marks(columns)})"
        )
        db.executemany(sql, [tuple(vars(item)[c] for c in columns) for item in items])


def _delete_articles(db, article_ids: list[str]) -> None:
    if not article_ids:
        return
    marks = _marks(article_ids)
    _fts(db, "mentions", "article_id", article_ids, "delete")
    _fts(db, "articles", "id", article_ids, "delete")
    db.execute(f"delete from mentions where article_id in ({marks})", article_ids)
    db.execute(f"delete from flags where article_id in ({marks})", article_ids)
    db.execute(f"delete from articles where id in ({marks})", article_ids)


def _delete_mentions(db, article_ids: list[str]) -> None:
    """The mentions of unchanged articles linked again, and the flags at them."""
    if not article_ids:
        return
    marks = _marks(article_ids)
    _fts(db, "mentions", "article_id", article_ids, "delete")
    db.execute(
        f"delete from flags where mention_id is not null and article_id in ({marks})", article_ids
    )
    db.execute(f"delete from mentions where article_id in ({marks})", article_ids)


def _insert_mentions(db, mentions, articles) -> None:
    if not mentions:
        return
    mentioned = sorted({m.system_id for m in mentions})
    alias_ids = {
        (system_id, key): alias_id
        for alias_id, system_id, key in db.execute(
            f"select id, system_id, key from aliases where system_id in ({_marks(mentioned)})",
            mentioned,
        )
    }
    text_sha256 = {key: rows.sha256(article.text) for key, article in articles.items()}
    found = [rows.mention_row(m, articles, alias_ids, text_sha256) for m in mentions]
    _insert_all(db, {tables.Mention: found})


def _kept_mentions(db, renamed: set[str], relinked: set[str]) -> list[tuple[str, str, str]]:
    """(mention id, system id, key of its name) of the renamed entries' mentions that stay
    as they are (under a spelling whose forms did not change): only their alias id, which
    the entry's names number, may move."""
    sql = (
        "select m.id, m.article_id, m.system_id, a.key from mentions m "
        "join aliases a on a.id = m.alias_id"
    )
    return [
        (mention_id, system_id, key)
        for mention_id, article_id, system_id, key in _rows_where(db, sql, "m.system_id", renamed)
        if article_id not in relinked
    ]


def _realias(db, kept: list[tuple[str, str, str]], aliases: list) -> None:
    """Point the kept mentions at their names' new alias ids (the last name of a key, as
    ``rows.alias_rows`` numbers them)."""
    alias_ids = {(alias.system_id, alias.key): alias.id for alias in aliases}
    db.executemany(
        "update mentions set alias_id = ? where id = ?",
        [(alias_ids.get((system_id, key)), mention_id) for mention_id, system_id, key in kept],
    )


def _flags(db, system_ids: list[str], doomed: list[str], article_ids: list[str], checked) -> None:
    """The flags of the entries written and of the articles changed or linked again, found
    again (those of the removed entries go)."""
    if doomed:
        db.execute(f"delete from flags where system_id in ({_marks(doomed)})", doomed)
    articles = checked.articles
    texts = {key: (a.text, a.entry.language) for key, a in articles.items()}
    flags = [
        flag
        for key in system_ids
        for flag in consistency.check_quotes(checked.systems[key], texts, checked.quotes)
    ]
    keys = system_ids + article_ids
    where = f"system_id in ({_marks(system_ids)}) or article_id in ({_marks(article_ids)})"
    mentions = [
        SimpleNamespace(id=i, article_id=a, system_id=s, start=start, exact=e, name_kind=k)
        for i, a, s, start, e, k in db.execute(
            f"select id, article_id, system_id, start, exact, name_kind from mentions where {where}",
            keys,
        )
    ]
    named = sorted({m.system_id for m in mentions})
    by_id = {
        key: SimpleNamespace(id=key, name=name, category=category)
        for key, name, category in db.execute(
            f"select id, name, category from systems where id in ({_marks(named)})", named
        )
    }
    for article_id in sorted({m.article_id for m in mentions} - texts.keys()):
        texts[article_id] = (Previous(db).text(article_id), None)
    flags += consistency.check_mentions(by_id, mentions, texts)
    _insert_all(db, {tables.Flag: [rows.flag_row(flag) for flag in flags]})


def _catalog_files(db, root: Path, diff: Difference, built_at, summary) -> None:
    """The records of every file read this time (changed, or unchanged but read because its
    stat had moved), the catalog's version and counts, and when this build started."""
    written = sorted(diff.changed | diff.files.stats.keys())
    db.execute(f"delete from catalog_files where path in ({_marks(written)})", written)
    db.executemany(
        "insert into catalog_files (path, sha256, size, mtime_ns, ctime_ns, inode) "
        "values (?, ?, ?, ?, ?, ?)",
        [
            (path, diff.hashes[path], *diff.files.stats[path])
            for path in written
            if path in diff.files
        ],
    )
    counts = {
        table: db.execute(f"select count(*) from {table}").fetchone()[0]
        for table in ("systems", "articles", "mentions")
    }
    catalog_sha256 = provenance.catalog_sha256(diff.hashes)  # the paths mostly in order
    reused = len(diff.files) - len(diff.changed & diff.files.keys())
    summary.update(counts, catalog_sha256=catalog_sha256, reused=reused, read=len(diff.files.stats))
    db.execute(
        "update build_info set catalog_sha256 = ?, built_at = ?, started_ns = ?, git_dirty = ?, "
        "systems = ?, articles = ?, mentions = ?",
        (
            catalog_sha256,
            rows.built_at_now(built_at),
            diff.started_ns,
            provenance.git_dirty(root),
            *counts.values(),
        ),
    )
