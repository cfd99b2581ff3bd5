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

from indicators.peers.groups import PeerGroup
from indicators.peers.profile import Columns

MARGIN = 0.5  # standard deviations of the similar cities' scores
PER_DIMENSION = 3
COLUMNS = ("node_id", "city_id", "name", "normalised", "city_normalised", "ahead_by",
           "percentile", "city_percentile", "distance", "shared", "practices", "evidence")
PRACTICE_FIELDS = ("title", "year", "outcome", "lesson", "source_url", "licence")


def learn_from(scores: Columns, group: PeerGroup, ties: list[dict] | None = None,
               practices: list[dict] | None = None,
               members: Mapping[str, set[str]] | None = None, margin: float = MARGIN,
               n: int = PER_DIMENSION) -> list[dict]:
    """Up to `n` cities of `group` to learn from on each dimension the city is scored on
    (the indicators, when the framework has no dimensions), best suggestion first: one row
    (COLUMNS) per suggestion.

    `scores`: the run's columns (warehouse.peers.run_scores) for the city and the group's
    peers: city_id, node_id, node_kind, normalised, percentile. `ties`: the city's shared
    ties (warehouse.peers.shared_ties). `practices`: the practices recorded for the peers
    (warehouse.practices.practices), rows of city_id, title, year, dimension, indicators,
    outcome, lesson, source_url, licence. `members`: each dimension's indicator ids, so that
    a practice naming an indicator counts for its dimension.
    """
    city = group.city_id
    kinds = np.asarray(scores["node_kind"], dtype=object)
    kind = "dimension" if (kinds == "dimension").any() else "indicator"
    order = {peer: position for position, peer in enumerate(group.ids)}
    peers = {peer["city_id"]: peer for peer in group.peers}
    ids = np.asarray(scores["city_id"], dtype=object)
    # the rows of the city and its group on this kind of node, once (not a filter of every
    # row for each node)
    peer = np.fromiter((c in order for c in ids), dtype=bool, count=len(ids))
    kept = np.flatnonzero((kinds == kind) & (peer | (ids == city)))
    nodes = np.asarray(scores["node_id"], dtype=object)[kept]
    normalised = np.asarray(scores["normalised"], dtype=float)[kept]
    percentile = np.asarray(scores["percentile"], dtype=float)[kept]
    ids, peer = ids[kept], peer[kept]
    shared = _shared(ties)
    rows = []
    for at in np.flatnonzero(ids == city):
        node = nodes[at]
        on = nodes == node
        spread = np.nanstd(normalised[on]) if (on & ~np.isnan(normalised)).any() else np.nan
        ahead = np.flatnonzero(on & peer & (normalised >= normalised[at] + margin * spread))
        if not len(ahead) or not spread > 0:
            continue
        indicators = (members or {}).get(node, set())
        found = []
        for other in ahead:
            theirs = ids[other]
            done = _practices(practices, theirs, node, indicators)
            found.append({"city_id": theirs, "normalised": float(normalised[other]),
                          "percentile": float(percentile[other]),
                          "shared": shared.get(theirs, []), "practices": done})
        found.sort(key=lambda row: (not row["shared"],
                                    not any(p["addresses"] for p in row["practices"]),
                                    order[row["city_id"]], row["city_id"]))
        me = {"normalised": float(normalised[at]), "percentile": float(percentile[at])}
        rows += [_suggestion(node, row, me, peers[row["city_id"]], spread)
                 for row in found[:n]]
    return rows


def _shared(ties: list[dict] | None) -> dict[str, list[str]]:
    """peer -> the ties it shares with the city, in words ('twinned', 'network: ICLEI')."""
    said = {}
    for tie in ties or []:
        word = "twinned" if tie["kind"] == "twinning" else f"network: {tie['via']}"
        said.setdefault(tie["peer_id"], set()).add(word)
    return {peer: sorted(words) for peer, words in said.items()}


def _practices(practices: list[dict] | None, city_id: str, node: str,
               indicators: set[str]) -> list[dict]:
    """The city's practices, those addressing `node` (by dimension, or by one of its
    indicators) first; every outcome, failures included."""
    found = []
    for practice in practices or []:
        if practice["city_id"] != city_id:
            continue
        named = set(practice.get("indicators") or [])
        addresses = practice.get("dimension") == node or node in named or bool(named & indicators)
        found.append({"addresses": bool(addresses), "dimension": practice.get("dimension")}
                     | {field: _plain(practice.get(field)) for field in PRACTICE_FIELDS})
    return sorted(found, key=lambda p: (not p["addresses"], -(p["year"] or 0), p["title"]))


def _plain(value):
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value.item() if hasattr(value, "item") else value


def _suggestion(node: str, row: dict, me: dict, peer: dict, spread: float) -> dict:
    """`peer`: the group's row of the city ahead."""
    distance = float(peer["distance"]) if "distance" in peer else None
    ahead_by = row["normalised"] - me["normalised"]
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
    return {"node_id": node, "city_id": row["city_id"], "name": peer["name"],
            "normalised": row["normalised"], "city_normalised": me["normalised"],
            "ahead_by": ahead_by, "percentile": row["percentile"],
            "city_percentile": me["percentile"], "distance": distance,
            "shared": list(row["shared"]), "practices": list(row["practices"]),
            "evidence": "; ".join(said)}
