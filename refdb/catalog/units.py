"""Units of spec values, checked and converted by their exact definitions.

Curators write the unit the source uses; the build stores that value as written plus a
value normalised to the property's canonical unit, so specs compare across systems. Mach is
a ratio to the local speed of sound, not a fixed speed, so it is kept and never converted.

Every unit here is a fixed multiple of its dimension's base unit (the international yard
and pound, the standard gravity), so one table of exact definitions (``EXACT``) checks,
converts and shows them all; the tests check it against pint, which the build need not load.
"""

from __future__ import annotations

import math
from functools import lru_cache

# The units a curator may write, in the spelling shown to readers.
LENGTHS, SPEEDS, MASSES, FORCES = (
    ("km", "m", "mi", "nmi", "ft"),
    ("km/h", "kn", "m/s", "mach"),
    ("kg", "t", "lb"),
    ("kN", "kgf", "lbf"),
)
UNITS = LENGTHS + SPEEDS + MASSES + FORCES
NOT_CONVERTIBLE = {"mach"}


# What each base unit of ``EXACT`` measures, for an error that names it.
DIMENSIONS = {"m": "a length", "m/s": "a speed", "kg": "a mass", "N": "a force"}


@lru_cache(maxsize=256)
def check_unit(unit: str, canonical: str) -> None:
    """Raise ValueError unless ``unit`` is known and measures what ``canonical`` measures."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit '{unit}'; use one of: {', '.join(UNITS)}")
    if unit in NOT_CONVERTIBLE:
        if canonical != "km/h":
            raise ValueError(f"'{unit}' is a speed; it cannot measure this property")
        return
    if EXACT[unit][0] != EXACT[canonical][0]:
        raise ValueError(
            f"'{unit}' measures {DIMENSIONS[EXACT[unit][0]]}, this property needs a unit like '{canonical}'"
        )


def convert(value: float, unit: str, canonical: str) -> float | None:
    """``value`` in ``unit`` expressed in ``canonical``, or None when it cannot be (Mach)."""
    check_unit(unit, canonical)
    if unit in NOT_CONVERTIBLE:
        return None
    if unit == canonical:
        return float(value)
    return exact(value, unit, canonical)


# What a reader also wants to see beside a value.
ALSO_SHOWN = {
    "km": ("mi", "nmi"),
    "mi": ("km",),
    "nmi": ("km",),
    "m": ("ft",),
    "ft": ("m",),
    "km/h": ("kn", "mph"),
    "kn": ("km/h",),
    "m/s": ("km/h",),
    "kg": ("lb",),
    "t": ("lb",),
    "lb": ("kg",),
    "kN": ("kgf", "lbf"),
    "kgf": ("kN",),
    "lbf": ("kN",),
}
# Ships' displacement: tonnes, with the long tons navies long used beside them.
DISPLACEMENT_PROPERTIES = ("displacement_standard", "displacement_full")
# Each unit shown to readers in its dimension's base unit, by exact definition (the
# international yard and pound, the standard gravity); tests check them against pint.
# The build checks and normalises with it too.
EXACT = {
    "km": ("m", 1000.0),
    "m": ("m", 1.0),
    "mi": ("m", 1609.344),
    "nmi": ("m", 1852.0),
    "ft": ("m", 0.3048),
    "km/h": ("m/s", 1 / 3.6),
    "m/s": ("m/s", 1.0),
    "kn": ("m/s", 1852 / 3600),
    "mph": ("m/s", 1609.344 / 3600),
    "kg": ("kg", 1.0),
    "t": ("kg", 1000.0),
    "lb": ("kg", 0.45359237),
    "long_ton": ("kg", 2240 * 0.45359237),
    "kN": ("N", 1000.0),
    "kgf": ("N", 9.80665),
    "lbf": ("N", 0.45359237 * 9.80665),
}
UNIT_WORDS = {"long_ton": "long tons"}

# The one convention that puts Mach, km/h and knots on one scale: Mach 1 is the speed of
# sound of the ISA standard atmosphere above 11 km (295.07 m/s), where sources' Mach figures
# for aircraft and missiles apply. At sea level it is 1,225 km/h, 15 % more.
MACH_AT_ALTITUDE_KMH = 1062.2
MACH_CONVENTION = (
    "Mach numbers are put on the km/h scale at Mach 1 = 1,062 km/h, the speed of sound "
    "in the ISA standard atmosphere above 11,000 m, where sources give them (at sea level "
    "Mach 1 is 1,225 km/h)"
)


def number(value: float) -> str:
    """A value as it is stored, grouped: 1234.5 -> '1,234.5', 2.05 -> '2.05', 12300.0 ->
    '12,300' (no rounding: a source's 2.05 is never shown as 2)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def significant_digits(value: float) -> int:
    """The significant digits of a value as written (at least 2): 275 -> 3, 2.05 -> 3,
    12300 -> 3 (trailing zeros of a whole number are not counted), 0.8 -> 2."""
    if float(value).is_integer():
        digits = str(abs(int(value))).rstrip("0")
    else:
        digits = repr(abs(float(value))).replace(".", "").lstrip("0")
        digits = digits.split("e")[0]
    return max(2, len(digits))


def to_significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits (606,271 to 3 -> 606,000)."""
    if value == 0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def exact(value: float, unit: str, other: str) -> float:
    """``value`` in ``unit`` expressed in ``other`` (same dimension), by exact definition."""
    (base, factor), (other_base, other_factor) = EXACT[unit], EXACT[other]
    if base != other_base:
        raise ValueError(f"'{unit}' and '{other}' do not measure the same thing")
    return value * factor / other_factor


def comparable(value: float | None, unit: str | None, normalized: float | None) -> float | None:
    """A value on its property's common scale: the normalised value, or a Mach number in km/h
    by the one convention (``MACH_CONVENTION``)."""
    if normalized is not None:
        return normalized
    if unit == "mach" and value is not None:
        return round(value * MACH_AT_ALTITUDE_KMH, 2)
    return None


def also_in(value: float, unit: str, prop: str | None = None) -> list[str]:
    """The same quantity in the units readers of other traditions use ('7,643 mi')."""
    digits = significant_digits(value)
    if unit == "mach":
        kmh = to_significant(value * MACH_AT_ALTITUDE_KMH, digits)
        return [f"≈ {number(kmh)} km/h at altitude (ISA, above 11 km)"]
    others = (
        ("long_ton",)
        if prop in DISPLACEMENT_PROPERTIES and unit == "t"
        else ALSO_SHOWN.get(unit, ())
    )
    shown = []
    for other in others:  # to the precision of the value as written: 275 t is not 606,271 lb
        converted = to_significant(exact(value, unit, other), digits)
        shown.append(f"{number(converted)} {UNIT_WORDS.get(other, other)}")
    return shown
