"""A city against all cities, its country and its continent: every indicator and the index."""

import pandas as pd
import streamlit as st

from app import charts, lookup, networks, reads, ui
from warehouse import read_model


def network_section(snap: reads.Snapshot, city_id: str, name: str) -> None:
    """Relational measures as the refresh stored them: firms' interlocks, air routes, city
    networks, twinning."""
    measures = reads.network_measures(snap, city_id)
    st.subheader("Networks")
    if measures.empty:
        st.caption("No firm, air, city-network or twinning data for this city.")
        return
    st.dataframe(networks.measure_rows(measures), hide_index=True, width="stretch")
    notes = networks.matrices(measures)
    if measures["indicator_id"].str.startswith("air_").any():
        notes.append(networks.AIR_NOTE)
    for note in notes:
        st.caption(note)
    reach = reads.network_reach(snap, city_id)
    if len(reach):
        st.caption("Reach of its city networks (each counted once; the years it is listed)")
        st.dataframe(reach, hide_index=True, width="stretch")
    partners = reads.air_partners(snap, city_id)
    if len(partners):
        st.altair_chart(charts.strongest_links(partners, name, reads.attributions(snap)),
                        width="stretch")


OUTCOME_LABELS = {"worked": ":green[worked]", "mixed": ":orange[mixed]", "failed": ":red[failed]"}


def practice_section(snap: reads.Snapshot, city_id: str) -> None:
    """The city's practices and lessons, when it has any: what failed is shown like what
    worked, because other cities learn as much from it."""
    # one small query of its own: app/reads.py caches the other reads per version
    practices = read_model.city_practices(snap.path, city_id)
    if practices.empty:
        return
    st.subheader("Practices and lessons")
    for row in practices.itertuples(index=False):
        st.markdown(f"**{row.title}** ({row.year}) · outcome: "
                    f"**{OUTCOME_LABELS.get(row.outcome, row.outcome)}**")
        st.markdown(row.lesson)
        st.caption(f"Source: [{row.source_url}]({row.source_url}) · licence: {row.licence}")


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


def _ranked_profile(snap, city_id: str) -> tuple[str, pd.DataFrame]:
    """The city's scores in the headline benchmark, or, for a city it does not rank, in the
    framework every city of the registry has (ui.FRAMEWORK)."""
    profile = reads.profile(snap, ui.HEADLINE, city_id)
    index = profile[profile["node_kind"] == "index"]
    if len(index) and index["rank"].notna().all():
        return ui.HEADLINE, profile
    return ui.FRAMEWORK, reads.profile(snap, ui.FRAMEWORK, city_id)


def _candidate_links(candidates: pd.DataFrame) -> str:
    return "\n".join(f"- [{line.strip()}](?city={city_id})" for city_id, line in
                     zip(candidates["city_id"], lookup.candidate_lines(candidates), strict=True))


def _chosen_city(snap) -> str:
    """The city the page shows: the one the search names, else the one the URL names, else the
    most populous; a name that names several cities (or none) lists them, and the page waits
    for a choice: it never picks one for the user."""
    requested = st.query_params.get("city")
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
                       (line.strip() for line in lookup.candidate_lines(candidates)),
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


st.title("City profile")
snap = ui.published()
if snap is not None:
    ui.freshness(snap)
    city_id = _chosen_city(snap)
    st.query_params["city"] = city_id

    city = reads.city(snap, city_id).iloc[0]
    framework, profile = _ranked_profile(snap, city_id)
    st.subheader(f"{city['name']}, {city['country']}")
    st.caption(f"{read_model.CONTINENTS.get(city['continent'], city['continent'])} · "
               + " · ".join(population_lines(reads.populations(snap, city_id),
                                             city["population"]))
               + (" · national capital" if city["is_capital"] else ""))
    if profile.empty:
        st.info("This city has no scores in the current run.")
        practice_section(snap, city_id)
        st.stop()

    index = profile[profile["node_kind"] == "index"].iloc[0]
    if framework != ui.HEADLINE:
        st.caption(f"Outside the headline benchmark's cities (the UN's agglomerations of "
                   f"300,000+, ranked on every dimension): ranked by the {index['label']}.")
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
        # counts (routes, cities, countries) read as whole numbers, not "171.00 cities"
        digits = 0 if float(value).is_integer() else 2
        return f"{value:,.{digits}f} {unit}"

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
    distribution = reads.distribution(snap, framework, measure)
    st.altair_chart(
        charts.where_city_stands(distribution, profile, city["name"], measure,
                                 reads.attributions(snap, framework)),
        width="stretch")
    network_section(snap, city_id, city["name"])
    practice_section(snap, city_id)
    ui.attribution_footer(snap, framework)

