"""Whom to learn from: cities like this one (a peer group, by default the nearest on the
context profile) that are clearly ahead of it on a dimension of a framework, with the
evidence -- the numbers, the ties the two cities share, and the practices recorded for the
city ahead, failures included.

"Clearly ahead" is measured against the spread of the similar cities themselves: a normalised
score above the city's by at least `margin` (MARGIN by default: half a standard deviation) of
the scores of the city and its similar cities on that dimension. The run's percentiles would
not do: a city in the top tenth of the world could never be "clearly ahead" by 20 points, yet
it has peers that do better than it on one dimension or another.

Cities in shared networks or twinned with each other learn from each other more readily
(translocal learning: the contact exists, the exchange has a channel), so among the cities
ahead those sharing a tie come first, then those with a recorded practice on that dimension,
then the nearest in context (the peer group's order: nearest first for the profile rule).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from indicators.peers.groups import PeerGroup

MARGIN = 0.5  # standard deviations of the similar cities' scores
PER_DIMENSION = 3
COLUMNS = ("node_id", "city_id", "name", "normalised", "city_normalised", "ahead_by",
           "percentile", "city_percentile", "distance", "shared", "practices", "evidence")
PRACTICE_FIELDS = ("title", "year", "outcome", "lesson", "source_url", "licence")


def learn_from(scores: pd.DataFrame, group: PeerGroup, ties: pd.DataFrame | None = None,
               practices: pd.DataFrame | None = None,
               members: Mapping[str, set[str]] | None = None, margin: float = MARGIN,
               n: int = PER_DIMENSION) -> pd.DataFrame:
    """Up to `n` cities of `group` to learn from on each dimension the city is scored on
    (the indicators, when the framework has no dimensions), best suggestion first.

    `scores`: the run's rows (warehouse.peers.run_scores) for the city and the group's
    peers. `ties`: the city's shared ties (warehouse.peers.shared_ties). `practices`: the
    practices recorded for the peers (warehouse.practices.practices): city_id, title, year,
    dimension, indicators, outcome, lesson, source_url, licence. `members`: each dimension's
    indicator ids, so that a practice naming an indicator counts for its dimension.
    """
    city = group.city_id
    kind = "dimension" if (scores["node_kind"] == "dimension").any() else "indicator"
    nodes = scores[scores["node_kind"] == kind]
    order = pd.Series(range(len(group.peers)), index=group.peers["city_id"])
    # the rows of the city and its group, once (not a filter of every row for each node)
    in_group = set(order.index)
    peer = np.array([c in in_group for c in nodes["city_id"]], dtype=bool)
    kept = peer | (nodes["city_id"] == city).to_numpy(bool)
    nodes = nodes[kept].assign(peer=peer[kept])
    mine = nodes[nodes["city_id"] == city].set_index("node_id")
    peers = group.peers.set_index("city_id")
    shared = _shared(ties)
    rows = []
    for node, me in mine.iterrows():
        on = nodes[nodes["node_id"] == node]
        spread = on["normalised"].std(ddof=0)
        ahead = on[on["peer"] & (on["normalised"] >= me["normalised"] + margin * spread)]
        if ahead.empty or not spread > 0:
            continue
        indicators = (members or {}).get(node, set())
        found = ahead.assign(
            shared=[shared.get(c, []) for c in ahead["city_id"]],
            practices=[_practices(practices, c, node, indicators) for c in ahead["city_id"]],
            order=ahead["city_id"].map(order).to_numpy())
        found = found.assign(
            has_tie=found["shared"].map(bool),
            on_node=found["practices"].map(lambda ps: any(p["addresses"] for p in ps)))
        found = found.sort_values(["has_tie", "on_node", "order", "city_id"],
                                  ascending=[False, False, True, True]).head(n)
        for _, row in found.iterrows():
            rows.append(_suggestion(node, row, me, peers, spread))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _shared(ties: pd.DataFrame | None) -> dict[str, list[str]]:
    """peer -> the ties it shares with the city, in words ('twinned', 'network: ICLEI')."""
    if ties is None or ties.empty:
        return {}
    words = ties["via"].map("network: {}".format).where(ties["kind"] != "twinning", "twinned")
    return {peer: sorted(set(said)) for peer, said in words.groupby(ties["peer_id"])}


def _practices(practices: pd.DataFrame | None, city_id: str, node: str,
               indicators: set[str]) -> list[dict]:
    """The city's practices, those addressing `node` (by dimension, or by one of its
    indicators) first; every outcome, failures included."""
    if practices is None or practices.empty:
        return []
    theirs = practices[practices["city_id"] == city_id]
    found = []
    for _, practice in theirs.iterrows():
        named = set(practice.get("indicators") or [])
        addresses = practice.get("dimension") == node or node in named or bool(named & indicators)
        found.append({"addresses": bool(addresses), "dimension": practice.get("dimension")}
                     | {field: _plain(practice.get(field)) for field in PRACTICE_FIELDS})
    return sorted(found, key=lambda p: (not p["addresses"], -(p["year"] or 0), p["title"]))


def _plain(value):
    if isinstance(value, float) and pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _suggestion(node: str, row: pd.Series, me: pd.Series, peers: pd.DataFrame,
                spread: float) -> dict:
    """`peers`: the group's, indexed by city_id."""
    distance = None
    if "distance" in peers:
        distance = float(peers.at[row["city_id"], "distance"])
    ahead_by = float(row["normalised"] - me["normalised"])
    said = [f"ahead by {ahead_by:.3f} ({ahead_by / spread:.1f} standard deviations "
            f"of the similar cities): {row['normalised']:.3f} against {me['normalised']:.3f}, "
            f"percentile {row['percentile']:.0f} against {me['percentile']:.0f} among all "
            f"cities scored"]
    if distance is not None:
        said.append(f"profile distance {distance:.2f}")
    if row["shared"]:
        said.append("shares: " + ", ".join(row["shared"]))
    on_node = [p for p in row["practices"] if p["addresses"]]
    if on_node:
        said.append("practices: " + "; ".join(f"{p['title']} ({p['outcome']})" for p in on_node))
    name = peers.at[row["city_id"], "name"]
    return {"node_id": node, "city_id": row["city_id"], "name": name,
            "percentile": float(row["percentile"]), "city_percentile": float(me["percentile"]),
            "ahead_by": ahead_by, "normalised": float(row["normalised"]),
            "city_normalised": float(me["normalised"]), "distance": distance,
            "shared": list(row["shared"]), "practices": list(row["practices"]),
            "evidence": "; ".join(said)}
