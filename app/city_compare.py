"""What the "My city" page reads for its peers: the comparison `citybench compare` makes (the
same functions: app.compare_cli.compare), the spread of the peers' scores behind its bullet
chart, and the context profile the nearest-profile rule measures. Plain functions of the
warehouse file (no Streamlit): app/reads.py caches each per published version."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from app.compare_cli import Comparison, compare
from indicators.peers import groups, learn, report
from indicators.peers import profile as profiles
from warehouse import peers as stored
from warehouse.connect import reading

# The page's names of the peer rules (the CLI's names, groups.rules(), stay in the URL).
RULE_LABELS = {
    groups.NearestProfile.name: "Nearest on the context profile",
    groups.SameCountry.name: "Same country",
    groups.SameContinent.name: "Same continent",
    groups.SizeClass.name: "Same size class",
    groups.IncomeGroup.name: "Same country income group",
    groups.SharedLinks.name: "Shared city networks or twinning",
}
# The profile's features as the page words them: what each z-score is of.
FEATURE_LABELS = {
    "log_population": "Agglomeration population (log)",
    "growth": "Population growth (% a year)",
    "log_air_destinations": "Cities served by air (log)",
    "log_air_routes": "Airline routes (log)",
    "log_twin_partners": "Twin cities (log)",
}
# each feature's value as read, before the log (shown beside its z-score)
FEATURE_VALUES = {"log_population": "agglomeration_population", "growth": "growth",
                  "log_air_destinations": "air_destinations", "log_air_routes": "air_routes",
                  "log_twin_partners": "twin_partners"}
# the observations the profile is made of (warehouse.peers.context), for its credits
PROFILE_INDICATORS = ("agglomeration_population", *stored.PROFILE_INDICATORS)


@dataclass(frozen=True)
class CityPeers:
    """`comparison`: compare()'s answer, and its rows as the page's frames: `peers` (the
    group's), `nodes` (the card's, report.COLUMNS), `strengths` and `weaknesses` (node ids),
    `learn_from` (learn.COLUMNS). `spread`: per node, the peers' lowest and highest
    normalised score (the card gives the quartiles and the best). `scoring`: the frameworks
    whose current run scores the city. `parents`: each node's parent in the framework."""

    comparison: Comparison
    spread: pd.DataFrame
    scoring: list[str]
    parents: dict[str, str]
    peers: pd.DataFrame
    nodes: pd.DataFrame
    strengths: list[str]
    weaknesses: list[str]
    learn_from: pd.DataFrame


def city_peers(db: Path, city_id: str, peers: str, framework: str | None, k: int,
               lists: dict[str, list[str]]) -> CityPeers:
    """compare() of the city (by id) as the CLI makes it; raises compare_cli.CompareError."""
    with reading(db) as con:
        comparison = compare(con, city_id, peers, framework, k, lists)
        scores = pd.DataFrame(stored.run_scores(con, comparison.framework,
                                                comparison.group.ids))
        scoring = stored.frameworks_scoring(con, city_id)
        spec = stored.run_framework(con, comparison.framework) or {}
    spread = (scores.groupby("node_id")["normalised"].agg(peer_min="min", peer_max="max")
              .reset_index())
    parents = {node["id"]: node.get("parent")
               for node in [*spec.get("aggregate", []), *spec.get("indicator", [])]}
    card = comparison.card
    return CityPeers(
        comparison, spread, scoring, parents,
        peers=pd.DataFrame(comparison.group.peers,
                           columns=list(dict.fromkeys(
                               [*groups.PEER_COLUMNS,
                                *(key for row in comparison.group.peers for key in row)]))),
        nodes=report.nodes_frame(card.nodes),
        strengths=[row["node_id"] for row in card.strengths],
        weaknesses=[row["node_id"] for row in card.weaknesses],
        learn_from=pd.DataFrame(comparison.learn_from, columns=list(learn.COLUMNS)))


