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
_ABBREVIATIONS = [(r"\bst\b", "saint"), (r"\bste\b", "sainte"), (r"\bmt\b", "mount"),
                  (r"\bft\b", "fort"), (r"\bpt\b", "port")]


def name_key(text: str) -> str:
    """'St. Pölten' and 'Sankt Polten' stay apart, 'St. Paul' and 'Saint Paul' meet."""
    folded = unicodedata.normalize("NFKD", str(text).casefold().translate(_LETTERS))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    # apostrophes of every kind: ' \u2019 ` \u02bb \u02bc
    folded = re.sub("['\u2019`\u02bb\u02bc]", "", folded)
    folded = re.sub(r"[^\w]+", " ", folded).strip()
    for pattern, replacement in _ABBREVIATIONS:
        folded = re.sub(pattern, replacement, folded)
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


def match_cities(records: pd.DataFrame, cities: pd.DataFrame, aliases: pd.DataFrame,
                 rules: MatchRules = MatchRules()) -> pd.DataFrame:
    """One verdict per record.

    records: key, name, country (ISO2), optional latitude, longitude.
    cities:  city_id, name, country_iso2, latitude, longitude, population.
    aliases: alias, city_id (names only).
    Returns records' key with city_id, method, confidence, status ('matched', 'low confidence',
    'ambiguous', 'unmatched') and a reason.
    """
    cities = cities.set_index("city_id")
    keyed = aliases.assign(key=aliases["alias"].map(name_key))
    by_name: dict[tuple[str, str], set[str]] = {}
    country_of = cities["country_iso2"]
    for key, city_id in zip(keyed["key"], keyed["city_id"], strict=True):
        if key and city_id in country_of.index:
            by_name.setdefault((country_of[city_id], key), set()).add(city_id)

    points = unit_vectors(cities["latitude"].to_numpy(float), cities["longitude"].to_numpy(float))
    tree = cKDTree(points)
    ids = cities.index.to_numpy()
    has_coords = {"latitude", "longitude"} <= set(records.columns)

    verdicts = []
    for record in records.itertuples(index=False):
        where = None
        if has_coords and pd.notna(record.latitude) and pd.notna(record.longitude):
            where = unit_vectors(np.array([record.latitude]), np.array([record.longitude]))[0]
        verdicts.append(_judge(record, where, by_name, cities, tree, ids, rules))
    return pd.DataFrame(verdicts, columns=["key", "city_id", "method", "confidence", "status",
                                           "reason"])


def _judge(record, where, by_name, cities, tree, ids, rules):
    whole, parts = name_variants(record.name)
    country = record.country
    if where is not None and not _country_near(where, country, cities, tree, rules):
        # The point lies far from every city of its country, so the point is wrong, not the
        # name (WUP 2018 puts Cochabamba, Bolivia, at 18 degrees east): judge on the name.
        where = None
    found = _by_name(whole, record.name, "name", 0.99, country, where, by_name, cities, rules)
    if found is None:
        # Named after several cities ("Dallas-Fort Worth", "Kinki M.M.A. (Osaka)"): each part
        # is resolved like a name, and the agglomeration goes to the most populous found.
        resolved = [f for part in parts
                    if (f := _by_name(part, part, "name part", 0.93, country, where, by_name,
                                      cities, rules)) is not None]
        named = [f for f in resolved if f[0] is not None]
        if named:
            found = max(named, key=lambda f: cities.at[f[0], "population"] or 0)
        elif resolved:
            found = resolved[0]  # only ambiguous parts
    if found is not None:
        city_id, method, confidence, reason = found
        if city_id is None:
            return (record.key, None, method, 0.0, "ambiguous", reason)
        return _verdict(record.key, city_id, method, confidence, rules, reason)
    if where is not None:
        nearby = tree.query_ball_point(where, chord_for_km(rules.coordinate_radius_km))
        nearby = [i for i in nearby if cities["country_iso2"].iloc[i] == country]
        if nearby:
            best = max(nearby, key=lambda i: cities["population"].iloc[i])
            return _verdict(record.key, ids[best], "coordinates", 0.75, rules,
                            f"no name in common; most populous city within "
                            f"{rules.coordinate_radius_km:g} km")
    within = f" within {rules.name_radius_km:g} km" if where is not None else ""
    return (record.key, None, None, 0.0, "unmatched",
            f"no city called {record.name!r} in {country}{within}")


def _by_name(key, shown, level, base, country, where, by_name, cities, rules):
    """(city_id, method, confidence, reason) for one name key, (None, ...) when namesakes
    cannot be told apart, or None when no city of the country in reach has that name."""
    candidates = sorted(by_name.get((country, key), set()))
    if not candidates:
        return None
    population = cities.loc[candidates, "population"].fillna(0).to_numpy(float)
    # A city whose own name it is comes before one that only lists it among alternate names
    # (GeoNames gives Tongshan, a district, the alternate name Xuzhou).
    alternate = np.array([name_key(n) != key for n in cities.loc[candidates, "name"]])
    if where is not None:
        distance = great_circle_km(
            unit_vectors(cities.loc[candidates, "latitude"].to_numpy(float),
                         cities.loc[candidates, "longitude"].to_numpy(float)), where)
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


def _country_near(where, country, cities, tree, rules) -> bool:
    nearby = tree.query_ball_point(where, chord_for_km(rules.country_reach_km))
    return bool((cities["country_iso2"].iloc[nearby] == country).any())


def _verdict(key, city_id, method, confidence, rules, reason):
    status = "matched" if confidence >= rules.accept else "low confidence"
    return (key, city_id, method, round(confidence, 2), status, reason)
