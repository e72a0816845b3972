"""The source policy: every fact of the catalog is citable by a journalist.

A source names its original publisher (by ``publisher`` id or by the domain of its ``url``)
from the register ``catalog/publishers.yaml``, which says how far the catalog trusts it.
"""

from __future__ import annotations

import difflib

from refdb.errors import Problem
from refdb.loader import Document
from refdb.schema import Publisher


def check_register(publishers: dict[str, Publisher], document: Document) -> list[Problem]:
    """A domain belongs to one publisher; ``copy_of`` names a publisher of the register."""
    problems, owners = [], {}
    for publisher_id, publisher in publishers.items():
        for index, domain in enumerate(publisher.domains):
            if domain in owners:
                problems.append(
                    document.problem(
                        (publisher_id, "domains", index),
                        f"domain '{domain}' already belongs to '{owners[domain]}'; "
                        "a domain belongs to one publisher only",
                        "duplicate-domain",
                    )
                )
            else:
                owners[domain] = publisher_id
        if publisher.copy_of is not None and publisher.copy_of not in publishers:
            problems.append(
                document.problem(
                    (publisher_id, "copy_of"),
                    f"copy_of '{publisher.copy_of}' is not in the register"
                    + did_you_mean(publisher.copy_of, publishers),
                    "unknown-publisher",
                )
            )
    return problems


def did_you_mean(word: str, known) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
