"""Which files make a catalog, and each one read once: its bytes, then its validated entry.

Only regular files inside the catalog are read; a file whose bytes are unchanged since the
last build reuses its validated entry from the build cache.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from refdb.cache import BuildCache
from refdb.catalog.loader import (
    MAX_FILE_BYTES,
    Document,
    LazyDocument,
    decode,
    load_plain,
    prefetch,
    read_bytes,
)
from refdb.catalog.pydantic_problems import salvage, validate_document
from refdb.catalog.schema import ArticleEntry, Publisher, PublisherRegister, SystemEntry
from refdb.errors import CatalogError, Problem, display_path
from refdb.text import sha256

MAX_ARTICLE_BYTES = 1_000_000  # the longest value the server reads (refdb.site.plugin.limits)
REGISTER = "publishers.yaml"

Progress = Callable[[str, int, int], None]  # (stage, done, total), for a progress bar

# Suffixes that look like a catalog file but would not be read: only `.yaml` (and an
# article's `.txt`), in lower case, are.
_MISNAMED = {".yml", ".json", ".yaml", ".txt"}
_READ = (".yaml", ".txt")  # the extensions of the files it reads


@dataclass
class Article:
    entry: ArticleEntry
    text: str
    document: Document
    text_path: Path
    anchors: dict[tuple[str, int], int] = field(default_factory=dict)  # (section, index) -> start
    digests: tuple[str, str] = ("", "")  # sha256 of the header's and the text's bytes
    folded: str | None = field(default=None, repr=False, compare=False)  # text.fold(text), once


def catalog_files(root: Path, folder: str, suffix: str) -> list[Path]:
    """The entries of ``root/folder`` whose name ends in ``suffix``, sorted by name (one
    directory listing; sorting names, not paths, matters at tens of thousands of files)."""
    directory = Path(root) / folder
    return [directory / name for name in _names(directory, suffix)]


def article_header(root: Path, article_id: str) -> Path:
    """Where the header of article ``article_id`` is (its id is its file name)."""
    return root / "articles" / f"{article_id}.yaml"


def _names(directory: Path, suffix: str) -> list[str]:
    """The sorted names of the entries of ``directory`` that end in ``suffix``."""
    if not directory.is_dir():
        return []
    try:
        with os.scandir(directory) as entries:
            return sorted(entry.name for entry in entries if entry.name.endswith(suffix))
    except OSError as error:
        message = f"cannot list this folder ({error.strerror}); make it readable"
        raise CatalogError(
            [Problem(display_path(directory), 1, 1, message, "unreadable")]
        ) from None


def _well_named(name: str) -> bool:
    """A name the catalog reads as it is: printable ASCII without a space, ending in one of
    its extensions. Most names are; only the others are looked at closely."""
    return name.isascii() and name.isprintable() and " " not in name and name.endswith(_READ)


def _misnamed(path: Path) -> tuple[str, str] | None:
    """What is wrong with the name of a file the catalog does not read, if it looks like a
    catalog file; None when it is read or is not meant to be."""
    visible = "".join(c for c in path.name.strip() if unicodedata.category(c) not in ("Cf", "Zs"))
    suffix = Path(visible).suffix.lower()
    if visible != path.name and suffix in _MISNAMED:
        return (
            f"the file name holds a space or an invisible character, so the file is not read; "
            f"rename it to '{visible}'",
            "bad-file-name",
        )
    if suffix in _MISNAMED and path.suffix not in (".yaml", ".txt"):
        wanted = ".txt" if suffix == ".txt" else ".yaml"
        return f"catalog files end in {wanted} (lower case); rename it", "bad-extension"
    if suffix not in _MISNAMED and path.is_dir() and not path.is_symlink():
        return (
            "a folder here is not read: the catalog's files sit directly in "
            f"{path.parent.name}/; move them up or out of the catalog",
            "subfolder",
        )
    return None


@dataclass
class RegisterFile:
    """The validated publisher register and where each of its records is written."""

    publishers: dict[str, Publisher]
    document: Document


def _inside(root: Path, path: Path, problems: list[Problem], linked_folders: dict) -> bool:
    """A catalog file must really live in the catalog: no symlink may lead outside it.

    Whether its folder is a link is asked once per folder (``linked_folders`` remembers).
    """
    folder = os.path.dirname(path)
    if folder not in linked_folders:
        linked_folders[folder] = os.path.islink(folder)
    if not (linked_folders[folder] or os.path.islink(path)):
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


class CatalogReader:
    """Reads each catalog file once: its bytes for the version hash, then its entry.

    Entries' and the register's bytes are kept (the history stage reads them); an article's
    are not: only their hashes, so memory does not grow with the articles."""

    def __init__(self, root: Path, progress: Progress, cache: BuildCache, problems: list[Problem]):
        self.root, self.progress, self.cache, self.problems = root, progress, cache, problems
        self.files: dict[str, bytes] = {}  # relative path -> bytes, but for articles
        self.digests: dict[str, str] = {}  # relative path -> sha256, of every file read
        self.linked_folders: dict[str, bool] = {}
        # Entries whose file has problems, without what made them invalid: never built,
        # only checked across files, so one run reports every problem of a file.
        self.salvaged: list[tuple[BaseModel, Document]] = []

    def relative(self, path: Path) -> str:
        """``path`` relative to the catalog, as stored (paths are made as root / folder / name)."""
        return "/".join(path.parts[len(self.root.parts) :])

    def read(self, path: Path, limit: int = MAX_FILE_BYTES) -> bytes | None:
        if not _inside(self.root, path, self.problems, self.linked_folders):
            return None
        try:
            raw = read_bytes(path, limit=limit)
        except CatalogError as error:
            self.problems += error.problems
            return None
        relative = self.relative(path)
        self.digests[relative] = sha256(raw)
        if not relative.startswith("articles/"):
            self.files[relative] = raw
        return raw

    def load_all(self, folder: str, model: type[BaseModel]):
        entries, documents = [], {}
        paths = catalog_files(self.root, folder, ".yaml")
        prefetch(paths)  # read from disk together, not one after the other
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
        self._misnamed(folder)
        return entries, documents

    def _misnamed(self, folder: str, names: list[str] | None = None) -> None:
        """Files the catalog would not read although they look like catalog files: a wrong
        extension, a name with a space or an invisible character, a subfolder (``names``:
        the folder's, sorted, when listed already)."""
        for name in _names(self.root / folder, "") if names is None else names:
            if name.startswith(".") or _well_named(name):
                continue
            path = self.root / folder / name
            problem = _misnamed(path)
            if problem is not None:
                message, code = problem
                self.problems.append(Problem(display_path(path), 1, 1, message, code))

    def load_one(self, path: Path, model: type[BaseModel]):
        raw = self.read(path)
        if raw is None:
            return None
        relative = self.relative(path)
        digest = self.digests[relative]
        cached = self.cache.entry(relative, digest, model)
        if cached is not None:
            return cached, LazyDocument(path, raw)
        parsed = self._validated(path, raw, model)
        if parsed is None:
            return None
        entry = parsed[0]
        self.cache.entries[relative] = (digest, entry)
        # Its parsed data is not kept: the entry holds it, and a problem found later (a
        # cross-check) parses the bytes again for positions.
        return entry, LazyDocument(path, raw)

    def _validated(self, path: Path, raw: bytes, model: type[BaseModel]):
        """(entry, document) of a file's bytes, or None with its problems recorded (and, for
        an entry, what of it is sound kept in ``salvaged`` for the checks across files)."""
        try:
            document = load_plain(path, raw)
        except CatalogError as error:
            self.problems += error.problems
            return None
        entry = validate_document(document, model, self.problems)
        if entry is None and model is SystemEntry:
            partial = salvage(document, model)
            if partial is not None:
                self.salvaged.append((partial, document))
        return None if entry is None else (entry, document)

    def load_register(self) -> RegisterFile | None:
        """``publishers.yaml``, or None when it is absent or does not validate."""
        path = self.root / REGISTER
        if not path.exists():
            return None
        loaded = self.load_one(path, PublisherRegister)
        if loaded is None:
            return None
        register, document = loaded
        return RegisterFile(dict(register.root), document)

    def article_ids(self) -> list[str]:
        """Every article's id (its header's file name), sorted; a text without its header
        and a misnamed file are problems. One listing of the folder, and no path made for
        each of its hundreds of thousands of files."""
        folder = self.root / "articles"
        names = _names(folder, "")
        ids = sorted(name[: -len(".yaml")] for name in names if name.endswith(".yaml"))
        self._misnamed("articles", names)
        listed = set(ids)
        for name in names:
            stem = name.removesuffix(".txt")
            if stem != name and stem not in listed and not (folder / f"{stem}.yaml").exists():
                message = "article text without its .yaml header; add one"
                self.problems.append(
                    Problem(display_path(folder / name), 1, 1, message, "missing-header")
                )
        return ids

    def load_articles(self, headers: list[Path]) -> dict[str, Article]:
        """Every article of ``headers`` that reads and validates, by id."""
        articles = {}
        for done, path in enumerate(headers, start=1):
            self.progress("checking articles", done, len(headers))
            article = self.load_article(path)
            if article is not None:
                articles[article.entry.id] = article
        return articles

    def load_article(self, path: Path) -> Article | None:
        """One article, header and text, or None with its problems recorded. Neither its
        bytes nor its parsed header are kept: a problem found later reads the file again."""
        raw = self.read(path)
        parsed = None if raw is None else self._validated(path, raw, ArticleEntry)
        if parsed is None:
            return None
        entry, document = parsed
        if entry.id != path.stem:
            message = f"id '{entry.id}' must equal the file name '{path.stem}'"
            self.problems.append(document.problem(("id",), message, "id-mismatch"))
            return None
        text_path = path.with_suffix(".txt")
        found = len(self.problems)
        text = self._article_text(text_path)
        if text is None:
            if not text_path.exists():  # asked only then: one stat fewer an article
                del self.problems[found:]
                message = f"the article text {text_path.name} is missing beside this file"
                self.problems.append(document.problem(("id",), message, "missing-text"))
            return None
        digests = (self.digests[self.relative(path)], self.digests[self.relative(text_path)])
        return Article(entry, text, LazyDocument(path), text_path, digests=digests)

    def _article_text(self, text_path: Path) -> str | None:
        raw = self.read(text_path, limit=MAX_ARTICLE_BYTES)
        if raw is None:
            return None
        try:
            text = decode(text_path, raw)  # NFC: the text mentions are placed in
        except CatalogError as error:
            self.problems += error.problems
            return None
        if not text.strip():
            message = "the article text is empty; save the article's words in it"
            self.problems.append(Problem(display_path(text_path), 1, 1, message, "empty-text"))
            return None
        return text


def file_digests(root: Path) -> dict[str, str]:
    """Catalog-relative path -> sha256 of every file the catalog is compiled from (a file that
    cannot be read is left out: the catalog then differs from any build, which reports it)."""
    digests = {}
    if (root / REGISTER).is_file():
        digests[REGISTER] = sha256((root / REGISTER).read_bytes())
    for folder, suffix in (("systems", ".yaml"), ("articles", ".yaml"), ("articles", ".txt")):
        for path in catalog_files(root, folder, suffix):
            try:
                content = read_bytes(path, limit=MAX_ARTICLE_BYTES)
            except CatalogError:
                continue
            digests[path.relative_to(root).as_posix()] = sha256(content)
    return digests
