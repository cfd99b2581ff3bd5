"""The sections of the "My city" page below its header: the choice of peers, the report card
against them, where the city stands in each peer distribution (a bullet chart), its context
profile, its trends, whom to learn from, its networks and its practices.

Each section draws from the comparison `citybench compare` makes (app.city_compare) and adds
the sources it shows to `credits`, which the page's footer lists: every source shown, and
only those."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import charts, city_compare, networks, params, reads, ui
from app.compare_cli import FRAMEWORKS, LEARN_FROM_K, CompareError
from indicators.peers import groups
from warehouse.connect import WarehouseMissing

DEFAULT_K = 10
MAX_K = 50
OUTCOME_LABELS = {"worked": ":green-badge[worked]", "mixed": ":orange-badge[mixed]",
                  "failed": ":red-badge[failed]"}


class Credits(list):
    """The attribution texts of what the page shows, each once, in the order first shown."""

    def add(self, texts) -> list[str]:
        for text in texts:
            if text not in self:
                self.append(text)
        return list(texts)

    def footer(self) -> None:
        if self:
            st.divider()
            st.caption("Sources: " + " · ".join(self))


# --- the choice of peers and framework -------------------------------------------------------


def peer_choice(snap: reads.Snapshot, city_id: str, columns) -> city_compare.CityPeers | None:
    """The peers and framework widgets (their state in the URL: peers=, k=, framework=) and
    the comparison they ask for; None (with one line saying why) when there is none."""
    lists = ui.peer_lists()
    options = list(city_compare.RULE_LABELS) + sorted(set(lists) - set(city_compare.RULE_LABELS))
    default = groups.NearestProfile.name
    asked = params.choice("peers", options, default)
    peers = columns[0].selectbox(
        "Peers", options, index=options.index(asked), key="peers",
        format_func=lambda name: city_compare.RULE_LABELS.get(name, f"Saved list: {name}"),
        help="Whom the city is compared with: a documented rule (citybench compare --peers) "
             "or a list saved under [peers.lists] in the config.")
    k = int(params.number("k", 1, MAX_K, DEFAULT_K))
    if peers == default:
        k = int(columns[1].number_input(
            "Nearest cities", 1, MAX_K, k, step=1, key="k",
            help="How many of the cities nearest on the context profile are the peers."))
    try:
        view = reads.city_peers(snap, city_id, peers, None, k, lists)
    except WarehouseMissing as error:
        st.info(f"No peer comparison: {error}")
        return None
    except CompareError as error:
        if peers == default:
            st.warning(f"No peer comparison: {error}", icon=":material/group_off:")
            return None
        # a saved list naming a city the registry lacks: said, and the default peers instead
        st.warning(f"Peers '{peers}': {error}; compared with the nearest on the profile "
                   "instead.", icon=":material/group_off:")
        peers = default
        view = reads.city_peers(snap, city_id, peers, None, k, lists)
    chosen = view.comparison.framework
    scoring = view.scoring or [chosen]
    asked_framework = params.choice("framework", scoring, chosen)
    framework = columns[2].selectbox(
        "Framework", scoring, index=scoring.index(asked_framework), key="framework",
        format_func=lambda f: f.replace("_", " ").capitalize(),
        help="The frameworks whose current run scores this city; the first of "
             f"{', '.join(FRAMEWORKS)} that does is the default, as for `citybench compare`.")
    if framework != chosen:
        view = reads.city_peers(snap, city_id, peers, framework, k, lists)
    params.keep(peers=None if peers == default else peers,
                k=str(k) if peers == default and k != DEFAULT_K else None,
                framework=None if framework == chosen else framework)
    return view


# --- the report card ---------------------------------------------------------------------------


def _names(view: city_compare.CityPeers, city: dict) -> dict[str, str]:
    peers = view.peers
    return dict(zip(peers["city_id"], peers["name"], strict=True)) | {city["city_id"]:
                                                                         city["name"]}


def card_table(view: city_compare.CityPeers, units: pd.Series, city: dict) -> pd.DataFrame:
    """The report card as shown and downloaded: compare()'s card in the framework's nesting,
    numbers as numbers, each node named, with its unit and its mark. A yes/no indicator has
    no rank: only 0 or 1."""
    comparison = view.comparison
    nodes = city_compare.framework_order(view.nodes, view.parents)
    marks = pd.Series("", index=nodes.index)
    marks[nodes["node_id"].isin(view.strengths)] = "strength"
    marks[nodes["node_id"].isin(view.weaknesses)] = "weakness"
    unit = nodes["node_id"].map(units)
    yes_no = unit == "0/1"
    unranked = {column: nodes[column].mask(yes_no) for column in ("rank", "percentile")}
    return pd.DataFrame({
        "node_id": nodes["node_id"],
        "measure": nodes["node_id"].map(comparison.labels).fillna(nodes["node_id"]),
        "level": nodes["node_kind"],
        "value": nodes["value"],
        "unit": unit.where(~yes_no, "yes (1) / no (0)").where(nodes["node_kind"] == "indicator",
                                                               "score 0-1"),
        "score": nodes["normalised"],
        "rank": unranked["rank"], "compared": nodes["compared"],
        "percentile": unranked["percentile"],
        "peer_q1": nodes["peer_q1"], "peer_median": nodes["peer_median"],
        "peer_q3": nodes["peer_q3"],
        "gap_to_median": nodes["gap_to_median"], "gap_to_best": nodes["gap_to_best"],
        "best": nodes["best_city_id"].map(_names(view, city)),
        "change": nodes["change"], "previous_period": nodes["previous_period"],
        "period": nodes["period"],
        "mark": marks,
        "rank_low": nodes["rank_low"], "rank_high": nodes["rank_high"],
    })


_NUMBER = st.column_config.NumberColumn
CARD_COLUMNS = {
    "node_id": None,
    "measure": st.column_config.TextColumn("Measure", pinned=True),
    "level": "Level",
    # wide enough for a population in the millions, which the default width cuts
    "value": _NUMBER("Value", format="localized", width=110,
                     help="As the source gives it, in its unit"),
    "unit": "Unit",
    "score": _NUMBER("Score", format="%.3f",
                     help="Normalised 0 to 1, higher is better: what the ranks compare"),
    "rank": _NUMBER("Rank among peers", format="%d"),
    "compared": _NUMBER("Of", format="%d", help="The city and its peers with a score"),
    "percentile": _NUMBER("Percentile", format="%.0f",
                          help="Share of the peers scoring below the city"),
    "peer_q1": _NUMBER("Peers' lower quartile", format="%.3f"),
    "peer_median": _NUMBER("Peers' median", format="%.3f"),
    "peer_q3": _NUMBER("Peers' upper quartile", format="%.3f"),
    "gap_to_median": _NUMBER("Gap to median", format="%+.3f"),
    "gap_to_best": _NUMBER("Gap to best", format="%+.3f"),
    "best": "Best among them",
    "change": _NUMBER("Change since previous period", format="localized",
                      help="In the value's unit"),
    "previous_period": _NUMBER("Previous period", format="%d"),
    "period": _NUMBER("Period", format="%d"),
    "mark": "Strength / weakness",
    "rank_low": _NUMBER("Rank interval: from", format="%d",
                        help="Among all the cities the run scored (uncertainty analysis)"),
    "rank_high": _NUMBER("to", format="%d"),
}


def report_card(view: city_compare.CityPeers, table: pd.DataFrame, city: dict) -> None:
    comparison = view.comparison
    card, group = comparison.card, comparison.group
    rule = city_compare.RULE_LABELS.get(group.rule) or f"the list {group.parameters['label']}"
    st.markdown(f"**Report card** against its {len(group.peers):,} peers "
                f"({rule.lower()}), on the {comparison.framework.replace('_', ' ')} framework",
                help=group.description)
    if not group.applies:
        st.info(f"The rule does not apply to {city['name']}: {group.reason}.")
    if table.empty:
        st.info(f"{city['name']} has no score in the current run of {comparison.framework}.")
        return
    # every node in view without scrolling the table (35 px a row, the header one more)
    st.dataframe(table, hide_index=True, width="stretch", column_config=CARD_COLUMNS,
                 height=35 * (min(len(table), 25) + 1) + 3)
    ui.table_download(table, f"report-card-{city['city_id']}", "Report card (CSV)")
    for title, picked in (("Strengths among the peers", view.strengths),
                          ("Weaknesses among the peers", view.weaknesses)):
        names = [comparison.labels.get(node, node) for node in picked]
        st.caption(f"{title}: {', '.join(names) or 'none'}")
    for note in (*comparison.notes, *card.notes, *group.notes):
        st.caption(f"Note: {note}")


def peer_list(view: city_compare.CityPeers, universe: pd.DataFrame) -> None:
    """The peers, each with why it is one and its context profile as read."""
    group = view.comparison.group
    peers = view.peers.set_index("city_id")
    known = universe.reindex(peers.index)
    frame = pd.DataFrame({
        "city_id": peers.index, "name": peers["name"], "country": known["country_name"],
        "distance": peers["distance"] if "distance" in peers else float("nan"),
        "agglomeration_population": known["agglomeration_population"],
        "growth": known["growth"], "air_destinations": known["air_destinations"],
        "air_routes": known["air_routes"], "twin_partners": known["twin_partners"],
        "evidence": peers["evidence"],
    }).reset_index(drop=True)
    with st.expander(f"The {len(frame):,} peers ({group.rule})"):
        st.dataframe(frame, hide_index=True, width="stretch", column_config={
            "city_id": "Id", "name": "City", "country": "Country",
            "distance": _NUMBER("Profile distance", format="%.3f"),
            "agglomeration_population": _NUMBER("Agglomeration population",
                                                format="localized"),
            "growth": _NUMBER("Growth (% a year)", format="%.2f"),
            "air_destinations": _NUMBER("Cities served by air", format="%d"),
            "air_routes": _NUMBER("Airline routes", format="%d"),
            "twin_partners": _NUMBER("Twin cities", format="%d"),
            "evidence": "Why a peer"})
        ui.table_download(frame, f"peers-{group.city_id}", "Peers (CSV)")


def where_it_stands(view: city_compare.CityPeers, table: pd.DataFrame, city: dict,
                    credits: Credits, framework_credits: list[str]) -> None:
    rows = city_compare.bullet_rows(view.nodes, view.spread,
                                    table.set_index("node_id")["measure"], view.parents)
    if rows.empty:
        return
    figure = charts.dot_range(
        rows, city["name"], f"Where {city['name']} stands among its peers",
        "Score (0-1, higher is better)", framework_credits,
        domain=(0, 1))
    credits.add(framework_credits)
    ui.chart(figure, rows, f"standing-{city['city_id']}")


def profile_chart(view: city_compare.CityPeers, universe: pd.DataFrame, city: dict,
                  credits: Credits, profile_credits: list[str]) -> None:
    """The city's context profile against its peers': z-scores over the profile's universe."""
    peer_ids = view.comparison.group.ids
    summary, points = city_compare.profile_rows(universe, city["city_id"], peer_ids)
    if summary.empty:
        st.caption(f"{city['name']} has no context profile: it needs a UN WUP agglomeration "
                   "population and its growth.")
        return
    shown = points if len(peer_ids) <= MAX_K else None
    figure = charts.dot_range(
        summary.dropna(subset=["city"]), city["name"],
        f"{city['name']}'s context profile against its peers'",
        "z-score (SDs from the mean)", profile_credits,
        points=shown, step=36)
    credits.add(profile_credits)
    ui.chart(figure, summary, f"profile-{city['city_id']}")
    with_profile = points["city_id"].nunique() if len(points) else 0
    st.caption(f"The profile the nearest-profile peers are chosen on: each feature z-scored "
               f"over the {int(universe['in_profile'].sum()):,} UN WUP agglomerations with a "
               f"growth rate; {with_profile:,} of the {len(peer_ids):,} peers have one.")


