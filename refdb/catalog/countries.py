"""Country names as a reference card shows them: one name a country, wherever it appears
(an entry's origin written by the build, an operator or a publisher's country on a page)."""

from __future__ import annotations

import pycountry

# Short names readers use where ISO's official one reads oddly in a reference card.
SHORT_COUNTRY_NAMES = {
    "SU": "Soviet Union",
    "RU": "Russia",
    "KP": "North Korea",
    "KR": "South Korea",
    "IR": "Iran",
    "SY": "Syria",
    "US": "United States",
    "GB": "United Kingdom",
}


def country_name(code: str) -> str:
    """'RU' -> 'Russia', 'IN' -> 'India'; a code ISO does not know is shown as it is."""
    if code in SHORT_COUNTRY_NAMES:
        return SHORT_COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code) or pycountry.historic_countries.get(
        alpha_2=code
    )
    return (getattr(country, "common_name", None) or country.name) if country else code
