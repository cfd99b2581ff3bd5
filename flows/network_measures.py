"""The network measures a refresh stores: indicators.network.measures on everything the staging
warehouse holds, with the provenance of a derived source.

The measures belong to the source `citybench-networks` (publisher "citybench, computed from
..."): one dataset per measure family and input (the air measures of OpenFlights' routes, the
twinning measures of the twin-town lists, the memberships, and each service-value matrix on its
own), each naming the datasets it was computed from. The licence and attribution carry those of
the inputs (ODbL for what derives from OpenFlights, CC BY-SA for Wikipedia's lists, ...). A
family whose input the warehouse does not hold has no dataset and no values.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from indicators.network import measures as nm
from warehouse import measures as stored
from warehouse.connect import Connection

URL = "package://citybench/indicators/network/measures.py"


@dataclass(frozen=True)
class Family:
    """One dataset of the derived source: a measure family computed from some inputs."""

    dataset_id: str
    family: str
    title: str
    inputs: pd.DataFrame  # source_id, dataset_id
    observations: pd.DataFrame  # city_id, indicator_id, value, period


@dataclass(frozen=True)
class Measured:
    families: list[Family]
    source: pd.DataFrame  # the derived source's row
    datasets: pd.DataFrame
    indicators: pd.DataFrame
    observations: pd.DataFrame

    def values_by_family(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for family in self.families:
            counts[family.family] = counts.get(family.family, 0) + len(family.observations)
        return counts


def _named(inputs: pd.DataFrame, titles: pd.DataFrame) -> str:
    """'openflights: OpenFlights airline routes (openflights-routes)', one per input."""
    named = inputs.merge(titles, on=["source_id", "dataset_id"], how="left")
    return "; ".join(f"{r.source_id}: {r.title} ({r.dataset_id})" if isinstance(r.title, str)
                     else f"{r.source_id}: {r.dataset_id}" for r in named.itertuples())


def _link_family(con: Connection, kind: str, family: str, dataset_id: str, what: str,
                 compute, places: pd.DataFrame, titles: pd.DataFrame) -> Family | None:
    links = stored.links(con, kind)
    if links.empty:
        return None
    inputs = stored.link_inputs(con, kind)
    observations = compute(links[["city_a", "city_b", "weight"]], places).assign(
        period=int(links["period"].max()))
    return Family(dataset_id, family, f"{what}, computed from {_named(inputs, titles)}",
                  inputs[["source_id", "dataset_id"]], observations)


def _membership_family(con: Connection, titles: pd.DataFrame) -> Family | None:
    members = stored.memberships(con, "city-network")
    if members.empty:
        return None
    inputs = members[["source_id", "dataset_id"]].drop_duplicates()
    observations = nm.membership_measures(members).assign(period=int(members["period"].max()))
    # a network is its name, whatever source or edition lists it
    networks = members["network"].nunique()
    return Family("memberships", nm.MEMBERSHIPS,
                  f"City-network memberships ({networks:,} networks, each counted once), "
                  f"computed from {_named(inputs, titles)}", inputs, observations)


def _firm_families(con: Connection, titles: pd.DataFrame) -> list[Family]:
    cells = stored.memberships(con, "firm")
    families = []
    groups = cells.groupby(["source_id", "dataset_id", "period"], sort=True)
    periods = cells.groupby(["source_id", "dataset_id"])["period"].nunique()
    for (source_id, dataset_id, period), matrix in groups:
        inputs = pd.DataFrame({"source_id": [source_id], "dataset_id": [dataset_id]})
        cities = matrix["city_id"].nunique()
        # a matrix is ranked on its own: one dataset each (and each year, should one dataset
        # hold several)
        suffix = f"-{period}" if periods[(source_id, dataset_id)] > 1 else ""
        families.append(Family(
            f"firms-{source_id}-{dataset_id}{suffix}", nm.FIRMS,
            f"Interlocking connectivity among the {cities:,} cities (those resolved to the "
            f"registry) of one service-value matrix ({matrix['network_id'].nunique():,} "
            f"firms, {period}), computed from {_named(inputs, titles)}",
            inputs, nm.firm_measures(matrix).assign(period=int(period))))
    return families


def measure(con: Connection) -> Measured:
    """Every family's measures from what the warehouse holds now."""
    places = stored.places(con)
    titles = stored.datasets(con)[["source_id", "dataset_id", "title"]]
    found = [
        _link_family(con, "air-route", nm.AIR, "air", "Air-route measures (OpenFlights' last "
                     "snapshot, about 2014)", nm.air_measures, places, titles),
        _link_family(con, "twinning", nm.TWINNING, "twinning", "Twinning measures",
                     nm.twinning_measures, places, titles),
        _membership_family(con, titles),
        *_firm_families(con, titles),
    ]
    families = [f for f in found if f is not None]
    inputs = (pd.concat([f.inputs for f in families]) if families
              else pd.DataFrame(columns=["source_id", "dataset_id"]))
    origins = stored.sources(con, sorted(inputs["source_id"].unique()))
    urls = stored.datasets(con).set_index(["source_id", "dataset_id"])["url"]
    datasets = pd.DataFrame({
        "source_id": stored.SOURCE_ID,
        "dataset_id": [f.dataset_id for f in families],
        "title": [f.title for f in families],
        # where the first input came from: the derived data is that data, measured
        "url": [urls.get(tuple(f.inputs.iloc[0]), URL) for f in families],
        "last_update": None,
    })
    observations = pd.concat(
        [f.observations.assign(dataset_id=f.dataset_id) for f in families]
        or [pd.DataFrame(columns=["city_id", "indicator_id", "value", "period", "dataset_id"])],
        ignore_index=True,
    ).assign(source_id=stored.SOURCE_ID, flag=None)
    used = set(observations["indicator_id"])
    indicators = nm.INDICATORS[nm.INDICATORS["indicator_id"].isin(used)].assign(
        source_id=stored.SOURCE_ID)
    return Measured(families, _source_row(origins), datasets, indicators, observations)


def _source_row(origins: pd.DataFrame) -> pd.DataFrame:
    publishers = ", ".join(origins["publisher"]) or "no input held"
    return pd.DataFrame([{
        "source_id": stored.SOURCE_ID,
        "publisher": f"citybench, computed from {publishers}",
        "dataset": "Network measures of cities (air, twinning, city networks, firms)",
        "url": URL,
        # the measures are derived works of their inputs: each input's terms hold for them
        "licence": "; ".join(f"{r.licence} (what derives from {r.source_id})"
                             for r in origins.itertuples()) or "none: no input held",
        "attribution": "Network measures computed by citybench from: "
        + (" | ".join(origins["attribution"]) or "no input"),
        "dataset_version": None,
        "snapshot": None,  # computed here, never read from the starter snapshot
        "cadence_days": None,  # recomputed by every refresh from what it holds
    }])
