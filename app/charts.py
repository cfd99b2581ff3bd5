"""Altair chart builders shared by the app and the report exporter: frames in, charts out.

Every chart carries its source attribution in the subtitle, so a PNG or SVG exported on its own
still credits the data.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Sequence

import altair as alt
import pandas as pd

HIGHLIGHT = "#c0392b"
# Okabe and Ito's colour-blind-safe palette, one colour per continent whatever a view shows,
# so that Asia has the same colour at top 25 and at top 200.
CONTINENT_COLOURS = {
    "Africa": "#E69F00", "Asia": "#D55E00", "Europe": "#0072B2", "North America": "#009E73",
    "South America": "#CC79A7", "Oceania": "#56B4E9", "Antarctica": "#999999",
}
CONTINENT_SCALE = alt.Scale(domain=list(CONTINENT_COLOURS), range=list(CONTINENT_COLOURS.values()))
# A subtitle line longer than this is cut with "…" by Vega at 600 px.
_LINE = 95
# ... and this at a phone's 390 px.
PHONE_LINE = 58
# Ticks every 0.1: Vega's default (every 0.05) runs the labels together at 600 px, as exported.
_UNIT_AXIS = alt.Axis(values=[i / 10 for i in range(11)], format=".1f")


def source_lines(attributions: Sequence[str], width: int = _LINE) -> list[str]:
    """The attribution as subtitle lines short enough to be printed whole (`width`
    characters: _LINE at 600 px, PHONE_LINE for a chart read at 390 px too)."""
    if not attributions:
        return []
    return textwrap.wrap("Source: " + "; ".join(attributions), width)


def _title(text: str, lines: Sequence[str | list[str]]) -> alt.TitleParams:
    """A title, and subtitle lines: strings, or lists of them (source_lines)."""
    flat = [part for line in lines for part in ([line] if isinstance(line, str) else line)]
    return alt.TitleParams(
        text=text,
        subtitle=[line for line in flat if line],
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
                 scope: str = "all cities", note: str | None = None) -> alt.Chart:
    """Top cities by a score on 0..1 (an index or a dimension), one bar each in the frame's
    order (its ranking), coloured by continent; `note` is a subtitle line (the weights used).

    `ranking` has name, country_iso2, city_id, score, rank, country, continent_name and
    percentile (as `warehouse.read_model.rankings`).
    """
    frame = ranking.assign(city=_unique_labels(ranking))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("score:Q", title="Score (0 = lowest, 1 = highest)",
                    scale=alt.Scale(domain=[0, 1]), axis=_UNIT_AXIS),
            # every bar keeps its label: a ranking with every other name missing is no ranking
            y=alt.Y("city:N", sort=frame["city"].tolist(), title=None,
                    axis=alt.Axis(labelOverlap=False)),
            # below the bars, two to a row, so that at phone width it fits and takes none of
            # the bars' width
            color=alt.Color("continent_name:N", title="Continent", scale=CONTINENT_SCALE,
                            legend=alt.Legend(orient="bottom", columns=2)),
            tooltip=[
                alt.Tooltip("rank:Q", title="Rank"),
                alt.Tooltip("name:N", title="City"),
                alt.Tooltip("country:N", title="Country"),
                alt.Tooltip("score:Q", title="Score", format=".3f"),
                alt.Tooltip("percentile:Q", title="Percentile", format=".1f"),
            ],
        )
        .properties(
            title=narrow_title(f"Top {len(frame)} cities by {index_name.lower()}",
                               [f"Among {scope}.", note or "", source_lines(attributions)]),
            width=600,
            height=max(120, 22 * len(frame)),
            autosize=FIT_WIDTH,
        )
    )


def strongest_links(partners: pd.DataFrame, city_name: str, attributions: Sequence[str],
                    what: str = "airline routes") -> alt.Chart:
    """A city's strongest partners, one bar each: `partners` has name, country and routes."""
    frame = partners.assign(city=partners["name"] + ", " + partners["country"])
    return (
        alt.Chart(frame)
        .mark_bar(color=HIGHLIGHT)
        .encode(
            # counts: whole ticks only
            x=alt.X("routes:Q", title=what.capitalize(),
                    axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("city:N", sort="-x", title=None,
                    axis=alt.Axis(labelOverlap=False, labelLimit=140)),
            tooltip=[alt.Tooltip("city:N", title="City"),
                     alt.Tooltip("routes:Q", title=what.capitalize())],
        )
        .properties(
            title=_title(f"{city_name}: strongest links by {what}",
                         [source_lines(attributions, PHONE_LINE)]),
            width=600,
            # a step per bar, not a height shared by the bars: each label has its 22 px
            height=alt.Step(22),
        )
    )


# Okabe-Ito vermillion for the city, sky blue for its peers' middle half: apart for every
# colour vision, and neither is the grey of the peers' range.
CITY_DOT = "#D55E00"
PEER_BAND = "#56B4E9"
PEER_RANGE = "#9a9a9a"


def dot_range(rows: pd.DataFrame, city_name: str, title: str, x_title: str,
              attributions: Sequence[str], domain: Sequence[float] | None = None,
              points: pd.DataFrame | None = None, step: int = 40) -> alt.LayerChart:
    """A bullet chart: one row per `label` (in the frame's order) with the peers' range
    (low-high, a grey line), their middle half (q1-q3, a blue band), their median (a black
    tick) and the city (`city`, an orange dot). `points`, when given (label, z, name), draws
    each peer as a small grey dot. `step` pixels a row."""
    order = rows["label"].tolist()
    # an index's and a dimension's rows in bold, so that their indicators read as theirs
    heads = (rows.loc[rows["node_kind"].isin(["index", "dimension"]), "label"].tolist()
             if "node_kind" in rows else [])
    # labels of 170 px leave the plot 180 px at a phone's 390 (the tooltip has them whole)
    y = alt.Y("label:N", sort=order, title=None,
              axis=alt.Axis(labelLimit=170, labelOverlap=False, labelFontWeight=alt.ExprRef(
                  f"indexof({json.dumps(heads)}, datum.value) >= 0 ? 'bold' : 'normal'")))
    x_scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Scale(zero=False)
    x_axis = _UNIT_AXIS if domain is not None and list(domain) == [0, 1] else alt.Axis()
    base = alt.Chart(rows).encode(y=y)
    tips = [alt.Tooltip("label:N", title="Measure"),
            alt.Tooltip("city:Q", title=city_name, format=".3f"),
            alt.Tooltip("median:Q", title="Peers' median", format=".3f"),
            alt.Tooltip("q1:Q", title="Peers' lower quartile", format=".3f"),
            alt.Tooltip("q3:Q", title="Peers' upper quartile", format=".3f"),
            alt.Tooltip("low:Q", title="Peers' lowest", format=".3f"),
            alt.Tooltip("high:Q", title="Peers' highest", format=".3f")]
    layers = [
        base.mark_rule(color=PEER_RANGE, strokeWidth=2).encode(
            x=alt.X("low:Q", title=x_title, scale=x_scale, axis=x_axis), x2="high:Q",
            tooltip=tips),
        base.mark_bar(color=PEER_BAND, size=14, opacity=0.8).encode(
            x="q1:Q", x2="q3:Q", tooltip=tips),
        base.mark_tick(color="#222222", thickness=2, size=22).encode(x="median:Q",
                                                                     tooltip=tips),
    ]
    if points is not None and len(points):
        layers.append(alt.Chart(points).mark_circle(color="#555555", size=24, opacity=0.5)
                      .encode(x="z:Q", y=y, tooltip=[alt.Tooltip("name:N", title="Peer"),
                                                     alt.Tooltip("z:Q", format=".2f")]))
    layers.append(base.mark_point(filled=True, size=150, color=CITY_DOT, stroke="white",
                                  strokeWidth=1.5, opacity=1).encode(x="city:Q", tooltip=tips))
    explain = (f"Orange dot: {city_name}. Blue band: the middle half of its peers; black tick: "
               "their median; grey line: lowest to highest.")
    return alt.layer(*layers).properties(
        title=_title(title, [textwrap.wrap(explain, PHONE_LINE),
                             source_lines(attributions, PHONE_LINE)]),
        width=600,
        height=alt.Step(step),
    )


def series_line(series: pd.DataFrame, city_name: str, name: str, unit: str | None,
                attributions: Sequence[str]) -> alt.Chart:
    """One indicator of one city over its periods (`series`: period, value, projected): the
    estimates as a solid line, the projections (UN WUP after 2018) dashed after them."""
    frame = series.assign(kind=series["projected"].map({True: "projection", False: "estimate"}))
    estimates = frame[frame["kind"] == "estimate"]
    # the projection's line starts at the last estimate, so the two join
    joint = estimates.tail(1).assign(kind="projection") if frame["projected"].any() else None
    frame = pd.concat([frame, joint]) if joint is not None else frame
    big = frame["value"].abs().max() >= 10_000
    return (
        alt.Chart(frame)
        .mark_line(point=True, color="#0072B2")
        .encode(
            x=alt.X("period:Q", title="Year", axis=alt.Axis(format="d", tickMinStep=1)),
            # the name is the chart's title: the axis says the unit, short enough to fit
            y=alt.Y("value:Q", title=unit or None,
                    axis=alt.Axis(format="~s" if big else ",.4~g"), scale=alt.Scale(zero=False)),
            strokeDash=alt.StrokeDash("kind:N", title=None,
                                      scale=alt.Scale(domain=["estimate", "projection"],
                                                      range=[[1, 0], [5, 4]]),
                                      legend=alt.Legend(orient="bottom")),
            tooltip=[alt.Tooltip("period:Q", title="Year", format="d"),
                     alt.Tooltip("value:Q", title=name, format=",.4~g"),
                     alt.Tooltip("kind:N", title="Figure")],
        )
        .properties(title=_title(f"{city_name}: {name}",
                                 [source_lines(attributions, PHONE_LINE)]),
                    width=600, height=260,
                    # Streamlit fits a chart of a set height to that height, title and legend
                    # included, which leaves the plot a sliver: the height is the plot's
                    autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    )


# --- Explorer and Networks (app/views/explorer.py, app/views/networks.py) ------------------

# Drawn at the page's width, with the height given to the plot: titles and legends come on
# top (Streamlit's default, "fit", takes them out of the height, and squeezes a map to a stamp).
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
# Legends below the plot, in rows: one on the right takes half a phone's width.
_BOTTOM_LEGEND = alt.Legend(orient="bottom", columns=2, titleOrient="top")
# Units whose values are counted (whole numbers); any other is shown to 4 significant digits.
_COUNTED = {"persons", "routes", "cities", "countries", "continents", "networks", "interlocks"}


def value_format(unit: str) -> str:
    """The d3 format of an indicator's values in tooltips and on axes."""
    return ",.0f" if unit in _COUNTED else ",.4~g"


# Title and subtitle lines short enough to be printed whole on a phone (390 px: a chart of
# ~330 px); Vega cuts a longer line with "…".
_PHONE_TITLE = 42


def narrow_title(text: str, lines: Sequence[str | list[str]],
                 width: int = PHONE_LINE) -> alt.TitleParams:
    """A title as _title's, its lines wrapped to `width` characters, a phone's by default (a
    list of lines, as source_lines gives, is one paragraph)."""
    paragraphs = [line if isinstance(line, str) else " ".join(line) for line in lines]
    title = _title(text, [part for line in paragraphs if line
                          for part in textwrap.wrap(line, width)])
    title.text = textwrap.wrap(text, _PHONE_TITLE)
    return title


_POWERS_OF_TEN = [10.0**power for power in range(-6, 13)]


def _tick_format(unit: str, log: bool = False) -> str:
    """Axis labels: counts in SI steps on a log axis (20k, 1M), with thousands separators on
    a linear one (Vega gives SI labels one prefix: 0.1k, 0.2k ...), other values as given."""
    if unit in _COUNTED:
        return "~s" if log else ",~r"
    return "~g"


def value_axis(label: str, unit: str, log: bool) -> dict:
    """An axis's title (the indicator and its unit, and the scale when it is logarithmic),
    scale and label format, as keyword arguments of alt.X or alt.Y."""
    title = f"{label} ({unit}{', log scale' if log else ''})"
    # a log axis ticks (and grids) at powers of ten only: Vega's 2, 3 ... 9 make a thicket
    ticks = {"values": _POWERS_OF_TEN} if log else {}
    return {"title": title, "scale": alt.Scale(type="log" if log else "linear", zero=not log),
            "axis": alt.Axis(format=_tick_format(unit, log), labelOverlap=True, **ticks)}


def _jitter(ids: pd.Series) -> pd.Series:
    """A fixed place in 0..1 for each city: the strip looks the same on every rerun."""
    return pd.util.hash_pandas_object(ids, index=False) % 1000 / 1000


def indicator_distribution(summary: pd.DataFrame, cities: pd.DataFrame, city_id: str | None,
                           label: str, unit: str, log: bool, by_continent: bool,
                           attributions: Sequence[str], note: str = "") -> alt.LayerChart:
    """How cities spread on one indicator: per group, a box (25th to 75th percentile, median),
    whiskers from the 5th to the 95th percentile (all from `summary`: every city), a strip of
    `cities` (one dot each) and the chosen city in red."""
    every = "All cities"
    if by_continent:
        boxes = summary[summary["continent"].notna()].assign(group=summary["continent_name"])
        dots = cities.assign(group=cities["continent_name"])
    else:
        boxes = summary[summary["continent"].isna()].assign(group=every)
        dots = cities.assign(group=every)
    order = boxes.sort_values("median", ascending=False)["group"].tolist()
    dots = dots.assign(jitter=_jitter(dots["city_id"]))[
        ["city_id", "name", "country", "value", "group", "jitter"]]
    colour = (alt.Color("group:N", title="Continent", scale=CONTINENT_SCALE,
                        legend=_BOTTOM_LEGEND) if by_continent
              else alt.value("#0072B2"))
    x = value_axis(label, unit, log)
    y = alt.Y("group:N", sort=order, title=None, axis=alt.Axis(labelLimit=140))
    fmt = value_format(unit)
    stats = [alt.Tooltip("group:N", title="Cities of"), alt.Tooltip("cities:Q", format=",")] + [
        alt.Tooltip(f"{name}:Q", title=title, format=fmt)
        for name, title in (("p05", "5th percentile"), ("p25", "25th percentile"),
                            ("median", "Median"), ("p75", "75th percentile"),
                            ("p95", "95th percentile"))]
    box = alt.Chart(boxes)
    strip = alt.Chart(dots).mark_circle(size=12, opacity=0.35).encode(
        x=alt.X("value:Q", **x), y=y,
        yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(range=[6, 44])), color=colour,
        tooltip=[alt.Tooltip("name:N", title="City"), alt.Tooltip("country:N", title="Country"),
                 alt.Tooltip("value:Q", title=label, format=fmt)])
    layers = [
        strip,
        box.mark_rule(strokeWidth=1.5, color="#333").encode(x=alt.X("p05:Q", **x), x2="p95:Q",
                                                             y=y, tooltip=stats),
        box.mark_bar(size=22, opacity=0.55, stroke="#333").encode(
            x=alt.X("p25:Q", **x), x2="p75:Q", y=y, color=colour, tooltip=stats),
        box.mark_tick(color="#111", thickness=2.5, size=22).encode(
            x=alt.X("median:Q", **x), y=y, tooltip=stats),
    ]
    chosen = dots[dots["city_id"] == city_id]
    if len(chosen):
        mark = alt.Chart(chosen).encode(x=alt.X("value:Q", **x), y=y)
        layers += [mark.mark_point(shape="diamond", size=160, filled=True, color=HIGHLIGHT,
                                   stroke="white", strokeWidth=1),
                   mark.mark_text(dy=-16, fontWeight="bold", color=HIGHLIGHT).encode(
                       text="name:N")]
    return alt.layer(*layers).properties(
        title=narrow_title(f"{label}: how cities spread",
                     ["Box: 25th to 75th percentile and median; whiskers: 5th to 95th "
                      "percentile (every city).", note, source_lines(attributions)]),
        width=600, autosize=FIT_WIDTH, height=56 * max(1, len(order)))


def _left_half(values: pd.Series, chosen: pd.Series, log: bool) -> bool:
    """Whether the chosen value lies in the left half of the axis the values span."""
    low, high, at = values.min(), values.max(), chosen.iloc[0]
    if log:
        low, high, at = (math.log10(v) for v in (low, high, at))
    return at <= (low + high) / 2


def indicator_scatter(frame: pd.DataFrame, city_id: str | None, x_axis: tuple[str, str, bool],
                      y_axis: tuple[str, str, bool], attributions: Sequence[str],
                      note: str = "", named: bool = False) -> alt.LayerChart:
    """Two indicators against each other, one dot per city (`frame`: x, y, name, country,
    continent_name), coloured by continent; the chosen city in red and named; with `named`,
    every dot named (a few cities, for print). Each axis is (label, unit, log)."""
    (x_label, x_unit, x_log), (y_label, y_unit, y_log) = x_axis, y_axis
    frame = frame[["city_id", "name", "country", "continent_name", "x", "y"]]
    x = alt.X("x:Q", **value_axis(x_label, x_unit, x_log))
    y = alt.Y("y:Q", **value_axis(y_label, y_unit, y_log))
    tooltip = [alt.Tooltip("name:N", title="City"), alt.Tooltip("country:N", title="Country"),
               alt.Tooltip("x:Q", title=x_label, format=value_format(x_unit)),
               alt.Tooltip("y:Q", title=y_label, format=value_format(y_unit))]
    dots = alt.Chart(frame).mark_circle(size=22, opacity=0.5).encode(
        x=x, y=y, color=alt.Color("continent_name:N", title="Continent",
                                  scale=CONTINENT_SCALE, legend=_BOTTOM_LEGEND),
        tooltip=tooltip)
    layers = [dots]
    if named:
        layers.append(alt.Chart(frame).mark_text(dx=6, align="left", fontSize=9,
                                                 color="#333333").encode(x=x, y=y, text="name:N"))
    chosen = frame[frame["city_id"] == city_id]
    if len(chosen):
        mark = alt.Chart(chosen).encode(x=x, y=y, tooltip=tooltip)
        # the name on the side with more room, so that it is not cut at the edge
        side = ({"dx": 9, "align": "left"} if _left_half(frame["x"], chosen["x"], x_log)
                else {"dx": -9, "align": "right"})
        layers += [mark.mark_point(shape="diamond", size=200, filled=True, color=HIGHLIGHT,
                                   stroke="white", strokeWidth=1),
                   mark.mark_text(**side, fontWeight="bold", color=HIGHLIGHT).encode(
                       text="name:N")]
    return alt.layer(*layers).properties(
        title=narrow_title(f"{y_label} against {x_label}", [note, source_lines(attributions)]),
        width=600, autosize=FIT_WIDTH, height=380)


def city_series(frame: pd.DataFrame, city_name: str, label: str, unit: str,
                attributions: Sequence[str]) -> alt.LayerChart:
    """The city's value over the periods (`frame`: period, value, projected): estimates as a
    solid line, projections dashed from the last estimate on, with hollow dots."""
    frame = frame.assign(kind=frame["projected"].map({True: "Projection", False: "Estimate"}))
    last_estimate = frame[~frame["projected"]].tail(1)
    projected = pd.concat([last_estimate, frame[frame["projected"]]])
    x = alt.X("period:Q", title="Year", axis=alt.Axis(format="d", tickMinStep=1),
              scale=alt.Scale(zero=False))
    y = alt.Y("value:Q", title=f"{label} ({unit})", scale=alt.Scale(zero=False),
              axis=alt.Axis(format=_tick_format(unit)))
    tooltip = [alt.Tooltip("period:Q", title="Year"),
               alt.Tooltip("value:Q", title=label, format=value_format(unit)),
               alt.Tooltip("kind:N", title="Figure")]
    layers = [alt.Chart(frame[~frame["projected"]]).mark_line(color="#0072B2").encode(x=x, y=y)]
    if frame["projected"].any():
        layers.append(alt.Chart(projected).mark_line(color="#0072B2", strokeDash=[5, 4])
                      .encode(x=x, y=y))
    layers.append(alt.Chart(frame).mark_point(size=50, color="#0072B2").encode(
        x=x, y=y, tooltip=tooltip,
        fill=alt.Fill("kind:N", title=None,
                      scale=alt.Scale(domain=["Estimate", "Projection"],
                                      range=["#0072B2", "white"]),
                      legend=alt.Legend(orient="top"))))
    return alt.layer(*layers).properties(
        title=narrow_title(f"{city_name}: {label.lower()} over time",
                     ["Dashed, hollow: the source's projections." if frame["projected"].any()
                      else "", source_lines(attributions)]),
        width=600, autosize=FIT_WIDTH, height=260)


def connectivity_bar(ranking: pd.DataFrame, label: str, unit: str,
                     attributions: Sequence[str], note: str = "") -> alt.Chart:
    """The top cities on one network measure, one bar each, coloured by continent (`ranking`:
    rank, name, country_iso2, city_id, value, continent_name, tier)."""
    frame = ranking.assign(city=_unique_labels(ranking))
    fmt = value_format(unit)
    return (
        alt.Chart(frame).mark_bar().encode(
            x=alt.X("value:Q", title=f"{label} ({unit})", axis=alt.Axis(format=_tick_format(unit))),
            y=alt.Y("city:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("continent_name:N", title="Continent", scale=CONTINENT_SCALE,
                            legend=_BOTTOM_LEGEND),
            tooltip=[alt.Tooltip("rank:Q", title="Rank"), alt.Tooltip("city:N", title="City"),
                     alt.Tooltip("value:Q", title=label, format=fmt),
                     alt.Tooltip("tier:N", title="Tier")])
        .properties(title=narrow_title(f"{label}: the top {len(frame)} cities",
                                 [note, source_lines(attributions)]),
                    width=600, autosize=FIT_WIDTH, height=max(120, 22 * len(frame)))
    )


def dyads_bar(dyads: pd.DataFrame, what: str, attributions: Sequence[str],
              note: str = "") -> alt.Chart:
    """The strongest city pairs, one bar each (`dyads`: name_a, country_a, name_b, country_b,
    weight)."""
    frame = dyads.assign(pair=dyads["name_a"] + ", " + dyads["country_a"] + " and "
                         + dyads["name_b"] + ", " + dyads["country_b"])
    return (
        alt.Chart(frame).mark_bar(color="#0072B2").encode(
            x=alt.X("weight:Q", title=what.capitalize(), axis=alt.Axis(format=",~r")),
            y=alt.Y("pair:N", sort="-x", title=None,
                    axis=alt.Axis(labelOverlap=False, labelLimit=260)),
            tooltip=[alt.Tooltip("pair:N", title="Cities"),
                     alt.Tooltip("weight:Q", title=what.capitalize(), format=",")])
        .properties(title=narrow_title(f"The {len(frame)} strongest pairs by {what}",
                                 [note, source_lines(attributions)]),
                    width=600, autosize=FIT_WIDTH, height=max(120, 22 * len(frame)))
    )


def members_by_country(members: pd.DataFrame, network: str,
                       attributions: Sequence[str]) -> alt.Chart:
    """A network's members per country, one bar each, coloured by continent (`members`:
    city_id, country, continent_name)."""
    counts = (members.groupby(["country", "continent_name"], as_index=False)
              .agg(cities=("city_id", "nunique")))
    return (
        alt.Chart(counts).mark_bar().encode(
            x=alt.X("cities:Q", title="Member cities", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("country:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("continent_name:N", title="Continent", scale=CONTINENT_SCALE,
                            legend=_BOTTOM_LEGEND),
            tooltip=[alt.Tooltip("country:N", title="Country"),
                     alt.Tooltip("continent_name:N", title="Continent"),
                     alt.Tooltip("cities:Q", title="Member cities")])
        .properties(title=narrow_title(f"{network}: members per country",
                                 [source_lines(attributions)]),
                    width=600, autosize=FIT_WIDTH, height=max(120, 22 * len(counts)))
    )


def rank_intervals(ranking: pd.DataFrame, attributions: Sequence[str], how: str,
                   reweighted: bool = False) -> alt.LayerChart:
    """Each city's official rank (black tick) and its 5-95% interval (grey bar), in the
    frame's order, so that it reads beside rankings_bar; with `reweighted`, the rank with the
    user's weights too (red dot). `how` says how the interval was made (the method file).

    `ranking` has name, country_iso2, city_id, official_rank, rank_low, rank_high and, with
    `reweighted`, rank.
    """
    frame = ranking.assign(city=_unique_labels(ranking))
    y = alt.Y("city:N", sort=frame["city"].tolist(), title=None,
              axis=alt.Axis(labelOverlap=False))
    x = alt.X("rank_low:Q", title="Rank (1 = top)",
              scale=alt.Scale(zero=False, nice=True), axis=alt.Axis(format=",d"))
    tooltip = [
        alt.Tooltip("name:N", title="City"),
        alt.Tooltip("official_rank:Q", title="Official rank", format=",d"),
        alt.Tooltip("rank_low:Q", title="Interval from", format=",d"),
        alt.Tooltip("rank_high:Q", title="Interval to", format=",d"),
    ]
    base = alt.Chart(frame).encode(y=y)
    layers = [
        base.mark_rule(strokeWidth=6, color="#bbbbbb", strokeCap="round").encode(
            x=x, x2="rank_high:Q", tooltip=tooltip),
        base.mark_tick(color="black", thickness=2, size=16).encode(
            x="official_rank:Q", tooltip=tooltip),
    ]
    lines = ["Grey: the 5-95% interval of each rank; black: the official rank.", how]
    if reweighted:
        layers.append(base.mark_point(color=HIGHLIGHT, filled=True, size=60).encode(
            x="rank:Q", tooltip=[*tooltip, alt.Tooltip("rank:Q", title="Your rank", format=",d")]))
        lines[0] = "Grey: the 5-95% interval; black: the official rank; red: yours."
    return alt.layer(*layers).properties(
        # drawn beside the ranking, in half the page's width: narrower lines than a phone's
        title=narrow_title("How precise each rank is", [*lines, source_lines(attributions)],
                           width=46),
        width=600,
        height=max(120, 22 * len(frame)),
        autosize=FIT_WIDTH,
    )


def aligned(*figures: alt.TopLevelMixin) -> None:
    """Pad the charts' subtitles to the same number of lines, so that charts drawn side by
    side with the same rows (rankings_bar and rank_intervals) have them at the same height."""
    most = max(len(figure.title.subtitle) for figure in figures)
    for figure in figures:
        figure.title.subtitle = [*figure.title.subtitle,
                                 *[" "] * (most - len(figure.title.subtitle))]


def dimension_heatmap(frame: pd.DataFrame, attributions: Sequence[str]) -> alt.LayerChart:
    """Each city's score (0-1) on each dimension, cities in the frame's order (`frame`: name,
    country_iso2, city_id, label (the dimension), normalised), the score written in its cell."""
    frame = frame.assign(city=frame["name"] + ", " + frame["country_iso2"])
    cities = list(dict.fromkeys(frame["city"]))
    base = alt.Chart(frame).encode(
        x=alt.X("label:N", title=None, sort=list(dict.fromkeys(frame["label"])),
                axis=alt.Axis(orient="top", labelAngle=0, labelLimit=160)),
        y=alt.Y("city:N", title=None, sort=cities, axis=alt.Axis(labelOverlap=False)))
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("normalised:Q", title="Score (0-1)", scale=alt.Scale(
            scheme="viridis", domain=[0, 1]), legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("city:N", title="City"), alt.Tooltip("label:N", title="Dimension"),
                 alt.Tooltip("normalised:Q", title="Score", format=".2f")])
    # dark text on the light (high) end of viridis, light on the dark end
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("normalised:Q", format=".2f"),
        color=alt.condition("datum.normalised > 0.6", alt.value("#222222"),
                            alt.value("#ffffff")))
    return alt.layer(cells, text).properties(
        title=narrow_title("Scores by dimension", [
            "Each city's score on each dimension of the index (0 = lowest of all the cities "
            "scored, 1 = highest).", source_lines(attributions)], width=_LINE),
        width=600, height=max(120, 22 * len(cities)), autosize=FIT_WIDTH)
