"""Peer groups: named, documented rules that find, for a city, the cities it compares itself
with, each peer with the evidence that made it one.

Every rule has one interface (scikit-learn style: parameters at construction, data at call):

    rule = SizeClass()
    group = rule.peers("gn:2996944", data)   # a PeerGroup

`rule.name`, `rule.description` and `rule.parameters()` say what the rule is and how it was set;
the PeerGroup repeats them, so a result read on its own still says how it was found. A rule
that cannot apply (no source gives what it needs, the city lacks the value) returns an empty
group whose `applies` is False and whose `reason` says why: never everyone, never a guess.

`PeerData` holds what the rules read (warehouse.peers.context and shared_ties); the rules
themselves do no I/O. They compute on numpy columns and give plain rows (dicts), without
pandas: `citybench compare` starts without it. A caller that wants a frame makes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from indicators.names import missing
from indicators.peers import profile as profiles
from indicators.peers.profile import Columns

PEER_COLUMNS = ("city_id", "name", "evidence")

# Population size classes: (lower bound, label); a city is in the highest class whose lower
# bound its population reaches. The bands follow the usual urban-size breaks (UN WUP's own
# classes: <300 k, 300 k-1 M, 1-5 M, 5-10 M, 10 M+), with the small-city band split at 100 k.
SIZE_BANDS = (
    (0, "<100k"),
    (100_000, "100k-300k"),
    (300_000, "300k-1M"),
    (1_000_000, "1M-5M"),
    (5_000_000, "5M-10M"),
    (10_000_000, ">=10M"),
)
# The World Bank's income groups, as warehouse observations code them (country_income_group).
INCOME_GROUPS = {1: "low income", 2: "lower-middle income", 3: "upper-middle income",
                 4: "high income"}


@dataclass(frozen=True)
class PeerData:
    """What the rules read. `context`: warehouse.peers.context's columns (city_id first, one
    row per city). `ties`: warehouse.peers.shared_ties of the city asked about (rows of
    peer_id, kind, via, network_id, period), or None when not read (the shared-links rule
    then cannot apply)."""

    context: Columns
    ties: list[dict] | None = None

    @cached_property
    def at(self) -> dict[str, int]:
        """city_id -> its row in `context`."""
        return {city: row for row, city in enumerate(self.context["city_id"])}

    def value(self, city_id: str, column: str):
        return self.context[column][self.at[city_id]]

    @cached_property
    def profile(self) -> tuple[Columns, np.ndarray]:
        """The raw context profile (indicators.peers.profile) and its z-scores, made once:
        `citybench compare` asks for the nearest on it twice (the card's peers, and the
        similar cities to learn from)."""
        raw = profiles.profile(self.context)
        return raw, profiles.standardise(raw)


@dataclass(frozen=True)
class PeerGroup:
    """A city's peers under one rule: `peers`, one row (dict) per peer: city_id, name,
    evidence (why this city is a peer, in words) and the rule's own columns (distance,
    population...)."""

    rule: str
    description: str
    parameters: dict
    city_id: str
    peers: list[dict]
    applies: bool = True
    reason: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ids(self) -> list[str]:
        return [peer["city_id"] for peer in self.peers]


class PeerRule:
    """The interface: a name, a one-line description, its parameters, and `peers`."""

    name: str = ""
    description: str = ""

    def parameters(self) -> dict:
        return {}

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        raise NotImplementedError

    def _group(self, city_id: str, found: list[dict], data: PeerData,
               notes: Sequence[str] = ()) -> PeerGroup:
        """The group, peers ordered as found (rows of city_id, evidence and the rule's own
        columns), the city itself never among them."""
        peers = [{"city_id": row["city_id"], "name": data.value(row["city_id"], "name"),
                  "evidence": row["evidence"]}
                 | {key: value for key, value in row.items() if key not in PEER_COLUMNS}
                 for row in found if row["city_id"] != city_id]
        return PeerGroup(self.name, self.description, self.parameters(), city_id, peers,
                         notes=tuple(notes))

    def _not_applicable(self, city_id: str, reason: str) -> PeerGroup:
        return PeerGroup(self.name, self.description, self.parameters(), city_id, [],
                         applies=False, reason=reason)

    def _unknown(self, city_id: str, data: PeerData) -> PeerGroup | None:
        if city_id not in data.at:
            return self._not_applicable(city_id, f"{city_id} is not in the city registry")
        return None


def _ids_where(data: PeerData, matches: np.ndarray) -> np.ndarray:
    """The ids of the context's rows where `matches`, sorted."""
    return np.sort(np.asarray(data.context["city_id"], dtype=object)[matches])