# --- trends ------------------------------------------------------------------------------------


def trends(snap: reads.Snapshot, city: dict, credits: Credits) -> None:
    series = reads.city_series(snap, city["city_id"])
    if series.empty:
        return
    st.subheader("Trends")
    names = series.drop_duplicates("indicator_id").set_index("indicator_id")
    options = list(names.index)
    first = "agglomeration_population" if "agglomeration_population" in options else options[0]
    asked = params.choice("trend", options, first)
    chosen = st.selectbox("Series", options, index=options.index(asked), key="trend",
                          format_func=lambda i: f"{names.at[i, 'name']} "
                                                f"({series['indicator_id'].eq(i).sum()} periods)")
    params.keep(trend=None if chosen == first else chosen)
    one = series[series["indicator_id"] == chosen]
    texts = credits.add(reads.attributions_of(snap, [chosen]))
    unit = names.at[chosen, "unit"]
    ui.chart(charts.series_line(one, city["name"], names.at[chosen, "name"],
                                unit if isinstance(unit, str) else None, texts),
             one, f"trend-{city['city_id']}-{chosen}")
    if one["projected"].any():
        st.caption("Dashed: the publisher's projections (UN WUP 2018: every year after 2018).")


# --- learn from ----------------------------------------------------------------------------------


def _practice_line(practice: dict) -> str:
    outcome = OUTCOME_LABELS.get(practice["outcome"], practice["outcome"])
    year = f" ({practice['year']})" if practice.get("year") else ""
    where = " · on this dimension" if practice.get("addresses") else ""
    lesson = f": {practice['lesson']}" if practice.get("lesson") else ""
    source = (f" · [source]({practice['source_url']})" if practice.get("source_url") else "")
    licence = f" · licence {practice['licence']}" if practice.get("licence") else ""
    return f"{outcome} **{practice['title']}**{year}{where}{lesson}{source}{licence}"


