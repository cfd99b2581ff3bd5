"""The Networks page (app/views/networks.py), driven by streamlit.testing against the published
offline default: rankings, pairs and a city's links checked against SQL on the warehouse."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import copy_of, query
from tests.test_app_explorer import charts, layer_rows, page, titled

LONDON, PARIS = "gn:2643743", "gn:2988507"


@pytest.fixture(scope="module")
def networks(published):
    """One run of the page for the tests that only read it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield page(published, "networks", monkeypatch, city=PARIS)


def test_connectivity_ranking_and_tiers_follow_the_stored_measure(networks, published):
    ranking = networks.dataframe[0].value
    expected = query(published, """
        SELECT city_id, value FROM observation WHERE indicator_id = 'air_routes'
        ORDER BY value DESC, city_id
    """)
    assert len(ranking) == len(expected)
    assert list(ranking["value"]) == [value for _, value in expected]
    top = ranking.iloc[0]
    assert (top["city_id"], top["rank"], top["tier"]) == (expected[0][0], 1, "Alpha++")
    # a city below 5% of the top's routes has no tier
    assert ranking.loc[ranking["value"] < 0.05 * top["value"], "tier"].isna().all()


def test_strongest_pair_is_the_heaviest_air_link(networks, published):
    pairs = networks.dataframe[2].value
    a, b, weight = query(published, """
        SELECT ca.name, cb.name, max(l.weight) AS w FROM city_link l
        JOIN city ca ON ca.city_id = l.city_a JOIN city cb ON cb.city_id = l.city_b
        WHERE l.kind = 'air-route' GROUP BY ALL ORDER BY w DESC LIMIT 1
    """)[0]
    top = pairs.iloc[0]
    assert {top["name_a"], top["name_b"]} == {a, b} and top["weight"] == weight
    assert list(pairs["weight"]) == sorted(pairs["weight"], reverse=True)


def test_city_links_are_one_line_per_partner_on_a_projection(networks, published):
    spec, rows = titled(charts(networks), "Paris: its links")
    assert spec["projection"]["type"] == "equalEarth"
    # GeoJSON stays in the spec (Streamlit ships only tables beside it)
    (lines,) = [spec["datasets"][layer["data"]["name"]] for layer in spec["layer"]
                if layer["mark"]["type"] == "geoshape" and layer["mark"].get("filled") is False]
    partners = query(published, """
        SELECT kind, count(DISTINCT CASE WHEN city_a = ? THEN city_b ELSE city_a END)
        FROM city_link WHERE city_a = ? OR city_b = ? GROUP BY kind
    """, (PARIS, PARIS, PARIS))
    assert len(lines) == sum(n for _, n in partners)
    assert len(layer_rows((spec, rows), "circle")) == len(lines)
    assert all(line["geometry"]["type"] == "LineString" for line in lines)
    assert '"url"' not in str(spec)


def test_no_city_network_is_said_plainly(networks, published):
    if query(published, "SELECT count(*) FROM membership")[0][0]:
        pytest.skip("this warehouse holds city-network memberships")
    assert any("no city-network memberships" in info.value for info in networks.info)


def test_bad_parameters_give_one_line_each_and_the_defaults(published, monkeypatch):
    at = page(published, "networks", monkeypatch, measure="x' OR 1=1--", link="1e308",
              city="x" * 10_000)
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 3, warnings
    assert at.selectbox(key="measure").value == "air:air_routes"
    assert at.selectbox(key="link").value == "air-route"
    assert dict(at.query_params)["city"] == LONDON  # the most air routes: the default
    assert titled(charts(at), "London: its links")


def test_an_ambiguous_name_is_listed_never_picked(published, monkeypatch):
    at = page(published, "networks", monkeypatch, city="Valencia")
    assert len(at.warning) == 1 and "could be" in at.warning[0].value
    at.text_input(key="city-search").input("Valencia").run()
    candidates = at.selectbox(key="city-candidates")
    assert candidates.value is None and len(candidates.options) > 1
    assert titled(charts(at), "London: its links")  # still the default, nothing picked
    candidates.set_value("gn:2509954").run()
    assert titled(charts(at), "Valencia: its links")
    assert dict(at.query_params)["city"] == "gn:2509954"


MEMBERS = (PARIS, LONDON, "gn:1850147", "gn:5128581", "gn:3435910", "gn:2332459")


def test_a_city_networks_reach_is_its_members_on_the_map(published, tmp_path, monkeypatch):
    db = copy_of(published, tmp_path)
    with duckdb.connect(str(db)) as con:
        load_id = con.execute("SELECT max(load_id) FROM load").fetchall()[0][0]
        con.execute("INSERT INTO network VALUES ('c40', 'city-network', 'C40 Cities', NULL, "
                    "NULL, 'twincities')")
        con.execute("INSERT INTO membership SELECT 'c40', city_id, 2024, 1, 'twincities', "
                    "'c40.csv', ? FROM city WHERE list_contains(?, city_id)",
                    [load_id, list(MEMBERS)])
    at = page(db, "networks", monkeypatch, network="C40 Cities")
    shown = charts(at)
    spec, rows = titled(shown, "C40 Cities: how far")
    assert spec["projection"]["type"] == "equalEarth"
    assert sorted(r["city_id"] for r in layer_rows((spec, rows), "circle")) == sorted(MEMBERS)
    per_country = {r["country"]: r["cities"]
                   for r in layer_rows(titled(shown, "C40 Cities: members per"), "bar")}
    assert per_country == dict(query(db, """
        SELECT co.name, count(*) FROM city c JOIN country co ON co.iso2 = c.country_iso2
        WHERE list_contains(?, c.city_id) GROUP BY co.name
    """, (list(MEMBERS),)))
