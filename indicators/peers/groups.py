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
themselves do no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from indicators.peers import profile as profiles

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
    """What the rules read. `context`: warehouse.peers.context, indexed by city_id. `ties`:
    warehouse.peers.shared_ties of the city asked about (peer_id, kind, via, network_id,
    period), or None when not read (the shared-links rule then cannot apply)."""

    context: pd.DataFrame
    ties: pd.DataFrame | None = None

    @cached_property
    def profile(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The raw context profile (indicators.peers.profile) and its z-scores, made once:
        `citybench compare` asks for the nearest on it twice (the card's peers, and the
        similar cities to learn from)."""
        raw = profiles.profile(self.context)
        return raw, profiles.standardise(raw)


@dataclass(frozen=True)
class PeerGroup:
    """A city's peers under one rule: `peers` has city_id, name, evidence (why this city is a
    peer, in words) and the rule's own columns (distance, population...)."""

    rule: str
    description: str
    parameters: dict
    city_id: str
    peers: pd.DataFrame
    applies: bool = True
    reason: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


class PeerRule:
    """The interface: a name, a one-line description, its parameters, and `peers`."""

    name: str = ""
    description: str = ""

    def parameters(self) -> dict:
        return {}

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        raise NotImplementedError

    def _group(self, city_id: str, peers: pd.DataFrame, data: PeerData,
               notes: Sequence[str] = ()) -> PeerGroup:
        """The group, peers ordered as found, the city itself never among them."""
        peers = peers[peers["city_id"] != city_id].reset_index(drop=True)
        peers.insert(1, "name", peers["city_id"].map(data.context["name"]))
        columns = list(PEER_COLUMNS) + [c for c in peers.columns if c not in PEER_COLUMNS]
        return PeerGroup(self.name, self.description, self.parameters(), city_id,
                         peers[columns], notes=tuple(notes))

    def _not_applicable(self, city_id: str, reason: str) -> PeerGroup:
        return PeerGroup(self.name, self.description, self.parameters(), city_id,
                         pd.DataFrame(columns=list(PEER_COLUMNS)), applies=False,
                         reason=reason)

    def _unknown(self, city_id: str, data: PeerData) -> PeerGroup | None:
        if city_id not in data.context.index:
            return self._not_applicable(city_id, f"{city_id} is not in the city registry")
        return None


def _same_value(rule: PeerRule, city_id: str, data: PeerData, column: str,
                evidence: str) -> PeerGroup:
    """The cities whose `column` equals the city's; `evidence` formatted with the value."""
    if (unknown := rule._unknown(city_id, data)) is not None:
        return unknown
    value = data.context.at[city_id, column]
    if pd.isna(value):
        return rule._not_applicable(city_id, f"{city_id} has no {column}")
    ids = data.context.index[data.context[column] == value].sort_values()
    row = data.context.loc[city_id]
    return rule._group(city_id, pd.DataFrame(
        {"city_id": ids, "evidence": evidence.format(**row.to_dict())}), data)


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


def size_population(context: pd.DataFrame) -> pd.DataFrame:
    """The population the size class uses, by city_id: the UN WUP agglomeration's (its latest
    year up to the year read) when the city has one, else GeoNames'; with `basis` saying
    which. Cities with neither are left out."""
    agglomeration = context["agglomeration_population"]
    has = agglomeration.notna()
    frame = pd.DataFrame({
        "population": agglomeration.where(has, context["population"]),
        "basis": np.where(
            has, "UN WUP agglomeration " + context["agglomeration_year"].astype(str),
            "GeoNames"),
    }, index=context.index)
    return frame[frame["population"].notna() & (frame["population"] > 0)]


def size_band(population: pd.Series, bands=SIZE_BANDS) -> pd.Series:
    """Each population's band label (the highest band whose lower bound it reaches)."""
    bounds = [lower for lower, _ in bands]
    labels = np.array([label for _, label in bands])
    return pd.Series(labels[np.searchsorted(bounds, population, side="right") - 1],
                     index=population.index)


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
        if city_id not in sized.index:
            return self._not_applicable(city_id, f"{city_id} has no population")
        sized["band"] = size_band(sized["population"], self.bands)
        band = sized.at[city_id, "band"]
        found = sized[sized["band"] == band].sort_index().rename_axis("city_id").reset_index()
        found["evidence"] = (f"size class {band}: population "
                             + found["population"].map("{:,.0f}".format)
                             + " (" + found["basis"] + ")")
        return self._group(city_id, found[["city_id", "evidence", "population", "basis",
                                           "band"]], data)