def learn_from(view: city_compare.CityPeers, universe: pd.DataFrame, city: dict) -> None:
    """compare()'s suggestions with their evidence: the numbers, the shared ties and the
    practices recorded for the city ahead, failures shown as the successes are."""
    comparison = view.comparison
    found = view.learn_from
    st.subheader("Learn from")
    if found.empty:
        st.caption("No similar city is clearly ahead of it on any dimension.")
        return
    st.caption(f"Cities like {city['name']} (the {LEARN_FROM_K} nearest on the "
               "context profile) that are clearly ahead on a dimension (by half a standard "
               "deviation of their scores or more); those sharing a city network or a twinning "
               "link first, then those with a practice on that dimension.")
    countries = universe["country_name"]
    for node, rows in found.groupby("node_id", sort=False):
        st.markdown(f"**{comparison.labels.get(node, node)}**")
        for row in rows.itertuples(index=False):
            shares = (" · shares: " + ", ".join(row.shared)) if row.shared else ""
            distance = ("" if row.distance is None or pd.isna(row.distance)
                        else f" · profile distance {row.distance:.2f}")
            st.markdown(
                f"- [{row.name}](?city={row.city_id}), {countries.get(row.city_id, '')}: "
                f"score {row.normalised:.3f} against {row.city_normalised:.3f} "
                f"(ahead by {row.ahead_by:.3f}; percentile {row.percentile:.0f} against "
                f"{row.city_percentile:.0f} among all cities scored){distance}{shares}")
            for practice in row.practices:
                st.markdown(f"    - {_practice_line(practice)}")
    flat = found.assign(shared=found["shared"].map("; ".join),
                        practices=found["practices"].map(
                            lambda ps: "; ".join(f"{p['title']} ({p['outcome']})" for p in ps)))
    ui.table_download(flat, f"learn-from-{city['city_id']}", "Learn from (CSV)")


