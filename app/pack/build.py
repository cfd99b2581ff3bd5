"""A pack's charts, built from the warehouse with the app's own chart builders (app.charts,
app.maps): each chart is defined once, for the page and for print.

Every figure carries the data behind it (hashed in the manifest) and its credits: each
source's attribution and data vintage, which the builders print under the title, as CC BY
and ODbL require.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from app import charts, maps
from app.lookup import find_city
from app.pack.config import Chart, PackConfig, PackError
from indicators.names import CityNotFound
from warehouse import explore, pack_reads
from warehouse.connect import reading
from warehouse.read_model import index_label

HEADLINE = "world_connectivity"
# characters a line of a chart's title and subtitle holds on a page (the app wraps for phones)
TITLE_CHARS, LINE_CHARS = 70, 110
# The credits are the page's footer (app.pack.page), not subtitle lines as on the app's pages.
NO_CREDITS: list[str] = []


@dataclass(frozen=True)
class Figure:
    """One chart of the pack: `name` is its files' stem (unique in the pack)."""

    name: str
    kind: str
    chart: alt.TopLevelMixin
    data: pd.DataFrame
    sources: tuple[str, ...]
    credits: tuple[str, ...]  # each source's attribution and data vintage: the page's footer


@dataclass(frozen=True)
class Pack:
    """What the charts are drawn from: the framework, its run's scores of the pack's cities
    (in the pack's order) and where to read the rest."""

    db: Path
    framework: str
    cities: pd.DataFrame
    scores: pd.DataFrame  # pack_reads.node_scores
    notes: list[str] = field(default_factory=list)  # charts the data cannot give, and why

    def node(self, kind: str) -> pd.DataFrame:
        rows = self.scores[self.scores["node_kind"] == kind]
        return rows.merge(self.cities, on="city_id")

    def credits(self, sources: list[str]) -> tuple[str, ...]:
        """Attribution and data vintage of each source."""
        frame = pack_reads.credits(self.db, sources)
        return tuple(f"{row.attribution.rstrip('.')}. Data: {row.vintage}."
                     if isinstance(row.vintage, str) else row.attribution
                     for row in frame.itertuples())


def pack(db: Path, config: PackConfig, lists: dict[str, list[str]] | None = None) -> Pack:
    """The pack's framework and cities, or PackError naming the key."""
    framework = config.framework or HEADLINE
    known = pack_reads.frameworks(db)
    if framework not in known:
        raise PackError(f"framework: no score run of {framework!r}; there are: "
                        + ", ".join(known))
    ids = _city_ids(db, config, framework, lists or {})
    scores = pack_reads.node_scores(db, framework, ids)
    unscored = [i for i in ids if i not in set(scores["city_id"])]
    notes = []
    if unscored and (config.cities.named is not None or unscored[0] == ids[0]):
        # cities the user named (or the city of a peer group) are never left out silently
        raise PackError(f"cities: {framework} does not score {', '.join(unscored[:5])}")
    if unscored:
        notes.append(f"cities: {len(unscored)} of the {len(ids) - 1} peers left out, "
                     f"{framework} not scoring them (first: {', '.join(unscored[:5])})")
        ids = [i for i in ids if i not in set(unscored)]
    return Pack(db, framework, pack_reads.cities(db, ids), scores, notes)


def _city_ids(db: Path, config: PackConfig, framework: str,
              lists: dict[str, list[str]]) -> list[str]:
    cities = config.cities
    if cities.top is not None:
        return pack_reads.top_cities(db, framework, cities.top)
    with reading(db) as con:
        if cities.named is not None:
            return list(dict.fromkeys(_find(con, text, f"cities.list[{at}]")
                                      for at, text in enumerate(cities.named, 1)))
        from app.compare_cli import CompareError, compare

        city = _find(con, cities.peers.city, "cities.peers.city")
        try:
            found = compare(con, city, cities.peers.group, framework, cities.peers.k, lists)
        except CompareError as error:
            raise PackError(f"cities.peers.group: {error}") from None
        return [city, *found.group.ids]


def _find(con, text: str, key: str) -> str:
    try:
        return find_city(con, text)[0]
    except CityNotFound as error:
        raise PackError(f"{key}: {error}") from None


