"""World maps of cities on an equal-area projection, over the country outlines the project
carries (app/data/countries-110m.json: Natural Earth 1:110m, public domain; see the README
beside it). The outlines are put in the chart itself as data values: the app runs offline, and
Vega must not load anything from a URL.

Links are drawn as GeoJSON lines, which Vega bends along the great circle (d3-geo), so a route
from Paris to Tokyo crosses Siberia as aircraft fly it, and one across the Pacific is split at
the map's edge instead of striking across the whole map.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

import altair as alt
import pandas as pd

from app.charts import (
    CONTINENT_SCALE,
    FIT_WIDTH,
    HIGHLIGHT,
    narrow_title,
    source_lines,
    value_format,
)

OUTLINES = Path(__file__).parent / "data" / "countries-110m.json"
PROJECTION = "equalEarth"
# The map's size as exported; on the page it is drawn at the page's width, height kept.
WIDTH, HEIGHT = 600, 330
LINK_COLOURS = {"air-route": "#0072B2", "twinning": "#E69F00"}
LINK_NAMES = {"air-route": "Airline routes", "twinning": "Twin towns"}


class _Verbatim:
    """JSON that Altair passes on as it is. Altair walks every value of a chart's data, with
    a slow type check per value; the outlines' ~25,000 numbers took 0.2-1 s per chart. An
    object with `_schema` and `to_dict()` is one Altair converts by calling `to_dict()`
    (altair.utils.schemapi.SchemaLike); tests/test_app_explorer.py checks the spec holds the
    whole topology."""

    _schema = {"type": "object"}

    def __init__(self, value: dict) -> None:
        self.value = value

    def to_dict(self) -> dict:
        return self.value


@functools.cache
def _topology() -> _Verbatim:
    return _Verbatim(json.loads(OUTLINES.read_text()))


def outlines() -> alt.Chart:
    """The countries, grey on white, from the map's dataset of outlines (see _map)."""
    countries = alt.NamedData(name=OUTLINES.stem,
                              format=alt.DataFormat(type="topojson", feature="countries"))
    # Antarctica left out: no city there, and the map gets a fifth more room
    return (alt.Chart(countries).mark_geoshape(fill="#e8e8e8", stroke="white", strokeWidth=0.5)
            .transform_filter("datum.properties.name !== 'Antarctica'"))


def _map(*layers: alt.Chart, title: alt.TitleParams) -> alt.LayerChart:
    chart = (alt.layer(outlines(), *layers).project(PROJECTION)
             .properties(title=title, width=WIDTH, height=HEIGHT, autosize=FIT_WIDTH))
    # The outlines go in last, by assignment: Altair deep-copies a chart at each step above,
    # and a copy of the 8,000 arcs costs a tenth of a second.
    chart.datasets = {OUTLINES.stem: _topology()}
    return chart


def city_values(frame: pd.DataFrame, city_id: str | None, label: str, unit: str, log: bool,
                attributions: Sequence[str], note: str = "") -> alt.LayerChart:
    """Cities where they are, coloured by their value (viridis, colour-blind safe; largest
    values drawn last, on top), the chosen city ringed in red (`frame`: city_id, name, country,
    latitude, longitude, value)."""
    frame = frame.sort_values("value")[["city_id", "name", "country", "latitude", "longitude",
                                          "value"]]
    place = {"longitude": "longitude:Q", "latitude": "latitude:Q"}
    scale = alt.Scale(type="log" if log else "linear", scheme="viridis")
    layers = [alt.Chart(frame).mark_circle(size=14, opacity=0.8).encode(
        **place, color=alt.Color("value:Q", title=[label[:30], f"({unit})"], scale=scale,
                                 legend=alt.Legend(format="~s" if log else "~g",
                                                   orient="bottom", direction="horizontal",
                                                   gradientLength=220)),
        tooltip=[alt.Tooltip("name:N", title="City"), alt.Tooltip("country:N", title="Country"),
                 alt.Tooltip("value:Q", title=label, format=value_format(unit))])]
    chosen = frame[frame["city_id"] == city_id]
    if len(chosen):
        layers.append(alt.Chart(chosen).mark_point(size=220, color=HIGHLIGHT, strokeWidth=2.5)
                      .encode(**place, tooltip=[alt.Tooltip("name:N", title="City")]))
    return _map(*layers, title=narrow_title(f"{label}: where the cities are",
                                      [note, source_lines(attributions)]))


def _great_circles(city: pd.Series, links: pd.DataFrame) -> alt.InlineData:
    """One GeoJSON line per partner, from the city to the partner."""
    features = [{"type": "Feature",
                 "geometry": {"type": "LineString",
                              "coordinates": [[city["longitude"], city["latitude"]],
                                              [row.longitude, row.latitude]]},
                 "properties": {"partner": f"{row.name}, {row.country_iso2}",
                                "kind": LINK_NAMES.get(row.kind, row.kind),
                                "weight": row.weight}}
                for row in links.itertuples()]
    return alt.InlineData(values=features, format=alt.DataFormat(type="json"))


