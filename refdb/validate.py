"""Loaded YAML -> a validated catalog, or every problem at once with file:line:column.

Each file is checked against the pydantic models of ``schema.py``; then the catalog as a
whole: ids match file names and are unique, relation targets and source ids exist, no name
is claimed by two systems, and every article quote and curator anchor still finds its words.
"""

from __future__ import annotations

import difflib
import re
import typing
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from confusable_homoglyphs import confusables
from pydantic import BaseModel, ValidationError

from refdb import forms, linker, sources
from refdb.cache import BuildCache, sha256
from refdb.errors import CatalogError, Problem, display_path
from refdb.loader import MAX_FILE_BYTES, Document, LazyDocument, decode, load_yaml, read_bytes
from refdb.schema import ArticleEntry, ArticleQuote, Publisher, PublisherRegister, SystemEntry

MAX_ARTICLE_BYTES = 1_000_000  # the longest value the server reads (datasette_plugin.limits)
REGISTER = "publishers.yaml"


@dataclass
class Article:
    entry: ArticleEntry
    text: str
    document: Document
    text_path: Path


@dataclass
class Catalog:
    """A catalog that passed every check, in a stable order (sorted by id)."""

    root: Path
    systems: list[SystemEntry]
    articles: list[Article]
    publishers: dict[str, Publisher] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> content, for hashing


def catalog_files(root: Path, folder: str, suffix: str) -> list[Path]:
    directory = Path(root) / folder
    return sorted(directory.glob(f"*{suffix}")) if directory.is_dir() else []


# Suffixes that look like a catalog file but would not be read: only `.yaml` (and an
# article's `.txt`), in lower case, are.
_MISNAMED = {".yml", ".json", ".yaml", ".txt"}


Progress = Callable[[str, int, int], None]  # (stage, done, total), for a progress bar


def validate_catalog(
    root: Path, progress: Progress | None = None, cache: BuildCache | None = None
) -> Catalog:
    """Load and check every file under ``root``; raise CatalogError listing all problems.

    With a ``cache``, a file whose bytes have not changed since the last build reuses its
    validated entry instead of being parsed and validated again.
    """
    root = Path(root)
    if not root.is_dir():
        raise CatalogError(
            [
                Problem(
                    str(root), 1, 1, "catalog directory not found; pass --catalog DIR", "no-catalog"
                )
            ]
        )
    problems: list[Problem] = []
    reader = _Reader(
        root, progress or (lambda stage, done, total: None), cache or BuildCache(), problems
    )
    register = reader.load_register()
    systems, system_docs = reader.load_all("systems", SystemEntry)
    articles = reader.load_articles()
    if not systems and not problems:
        problems.append(
            Problem(
                display_path(root / "systems"), 1, 1, "no system files (*.yaml) found", "no-systems"
            )
        )
    problems += _check_ids(systems, system_docs)
    problems += _check_references(systems, system_docs, articles)
    problems += _check_names(systems, system_docs)
    problems += _check_vetoes(systems, system_docs)
    problems += _check_article_anchors(articles, {s.id for s in systems})
    problems += _check_sources(root, register, systems, system_docs, articles)
    if problems:
        raise CatalogError(problems)
    documents = {s.id: system_docs[s.id] for s in systems}
    return Catalog(
        root=root,
        systems=sorted(systems, key=lambda s: s.id),
        articles=sorted(articles.values(), key=lambda a: a.entry.id),
        publishers=register.publishers if register else {},
        documents=documents,
        files=reader.files,
    )


def _check_sources(root: Path, register, systems, system_docs, articles) -> list[Problem]:
    """The source policy, once the register is known good enough to look publishers up in."""
    if register is None:
        path = root / REGISTER
        if path.exists():  # it did not validate; its own problems are already listed
            return []
        message = f"the publisher register {REGISTER} is missing; create it (see catalog/README.md)"
        return [Problem(display_path(path), 1, 1, message, "missing-register")]
    problems = sources.check_register(register.publishers, register.document)
    lookup = sources.Register(register.publishers)
    return problems + sources.check_catalog(lookup, systems, system_docs, articles)


