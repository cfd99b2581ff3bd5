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


def _context(data: PeerData) -> pd.DataFrame:
    """The rules' context columns as a frame indexed by city_id, to check them against."""
    return pd.DataFrame(data.context).set_index("city_id")


def _peers(group) -> pd.DataFrame:
    """A group's rows as a frame (PEER_COLUMNS first, then the rule's own)."""
    columns = dict.fromkeys([*groups.PEER_COLUMNS, *(k for row in group.peers for k in row)])
    return pd.DataFrame(group.peers, columns=list(columns))


@pytest.fixture(scope="module")
def small_town(data_for) -> str:
    context = _context(data_for(LYON))
    small = context[context["agglomeration_population"].isna()
                    & context["air_routes"].isna() & (context["population"] < 50_000)]
    return small.index.sort_values()[0]


@pytest.fixture(scope="module")
def city_ids(published) -> set[str]:
    return {row[0] for row in query(published, "SELECT city_id FROM city")}


def _ids(group) -> set[str]:
    return set(group.ids)


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
    assert all(list(row)[:3] == list(groups.PEER_COLUMNS) for row in group.peers)
    if not group.applies:
        assert group.reason and group.peers == []
        return
    peers = _peers(group)
    assert city not in set(peers["city_id"]), "a city is never its own peer"
    assert peers["city_id"].is_unique
    assert set(peers["city_id"]) <= city_ids
    assert peers["evidence"].map(lambda e: isinstance(e, str) and bool(e.strip())).all()
    assert peers["name"].notna().all()
    pd.testing.assert_frame_equal(_peers(rule.peers(city, data)), peers)


def test_every_rule_but_income_applies_to_lyon(data_for):
    """The offline default holds no income groups; everything else is there for Lyon."""
    for rule in BATTERY_RULES:
        group = rule.peers(LYON, data_for(LYON))
        assert group.applies is (rule.name != IncomeGroup.name), (rule.name, group.reason)
        if group.applies and rule.parameters().get("city_ids", [None]):  # not the empty list
            assert group.peers, rule.name


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
    assert _peers(group)["evidence"].eq("same country: France (FR)").all()


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
    assert list(groups.size_band(population.to_numpy())) == [
        "<100k", "<100k", "100k-300k", "100k-300k", "300k-1M", "300k-1M", "1M-5M", "1M-5M",
        "5M-10M", "5M-10M", ">=10M", ">=10M"]


def test_size_class_keeps_to_the_band_and_says_which_population(data_for, small_town):
    bounds = {label: (lower, upper) for (lower, label), (upper, _) in
              zip(groups.SIZE_BANDS, [*groups.SIZE_BANDS[1:], (np.inf, None)], strict=True)}
    lyon = _peers(SizeClass().peers(LYON, data_for(LYON)))
    assert set(lyon["band"]) == {"1M-5M"}
    lower, upper = bounds["1M-5M"]
    assert lyon["population"].between(lower, upper, inclusive="left").all()
    assert MARSEILLE in set(lyon["city_id"]) and PARIS not in set(lyon["city_id"])
    marseille = lyon.set_index("city_id").loc[MARSEILLE]
    assert marseille["basis"].startswith("UN WUP agglomeration")
    assert "UN WUP agglomeration" in marseille["evidence"]

    group = SizeClass().peers(small_town, data_for(small_town))
    small = _peers(group)
    # GeoNames': no agglomeration
    own = _context(data_for(small_town)).at[small_town, "population"]
    (band,) = groups.size_band(np.array([own]))
    assert group.applies and set(small["band"]) == {band}
    lower, upper = bounds[band]
    assert small["population"].between(lower, upper, inclusive="left").all()
    # each peer is sized by the population it has, and says which
    basis = small["basis"]
    assert (basis.eq("GeoNames") | basis.str.startswith("UN WUP agglomeration")).all()
    assert basis.eq("GeoNames").any()
    assert small["evidence"].str.contains("GeoNames").any()


def test_income_group_says_it_cannot_apply_without_a_source(data_for):
    group = IncomeGroup().peers(LYON, data_for(LYON))
    assert not group.applies and group.peers == []
    assert "World Bank" in group.reason


