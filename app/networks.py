"""The city page's network measures, as the refresh stored them (flows/network_measures.py):
rows of measure, value and rank, worded so that a figure can be quoted with what it is ranked
against. Nothing is computed here but the wording."""

from __future__ import annotations

import pandas as pd

from indicators.network.measures import tier_name

# The wording of each measure on the page, in the page's order; share-valued measures are
# shown as percentages.
_LABELS = {
    "air_destinations": "Air: cities served directly",
    "air_routes": "Air: airline routes",
    "air_countries": "Air: countries reached directly",
    "air_continents": "Air: continents reached directly",
    "air_share_abroad": "Air: routes abroad",
    "air_betweenness": "Air: betweenness",
    "air_eigenvector": "Air: eigenvector centrality",
    "network_memberships": "City networks",
    "network_partners": "City networks: partner cities",
    "twin_partners": "Twinned cities",
    "twin_countries": "Twinning: countries reached",
    "twin_continents": "Twinning: continents reached",
}
_PERCENT = {"air_share_abroad"}
_DECIMALS = {"air_betweenness": 4, "air_eigenvector": 3}
_AMONG = {"air": "cities with flights", "twin": "twinned cities",
          "network": "cities in city networks"}
AIR_NOTE = ("Air measures: OpenFlights' last snapshot of airline routes (about 2014); the data "
            "set is no longer updated.")


def _value(indicator_id: str, value: float) -> str:
    if indicator_id in _PERCENT:
        return f"{value:.0%}"
    if indicator_id in _DECIMALS:
        return f"{value:.{_DECIMALS[indicator_id]}f}"
    return f"{value:,.0f}"


def _firm_rows(measures: pd.DataFrame) -> list[tuple[str, str, str]]:
    rows = []
    firms = measures[measures["indicator_id"].str.startswith("firm_")]
    for dataset_id, one in firms.groupby("dataset_id", sort=True):
        by = one.set_index("indicator_id")
        gnc = by.loc["firm_gnc"]
        tier = tier_name(by.loc["firm_tier", "value"]) if "firm_tier" in by.index else None
        share = (f" · {by.loc['firm_gnc_share', 'value']:.0%} of the top"
                 if "firm_gnc_share" in by.index else "")
        rows.append((f"Interlocking connectivity ({dataset_id.removeprefix('firms-')}, "
                     f"{gnc['period']})", f"{gnc['value']:,.0f}",
                     f"{gnc['rank']:,} of the {gnc['cities']:,} cities of its matrix{share} · "
                     f"{tier or 'no tier'}"))
    return rows


def measure_rows(measures: pd.DataFrame) -> pd.DataFrame:
    """Measure, value and rank of each stored measure of one city (read_model.network_measures):
    one row per firm matrix (connectivity, share of the top, tier), then air, city networks and
    twinning."""
    rows = _firm_rows(measures)
    by = measures.set_index("indicator_id")
    for indicator_id, label in _LABELS.items():
        if indicator_id not in by.index:
            continue
        row = by.loc[indicator_id]
        among = _AMONG[indicator_id.split("_")[0]]
        rows.append((f"{label} ({row['period']})", _value(indicator_id, row["value"]),
                     f"{row['rank']:,} of {row['cities']:,} {among}"))
    return pd.DataFrame(rows, columns=["Measure", "Value", "Rank"])


def matrices(measures: pd.DataFrame) -> list[str]:
    """What each firm matrix is: its dataset's title (cities, firms, year, publisher's data)."""
    firms = measures[measures["indicator_id"] == "firm_gnc"]
    return [f"{row.dataset_id.removeprefix('firms-')}: {row.dataset}"
            for row in firms.itertuples()]