def _inside(root: Path, path: Path, problems: list[Problem]) -> bool:
    """A catalog file must really live in the catalog: no symlink may lead outside it."""
    if not (path.is_symlink() or path.parent.is_symlink()):
        return True
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # a loop: reading it reports the problem
        return True
    if target.is_relative_to(root.resolve()):
        return True
    problems.append(
        Problem(
            display_path(path),
            1,
            1,
            "this file links outside the catalog; copy the file in instead",
            "outside-catalog",
        )
    )
    return False


@dataclass
class Register:
    """The validated publisher register and where each of its records is written."""

    publishers: dict[str, Publisher]
    document: Document


class _Reader:
    """Reads each catalog file once: its bytes for the version hash, then its entry."""

    def __init__(self, root: Path, progress: Progress, cache: BuildCache, problems: list[Problem]):
        self.root, self.progress, self.cache, self.problems = root, progress, cache, problems
        self.files: dict[str, bytes] = {}

    def read(self, path: Path, limit: int = MAX_FILE_BYTES) -> bytes | None:
        if not _inside(self.root, path, self.problems):
            return None
        try:
            raw = read_bytes(path, limit=limit)
        except CatalogError as error:
            self.problems += error.problems
            return None
        self.files[path.relative_to(self.root).as_posix()] = raw
        return raw

    def load_all(self, folder: str, model: type[BaseModel]):
        entries, documents = [], {}
        paths = catalog_files(self.root, folder, ".yaml")
        for done, path in enumerate(paths, start=1):
            self.progress(f"checking {folder}", done, len(paths))
            loaded = self.load_one(path, model)
            if loaded is None:
                continue
            entry, document = loaded
            if entry.id in documents:
                first = documents[entry.id].shown_path
                message = f"id '{entry.id}' is already used by {first}"
                self.problems.append(document.problem(("id",), message, "duplicate-id"))
                continue
            entries.append(entry)
            documents[entry.id] = document
        for path in catalog_files(self.root, folder, ""):
            suffix = path.suffix.lower()
            if suffix in _MISNAMED and path.suffix not in (".yaml", ".txt"):
                wanted = ".txt" if suffix == ".txt" else ".yaml"
                message = f"catalog files end in {wanted} (lower case); rename it"
                self.problems.append(Problem(display_path(path), 1, 1, message, "bad-extension"))
        return entries, documents

    def load_one(self, path: Path, model: type[BaseModel]):
        raw = self.read(path)
        if raw is None:
            return None
        relative, digest = path.relative_to(self.root).as_posix(), sha256(raw)
        cached = self.cache.entry(relative, digest, model)
        if cached is not None:
            return cached, LazyDocument(path)
        try:
            document = load_yaml(path, raw)
        except CatalogError as error:
            self.problems += error.problems
            return None
        entry = _validate(document, model, self.problems)
        if entry is None:
            return None
        self.cache.entries[relative] = (digest, entry)
        return entry, document

    def load_register(self) -> Register | None:
        """``publishers.yaml``, or None when it is absent or does not validate."""
        path = self.root / REGISTER
        if not path.exists():
            return None
        loaded = self.load_one(path, PublisherRegister)
        if loaded is None:
            return None
        register, document = loaded
        return Register(dict(register.root), document)

    def load_articles(self) -> dict[str, Article]:
        entries, documents = self.load_all("articles", ArticleEntry)
        articles = {}
        for entry in entries:
            document = documents[entry.id]
            if entry.id != document.path.stem:
                message = f"id '{entry.id}' must equal the file name '{document.path.stem}'"
                self.problems.append(document.problem(("id",), message, "id-mismatch"))
                continue
            text_path = document.path.with_suffix(".txt")
            if not text_path.exists():
                message = f"the article text {text_path.name} is missing beside this file"
                self.problems.append(document.problem(("id",), message, "missing-text"))
                continue
            raw = self.read(text_path, limit=MAX_ARTICLE_BYTES)
            if raw is None:
                continue
            try:
                text = decode(text_path, raw)  # NFC: the text mentions are placed in
            except CatalogError as error:
                self.problems += error.problems
                continue
            if not text.strip():
                message = "the article text is empty; save the article's words in it"
                self.problems.append(Problem(display_path(text_path), 1, 1, message, "empty-text"))
                continue
            articles[entry.id] = Article(entry, text, document, text_path)
        for text_path in catalog_files(self.root, "articles", ".txt"):
            if not text_path.with_suffix(".yaml").exists():
                message = "article text without its .yaml header; add one"
                self.problems.append(
                    Problem(display_path(text_path), 1, 1, message, "missing-header")
                )
        return articles


