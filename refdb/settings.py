"""The publication's settings files (datasette.yaml, metadata.yaml) as the commands read them:
a file that is not valid YAML, or not a mapping, is an error naming its line and column."""

from __future__ import annotations

from pathlib import Path

import yaml


class BadSettings(ValueError):
    """A configuration file a citation reads is not what it should be; the message says where."""


def read_mapping(path: Path) -> dict:
    """A YAML file that must be a mapping, or BadSettings naming the file, line and column."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise BadSettings(f"{where}: not valid YAML ({error.problem}); fix the file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise BadSettings(f"{path}: cannot be read ({error})") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise BadSettings(f"{path}: must be a mapping of settings (key: value)")
    return document
