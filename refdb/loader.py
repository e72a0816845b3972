"""YAML -> plain data with a file:line:column for every value; the only place YAML is read.

The catalog is written by people, so the loader is strict where YAML is lax: it builds
values straight from the parser's events (no constructor runs, so no tag, anchor or merge
key can expand or execute anything), rejects duplicate keys, and resolves plain scalars the
YAML 1.2 way: only ``true``/``false`` are booleans and only plain decimal numbers are
numbers. ``no``, ``012``, ``1_000`` and ``2023-09`` stay the strings the curator wrote.
Text is NFC-normalised (a file saved in NFD reads the same), NUL is refused anywhere, and
only regular files are read: a FIFO, device or directory named like a catalog file is a
problem, not a hang.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from refdb.errors import CatalogError, Problem, display_path

# One parser everywhere (tests and production), so both accept exactly the same files.
_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 12
MAX_NUMBER_CHARS = 30  # int() of thousands of digits is slow, then refused by Python

_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(
    r"[-+]?(0|[1-9][0-9]*)?\.[0-9]+([eE][-+]?[0-9]+)?|[-+]?(0|[1-9][0-9]*)[eE][-+]?[0-9]+"
)
_NULL = {"null", "~", ""}

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """A loaded YAML file: its data and the position (line, column; 1-based) of every value."""

    path: Path
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    @property
    def shown_path(self) -> str:
        return display_path(self.path)

    def position(self, loc: Path_, *, key: bool = False) -> tuple[int, int]:
        """Where ``loc`` is written, or its nearest written parent when it is missing."""
        loc = tuple(loc)
        while True:
            if key and loc in self.key_positions:
                return self.key_positions[loc]
            if loc in self.positions:
                return self.positions[loc]
            if not loc:
                return (1, 1)
            loc = loc[:-1]

    def problem(self, loc: Path_, message: str, code: str, *, key: bool = False) -> Problem:
        line, column = self.position(loc, key=key)
        return Problem(self.shown_path, line, column, message, code)


class LazyDocument(Document):
    """A file that passed validation in an earlier build and has not changed since: it is
    parsed again only if a problem found elsewhere in the catalog must be placed in it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._document: Document | None = None

    def _loaded(self) -> Document:
        if self._document is None:
            self._document = load_yaml(self.path)
        return self._document

    data = property(lambda self: self._loaded().data)
    positions = property(lambda self: self._loaded().positions)
    key_positions = property(lambda self: self._loaded().key_positions)