def context_profile(db: Path) -> pd.DataFrame:
    """Every city of the registry, indexed by city_id: name, country, country_name, the
    context the peer rules read (warehouse.peers.context: agglomeration_population,
    air_destinations, air_routes, twin_partners...), and for the cities of the profile's
    universe (`in_profile`) the raw profile (indicators.peers.profile) and each feature's
    z-score (z_<feature>), standardised over the universe as the nearest-profile rule does."""
    with reading(db) as con:
        context = stored.context(con, datetime.date.today().year, profiles.GROWTH_YEARS)
    raw = profiles.profile(context)
    features = list(profiles.PROFILE_FEATURES)
    frame = pd.DataFrame(context).set_index("city_id")
    frame["agglomeration_year"] = frame["agglomeration_year"].astype("Int64")
    index = pd.Index(raw["city_id"], name="city_id")
    frame = frame.join(pd.DataFrame({name: raw[name] for name in features}, index=index))
    frame = frame.join(pd.DataFrame(profiles.standardise(raw), index=index,
                                    columns=[f"z_{name}" for name in features]))
    frame["in_profile"] = frame.index.isin(index)
    return frame


def framework_order(card: pd.DataFrame, parents: dict[str, str]) -> pd.DataFrame:
    """The card's rows as the framework nests them: the index, then each dimension followed
    by its indicators (the card's own order within each)."""
    kind = dict(zip(card["node_id"], card["node_kind"], strict=True))
    dimensions = [n for n in card["node_id"] if kind[n] == "dimension"]
    order = [n for n in card["node_id"] if kind[n] == "index"]
    for dimension in dimensions:
        order += [dimension, *(n for n in card["node_id"]
                               if kind[n] == "indicator" and parents.get(n) == dimension)]
    order += [n for n in card["node_id"] if n not in order]
    return card.set_index("node_id").loc[order].reset_index()


def bullet_rows(card: pd.DataFrame, spread: pd.DataFrame, labels: pd.Series,
                parents: dict[str, str]) -> pd.DataFrame:
    """One row per node of the card with the city's score, in the framework's nesting: the
    peers' range, quartiles and median, and the city's normalised score (`labels`: node_id
    -> label)."""
    rows = framework_order(card[card["normalised"].notna()], parents).merge(
        spread, on="node_id", how="left")
    return pd.DataFrame({
        "node_id": rows["node_id"], "label": rows["node_id"].map(labels).fillna(rows["node_id"]),
        "node_kind": rows["node_kind"], "city": rows["normalised"],
        "low": rows["peer_min"], "q1": rows["peer_q1"], "median": rows["peer_median"],
        "q3": rows["peer_q3"], "high": rows["peer_max"], "rank": rows["rank"],
        "compared": rows["compared"],
    })


def profile_rows(universe: pd.DataFrame, city_id: str,
                 peer_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The profile chart's frames (`universe`: context_profile): per feature, the spread of
    the peers' z-scores and the city's (`summary`), and each peer's z-score (`points`: name,
    z, value). Both empty when the city is outside the profile's universe."""
    universe = universe[universe["in_profile"]]
    if city_id not in universe.index:
        return pd.DataFrame(), pd.DataFrame()
    theirs = universe.loc[universe.index.intersection(peer_ids)]
    summary, points = [], []
    for feature, label in FEATURE_LABELS.items():
        column = theirs[f"z_{feature}"].dropna()
        quartiles = (np.quantile(column, [0, .25, .5, .75, 1]) if len(column)
                     else [np.nan] * 5)
        summary.append({"feature": feature, "label": label,
                        "city": universe.at[city_id, f"z_{feature}"],
                        "city_value": universe.at[city_id, FEATURE_VALUES[feature]],
                        "low": quartiles[0], "q1": quartiles[1], "median": quartiles[2],
                        "q3": quartiles[3], "high": quartiles[4], "peers": len(column)})
        values = theirs.loc[column.index]
        points.append(pd.DataFrame({"feature": feature, "label": label, "city_id": column.index,
                                    "name": values["name"].to_numpy(), "z": column.to_numpy(),
                                    "value": values[FEATURE_VALUES[feature]].to_numpy()}))
    return pd.DataFrame(summary), pd.concat(points, ignore_index=True)