def _same_value(rule: PeerRule, city_id: str, data: PeerData, column: str,
                evidence: str) -> PeerGroup:
    """The cities whose `column` equals the city's; `evidence` formatted with the value."""
    if (unknown := rule._unknown(city_id, data)) is not None:
        return unknown
    value = data.value(city_id, column)
    if missing(value):
        return rule._not_applicable(city_id, f"{city_id} has no {column}")
    said = evidence.format(**{name: data.value(city_id, name) for name in data.context})
    return rule._group(city_id, [{"city_id": peer, "evidence": said} for peer in
                                 _ids_where(data, data.context[column] == value)], data)


class SameCountry(PeerRule):
    name = "same-country"
    description = "Cities in the same country (GeoNames country code)."

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        return _same_value(self, city_id, data, "country",
                           "same country: {country_name} ({country})")


class SameContinent(PeerRule):
    name = "same-continent"
    description = "Cities on the same continent (the country's continent, GeoNames)."

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        return _same_value(self, city_id, data, "continent", "same continent: {continent}")


def size_population(context: Columns) -> Columns:
    """The population the size class uses (columns city_id, population, basis): the UN WUP
    agglomeration's (its latest year up to the year read) when the city has one, else
    GeoNames'; with `basis` saying which. Cities with neither are left out."""
    agglomeration = np.asarray(context["agglomeration_population"], dtype=float)
    has = ~np.isnan(agglomeration)
    population = np.where(has, agglomeration, np.asarray(context["population"], dtype=float))
    kept = ~np.isnan(population) & (population > 0)
    years = np.asarray(context["agglomeration_year"], dtype=float)
    basis = np.array([f"UN WUP agglomeration {year:.0f}" if aggregated else "GeoNames"
                      for aggregated, year in zip(has[kept], years[kept], strict=True)],
                     dtype=object)
    return {"city_id": np.asarray(context["city_id"], dtype=object)[kept],
            "population": population[kept], "basis": basis}


def size_band(population: np.ndarray, bands=SIZE_BANDS) -> np.ndarray:
    """Each population's band label (the highest band whose lower bound it reaches)."""
    bounds = [lower for lower, _ in bands]
    labels = np.array([label for _, label in bands], dtype=object)
    return labels[np.searchsorted(bounds, population, side="right") - 1]


class SizeClass(PeerRule):
    name = "size-class"
    description = ("Cities in the same population size class (agglomeration population "
                   "when UN WUP has one, else GeoNames').")

    def __init__(self, bands: Sequence[tuple[int, str]] = SIZE_BANDS):
        self.bands = tuple(bands)

    def parameters(self) -> dict:
        return {"bands": [label for _, label in self.bands]}

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        if (unknown := self._unknown(city_id, data)) is not None:
            return unknown
        sized = size_population(data.context)
        mine = np.flatnonzero(sized["city_id"] == city_id)
        if not len(mine):
            return self._not_applicable(city_id, f"{city_id} has no population")
        bands = size_band(sized["population"], self.bands)
        band = bands[mine[0]]
        rows = np.flatnonzero(bands == band)
        rows = rows[np.argsort(sized["city_id"][rows], kind="stable")]
        return self._group(city_id, [
            {"city_id": sized["city_id"][row],
             "evidence": f"size class {band}: population {sized['population'][row]:,.0f} "
                         f"({sized['basis'][row]})",
             "population": float(sized["population"][row]), "basis": sized["basis"][row],
             "band": band} for row in rows], data)


