"""Validated catalog + mentions -> one SQLite file, written atomically.

The database is built in a temporary file beside the target, checked (integrity, foreign
keys, one row per catalog file), flushed to disk and only then renamed over the old one: a
build that fails at any point leaves the previous database byte-identical. A build holds a
lock on the target's directory, so it can remove what a killed build left behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import subprocess
import tempfile
import time
from collections import defaultdict
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import pycountry
import sqlite_utils
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel, create_engine

from refdb import consistency, history, linker, postgres, sources, tables, units
from refdb.cache import BuildCache
from refdb.schema import PROPERTIES, RELATION_INVERSES, ArticleQuote, SystemEntry
from refdb.validate import Catalog, Progress, file_contents, validate_catalog


@dataclass
class BuildResult:
    path: Path
    systems: int
    articles: int
    mentions: int
    catalog_sha256: str
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each stage
    reused: int = 0  # files and articles whose previous work was reused


def build(
    catalog_dir: Path | str,
    db_path: Path | str | None,
    *,
    built_at: str | None = None,
    progress: Progress | None = None,
    reuse: bool = True,
    database_url: str | None = None,
) -> BuildResult:
    """Validate ``catalog_dir``, link its articles and replace ``db_path`` atomically.

    ``progress(stage, done, total)`` is called as files are checked and articles linked.
    With ``reuse``, unchanged files and articles reuse the previous build's work (the result
    is the same as a clean build's). With ``database_url`` (``postgresql://…``) the same
    tables are written to that PostgreSQL database instead, in one transaction.
    """
    seconds: dict[str, float] = {}
    cache_path = None if database_url else BuildCache.beside(db_path)
    cache = BuildCache.load(cache_path) if reuse and cache_path else BuildCache()
    with _timed(seconds, "load and validate"):
        catalog = validate_catalog(Path(catalog_dir), progress, cache)
    with _timed(seconds, "link"):
        mentions = linker.link_catalog(catalog, progress, cache)
    with _timed(seconds, "rows"):
        rows = catalog_rows(catalog, mentions, built_at)
    with _timed(seconds, "history"):
        rows |= history.history_rows(catalog, None if database_url else db_path, _row, reuse)
    if database_url:
        with _timed(seconds, "write"):
            postgres.write(database_url, rows)
        return _result(database_url, rows, seconds, cache)
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _directory_lock(db_path.parent):
        _remove_leftovers(db_path)
        _publish(rows, catalog, db_path, seconds)
        cache.save(cache_path)  # an optimisation: a path it cannot use is skipped
    return _result(db_path, rows, seconds, cache)


@contextmanager
def _directory_lock(directory: Path):
    """One build at a time per output directory (a lock on the directory, no extra file)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _remove_leftovers(db_path: Path) -> None:
    """Temporary files of a build that was killed (the lock says none is running)."""
    for pattern in (f".{db_path.name}.*.tmp", f".{db_path.name}.*.tmp-journal"):
        for leftover in db_path.parent.glob(pattern):
            if leftover.is_file() and not leftover.is_symlink():
                leftover.unlink(missing_ok=True)


def _publish(rows, catalog: Catalog, db_path: Path, seconds: dict[str, float]) -> None:
    """Write, check and rename into place; on any failure the old database stays."""
    handle, temporary = tempfile.mkstemp(
        prefix=f".{db_path.name}.", suffix=".tmp", dir=db_path.parent
    )
    os.close(handle)
    try:
        # mkstemp makes the file private; a published database is read by servers.
        os.chmod(temporary, 0o666 & ~_umask())
        _write(rows, Path(temporary), seconds)
        with _timed(seconds, "check"):
            _check(Path(temporary), catalog)
        _fsync(temporary)
        os.replace(temporary, db_path)
        _fsync(db_path.parent)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        Path(f"{temporary}-journal").unlink(missing_ok=True)
        raise


