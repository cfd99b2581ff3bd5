"""Any indicator the warehouse holds: how cities spread on it, against a second one, over time
for one city, and on the world map. The indicator, the second one, the period and the city are
in the address (?indicator=&versus=&period=&city=), so a shared URL opens the same view."""

from datetime import date

import pandas as pd
import streamlit as st

from app import charts, city_param, maps, params, reads, ui

# Charts of single cities show at most this many (the most populous that have the value):
# Altair refuses more than 5,000 rows, and a browser draws 4,000 dots at once without a pause.
MOST_POPULOUS = 4000
# Positive values spanning this many times from least to most read better on a log scale.
LOG_SPAN = 100


def _default_indicator(catalogue: pd.DataFrame, *preferred: str) -> str:
    held = set(catalogue["indicator_id"])
    return next((one for one in preferred if one in held), catalogue["indicator_id"].iloc[0])


def _picked(key: str, widget_key: str, options: list[str], default: str, label: str,
            names: dict[str, str], from_address: bool = True) -> str:
    """A picker that opens on the address's value (else `default`) and is the user's after."""
    if widget_key not in st.session_state:
        st.session_state[widget_key] = (params.choice(key, options, default) if from_address
                                        else default)
    return st.selectbox(label, options, format_func=names.get, key=widget_key)


def _default_period(periods: list[int], projections: list[int]) -> int:
    """The latest period that is no projection and not beyond this year, else the latest."""
    current = [p for p in periods if p not in projections and p <= date.today().year]
    return (current or periods)[-1]


def _period_label(period: int, projections: list[int]) -> str:
    return f"{period} (projection)" if period in projections else str(period)


def _log(values: pd.Series) -> bool:
    return bool(len(values) > 1 and values.min() > 0
                and values.max() / values.min() >= LOG_SPAN)


def _periods(row: pd.Series) -> tuple[list[int], list[int]]:
    return [int(p) for p in row["periods"]], [int(p) for p in row["projections"]]


def _capped(shown: int, total: int, drawn: str = "the most populous") -> str:
    return (f"Dots: {drawn} {shown:,} of the {total:,} cities that have the values."
            if total > shown else "")


st.title("Explorer")
snap = ui.published()
if snap is None:
    st.stop()
ui.freshness(snap)
catalogue = reads.indicator_catalogue(snap)
if catalogue.empty:
    st.info("The warehouse holds no indicator values yet.")
    st.stop()
by_id = catalogue.set_index("indicator_id")
names = {row.indicator_id: f"{row.name} ({row.unit}) · {row.source_id}"
         for row in catalogue.itertuples()}
ids = list(by_id.index)

left, right = st.columns(2)
with left:
    indicator = _picked("indicator", "indicator", ids, _default_indicator(catalogue, "population"),
                        "Indicator", names)
with right:
    versus = _picked("versus", "versus", ids,
                     _default_indicator(catalogue, "air_routes", "market_potential_300km"),
                     "Against (scatter)", names)
row = by_id.loc[indicator]
periods, projections = _periods(row)
period_names = {str(p): _period_label(p, projections) for p in periods}
default_period = str(_default_period(periods, projections))
if len(periods) > 1:
    # a period of another indicator in the address is not this one's: read it for its own only
    period = int(_picked("period", f"period-{indicator}", list(period_names), default_period,
                         "Period", period_names,
                         from_address=st.query_params.get("indicator") == indicator))
else:
    period = periods[0]
    st.caption(f"One period held: {period_names[str(period)]}.")
city_id = city_param.chosen(snap)

values = reads.indicator_values(snap, indicator, period, MOST_POPULOUS, city_id or "")
if city_id is None and len(values):
    city_id = values["city_id"].iloc[0]  # the most populous city that has the value
params.keep(indicator=indicator, versus=versus,
            period=str(period) if len(periods) > 1 else None, city=city_id)

summary = reads.indicator_summary(snap, indicator, period)
label, unit = row["name"], row["unit"]
every_city = summary[summary["continent"].isna()]
total = int(every_city["cities"].iloc[0]) if len(every_city) else 0
# the scale of every city's values, not only those drawn: a 0 among them rules out a log axis
log = _log(every_city[["min", "max"]].stack()) if total > 1 else False
credits = reads.attributions_of(snap, (indicator,))
projected = " (projection)" if period in projections else ""
st.caption(f"**{label}** ({unit}), {period}{projected}: {total:,} cities. {row['description']}")
chosen = values[values["city_id"] == city_id]
city_name = reads.city(snap, city_id)["name"].iloc[0] if city_id else None
if city_id and chosen.empty:
    st.caption(f"{city_name} has no value of this indicator in {period}.")

st.subheader("How cities spread")
by_continent = st.toggle("By continent", value=True, key="by-continent")
sample = reads.indicator_values(snap, indicator, period, MOST_POPULOUS, city_id or "", True)
ui.chart(charts.indicator_distribution(summary, sample, city_id, label, unit, log, by_continent,
                                       credits,
                                       _capped(len(sample), total, "a fixed random draw of")),
         summary.drop(columns="continent"), "distribution")

st.subheader("Against another indicator")
versus_row = by_id.loc[versus]
versus_period = _default_period(*_periods(versus_row))
pair, both = reads.indicator_pair(snap, indicator, period, versus, versus_period,
                                  MOST_POPULOUS, city_id or "")
if pair.empty:
    st.info(f"No city has both {label} ({period}) and {versus_row['name']} ({versus_period}).")
else:
    axes = ((f"{label}, {period}", unit, _log(pair["x"])),
            (f"{versus_row['name']}, {versus_period}", versus_row["unit"], _log(pair["y"])))
    ui.chart(charts.indicator_scatter(
        pair, city_id, *axes, reads.attributions_of(snap, (indicator, versus)),
        _capped(len(pair), both)), pair, "scatter")

if len(periods) > 1 and city_id:
    st.subheader(f"{city_name} over time")
    series = reads.indicator_series(snap, indicator, city_id)
    if len(series) > 1:
        ui.chart(charts.city_series(series, city_name, label, unit, credits), series, "series")
    else:
        st.caption(f"{label}: {len(series)} period held for {city_name}.")

st.subheader("On the map")
ui.chart(maps.city_values(values, city_id, label, unit, log, credits,
                          _capped(len(values), total)), values, "map")
ui.table_download(reads.indicator_values(snap, indicator, period, total, city_id or ""),
                  "values", f"CSV of all {total:,} cities' values")
ui.attribution_footer(snap)
