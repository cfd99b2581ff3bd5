"""My city: where a city stands among all cities and among its peers (the comparison
`citybench compare` makes, with the same functions), whom it could learn from, its trends and
its networks."""

import pandas as pd
import streamlit as st

from app import city_compare, city_sections, lookup, params, reads, ui
from app.ui import HEADLINE
from warehouse import read_model


def population_lines(figures: pd.DataFrame, listed) -> list[str]:
    """Each population figure with the definition it counts: GeoNames' first, then the UN's
    urban agglomeration and the others the warehouse holds."""
    # GeoNames dates no population: its period is the year it was loaded
    lines = [f"population {int(row.value):,} ({row.definition}, "
             + ("undated)" if row.indicator_id == "population"
                else f"{row.period}" + (", projection)" if row.projected else ")"))
             for row in figures.itertuples() if pd.notna(row.value)]
    if pd.notna(listed) and (figures.empty or figures["indicator_id"].iloc[0] != "population"):
        lines.insert(0, f"population {int(listed):,} (GeoNames: the place as GeoNames lists it)")
    return lines


def _candidate_links(candidates: pd.DataFrame) -> str:
    return "\n".join(f"- [{line.strip()}](?city={city_id})" for city_id, line in
                     zip(candidates["city_id"],
                         lookup.candidate_lines(candidates.to_dict("records")), strict=True))


def _chosen_city(snap) -> str:
    """The city the page shows: the one the search names, else the one the URL names, else the
    most populous; a name that names several cities (or none) lists them, and the page waits
    for a choice: it never picks one for the user."""
    requested = params.text("city")  # the one reading of the address (app/params.py)
    text = st.text_input("Search a city", placeholder="e.g. Lagos, Sao Paulo, München")
    if not text and requested:
        city_id, candidates, problem = reads.city_matches(snap, requested)
        if city_id is None:
            st.error(f"The address names no one city: {problem}.")
            st.markdown(_candidate_links(candidates))
            st.stop()
        requested = city_id  # a name in the address becomes its city's id
    found = reads.search_cities(snap, text)
    labels = dict(zip(found["city_id"], found["label"], strict=True))
    named, candidates, problem = (reads.city_matches(snap, text) if text
                                  else (requested, found.iloc[:0], ""))
    if named is not None:
        labels.setdefault(named, reads.city(snap, named)["label"].iloc[0])
    labels |= dict(zip(candidates["city_id"],
                       (line.strip() for line in
                        lookup.candidate_lines(candidates.to_dict("records"))),
                       strict=True))
    options = list(dict.fromkeys([*([named] if named else []), *candidates["city_id"],
                                  *found["city_id"]]))
    if not options:
        st.warning(f"No city matches {text!r}.")
        st.stop()
    if text and named is None:
        st.info(f"{problem[0].upper()}{problem[1:]}. Choose the city you mean:")
    # one call whatever the branch: a widget whose arguments change is a new widget, and a
    # new one would forget the user's pick
    choice = st.selectbox("City", options, format_func=labels.get,
                          index=0 if named or not text else None,
                          placeholder="Choose a city")
    if choice is None:
        st.stop()
    return choice


def _value(value, unit) -> str:
    if pd.isna(value):
        return "n/a"
    if not isinstance(unit, str):  # the index itself
        return f"{value:.3f}"
    if unit == "0/1":
        return "yes" if value else "no"
    if unit == "persons":
        return f"{value:,.0f}"
    # counts (routes, cities, countries) read as whole numbers, not "171.00 cities"
    digits = 0 if float(value).is_integer() else 2
    return f"{value:,.{digits}f} {unit}"


def _rank(row, suffix) -> str:
    # a yes/no indicator ranks every city without it last together: no rank says anything
    if pd.isna(row["rank" + suffix]) or row["unit"] == "0/1":
        return ""
    return (f"{int(row['rank' + suffix]):,} of {int(row['peers' + suffix]):,} "
            f"(p{row['percentile' + suffix]:.0f})")


def world_ranks(profile: pd.DataFrame, city: pd.Series, framework: str) -> None:
    """The index's rank among all cities, the city's country and its continent, and each
    node's in a table."""
    index = profile[profile["node_kind"] == "index"].iloc[0]
    if framework != HEADLINE:
        st.caption(f"Outside the headline benchmark's cities (the UN's agglomerations of "
                   f"300,000+, ranked on every dimension): ranked by the {index['label']}.")
    continent = read_model.CONTINENTS.get(city["continent"], city["continent"])
    cols = st.columns(3)
    for col, scope, suffix in ((cols[0], "all cities", ""),
                               (cols[1], f"cities of {city['country']}", "_country"),
                               (cols[2], f"cities of {continent}", "_continent")):
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
    table = pd.DataFrame({
        "Measure": profile["label"],
        "Value": [_value(v, u) for v, u in zip(profile["value"], profile["unit"], strict=True)],
        "Among all cities": [_rank(r, "") for _, r in profile.iterrows()],
        "In its country": [_rank(r, "_country") for _, r in profile.iterrows()],
        "In its continent": [_rank(r, "_continent") for _, r in profile.iterrows()],
    })
    with st.expander("Every measure's rank among all cities, its country and its continent"):
        st.dataframe(table, hide_index=True, width="stretch")
        ui.table_download(profile.drop(columns=["direction"], errors="ignore"),
                          f"ranks-{city['city_id']}", "Ranks (CSV)")


st.title("City profile")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    city_id = _chosen_city(snap)
    st.query_params["city"] = city_id

    city = reads.city(snap, city_id).iloc[0]
    about = city.to_dict()
    populations = reads.populations(snap, city_id)
    credits = city_sections.Credits()
    st.subheader(f"{city['name']}, {city['country']}")
    st.caption(f"{read_model.CONTINENTS.get(city['continent'], city['continent'])} · "
               + " · ".join(population_lines(populations, city["population"]))
               + (" · national capital" if city["is_capital"] else ""))
    credits.add(reads.attributions_of(snap, ["population", *populations["indicator_id"]]))

    view = city_sections.peer_choice(snap, city_id, st.columns(3))
    framework = view.comparison.framework if view else ui.FRAMEWORK
    profile = reads.profile(snap, framework, city_id)
    framework_credits = reads.attributions(snap, framework)
    if profile.empty:
        st.info("This city has no scores in the current run.")
    else:
        credits.add(framework_credits)
        world_ranks(profile, city, framework)
    if view is not None and not profile.empty:
        st.subheader("Among its peers")
        universe = reads.context_profile(snap)
        units = profile.set_index("node_id")["unit"]
        table = city_sections.card_table(view, units, about)
        city_sections.report_card(view, table, about)
        city_sections.peer_list(view, universe)
        city_sections.where_it_stands(view, table, about, credits, framework_credits)
        city_sections.profile_chart(view, universe, about, credits,
                                    reads.attributions_of(snap, list(
                                        city_compare.PROFILE_INDICATORS)))
        city_sections.learn_from(view, universe, about)
    city_sections.trends(snap, about, credits)
    city_sections.networks_section(snap, about, credits)
    city_sections.practices_section(snap, city_id)
    credits.footer()