def _result(
    target, rows: dict[type, list], seconds: dict[str, float], cache: BuildCache
) -> BuildResult:
    info = rows[tables.BuildInfo][0]
    return BuildResult(
        target, info.systems, info.articles, info.mentions, info.catalog_sha256, seconds, cache.hits
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _timed(seconds: dict[str, float], stage: str):
    started = time.perf_counter()
    yield
    seconds[stage] = time.perf_counter() - started


def is_current(catalog_dir: Path | str, db_path: Path | str) -> bool:
    """Whether ``db_path`` was built from the catalog exactly as it is now on disk."""
    try:
        with closing(sqlite3.connect(read_only_uri(db_path), uri=True)) as conn:
            built = conn.execute("select catalog_sha256, refdb_version from build_info").fetchone()
    except sqlite3.Error:
        return False
    return built == (files_sha256(file_contents(Path(catalog_dir))), version("refdb"))


def read_only_uri(db_path: Path | str) -> str:
    """A ``file:`` URI for reading ``db_path``, with ``?``, ``#`` and ``%`` in it escaped."""
    return Path(db_path).absolute().as_uri() + "?mode=ro"


def _write(rows: dict[type, list], path: Path, seconds: dict[str, float]) -> None:
    """All rows in one transaction, then the full-text indexes.

    SQLModel declares the tables; the rows go in through sqlite3's ``executemany`` with one
    prepared statement per table, the fastest path SQLite offers.
    """
    with _timed(seconds, "write"):
        # A creator, not a URL: a path is never parsed as one ('?', '#' and '%' stay literal).
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(path))
        try:
            SQLModel.metadata.create_all(engine)
        except DBAPIError as error:  # SQLite's own error (a full disk...), not SQLAlchemy's wrap
            raise error.orig from None
        finally:
            engine.dispose()
        models = {model.__tablename__: model for model in rows}
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA foreign_keys = ON")
            with connection:  # one transaction; parents before the rows that point at them
                for table in SQLModel.metadata.sorted_tables:
                    items = rows.get(models.get(table.name), [])
                    if items:
                        columns = list(_columns(models[table.name]))
                        statement = (
                            f"insert into {table.name} ({', '.join(columns)}) "
                            f"values ({', '.join('?' * len(columns))})"
                        )
                        values = [tuple(getattr(item, c) for c in columns) for item in items]
                        connection.executemany(statement, values)
    with _timed(seconds, "full-text index"):
        _index(path)


def _index(path: Path) -> None:
    """FTS5 over names, aliases and descriptions, and over mention sentences."""
    db = sqlite_utils.Database(path)
    tokenizer = "unicode61 remove_diacritics 2"
    db["systems"].enable_fts(
        ["name", "designations", "nato_reporting_name", "search_names", "description"],
        fts_version="FTS5",
        tokenize=tokenizer,
        create_triggers=False,
    )
    db["mentions"].enable_fts(["sentence", "exact"], fts_version="FTS5", tokenize=tokenizer)
    db.close()


def _check(path: Path, catalog: Catalog) -> None:
    """The checks that make a bad file fail before it is published."""
    with closing(sqlite3.connect(path)) as db:
        if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise RuntimeError("SQLite integrity check failed on the new database")
        broken = db.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign key check failed: {broken[:5]}")
        systems = db.execute("select count(*) from systems").fetchone()[0]
        files = sum(p.startswith("systems/") for p in catalog.files)
        if not systems == len(catalog.systems) == files:
            raise RuntimeError(
                "row count differs from the number of system files; nothing was published"
            )
        db.execute("VACUUM")


@cache
def _columns(model: type[SQLModel]) -> dict:
    return {
        name: None if field.is_required() else field.default
        for name, field in model.model_fields.items()
    }


def _row(model: type[SQLModel], **values) -> SimpleNamespace:
    """A row of ``model``'s table: its columns, defaults filled in, unknown names refused.

    Plain namespaces, not SQLModel instances: a table model does not validate anyway (the
    values were validated by the schema), and instrumenting 100,000 rows costs seconds.
    """
    columns = _columns(model)
    unknown = values.keys() - columns.keys()
    if unknown:
        raise TypeError(f"{model.__tablename__} has no column {', '.join(sorted(unknown))}")
    return SimpleNamespace(**{**columns, **values})


