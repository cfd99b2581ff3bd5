"""Resolve a source's city names (and coordinates, when it has them) to canonical city ids.

Pure functions over frames: the registry (cities and their name aliases) comes in, a verdict per
record comes out. No guessing: a record either matches with a stated method and confidence, or
is reported as unmatched or ambiguous with the reason.

Evidence, strongest first:
  1. a name of the record equals a name or alternate name of a city in the same country
     (after folding accents, case, punctuation, "St." / "Saint", and splitting "A-B" or
     "A (B)" into its parts), disambiguated by distance when the record has coordinates and by
     population otherwise;
  2. with coordinates but no name in common: the most populous city within a few kilometres.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from indicators.geo import chord_for_km, great_circle_km, unit_vectors

# Letters NFKD does not decompose into a base letter and a mark.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae",
                          "œ": "oe", "\u0131": "i", "ħ": "h", "ŧ": "t", "ŋ": "n"})
_ABBREVIATIONS = [(re.compile(pattern), replacement) for pattern, replacement in (
    (r"\bst\b", "saint"), (r"\bste\b", "sainte"), (r"\bmt\b", "mount"), (r"\bft\b", "fort"),
    (r"\bpt\b", "port"))]
_APOSTROPHES = re.compile("['\u2019`\u02bb\u02bc]")
_NON_WORD = re.compile(r"[^\w]+")


# Folding is the costly part of matching (~10 us a name); every source of a refresh folds the
# same registry's 400,000 names, so each distinct spelling is folded once per process.
@functools.lru_cache(maxsize=2**20)
def name_key(text: str) -> str:
    """'St. Pölten' and 'Sankt Polten' stay apart, 'St. Paul' and 'Saint Paul' meet."""
    folded = str(text).casefold()
    if not folded.isascii():  # ASCII has no accents to fold: most names skip this
        folded = unicodedata.normalize("NFKD", folded.translate(_LETTERS))
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    # apostrophes of every kind: ' \u2019 ` \u02bb \u02bc
    folded = _APOSTROPHES.sub("", folded)
    folded = _NON_WORD.sub(" ", folded).strip()
    for pattern, replacement in _ABBREVIATIONS:
        folded = pattern.sub(replacement, folded)
    return folded


# Words that say what kind of area a name stands for, not which city: "Grande Vitória",
# "Kitakyushu-Fukuoka M.M.A.", "Greater Manchester".
_GENERIC = re.compile(r"^(greater|grande|gran|grand)\s+|\s+(m m a|metropolitan area|metro area|"
                      r"urban area|urban agglomeration|agglomeration)$")


def name_variants(text: str) -> tuple[str, list[str]]:
    """The whole name's key, and the keys of its parts ('Minneapolis-St. Paul',
    'Al-Qahirah (Cairo)', 'Bruxelles / Brussel')."""
    whole = name_key(text)
    keys = []
    for segment in re.split(r"\s*[(),/;]\s*|\s+-\s+", str(text)):
        keys.append(name_key(segment))
        # A hyphen may join two cities ('New York-Newark') or belong to one name
        # ('Aix-en-Provence', 'Al-Qahirah'), or both ('Marseille-Aix-en-Provence'): offer every
        # cut, left sides first, so the first-named city is tried first. Only names that
        # exist in the registry will match.
        pieces = segment.split("-")
        cuts = range(1, len(pieces))
        keys.extend(name_key("-".join(pieces[:cut])) for cut in cuts)
        keys.extend(name_key("-".join(pieces[cut:])) for cut in cuts)
    keys += [_GENERIC.sub("", k) for k in [whole, *keys]]
    return whole, [k for k in dict.fromkeys(keys) if len(k) > 2 and k != whole]


@dataclass(frozen=True)
class MatchRules:
    name_radius_km: float = 60.0  # an agglomeration's point may lie far from its core city's
    coordinate_radius_km: float = 8.0
    country_reach_km: float = 300.0  # a point with no city of its country this near is wrong
    accept: float = 0.8  # below this a match is reported, not loaded


@dataclass(frozen=True)
class _Gazetteer:
    """The registry as arrays, and its names indexed by (country, name key)."""

    ids: np.ndarray
    country: np.ndarray
    population: np.ndarray
    points: np.ndarray
    own_key: np.ndarray  # name_key of each city's own name
    by_name: dict[tuple[str, str], np.ndarray]  # positions, in city_id order
    tree: cKDTree

    @classmethod
    def build(cls, cities: pd.DataFrame, aliases: pd.DataFrame) -> _Gazetteer:
        cities = cities.sort_values("city_id").reset_index(drop=True)
        position = pd.Series(np.arange(len(cities)), index=cities["city_id"])
        aliases = aliases[aliases["city_id"].isin(position.index)]
        # Python loops over plain object arrays: iterating Arrow-backed text columns one
        # element at a time costs more than the folding itself.
        names = aliases["alias"].to_numpy(object)
        keys = np.array([name_key(name) for name in names], dtype=object)
        country = cities["country_iso2"].to_numpy(object)
        at = aliases["city_id"].map(position).to_numpy()
        index = pd.DataFrame({"country": country[at], "key": keys, "at": at})
        index = index[index["key"] != ""].drop_duplicates()
        # One sort, then a slice per (country, key): far cheaper than a groupby of 300,000
        # small groups.
        index = index.sort_values(["country", "key", "at"])
        pairs = list(zip(index["country"].to_numpy(object), index["key"].to_numpy(object),
                         strict=True))
        at_sorted = index["at"].to_numpy()
        starts = [0] + [i for i in range(1, len(pairs)) if pairs[i] != pairs[i - 1]]
        ends = [*starts[1:], len(pairs)]
        by_name = {pairs[s]: at_sorted[s:e] for s, e in zip(starts, ends, strict=True)}
        points = unit_vectors(cities["latitude"].to_numpy(float),
                              cities["longitude"].to_numpy(float))
        return cls(
            ids=cities["city_id"].to_numpy(), country=country,
            population=cities["population"].fillna(0).to_numpy(float), points=points,
            own_key=np.array([name_key(n) for n in cities["name"].to_numpy(object)]),
            by_name=by_name, tree=cKDTree(points),
        )


def match_cities(records: pd.DataFrame, cities: pd.DataFrame, aliases: pd.DataFrame,
                 rules: MatchRules = MatchRules()) -> pd.DataFrame:
    """One verdict per record.

    records: key, name, country (ISO2), optional latitude, longitude.
    cities:  city_id, name, country_iso2, latitude, longitude, population.
    aliases: alias, city_id (names only).
    Returns records' key with city_id, method, confidence, status ('matched', 'low confidence',
    'ambiguous', 'unmatched') and a reason.
    """
    # Every piece of evidence is sought within the record's country: only those countries'
    # cities need their names folded (a user's file of a few cities, not the world's).
    cities = cities[cities["country_iso2"].isin(records["country"])]
    gazetteer = _Gazetteer.build(cities, aliases)
    has_coords = {"latitude", "longitude"} <= set(records.columns)
    verdicts = []
    for record in records.itertuples(index=False):
        where = None
        if has_coords and pd.notna(record.latitude) and pd.notna(record.longitude):
            where = unit_vectors(np.array([record.latitude]), np.array([record.longitude]))[0]
        verdicts.append(_judge(record, where, gazetteer, rules))
    return pd.DataFrame(verdicts, columns=["key", "city_id", "method", "confidence", "status",
                                           "reason"])


def _judge(record, where, gz: _Gazetteer, rules):
    whole, parts = name_variants(record.name)
    country = record.country
    if where is not None and not _country_near(where, country, gz, rules):
        # The point lies far from every city of its country, so the point is wrong, not the
        # name (WUP 2018 puts Cochabamba, Bolivia, at 18 degrees east): judge on the name.
        where = None
    found = _by_name(whole, record.name, "name", 0.99, country, where, gz, rules)
    if found is None:
        # Named after several cities ("Dallas-Fort Worth", "Kinki M.M.A. (Osaka)"): each part
        # is resolved like a name, and the agglomeration goes to the most populous found.
        resolved = [f for part in parts
                    if (f := _by_name(part, part, "name part", 0.93, country, where, gz, rules))
                    is not None]
        named = [f for f in resolved if f[0] is not None]
        if named:
            found = max(named, key=lambda f: gz.population[f[0]])
        elif resolved:
            found = resolved[0]  # only ambiguous parts
    if found is not None:
        at, method, confidence, reason = found
        if at is None:
            return (record.key, None, method, 0.0, "ambiguous", reason)
        return _verdict(record.key, gz.ids[at], method, confidence, rules, reason)
    if where is not None:
        nearby = [i for i in gz.tree.query_ball_point(where,
                                                      chord_for_km(rules.coordinate_radius_km))
                  if gz.country[i] == country]
        if nearby:
            best = max(nearby, key=lambda i: gz.population[i])
            return _verdict(record.key, gz.ids[best], "coordinates", 0.75, rules,
                            f"no name in common; most populous city within "
                            f"{rules.coordinate_radius_km:g} km")
    within = f" within {rules.name_radius_km:g} km" if where is not None else ""
    return (record.key, None, None, 0.0, "unmatched",
            f"no city called {record.name!r} in {country}{within}")


def _by_name(key, shown, level, base, country, where, gz: _Gazetteer, rules):
    """(position, method, confidence, reason) for one name key, (None, ...) when namesakes
    cannot be told apart, or None when no city of the country in reach has that name."""
    candidates = gz.by_name.get((country, key))
    if candidates is None:
        return None
    population = gz.population[candidates]
    # A city whose own name it is comes before one that only lists it among alternate names
    # (GeoNames gives Tongshan, a district, the alternate name Xuzhou).
    alternate = gz.own_key[candidates] != key
    if where is not None:
        distance = great_circle_km(gz.points[candidates], where)
        if not (distance <= rules.name_radius_km).any():
            return None
        # The nearest namesake, or one less than 10 km further that bears the name as its
        # own or is larger (Kansas City, Missouri over Kansas City, Kansas, 4 km apart).
        close = np.flatnonzero(distance <= distance.min() + 10.0)
        best = close[np.lexsort((-population[close], alternate[close]))[0]]
        confidence = base if distance[best] <= rules.name_radius_km / 2 else base - 0.05
        return (candidates[best], f"{level} + coordinates", confidence,
                f"{distance[best]:.0f} km from the city centre")
    if len(candidates) == 1:
        return candidates[0], level, base - 0.04, "unique in country"
    top = np.argsort(-population)
    if population[top[0]] >= 5 * max(population[top[1]], 1):
        return (candidates[top[0]], f"{level} + population", base - 0.1,
                f"most populous of {len(candidates)} namesakes")
    return None, level, 0.0, f"{len(candidates)} cities in {country} are called {shown!r}"


def _country_near(where, country, gz: _Gazetteer, rules) -> bool:
    nearby = gz.tree.query_ball_point(where, chord_for_km(rules.country_reach_km))
    return bool((gz.country[nearby] == country).any())


def _verdict(key, city_id, method, confidence, rules, reason):
    status = "matched" if confidence >= rules.accept else "low confidence"
    return (key, city_id, method, round(confidence, 2), status, reason)
