"""Validated catalog + mentions -> the rows of every table, whatever database they go to.

Row ids come from ``ids.py``: derived from each row's content key, so they do not move when
another entry changes. Rows are plain namespaces of a table model's columns.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import cache, cached_property
from importlib.metadata import version
from itertools import islice
from operator import attrgetter
from pathlib import Path
from types import SimpleNamespace

from sqlmodel import SQLModel

from refdb import ids
from refdb.cache import code_version
from refdb.catalog import categories, sources, units
from refdb.catalog.countries import country_name
from refdb.catalog.schema import PROPERTIES, RELATION_INVERSES, ArticleQuote, SystemEntry
from refdb.catalog.validate import Catalog
from refdb.compiling import insert, provenance, stat_scan, tables
from refdb.compiling.insert import Positional
from refdb.linking import consistency, linker
from refdb.text import compact, sha256


@cache
def _columns(model: type[SQLModel]) -> dict:
    return {
        name: None if field.is_required() else field.default
        for name, field in model.model_fields.items()
    }


def _copied(item, names: str) -> dict:
    """``item``'s attributes of these (space-separated) names, for columns named alike."""
    fields, get = _getter(names)
    return dict(zip(fields, get(item), strict=True))


@cache
def _getter(names: str) -> tuple[tuple[str, ...], attrgetter]:
    fields = tuple(names.split())
    return fields, attrgetter(*fields)


def new_row(model: type[SQLModel], **values) -> SimpleNamespace:
    """A row of ``model``'s table: its columns, defaults filled in, unknown names refused.

    Plain namespaces, not SQLModel instances: a table model does not validate anyway (the
    values were validated by the schema), and instrumenting 100,000 rows costs seconds.
    """
    columns = _columns(model)
    if not values.keys() <= columns.keys():
        unknown = values.keys() - columns.keys()
        raise TypeError(f"{model.__tablename__} has no column {', '.join(sorted(unknown))}")
    row = SimpleNamespace(**columns)  # the columns' order, whatever order values come in
    vars(row).update(values)
    return row


def catalog_rows(
    catalog: Catalog, mentions: list[linker.Mention], built_at: str | None = None
) -> dict[type, list]:
    """Every row of the database, in a deterministic order, all at once."""
    found: dict[str, list] = defaultdict(list)
    for mention in mentions:
        found[mention.article_id].append(mention)
    finish = ArticleRows(catalog)
    parts = [finish(article, found[article.entry.id]) for article in catalog.articles]
    return merged(streamed_rows(catalog, [parts], built_at))


class ArticleRows:
    """(an article, its mentions) -> the rows of the article, its mentions, the flags at them
    and its two files (their stat taken there and then). The build makes them where the
    article was linked (``finished_batches``): rows cost less to send to the writing process
    than the parsed article, and making them there leaves that process its time for writing."""

    def __init__(self, catalog: Catalog, positional: bool = False) -> None:
        self.root, self.folder = catalog.root, os.fspath(catalog.root)
        self.positional = positional  # rows as tuples, for the clean SQLite write
        self.register = sources.Register(catalog.publishers)
        self.systems = {system.id: system for system in catalog.systems}
        self._key = cache(compact)  # each name's key once: a few names make most mentions

    @cached_property
    def alias_ids(self) -> dict[tuple[str, str], str]:
        """(system id, compact key) -> alias id, as the entries' rows give them; made on
        first use, by each worker once it is forked."""
        return {
            (system.id, key): alias_id
            for system in self.systems.values()
            for key, alias_id, _ in _alias_keys(system)
        }

    def __call__(self, article, mentions: list[linker.Mention]) -> dict[type, list]:
        row = article_row(article, self.root, self.register)
        articles, text_sha256 = {row.id: article}, {row.id: row.text_sha256}
        texts = {row.id: (article.text, article.entry.language)}
        flags = consistency.check_mentions(self.systems, mentions, texts)
        header, text = article.digests
        made = {
            tables.Article: [row],
            tables.Mention: [
                mention_row(m, articles, alias_of(m, self.alias_ids, self._key), text_sha256)
                for m in mentions
            ],
            tables.Flag: [flag_row(flag) for flag in flags],
            tables.CatalogFile: [  # in path order, as the others' (".txt" < ".yaml")
                _file_row(self.folder, f"articles/{row.id}.txt", text),
                _file_row(self.folder, f"articles/{row.id}.yaml", header),
            ],
        }
        if self.positional:
            return {model: insert.positional(model, items) for model, items in made.items()}
        return made


