"""A city against all cities, its country and its continent: every indicator and the index."""

import pandas as pd
import streamlit as st

from app import charts, networks, reads, ui
from warehouse import read_model


def network_section(snap: reads.Snapshot, city_id: str, name: str) -> None:
    """Relational measures: firms' interlocks, air routes, city networks, twinning."""
    measures = reads.network_measures(snap)
    st.subheader("Networks")

    def of(frame: pd.DataFrame):
        return frame.loc[city_id] if city_id in frame.index else None

    air, twins, member = of(measures.air), of(measures.twinning), of(measures.networks)
    rows = []
    for row in measures.firms[measures.firms["city_id"] == city_id].itertuples():
        rows.append((f"Interlocking connectivity ({row.dataset_id})", f"{row.connectivity:,.0f}",
                     f"{row.rank:,} of {row.cities:,} · {row.share:.0%} of the top · "
                     f"{row.tier or 'no tier'}"))
    if air is not None:
        among = f"of {len(measures.air):,} cities with flights"
        rows += [
            ("Air: cities served directly", f"{air['partners']:,.0f}",
             f"{int(air['partners_rank']):,} {among}"),
            ("Air: airline routes", f"{air['weighted_degree']:,.0f}",
             f"{int(air['weighted_degree_rank']):,} {among}"),
            ("Air: countries and continents reached",
             f"{air['countries']:,.0f} and {air['continents']:,.0f}", ""),
            ("Air: routes abroad", f"{air['international_share']:.0%}", ""),
            ("Air: betweenness", f"{air['betweenness']:.4f}",
             f"{int(air['betweenness_rank']):,} {among}"),
            ("Air: eigenvector centrality", f"{air['eigenvector']:.3f}",
             f"{int(air['eigenvector_rank']):,} {among}"),
        ]
    if member is not None:
        rows += [("City networks", f"{member['memberships']:,.0f}",
                  f"{member['partners']:,.0f} partner cities through them")]
    if twins is not None:
        rows += [("Twinned cities", f"{twins['partners']:,.0f}",
                  f"in {twins['countries']:,.0f} countries, {twins['continents']:,.0f} "
                  f"continents · {int(twins['partners_rank']):,} of {len(measures.twinning):,}")]
    if not rows:
        st.caption("No firm, air, city-network or twinning data for this city.")
        return
    st.dataframe(pd.DataFrame(rows, columns=["Measure", "Value", "Rank"]), hide_index=True,
                 width="stretch")
    members = reads.memberships(snap)
    mine = measures.reach.loc[measures.reach.index.isin(
        members.loc[members["city_id"] == city_id, "network_id"])]
    if len(mine):
        st.caption("Reach of its city networks")
        st.dataframe(mine[["network", "cities", "countries", "continents"]]
                     .sort_values("cities", ascending=False), hide_index=True, width="stretch")
    if air is not None:
        places = reads.places(snap)
        st.altair_chart(charts.strongest_links(
            networks.strongest_air_partners(measures, city_id, places), name,
            reads.attributions(snap)), width="stretch")

st.title("City profile")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    requested = st.query_params.get("city")
    text = st.text_input("Search a city", placeholder="e.g. Lagos, Sao Paulo, München")
    found = reads.search_cities(snap, text)
    options = found["city_id"].tolist()
    if requested and requested not in options and not text:
        chosen = reads.city(snap, requested)
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

    city = reads.city(snap, city_id).iloc[0]
    profile = reads.profile(snap, ui.FRAMEWORK, city_id)
    st.subheader(f"{city['name']}, {city['country']}")
    st.caption(f"{read_model.CONTINENTS.get(city['continent'], city['continent'])} · "
               f"population {int(city['population']):,}"
               + (" · national capital" if city["is_capital"] else ""))
    if profile.empty:
        st.info("This city has no scores in the current run.")
        st.stop()

    index = profile[profile["node_kind"] == "index"].iloc[0]
    cols = st.columns(3)
    for col, scope, suffix in ((cols[0], "all cities", ""),
                               (cols[1], f"cities of {city['country']}", "_country"),
                               (cols[2],
                                f"cities of {read_model.CONTINENTS.get(city['continent'])}",
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
    distribution = reads.distribution(snap, ui.FRAMEWORK, measure)
    st.altair_chart(
        charts.where_city_stands(distribution, profile, city["name"], measure,
                                 reads.attributions(snap, ui.FRAMEWORK)),
        width="stretch")
    network_section(snap, city_id, city["name"])
    ui.attribution_footer(snap, ui.FRAMEWORK)
