"""What scoring reads from the warehouse and writes back: the latest value of each indicator
per city, the indicators' declared directions, and score runs with their scores."""

from __future__ import annotations

import pandas as pd

from warehouse.connect import Connection
from warehouse.schemas import ScoreRunTable, ScoreTable
from warehouse.sync import sync_table
from warehouse.tables import SCORE, SCORE_RUN


def directions(con: Connection, indicator_ids: list[str]) -> dict[str, int]:
    """The direction (+1 higher is better, -1 lower) of each of these the warehouse defines."""
    return dict(con.execute(
        "SELECT indicator_id, direction FROM indicator WHERE list_contains(?, indicator_id)",
        [indicator_ids],
    ).fetchall())


def latest_values(con: Connection, indicator_ids: list[str]) -> pd.DataFrame:
    """Wide frame of each city's most recent value of each indicator, with its groups
    (country, continent), indexed by city_id."""
    long = con.execute(
        """
        SELECT o.city_id, o.indicator_id, arg_max(o.value, o.period) AS value
        FROM observation o
        WHERE list_contains(?, o.indicator_id)
        GROUP BY ALL
        """,
        [indicator_ids],
    ).df()
    wide = long.pivot(index="city_id", columns="indicator_id", values="value")
    groups = con.execute(
        "SELECT c.city_id, c.country_iso2 AS country, k.continent "
        "FROM city c JOIN country k ON k.iso2 = c.country_iso2"
    ).df().set_index("city_id")
    return wide.reindex(columns=indicator_ids).join(groups, how="inner").sort_index()


def cities_with(con: Connection, indicator_id: str, source_id: str) -> list[str]:
    """The cities with any observation of this indicator from this source (a framework's
    universe, e.g. the agglomerations UN WUP lists)."""
    return [row[0] for row in con.execute(
        "SELECT DISTINCT city_id FROM observation WHERE indicator_id = ? AND source_id = ? "
        "ORDER BY city_id", [indicator_id, source_id],
    ).fetchall()]


def values_by_dataset(con: Connection, indicator_id: str) -> pd.DataFrame:
    """Each city's most recent value of this indicator in each dataset that gives one:
    dataset_id, city_id, value."""
    return con.execute(
        "SELECT dataset_id, city_id, arg_max(value, period) AS value FROM observation "
        "WHERE indicator_id = ? GROUP BY ALL ORDER BY dataset_id, city_id",
        [indicator_id],
    ).df()


def values_in(con: Connection, indicator_id: str, period: int) -> pd.Series:
    """Each city's value of this indicator in this period (the highest, should two sources
    give one), by city_id."""
    frame = con.execute(
        "SELECT city_id, max(value) AS value FROM observation "
        "WHERE indicator_id = ? AND period = ? GROUP BY city_id",
        [indicator_id, period],
    ).df()
    return frame.set_index("city_id")["value"]


def has_score_run(con: Connection, score_run_id: str) -> bool:
    return con.execute(
        "SELECT 1 FROM score_run WHERE score_run_id = ?", [score_run_id]).fetchone() is not None


def write_score_run(con: Connection, run: pd.DataFrame, scores: pd.DataFrame) -> None:
    """A score run and its scores, each checked by its contract before it is written."""
    run = ScoreRunTable.validate(run)
    scores = ScoreTable.validate(scores)
    run_id = run["score_run_id"].iloc[0]
    for table, rows in ((SCORE_RUN, run), (SCORE, scores)):
        sync_table(con, table.name, rows, list(table.key), owner=(table.owner, run_id))
