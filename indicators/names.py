"""City names as people type them: the one folding rule every comparison of names uses
(`name_key`), and the reading of a user's reference to a city ("Valencia", "Valencia, ES",
"Valencia, Spain", "gn:2509954") into one city or the candidates it could be.

A reference is resolved only when it names one city: the name equals exactly one city's own
name, else exactly one city's alternate name, else exactly one district folded into a city
(the matching's order of evidence, flows.matching). Otherwise it is ambiguous and every
candidate is listed; citybench never picks the most populous namesake for the user.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

# Letters NFKD does not decompose into a base letter and a mark. warehouse.lookup folds the
# same letters in SQL (tests/test_city_lookup.py checks the two agree).
LETTERS = {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe",
           "\u0131": "i", "ħ": "h", "ŧ": "t", "ŋ": "n"}
_LETTERS = str.maketrans(LETTERS)
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort", "pt": "port"}
# one pass for every abbreviation: a third less time than a pass each, over 360,000 names
_ABBREVIATED = re.compile(r"\b(" + "|".join(_ABBREVIATIONS) + r")\b")
APOSTROPHES = "'\u2019`\u02bb\u02bc"
_APOSTROPHES = re.compile(f"[{APOSTROPHES}]")
_NON_WORD = re.compile(r"[^\w]+")
CITY_ID = re.compile(r"gn:[0-9]+")  # whole text: use fullmatch


# Folding is the costly part of matching (~10 us a name); every source of a refresh folds the
# same registry's 400,000 names, so each distinct spelling is folded once per process.
@functools.lru_cache(maxsize=2**20)
def name_key(text: str) -> str:
    """'St. Pölten' and 'Sankt Polten' stay apart, 'St. Paul' and 'Saint Paul' meet."""
    folded = str(text).casefold()
    if not folded.isascii():  # ASCII has no accents to fold: most names skip this
        folded = unicodedata.normalize("NFKD", folded.translate(_LETTERS))
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _APOSTROPHES.sub("", folded)
    folded = _NON_WORD.sub(" ", folded).strip()
    return _ABBREVIATED.sub(lambda found: _ABBREVIATIONS[found.group(1)], folded)


# --- a user's reference to a city -------------------------------------------------------------

# How a candidate's name met the reference, strongest first.
TIERS = ("name", "alternate name", "district")
CANDIDATE_COLUMNS = ["city_id", "name", "country_iso2", "country", "population", "matched",
                     "tier"]


class CityNotFound(LookupError):
    """No city, or more than one, answers a reference: `candidates` (rows of CANDIDATE_COLUMNS)
    lists the cities it could be (none for an unknown name: then the nearest spellings)."""

    def __init__(self, message: str, candidates: list[dict] | None = None):
        super().__init__(message)
        self.candidates = candidates or []


@dataclass(frozen=True)
class CityQuery:
    """A reference read: the city id it gives, or the name (and its key) and the country."""

    text: str
    name: str = ""
    key: str = ""
    country: str | None = None
    city_id: str | None = None

    @property
    def token(self) -> str:
        """The longest word of the key: what a search for candidates can look for first. In
        NFC: the key's NFKD splits a Hangul syllable into its letters, which a search of
        the stored (composed) names would not find."""
        return unicodedata.normalize("NFC", max(self.key.split(), key=len))


def parse_query(text: str, countries: Mapping[str, str]) -> CityQuery:
    """'gn:ID', 'Name', 'Name, CC' or 'Name, Country' (`countries`: ISO2 -> name). A suffix
    after the last comma that names no country stays part of the name ('Washington, D.C.')."""
    text = " ".join(str(text).split())
    if CITY_ID.fullmatch(text):
        return CityQuery(text, city_id=text)
    name, country = text, None
    if "," in text:
        head, tail = (part.strip() for part in text.rsplit(",", 1))
        by_name = {name_key(full): iso2 for iso2, full in countries.items()}
        country = tail.upper() if tail.upper() in countries else by_name.get(name_key(tail))
        if country is not None:
            name = head
    key = name_key(name)
    if not key:
        raise CityNotFound(f"'{text}' names no city: give a name, 'Name, CC' or gn:ID")
    return CityQuery(text, name, key, country)


def candidates(query: CityQuery, found: list[dict]) -> list[dict]:
    """The cities whose name, alternate name or folded district's name folds to the query's
    key (in the query's country, when it gives one), each once at its strongest tier, as rows
    of CANDIDATE_COLUMNS: most likely first (tier, then population). `found`: a loose
    search's rows (warehouse.lookup): city_id, name, ascii_name, alias, method,
    country_iso2, country, population."""
    hits = []
    for row in found:
        if query.country is not None and row["country_iso2"] != query.country:
            continue
        if query.key in (name_key(row["name"]), name_key(row["ascii_name"] or "")):
            tier, matched = 0, row["name"]
        elif name_key(row["alias"] or "") == query.key:
            tier, matched = (2 if row["method"] == "district-fold" else 1), row["alias"]
        else:
            continue
        hits.append(row | {"tier": tier, "matched": matched})
    # a stable sort: among one city's rows of one tier, the search's first is kept
    hits.sort(key=lambda hit: (hit["tier"], missing(hit["population"]),
                               -(hit["population"] or 0), hit["city_id"]))
    seen = set()
    unique = [hit for hit in hits if not (hit["city_id"] in seen or seen.add(hit["city_id"]))]
    return [{column: hit[column] for column in CANDIDATE_COLUMNS} | {"tier": TIERS[hit["tier"]]}
            for hit in unique]


def missing(value) -> bool:
    """None, or NaN (a number missing from a frame's row)."""
    return value is None or value != value


def choose(query: CityQuery, found: list[dict]) -> tuple[str, list[dict]]:
    """The one city the query names, and the weaker candidates (other cities the name is an
    alternate or district name of, for a note); CityNotFound when none or several tie."""
    hits = candidates(query, found)
    where = f" in {query.country}" if query.country else ""
    if not hits:
        raise CityNotFound(f"no city named '{query.name}'{where}", hits)
    best = [hit for hit in hits if hit["tier"] == hits[0]["tier"]]
    if len(best) > 1:
        tell = "gn:ID" if query.country else "'Name, CC' or gn:ID"
        raise CityNotFound(f"'{query.text}' could be {len(hits)} cities{where}: give {tell}",
                           hits)
    return str(best[0]["city_id"]), hits[1:]
