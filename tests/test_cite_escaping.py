"""A name with a newline, a brace or a backslash stays one field of one record in every
citation format, as independent parsers (pybtex, rispy) read them."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
import rispy
import yaml
from pybtex.database import parse_string

from refdb.cite import Publication, cite
from refdb.compiling.compiler import build
from refdb.errors import CatalogError

HOSTILE = {
    "newline": "Tu-160\\nER  - \\nTY  - JOUR\\nTI  - Forged",
    "braces": "Tu-160}, note = {forged}, x = {",
    "backslash": "Tu-160 \\\\input{/etc/passwd} \\\\def",
    "controls": "Tu-160\\u0085\\u2028\\t\\u000bend",
}
PUBLICATION = Publication(publisher="Pub}lisher\n{x", base_url="https://refdb.example.org/a b{")


@pytest.fixture(params=sorted(HOSTILE))
def hostile_db(request, mini_catalog, tmp_path):
    """A database whose entry carries a hostile name. The catalog refuses a name with a line
    break, so those are written into a built database (one made by an earlier version, or
    edited): the exports must hold whatever the database holds."""
    hostile, db_path = HOSTILE[request.param], tmp_path / "refdb.db"
    entry = mini_catalog / "systems" / "tu-160.yaml"
    entry.write_text(entry.read_text().replace("name: Tupolev Tu-160", f'name: "{hostile}"'))
    value = yaml.safe_load(f'"{hostile}"')  # the name as YAML reads it
    if any(char in value for char in "\n\u0085\u2028\u000b"):
        with pytest.raises(CatalogError):
            build(mini_catalog, db_path)
        entry.write_text(entry.read_text().replace(f'name: "{hostile}"', "name: Tupolev Tu-160"))
        build(mini_catalog, db_path)
        with closing(sqlite3.connect(db_path)) as conn, conn:
            conn.execute("update systems set name = ? where id = 'tu-160'", [value])
    else:
        build(mini_catalog, db_path)
    return db_path


@pytest.mark.parametrize("fmt", ["bibtex", "bibtex-misc"])
def test_bibtex_keeps_a_hostile_name_inside_its_field(hostile_db, fmt):
    text = cite("tu-160", hostile_db, fmt, publication=PUBLICATION)
    [entry] = parse_string(text, "bibtex").entries.values()
    expected = {
        "online": {
            "title",
            "organization",
            "booktitle",
            "date",
            "url",
            "urldate",
            "version",
            "note",
        },
        "misc": {"title", "publisher", "howpublished", "year", "note"},
    }[entry.type]
    assert {key.lower() for key in entry.fields} == expected
    assert "forged" not in " ".join(entry.fields) and "\n" not in entry.fields["title"]
    assert "\\input" not in entry.fields["title"] and "\\def" not in entry.fields["title"]


def test_ris_keeps_a_hostile_name_in_one_record(hostile_db):
    text = cite("tu-160", hostile_db, "ris", publication=PUBLICATION)
    [record] = rispy.loads(text)
    assert record["type_of_reference"] == "ELEC"
    assert record["title"].startswith("Tu-160") and "\n" not in record["title"]
    assert record["publisher"] == "Pub}lisher {x"
    assert all(line[:2].isupper() and line[2:6] == "  - " for line in text.splitlines())
