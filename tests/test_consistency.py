"""Flags where an article and the catalog disagree: numbers after conversion, misnomers, class words."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from refdb import consistency
from refdb.compiler import build

from conftest import CATALOG


@pytest.mark.parametrize(
    "text, language, expected",
    [
        (
            "d’une portée de plus de 6 500 kilomètres (plus de 6 500 kilomètres). 4 040 milles)",
            "fr",
            [(6500.0, "km"), (6500.0, "km"), (4040.0, "mi")],
        ),
        ("a range of 6,500 km (4,040 miles)", "en", [(6500.0, "km"), (4040.0, "mi")]),
        ("une charge de 2,5 tonnes à Mach 10", "fr", [(2.5, "t"), (10.0, "mach")]),
        ("at 3,000 km/h, or 1,620 knots", "en", [(3000.0, "km/h"), (1620.0, "kn")]),
        ("en 2023, Kim a vu 12 avions", "fr", []),
    ],
)
def test_quantities_are_read_as_the_press_writes_them(text, language, expected):
    assert consistency.quantities(text, language) == expected


@pytest.mark.parametrize(
    "value, unit, other, other_unit, verdict",
    [
        (6500, "km", 4040, "mi", True),
        (6500, "km", 5500, "km", False),
        (3000, "km/h", 1620, "kn", True),
        (3000, "km/h", 2000, "kn", False),
        (12000, "km/h", 10, "mach", True),
        (12000, "km/h", 5, "mach", False),
        (2.05, "mach", 2200, "km/h", True),
        (480, "kg", 0.48, "t", True),
        (480, "kg", 4.8, "t", False),
        (6500, "km", 480, "kg", None),
    ],
)
def test_units_are_converted_before_comparing(value, unit, other, other_unit, verdict):
    assert consistency.agrees(value, unit, other, other_unit) is verdict


def test_build_flags_disagreements_and_never_fails(tmp_path):
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG, root)
    kh_bd = root / "systems" / "kh-bd.yaml"
    kh_bd.write_text(kh_bd.read_text().replace("value: 6500, unit: km", "value: 5500, unit: km"))
    ship = root / "systems" / "marshal-shaposhnikov.yaml"
    ship.write_text(ship.read_text().replace("category: frigate", "category: destroyer"))
    db_path = tmp_path / "refdb.db"
    build(root, db_path)
    flags = (
        sqlite3.connect(db_path)
        .execute("select system_id, kind, message from flags order by id")
        .fetchall()
    )
    assert (
        "kh-bd",
        "quote-number",
        "maximum range is 5,500 km in the catalog, but the quoted article says "
        "“d’une portée de plus de 6 500 kilomètres (plus de 6 500 kilomètres). 4 040 milles)”",
    ) in flags
    assert (
        "marshal-shaposhnikov",
        "misnomer",
        "the article calls it “Amiral Shaposhnikov”, a misnomer for the Marshal Shaposhnikov",
    ) in flags
    assert (
        "marshal-shaposhnikov",
        "class-word",
        "the article calls it a “frégate”, but the catalog classes it as destroyer",
    ) in flags


def test_the_real_catalog_has_only_the_misnomer_flag(built_db):
    flags = sqlite3.connect(built_db).execute("select system_id, kind from flags").fetchall()
    assert flags == [("marshal-shaposhnikov", "misnomer")]