def catalog_rows(
    catalog: Catalog, mentions: list[linker.Mention], built_at: str | None = None
) -> dict[type, list]:
    """Every row of the database, in a deterministic order."""
    rows: dict[type, list] = defaultdict(list)
    articles = {a.entry.id: a for a in catalog.articles}
    alias_ids: dict[tuple[str, str], int] = {}  # (system id, compact name) -> aliases.id
    modified = _git_dates(catalog.root)
    register = sources.Register(catalog.publishers)
    for publisher_id, publisher in sorted(catalog.publishers.items()):
        rows[tables.Publisher].append(_publisher_row(publisher_id, publisher))
    for system in catalog.systems:
        _system_rows(system, catalog, articles, rows, alias_ids, register)
        rows[tables.System][-1].modified = modified.get(rows[tables.System][-1].file)
    _derive_inverse_relations(rows[tables.Relation])
    for article in catalog.articles:
        rows[tables.Article].append(_article_row(article, catalog.root, register))
    sha = {a.entry.id: linker.text_sha256(a.text) for a in catalog.articles}
    for mention in mentions:
        rows[tables.Mention].append(_mention_row(mention, articles, alias_ids, sha))
    for index, flag in enumerate(consistency.find_flags(catalog, mentions), start=1):
        source_id = f"{flag.system_id}--{flag.source_key}" if flag.source_key else None
        rows[tables.Flag].append(
            _row(
                tables.Flag,
                id=index,
                system_id=flag.system_id,
                kind=flag.kind,
                message=flag.message,
                article_id=flag.article_id,
                mention_id=flag.mention_id,
                source_id=source_id,
            )
        )
    for relative, content in sorted(catalog.files.items()):
        rows[tables.CatalogFile].append(
            _row(tables.CatalogFile, path=relative, sha256=hashlib.sha256(content).hexdigest())
        )
    rows[tables.BuildInfo].append(
        _row(
            tables.BuildInfo,
            id=1,
            catalog_sha256=files_sha256(catalog.files),
            refdb_version=version("refdb"),
            built_at=built_at or datetime.now(UTC).replace(microsecond=0).isoformat(),
            git_commit=_git_commit(catalog.root),
            systems=len(catalog.systems),
            articles=len(catalog.articles),
            mentions=len(mentions),
        )
    )
    return rows


