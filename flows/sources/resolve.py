"""City resolution the relational sources share, built on flows.matching.match_cities.

Service-value matrices often name cities alone ("NEW YORK"): match_anywhere seeks a record
without a country among every candidate country's cities at once, with the rules match_cities
applies within a country, and marks the country as inferred.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from flows.matching import MatchRules, match_cities, name_variants
from flows.sources.base import Registry
from indicators.names import name_key

COUNTRY_INFERRED_PENALTY = 0.05


def unresolved(key, name, status, reason) -> pd.DataFrame:
    """Records not tied to a city (Conformed.unresolved): each with its key and name, the
    verdict's status and the reason, for the load to report."""
    return pd.DataFrame({"key": key, "name": name, "status": status, "reason": reason})


def city_aliases(scheme: str, codes, tied: pd.DataFrame, source_id: str) -> pd.DataFrame:
    """The crosswalk (city_alias rows of `scheme`) of a source's codes to the cities they were
    tied to: `tied`, aligned with `codes`, gives each one's city_id, method and confidence."""
    return pd.DataFrame({"scheme": scheme, "alias": codes, "city_id": tied["city_id"],
                         "method": tied["method"], "confidence": tied["confidence"],
                         "source_id": source_id})


def country_codes(countries: pd.DataFrame, extra: dict[str, str] | None = None) -> dict[str, str]:
    """ISO2 by ISO2, ISO3 and English name, all case-folded: the ways sources write countries."""
    lookup = {str(name).casefold(): iso2 for name, iso2 in zip(countries["name"],
                                                                countries["iso2"], strict=True)}
    lookup.update({str(iso3).casefold(): iso2 for iso3, iso2 in zip(countries["iso3"],
                                                                     countries["iso2"],
                                                                     strict=True)})
    lookup.update({str(iso2).casefold(): iso2 for iso2 in countries["iso2"]})
    lookup.update({name.casefold(): iso2 for name, iso2 in (extra or {}).items()})
    return lookup


def to_iso2(values: pd.Series, lookup: dict[str, str]) -> pd.Series:
    return values.map(lambda v: lookup.get(str(v).strip().casefold()) if pd.notna(v) else None)


def match_anywhere(
    records: pd.DataFrame, registry: Registry, countries: Iterable[str] | None = None,
    rules: MatchRules | None = None,
) -> pd.DataFrame:
    """Verdicts as match_cities gives them, in the order of the records; records whose country
    is missing are sought among the cities of `countries` (default: every country of the
    registry) at once, so that a city's own name outranks another's alternate name and every
    namesake counts, whatever its country."""
    rules = rules or MatchRules()
    free = records["country"].isna().to_numpy()
    # "Kingston (Jamaica)": a bracket naming a country says where to look
    named = records["name"].str.extract(r"\(([^()]+)\)\s*$")[0]
    hinted = to_iso2(named, country_codes(registry.countries)).where(free)
    records = records.assign(country=records["country"].fillna(hinted))
    verdicts = match_cities(records, registry.cities, registry.aliases, rules,
                            anywhere=None if countries is None else sorted(countries))
    inferred = free & verdicts["city_id"].notna().to_numpy()
    verdicts.loc[inferred] = _inferred(verdicts[inferred], rules)
    return verdicts


def _inferred(verdicts: pd.DataFrame, rules: MatchRules) -> pd.DataFrame:
    """Choosing the country is one inference more than a match within a stated country."""
    confidence = (verdicts["confidence"] - COUNTRY_INFERRED_PENALTY).round(2)
    return verdicts.assign(
        method=verdicts["method"] + ", country inferred",
        confidence=confidence,
        status=np.where(confidence >= rules.accept, "matched", "low confidence"),
    )


