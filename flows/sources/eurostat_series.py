"""One territory per city series: Eurostat's city values, cut where the city's boundary moved.

A city's series mixes two definitions when the publisher counts another territory under the
same code or label from some year on. The real case: the 2018 export of urb_cpop1 gives Paris
2,220,445 residents in 2014 and 9,782,671 in 2015 (flag b, break in series), France having
sent its 2015 figures of every city on another delimitation (Paris's then covers the dense
urban area around the commune, what Eurostat calls the greater city elsewhere; Lyon falls from
1.35 M to 1.07 M, Rennes from 420,363 to 215,366), and urb_cecfi's French values change the
same way in 2016, unflagged. Loaded as one series, such a break reads as growth.

Total population (DE1001V) measures the territory: no city grows or shrinks by births, deaths
and migration by more than TERRITORY_SHIFT in a year, only its boundary does (or a census
rebasing, which is no more comparable across the break). Each such change starts another
territory; every variable of the city keeps the years of one territory only, the one with the
most years of population (the later on a tie), and the others are reported, not loaded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOTAL_POPULATION = "DE1001V"
TERRITORY_SHIFT = 0.10  # a change of total population beyond this, from one value to the next


def territory_windows(observed: pd.DataFrame) -> pd.DataFrame:
    """Per city whose population series changes territory: the years kept (first, last; NaN
    for open ends) and what the change was, for the notes."""
    population = observed[observed["code"] == TOTAL_POPULATION].sort_values(
        ["city_id", "period"])
    by_city = population.groupby("city_id")
    population = population.assign(before=by_city["value"].shift(),
                                   year_before=by_city["period"].shift())
    moved = (population["before"] > 0) & (
        (population["value"] / population["before"] - 1).abs() > TERRITORY_SHIFT)
    population = population.assign(run=moved.groupby(population["city_id"]).cumsum())
    rows = []
    for city, series in population[population["city_id"].isin(
            population.loc[moved, "city_id"])].groupby("city_id"):
        runs = series.groupby("run")["period"].agg(["min", "size"])
        kept = runs.sort_values(["size", "min"]).index[-1]
        at = list(runs.index).index(kept)
        first = runs["min"].iloc[at] if at > 0 else float("nan")
        last = runs["min"].iloc[at + 1] - 1 if at + 1 < len(runs) else float("nan")
        change = series[moved.loc[series.index]].iloc[0]
        flag = f" (flag {change['flag']})" if isinstance(change["flag"], str) else ""
        rows.append((city, first, last, abs(np.log(change["value"] / change["before"])),
                     f"{change['before']:,.0f} in {int(change['year_before'])} to "
                     f"{change['value']:,.0f} in {int(change['period'])}{flag}"))
    return pd.DataFrame(rows, columns=["city_id", "first", "last", "size", "change"])


def one_territory(observed: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The values of each city's one territory, and a note on the values left out."""
    windows = territory_windows(observed)
    if windows.empty:
        return observed, []
    bounds = observed[["city_id"]].merge(windows, on="city_id", how="left")
    period = observed["period"].to_numpy()
    outside = ((bounds["first"].notna() & (period < bounds["first"]))
               | (bounds["last"].notna() & (period > bounds["last"]))).to_numpy()
    largest = windows.sort_values("size", ascending=False).head(3)
    examples = "; ".join(f"{row.city_id}: {row.change}" for row in largest.itertuples())
    note = (f"{int(outside.sum()):,} values of {len(windows):,} cities not loaded: their total "
            f"population changes by more than {TERRITORY_SHIFT:.0%} from one year to the next, "
            f"so the publisher counts another territory from then on (e.g. {examples}); each "
            "city keeps the years of one territory, the one with most years of population")
    return observed[~outside].reset_index(drop=True), [note]