def _validate(document: Document, model: type[BaseModel], problems: list[Problem]):
    if not isinstance(document.data, dict):
        problems.append(
            document.problem(
                (), "the file must be a mapping of fields (key: value)", "not-a-mapping"
            )
        )
        return None
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        problems += [_problem_from_pydantic(document, model, item) for item in error.errors()]
        return None


def _problem_from_pydantic(document: Document, model: type[BaseModel], item: dict) -> Problem:
    kind = item["type"]
    loc = _data_path(document.data, item["loc"], names_a_key=kind in ("missing", "extra_forbidden"))
    where = ".".join(str(part) for part in loc) or "file"
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; known fields: {', '.join(known)}"
        return document.problem(loc, f"unknown field '{loc[-1]}'{hint}", "unknown-field", key=True)
    if kind == "missing":
        return document.problem(loc[:-1], f"missing required field '{loc[-1]}'", "missing-field")
    message = item["msg"].removeprefix("Value error, ")
    if kind in ("literal_error", "enum") and "expected" in item.get("ctx", {}):
        message = f"'{item.get('input')}' is not allowed; expected {item['ctx']['expected']}"
    return document.problem(loc, f"{where}: {message}", kind.replace("_", "-"))


def _data_path(data: Any, loc: tuple, names_a_key: bool = False) -> tuple:
    """The part of a pydantic ``loc`` that names real keys (drops union tags and the like).

    With ``names_a_key`` the last part is kept even though it is absent from the data: it is
    the missing or unknown field the error is about.
    """
    path, node = [], data
    for part in loc:
        if (
            isinstance(node, dict)
            and part in node
            or isinstance(node, list)
            and isinstance(part, int)
            and part < len(node)
        ):
            node = node[part]
        elif names_a_key and isinstance(node, dict) and part == loc[-1]:
            node = None
        else:
            continue
        path.append(part)
    return tuple(path)


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model found at ``loc`` inside ``model`` (for 'did you mean')."""
    current: Any = model
    for part in loc:  # list indexes and dict keys leave the model where it is
        if (
            isinstance(current, type)
            and issubclass(current, BaseModel)
            and part in current.model_fields
        ):
            current = _unwrap(current.model_fields[part].annotation)
    current = _unwrap(current)
    return (
        list(current.model_fields)
        if isinstance(current, type) and issubclass(current, BaseModel)
        else []
    )


def _unwrap(annotation: Any) -> Any:
    """list[X], dict[str, X], X | None and Annotated[X, ...] -> X (first model found)."""
    for _ in range(6):
        args = typing.get_args(annotation)
        if not args:
            return annotation
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        annotation = (
            models[0]
            if models
            else next((a for a in reversed(args) if a is not type(None)), args[0])
        )
        if typing.get_origin(annotation) is None and not typing.get_args(annotation):
            return annotation
    return annotation


def _check_ids(systems: list[SystemEntry], documents: dict[str, Document]) -> list[Problem]:
    problems, owners = [], {}
    for system in systems:
        document = documents[system.id]
        if system.id != document.path.stem:
            problems.append(
                document.problem(
                    ("id",),
                    f"id '{system.id}' must equal the file name '{document.path.stem}'",
                    "id-mismatch",
                )
            )
        for redirect in system.redirect_ids:
            owners.setdefault(redirect, []).append(system.id)
    ids = {s.id for s in systems}
    for redirect, owner_ids in owners.items():
        for owner in owner_ids:
            if redirect in ids or len(owner_ids) > 1:
                document = documents[owner]
                index = next(
                    i
                    for s in systems
                    if s.id == owner
                    for i, r in enumerate(s.redirect_ids)
                    if r == redirect
                )
                problems.append(
                    document.problem(
                        ("redirect_ids", index),
                        f"redirect id '{redirect}' is already used by another entry",
                        "duplicate-id",
                    )
                )
    return problems


def _check_references(systems, documents, articles: dict[str, Article]) -> list[Problem]:
    problems = []
    ids = {s.id for s in systems}
    for system in systems:
        document = documents[system.id]
        declared = set(system.sources)
        cited = [(("entry_sources", i), s) for i, s in enumerate(system.entry_sources)]
        for group in ("aliases", "specs", "relations"):
            for i, item in enumerate(getattr(system, group)):
                cited += [((group, i, "sources", j), s) for j, s in enumerate(item.sources)]
        for loc, source_id in cited:
            if source_id not in declared:
                close = difflib.get_close_matches(source_id, declared, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else "; declare it under sources:"
                problems.append(
                    document.problem(
                        loc,
                        f"source '{source_id}' is not declared in this file{hint}",
                        "undeclared-source",
                    )
                )
        for i, relation in enumerate(system.relations):
            if relation.target not in ids:
                close = difflib.get_close_matches(relation.target, ids, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else "; add that entry first"
                problems.append(
                    document.problem(
                        ("relations", i, "target"),
                        f"relation target '{relation.target}' is not in the catalog{hint}",
                        "dangling-target",
                    )
                )
            elif relation.target == system.id:
                problems.append(
                    document.problem(
                        ("relations", i, "target"),
                        "an entry cannot relate to itself",
                        "self-relation",
                    )
                )
        problems += _check_quotes(system, document, articles)
    return problems


def _check_quotes(
    system: SystemEntry, document: Document, articles: dict[str, Article]
) -> list[Problem]:
    problems = []
    for source_id, source in system.sources.items():
        if not isinstance(source, ArticleQuote):
            continue
        article = articles.get(source.article)
        if article is None:
            problems.append(
                document.problem(
                    ("sources", source_id, "article"),
                    f"article '{source.article}' is not in the catalog",
                    "unknown-article",
                )
            )
            continue
        starts = linker.find_anchor(article.text, source.quote, source.prefix)
        if len(starts) != 1:
            what = (
                "is not in the article text"
                if not starts
                else f"occurs {len(starts)} times; add a prefix"
            )
            problems.append(
                document.problem(
                    ("sources", source_id, "quote"),
                    f"quote {what}",
                    "quote-not-found" if not starts else "quote-ambiguous",
                )
            )
    return problems


@lru_cache(maxsize=65536)
def _latin_lookalike(char: str) -> str:
    """The Latin letter ``char`` is drawn like (Cyrillic 'а' -> 'a'), from Unicode's
    confusables table, or ``char`` itself."""
    if char.isascii() or not char.isalpha():
        return char
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"]) or []
    for item in found:
        for glyph in item["homoglyphs"]:
            if glyph["n"].startswith("LATIN ") and len(glyph["c"]) == 1:
                return glyph["c"]
    return char


def name_key(text: str) -> str:
    """The key under which two names count as one for the one-name-per-entry check: NFC,
    without format characters (zero-width space, joiners), look-alike letters mapped to
    Latin, then compacted as the linker compacts. What the linker matches is unchanged."""
    text = unicodedata.normalize("NFC", text)
    visible = "".join(_latin_lookalike(char) for char in text if unicodedata.category(char) != "Cf")
    return linker.compact(visible)


MAX_OTHERS_NAMED = 3  # a name shared by many entries lists a few: the error path stays linear


def _check_names(systems: list[SystemEntry], documents: dict[str, Document]) -> list[Problem]:
    """A name may belong to one system only, or the linker could not tell them apart."""
    claims: dict[str, dict[str, tuple[SystemEntry, str]]] = {}
    for system in systems:
        for name in linker.names_of(system):
            claims.setdefault(name_key(name.text), {}).setdefault(system.id, (system, name.text))
    problems, locations = [], {}
    for owners in claims.values():
        if len(owners) < 2:
            continue
        listed = list(owners.values())
        for system, text in listed:
            others = [
                f"'{other.id}' ('{other_text}')"
                for other, other_text in listed[: MAX_OTHERS_NAMED + 1]
                if other is not system
            ][:MAX_OTHERS_NAMED]
            more = len(listed) - 1 - len(others)
            others_text = ", ".join(others) + (f" and {more:,} more" if more else "")
            if system.id not in locations:
                locations[system.id] = _name_locations(system)
            problems.append(
                documents[system.id].problem(
                    locations[system.id].get(text, ("name",)),
                    f"name '{text}' is also a name of {others_text}; a name must identify one entry",
                    "duplicate-alias",
                )
            )
    return problems


def _check_vetoes(systems: list[SystemEntry], documents: dict[str, Document]) -> list[Problem]:
    """A vetoed form must be one the rules generate, or the veto guards nothing."""
    return [
        documents[system.id].problem(
            ("vetoed_forms", index),
            f"no rule generates '{system.vetoed_forms[index]}' for this entry; remove the veto "
            "(the forms an entry is looked for under are listed in the database's forms table)",
            "stale-veto",
        )
        for system in systems
        if system.vetoed_forms
        for index in forms.stale_vetoes(system)
    ]


def _name_locations(system: SystemEntry) -> dict[str, tuple]:
    """Where each name of an entry is written (the first place wins, as in names_of)."""
    written = [(alias.text, ("aliases", i, "text")) for i, alias in enumerate(system.aliases)]
    written += [(text, ("designations", i)) for i, text in enumerate(system.designations)]
    written += [(system.nato_reporting_name, ("nato_reporting_name",)), (system.name, ("name",))]
    locations = {}
    for text, place in written:
        locations.setdefault(text, place)
    return locations


def _check_article_anchors(articles: dict[str, Article], system_ids: set[str]) -> list[Problem]:
    problems = []
    for article in articles.values():
        folded = linker.fold(article.text)
        for section in ("include", "exclude"):
            for index, anchor in enumerate(getattr(article.entry.mentions, section)):
                loc = ("mentions", section, index)
                if anchor.system not in system_ids:
                    problems.append(
                        article.document.problem(
                            (*loc, "system"),
                            f"system '{anchor.system}' is not in the catalog",
                            "dangling-target",
                        )
                    )
                if not re.search(r"\w", anchor.exact):
                    problems.append(
                        article.document.problem(
                            (*loc, "exact"),
                            "an anchor's exact words must contain a letter or digit",
                            "anchor-without-words",
                        )
                    )
                    continue
                try:
                    linker.resolve(article.text, anchor, folded)
                except ValueError as error:
                    problems.append(
                        article.document.problem(
                            (*loc, "exact"), f"stale anchor: {error}", "stale-anchor"
                        )
                    )
    return problems


def file_contents(root: Path) -> dict[str, bytes]:
    """Catalog-relative path -> bytes of every file the catalog is compiled from (a file that
    cannot be read is left out: the catalog then differs from any build, which reports it)."""
    files = {}
    if (root / REGISTER).is_file():
        files[REGISTER] = (root / REGISTER).read_bytes()
    for folder, suffix in (("systems", ".yaml"), ("articles", ".yaml"), ("articles", ".txt")):
        for path in catalog_files(root, folder, suffix):
            try:
                files[path.relative_to(root).as_posix()] = read_bytes(path, limit=MAX_ARTICLE_BYTES)
            except CatalogError:
                continue
    return files