class IncomeGroup(PeerRule):
    name = "income-group"
    description = "Cities whose country is in the same World Bank income group."

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        if (unknown := self._unknown(city_id, data)) is not None:
            return unknown
        income = data.context["income_group"]
        if income.isna().all():
            return self._not_applicable(
                city_id, "no country income group in the warehouse: load the World Bank "
                         "source (worldbank) to use this rule")
        value = income.get(city_id)
        if pd.isna(value):
            return self._not_applicable(
                city_id, f"no income group for {city_id}'s country "
                         f"({data.context.at[city_id, 'country']})")
        ids = data.context.index[income == value].sort_values()
        label = INCOME_GROUPS.get(int(value), str(value))
        return self._group(city_id, pd.DataFrame(
            {"city_id": ids, "evidence": f"same country income group: {label} (World Bank)"}),
            data)


class SharedLinks(PeerRule):
    name = "shared-links"
    description = "Cities that share a city network or a twinning link with the city."

    def peers(self, city_id: str, data: PeerData) -> PeerGroup:
        if (unknown := self._unknown(city_id, data)) is not None:
            return unknown
        if data.ties is None:
            return self._not_applicable(city_id, "the city's ties were not read")
        # the index's own lookup: isin(index) of string arrays converts each of the registry's
        # ids, 0.15 s
        known = data.context.index
        ties = data.ties[np.array([peer in known for peer in data.ties["peer_id"]], dtype=bool)]
        if ties.empty:
            return self._group(city_id, pd.DataFrame(
                {"city_id": pd.Series(dtype=str), "evidence": pd.Series(dtype=str)}), data)
        ties = ties.sort_values(["peer_id", "kind", "via"])
        # a loop over the ties, not a pandas group by: a lambda per peer cost 0.15 s
        says, networks, twinned = {}, {}, {}
        for peer, kind, via in zip(ties["peer_id"], ties["kind"], ties["via"], strict=True):
            twin = kind == "twinning"
            says.setdefault(peer, []).append("twinned" if twin else f"network: {via}")
            networks.setdefault(peer, set()).update([] if twin or pd.isna(via) else [via])
            twinned[peer] = twinned.get(peer, False) or twin
        ids = sorted(says)
        found = pd.DataFrame({
            "city_id": ids, "evidence": ["; ".join(says[peer]) for peer in ids],
            "networks": [sorted(networks[peer]) for peer in ids],
            "twinned": [twinned[peer] for peer in ids]})
        return self._group(city_id, found, data)


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
        if city_id not in raw.index:
            return self._not_applicable(
                city_id, f"{city_id} is not in the profile's universe: it needs "
                         f"{' and '.join(profiles.REQUIRED)} (a UN WUP agglomeration)")
        found = profiles.nearest(city_id, raw, self.k, z)
        found["evidence"] = ("profile distance " + found["distance"].map("{:.3f}".format)
                             + ", agglomeration population "
                             + found["population"].map("{:,.0f}".format))
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
        known = [c for c in self.city_ids if c in data.context.index]
        unknown = [c for c in self.city_ids if c not in data.context.index]
        notes = [f"unknown city ids, left out: {', '.join(unknown)}"] if unknown else []
        if city_id in known:
            notes.append(f"{city_id} is the city itself, left out")
        return self._group(city_id, pd.DataFrame(
            {"city_id": pd.Series(known, dtype=str),
             "evidence": f"in the list '{self.label}'"}), data, notes)


def rules() -> list[PeerRule]:
    """One of each rule with its default parameters (the custom list empty)."""
    return [SameCountry(), SameContinent(), SizeClass(), IncomeGroup(), SharedLinks(),
            NearestProfile(), CustomList([])]
