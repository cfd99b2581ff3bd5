"""The reads of a chart pack (`citybench report`): which cities, their scores on every node of
a framework's current run, the links and memberships the maps draw, and the credits (each
source's attribution with its data vintage) of whatever a chart shows.

As in warehouse.read_model, each read opens a short-lived read-only connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from warehouse.read_model import CONTINENTS, _frame, _framework_nodes, _with_labels
from warehouse.runs import LATEST_RUN


def top_cities(db: Path, framework: str, top: int) -> list[str]:
    """The `top` cities by the framework's index in its current run, best first."""
    return _frame(db, f"""
        WITH {LATEST_RUN}
        SELECT city_id FROM score JOIN run USING (score_run_id)
        WHERE node_kind = 'index' AND rank IS NOT NULL
        ORDER BY rank, value DESC, city_id LIMIT $top
    """, {"framework": framework, "top": top})["city_id"].tolist()


def cities(db: Path, city_ids: Sequence[str]) -> pd.DataFrame:
    """The cities in the order given: name, country, continent, place and population."""
    frame = _frame(db, """
        SELECT c.city_id, c.name, c.country_iso2, co.name AS country, co.continent,
               c.latitude, c.longitude, c.population
        FROM city c JOIN country co ON co.iso2 = c.country_iso2
        WHERE list_contains($ids, c.city_id)
    """, {"ids": list(city_ids)})
    frame["continent_name"] = frame["continent"].map(CONTINENTS).fillna(frame["continent"])
    order = {city_id: at for at, city_id in enumerate(city_ids)}
    return frame.sort_values("city_id", key=lambda ids: ids.map(order)).reset_index(drop=True)


def node_scores(db: Path, framework: str, city_ids: Sequence[str]) -> pd.DataFrame:
    """Every node of the framework's current run for these cities: the index, dimensions and
    indicators with the value, the normalised score, the rank and its interval, and the node's
    label and parent."""
    frame = _frame(db, f"""
        WITH {LATEST_RUN}
        SELECT s.city_id, s.node_id, s.node_kind, s.value, s.normalised, s.rank,
               s.rank_low, s.rank_high, s.percentile, i.name AS indicator_name, i.unit
        FROM score s JOIN run USING (score_run_id)
        LEFT JOIN indicator i ON i.indicator_id = s.node_id
        WHERE list_contains($ids, s.city_id)
        ORDER BY s.city_id, s.node_id
    """, {"framework": framework, "ids": list(city_ids)})
    nodes = _framework_nodes(db, framework)
    frame["parent"] = frame["node_id"].map(lambda node: nodes.get(node, {}).get("parent"))
    return _with_labels(frame, db, framework)


def frameworks(db: Path) -> list[str]:
    """The frameworks with a score run."""
    return _frame(db, "SELECT DISTINCT framework_id FROM score_run ORDER BY 1")[
        "framework_id"].tolist()


def universe_scores(db: Path, framework: str, node_ids: Sequence[str]) -> pd.DataFrame:
    """The normalised scores of every city the run scored on these nodes: the spread a city
    card places a city in."""
    return _frame(db, f"""
        WITH {LATEST_RUN}
        SELECT s.city_id, s.node_id, s.normalised
        FROM score s JOIN run USING (score_run_id)
        WHERE list_contains($nodes, s.node_id) AND s.normalised IS NOT NULL
    """, {"framework": framework, "nodes": list(node_ids)})


def links_among(db: Path, city_ids: Sequence[str], kinds: Sequence[str]) -> pd.DataFrame:
    """The links of these kinds between two of these cities (the strongest weight any source
    gives a pair), with both ends' places."""
    return _frame(db, """
        WITH pairs AS (
            SELECT kind, city_a, city_b, max(weight) AS weight FROM city_link
            WHERE list_contains($ids, city_a) AND list_contains($ids, city_b)
              AND list_contains($kinds, kind)
            GROUP BY ALL
        )
        SELECT p.kind, p.city_a, p.city_b, p.weight,
               a.name AS name_a, a.longitude AS longitude_a, a.latitude AS latitude_a,
               b.name AS name_b, b.longitude AS longitude_b, b.latitude AS latitude_b
        FROM pairs p JOIN city a ON a.city_id = p.city_a JOIN city b ON b.city_id = p.city_b
        ORDER BY p.kind, p.city_a, p.city_b
    """, {"ids": list(city_ids), "kinds": list(kinds)})


def networks_of(db: Path, city_ids: Sequence[str]) -> list[str]:
    """The city networks any of these cities belongs to, those with the most of them first."""
    return _frame(db, """
        SELECT n.name, count(DISTINCT m.city_id) AS members
        FROM membership m JOIN network n USING (network_id)
        WHERE n.kind = 'city-network' AND list_contains($ids, m.city_id)
        GROUP BY n.name ORDER BY members DESC, n.name
    """, {"ids": list(city_ids)})["name"].tolist()


def source_ids(db: Path, framework: str | None = None, indicator_ids: Sequence[str] = (),
               link_kinds: Sequence[str] = (), network: str | None = None) -> list[str]:
    """The sources behind a chart: of the indicators of the framework's current run, of these
    indicators, of these kinds of link, and of the member list of this network."""
    return _frame(db, f"""
        WITH {LATEST_RUN},
        used AS (SELECT DISTINCT node_id FROM score JOIN run USING (score_run_id)
                 WHERE node_kind = 'indicator')
        SELECT DISTINCT source_id FROM indicator
        WHERE indicator_id IN (SELECT node_id FROM used) OR list_contains($indicators, indicator_id)
        UNION
        SELECT DISTINCT source_id FROM city_link WHERE list_contains($kinds, kind)
        UNION
        SELECT DISTINCT m.source_id FROM membership m JOIN network n USING (network_id)
        WHERE n.name = $network
        ORDER BY source_id
    """, {"framework": framework or "", "indicators": list(indicator_ids),
          "kinds": list(link_kinds), "network": network})["source_id"].tolist()


def credits(db: Path, sources: Sequence[str]) -> pd.DataFrame:
    """Each source's attribution and data vintage (what its publisher's files are of), in the
    order of their ids."""
    return _frame(db, """
        SELECT source_id, attribution, dataset_version AS vintage FROM source
        WHERE list_contains($ids, source_id) ORDER BY source_id
    """, {"ids": list(sources)})