def streamed_rows(
    catalog: Catalog, batches: Iterable[list[dict]], built_at: str | None = None
) -> Iterator[dict[type, list]]:
    """Every row of the database, a part at a time (model -> rows): each batch of articles'
    rows (each article's as :class:`ArticleRows` makes them) followed by the entries' rows of
    a few hundred entries, as long as some are left, then the other files' and the build's. The
    entries' rows are made while the next articles are linked on the other cores. Each
    table's rows come in a deterministic order; a row may come before the row its foreign key
    names (a source before its article). Of ``catalog.articles`` only those entries quote are
    used: a streamed catalog holds no others."""
    register = sources.Register(catalog.publishers)
    articles = {a.entry.id: a for a in catalog.articles}
    texts = {a.entry.id: (a.text, a.entry.language) for a in catalog.articles}
    counts = {"articles": 0, "mentions": 0}

    def counted_batches() -> Iterator[dict[type, list]]:
        for batch in batches:
            part = merged(batch)
            counts["articles"] += len(part.get(tables.Article, []))
            counts["mentions"] += len(part.get(tables.Mention, []))
            yield part

    yield from alternating(counted_batches(), _entry_parts(catalog, articles, register, texts))
    version = provenance.CatalogVersion()  # a streamed catalog's, once its articles are read
    files: list = []
    root = os.fspath(catalog.root)
    for relative, digest in catalog.file_digests():
        version.add(relative, digest)
        if not relative.startswith("articles/"):  # the articles' came with their rows
            files.append(_file_row(root, relative, digest))
        if len(files) == 5000:
            yield {tables.CatalogFile: files}
            files = []
    info = _build_info_row(catalog, version.hexdigest(), counts, built_at)
    yield {tables.CatalogFile: files, tables.BuildInfo: [info]}


def alternating(parts: Iterator[dict], others: Iterator[dict]) -> Iterator[dict]:
    """``parts``, one of ``others`` after each while they last, then the rest of ``others``:
    the others are made between parts, while the workers link the next articles."""
    for part in parts:
        yield part
        yield from islice(others, 1)
    yield from others


def merged(parts: Iterable[dict]) -> dict[type, list]:
    """Parts' rows (model -> rows each) as one part, in their order; positional rows stay
    so."""
    rows: dict[type, list] = defaultdict(list)
    for part in parts:
        for model, items in part.items():
            if model not in rows and isinstance(items, Positional):
                rows[model] = Positional(model)
            rows[model] += items
    return rows


def _entry_parts(catalog: Catalog, articles: dict, register, texts, size: int = 500):
    """The publishers' rows, then the rows of ``size`` system entries at a time (the flags
    on their quotes included), then the relations derived from all of them."""
    yield {
        tables.Publisher: [
            _publisher_row(publisher_id, publisher)
            for publisher_id, publisher in sorted(catalog.publishers.items())
        ],
        **vocabulary_rows(),
    }
    modified = provenance.git_dates(catalog.root, ["systems"])  # not the articles' dates
    relations, relation_sources = [], []
    for start in range(0, len(catalog.systems), size):
        rows: dict[type, list] = defaultdict(list)
        for system in catalog.systems[start : start + size]:
            system_rows(system, catalog, articles, rows, register)
            rows[tables.System][-1].modified = modified.get(rows[tables.System][-1].file)
            flags = consistency.check_quotes(system, texts, catalog.quotes)
            rows[tables.Flag] += map(flag_row, flags)
        relations += rows[tables.Relation]
        relation_sources += rows[tables.RelationSource]
        yield rows
    written = len(relations), len(relation_sources)
    derive_inverse_relations(relations, relation_sources)
    yield {
        tables.Relation: relations[written[0] :],
        tables.RelationSource: relation_sources[written[1] :],
    }


