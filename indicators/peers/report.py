"""A city's report card against a peer group: for every node of a framework's score run (the
index, its dimensions, its indicators), where the city stands among its peers.

The comparison is on each node's *normalised* score, which already has the indicator's
direction applied (higher is better everywhere); the raw value is shown beside it.

For each node, over the `compared` cities (the city plus those of its peers with a normalised
score on that node):

- rank: 1 + the compared cities strictly above the city (ties share the better rank);
- percentile: the share of the other compared cities strictly below the city, in percent
  (the top at 100, the bottom at 0, a city compared with no one at 100) -- the conventions of
  the run's own ranks (indicators.composite.ranking);
- peer_q1, peer_median, peer_q3: quartiles of the *peers'* normalised scores (the city
  left out; linear interpolation, as pandas' and DuckDB's quantile_cont), missing when no
  peer has a score;
- gap_to_median: the city's normalised score minus peer_median;
- best, best_city_id: the highest normalised score among the compared (the first city_id on
  a tie); gap_to_best: the city's minus best (0 when the city is the best, else negative).

Change since the previous period (indicator nodes, from the city's observations): the value
of the period scored, the latest earlier period's value, and the change. When the scored raw
value is not the observation of that period (a derived indicator, a value filled by the
run), there is no change: the observation is not what was scored.

Strengths and weaknesses (COINr's unit summaries give the top and bottom indicators): among
the indicator nodes on which at least one peer has a score, the `n` with the highest peer
percentile where the city is above the peers' median are strengths, and the `n` with the
lowest percentile where it is below their median are weaknesses (so a node is never both, and
a city below its peers everywhere has no strengths). The median, not the percentile, decides
the side: a city tied with most of its peers (a count of 4 continents that most peers share, a
yes/no indicator) has a low "strictly below" percentile, yet is no weaker than they are --
COINr's get_str_wk discards such ties too (min_discard, unq_discard). Ties are broken by
gap_to_median (larger first for strengths, smaller first for weaknesses), then node_id.

The rank interval (rank_low, rank_high) is the run's uncertainty analysis, as stored: it
ranks among *all* the cities the run scored, not among the peers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from indicators.composite.ranking import rank
from indicators.peers.groups import PeerGroup
from indicators.peers.profile import Columns

# strengths and weaknesses each: COINr's get_str_wk shows 5 among all units; a card of peers
# (often 10) is shorter
STRENGTHS = 3
# peers named in a note (the first, by id); a note is read, not parsed
NAMED = 10

COLUMNS = (
    "node_id", "node_kind", "value", "normalised", "rank", "compared", "percentile",
    "peers_scored", "peer_q1", "peer_median", "peer_q3", "gap_to_median", "best",
    "best_city_id", "gap_to_best", "period", "previous_period", "previous_value", "change",
    "rank_low", "rank_high",
)
# whole numbers: an int, or None when missing (never a float NaN)
COUNTS = ("rank", "compared", "peers_scored", "period", "previous_period", "rank_low",
          "rank_high")
TEXTS = ("node_id", "node_kind", "best_city_id")
_KIND_ORDER = {"index": 0, "dimension": 1, "indicator": 2}

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ReportCard:
    """`nodes`: one row (a dict of COLUMNS; None where missing) per node the city has in the
    run, the index first, then dimensions, then indicators, each by node_id. `strengths`,
    `weaknesses`: rows of `nodes`. `rank_interval`: the index's (rank_low, rank_high) among
    all the run's cities, or None."""

    city_id: str
    rule: str
    parameters: dict
    peers: list[dict]
    nodes: list[dict]
    strengths: list[dict]
    weaknesses: list[dict]
    rank_interval: tuple[int, int] | None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _compare(city_score: float, peer_scores: np.ndarray, peer_ids: np.ndarray,
             city_id: str) -> dict:
    """One node: the city's score against its peers' (arrays; NaN for no score)."""
    scored = ~np.isnan(peer_scores)
    peers, ids = peer_scores[scored], peer_ids[scored]
    if np.isnan(city_score):
        return {"peers_scored": len(peers)}
    # the engine's own ranks (composite.ranking): ties share the better rank, the percentile
    # is the share of the others strictly below, a city alone is at 100
    ranks, percentiles = rank(np.concatenate([[city_score], peers])[None, :, None])
    row = {"rank": int(ranks[0, 0, 0]), "compared": 1 + len(peers), "peers_scored": len(peers),
           "percentile": float(percentiles[0, 0, 0])}
    if len(peers):
        # linear interpolation, as pandas' and DuckDB's quantile_cont
        row["peer_q1"], row["peer_median"], row["peer_q3"] = np.quantile(peers, [.25, .5, .75])
        row["gap_to_median"] = city_score - row["peer_median"]
    best = max(city_score, peers.max()) if len(peers) else city_score
    at_best = [city_id] if city_score == best else []
    row.update(best=best, best_city_id=min([*at_best, *ids[peers == best]]),
               gap_to_best=city_score - best)
    return row