def read_bytes(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, refusing one larger than ``limit`` without reading it all.

    Opened without blocking and checked on the open descriptor, so a FIFO or device put in
    place of a file is refused instead of waited on; any read error is a problem.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise CatalogError([_unreadable(path, error)]) from None
    kind = stat.S_IFMT(os.fstat(descriptor).st_mode)
    if kind != stat.S_IFREG:
        os.close(descriptor)
        what = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO"}.get(kind, "a device")
        message = f"this is {what}, not a file; catalog files are regular files"
        raise CatalogError([Problem(display_path(path), 1, 1, message, "not-a-file")])
    with os.fdopen(descriptor, "rb") as handle:
        try:
            raw = handle.read(limit + 1)
        except OSError as error:
            raise CatalogError([_unreadable(path, error)]) from None
    if len(raw) > limit:
        message = f"file is larger than {limit:,} bytes; split it"
        raise CatalogError([Problem(display_path(path), 1, 1, message, "file-too-large")])
    return raw


def _unreadable(path: Path, error: OSError) -> Problem:
    if error.errno == errno.ELOOP:
        message = "this symbolic link leads to itself (a loop); replace it with the file"
    elif error.errno == errno.ENOENT and os.path.islink(path):
        message = "this symbolic link leads nowhere; replace it with the file"
    else:
        message = f"cannot read this file ({error.strerror}); check its permissions"
    return Problem(display_path(path), 1, 1, message, "unreadable")


def decode(path: Path, raw: bytes) -> str:
    """UTF-8 text (a BOM is allowed, CRLF becomes LF); bad bytes are placed by line and column."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start].decode("utf-8-sig", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        message = (
            f"bytes that are not UTF-8 ({raw[error.start : error.end]!r}); save the file as UTF-8"
        )
        raise CatalogError(
            [Problem(display_path(path), line, column, message, "not-utf8")]
        ) from None
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        message = "NUL character in the text; remove it"
        raise CatalogError([Problem(display_path(path), line, column, message, "nul-character")])
    return text


def read_text(path: Path, *, limit: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 file of bounded size; errors name the line and column."""
    return decode(path, read_bytes(path, limit=limit))


def load_yaml(path: Path, raw: bytes | None = None) -> Document:
    """Load one YAML file (or its already read bytes) into a :class:`Document`."""
    path = Path(path)
    text = decode(path, raw) if raw is not None else read_text(path)
    builder = _Builder(Document(path, None))
    try:
        for event in yaml.parse(text, Loader=_PARSER):
            builder.feed(event)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message, code = f"YAML syntax error: {error.problem or error.context}", "yaml-syntax"
        if mark and text[mark.index : mark.index + 1] == "\t":
            message += "; indent with spaces, not tabs"
        if "nesting depth" in (error.problem or ""):  # libyaml's own limit, met before ours
            message, code = f"nesting deeper than {MAX_DEPTH} levels; flatten the data", "too-deep"
        raise CatalogError([Problem(display_path(path), line, column, message, code)]) from None
    except yaml.YAMLError as error:
        raise CatalogError(
            [Problem(display_path(path), 1, 1, f"YAML error: {error}", "yaml-syntax")]
        ) from None
    if builder.problems:
        raise CatalogError(builder.problems)
    if builder.documents == 0 or builder.document.data is None:
        raise CatalogError(
            [
                Problem(
                    display_path(path),
                    1,
                    1,
                    "file is empty; write a mapping of fields",
                    "empty-file",
                )
            ]
        )
    return builder.document


class _Builder:
    """Turns parser events into dicts, lists and scalars, recording positions as it goes."""

    def __init__(self, document: Document):
        self.document = document
        self.stack: list[list] = []  # frames: [container, path, pending_key]
        self.problems: list[Problem] = []
        self.documents = 0

    def fail(self, event, message: str, code: str) -> None:
        mark = event.start_mark
        self.problems.append(
            Problem(self.document.shown_path, mark.line + 1, mark.column + 1, message, code)
        )
        raise _Stop

    def feed(self, event) -> None:
        try:
            self._feed(event)
        except _Stop:
            raise CatalogError(self.problems) from None

    def _feed(self, event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self.fail(
                    event,
                    "more than one YAML document (---) in the file; keep one",
                    "multiple-documents",
                )
        elif isinstance(event, yaml.AliasEvent):
            self.fail(
                event, "YAML aliases (*name) are not allowed; write the value out", "yaml-alias"
            )
        elif isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if event.anchor is not None:
                self.fail(
                    event,
                    "YAML anchors (&name) are not allowed; write the value out",
                    "yaml-anchor",
                )
            if event.tag is not None:
                self.fail(
                    event, f"YAML tags ({event.tag}) are not allowed; remove the tag", "yaml-tag"
                )
            if isinstance(event, yaml.ScalarEvent):
                self.add(event, self.scalar(event))
            else:
                if len(self.stack) >= MAX_DEPTH:
                    self.fail(
                        event,
                        f"nesting deeper than {MAX_DEPTH} levels; flatten the data",
                        "too-deep",
                    )
                container = {} if isinstance(event, yaml.MappingStartEvent) else []
                path = self.add(event, container)
                self.stack.append([container, path, None])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.stack.pop()

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        if "\0" in event.value:
            self.fail(event, "NUL character (\\0) in the value; remove it", "nul-character")
        long_plain = not event.style and event.implicit[0] and len(event.value) > MAX_NUMBER_CHARS
        if long_plain and (_INT.fullmatch(event.value) or _FLOAT.fullmatch(event.value)):
            self.fail(
                event,
                f"a number of more than {MAX_NUMBER_CHARS} characters; write a real value",
                "number-too-long",
            )
        value = _scalar(event)
        return unicodedata.normalize("NFC", value) if isinstance(value, str) else value

    def add(self, event, value) -> Path_:
        """Place ``value`` in the open container (or as the document) and return its path."""
        position = (event.start_mark.line + 1, event.start_mark.column + 1)
        if not self.stack:
            self.document.data = value
            self.document.positions[()] = position
            return ()
        frame = self.stack[-1]
        container, parent, pending = frame
        if isinstance(container, list):
            path = (*parent, len(container))
            container.append(value)
        elif pending is None:
            self.check_key(event, value, container)
            frame[2] = value
            self.document.key_positions[(*parent, value)] = position
            return parent
        else:
            path = (*parent, pending)
            container[pending] = value
            frame[2] = None
        self.document.positions[path] = position
        return path

    def check_key(self, event, key, container: dict) -> None:
        if not isinstance(event, yaml.ScalarEvent) or not isinstance(key, str):
            self.fail(event, "mapping keys must be plain words", "bad-key")
        if key == "<<" and event.implicit[0]:
            self.fail(
                event, "YAML merge keys (<<) are not allowed; write the fields out", "yaml-merge"
            )
        if key in container:
            first = self.document.key_positions.get((*self.stack[-1][1], key), (0, 0))
            self.fail(
                event,
                f"duplicate key '{key}' (first written on line {first[0]}); keep one",
                "duplicate-key",
            )


class _Stop(Exception):
    pass


def _scalar(event: yaml.ScalarEvent) -> Any:
    """YAML 1.2 core-schema resolution of a plain scalar; quoted scalars are always strings."""
    value = event.value
    if event.style or not event.implicit[0]:
        return value
    if value in _NULL:
        return None
    if value in ("true", "false"):
        return value == "true"
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    return value