# --- networks and practices --------------------------------------------------------------------


def networks_section(snap: reads.Snapshot, city: dict, credits: Credits) -> None:
    """Relational measures as the refresh stored them: firms' interlocks, air routes, city
    networks, twinning."""
    city_id, name = city["city_id"], city["name"]
    measures = reads.network_measures(snap, city_id)
    st.subheader("Networks")
    if measures.empty:
        st.caption("No firm, air, city-network or twinning data for this city.")
        return
    st.dataframe(networks.measure_rows(measures), hide_index=True, width="stretch")
    credits.add(reads.attributions_of(snap, list(measures["indicator_id"])))
    notes = networks.matrices(measures)
    if measures["indicator_id"].str.startswith("air_").any():
        notes.append(networks.AIR_NOTE)
    for note in notes:
        st.caption(note)
    reach = reads.network_reach(snap, city_id)
    if len(reach):
        st.caption("Reach of its city networks (each counted once; the years it is listed)")
        st.dataframe(reach, hide_index=True, width="stretch")
        credits.add(reads.attributions_of(snap, memberships=True))
    partners = reads.air_partners(snap, city_id)
    if len(partners):
        texts = credits.add(reads.attributions_of(snap, link_kinds=["air-route"]))
        ui.chart(charts.strongest_links(partners, name, texts), partners,
                 f"air-links-{city_id}")


def practices_section(snap: reads.Snapshot, city_id: str) -> None:
    """The city's own practices and lessons, when it has any: what failed is shown like what
    worked, because other cities learn as much from it."""
    practices = reads.city_practices(snap, city_id)
    if practices.empty:
        return
    st.subheader("Practices and lessons")
    for row in practices.to_dict("records"):
        st.markdown(f"- {_practice_line(row)}")
