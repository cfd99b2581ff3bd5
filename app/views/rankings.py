"""Rankings: the top cities by the composite index, among all cities, a continent or a country."""

import streamlit as st

from app import charts, reads, ui
from warehouse import read_model

st.title("City rankings")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    countries = reads.countries(snap)
    left, middle, right = st.columns([2, 3, 1])
    names = read_model.CONTINENTS
    continents = sorted(countries["continent"].unique(), key=lambda c: names.get(c, c))
    continent = left.selectbox("Continent", [None, *continents],
                               format_func=lambda c: "All" if c is None else names[c])
    in_scope = countries if continent is None else countries[countries["continent"] == continent]
    country = middle.selectbox(
        "Country", [None, *in_scope["iso2"]],
        format_func=lambda c: "All" if c is None
        else in_scope.set_index("iso2").loc[c, "name"])
    top = right.number_input("Top", min_value=5, max_value=200, value=25, step=5)

    ranking = reads.rankings(snap, ui.FRAMEWORK, continent, country, int(top))
    if ranking.empty:
        st.warning("No scored cities match these filters.")
    else:
        scope = ("all cities" if continent is None and country is None
                 else f"cities of {ranking['country'].iloc[0]}" if country
                 else f"cities of {read_model.CONTINENTS[continent]}")
        st.caption(f"Scored: {int(ranking['matching'].iloc[0]):,} ({scope}). Rank 1 = highest "
                   "score; the percentile is the share of the other cities scoring below.")
        index_name = read_model.index_label(ui.FRAMEWORK)
        st.altair_chart(charts.rankings_bar(ranking, index_name,
                                            reads.attributions(snap, ui.FRAMEWORK),
                                            scope=scope), width="stretch")
        st.dataframe(
            ranking[["rank", "rank_range", "name", "country", "continent_name", "score",
                     "percentile", "rank_country", "rank_continent", "population"]],
            hide_index=True, width="stretch",
            column_config={
                "rank": "Rank",
                "rank_range": st.column_config.TextColumn(
                    "Rank 5-95%", help="How far the rank moves when the weights and the "
                    "normalisation are varied (Monte Carlo; the method file says how)"),
                "name": "City", "country": "Country",
                "continent_name": "Continent",
                "score": st.column_config.NumberColumn("Score", format="%.3f"),
                "percentile": st.column_config.NumberColumn("Percentile", format="%.2f"),
                "rank_country": "Rank in country", "rank_continent": "Rank in continent",
                "population": st.column_config.NumberColumn("Population", format="localized"),
            },
        )
    ui.attribution_footer(snap, ui.FRAMEWORK)