def _by_node(nodes: np.ndarray, scores: np.ndarray,
             city_ids: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """node -> its peers' scores and city ids: one sort of every row, not a group by per
    node (whose per-group cost was most of a card's)."""
    if not len(nodes):
        return {}
    order = np.argsort(nodes, kind="stable")
    ordered = nodes[order]
    bounds = [*np.flatnonzero(ordered[1:] != ordered[:-1]) + 1, len(order)]
    return {ordered[start]: (scores[order[start:end]], city_ids[order[start:end]])
            for start, end in zip([0, *bounds[:-1]], bounds, strict=True)}


def _pick(nodes: list[dict], n: int) -> tuple[list[dict], list[dict]]:
    eligible = [row for row in nodes if row["node_kind"] == "indicator"
                and (row["peers_scored"] or 0) > 0 and row["percentile"] is not None]
    top = sorted((row for row in eligible if (row["gap_to_median"] or 0) > 0),
                 key=lambda row: (-row["percentile"], -row["gap_to_median"], row["node_id"]))
    bottom = sorted((row for row in eligible if (row["gap_to_median"] or 0) < 0),
                    key=lambda row: (row["percentile"], row["gap_to_median"], row["node_id"]))
    return top[:n], bottom[:n]


def report_card(scores: Columns, group: PeerGroup, previous: list[dict] | None = None,
                n: int = STRENGTHS) -> ReportCard:
    """The card of `group.city_id` against `group`'s peers.

    `scores`: the run's columns (warehouse.peers.run_scores) for the city and its peers:
    city_id, node_id, node_kind, value, normalised, rank_low, rank_high; other cities are
    ignored. `previous`: the city's observations (warehouse.peers.previous_observations),
    rows of indicator_id, period, value, previous_period, previous_value; None for no
    change column.
    """
    city = group.city_id
    peer_ids = group.ids
    notes = list(group.notes)
    if not group.applies:
        notes.append(f"the rule does not apply: {group.reason}")
    ids = np.asarray(scores["city_id"], dtype=object)
    mine = np.flatnonzero(ids == city)
    known = set(peer_ids)
    theirs = np.fromiter((c in known for c in ids), dtype=bool, count=len(ids))
    unscored = sorted(known - set(ids[theirs]))
    if unscored:
        shown = ", ".join(unscored[:NAMED]) + (", ..." if len(unscored) > NAMED else "")
        notes.append(f"{len(unscored)} of {len(peer_ids)} peers are not in the score run: "
                     + shown)
    if not len(mine):
        notes.append(f"{city} is not in the score run")
    normalised = np.asarray(scores["normalised"], dtype=float)
    by_node = _by_node(np.asarray(scores["node_id"], dtype=object)[theirs],
                       normalised[theirs], ids[theirs])
    none = (np.array([], dtype=float), np.array([], dtype=object))
    nodes = []
    for at in mine:
        row = dict.fromkeys(COLUMNS)
        row.update({key: _plain(scores[key][at]) for key in (
            "node_id", "node_kind", "value", "normalised", "rank_low", "rank_high")})
        row.update(_compare(normalised[at], *by_node.get(row["node_id"], none), city))
        nodes.append({key: _count(row[key]) if key in COUNTS else _plain(row[key])
                      for key in COLUMNS})
    _with_change(nodes, previous, notes)
    nodes.sort(key=lambda row: (_KIND_ORDER.get(row["node_kind"], len(_KIND_ORDER)),
                                row["node_id"]))
    strengths, weaknesses = _pick(nodes, n)
    index = [row for row in nodes if row["node_kind"] == "index"]
    interval = None
    if index and all(row["rank_low"] is not None and row["rank_high"] is not None
                     for row in index):
        interval = (index[0]["rank_low"], index[0]["rank_high"])
        notes.append("rank interval (rank_low, rank_high): the run's uncertainty analysis, "
                     "among all the cities the run scored, not among the peers")
    return ReportCard(city, group.rule, group.parameters, group.peers, nodes, strengths,
                      weaknesses, interval, tuple(notes))


def _plain(value):
    """A number as a Python float (None for NaN), a text as it is."""
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    return value.item() if isinstance(value, np.generic) else value


def _count(value) -> int | None:
    value = _plain(value)
    return None if value is None else int(value)


def _with_change(nodes: list[dict], previous: list[dict] | None, notes: list[str]) -> None:
    """Fill each indicator's period, previous_period, previous_value and change (in place)."""
    prev = {row["indicator_id"]: row for row in previous or []}
    differs = []
    for row in nodes:
        seen = prev.get(row["node_id"]) if row["node_kind"] == "indicator" else None
        if seen is None:
            continue
        observed = seen["value"]
        if observed is None or row["value"] is None or not np.isclose(
                row["value"], observed, rtol=1e-9, atol=0.0):
            differs.append(row["node_id"])
            continue
        row["period"] = _count(seen["period"])
        row["previous_period"] = _count(seen["previous_period"])
        row["previous_value"] = _plain(seen["previous_value"])
        if row["previous_value"] is not None:
            row["change"] = row["value"] - row["previous_value"]
    if differs:
        notes.append("no change shown where the scored value is not the observation of the "
                     "period scored (derived or filled by the run): " + ", ".join(sorted(differs)))


def nodes_frame(nodes: list[dict]) -> pd.DataFrame:
    """A card's rows (COLUMNS) as a frame, for callers that want one: counts Int64 (missing
    as <NA>), the other numbers float."""
    import pandas as pd  # the frame's callers have it; the card itself does without

    frame = pd.DataFrame(nodes, columns=list(COLUMNS))
    return frame.astype({column: "Int64" if column in COUNTS else float
                         for column in COLUMNS if column not in TEXTS})
