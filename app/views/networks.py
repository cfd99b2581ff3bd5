"""How cities are tied to each other: connectivity rankings and GaWC-style tiers, the strongest
pairs of cities, each city network's reach, and one city's links on the map. The measure, the
kind of link, the network and the city are in the address (?measure=&link=&network=&city=)."""

import pandas as pd
import streamlit as st

from app import charts, city_param, maps, networks, params, reads, ui
from indicators.network import tiers
from indicators.network.measures import tier_name

TOP = 25
# Sums of links, whose tiers read like GaWC's (a share of the best-connected city); counts of
# countries or continents, and shares, have too few steps for tiers to say anything.
TIERED = {"air_routes", "air_destinations", "twin_partners", "network_partners"}
LINK_WHAT = {"air-route": "airline routes", "twinning": "twin-town links"}


def _picked(key: str, options: list[str], default: str, label: str, names: dict[str, str],
            **widget) -> str:
    """A picker that opens on the address's value (else `default`) and is the user's after."""
    if key not in st.session_state:
        st.session_state[key] = params.choice(key, options, default)
    return st.selectbox(label, options, format_func=names.get, key=key, **widget)


def _with_tiers(ranking: pd.DataFrame, indicator_id: str) -> tuple[pd.DataFrame, str]:
    """The ranking with a tier per city, and how the tiers were drawn ('' when none)."""
    if ranking["tier_code"].notna().any():
        return (ranking.assign(tier=ranking["tier_code"].map(tier_name)),
                "Tiers as the refresh stored them for this firm matrix.")
    if indicator_id not in TIERED:
        return ranking.assign(tier=None), ""
    return (ranking.assign(tier=tiers.classify(ranking["value"]).to_numpy()),
            "Tiers named as GaWC's, drawn by citybench by the share of the best-connected "
            "city's value (Alpha++ from 75%, Alpha+ 56%, Alpha 48% ... Sufficiency from 5%; "
            "indicators/network/tiers.py).")


def connectivity(snap: reads.Snapshot) -> None:
    st.subheader("Connectivity rankings")
    measures = reads.network_measure_list(snap)
    if measures.empty:
        st.info("The warehouse holds no network measures: no air routes, twin towns, city "
                "networks or firm matrices were loaded.")
        return
    keys = (measures["dataset_id"] + ":" + measures["indicator_id"]).tolist()
    names = {key: f"{row.name} ({row.dataset_id}, {row.period}; {row.cities:,} cities)"
             for key, row in zip(keys, measures.itertuples(), strict=True)}
    firm = [key for key in keys if key.endswith(":firm_gnc")]
    default = firm[0] if firm else next((k for k in keys if k.endswith(":air_routes")), keys[0])
    key = _picked("measure", keys, default, "Measure", names)
    row = measures.iloc[keys.index(key)]
    ranking, method = _with_tiers(reads.network_ranking(snap, row["indicator_id"],
                                                        row["dataset_id"]), row["indicator_id"])
    credits = reads.attributions_of(snap, (row["indicator_id"],))
    shown = ranking.head(TOP)
    ui.chart(charts.connectivity_bar(shown, row["name"], row["unit"], credits, method), shown,
             "connectivity")
    columns = ["rank", "name", "country", "continent_name", "value", "tier", "city_id"]
    st.dataframe(ranking[columns], hide_index=True, width="stretch", height=300,
                 column_config={"value": st.column_config.NumberColumn(
                     f"{row['name']} ({row['unit']})", format="%.4g"),
                     "continent_name": "continent"})
    ui.table_download(ranking[[*columns, "period"]], "connectivity-ranking",
                      f"CSV of all {len(ranking):,} cities")
    if row["indicator_id"].startswith("air_"):
        st.caption(networks.AIR_NOTE)
    if ranking["tier"].notna().any():
        roster = (ranking.dropna(subset=["tier"]).groupby("tier", sort=False)
                  .agg(cities=("city_id", "size"),
                       members=("name", lambda names: ", ".join(names))).reset_index())
        st.caption("Tier roster (as GaWC publishes its own): " + method)
        st.dataframe(roster, hide_index=True, width="stretch")
        ui.table_download(ranking.dropna(subset=["tier"])[columns], "tiers", "CSV of the tiers")


