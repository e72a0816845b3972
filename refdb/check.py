"""Every problem one run can find: validation, then linking of the files that passed it.

``refdb check`` prints them all at once, and ``refdb report`` lists them before reporting on
the sound rest, so a curator fixes everything in one round instead of stage by stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from refdb.catalog.reader import Article
from refdb.catalog.validate import Catalog, Progress, check_catalog
from refdb.errors import Problem
from refdb.linking.articles import each_article
from refdb.linking.linker import Mention


@dataclass
class Checked:
    catalog: Catalog  # the files without problems (all of them when ``problems`` is empty)
    problems: list[Problem]
    articles: int = 0  # articles read and checked without a problem


def check(
    catalog_dir: Path | str,
    progress: Progress | None = None,
    each: Callable[[Catalog, Article, list[Mention]], None] | None = None,
) -> Checked:
    """Every problem of the catalog. As a build does, it checks the entries (and the articles
    they quote), then reads, checks and links one article at a time, so memory does not grow
    with the archive: ``each(catalog, article, mentions)`` sees every sound article as it
    comes, with the catalog of the sound entries."""
    catalog, problems = check_catalog(Path(catalog_dir), progress, streamed=True)
    sound = 0
    for article, mentions, found in each_article(catalog, progress):
        problems += found
        if article is not None:
            sound += 1
            if each is not None:
                each(catalog, article, mentions)
    return Checked(catalog, sorted(set(problems)), sound)