def files_sha256(files: dict[str, bytes]) -> str:
    """The catalog's version: one hash over every file's path and content."""
    digest = hashlib.sha256()
    for relative, content in sorted(files.items()):
        digest.update(relative.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


# Short names readers use where ISO's official one reads oddly in a reference card.
SHORT_COUNTRY_NAMES = {
    "SU": "Soviet Union",
    "RU": "Russia",
    "KP": "North Korea",
    "KR": "South Korea",
    "IR": "Iran",
    "SY": "Syria",
    "US": "United States",
    "GB": "United Kingdom",
}


def _country_name(code: str) -> str:
    if code in SHORT_COUNTRY_NAMES:
        return SHORT_COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or country.name


def _publisher_row(publisher_id: str, publisher) -> tables.Publisher:
    return _row(
        tables.Publisher,
        id=publisher_id,
        name=publisher.name,
        kind=publisher.kind,
        country=publisher.country,
        domains=", ".join(publisher.domains),
        reliability=publisher.reliability,
        reason=publisher.reason,
    )


def _system_rows(
    system: SystemEntry, catalog: Catalog, articles, rows, alias_ids, register
) -> None:
    document = catalog.documents[system.id]
    relative = document.path.relative_to(catalog.root).as_posix()
    names = linker.names_of(system)
    forms = _unique_keys(linker.forms_of(system))
    rows[tables.System].append(
        _row(
            tables.System,
            id=system.id,
            name=system.name,
            designation=system.designations[0] if system.designations else system.name,
            designations=" · ".join(system.designations),
            nato_reporting_name=system.nato_reporting_name,
            category=system.category,
            role=system.role,
            country=system.country,
            country_name=_country_name(system.country),
            designer=system.designer,
            manufacturer=system.manufacturer,
            status=system.status,
            operators=", ".join(system.operators),
            wikidata=system.wikidata,
            description=system.description,
            search_names=_search_names(forms),
            file=relative,
            content_sha256=hashlib.sha256(catalog.files[relative]).hexdigest(),
        )
    )
    numbers = {key: number for number, key in enumerate(system.sources, start=1)}
    for key, source in system.sources.items():
        rows[tables.Source].append(
            _source_row(system.id, key, numbers[key], source, articles, register)
        )

    def cite(table: str, fact_id, keys: list[str]) -> None:
        for key in keys:
            rows[tables.FactSource].append(
                _row(
                    tables.FactSource,
                    id=len(rows[tables.FactSource]) + 1,
                    fact_table=table,
                    fact_id=str(fact_id),
                    source_id=f"{system.id}--{key}",
                )
            )

    cite("systems", system.id, system.entry_sources)
    for name in names:
        alias_id, key = len(rows[tables.Alias]) + 1, linker.compact(name.text)
        alias_ids[(system.id, key)] = alias_id
        rows[tables.Alias].append(
            _row(
                tables.Alias,
                id=alias_id,
                system_id=system.id,
                text=name.text,
                key=key,
                lang=name.lang,
                kind=str(name.kind),
                case_sensitive=name.case_sensitive,
                note=name.note,
            )
        )
    for alias in system.aliases:
        cite("aliases", alias_ids[(system.id, linker.compact(alias.text))], alias.sources)
    for form in forms:
        key = linker.compact(form.text)
        rows[tables.Form].append(
            _row(
                tables.Form,
                id=f"{system.id}:{key}",
                system_id=system.id,
                alias_id=alias_ids.get((system.id, linker.compact(form.name.text))),
                text=form.text,
                key=key,
                rule=form.rule,
                lang=form.lang,
            )
        )
    for redirect in system.redirect_ids:
        rows[tables.Redirect].append(_row(tables.Redirect, id=redirect, system_id=system.id))
    contested = _contested_properties(system)
    for spec in system.specs:
        spec_id = len(rows[tables.Spec]) + 1
        rows[tables.Spec].append(
            _spec_row(spec_id, system.id, spec, spec.property in contested, numbers)
        )
        cite("specs", spec_id, spec.sources)
    for relation in system.relations:
        relation_id = len(rows[tables.Relation]) + 1
        rows[tables.Relation].append(
            _row(
                tables.Relation,
                id=relation_id,
                system_id=system.id,
                type=relation.type,
                target_id=relation.target,
                count=relation.count,
                status=relation.status,
                note=relation.note,
                source_numbers=_numbers(relation.sources, numbers),
            )
        )
        cite("relations", relation_id, relation.sources)


def _numbers(keys: list[str], numbers: dict[str, int]) -> str:
    return ", ".join(str(numbers[key]) for key in keys)


def _unique_keys(forms: list[linker.Form]) -> list[linker.Form]:
    """One form per compact key (a case-sensitive "Club" and "CLUB" are one row here)."""
    unique: dict[str, linker.Form] = {}
    for form in forms:
        unique.setdefault(linker.compact(form.text), form)
    return list(unique.values())


def _search_names(forms: list[linker.Form]) -> str:
    """Every form of every name, plus separator-free spellings so 'Tu160' finds 'Tu-160' and
    'tou-160' or 'Kindschal' find the entry they are a form of."""
    words = []
    for form in forms:
        words.append(form.text)
        joined = form.text.replace("-", "").replace(" ", "")
        if joined != form.text:
            words.append(joined)
    return " · ".join(dict.fromkeys(words))


def _contested_properties(system: SystemEntry) -> set[str]:
    values = defaultdict(set)
    for spec in system.specs:
        values[spec.property].add((spec.value, spec.unit))
    return {prop for prop, seen in values.items() if len(seen) > 1}


def _spec_row(spec_id, system_id, spec, contested, numbers) -> tables.Spec:
    prop = PROPERTIES[spec.property]
    is_words = prop.kind in ("date", "text")  # kept as written, never a number
    normalized = None
    if prop.kind == "quantity":
        normalized = units.convert(spec.value, spec.unit, prop.canonical_unit)
    elif prop.kind == "count":
        normalized = float(spec.value)
    return _row(
        tables.Spec,
        id=spec_id,
        system_id=system_id,
        property=spec.property,
        property_label=prop.label,
        value=None if is_words else float(spec.value),
        value_text=spec.value if is_words else None,
        unit=spec.unit,
        value_normalized=None if normalized is None else round(normalized, 3),
        unit_normalized=prop.canonical_unit if normalized is not None else None,
        qualifier=spec.qualifier,
        contested=contested,
        note=spec.note,
        source_numbers=_numbers(spec.sources, numbers),
    )


def _source_row(system_id, key, number, source, articles, register) -> tables.Source:
    row = _row(
        tables.Source,
        id=f"{system_id}--{key}",
        system_id=system_id,
        key=key,
        number=number,
        kind="external",
    )
    if isinstance(source, ArticleQuote):
        article = articles[source.article]
        start = linker.find_anchor(article.text, source.quote, source.prefix)[0]
        row.kind, row.article_id, row.note = "article", source.article, source.note
        row.title, row.date = article.entry.title, article.entry.date
        row.title_is_descriptive = article.entry.title_is_descriptive
        row.url, row.via, row.language = (
            article.entry.url,
            article.entry.via,
            article.entry.language,
        )
        row.publisher_id = register.publisher_of(article.entry)
        row.quote_start, row.quote_end = start, start + len(source.quote)
        row.quote = article.text[start : start + len(source.quote)]
    else:
        fields = ("title", "title_is_descriptive", "author", "url", "via", "archive_url")
        for field in (*fields, "language", "date", "accessed", "note"):
            setattr(row, field, getattr(source, field))
        row.publisher_id = register.publisher_of(source)
    if row.publisher_id is not None:
        row.publisher = register.publishers[row.publisher_id].name
    return row


def _derive_inverse_relations(relations: list[tables.Relation]) -> None:
    written = {(r.system_id, r.type, r.target_id) for r in relations}
    for relation in list(relations):
        inverse = (relation.target_id, RELATION_INVERSES[relation.type], relation.system_id)
        if inverse in written:
            continue
        relations.append(
            _row(
                tables.Relation,
                id=len(relations) + 1,
                system_id=inverse[0],
                type=inverse[1],
                target_id=inverse[2],
                count=None,
                status=relation.status,
                note=relation.note,
                derived=True,
                source_numbers=relation.source_numbers,
            )
        )


def _article_row(article, root: Path, register) -> tables.Article:
    entry = article.entry
    publisher_id = register.publisher_of(entry)
    original = entry.translation_of
    return _row(
        tables.Article,
        id=entry.id,
        title=entry.title,
        title_is_descriptive=entry.title_is_descriptive,
        publisher=register.publishers[publisher_id].name if publisher_id else None,
        publisher_id=publisher_id,
        author=entry.author,
        date=entry.date,
        language=entry.language,
        url=entry.url,
        via=entry.via,
        translation_of_title=original.title if original else None,
        translation_of_url=original.url if original else None,
        note=entry.note,
        text=article.text,
        text_sha256=linker.text_sha256(article.text),
        file=article.document.path.relative_to(root).as_posix(),
    )


def _mention_row(mention: linker.Mention, articles, alias_ids, sha) -> tables.Mention:
    text = articles[mention.article_id].text
    alias_id = alias_ids.get((mention.system_id, linker.compact(mention.name_text or "")))
    return _row(
        tables.Mention,
        id=mention.id,
        article_id=mention.article_id,
        system_id=mention.system_id,
        alias_id=alias_id,
        exact=mention.exact,
        start=mention.start,
        end=mention.end,
        prefix=mention.prefix,
        suffix=mention.suffix,
        sentence=text[mention.sentence_start : mention.sentence_end],
        sentence_start=mention.sentence_start,
        sentence_end=mention.sentence_end,
        text_sha256=sha[mention.article_id],
        name_kind=mention.name_kind,
        origin=mention.origin,
        form=mention.form,
        rule=mention.rule,
    )


def _git_dates(root: Path) -> dict[str, str]:
    """Catalog-relative path -> date of the last commit that touched it (one git call)."""
    output = _git(root, "log", "--relative", "--format=%x00%cs", "--name-only", "--", ".")
    dates: dict[str, str] = {}
    for block in (output or "").split("\0")[1:]:
        day, *paths = block.strip().splitlines()
        for path in paths:
            dates.setdefault(path, day)
    return dates


def _git(root: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def _git_commit(root: Path) -> str | None:
    return (_git(root, "rev-parse", "HEAD") or "").strip() or None


def _fsync(path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
