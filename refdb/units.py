"""Units of spec values, checked and converted with pint.

Curators write the unit the source uses; the build stores that value as written plus a
value normalised to the property's canonical unit, so specs compare across systems. Mach is
a ratio to the local speed of sound, not a fixed speed, so it is kept and never converted.
"""

from __future__ import annotations

from functools import lru_cache

import pint

# The units a curator may write, in the spelling shown to readers.
LENGTHS, SPEEDS, MASSES, FORCES = (
    ("km", "m", "mi", "nmi", "ft"),
    ("km/h", "kn", "m/s", "mach"),
    ("kg", "t", "lb"),
    ("kN", "kgf", "lbf"),
)
UNITS = LENGTHS + SPEEDS + MASSES + FORCES
NOT_CONVERTIBLE = {"mach"}


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    return pint.UnitRegistry()


@lru_cache(maxsize=256)
def check_unit(unit: str, canonical: str) -> None:
    """Raise ValueError unless ``unit`` is known and measures what ``canonical`` measures."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit '{unit}'; use one of: {', '.join(UNITS)}")
    if unit in NOT_CONVERTIBLE:
        if canonical != "km/h":
            raise ValueError(f"'{unit}' is a speed; it cannot measure this property")
        return
    ureg = registry()
    if ureg.Unit(unit).dimensionality != ureg.Unit(canonical).dimensionality:
        raise ValueError(
            f"'{unit}' measures {ureg.Unit(unit).dimensionality}, this property needs a unit like '{canonical}'"
        )


def convert(value: float, unit: str, canonical: str) -> float | None:
    """``value`` in ``unit`` expressed in ``canonical``, or None when it cannot be (Mach)."""
    check_unit(unit, canonical)
    if unit in NOT_CONVERTIBLE:
        return None
    if unit == canonical:
        return float(value)
    return value * _factor(unit, canonical)


@lru_cache(maxsize=256)
def _factor(unit: str, canonical: str) -> float:
    """How many ``canonical`` make one ``unit`` (the units here are all proportional)."""
    return float(registry().Quantity(1, unit).to(canonical).magnitude)


# What a reader also wants to see beside a value, and the ISA speed of sound above 11 km
# (295.07 m/s) for showing Mach figures, which sources give for high altitude, in km/h.
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
MACH_AT_ALTITUDE_KMH = 1062.2


def number(value: float) -> str:
    """1234.5 -> '1,234.5'; whole numbers without decimals."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def also_in(value: float, unit: str) -> list[str]:
    """The same quantity in the units readers of other traditions use ('7,643 mi')."""
    if unit == "mach":
        return [
            f"≈ {number(round(value * MACH_AT_ALTITUDE_KMH, -1))} km/h at altitude (ISA, above 11 km)"
        ]
    shown = []
    for other in ALSO_SHOWN.get(unit, ()):
        converted = registry().Quantity(value, unit).to(other).magnitude
        shown.append(f"{number(round(converted, 1 if converted < 100 else 0))} {other}")
    return shown
