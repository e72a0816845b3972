"""Pydantic's validation errors as problems for people: positioned, with 'did you mean'."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from refdb.catalog.loader import Document
from refdb.errors import Problem


def validate_document(document: Document, model: type[BaseModel], problems: list[Problem]):
    """``document`` as a ``model``, or None with its problems, positioned, added to ``problems``."""
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


# Items a file can lose and still be a consistent entry: nothing else refers to them.
_DROPPABLE_ITEMS = ("specs", "relations", "aliases")


def salvage(document: Document, model: type[BaseModel]):
    """The entry a file would be without its invalid specs, relations and aliases and its
    unknown top-level fields, or None: so the checks across files (ids, targets, names, the
    source policy) still report the rest of its problems in the same run. Never built."""
    if not isinstance(document.data, dict):
        return None
    try:
        model.model_validate(document.data)
        return None
    except ValidationError as error:
        errors = error.errors()
    data, dropped = dict(document.data), set()
    for item in errors:
        loc = _data_path(document.data, item["loc"], names_a_key=item["type"] == "extra_forbidden")
        if item["type"] == "extra_forbidden" and len(loc) == 1:
            data.pop(loc[0], None)
        elif len(loc) >= 2 and loc[0] in _DROPPABLE_ITEMS and isinstance(loc[1], int):
            dropped.add((loc[0], loc[1]))
        else:
            return None
    for field in _DROPPABLE_ITEMS:
        if isinstance(data.get(field), list):
            data[field] = [x for i, x in enumerate(data[field]) if (field, i) not in dropped]
    try:
        return model.model_validate(data)
    except ValidationError:
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
    if kind == "too_long" and "max_length" in item.get("ctx", {}):
        ctx = item["ctx"]
        message = (
            f"{ctx.get('actual_length')} items where an entry takes at most {ctx['max_length']}; "
            "keep the ones a reader needs (a name the press uses, a sourced fact)"
        )
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