class IncomeGroup(PeerRule):
    name = "income-group"
    description = "Cities whose country is in the same World Bank income group."

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        if (unknown := self._unknown(city_id, data)) is not None:
            return unknown
        income = np.asarray(data.context["income_group"], dtype=float)
        if np.isnan(income).all():
            return self._not_applicable(
                city_id, "no country income group in the warehouse: load the World Bank "
                         "source (worldbank) to use this rule")
        value = income[data.at[city_id]]
        if np.isnan(value):
            return self._not_applicable(
                city_id, f"no income group for {city_id}'s country "
                         f"({data.value(city_id, 'country')})")
        said = f"same country income group: {INCOME_GROUPS.get(int(value), str(value))} " \
               "(World Bank)"
        return self._group(city_id, [{"city_id": peer, "evidence": said}
                                     for peer in _ids_where(data, income == value)], data)


class SharedLinks(PeerRule):
    name = "shared-links"
    description = "Cities that share a city network or a twinning link with the city."

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        if (unknown := self._unknown(city_id, data)) is not None:
            return unknown
        if data.ties is None:
            return self._not_applicable(city_id, "the city's ties were not read")
        ties = sorted((tie for tie in data.ties if tie["peer_id"] in data.at),
                      key=lambda tie: (tie["peer_id"], tie["kind"], missing(tie["via"]),
                                       tie["via"] or ""))
        says, networks, twinned = {}, {}, {}
        for tie in ties:
            peer, via, twin = tie["peer_id"], tie["via"], tie["kind"] == "twinning"
            says.setdefault(peer, []).append("twinned" if twin else f"network: {via}")
            networks.setdefault(peer, set()).update([] if twin or missing(via) else [via])
            twinned[peer] = twinned.get(peer, False) or twin
        return self._group(city_id, [
            {"city_id": peer, "evidence": "; ".join(says[peer]),
             "networks": sorted(networks[peer]), "twinned": twinned[peer]}
            for peer in sorted(says)], data)


class NearestProfile(PeerRule):
    name = "nearest-profile"
    description = ("The k cities nearest on the standardised context profile (size, growth, "
                   "air connectivity, twinning); see indicators.peers.profile.")

    def __init__(self, k: int = 10):
        if k < 1:
            raise ValueError(f"k = {k}: ask for at least one neighbour")
        self.k = k

    def parameters(self) -> dict:
        return {"k": self.k, "features": list(profiles.PROFILE_FEATURES),
                "required": list(profiles.REQUIRED)}

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        if (unknown := self._unknown(city_id, data)) is not None:
            return unknown
        raw, z = data.profile
        if city_id not in raw["city_id"]:
            return self._not_applicable(
                city_id, f"{city_id} is not in the profile's universe: it needs "
                         f"{' and '.join(profiles.REQUIRED)} (a UN WUP agglomeration)")
        found = [row | {"evidence": f"profile distance {row['distance']:.3f}, agglomeration "
                                    f"population {row['population']:,.0f}"}
                 for row in profiles.nearest(city_id, raw, self.k, z)]
        return self._group(city_id, found, data)


class CustomList(PeerRule):
    """A list of city ids the user gives, under a name of their choosing."""

    name = "custom"
    description = "A list of cities given by the user."

    def __init__(self, city_ids: Sequence[str], label: str = "custom list"):
        self.city_ids = tuple(dict.fromkeys(city_ids))  # once each, in the order given
        self.label = label

    def parameters(self) -> dict:
        return {"label": self.label, "city_ids": list(self.city_ids)}

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        known = [c for c in self.city_ids if c in data.at]
        unknown = [c for c in self.city_ids if c not in data.at]
        notes = [f"unknown city ids, left out: {', '.join(unknown)}"] if unknown else []
        if city_id in known:
            notes.append(f"{city_id} is the city itself, left out")
        return self._group(city_id, [{"city_id": peer, "evidence": f"in the list '{self.label}'"}
                                     for peer in known], data, notes)


def rules() -> list[PeerRule]:
    """One of each rule with its default parameters (the custom list empty)."""
    return [SameCountry(), SameContinent(), SizeClass(), IncomeGroup(), SharedLinks(),
            NearestProfile(), CustomList([])]
