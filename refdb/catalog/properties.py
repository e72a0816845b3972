"""The spec properties a catalog entry may give, as data: each one's label, what it measures,
the unit values are normalised to and a sane bound. The schema checks specs against it; the
site labels them with it, without loading the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Property:
    """A spec property: what it measures, the unit values are normalised to, and a sane bound."""

    label: str
    kind: Literal["quantity", "count", "date", "text"]
    canonical_unit: str | None = None
    maximum: float | None = None


PROPERTIES: dict[str, Property] = {
    "max_range": Property("maximum range", "quantity", "km", 50_000),
    "combat_radius": Property("combat radius", "quantity", "km", 20_000),
    "ferry_range": Property("ferry range", "quantity", "km", 50_000),
    "service_ceiling": Property("service ceiling", "quantity", "m", 100_000),
    "length": Property("length", "quantity", "m", 500),
    "wingspan": Property("wingspan", "quantity", "m", 200),
    "height": Property("height", "quantity", "m", 100),
    "beam": Property("beam", "quantity", "m", 100),
    "draught": Property("draught", "quantity", "m", 50),
    "max_speed": Property("maximum speed", "quantity", "km/h", 30_000),
    "cruise_speed": Property("cruise speed", "quantity", "km/h", 30_000),
    "max_takeoff_weight": Property("maximum take-off weight", "quantity", "kg", 1_000_000),
    "empty_weight": Property("empty weight", "quantity", "kg", 1_000_000),
    "max_payload": Property("maximum payload", "quantity", "kg", 500_000),
    "launch_weight": Property("launch weight", "quantity", "kg", 500_000),
    "warhead_mass": Property("warhead mass", "quantity", "kg", 50_000),
    "displacement_standard": Property("standard displacement", "quantity", "t", 200_000),
    "displacement_full": Property("full-load displacement", "quantity", "t", 200_000),
    "crew": Property("crew", "count", maximum=10_000),
    "number_built": Property("number built", "count", maximum=100_000),
    "first_flight": Property("first flight", "date"),
    "service_entry": Property("entry into service", "date"),
    "laid_down": Property("laid down", "date"),
    "launched": Property("launched", "date"),
    "commissioned": Property("commissioned", "date"),
    "first_combat_use": Property("first combat use", "date"),
    "recommissioned": Property("recommissioned", "date"),
    "thrust": Property("thrust", "quantity", "kN", 50_000),
    # Reference data that is words, not numbers: shown and exported, never charted or compared.
    "engines": Property("engines", "text"),
    "propulsion": Property("propulsion", "text"),
    "armament": Property("armament", "text"),
    "guidance": Property("guidance", "text"),
    "warhead": Property("warhead", "text"),
}
