"""The Rankings page's reads: a framework's current run as its files and as one row per city
with the scores of the index and its components (dimensions), for the page to filter, rank and
reweight in memory (1,778 cities by 3 dimensions on the offline default; 29,362 by 4 for the
prominence index).

Each function opens a short-lived read-only connection, as warehouse/read_model.py does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from warehouse.connect import reading
from warehouse.read_model import CONTINENTS
from warehouse.runs import LATEST_RUN

# The stored measures of each score node, a column `measure:node_id` each in scores().
MEASURES = ("value", "normalised", "rank", "percentile", "rank_low", "rank_high",
            "rank_country", "rank_continent")


def run_files(db: Path, framework: str) -> dict[str, str] | None:
    """The framework and method files (TOML) the current run was scored with, as stored with
    it; None for a framework never scored."""
    with reading(db) as con:
        row = con.execute(f"""
            WITH {LATEST_RUN}
            SELECT framework, method FROM score_run JOIN run USING (score_run_id)
        """, {"framework": framework}).fetchone()
    return None if row is None else {"framework": row[0], "method": row[1]}


def scores(db: Path, framework: str, nodes: Sequence[str]) -> pd.DataFrame:
    """One row per city the current run scored on any of `nodes`: who and where it is (name,
    country, continent), its populations (GeoNames'; UN WUP's agglomeration, latest year up to
    this one, with the year), its country's World Bank income group (1-4, missing without that
    source), and each node's MEASURES as `measure:node_id`, floats (missing where not scored)."""
    params = {"framework": framework, "nodes": list(nodes)}
    with reading(db) as con:
        long = con.execute(f"""
            WITH {LATEST_RUN}
            SELECT s.city_id, s.node_id, {", ".join(f"s.{m}" for m in MEASURES)}
            FROM score s JOIN run USING (score_run_id)
            WHERE list_contains($nodes, s.node_id)
        """, params).df()
        cities = con.execute(f"""
            WITH {LATEST_RUN},
            scored AS (
                SELECT DISTINCT s.city_id FROM score s JOIN run USING (score_run_id)
                WHERE list_contains($nodes, s.node_id)
            ),
            agglomeration AS (
                SELECT city_id, max(period) AS agglomeration_year,
                       arg_max(value, period) AS agglomeration_population
                FROM observation
                WHERE indicator_id = 'agglomeration_population' AND period <= year(current_date)
                GROUP BY city_id
            ),
            income AS (
                SELECT city_id, arg_max(value, period) AS income_group FROM observation
                WHERE indicator_id = 'country_income_group' AND period <= year(current_date)
                GROUP BY city_id
            )
            SELECT c.city_id, c.name, co.name AS country, c.country_iso2, co.continent,
                   c.population::DOUBLE AS population, a.agglomeration_population,
                   a.agglomeration_year, i.income_group
            FROM scored JOIN city c USING (city_id)
            JOIN country co ON co.iso2 = c.country_iso2
            LEFT JOIN agglomeration a USING (city_id)
            LEFT JOIN income i USING (city_id)
            ORDER BY c.city_id
        """, params).df()
    cities["continent_name"] = cities["continent"].map(CONTINENTS).fillna(cities["continent"])
    # as floats: a column of ranks with gaps would otherwise pivot to objects
    long = long.astype(dict.fromkeys(MEASURES, "float64"))
    wide = long.pivot(index="city_id", columns="node_id", values=list(MEASURES))
    wide.columns = [f"{measure}:{node}" for measure, node in wide.columns]
    missing = [f"{m}:{n}" for m in MEASURES for n in nodes if f"{m}:{n}" not in wide.columns]
    wide = wide.reindex(columns=[*wide.columns, *missing])
    return cities.merge(wide, left_on="city_id", right_index=True, how="left")