def dyads(snap: reads.Snapshot) -> None:
    st.subheader("The strongest pairs of cities")
    kinds = reads.link_kinds(snap)
    if kinds.empty:
        st.info("The warehouse holds no links between cities.")
        return
    names = {row.kind: f"{LINK_WHAT.get(row.kind, row.kind).capitalize()} ({row.pairs:,} pairs)"
             for row in kinds.itertuples()}
    kind = _picked("link", list(names), kinds["kind"].iloc[0], "Links", names)
    top = reads.dyads(snap, kind, TOP)
    what = LINK_WHAT.get(kind, kind)
    equal = int(kinds.set_index("kind").loc[kind, "weights"]) == 1
    note = (f"Every pair has the same weight ({top['weight'].iloc[0]:g}): these are the pairs "
            "of the most populous cities." if equal and len(top)
            else "Each pair once, with the highest count any source gives it.")
    ui.chart(charts.dyads_bar(top, what, reads.attributions_of(snap, link_kinds=(kind,)), note),
             top, "dyads")
    st.dataframe(top[["name_a", "country_a", "name_b", "country_b", "weight", "period"]],
                 hide_index=True, width="stretch",
                 column_config={"name_a": "City", "country_a": "Country", "name_b": "City",
                                "country_b": "Country", "weight": what.capitalize(),
                                "period": "Year"})


def reach(snap: reads.Snapshot) -> None:
    st.subheader("City networks and how far their reach stretches")
    held = reads.city_networks(snap)
    if held.empty:
        st.info("This warehouse holds no city-network memberships (the offline default loads "
                "none; add a member list to the config's sources to see each network's reach "
                "here).")
        return
    names = {row.network: f"{row.network} ({row.cities:,} cities, {row.countries:,} countries)"
             for row in held.itertuples()}
    network = _picked("network", list(names), held["network"].iloc[0], "City network", names)
    members = reads.network_members(snap, network)
    credits = reads.attributions_of(snap, memberships=True)
    ui.chart(maps.members(members, network, credits), members, "reach-map")
    ui.chart(charts.members_by_country(members, network, credits),
             members.groupby(["continent_name", "country"], as_index=False).size(),
             "reach-countries")
    st.dataframe(held, hide_index=True, width="stretch")


def city_links(snap: reads.Snapshot) -> str | None:
    """The chosen city's air and twinning links on the map (the best-connected city by
    default); returns the city shown."""
    st.subheader("A city's links on the map")
    city_id = city_param.chosen(snap)
    if city_id is None:
        ranking = reads.network_ranking(snap, "air_routes", "air")
        city_id = ranking["city_id"].iloc[0] if len(ranking) else None
    if city_id is None:
        st.info("Choose a city to see its links.")
        return None
    city = reads.city(snap, city_id).iloc[0]
    links = reads.city_links(snap, city_id)
    if links.empty:
        st.info(f"{city['name']} has no air routes or twin towns in this warehouse.")
        return city_id
    kinds = tuple(links["kind"].unique())
    ui.chart(maps.city_links(city, links, reads.attributions_of(snap, link_kinds=kinds)),
             links, "city-links")
    counts = links.groupby("kind").size()
    st.caption(" · ".join(f"{LINK_WHAT.get(kind, kind).capitalize()}: {n:,} partner cities"
                          for kind, n in counts.items()))
    return city_id


st.title("Networks")
snap = ui.published()
if snap is None:
    st.stop()
ui.freshness(snap)
connectivity(snap)
dyads(snap)
reach(snap)
chosen = city_links(snap)
params.keep(measure=st.session_state.get("measure"), link=st.session_state.get("link"),
            network=st.session_state.get("network"), city=chosen)
ui.attribution_footer(snap)
