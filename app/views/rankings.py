"""Rankings: the top cities by a framework's index (the headline by default), among all cities,
a continent or a country, with the framework's methodology and the notes of its run."""

import pandas as pd
import streamlit as st

from app import charts, reads, ui
from warehouse import read_model


def _choose_framework(runs: pd.DataFrame) -> str | None:
    """The framework to show: a picker over every framework scored, the headline first and
    chosen unless its run scored no city (its sources not loaded), then the first that did."""
    if runs.empty:
        return None
    ids = sorted(runs["framework_id"], key=lambda f: (f != ui.HEADLINE, f))
    cities = dict(zip(runs["framework_id"], runs["cities"], strict=True))
    start = next((i for i, f in enumerate(ids) if cities[f] > 0), 0)
    return st.selectbox(
        "Index", ids, index=start, key="framework",
        format_func=lambda f: read_model.index_label(f)
        + (" (headline)" if f == ui.HEADLINE else "")
        + ("" if cities[f] else " — not scored"),
        help="Every framework the refresh scores; the headline is the project's benchmark.")


def _methodology(snap: reads.Snapshot, framework: str) -> None:
    texts = reads.methodology(snap, framework)
    notes = texts["notes"]
    unscored = [n for n in (notes or "").splitlines() if n.startswith("not scored")]
    if unscored:
        st.info(unscored[0][0].upper() + unscored[0][1:] + ".")
    with st.expander("How this index is made (methodology, and what this run left out)"):
        if notes:
            st.markdown("**This run**\n\n" + "\n".join(f"- {n}" for n in notes.splitlines()))
        if texts["methodology"]:
            st.markdown(texts["methodology"])
        elif not notes:
            st.caption("This run was recorded without a methodology text.")


st.title("City rankings")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    picker = st.container()
    countries = reads.countries(snap)
    left, middle, right = st.columns([2, 3, 1])
    names = read_model.CONTINENTS
    continents = sorted(countries["continent"].unique(), key=lambda c: names.get(c, c))
    continent = left.selectbox("Continent", [None, *continents], key="continent",
                               format_func=lambda c: "All" if c is None else names[c])
    in_scope = countries if continent is None else countries[countries["continent"] == continent]
    country = middle.selectbox(
        "Country", [None, *in_scope["iso2"]], key="country",
        format_func=lambda c: "All" if c is None
        else in_scope.set_index("iso2").loc[c, "name"])
    top = right.number_input("Top", min_value=5, max_value=200, value=25, step=5)
    with picker:
        framework = _choose_framework(reads.frameworks(snap))
    if framework is None:
        st.warning("No framework has been scored yet.")
        st.stop()
    with picker:
        _methodology(snap, framework)

    ranking = reads.rankings(snap, framework, continent, country, int(top))
    if ranking.empty:
        st.warning("No scored cities match these filters.")
    else:
        scope = ("all cities" if continent is None and country is None
                 else f"cities of {ranking['country'].iloc[0]}" if country
                 else f"cities of {read_model.CONTINENTS[continent]}")
        st.caption(f"Scored: {int(ranking['matching'].iloc[0]):,} ({scope}). Rank 1 = highest "
                   "score; the percentile is the share of the other cities scoring below.")
        index_name = read_model.index_label(framework)
        st.altair_chart(charts.rankings_bar(ranking, index_name,
                                            reads.attributions(snap, framework),
                                            scope=scope), width="stretch")
        st.dataframe(
            # the continent is the bars' colour and a filter: its column gives way to the
            # two population figures
            ranking[["rank", "rank_range", "name", "country", "score",
                     "percentile", "rank_country", "rank_continent",
                     "agglomeration_population", "population"]],
            hide_index=True, width="stretch",
            column_config={
                "rank": "Rank",
                "rank_range": st.column_config.TextColumn(
                    "Rank 5-95%", help="How far the rank moves when the weights and the "
                    "normalisation are varied (Monte Carlo; the method file says how)"),
                "name": "City", "country": "Country",
                "score": st.column_config.NumberColumn("Score", format="%.3f"),
                "percentile": st.column_config.NumberColumn("Percentile", format="%.1f"),
                "rank_country": st.column_config.NumberColumn(
                    "In country", help="Rank among the country's cities"),
                "rank_continent": st.column_config.NumberColumn(
                    "In continent", help="Rank among the continent's cities"),
                # two definitions of a city's population, each named (Atlanta: 0.5 M and 6.3 M)
                "population": st.column_config.NumberColumn(
                    "Pop. (GeoNames)", format="localized",
                    help=read_model.POPULATIONS["population"]),
                "agglomeration_population": st.column_config.NumberColumn(
                    "Agglomeration (UN)", format="localized",
                    help=read_model.POPULATIONS["agglomeration_population"]
                    + ", the latest year up to this one (a projection from the 2018 revision)"),
            },
        )
    ui.attribution_footer(snap, framework)
