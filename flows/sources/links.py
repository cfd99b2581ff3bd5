"""Links between cities that have no direction (air routes, twinning): the city with the
smaller id first, each pair once a period, never a city with itself."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


def undirected(first: pd.Series, second: pd.Series) -> pd.DataFrame:
    """city_a and city_b of each pair of ids (aligned with them), the smaller id first."""
    ordered = first < second
    return pd.DataFrame({"city_a": first.where(ordered, second),
                         "city_b": second.where(ordered, first)})


@dataclass(frozen=True)
class Links:
    links: pd.DataFrame  # city_a, city_b, then the columns given
    self_links: int  # pairs of a city with itself, dropped
    repeats: int  # pairs given again in a period (the other way round, or under other names)


def distinct_links(first: pd.Series, second: pd.Series, **columns) -> Links:
    """One link per pair of cities and period (`columns` must hold "period"): the first of
    its pairs is kept."""
    pairs = undirected(first, second).assign(**columns)
    itself = pairs["city_a"] == pairs["city_b"]
    kept = pairs[~itself].drop_duplicates(["city_a", "city_b", "period"])
    return Links(kept, int(itself.sum()), int((~itself).sum()) - len(kept))
