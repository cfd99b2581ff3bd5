"""Peer groups (indicators/peers) on the published offline default warehouse: one battery that
every rule passes, then each rule against a direct reading of the warehouse."""

from __future__ import annotations

import datetime
from functools import cache

import numpy as np
import pandas as pd
import pytest

from indicators.peers import groups, profile
from indicators.peers import profile as profiles
from indicators.peers.groups import (
    CustomList,
    IncomeGroup,
    NearestProfile,
    PeerData,
    SameContinent,
    SameCountry,
    SharedLinks,
    SizeClass,
)
from tests.conftest import query
from warehouse import peers as warehouse_peers
from warehouse.connect import open_read_only

LYON, PARIS, LONDON, MARSEILLE = "gn:2996944", "gn:2988507", "gn:2643743", "gn:2995469"
YEAR = datetime.date.today().year
GROWTH = profiles.GROWTH_YEARS
# Battery cities: a large agglomeration, a capital with many links, and a small town
# (no UN WUP agglomeration, no air or twin measures) chosen in the `small_town` fixture.
BATTERY_RULES = [*groups.rules(), CustomList([PARIS, LONDON, "gn:0", LYON], "test list")]


def _read(db, read):
    """A read on a short-lived connection: the tests' own `query` opens the file too, and
    DuckDB refuses two connections of different settings to one file."""
    con = open_read_only(db)
    try:
        return read(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def data_for(published):
    context = _read(published, lambda con: warehouse_peers.context(con, YEAR, GROWTH))

    @cache
    def data(city_id: str) -> PeerData:
        ties = _read(published, lambda con: warehouse_peers.shared_ties(con, city_id))
        return PeerData(context, ties)

    return data


@pytest.fixture(scope="module")
def small_town(data_for) -> str:
    context = data_for(LYON).context
    small = context[context["agglomeration_population"].isna()
                    & context["air_routes"].isna() & (context["population"] < 50_000)]
    return small.index.sort_values()[0]


@pytest.fixture(scope="module")
def city_ids(published) -> set[str]:
    return {row[0] for row in query(published, "SELECT city_id FROM city")}


def _ids(group) -> set[str]:
    return set(group.peers["city_id"])


# --- the battery: every rule ------------------------------------------------------------------


@pytest.mark.parametrize("rule", BATTERY_RULES, ids=lambda rule: rule.name)
@pytest.mark.parametrize("city", [LYON, LONDON, "small"])
def test_every_rule_keeps_the_contract(rule, city, data_for, small_town, city_ids):
    city = small_town if city == "small" else city
    data = data_for(city)
    group = rule.peers(city, data)

    assert rule.name and rule.description and isinstance(rule.parameters(), dict)
    assert (group.rule, group.description, group.city_id) == (rule.name, rule.description, city)
    assert group.parameters == rule.parameters()
    assert list(group.peers.columns[:3]) == list(groups.PEER_COLUMNS)
    if not group.applies:
        assert group.reason and group.peers.empty
        return
    peers = group.peers
    assert city not in set(peers["city_id"]), "a city is never its own peer"
    assert peers["city_id"].is_unique
    assert set(peers["city_id"]) <= city_ids
    assert peers["evidence"].map(lambda e: isinstance(e, str) and bool(e.strip())).all()
    assert peers["name"].notna().all()
    pd.testing.assert_frame_equal(rule.peers(city, data).peers, peers)


def test_every_rule_but_income_applies_to_lyon(data_for):
    """The offline default holds no income groups; everything else is there for Lyon."""
    for rule in BATTERY_RULES:
        group = rule.peers(LYON, data_for(LYON))
        assert group.applies is (rule.name != IncomeGroup.name), (rule.name, group.reason)
        if group.applies and rule.parameters().get("city_ids", [None]):  # not the empty list
            assert not group.peers.empty, rule.name


def test_an_unknown_city_has_no_peers(data_for):
    for rule in groups.rules():
        group = rule.peers("gn:0", data_for(LYON))
        if rule.name != CustomList.name:
            assert not group.applies and "gn:0" in group.reason


# --- each rule against the warehouse ----------------------------------------------------------


def test_same_country_agrees_with_sql(published, data_for):
    expected = {row[0] for row in query(published, """
        SELECT city_id FROM city
        WHERE country_iso2 = (SELECT country_iso2 FROM city WHERE city_id = ?) AND city_id <> ?
    """, [LYON, LYON])}
    group = SameCountry().peers(LYON, data_for(LYON))
    assert _ids(group) == expected and MARSEILLE in expected
    assert group.peers["evidence"].eq("same country: France (FR)").all()


def test_same_continent_agrees_with_sql(published, data_for):
    expected = {row[0] for row in query(published, """
        SELECT c.city_id FROM city c JOIN country k ON k.iso2 = c.country_iso2
        WHERE k.continent = (SELECT k2.continent FROM city c2 JOIN country k2
                             ON k2.iso2 = c2.country_iso2 WHERE c2.city_id = ?)
          AND c.city_id <> ?
    """, [LONDON, LONDON])}
    assert _ids(SameContinent().peers(LONDON, data_for(LONDON))) == expected
    assert LYON in expected


def test_size_bands_hold_at_their_bounds():
    population = pd.Series([0, 99_999, 100_000, 299_999, 300_000, 999_999, 1_000_000,
                            4_999_999, 5_000_000, 9_999_999, 10_000_000, 40_000_000])
    assert list(groups.size_band(population)) == [
        "<100k", "<100k", "100k-300k", "100k-300k", "300k-1M", "300k-1M", "1M-5M", "1M-5M",
        "5M-10M", "5M-10M", ">=10M", ">=10M"]


def test_size_class_keeps_to_the_band_and_says_which_population(data_for, small_town):
    bounds = {label: (lower, upper) for (lower, label), (upper, _) in
              zip(groups.SIZE_BANDS, [*groups.SIZE_BANDS[1:], (np.inf, None)], strict=True)}
    lyon = SizeClass().peers(LYON, data_for(LYON)).peers
    assert set(lyon["band"]) == {"1M-5M"}
    lower, upper = bounds["1M-5M"]
    assert lyon["population"].between(lower, upper, inclusive="left").all()
    assert MARSEILLE in set(lyon["city_id"]) and PARIS not in set(lyon["city_id"])
    marseille = lyon.set_index("city_id").loc[MARSEILLE]
    assert marseille["basis"].startswith("UN WUP agglomeration")
    assert "UN WUP agglomeration" in marseille["evidence"]

    small = SizeClass().peers(small_town, data_for(small_town))
    own = data_for(small_town).context.at[small_town, "population"]  # GeoNames': no agglomeration
    (band,) = groups.size_band(pd.Series([own]))
    assert small.applies and set(small.peers["band"]) == {band}
    lower, upper = bounds[band]
    assert small.peers["population"].between(lower, upper, inclusive="left").all()
    # each peer is sized by the population it has, and says which
    basis = small.peers["basis"]
    assert (basis.eq("GeoNames") | basis.str.startswith("UN WUP agglomeration")).all()
    assert basis.eq("GeoNames").any()
    assert small.peers["evidence"].str.contains("GeoNames").any()


def test_income_group_says_it_cannot_apply_without_a_source(data_for):
    group = IncomeGroup().peers(LYON, data_for(LYON))
    assert not group.applies and group.peers.empty
    assert "World Bank" in group.reason


def test_income_group_with_income_groups(data_for):
    context = data_for(LYON).context.copy()
    context["income_group"] = context["country"].map({"FR": 4.0, "DE": 4.0, "IN": 2.0})
    group = IncomeGroup().peers(LYON, PeerData(context))
    expected = set(context.index[context["country"].isin(["FR", "DE"])]) - {LYON}
    assert group.applies and _ids(group) == expected
    assert group.peers["evidence"].str.contains("high income").all()
    unclassified = context.index[context["country"] == "GB"][0]
    assert not IncomeGroup().peers(unclassified, PeerData(context)).applies


def test_lyons_nearest_profile_neighbours_are_of_its_size(data_for):
    """Each of Lyon's 10 nearest neighbours on the standardised profile has an agglomeration
    population (the profile's population: UN WUP, latest year up to this year) within a factor
    of 3 of Lyon's, i.e. its log_population is within log10(3) of Lyon's."""
    data = data_for(LYON)
    raw = profile.profile(data.context)
    own = raw.at[LYON, "log_population"]
    assert raw.at[LYON, "population"] == data.context.at[LYON, "agglomeration_population"]
    assert own == pytest.approx(np.log10(raw.at[LYON, "population"]))
    group = NearestProfile(k=10).peers(LYON, data)
    peers = group.peers
    assert len(peers) == 10 and group.parameters["k"] == 10
    assert (peers["log_population"] - own).abs().max() <= np.log10(3)
    assert peers["distance"].is_monotonic_increasing
    assert peers[list(profile.REQUIRED)].notna().all().all()
    assert MARSEILLE in set(peers["city_id"])


def test_nearest_profile_distance_is_nan_euclidean():
    raw = pd.DataFrame({
        "log_population": [6.0, 6.2, 5.0], "growth": [1.0, 0.5, 2.0],
        "log_air_destinations": [1.0, np.nan, 0.5], "log_air_routes": [2.0, np.nan, 1.0],
        "log_twin_partners": [1.0, 1.0, 0.0], "population": [1e6, 1.6e6, 1e5],
    }, index=["a", "b", "c"])
    z = profile.standardise(raw).to_numpy()
    found = profile.nearest("a", raw, 5).set_index("city_id")
    shared = [0, 1, 4]  # b has no air measures: compared on the other three, scaled to five
    expected_b = np.sqrt(((z[1, shared] - z[0, shared]) ** 2).sum() * 5 / 3)
    assert found.at["b", "distance"] == pytest.approx(expected_b)
    assert found.at["c", "distance"] == pytest.approx(np.linalg.norm(z[2] - z[0]))


def test_nearest_profile_leaves_out_cities_outside_its_universe(data_for, small_town):
    group = NearestProfile().peers(small_town, data_for(small_town))
    assert not group.applies and "universe" in group.reason
    with pytest.raises(ValueError):
        NearestProfile(k=0)


def test_shared_links_agree_with_sql(published, data_for):
    expected = {row[0] for row in query(published, """
        SELECT CASE WHEN city_a = $1 THEN city_b ELSE city_a END FROM city_link
        WHERE kind = 'twinning' AND $1 IN (city_a, city_b)
        UNION
        SELECT other.city_id FROM membership mine
        JOIN network n ON n.network_id = mine.network_id AND n.kind = 'city-network'
        JOIN membership other ON other.network_id = mine.network_id
        WHERE mine.city_id = $1 AND other.city_id <> $1
    """, [LONDON])}
    group = SharedLinks().peers(LONDON, data_for(LONDON))
    assert expected and _ids(group) == expected
    assert group.peers["evidence"].str.contains("twinned|network: ").all()
    assert group.peers["twinned"].all()  # the offline default has twinning, no networks


def test_shared_links_name_the_shared_networks(data_for):
    ties = pd.DataFrame({
        "peer_id": [LYON, LYON, MARSEILLE], "kind": ["city-network", "twinning", "city-network"],
        "via": ["Eurocities", "twin towns", "Eurocities"], "network_id": ["m:1", None, "m:1"],
        "period": [2024, 2026, 2024]})
    group = SharedLinks().peers(PARIS, PeerData(data_for(LYON).context, ties))
    lyon = group.peers.set_index("city_id").loc[LYON]
    assert lyon["evidence"] == "network: Eurocities; twinned"
    assert lyon["networks"] == ["Eurocities"] and lyon["twinned"]
    assert group.peers.set_index("city_id").at[MARSEILLE, "twinned"] == False  # noqa: E712


def test_custom_list_returns_the_known_cities_and_names_the_unknown(data_for):
    rule = CustomList([PARIS, "gn:0", LONDON, PARIS, LYON, "gn:1"], "my peers")
    group = rule.peers(LYON, data_for(LYON))
    assert list(group.peers["city_id"]) == [PARIS, LONDON]
    assert group.parameters["label"] == "my peers"
    assert any("gn:0, gn:1" in note for note in group.notes)
    assert any("itself" in note for note in group.notes)
    assert group.peers["evidence"].eq("in the list 'my peers'").all()