def test_income_group_with_income_groups(data_for):
    context = _context(data_for(LYON))
    context["income_group"] = context["country"].map({"FR": 4.0, "DE": 4.0, "IN": 2.0})
    columns = {"city_id": context.index.to_numpy(object)} | {
        column: context[column].to_numpy() for column in context}
    group = IncomeGroup().peers(LYON, PeerData(columns))
    expected = set(context.index[context["country"].isin(["FR", "DE"])]) - {LYON}
    assert group.applies and _ids(group) == expected
    assert _peers(group)["evidence"].str.contains("high income").all()
    unclassified = context.index[context["country"] == "GB"][0]
    assert not IncomeGroup().peers(unclassified, PeerData(columns)).applies


def test_lyons_nearest_profile_neighbours_are_of_its_size(data_for):
    """Each of Lyon's 10 nearest neighbours on the standardised profile has an agglomeration
    population (the profile's population: UN WUP, latest year up to this year) within a factor
    of 3 of Lyon's, i.e. its log_population is within log10(3) of Lyon's."""
    data = data_for(LYON)
    raw = pd.DataFrame(profile.profile(data.context)).set_index("city_id")
    own = raw.at[LYON, "log_population"]
    assert raw.at[LYON, "population"] == _context(data).at[LYON, "agglomeration_population"]
    assert own == pytest.approx(np.log10(raw.at[LYON, "population"]))
    group = NearestProfile(k=10).peers(LYON, data)
    peers = _peers(group)
    assert len(peers) == 10 and group.parameters["k"] == 10
    assert (peers["log_population"] - own).abs().max() <= np.log10(3)
    assert peers["distance"].is_monotonic_increasing
    assert peers[list(profile.REQUIRED)].notna().all().all()
    assert MARSEILLE in set(peers["city_id"])


def test_nearest_profile_distance_is_nan_euclidean():
    raw = {
        "city_id": np.array(["a", "b", "c"], dtype=object),
        "log_population": np.array([6.0, 6.2, 5.0]), "growth": np.array([1.0, 0.5, 2.0]),
        "log_air_destinations": np.array([1.0, np.nan, 0.5]),
        "log_air_routes": np.array([2.0, np.nan, 1.0]),
        "log_twin_partners": np.array([1.0, 1.0, 0.0]),
        "population": np.array([1e6, 1.6e6, 1e5])}
    z = profile.standardise(raw)
    # the z-scores are pandas' (population standard deviation, missing values left out)
    frame = pd.DataFrame(raw).set_index("city_id")[list(profile.PROFILE_FEATURES)]
    np.testing.assert_allclose(z, ((frame - frame.mean()) / frame.std(ddof=0)).to_numpy())
    found = pd.DataFrame(profile.nearest("a", raw, 5)).set_index("city_id")
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
    assert _peers(group)["evidence"].str.contains("twinned|network: ").all()
    assert _peers(group)["twinned"].all()  # the offline default has twinning, no networks


def test_shared_links_name_the_shared_networks(data_for):
    ties = [{"peer_id": peer, "kind": kind, "via": via, "network_id": network, "period": year}
            for peer, kind, via, network, year in (
                (LYON, "city-network", "Eurocities", "m:1", 2024),
                (LYON, "twinning", "twin towns", None, 2026),
                (MARSEILLE, "city-network", "Eurocities", "m:1", 2024))]
    group = SharedLinks().peers(PARIS, PeerData(data_for(LYON).context, ties))
    lyon = _peers(group).set_index("city_id").loc[LYON]
    assert lyon["evidence"] == "network: Eurocities; twinned"
    assert lyon["networks"] == ["Eurocities"] and lyon["twinned"]
    assert _peers(group).set_index("city_id").at[MARSEILLE, "twinned"] == False  # noqa: E712


def test_custom_list_returns_the_known_cities_and_names_the_unknown(data_for):
    rule = CustomList([PARIS, "gn:0", LONDON, PARIS, LYON, "gn:1"], "my peers")
    group = rule.peers(LYON, data_for(LYON))
    assert group.ids == [PARIS, LONDON]
    assert group.parameters["label"] == "my peers"
    assert any("gn:0, gn:1" in note for note in group.notes)
    assert any("itself" in note for note in group.notes)
    assert all(row["evidence"] == "in the list 'my peers'" for row in group.peers)
