"""The incremental build: copy the previous database and apply what changed in the catalog.

When the previous database was built by this code from a catalog that differs in a few files
(``catalog_files`` and ``build_info`` say which), only those files are validated and only
their rows are replaced: the changed entries' rows in every table keyed by them, the inverse
relations derived from or onto them, the changed articles' rows and mentions, the flags and
history rows of both, and the full-text rows of what changed. An added or edited article is
linked against the systems whose forms occur in it (found through one automaton over the
``forms`` table), which gives the same mentions as the whole catalog's linker.

Whatever this module cannot apply exactly (a system added, removed or renamed, a name
changed, the publisher register changed, a catalog with a problem, a git commit made since
the last build...) raises ``Fallback`` and the build takes the clean path. The result equals a
clean build's content; the atomic write is the same (a temporary copy, checked, renamed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import ahocorasick

from refdb import consistency, crosscheck, history, linker, provenance, rows, sources, tables
from refdb.cache import code_version, is_regular
from refdb.errors import CatalogError, Problem
from refdb.loader import MAX_FILE_BYTES, decode, load_yaml
from refdb.pydantic_problems import validate_document
from refdb.reader import MAX_ARTICLE_BYTES, REGISTER, Article
from refdb.schema import ArticleEntry, ArticleQuote, PublisherRegister, SystemEntry
from refdb.text import CompactText

AT_MOST = 200  # changed files beyond which the clean path (with its cache) is as quick


class Fallback(Exception):
    """The difference is not one this module applies exactly: build the clean way."""


@dataclass
class Difference:
    """What the catalog on disk changes against the previous database."""

    files: dict[str, bytes]  # every catalog file now
    changed: set[str]  # paths added, changed or removed
    systems: set[str] = field(default_factory=set)  # ids of changed entries
    articles: set[str] = field(default_factory=set)  # ids of added or changed articles
    removed_articles: set[str] = field(default_factory=set)


def scan(root: Path) -> dict[str, bytes]:
    """Every catalog file's bytes, or Fallback when the directory holds anything the clean
    reader would report (a misnamed file, a link, a FIFO, an article half missing...)."""
    files: dict[str, bytes] = {}
    register = root / REGISTER
    if not is_regular(register):
        raise Fallback("no publisher register")
    files[REGISTER] = register.read_bytes()
    stems: dict[str, set[str]] = {".yaml": set(), ".txt": set()}
    for folder, suffixes in (("systems", (".yaml",)), ("articles", (".yaml", ".txt"))):
        with os.scandir(root / folder) as entries:
            for entry in entries:
                stem, suffix = os.path.splitext(entry.name)
                if suffix not in suffixes or not entry.is_file(follow_symlinks=False):
                    raise Fallback(f"{folder}/{entry.name} is not a plain catalog file")
                limit = MAX_ARTICLE_BYTES if suffix == ".txt" else MAX_FILE_BYTES
                with open(entry.path, "rb") as handle:
                    content = handle.read(limit + 1)
                if len(content) > limit:
                    raise Fallback(f"{folder}/{entry.name} is too large")
                files[f"{folder}/{entry.name}"] = content
                if folder == "articles":
                    stems[suffix].add(stem)
    if stems[".yaml"] != stems[".txt"]:
        raise Fallback("an article without its text or header")
    return files


def difference(root: Path, previous: sqlite3.Connection) -> Difference:
    """The files that differ from what ``previous`` was built from, classified."""
    info = previous.execute("select code_sha256, git_commit from build_info").fetchone()
    if info is None or info[0] != code_version():
        raise Fallback("built by other code")
    if info[1] != provenance.git_commit(root):
        raise Fallback("the catalog's git commit moved")
    built = dict(previous.execute("select path, sha256 from catalog_files"))
    files = scan(root)
    changed = {p for p in files.keys() | built.keys() if built.get(p) != _sha(files.get(p))}
    if not changed:  # a rebuild of the same catalog redoes the work through the build cache
        raise Fallback("nothing changed")
    if len(changed) > AT_MOST:
        raise Fallback("too many files changed")
    if REGISTER in changed:
        raise Fallback("the publisher register changed")
    found = Difference(files, changed)
    for path in changed:
        folder, name = path.split("/", 1)
        stem = name.rsplit(".", 1)[0]
        if folder == "systems":
            if path not in files or path not in built:
                raise Fallback("a system was added or removed")
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


def validate(root: Path, diff: Difference, previous: Previous, problems: list[Problem]):
    """The changed entries and articles, checked against the rest of the catalog; the
    entries and articles later stages need (also those quoting a changed article)."""
    if diff.removed_articles and previous.quoting(diff.removed_articles):
        raise Fallback("a removed article is quoted")
    diff.systems |= previous.quoting(diff.articles)
    register_raw = diff.files[REGISTER]
    register, register_doc = _load(root, REGISTER, register_raw, PublisherRegister, problems)
    _problems(problems)
    publishers = dict(register.root)
    before = previous.entries(diff.systems)
    systems, documents = {}, {}
    for system_id in sorted(diff.systems):
        path = f"systems/{system_id}.yaml"
        systems[system_id], documents[system_id] = _load(
            root, path, diff.files[path], SystemEntry, problems
        )
    _problems(problems)
    for system_id, entry in systems.items():
        if _linking_view(entry) != _linking_view(before[system_id]):
            raise Fallback("names changed")
    quoted = {
        source.article
        for entry in systems.values()
        for source in entry.sources.values()
        if isinstance(source, ArticleQuote)
    }
    articles = load_articles(root, diff.files, diff.articles | quoted, problems)
    _problems(problems)
    ids = previous.ids()
    listed = list(systems.values())
    quotes: dict = {}
    problems += crosscheck.check_ids(listed, documents)
    problems += crosscheck.check_references(listed, documents, articles, quotes, ids)
    problems += crosscheck.check_vetoes(listed, documents)
    changed_articles = {key: articles[key] for key in diff.articles}
    problems += crosscheck.check_article_anchors(changed_articles, ids)
    problems += sources.check_register(publishers, register_doc)
    lookup = sources.Register(publishers)
    problems += sources.check_catalog(lookup, listed, documents, articles)
    _problems(problems)
    return publishers, systems, documents, articles, quotes


def _linking_view(entry: SystemEntry) -> tuple:
    """Everything of an entry that decides what it links and which ids its names get."""
    return (linker.names_of(entry), linker.forms_of(entry), entry.redirect_ids)


# --- linking ------------------------------------------------------------------------------


def link(previous: Previous, articles: dict[str, Article], system_ids: set[str], systems):
    """The mentions of the changed articles, linked against the systems whose forms occur in
    them: exactly what the whole catalog's linker finds there (other systems have no form
    that could match, and a form's patterns come in the catalog's order)."""
    if not articles:
        return []
    automaton = ahocorasick.Automaton()
    for system_id, key in previous.db.execute("select system_id, key from forms"):
        if key:
            automaton.add_word(key, automaton.get(key, ()) + (system_id,))
    automaton.make_automaton()
    candidates = set()
    for article in articles.values():
        for _, owners in automaton.iter(CompactText(article.text).compact):
            candidates.update(owners)
    entries = previous.entries(candidates - systems.keys())
    entries |= {key: systems[key] for key in candidates & systems.keys()}
    automaton_of_them = linker.Linker([entries[key] for key in sorted(entries)])
    automaton_of_them.suffixes = _suffixes(previous)
    mentions = []
    for article_id in sorted(articles):
        article = articles[article_id]
        try:
            mentions += linker.link_article(
                automaton_of_them, article.entry, article.text, article.anchors
            )
        except linker.AnchorError as error:
            raise Fallback("a stale anchor") from error
    return mentions


def _suffixes(previous: Previous) -> set[str]:
    """The variant letters of every catalogued designation, as the whole linker knows them."""
    found = set()
    for (text,) in previous.db.execute("select text from forms"):
        suffix = linker._FORM_SUFFIX.search(text)
        if suffix:
            found.add(suffix.group(1))
    return found


# --- applying the difference --------------------------------------------------------------


def build(root: Path, db_path: Path, built_at: str | None, timed) -> dict | None:
    """Patch a copy of ``db_path`` for the catalog at ``root`` and publish it atomically;
    None (nothing written) when the clean path must run instead."""
    from refdb import sqlite_target

    if not is_regular(db_path):
        return None
    try:
        with closing(sqlite3.connect(provenance.read_only_uri(db_path), uri=True)) as db:
            with timed("load and validate"):
                diff = difference(root, db)
                problems: list[Problem] = []
                validated = validate(root, diff, Previous(db), problems)
            with timed("link"):
                mentions = link(
                    Previous(db), _changed(diff, validated[3]), diff.systems, validated[1]
                )

    except (Fallback, CatalogError, sqlite3.DatabaseError, OSError, ValueError):
        return None
    summary: dict = {}

    def fill(temporary: Path) -> None:
        shutil.copyfile(db_path, temporary)
        with closing(sqlite3.connect(temporary, isolation_level=None)) as patched:
            with timed("write"):
                _apply(patched, root, diff, validated, mentions, built_at, summary)
            with timed("check"):
                _check(patched)

    try:
        sqlite_target.replace(db_path, fill)
    except (Fallback, sqlite3.IntegrityError):
        return None
    return summary


def _changed(diff: Difference, articles: dict[str, Article]) -> dict[str, Article]:
    return {key: articles[key] for key in diff.articles}


def _marks(values) -> str:
    return ",".join("?" * len(values))


def _apply(db, root, diff: Difference, validated, mentions, built_at, summary) -> None:
    publishers, systems, documents, articles, quotes = validated
    register = sources.Register(publishers)
    db.execute("PRAGMA foreign_keys = OFF")  # rows are replaced in place; checked after
    db.execute("BEGIN")
    out: dict[type, list] = {model: [] for model in _MODELS}
    system_ids = sorted(diff.systems)
    catalog = SimpleNamespace(root=root, documents=documents, files=diff.files, quotes=quotes)
    modified = provenance.git_dates(root) if system_ids else {}
    for system_id in system_ids:
        rows._system_rows(systems[system_id], catalog, articles, out, register)
        out[tables.System][-1].modified = modified.get(out[tables.System][-1].file)
    _delete_systems(db, system_ids)
    _derived_relations(db, system_ids, out)
    if system_ids:
        changed_files = {
            f"systems/{key}.yaml": diff.files[f"systems/{key}.yaml"] for key in system_ids
        }
        sub = SimpleNamespace(
            root=root, systems=[systems[k] for k in system_ids], files=changed_files
        )
        out |= history.history_rows(sub, None, rows.new_row, reuse=False, only=set(system_ids))
    article_ids = sorted(diff.articles | diff.removed_articles)
    _delete_articles(db, article_ids)
    for article_id in sorted(diff.articles):
        out[tables.Article].append(rows._article_row(articles[article_id], root, register))
    _insert_all(db, out)
    _insert_mentions(db, mentions, articles)
    _flags(db, system_ids, article_ids, systems, articles, quotes)
    _fts(db, "systems", "id", system_ids, "insert")
    _fts(db, "mentions", "article_id", sorted(diff.articles), "insert")
    _catalog_files(db, root, diff, built_at, summary)
    db.execute("COMMIT")


_MODELS = [
    tables.System, tables.Alias, tables.AliasSource, tables.Form, tables.Redirect,
    tables.Source, tables.SystemSource, tables.Spec, tables.SpecSource, tables.Relation,
    tables.RelationSource, tables.EntryVersion, tables.EntryChange, tables.Article,
    tables.Mention, tables.Flag,
]  # fmt: skip


def _fts(db, table: str, column: str, keys: list[str], action: str) -> None:
    """Add (or remove, before the rows go) these rows' entries in ``table``'s FTS index."""
    if not keys:
        return
    columns = _FTS_COLUMNS[table]
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


_FTS_COLUMNS = {
    "systems": "name, designations, nato_reporting_name, search_names, description",
    "mentions": "sentence, exact",
}


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
    rows._derive_inverse_relations(written, backing)
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
    db.execute(f"delete from mentions where article_id in ({marks})", article_ids)
    db.execute(f"delete from flags where article_id in ({marks})", article_ids)
    db.execute(f"delete from articles where id in ({marks})", article_ids)


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
    found = [rows._mention_row(m, articles, alias_ids, text_sha256) for m in mentions]
    _insert_all(db, {tables.Mention: found})


def _flags(db, system_ids, article_ids, systems, articles, quotes) -> None:
    """The flags of the changed entries and articles, found again."""
    if system_ids:
        db.execute(f"delete from flags where system_id in ({_marks(system_ids)})", system_ids)
    texts = {key: (a.text, a.entry.language) for key, a in articles.items()}
    flags = [f for key in system_ids for f in consistency.check_quotes(systems[key], texts, quotes)]
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
    _insert_all(db, {tables.Flag: [rows._flag_row(flag) for flag in flags]})


def _catalog_files(db, root: Path, diff: Difference, built_at, summary) -> None:
    changed = sorted(diff.changed)
    db.execute(f"delete from catalog_files where path in ({_marks(changed)})", changed)
    db.executemany(
        "insert into catalog_files (path, sha256) values (?, ?)",
        [(path, _sha(diff.files[path])) for path in changed if path in diff.files],
    )
    counts = {
        table: db.execute(f"select count(*) from {table}").fetchone()[0]
        for table in ("systems", "articles", "mentions")
    }
    catalog_sha256 = provenance.catalog_sha256(
        {path: _sha(content) for path, content in diff.files.items()}
    )
    reused = len(diff.files) - len(diff.changed & diff.files.keys())
    summary.update(counts, catalog_sha256=catalog_sha256, reused=reused)
    db.execute(
        "update build_info set catalog_sha256 = ?, built_at = ?, git_dirty = ?, systems = ?, "
        "articles = ?, mentions = ?",
        (
            catalog_sha256,
            rows.built_at_now(built_at),
            provenance.git_dirty(root),
            *counts.values(),
        ),
    )


def _check(db) -> None:
    broken = db.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise Fallback(f"foreign keys broken by the patch: {broken[:3]}")
