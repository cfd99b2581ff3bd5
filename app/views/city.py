"""A city against all cities, its country and its continent: every indicator and the index."""

import pandas as pd
import streamlit as st

from app import charts, data, ui

st.title("City profile")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    requested = st.query_params.get("city")
    text = st.text_input("Search a city", placeholder="e.g. Lagos, Sao Paulo, München")
    found = ui.read(snap, "search_cities", text)
    options = found["city_id"].tolist()
    if requested and requested not in options and not text:
        chosen = ui.read(snap, "city", requested)
        if not chosen.empty:
            options = [requested, *options]
            found = pd.concat([chosen[found.columns.intersection(chosen.columns)], found])
    labels = dict(zip(found["city_id"], found["label"], strict=False))
    if not options:
        st.warning(f"No city matches {text!r}.")
        st.stop()
    start = options.index(requested) if requested in options else 0
    city_id = st.selectbox("City", options, index=start, format_func=labels.get)
    st.query_params["city"] = city_id

    city = ui.read(snap, "city", city_id).iloc[0]
    profile = ui.read(snap, "profile", ui.FRAMEWORK, city_id)
    st.subheader(f"{city['name']}, {city['country']}")
    st.caption(f"{data.CONTINENTS.get(city['continent'], city['continent'])} · "
               f"population {int(city['population']):,}"
               + (" · national capital" if city["is_capital"] else ""))
    if profile.empty:
        st.info("This city has no scores in the current run.")
        st.stop()

    index = profile[profile["node_kind"] == "index"].iloc[0]
    cols = st.columns(3)
    for col, scope, suffix in ((cols[0], "all cities", ""),
                               (cols[1], f"cities of {city['country']}", "_country"),
                               (cols[2], f"cities of {data.CONTINENTS.get(city['continent'])}",
                                "_continent")):
        col.metric(f"Rank among {scope}",
                   f"{int(index['rank' + suffix]):,} of {int(index['peers' + suffix]):,}",
                   help=f"Percentile {index['percentile' + suffix]:.1f}: the share of {scope} "
                   "scoring below this city.")
    if pd.notna(index["rank_low"]):
        st.caption(
            f"Rank {int(index['rank']):,} among all cities lies between "
            f"{int(index['rank_low']):,} and {int(index['rank_high']):,} in 90% of the "
            "replications that vary the weights and the normalisation (uncertainty analysis)."
        )

    def _value(value, unit) -> str:
        if pd.isna(value):
            return "n/a"
        if not isinstance(unit, str):  # the index itself
            return f"{value:.3f}"
        if unit == "0/1":
            return "yes" if value else "no"
        if unit == "persons":
            return f"{value:,.0f}"
        return f"{value:,.2f} {unit}"

    def _rank(row, suffix):
        if pd.isna(row["rank" + suffix]):
            return "n/a"
        return (f"{int(row['rank' + suffix]):,} of {int(row['peers' + suffix]):,} "
                f"(p{row['percentile' + suffix]:.0f})")

    table = pd.DataFrame({
        "Measure": profile["label"],
        "Value": [_value(v, u) for v, u in zip(profile["value"], profile["unit"], strict=True)],
        "Among all cities": [_rank(r, "") for _, r in profile.iterrows()],
        "In its country": [_rank(r, "_country") for _, r in profile.iterrows()],
        "In its continent": [_rank(r, "_continent") for _, r in profile.iterrows()],
    })
    st.dataframe(table, hide_index=True, width="stretch")

    measure = st.radio("Chart position by", ["percentile", "normalised"], horizontal=True,
                       format_func={"percentile": "percentile", "normalised": "normalised value"}
                       .get)
    distribution = ui.read(snap, "distribution", ui.FRAMEWORK, measure)
    st.altair_chart(
        charts.where_city_stands(distribution, profile, city["name"], measure,
                                 ui.read(snap, "attributions", ui.FRAMEWORK)),
        width="stretch")
    ui.attribution_footer(snap, ui.FRAMEWORK)
