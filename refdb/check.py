"""Every problem one run can find: validation, then linking of the files that passed it.

``refdb check`` prints them all at once, and ``refdb report`` lists them before reporting on
the sound rest, so a curator fixes everything in one round instead of stage by stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from refdb import linking
from refdb.errors import Problem
from refdb.linker import Mention
from refdb.validate import Catalog, Progress, check_catalog


@dataclass
class Checked:
    catalog: Catalog  # the files without problems (all of them when ``problems`` is empty)
    mentions: list[Mention]
    problems: list[Problem]


def check(catalog_dir: Path | str, progress: Progress | None = None) -> Checked:
    catalog, problems = check_catalog(Path(catalog_dir), progress)
    mentions, stale = linking.find_mentions(catalog, progress)
    return Checked(catalog, mentions, sorted(set(problems + stale)))
