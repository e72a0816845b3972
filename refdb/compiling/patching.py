"""The incremental build: apply what changed in the catalog to the previous database.

When the previous database was built by this code from a catalog that differs in a few files,
the build is three steps, each its own module: what changed and whether it holds
(:mod:`refdb.compiling.difference`: only the changed files are read and validated, alone and
against the rest), which articles to link again and their mentions
(:mod:`refdb.compiling.relinking`), and, here, the rows replaced: those of every entry
edited, added or removed (with the inverse relations derived from or onto it, its flags and
history rows), the changed articles' rows, and the full-text rows of what changed.

Whatever cannot be applied exactly raises ``Fallback`` and the build takes the clean path: a
catalog with a problem, among the changed files or between them and the rest (a name claimed
twice, a redirect id taken, a relation or a curator anchor onto a removed entry...: the clean
path reports them all), the publisher register changed, a git commit made since the last
build, more than ``difference.AT_MOST`` files changed. The result equals a clean build's content; it is
written in place in one transaction (:func:`refdb.compiling.sqlite_target.update`). A catalog
in which nothing changed is a patch of nothing: the database is current, only its build time
moves.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

from refdb import journal
from refdb.cache import is_regular
from refdb.catalog import sources
from refdb.compiling import history, provenance, rows, sqlite_target, tables
from refdb.compiling.difference import (
    Checked,
    Difference,
    Fallback,
    Previous,
    difference,
    placeholders,
    rows_where,
    validate,
)
from refdb.compiling.insert import insert_into_sqlite
from refdb.compiling.relinking import link, to_relink, variant_letters
from refdb.errors import CatalogError
from refdb.linking import consistency


def build(root: Path, db_path: Path, built_at: str | None, timed, early=None) -> dict | Fallback:
    """Patch ``db_path`` for the catalog at ``root`` in one transaction; or, nothing written,
    the Fallback that says why the clean path must run instead. ``early``: the stat scan
    `refdb build` started before loading this module."""
    if not is_regular(db_path):
        return Fallback("there is no previous database")
    try:
        journal.recover(db_path)
        with closing(sqlite3.connect(journal.read_only_uri(db_path), uri=True)) as db:
            previous = Previous(db)
            with timed("load and validate"):
                diff = difference(root, db, early)
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
    except sqlite3.DatabaseError as error:  # a read-only file, a full disk: the clean path
        return Fallback(f"the previous database could not be changed in place ({error})")
    return summary


def _apply(db, root, diff: Difference, checked: Checked, relinked, mentions, built_at, summary):
    register = sources.Register(checked.publishers)
    # Rows are replaced in place, parents before their children are back: SQLite counts the
    # references left dangling as it goes and refuses the commit if any remain, a check as
    # large as the change (a whole-database foreign_key_check took most of a second).
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("BEGIN IMMEDIATE")
    if (
        db.execute("select catalog_sha256, started_ns from build_info").fetchone()
        != diff.built_from
    ):
        raise Fallback("another build changed the database while this one read it")
    db.execute("PRAGMA defer_foreign_keys = ON")
    out: dict[type, list] = {model: [] for model in _MODELS}
    system_ids = sorted(diff.written_systems)
    doomed = sorted(diff.written_systems | diff.removed_systems)  # whose rows go
    catalog = SimpleNamespace(
        root=root, documents=checked.documents, files=diff.files, quotes=checked.quotes
    )
    written = [f"systems/{system_id}.yaml" for system_id in system_ids]
    modified = provenance.git_dates(root, written) if written else {}
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
    insert_into_sqlite(db, out)
    _insert_mentions(db, mentions, checked.articles)
    _realias(db, kept_mentions, out[tables.Alias])
    _flags(db, system_ids, doomed, article_ids + sorted(relinked), checked)
    sqlite_target.index_rows(db, "systems", "id", system_ids, "insert")
    sqlite_target.index_rows(
        db, "mentions", "article_id", sorted(diff.articles | relinked), "insert"
    )
    sqlite_target.index_rows(db, "articles", "id", sorted(diff.articles), "insert")
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


def _delete_systems(db, system_ids: list[str]) -> None:
    """Every row keyed by these entries (their derived relations are redone apart)."""
    if not system_ids:
        return
    marks = placeholders(system_ids)
    sqlite_target.index_rows(db, "systems", "id", system_ids, "delete")
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
    marks = placeholders(system_ids)
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
            f"({placeholders(kept)}) order by rowid",
            [r.id for r in kept],
        )
    ] + out[tables.RelationSource]
    before = len(written), len(backing)
    rows.derive_inverse_relations(written, backing)
    out[tables.Relation] += written[before[0] :]
    out[tables.RelationSource] += backing[before[1] :]


def _quoted(columns) -> list[str]:
    return [f'"{column}"' for column in columns]


def _delete_articles(db, article_ids: list[str]) -> None:
    if not article_ids:
        return
    marks = placeholders(article_ids)
    sqlite_target.index_rows(db, "mentions", "article_id", article_ids, "delete")
    sqlite_target.index_rows(db, "articles", "id", article_ids, "delete")
    db.execute(f"delete from mentions where article_id in ({marks})", article_ids)
    db.execute(f"delete from flags where article_id in ({marks})", article_ids)
    db.execute(f"delete from articles where id in ({marks})", article_ids)


def _delete_mentions(db, article_ids: list[str]) -> None:
    """The mentions of unchanged articles linked again, and the flags at them."""
    if not article_ids:
        return
    marks = placeholders(article_ids)
    sqlite_target.index_rows(db, "mentions", "article_id", article_ids, "delete")
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
            f"select id, system_id, key from aliases where system_id in ({placeholders(mentioned)})",
            mentioned,
        )
    }
    text_sha256 = {key: rows.sha256(article.text) for key, article in articles.items()}
    found = [
        rows.mention_row(m, articles, rows.alias_of(m, alias_ids), text_sha256) for m in mentions
    ]
    insert_into_sqlite(db, {tables.Mention: found})


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
        for mention_id, article_id, system_id, key in rows_where(db, sql, "m.system_id", renamed)
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
        db.execute(f"delete from flags where system_id in ({placeholders(doomed)})", doomed)
    articles = checked.articles
    texts = {key: (a.text, a.entry.language) for key, a in articles.items()}
    flags = [
        flag
        for key in system_ids
        for flag in consistency.check_quotes(checked.systems[key], texts, checked.quotes)
    ]
    columns = "select id, article_id, system_id, start, exact, name_kind from mentions"
    sql = (  # a union, not an "or": each half searches its own index
        f"{columns} where system_id in ({placeholders(system_ids)}) "
        f"union {columns} where article_id in ({placeholders(article_ids)}) order by id"
    )
    mentions = [
        SimpleNamespace(id=i, article_id=a, system_id=s, start=start, exact=e, name_kind=k)
        for i, a, s, start, e, k in db.execute(sql, system_ids + article_ids)
    ]
    named = sorted({m.system_id for m in mentions})
    by_id = {
        key: SimpleNamespace(id=key, name=name, category=category)
        for key, name, category in db.execute(
            f"select id, name, category from systems where id in ({placeholders(named)})", named
        )
    }
    for article_id in sorted({m.article_id for m in mentions} - texts.keys()):
        texts[article_id] = (Previous(db).text(article_id), None)
    flags += consistency.check_mentions(by_id, mentions, texts)
    insert_into_sqlite(db, {tables.Flag: [rows.flag_row(flag) for flag in flags]})


def _catalog_files(db, root: Path, diff: Difference, built_at, summary) -> None:
    """The records of every file read this time (changed, or unchanged but read because its
    stat had moved) and none of those removed, the catalog's version and counts, and when
    this build started."""
    removed = sorted(diff.files.removed)
    db.execute(f"delete from catalog_files where path in ({placeholders(removed)})", removed)
    db.executemany(  # in place: the rows stay in path order for the next build to read
        "insert into catalog_files (path, sha256, size, mtime_ns, ctime_ns, inode) "
        "values (?, ?, ?, ?, ?, ?) on conflict (path) do update set sha256 = excluded.sha256, "
        "size = excluded.size, mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, "
        "inode = excluded.inode",
        [(path, diff.hashes[path], *stat) for path, stat in sorted(diff.files.stats.items())],
    )
    counts = {
        table: db.execute(f"select count(*) from {table}").fetchone()[0]
        for table in ("systems", "articles", "mentions")
    }
    reused = len(diff.files) - len(diff.changed & diff.files.keys())
    summary.update(
        counts, catalog_sha256=diff.catalog_sha256, reused=reused, read=len(diff.files.stats)
    )
    db.execute(
        "update build_info set catalog_sha256 = ?, built_at = ?, started_ns = ?, git_dirty = ?, "
        "systems = ?, articles = ?, mentions = ?",
        (
            diff.catalog_sha256,
            rows.built_at_now(built_at),
            diff.started_ns,
            provenance.git_dirty(root),
            *counts.values(),
        ),
    )