def _file_row(root: str, relative: str, digest: str) -> tables.CatalogFile:
    """A file's hash and its stat now, by which the next build knows it unchanged unread
    (``root``: the catalog's path as a string, as joining 200,000 paths is cheaper so)."""
    try:
        record = stat_scan.stat_record(os.lstat(f"{root}/{relative}"))
    except OSError:  # gone since it was read: the next build finds it so
        record = (None, None, None, None)
    size, mtime_ns, ctime_ns, inode = record
    return new_row(
        tables.CatalogFile,
        path=relative,
        sha256=digest,
        size=size,
        mtime_ns=mtime_ns,
        ctime_ns=ctime_ns,
        inode=inode,
    )


def _build_info_row(catalog: Catalog, catalog_sha256: str, counts: dict, built_at: str | None):
    return new_row(
        tables.BuildInfo,
        id=1,
        catalog_sha256=catalog_sha256,
        refdb_version=version("refdb"),
        code_sha256=code_version(),
        built_at=built_at_now(built_at),
        started_ns=catalog.started_ns,
        git_commit=provenance.git_commit(catalog.root),
        git_dirty=provenance.git_dirty(catalog.root),
        systems=len(catalog.systems),
        **counts,
    )


def built_at_now(built_at: str | None) -> str:
    """The build time a build records: the one given, or now to the second."""
    return built_at or datetime.now(UTC).replace(microsecond=0).isoformat()


def flag_row(flag: consistency.Flag):
    source_id = ids.source(flag.system_id, flag.source_key) if flag.source_key else None
    key = {
        "system_id": flag.system_id,
        "kind": flag.kind,
        "article_id": flag.article_id,
        "mention_id": flag.mention_id,
        "source_id": source_id,
        "spec_id": flag.spec_id,
    }
    return new_row(tables.Flag, id=ids.hashed(key), message=flag.message, **key)


def _publisher_row(publisher_id: str, publisher) -> tables.Publisher:
    return new_row(
        tables.Publisher,
        id=publisher_id,
        domains=", ".join(publisher.domains),
        rendition_domains=", ".join(publisher.rendition_domains),
        **_copied(publisher, "name kind country copy_of reliability reason"),
    )


def vocabulary_rows() -> dict[type, list]:
    """The categories, their standard cards and their words in each language."""
    rows: dict[type, list] = defaultdict(list)
    for position, (name, category) in enumerate(categories.CATEGORIES.items()):
        rows[tables.Category].append(
            new_row(
                tables.Category,
                id=name,
                label=category.label,
                broader=", ".join(category.broader),
                position=position,
            )
        )
        for place, fact in enumerate(category.card, start=1):
            rows[tables.CardFact].append(
                new_row(
                    tables.CardFact,
                    id=f"{name}--{place}",
                    category_id=name,
                    position=place,
                    label=fact.label,
                    properties=", ".join(fact.properties),
                    headline=fact.headline,
                )
            )
        for lang, words in category.words.items():
            for n, word in enumerate(words, start=1):
                rows[tables.CategoryWord].append(
                    new_row(
                        tables.CategoryWord,
                        id=f"{name}--{lang}--{n}",
                        category_id=name,
                        lang=lang,
                        word=word,
                        key=compact(word.replace("*", "")),
                    )
                )
    return rows


def system_rows(system: SystemEntry, catalog: Catalog, articles, rows, register) -> None:
    relative = catalog.documents[system.id].path.relative_to(catalog.root).as_posix()
    forms = _unique_keys(linker.forms_of(system))
    rows[tables.System].append(
        _entry_row(system, relative, catalog.files[relative], forms.values())
    )
    numbers = {key: number for number, key in enumerate(system.sources, start=1)}
    for key, source in system.sources.items():
        quote = catalog.quotes.get((system.id, key))
        rows[tables.Source].append(
            _source_row(system.id, key, numbers[key], source, quote, articles, register)
        )

    def cited_by(join_table: type, fact_column: str, fact_id: str, keys: list[str]) -> None:
        joined = rows[join_table]
        for key in keys:
            row = {fact_column: fact_id, "source_id": ids.source(system.id, key)}
            joined.append(new_row(join_table, **row))

    cited_by(tables.SystemSource, "system_id", system.id, system.entry_sources)
    alias_ids = alias_rows(system, rows[tables.Alias])
    for alias in system.aliases:
        alias_id = alias_ids[compact(alias.text)]
        cited_by(tables.AliasSource, "alias_id", alias_id, alias.sources)
    name_alias = {name.text: alias_ids[compact(name.text)] for name in linker.names_of(system)}
    for key, form in forms.items():
        rows[tables.Form].append(_form_row(system.id, key, form, name_alias))
    for redirect in system.redirect_ids:
        rows[tables.Redirect].append(new_row(tables.Redirect, id=redirect, system_id=system.id))
    contested = _contested_properties(system)
    specs = zip(ids.spec_ids(system), system.specs, strict=True)
    for position, (spec_id, spec) in enumerate(specs, 1):
        contested_here = spec.property in contested
        rows[tables.Spec].append(_spec_row(spec_id, system.id, spec, contested_here, position))
        cited_by(tables.SpecSource, "spec_id", spec_id, spec.sources)
    for relation_id, relation in zip(ids.relation_ids(system), system.relations, strict=True):
        rows[tables.Relation].append(_relation_row(relation_id, system.id, relation))
        cited_by(tables.RelationSource, "relation_id", relation_id, relation.sources)