def figures(pk: Pack, config: PackConfig) -> Iterator[Figure]:
    """Every chart of the config, in its order, each named after its place and kind."""
    for at, chart in enumerate(config.chart, 1):
        for suffix, figure in BUILDERS[chart.kind](pk, chart):
            name = f"{at:02d}-{chart.kind.replace('_', '-')}" + (f"-{suffix}" if suffix else "")
            yield _titled(figure, chart, name)


def _titled(figure: Figure, chart: Chart, name: str) -> Figure:
    """The config's title replaces the chart's, its subtitle comes first; the lines, wrapped
    for a phone on the app's pages, are wrapped for a page here."""
    title = figure.chart.title
    text = chart.title or " ".join(_lines(title.text))
    lines = [chart.subtitle or "", " ".join(_lines(title.subtitle))]
    title.text = textwrap.wrap(text, TITLE_CHARS)
    title.subtitle = [part for line in lines for part in textwrap.wrap(line, LINE_CHARS)]
    return dataclasses.replace(figure, name=name)


def _lines(value) -> list[str]:
    return [value] if isinstance(value, str) else [] if value is alt.Undefined else list(value)


def _figure(pk: Pack, kind: str, chart: alt.TopLevelMixin, data: pd.DataFrame,
            sources: list[str]) -> Figure:
    return Figure("", kind, chart, data.reset_index(drop=True), tuple(sources),
                  pk.credits(sources))


# --- the kinds ----------------------------------------------------------------------------


def _ranking(pk: Pack, chart: Chart) -> Iterator[tuple[str, Figure]]:
    rows = pk.node("index").sort_values(["rank", "city_id"], na_position="last")
    frame = pd.DataFrame({
        "city_id": rows["city_id"], "name": rows["name"], "country_iso2": rows["country_iso2"],
        "country": rows["country"], "continent_name": rows["continent_name"],
        "score": rows["value"], "rank": rows["rank"], "percentile": rows["percentile"],
        "official_rank": rows["rank"], "rank_low": rows["rank_low"],
        "rank_high": rows["rank_high"]})
    sources = pack_reads.source_ids(pk.db, framework=pk.framework)
    bars = charts.rankings_bar(frame, index_label(pk.framework), NO_CREDITS,
                               scope="the cities of this pack")
    intervals = charts.rank_intervals(frame, NO_CREDITS, "The intervals are the score run's "
                                      "uncertainty analysis (its method file says how).")
    # side by side under one title: the bars' (the intervals' explanation joins its lines)
    title = bars.title
    title.subtitle = [*title.subtitle, *intervals.title.subtitle]
    for part, width in ((bars, 420), (intervals, 300)):
        part.title, part.autosize, part.width = alt.Undefined, alt.Undefined, width
    both = alt.hconcat(bars, intervals, title=title)
    yield "", _figure(pk, "ranking", both, frame, sources)


def _heatmap(pk: Pack, chart: Chart) -> Iterator[tuple[str, Figure]]:
    rows = pk.node("dimension")
    order = pk.node("index").sort_values(["rank", "city_id"], na_position="last")["city_id"]
    rows = rows.assign(at=rows["city_id"].map({c: i for i, c in enumerate(order)}))
    frame = rows.sort_values(["at", "label"])[["city_id", "name", "country_iso2", "node_id",
                                               "label", "normalised"]]
    if frame.empty:
        raise PackError(f"chart heatmap: {pk.framework} has no dimension")
    sources = pack_reads.source_ids(pk.db, framework=pk.framework)
    yield "", _figure(pk, "heatmap", charts.dimension_heatmap(frame, NO_CREDITS),
                      frame, sources)


def _scatter(pk: Pack, chart: Chart) -> Iterator[tuple[str, Figure]]:
    axes = []
    for key, node in (("x", chart.x), ("y", chart.y)):
        rows = pk.scores[pk.scores["node_id"] == node]
        if rows.empty:
            nodes = ", ".join(sorted(set(pk.scores["node_id"])))
            raise PackError(f"chart scatter {key}: {node!r} is no node of {pk.framework}; "
                            f"its nodes: {nodes}")
        kind = rows["node_kind"].iloc[0]
        column = "value" if kind == "indicator" else "normalised"
        values = rows.set_index("city_id")[column]
        unit = rows["unit"].dropna().iloc[0] if rows["unit"].notna().any() else "score"
        positive = values.dropna()
        log = bool(len(positive) and (positive > 0).all()
                   and positive.max() / positive.min() > 100)
        axes.append((values, (rows["label"].iloc[0], unit, log)))
    frame = pk.cities.assign(x=pk.cities["city_id"].map(axes[0][0]),
                             y=pk.cities["city_id"].map(axes[1][0])).dropna(subset=["x", "y"])
    sources = pack_reads.source_ids(pk.db, indicator_ids=[chart.x, chart.y])
    figure = charts.indicator_scatter(frame, None, axes[0][1], axes[1][1], NO_CREDITS,
                                      note=f"{len(frame):,} cities of this pack.", named=True)
    yield "", _figure(pk, "scatter", figure, frame[["city_id", "name", "x", "y"]], sources)