def city_links(city: pd.Series, links: pd.DataFrame,
               attributions: Sequence[str]) -> alt.LayerChart:
    """The city's links (`links`: kind, name, country_iso2, latitude, longitude, weight), one
    line per partner, coloured by kind, and its partners as dots."""
    kinds = [kind for kind in LINK_COLOURS if kind in set(links["kind"])]
    colour = alt.Scale(domain=[LINK_NAMES[k] for k in kinds],
                       range=[LINK_COLOURS[k] for k in kinds])
    lines = alt.Chart(_great_circles(city, links)).mark_geoshape(
        filled=False, strokeWidth=1, opacity=0.55).encode(
        stroke=alt.Stroke("properties.kind:N", title="Link", scale=colour,
                          legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("properties.partner:N", title="Partner"),
                 alt.Tooltip("properties.kind:N", title="Link"),
                 alt.Tooltip("properties.weight:Q", title="Routes (air) / weight")])
    partners = links.assign(link=links["kind"].map(LINK_NAMES).fillna(links["kind"]))
    dots = alt.Chart(partners).mark_circle(size=18, opacity=0.9).encode(
        longitude="longitude:Q", latitude="latitude:Q",
        color=alt.Color("link:N", scale=colour, legend=None),
        tooltip=[alt.Tooltip("name:N", title="Partner"),
                 alt.Tooltip("country:N", title="Country"),
                 alt.Tooltip("link:N", title="Link")])
    here = pd.DataFrame([city[["name", "longitude", "latitude"]]])
    centre = alt.Chart(here).mark_point(shape="diamond", size=180, filled=True, color=HIGHLIGHT,
                                        stroke="white", strokeWidth=1).encode(
        longitude="longitude:Q", latitude="latitude:Q", tooltip=["name:N"])
    counts = ", ".join(f"{(links['kind'] == kind).sum():,} {LINK_NAMES[kind].lower()}"
                       for kind in kinds)
    return _map(lines, dots, centre,
                title=narrow_title(f"{city['name']}: its links on the map",
                             [f"One line per partner city ({counts}).",
                              source_lines(attributions)]))


def members(frame: pd.DataFrame, network: str, attributions: Sequence[str]) -> alt.LayerChart:
    """A city network's members where they are, coloured by continent (`frame`: name, country,
    continent_name, latitude, longitude)."""
    dots = alt.Chart(frame).mark_circle(size=40, opacity=0.85, stroke="white",
                                        strokeWidth=0.5).encode(
        longitude="longitude:Q", latitude="latitude:Q",
        color=alt.Color("continent_name:N", title="Continent", scale=CONTINENT_SCALE,
                        legend=alt.Legend(orient="bottom", columns=2)),
        tooltip=[alt.Tooltip("name:N", title="City"), alt.Tooltip("country:N", title="Country")])
    return _map(dots, title=narrow_title(
        f"{network}: how far its reach stretches",
        [f"{frame['city_id'].nunique():,} member cities in {frame['country'].nunique():,} "
         f"countries and {frame['continent_name'].nunique()} continents.",
         source_lines(attributions)]))


def links_among(cities: pd.DataFrame, links: pd.DataFrame,
                attributions: Sequence[str]) -> alt.LayerChart:
    """Cities where they are, coloured by continent and named, and the links between two of
    them as great circles coloured by kind (`cities`: name, country, continent_name, latitude,
    longitude; `links`: kind, name_a, longitude_a, latitude_a, name_b, ..., weight)."""
    kinds = [kind for kind in LINK_COLOURS if kind in set(links["kind"])]
    colour = alt.Scale(domain=[LINK_NAMES[k] for k in kinds],
                       range=[LINK_COLOURS[k] for k in kinds])
    features = [{"type": "Feature",
                 "geometry": {"type": "LineString",
                              "coordinates": [[row.longitude_a, row.latitude_a],
                                              [row.longitude_b, row.latitude_b]]},
                 "properties": {"pair": f"{row.name_a} - {row.name_b}",
                                "kind": LINK_NAMES.get(row.kind, row.kind),
                                "weight": row.weight}}
                for row in links.itertuples()]
    lines = alt.Chart(alt.InlineData(values=features, format=alt.DataFormat(type="json"))
                      ).mark_geoshape(filled=False, strokeWidth=1.2, opacity=0.6).encode(
        stroke=alt.Stroke("properties.kind:N", title="Link", scale=colour,
                          legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("properties.pair:N", title="Link"),
                 alt.Tooltip("properties.kind:N", title="Kind")])
    place = {"longitude": "longitude:Q", "latitude": "latitude:Q"}
    frame = cities[["name", "country", "continent_name", "latitude", "longitude"]]
    dots = alt.Chart(frame).mark_circle(size=60, opacity=0.9, stroke="white",
                                        strokeWidth=0.5).encode(
        **place, color=alt.Color("continent_name:N", title="Continent", scale=CONTINENT_SCALE,
                                 legend=alt.Legend(orient="bottom", columns=2)),
        tooltip=[alt.Tooltip("name:N", title="City"), alt.Tooltip("country:N", title="Country")])
    names = alt.Chart(frame).mark_text(dx=5, align="left", fontSize=9, color="#333333").encode(
        **place, text="name:N")
    counts = ", ".join(f"{(links['kind'] == kind).sum():,} {LINK_NAMES[kind].lower()}"
                       for kind in kinds) or "no link among them"
    return _map(lines, dots, names, title=narrow_title(
        f"{len(frame):,} cities and the links among them",
        [f"One line per pair of these cities that is linked ({counts}).",
         source_lines(attributions)]))
