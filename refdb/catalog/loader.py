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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from refdb.errors import CatalogError, Problem, display_path

# One parser everywhere (tests and production), so both accept exactly the same files:
# libyaml's, without a constructor (values are built from its events here).
try:
    from yaml.cyaml import CParser as _PARSER
except ImportError:  # PyYAML built without libyaml
    _PARSER = yaml.SafeLoader

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
    """A document parsed again only if a problem must be placed in it: a file that passed
    validation in an earlier build and has not changed since (``data`` unknown), or one
    loaded by :func:`load_plain` (``data`` known, positions not recorded)."""

    def __init__(self, path: Path, raw: bytes | None = None, data: Any = None):
        self.path = path if isinstance(path, Path) else Path(path)  # Path() parses again
        self._raw, self._data = raw, data
        self._document: Document | None = None

    def _loaded(self) -> Document:
        if self._document is None:
            self._document = load_yaml(self.path, self._raw)
        return self._document

    data = property(lambda self: self._loaded().data if self._data is None else self._data)
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
    try:
        raw = read_at_most(descriptor, limit)
    except OSError as error:
        raise CatalogError([_unreadable(path, error)]) from None
    finally:
        os.close(descriptor)
    if len(raw) > limit:
        message = f"file is larger than {limit:,} bytes; split it"
        raise CatalogError([Problem(display_path(path), 1, 1, message, "file-too-large")])
    return raw


