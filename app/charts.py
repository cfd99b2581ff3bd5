"""Altair chart builders shared by the app and the report exporter: frames in, charts out.

Every chart carries its source attribution in the subtitle, so a PNG or SVG exported on its own
still credits the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

HIGHLIGHT = "#c0392b"
# Above this position a label would run off the right edge, so it goes left of the mark.
_LABEL_FLIP_AT = 0.6
# Ticks every 0.1: Vega's default (every 0.05) runs the labels together at 600 px, as exported.
_UNIT_AXIS = alt.Axis(values=[i / 10 for i in range(11)], format=".1f")


def _source_line(attributions: Sequence[str]) -> str:
    return "Source: " + "; ".join(attributions) if attributions else ""


def _title(text: str, lines: Sequence[str]) -> alt.TitleParams:
    return alt.TitleParams(
        text=text,
        subtitle=[line for line in lines if line],
        anchor="start",
        subtitleColor="#555",
        subtitleFontSize=11,
    )


def _unique_labels(frame: pd.DataFrame) -> pd.Series:
    """'Name, CC', disambiguated by id where two cities share both (a bar chart needs unique y)."""
    label = frame["name"] + ", " + frame["country_iso2"]
    twice = label.duplicated(keep=False)
    return label.where(~twice, label + " (" + frame["city_id"] + ")")


def rankings_bar(ranking: pd.DataFrame, index_name: str, attributions: Sequence[str],
                 scope: str = "all cities") -> alt.Chart:
    """Top cities by index score, one bar each, coloured by continent.

    `ranking` has the columns of `warehouse.read_model.rankings` (name, country_iso2, city_id,
    score, rank, country, continent_name, percentile).
    """
    frame = ranking.assign(city=_unique_labels(ranking))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("score:Q", title=f"{index_name} score (0 = lowest, 1 = highest)",
                    scale=alt.Scale(domain=[0, 1]), axis=_UNIT_AXIS),
            # every bar keeps its label: a ranking with every other name missing is no ranking
            y=alt.Y("city:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("continent_name:N", title="Continent"),
            tooltip=[
                alt.Tooltip("rank:Q", title="Rank"),
                alt.Tooltip("name:N", title="City"),
                alt.Tooltip("country:N", title="Country"),
                alt.Tooltip("score:Q", title="Score", format=".3f"),
                alt.Tooltip("percentile:Q", title="Percentile", format=".1f"),
            ],
        )
        .properties(
            title=_title(f"Top {len(frame)} cities by {index_name.lower()}",
                         [f"Among {scope}.", _source_line(attributions)]),
            width=600,
            height=max(120, 22 * len(frame)),
        )
    )


def where_city_stands(distribution: pd.DataFrame, profile: pd.DataFrame, city_name: str,
                      measure: str, attributions: Sequence[str]) -> alt.LayerChart:
    """For each indicator, how all cities spread (shaded bins) and where the city is (red mark).

    `distribution` is `warehouse.read_model.distribution` (label, bin_start, bin_end, cities)
    for the same measure; `profile` is `warehouse.read_model.profile` for the city (label,
    normalised, percentile, rank, peers). Rows keep the profile's order: the index first.
    """
    if measure == "percentile":
        axis_title = "Percentile among all cities (0 = bottom, 1 = top)"
        position = profile["percentile"] / 100
    else:
        axis_title = "Normalised score (0 = lowest, 1 = highest among all cities)"
        position = profile["normalised"]
    marks = profile.assign(
        position=position,
        text=city_name + ": rank " + profile["rank"].map(
            lambda r: "n/a" if pd.isna(r) else f"{int(r):,}")
        + " of " + profile["peers"].map("{:,}".format),
    ).dropna(subset=["position"])
    order = profile["label"].tolist()
    total = int(profile["peers"].max()) if len(profile) else 0

    y = alt.Y("label:N", sort=order, title=None,
              scale=alt.Scale(paddingInner=0.35), axis=alt.Axis(labelLimit=220))
    x_scale = alt.Scale(domain=[0, 1])
    bins = alt.Chart(distribution).mark_rect().encode(
        x=alt.X("bin_start:Q", title=axis_title, scale=x_scale, axis=_UNIT_AXIS),
        x2="bin_end:Q",
        y=y,
        color=alt.Color("cities:Q", title="Cities",
                        scale=alt.Scale(type="symlog", scheme="blues", domainMin=0)),
        tooltip=[
            alt.Tooltip("label:N", title="Indicator"),
            alt.Tooltip("bin_start:Q", title="From", format=".2f"),
            alt.Tooltip("bin_end:Q", title="To", format=".2f"),
            alt.Tooltip("cities:Q", title="Cities", format=","),
        ],
    )
    base = alt.Chart(marks).encode(x=alt.X("position:Q", scale=x_scale), y=y)
    tick = base.mark_tick(color=HIGHLIGHT, thickness=3, size=26).encode(
        tooltip=[alt.Tooltip("text:N", title=city_name),
                 alt.Tooltip("value:Q", title="Value", format=",.4~g")])
    # Two copies of each label, right and left of the mark; each shows only where it fits.
    left_side = alt.datum.position <= _LABEL_FLIP_AT
    label_style = {"fontWeight": "bold", "fontSize": 12, "baseline": "middle"}
    labels = [
        base.transform_filter(side).mark_text(**label_style, align=align, dx=dx, **paint).encode(
            text="text:N")
        for side, align, dx in ((left_side, "left", 7), (~left_side, "right", -7))
        # A white halo under the red text keeps it legible over dark bins.
        for paint in ({"stroke": "white", "strokeWidth": 3, "strokeJoin": "round",
                       "color": "white"},
                      {"color": HIGHLIGHT})
    ]
    return alt.layer(bins, tick, *labels).properties(
        title=_title(
            f"Where {city_name} stands",
            [f"Each row shows how all {total:,} cities spread on one measure (darker = more "
             f"cities); the red mark is {city_name}.", _source_line(attributions)],
        ),
        width=600,
        height=60 * max(1, len(order)),
    )


def strongest_links(partners: pd.DataFrame, city_name: str, attributions: Sequence[str],
                    what: str = "airline routes") -> alt.Chart:
    """A city's strongest partners, one bar each: `partners` has name, country and routes."""
    frame = partners.assign(city=partners["name"] + ", " + partners["country"])
    return (
        alt.Chart(frame)
        .mark_bar(color=HIGHLIGHT)
        .encode(
            x=alt.X("routes:Q", title=what.capitalize()),
            y=alt.Y("city:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            tooltip=[alt.Tooltip("city:N", title="City"),
                     alt.Tooltip("routes:Q", title=what.capitalize())],
        )
        .properties(
            title=_title(f"{city_name}: strongest links by {what}",
                         [_source_line(attributions)]),
            width=600,
            height=max(120, 22 * len(frame)),
        )
    )