def _entry_row(system: SystemEntry, relative: str, content: bytes, forms) -> tables.System:
    return new_row(
        tables.System,
        designation=system.designations[0] if system.designations else system.name,
        designations=" · ".join(system.designations),
        country_name=country_name(system.country),
        operators=", ".join(system.operators),
        **_copied(system, "id name nato_reporting_name category family role country designer"),
        **_copied(system, "manufacturer status wikidata description"),
        search_names=_search_names(forms),
        file=relative,
        content_sha256=sha256(content),
    )


def alias_rows(system: SystemEntry, aliases: list) -> dict[str, str]:
    """One row per name of ``system``; compact key -> alias id (the last name of a key, as
    mentions and forms are matched by key)."""
    alias_ids = {}
    for position, (key, alias_id, name) in enumerate(_alias_keys(system), 1):
        alias_ids[key] = alias_id
        aliases.append(
            new_row(
                tables.Alias,
                id=alias_id,
                system_id=system.id,
                text=name.text,
                key=key,
                lang=name.lang,
                kind=str(name.kind),
                case_sensitive=name.case_sensitive,
                used_in=", ".join(name.used_in) or None,
                note=name.note,
                position=position,
            )
        )
    return alias_ids


def _alias_keys(system: SystemEntry) -> list[tuple[str, str, linker.Name]]:
    """(compact key, alias id, name) of each of ``system``'s names, in order."""
    names = linker.names_of(system)
    keys = [compact(name.text) for name in names]
    in_order = ids.numbered(ids.name(system.id, key) for key in keys)
    return list(zip(keys, in_order, names, strict=True))


def _form_row(system_id: str, key: str, form: linker.Form, name_alias) -> tables.Form:
    """The row of a form whose compact key is ``key``; ``name_alias``: each name's text ->
    the alias id of its key."""
    return new_row(
        tables.Form,
        id=ids.name(system_id, key),
        system_id=system_id,
        alias_id=name_alias.get(form.name.text),
        text=form.text,
        key=key,
        rule=form.rule,
        lang=form.lang,
    )


def _relation_row(relation_id: str, system_id: str, relation, **derived) -> tables.Relation:
    return new_row(
        tables.Relation,
        id=relation_id,
        system_id=system_id,
        target_id=relation.target,
        **_copied(relation, "type count status note"),
        **derived,
    )


def _unique_keys(forms: list[linker.Form]) -> dict[str, linker.Form]:
    """Compact key -> the first form of that key (a case-sensitive "Club" and "CLUB" are one
    row here)."""
    unique: dict[str, linker.Form] = {}
    for form in forms:
        unique.setdefault(compact(form.text), form)
    return unique


def _search_names(forms: Iterable[linker.Form]) -> str:
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


def _spec_row(spec_id, system_id, spec, contested, position) -> tables.Spec:
    prop = PROPERTIES[spec.property]
    is_words = prop.kind in ("date", "text")  # kept as written, never a number
    normalized = None
    if prop.kind == "quantity":
        normalized = units.convert(spec.value, spec.unit, prop.canonical_unit)
    elif prop.kind == "count":
        normalized = float(spec.value)
    return new_row(
        tables.Spec,
        id=spec_id,
        system_id=system_id,
        property_label=prop.label,
        value=None if is_words else float(spec.value),
        value_text=spec.value if is_words else None,
        value_normalized=None if normalized is None else round(normalized, 3),
        unit_normalized=prop.canonical_unit if normalized is not None else None,
        contested=contested,
        position=position,
        **_copied(spec, "property unit qualifier note"),
    )