def _connectivity(pk: Pack, chart: Chart) -> Iterator[tuple[str, Figure]]:
    links = pack_reads.links_among(pk.db, list(pk.cities["city_id"]), chart.links)
    sources = pack_reads.source_ids(pk.db, link_kinds=chart.links)
    figure = maps.links_among(pk.cities, links, NO_CREDITS)
    data = links[["kind", "city_a", "city_b", "weight"]]
    yield "", _figure(pk, "connectivity_map", figure, data, sources)


def _reach(pk: Pack, chart: Chart) -> Iterator[tuple[str, Figure]]:
    networks = chart.networks or pack_reads.networks_of(
        pk.db, list(pk.cities["city_id"]))[:chart.top_networks]
    if not networks:
        pk.notes.append("network_reach: none of the cities is a member of a city network "
                        "this warehouse holds (load ClimActor or Wikidata's memberships)")
    for network in networks:
        members = explore.network_members(pk.db, network)
        if members.empty:
            raise PackError(f"chart network_reach networks: no city network named {network!r}")
        sources = pack_reads.source_ids(pk.db, network=network)
        figure = maps.members(members, network, NO_CREDITS)
        yield _slug(network), _figure(pk, "network_reach", figure, members[["city_id"]], sources)


def _cards(pk: Pack, chart: Chart) -> Iterator[tuple[str, Figure]]:
    """Each city's score on every node, placed among the pack's cities' (their range, middle
    half and median): its report card against the cities it is shown with."""
    sources = pack_reads.source_ids(pk.db, framework=pk.framework)
    spread = _spread(pk.scores)
    for city in pk.cities.itertuples():
        mine = pk.scores[(pk.scores["city_id"] == city.city_id) & pk.scores["normalised"].notna()]
        rows = _framework_order(mine).merge(spread, on="node_id")
        rows = rows.rename(columns={"normalised": "city"})[
            ["node_id", "label", "node_kind", "city", "low", "q1", "median", "q3", "high",
             "rank"]]
        figure = charts.dot_range(
            rows, city.name, f"{city.name}, {city.country}: its scores among the "
            f"{len(pk.cities):,} cities of this pack", "Score (0-1, higher is better)",
            NO_CREDITS, domain=(0, 1), step=18)
        yield _slug(f"{city.name}-{city.city_id}"), _figure(pk, "city_card", figure, rows, sources)


def _spread(scores: pd.DataFrame) -> pd.DataFrame:
    """Per node, the range, quartiles and median of the pack's cities' scores."""
    def quantiles(values: pd.Series) -> pd.Series:
        q = np.quantile(values.dropna(), [0, .25, .5, .75, 1]) if values.notna().any() else [
            np.nan] * 5
        return pd.Series(q, index=["low", "q1", "median", "q3", "high"])

    return scores.groupby("node_id")["normalised"].apply(quantiles).unstack().reset_index()


def _framework_order(rows: pd.DataFrame) -> pd.DataFrame:
    """The index, then each dimension followed by its indicators (by label)."""
    kind = rows["node_kind"].map({"index": 0, "dimension": 1, "indicator": 1})
    group = rows["parent"].where(rows["node_kind"] == "indicator", rows["node_id"]).fillna("")
    order = rows.assign(_kind=kind, _group=group,
                        _leaf=(rows["node_kind"] == "indicator").astype(int))
    return order.sort_values(["_kind", "_group", "_leaf", "label"]).drop(
        columns=["_kind", "_group", "_leaf"])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


BUILDERS: dict[str, Callable[[Pack, Chart], Iterator[tuple[str, Figure]]]] = {
    "ranking": _ranking, "heatmap": _heatmap, "scatter": _scatter,
    "connectivity_map": _connectivity, "network_reach": _reach, "city_card": _cards,
}