def one_record_per_city(
    verdicts: pd.DataFrame,
    prefer: list[pd.Series],
    *,
    what: str = "record",
    within: pd.Series | None = None,
    also_keep: pd.Series | None = None,
) -> pd.DataFrame:
    """Two records of one dataset resolving to one city would give it two values: keep the
    matched record that ranks first by `prefer` (values aligned with the verdicts, compared in
    order, highest first) and report each other one as a duplicate naming the record kept.

    `within` (aligned values) splits the records into groups judged apart, e.g. one export per
    year; `also_keep` marks records kept besides the first (a table that lists 'Toronto' and
    'Toronto, ON' lists one city twice, not two cities).
    """
    ranks = [f"_prefer{i}" for i in range(len(prefer))]
    ordered = verdicts.assign(
        **{rank: np.asarray(values) for rank, values in zip(ranks, prefer, strict=True)},
        _within=0 if within is None else np.asarray(within),
        _also=False if also_keep is None else np.asarray(also_keep, dtype=bool),
    ).sort_values(ranks, ascending=False, kind="stable")
    matched = ordered["status"].eq("matched") & ordered["city_id"].notna()
    slot = ["_within", "city_id"]
    kept_first = ordered[matched].drop_duplicates(slot).set_index(slot)["key"]
    holder = pd.Series(
        kept_first.reindex(pd.MultiIndex.from_frame(ordered[slot])).to_numpy(),
        index=ordered.index,
    )
    taken = matched & ordered["key"].ne(holder) & ~ordered["_also"]
    ordered.loc[taken, "reason"] = (
        f"another {what} (" + holder[taken].astype(str) + ") already resolves to "
        + ordered.loc[taken, "city_id"]
    )
    ordered.loc[taken, "status"] = "duplicate"
    return ordered.drop(columns=[*ranks, "_within", "_also"]).sort_index()


def bears_own_name(verdicts: pd.DataFrame, names: pd.Series, registry: Registry) -> pd.Series:
    """Whether each record's name (names: by record key) is the name of the city it resolves
    to: ClimActor lists Beverly Hills, which the registry counts in Los Angeles, beside
    'Los Angeles, CA', and the latter is the city's own record."""
    named = registry.cities.set_index("city_id")["name"]
    own_name = named[named.index.isin(verdicts["city_id"])].map(name_key)
    keys = verdicts["key"].map(names).map(_name_keys)
    return pd.Series(
        [own in found for own, found in zip(verdicts["city_id"].map(own_name), keys, strict=True)],
        index=verdicts.index,
    )


def named_after_folded_place(verdicts: pd.DataFrame, names: pd.Series,
                             registry: Registry) -> pd.Series:
    """Whether each matched record's name (names: by record key) is the name of a place the
    registry folded into the city it resolves to (a district or suburb: 'Montreuil', 'Paris
    13e Arrondissement' resolve to Paris) and none of the city's own names. Records matched
    on coordinates alone, or named as the city is, are not."""
    aliases = registry.aliases
    if "folded" not in aliases.columns:  # a registry that does not say which names are folded
        return pd.Series(False, index=verdicts.index)
    matched = verdicts["city_id"].dropna()
    tied = aliases[aliases["city_id"].isin(matched)]
    is_folded = tied["folded"].astype(bool).to_numpy()
    keys = list(zip(tied["city_id"], tied["alias"].map(name_key), strict=True))
    cities = registry.cities[registry.cities["city_id"].isin(matched)]
    own = {pair for pair, fold in zip(keys, is_folded, strict=True) if not fold}
    own |= set(zip(cities["city_id"], cities["name"].map(name_key), strict=True))
    folded = {pair for pair, fold in zip(keys, is_folded, strict=True) if fold}
    found = verdicts["key"].map(names).map(_name_keys)
    return pd.Series([
        pd.notna(city) and not any((city, k) in own for k in ks)
        and any((city, k) in folded for k in ks)
        for city, ks in zip(verdicts["city_id"], found, strict=True)
    ], index=verdicts.index)


def _name_keys(name: str) -> set[str]:
    whole, parts = name_variants(name)
    return {whole, *parts}