def _source_row(system_id, key, number, source, quote, articles, register) -> tables.Source:
    row = new_row(
        tables.Source,
        id=ids.source(system_id, key),
        system_id=system_id,
        key=key,
        number=number,
        kind="external",
    )
    if isinstance(source, ArticleQuote):
        article = articles[source.article]
        row.kind, row.article_id, row.note = "article", source.article, source.note
        row.title, row.date = article.entry.title, article.entry.date
        row.title_is_descriptive = article.entry.title_is_descriptive
        row.url, row.via, row.language = (
            article.entry.url,
            article.entry.via,
            article.entry.language,
        )
        row.publisher_id = register.publisher_of(article.entry)
        row.quote_start, row.quote_end = quote
        row.quote = article.text[quote[0] : quote[1]]
    else:
        fields = "title title_is_descriptive author url via archive_url language date accessed note"
        vars(row).update(_copied(source, fields))
        row.publisher_id = register.publisher_of(source)
    if row.via is not None:
        host = sources.host_of(row.via)
        row.via_publisher_id = register.owner(host) or register.rendition_owner(host)
    if row.publisher_id is not None:
        row.publisher = register.publishers[row.publisher_id].name
    return row


def derive_inverse_relations(relations: list, relation_sources: list) -> None:
    """The inverse of each relation whose target does not write it, backed by its sources."""
    written = {(r.system_id, r.type, r.target_id) for r in relations}
    backing = defaultdict(list)
    for row in relation_sources:
        backing[row.relation_id].append(row.source_id)
    for relation in list(relations):
        inverse = (relation.target_id, RELATION_INVERSES[relation.type], relation.system_id)
        if inverse in written:
            continue
        written.add(inverse)
        derived_id = ids.relation(*inverse)
        relations.append(
            new_row(
                tables.Relation,
                id=derived_id,
                system_id=inverse[0],
                type=inverse[1],
                target_id=inverse[2],
                status=relation.status,
                note=relation.note,
                derived=True,
            )
        )
        for source_id in backing[relation.id]:
            relation_sources.append(
                new_row(tables.RelationSource, relation_id=derived_id, source_id=source_id)
            )


def article_row(article, root: Path, register) -> tables.Article:
    entry = article.entry
    publisher_id = register.publisher_of(entry)
    original = entry.translation_of
    return new_row(
        tables.Article,
        publisher=register.publishers[publisher_id].name if publisher_id else None,
        publisher_id=publisher_id,
        **_copied(entry, "id title title_is_descriptive author date language url via"),
        translation_of_title=original.title if original else None,
        translation_of_url=original.url if original else None,
        note=entry.note,
        text=article.text,
        text_sha256=sha256(article.text),
        file=article.document.path.relative_to(root).as_posix(),
        anchored=" ".join(_anchored(entry)),
    )


def _anchored(entry) -> list[str]:
    """The entries an article's curator anchors name: a change to one of them may make an
    anchor stale, which an incremental build finds from this without reading the header."""
    corrections = entry.mentions
    return sorted({anchor.system for anchor in (*corrections.include, *corrections.exclude)})


def alias_of(mention: linker.Mention, alias_ids: dict, key=compact) -> str | None:
    """The id of the alias a mention was found under (None for a curator's inclusion);
    ``alias_ids``: (system id, compact key) -> alias id, ``key``: how a name's key is made."""
    return alias_ids.get((mention.system_id, key(mention.name_text or "")))


def mention_row(mention: linker.Mention, articles, alias_id, text_sha256) -> tables.Mention:
    text = articles[mention.article_id].text
    return new_row(
        tables.Mention,
        alias_id=alias_id,
        sentence=text[mention.sentence_start : mention.sentence_end],
        text_sha256=text_sha256[mention.article_id],
        **_copied(mention, "id article_id system_id exact start end prefix suffix"),
        **_copied(mention, "sentence_start sentence_end name_kind origin form rule"),
    )
