"""Urban Audit spatial units: what a code stands for, its current form and its country.

Codes changed in the 2020s revision of the code list. In 2018 a city was `AT001C1` (`C2`, `C3`
when its boundary changed), a greater city `AT001K1`/`K2` and a larger urban zone
`AT001L1`..`L3`; now a city is `AT001C`, a greater city `AT001K`, a functional urban area
`AT001F`, and countries keep their own codes (`AT`, with EL for Greece and UK for the United
Kingdom). Old city codes map onto the current one of the same number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indicators.names import name_key

# Eurostat's country codes that are not ISO 3166-1.
COUNTRY_ISO2 = {"EL": "GR", "UK": "GB"}
CITY, GREATER_CITY, URBAN_AREA, COUNTRY, OTHER = (
    "city", "greater city", "functional urban area", "country", "other",
)

_CURRENT = re.compile(r"^(?P<country>[A-Z]{2})(?P<number>\d{3})(?P<level>[CKF])$")
_OLD = re.compile(r"^(?P<country>[A-Z]{2})(?P<number>\d{3})(?P<level>[CKL])(?P<version>\d)$")
_LEVELS = {"C": CITY, "K": GREATER_CITY, "F": URBAN_AREA, "L": URBAN_AREA}
_CURRENT_LETTER = {"C": "C", "K": "K", "F": "F", "L": "F"}  # larger urban zones became FUAs


@dataclass(frozen=True)
class SpatialUnit:
    code: str  # as published, cleaned of padding
    level: str
    current: str | None  # the current code of the unit (AT001C), None when there is none
    country: str | None  # ISO2


def clean_code(code: str) -> str:
    """The 2017 code list pads some codes with spaces and no-break spaces ('NL521C1 ')."""
    return re.sub(r"[\s\u00a0]+", "", code)


def spatial_unit(code: str) -> SpatialUnit:
    code = clean_code(code)
    if found := _CURRENT.match(code) or _OLD.match(code):
        letter = found["level"]
        current = found["country"] + found["number"] + _CURRENT_LETTER[letter]
        return SpatialUnit(code, _LEVELS[letter], current, _iso2(found["country"]))
    if re.fullmatch(r"[A-Z]{2}", code):
        return SpatialUnit(code, COUNTRY, code, _iso2(code))
    # transnational zones (CH002T1), EU aggregates: not a place of one country
    return SpatialUnit(code, OTHER, None, None)


def version(code: str) -> int:
    """The boundary version of an old code (C1 < C2 < C3); current codes count as newest."""
    found = _OLD.match(clean_code(code))
    return int(found["version"]) if found else 10


def _iso2(eurostat_country: str) -> str:
    return COUNTRY_ISO2.get(eurostat_country, eurostat_country)


# Spanish, Catalan, Portuguese, French, Italian and Dutch articles, which the code list writes
# after the name ('Rozas de Madrid, Las'), as gazetteers sort names.
_TRAILING_ARTICLE = re.compile(
    r"^(?P<name>.+?),\s*(?P<article>La|El|Las|Los|Les|Le|L'|Il|Lo|A|O|Os|As|De|Het)$"
)


def readable_name(name: str) -> str:
    """'Rozas de Madrid, Las' -> 'Las Rozas de Madrid', the name as the city writes it."""
    name = name.strip()
    found = _TRAILING_ARTICLE.match(name)
    if not found:
        return name
    article = found["article"]
    return f"{article}{'' if article.endswith(chr(39)) else ' '}{found['name']}"


def letters(text: str) -> str:
    """Only the letters of a name, folded: what survives in every spelling of it."""
    return re.sub(r"[^a-z]", "", name_key(text))


def label_pattern(label: str) -> re.Pattern[str]:
    """A pattern over `letters()` keys that a name matches when the label is that name with
    accented letters lost: the legacy Data Explorer export wrote each as U+FFFD, so only its
    ASCII parts are evidence ('M\ufffdnchen' is München)."""
    parts = [re.escape(letters(part)) for part in label.split("\ufffd")]
    return re.compile("[a-z]{1,2}".join(parts))


def is_greater_city_label(label: str) -> bool:
    """How the Data Explorer labels greater cities: 'Lisboa (greater city)', 'Greater Utrecht'."""
    return bool(re.search(r"\(greater city\)\s*$", label) or label.startswith("Greater "))
