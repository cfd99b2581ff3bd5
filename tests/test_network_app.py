"""Network measures stored by the refresh's step (flows/steps.py measure_networks) from the
warehouse's network, membership and city_link tables, and the city page's Networks section
reading them, on a small warehouse whose figures are worked out by hand."""

from __future__ import annotations

import logging

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from flows import steps
from tests.app_fixtures import build_warehouse
from tests.conftest import ROOT
from warehouse import read_model

LONDON, MANCHESTER, BERLIN = "gn:2643743", "gn:2643123", "gn:2950159"
MUNICH, TOKYO, OSAKA = "gn:2867714", "gn:1850147", "gn:1853909"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("networks") / "w.duckdb"
    build_warehouse(path)
    con = duckdb.connect(str(path))
    con.execute("""
        INSERT INTO network (network_id, kind, name, sector, source_id) VALUES
            ('gawc:F1', 'firm', 'F1', 'law', 'gawc'), ('gawc:F2', 'firm', 'F2', 'bank', 'gawc'),
            ('climactor:C40', 'city-network', 'C40', NULL, 'climactor'),
            ('climactor:Eurocities', 'city-network', 'Eurocities', NULL, 'climactor')
    """)
    # service values as in the hand example: r(London, Berlin) = 15, r(London, Tokyo) = 13,
    # r(Berlin, Tokyo) = 3; GNC London 28, Berlin 18, Tokyo 16
    members = [("gawc:F1", LONDON, 5), ("gawc:F2", LONDON, 2), ("gawc:F1", BERLIN, 3),
               ("gawc:F1", TOKYO, 1), ("gawc:F2", TOKYO, 4)]
    members += [("climactor:C40", c, 1) for c in (LONDON, BERLIN, TOKYO)]
    members += [("climactor:Eurocities", c, 1) for c in (LONDON, BERLIN)]
    for network_id, city_id, value in members:
        source = network_id.split(":")[0]
        con.execute("INSERT INTO membership VALUES (?, ?, 2018, ?, ?, ?, 1)",
                    [network_id, city_id, value, source, f"{source}-test"])
    routes = [(LONDON, MANCHESTER, 2), (BERLIN, LONDON, 10), (LONDON, TOKYO, 4),
              (BERLIN, MUNICH, 6), (OSAKA, TOKYO, 8)]
    links = [("air-route", *sorted((a, b)), w, "openflights") for a, b, w in routes]
    links += [("twinning", *sorted(pair), 1, source) for pair in [(LONDON, BERLIN),
              (LONDON, TOKYO)] for source in ("wikidata", "twincities")]  # two sources, once
    for kind, a, b, weight, source in links:
        con.execute("INSERT INTO city_link VALUES (?, ?, ?, 2014, ?, ?, ?, 1)",
                    [kind, a, b, weight, source, f"{source}-test"])
    steps.measure_networks(con, log=logging.getLogger("test"))
    con.close()
    return path


def _values(db, city_id) -> dict[str, float]:
    measures = read_model.network_measures(db, city_id)
    return dict(zip(measures["indicator_id"], measures["value"], strict=True))


def test_measures_by_hand(warehouse):
    london = read_model.network_measures(warehouse, LONDON).set_index("indicator_id")
    assert london.loc["firm_gnc", ["value", "rank", "cities"]].tolist() == [28, 1, 3]
    assert _values(warehouse, BERLIN)["firm_gnc"] == 18
    assert _values(warehouse, TOKYO)["firm_gnc"] == 16
    assert london.loc["firm_tier", "value"] == 12  # Alpha++
    assert london.loc[["air_destinations", "air_routes", "air_countries", "air_continents"],
                      "value"].tolist() == [3, 16, 3, 2]
    assert london.loc["air_share_abroad", "value"] == 14 / 16
    # London is on the shortest paths of 8 of the 10 pairs of the other five cities
    betweenness = {city: _values(warehouse, city)["air_betweenness"]
                   for city in (LONDON, BERLIN, TOKYO, MANCHESTER, MUNICH, OSAKA)}
    assert betweenness == pytest.approx({
        LONDON: 0.8, BERLIN: 0.4, TOKYO: 0.4, MANCHESTER: 0, MUNICH: 0, OSAKA: 0})
    assert london.loc["air_betweenness", ["rank", "cities"]].tolist() == [1, 6]
    assert london.loc[["network_memberships", "network_partners"], "value"].tolist() == [2, 2]
    # twinned by two sources, each pair once
    assert london.loc[["twin_partners", "twin_countries", "twin_continents"],
                      "value"].tolist() == [2, 2, 2]
    reach = read_model.network_reach(warehouse, LONDON).set_index("network")
    assert reach.loc["C40", ["cities", "countries", "continents"]].tolist() == [3, 3, 2]
    partners = read_model.air_partners(warehouse, LONDON)
    assert partners["name"].tolist() == ["Berlin", "Tokyo", "Manchester"]


def test_a_city_without_an_input_has_no_measure_of_it(warehouse):
    """Munich has air routes only: no twinning, membership or firm measure (absent, not 0)."""
    assert set(_values(warehouse, MUNICH)) == {
        "air_destinations", "air_routes", "air_share_abroad", "air_countries",
        "air_continents", "air_betweenness", "air_eigenvector"}


def _table_with(at, *columns: str):
    return next(frame.value for frame in at.dataframe if set(columns) <= set(frame.value.columns))


def test_the_city_page_shows_them(warehouse, monkeypatch):
    monkeypatch.setenv("CITYBENCH_DB", str(warehouse))
    at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=60)
    at.query_params.update(city=LONDON)
    at.run()
    at.switch_page("views/city.py").run()
    assert not at.exception, at.exception
    assert "Networks" in [header.value for header in at.subheader]
    # the page's tables told apart by their columns: the report card and the peers come first
    table = _table_with(at, "Measure", "Rank").set_index("Measure")
    assert table.loc["Interlocking connectivity (gawc-gawc-test, 2018)"].tolist() == [
        "28", "1 of the 3 cities of its matrix · 100% of the top · Alpha++"]
    assert table.loc["Air: cities served directly (2014)"].tolist() == [
        "3", "1 of 6 cities with flights"]
    assert table.loc["Air: routes abroad (2014)", "Value"] == "88%"
    assert table.loc["City networks (2018)"].tolist() == ["2", "1 of 3 cities in city networks"]
    assert table.loc["Twinned cities (2014)", "Value"] == "2"
    captions = [caption.value for caption in at.caption]
    assert any("OpenFlights' last snapshot" in caption for caption in captions)
    assert any(caption.startswith("gawc-gawc-test: Interlocking connectivity among the 3 cities")
               for caption in captions)
    reach = _table_with(at, "network")
    assert reach.set_index("network")["cities"].to_dict() == {"C40": 3, "Eurocities": 2}
    specs = [chart.proto.spec for chart in at.get("vega_lite_chart")]
    assert any("London: strongest links by airline routes" in spec for spec in specs)