def prefetch(paths: Iterable[Path | str]) -> None:
    """Ask the system to start reading ``paths`` now, all together, and return at once: read
    one by one afterwards, they wait for the disk once, not each in turn. A catalog read
    from disk (a fresh clone, a restarted machine) was built in three quarters of the time.
    Best effort: a path that cannot be opened, or a system without the call, is left alone
    (reading it later reports what is wrong)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    for path in paths:
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError:
            continue
        try:
            advise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:  # a FIFO, a device
            pass
        finally:
            os.close(descriptor)


_BLOCK = 1 << 16


def read_at_most(descriptor: int, limit: int) -> bytes:
    """An open file's bytes (``limit + 1`` at most, so a larger file shows), a block at a
    time: asking for the whole allowance at once makes a buffer that large for every file,
    a megabyte per article, which cost four times the reading itself."""
    parts, size = [], 0
    while size <= limit:
        part = os.read(descriptor, min(_BLOCK, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


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
        builder.run(_PARSER(text))
    except _Stop:
        raise CatalogError(builder.problems) from None
    except yaml.MarkedYAMLError as error:
        raise CatalogError([_syntax_problem(path, text, error)]) from None
    except yaml.YAMLError as error:
        raise CatalogError(
            [Problem(display_path(path), 1, 1, f"YAML error: {error}", "yaml-syntax")]
        ) from None
    if builder.documents == 0 or builder.document.data is None:
        message = "file is empty; write a mapping of fields"
        raise CatalogError([Problem(display_path(path), 1, 1, message, "empty-file")])
    return builder.document


def load_plain(path: Path, raw: bytes) -> Document:
    """The same data as :func:`load_yaml` (and the same problems, raised by it), with
    positions found only when a problem must be placed: most files have none, and
    recording a position for every value costs more than a third of the loading."""
    builder = _Builder(Document(path, None))
    try:
        builder.run_plain(_PARSER(decode(path, raw)))
    except (_Stop, yaml.YAMLError):
        return load_yaml(path, raw)
    if builder.documents == 0 or builder.document.data is None:
        return load_yaml(path, raw)
    return LazyDocument(path, raw, builder.document.data)


def _syntax_problem(path: Path, text: str, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message, code = f"YAML syntax error: {error.problem or error.context}", "yaml-syntax"
    if mark and text[mark.index : mark.index + 1] == "\t":
        message += "; indent with spaces, not tabs"
    if "nesting depth" in (error.problem or ""):  # libyaml's own limit, met before ours
        message, code = f"nesting deeper than {MAX_DEPTH} levels; flatten the data", "too-deep"
    return Problem(display_path(path), line, column, message, code)


_Scalar, _Alias = yaml.ScalarEvent, yaml.AliasEvent
_Opening = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_Closing = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class _Builder:
    """Turns parser events into dicts, lists and scalars, recording positions as it goes.

    One loop pulls the events and dispatches on their exact type: it runs for every value
    of every catalog file, so it stays flat rather than a call per event.
    """

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

    def run(self, parser) -> None:
        """Build the document from ``parser``'s events; raise _Stop at the first problem."""
        get_event, stack = parser.get_event, self.stack
        positions, key_positions = self.document.positions, self.document.key_positions
        while True:
            event = get_event()
            kind = type(event)
            if kind is _Scalar or kind in _Opening:
                if event.anchor is not None or event.tag is not None:
                    self.refuse_marked(event)
                if kind is _Scalar:
                    value = self.scalar(event)
                elif len(stack) >= MAX_DEPTH:
                    message = f"nesting deeper than {MAX_DEPTH} levels; flatten the data"
                    self.fail(event, message, "too-deep")
                else:
                    value = {} if kind is yaml.MappingStartEvent else []
                mark = event.start_mark
                position = (mark.line + 1, mark.column + 1)
                if not stack:
                    self.document.data, path = value, ()
                    positions[path] = position
                else:
                    frame = stack[-1]
                    container, parent, pending = frame
                    if type(container) is list:
                        path = (*parent, len(container))
                        container.append(value)
                        positions[path] = position
                    elif pending is None:
                        self.check_key(event, value, container)
                        frame[2], path = value, parent
                        key_positions[(*parent, value)] = position
                    else:
                        path = (*parent, pending)
                        container[pending], frame[2] = value, None
                        positions[path] = position
                if kind is not _Scalar:
                    stack.append([value, path, None])
            elif kind in _Closing:
                stack.pop()
            elif kind is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    message = "more than one YAML document (---) in the file; keep one"
                    self.fail(event, message, "multiple-documents")
            elif kind is _Alias:
                message = "YAML aliases (*name) are not allowed; write the value out"
                self.fail(event, message, "yaml-alias")
            elif kind is yaml.StreamEndEvent:
                return

    def run_plain(self, parser) -> None:
        """:meth:`run` without positions: any problem raises _Stop unplaced, for the caller
        to place it by running :meth:`run`. The checks are the same, in the same order."""
        get_event, stack = parser.get_event, self.stack  # frames: [container, pending_key]
        while True:
            event = get_event()
            kind = type(event)
            if kind is _Scalar or kind in _Opening:
                if event.anchor is not None or event.tag is not None:
                    raise _Stop
                if kind is _Scalar:
                    value = self.scalar(event)
                elif len(stack) >= MAX_DEPTH:
                    raise _Stop
                else:
                    value = {} if kind is yaml.MappingStartEvent else []
                if not stack:
                    self.document.data = value
                else:
                    frame = stack[-1]
                    container, pending = frame
                    if type(container) is list:
                        container.append(value)
                    elif pending is None:
                        if kind is not _Scalar or type(value) is not str or value in container:
                            raise _Stop  # a bad or duplicate key
                        if value == "<<" and event.implicit[0]:
                            raise _Stop
                        frame[1] = value
                    else:
                        container[pending], frame[1] = value, None
                if kind is not _Scalar:
                    stack.append([value, None])
            elif kind in _Closing:
                stack.pop()
            elif kind is yaml.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise _Stop
            elif kind is _Alias:
                raise _Stop
            elif kind is yaml.StreamEndEvent:
                return

    def refuse_marked(self, event) -> None:
        """An anchor or a tag: both could make a value other than the one written."""
        if event.anchor is not None:
            message = "YAML anchors (&name) are not allowed; write the value out"
            self.fail(event, message, "yaml-anchor")
        self.fail(event, f"YAML tags ({event.tag}) are not allowed; remove the tag", "yaml-tag")

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        value = event.value
        if "\0" in value:
            self.fail(event, "NUL character (\\0) in the value; remove it", "nul-character")
        if event.style or not event.implicit[0]:  # quoted: always a string
            return unicodedata.normalize("NFC", value)
        if value in _NULL:
            return None
        if value in ("true", "false"):
            return value == "true"
        number = _number_type(value)
        if number is not None:
            if len(value) > MAX_NUMBER_CHARS:  # int() of thousands of digits is slow
                message = f"a number of more than {MAX_NUMBER_CHARS} characters; write a real value"
                self.fail(event, message, "number-too-long")
            return number(value)
        return unicodedata.normalize("NFC", value)

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


_NUMBER_START = frozenset("+-.0123456789")


def _number_type(value: str) -> type | None:
    """int or float for a plain scalar that is a YAML 1.2 decimal number; None for text."""
    if value[0] not in _NUMBER_START:
        return None
    if _INT.fullmatch(value):
        return int
    return float if _FLOAT.fullmatch(value) else None
