"""The Streamlit pages, driven by streamlit.testing against real warehouses."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from datetime import date

import duckdb
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from app.ui import FRAMEWORK, HEADLINE
from tests.app_fixtures import FAILED_LOAD_ERROR, INDICATORS, NEVER_LOADED, build_warehouse
from tests.conftest import ROOT, query

APP = str(ROOT / "app" / "streamlit_app.py")


def _app(db, monkeypatch, page=None, **query) -> AppTest:
    monkeypatch.setenv("CITYBENCH_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _one(db, sql, params=()):
    return query(db, sql, params)[0]


def _chart_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def _chart_data(at, number: int = 0) -> list[dict]:
    """The rows Streamlit ships beside a chart's spec (Arrow IPC, one table per dataset)."""
    chart = at.get("vega_lite_chart")[number].proto
    rows = []
    for dataset in chart.datasets:
        rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return rows


def _texts(at) -> str:
    parts = [c.value for c in at.caption] + [m.value for m in at.markdown]
    return "\n".join(parts)


def _shown(db) -> str:
    """The framework the Rankings page opens on: the headline, unless its run scored no city."""
    scored = _one(db, "SELECT count(*) FROM score_run WHERE framework_id = ? AND cities > 0",
                  (HEADLINE,))[0]
    return HEADLINE if scored else "prominence"


def test_rankings_show_the_top_city_with_freshness_and_attribution(published, monkeypatch):
    at = _app(published, monkeypatch)
    framework = _shown(published)
    assert at.selectbox(key="framework").value == framework
    top, top_id = _one(published, "SELECT c.name, c.city_id FROM score s JOIN city c "
                                  "USING (city_id) WHERE s.node_kind = 'index' AND s.rank = 1 "
                                  "AND s.node_id = ?", (framework,))
    table = at.dataframe[0].value
    assert table.iloc[0]["name"] == top and table.iloc[0]["rank"] == 1
    # beside GeoNames' figure, the UN agglomeration's latest up to this year
    wup = query(published, "SELECT period, value FROM observation WHERE city_id = ? AND "
                           "indicator_id = 'agglomeration_population'", (top_id,))
    if framework == HEADLINE:
        latest = max((period, value) for period, value in wup if period <= date.today().year)
        assert table.iloc[0]["agglomeration_population"] == latest[1]
    assert list(table["rank"]) == sorted(table["rank"])
    version = _one(published, "SELECT max(version) FROM publication")[0]
    assert f"Published version {version}" in _texts(at)
    credited = "World Urbanization Prospects" if framework == HEADLINE else "GeoNames"
    assert credited in _texts(at)
    assert _chart_data(at)[0]["name"] == top
    # the chart carries its attribution, so an exported PNG still credits the data (in lines
    # wrapped to a phone's width)
    assert credited in " ".join(_chart_specs(at)[0]["title"]["subtitle"])


def test_rankings_filter_to_a_continent(published, monkeypatch):
    at = _app(published, monkeypatch)
    at.selectbox(key="continent").set_value("AF").run()
    table = at.dataframe[0].value
    african = {name for (name,) in query(published,
                                         "SELECT name FROM country WHERE continent = 'AF'")}
    assert set(table["country"]) <= african and len(table) > 1
    expected = _one(published, """
        SELECT c.name FROM score s JOIN city c USING (city_id)
        JOIN country k ON k.iso2 = c.country_iso2
        WHERE s.node_kind = 'index' AND s.node_id = ? AND k.continent = 'AF'
          AND s.rank_continent = 1""", (_shown(published),))[0]
    assert table.iloc[0]["name"] == expected


def test_city_page_shows_ranks_among_all_country_and_continent(published, monkeypatch):
    """Lagos, a UN agglomeration, is shown in the headline benchmark."""
    lagos = _one(published, "SELECT city_id FROM city WHERE name = ? AND country_iso2 = ?",
                 ("Lagos", "NG"))[0]
    at = _app(published, monkeypatch, "views/city.py", city=lagos)
    rank, rank_country, rank_continent, low, high = _one(
        published, "SELECT rank, rank_country, rank_continent, rank_low, rank_high FROM score "
                   "WHERE city_id = ? AND node_kind = 'index' AND node_id = ?",
        (lagos, HEADLINE))
    assert low <= high
    assert f"lies between {low:,} and {high:,}" in " ".join(c.value for c in at.caption)
    metrics = [m.value for m in at.metric]
    assert metrics[0].startswith(f"{rank:,} of ")
    assert metrics[1].startswith(f"{rank_country:,} of ")
    assert metrics[2].startswith(f"{rank_continent:,} of ")
    assert at.subheader[0].value == "Lagos, Nigeria"
    profile = at.dataframe[0].value
    assert {"Air: cities served directly", "Twinning: partner cities"} <= set(profile["Measure"])
    # every node reads as a name, never a bare id: dimensions and derived indicators take the
    # framework's names
    spec = tomllib.loads((ROOT / "flows" / "frameworks" / f"{HEADLINE}.toml").read_text())
    ids = {node["id"] for node in spec["aggregate"] + spec["indicator"]}
    assert not ids & set(profile["Measure"])
    assert "Air connectivity (dimension)" in set(profile["Measure"])
    assert "Agglomeration growth 2010-2020 (% a year, UN WUP)" in set(profile["Measure"])
    routes = profile.loc[profile["Measure"] == "Air: airline routes", "Value"].item()
    assert routes.endswith(" routes") and "." not in routes  # a count, not "12.00 routes"
    # where it stands among its peers (tests/test_app_city.py checks the chart's rows)
    assert _chart_specs(at)[0]["title"]["text"] == "Where Lagos stands among its peers"



def test_a_city_outside_the_headline_is_ranked_by_prominence_and_says_so(published, monkeypatch):
    """A town the UN does not list as an agglomeration has no headline rank: the page says so
    and ranks it among every city of the registry."""
    town = _one(published, """
        SELECT city_id FROM city WHERE population < 100000 AND city_id NOT IN (
            SELECT city_id FROM observation WHERE indicator_id = 'agglomeration_population')
        ORDER BY population DESC LIMIT 1""")[0]
    at = _app(published, monkeypatch, "views/city.py", city=town)
    rank = _one(published, "SELECT rank FROM score WHERE city_id = ? AND node_kind = 'index' "
                           "AND node_id = ?", (town, FRAMEWORK))[0]
    assert at.metric[0].value.startswith(f"{rank:,} of ")
    assert any("Outside the headline benchmark" in c.value for c in at.caption)

def test_city_page_matches_independently_computed_ranks_and_peer_groups(tmp_path, monkeypatch):
    """Every cell of the profile against ranks, percentiles and peer counts computed in Python."""
    synthetic = build_warehouse(tmp_path / "w.duckdb")
    at = _app(synthetic.path, monkeypatch, "views/city.py", city="gn:2867714")  # München
    assert at.subheader[0].value == "München, Germany"
    assert at.query_params["city"] == "gn:2867714"
    names = dict(zip(INDICATORS["indicator_id"], INDICATORS["name"], strict=True))
    names["prominence"] = "Prominence index"
    expected = synthetic.scores[synthetic.scores["city_id"] == "gn:2867714"]
    shown = at.dataframe[0].value.set_index("Measure")
    assert set(shown.index) == set(names.values())
    for row in expected.itertuples():
        cells = shown.loc[names[row.node_id]]
        for column, suffix in (("Among all cities", ""), ("In its country", "_country"),
                               ("In its continent", "_continent")):
            rank, peers = getattr(row, "rank" + suffix), getattr(row, "peers" + suffix)
            percentile = getattr(row, "percentile" + suffix)
            # a yes/no indicator has no rank: every city without it would tie last
            said = ("" if row.node_id == "capital"
                    else f"{rank:,} of {peers:,} (p{percentile:.0f})")
            assert cells[column] == said, row.node_id
    index = expected[expected["node_id"] == "prominence"].iloc[0]
    assert [m.value for m in at.metric] == [
        f"{index['rank']} of 8", f"{index['rank_country']} of 3", f"{index['rank_continent']} of 6"]
    assert f"Percentile {index['percentile']:.1f}" in at.metric[0].help
    assert _chart_specs(at)[0]["title"]["text"] == "Where München stands among its peers"


def test_city_search_ignores_accents(published, monkeypatch):
    at = _app(published, monkeypatch, "views/city.py")
    at.text_input[0].set_value("sao paulo").run()
    assert not at.exception
    assert at.subheader[0].value == "São Paulo, Brazil"


def test_city_search_finds_alternate_names_and_never_picks_a_namesake(published, monkeypatch):
    at = _app(published, monkeypatch, "views/city.py")
    at.text_input[0].set_value("München").run()
    assert not at.exception and at.subheader[0].value == "Munich, Germany"
    assert at.query_params["city"] == "gn:2867714"
    # several cities are called Valencia: they are listed, none is shown until one is chosen
    at.text_input[0].set_value("Valencia").run()
    assert not at.exception and not at.subheader
    assert "could be" in at.info[0].value
    picker = at.selectbox[0]
    assert picker.value is None  # the options are shown with their country and population
    for label in ("Valencia, Spain (ES) · ", "Valencia, Venezuela (VE) · "):
        assert any(option.startswith(label) for option in picker.options), picker.options
    picker.set_value("gn:2509954").run()
    assert at.subheader[0].value == "Valencia, Spain"


def test_an_address_may_name_the_city(published, monkeypatch):
    at = _app(published, monkeypatch, "views/city.py", city="Valencia, ES")
    assert at.subheader[0].value == "Valencia, Spain"
    assert at.query_params["city"] == "gn:2509954"


@pytest.mark.parametrize("asked", ["x' OR 1=1--", "Valencia", "gn:1"])
def test_an_address_naming_no_one_city_says_so_and_keeps_the_address(published, monkeypatch,
                                                                      asked):
    at = _app(published, monkeypatch, "views/city.py", city=asked)
    assert not at.subheader, "no city is shown in its place"
    assert at.error[0].value.startswith("The address names no one city")
    assert at.query_params["city"] == asked
    if asked == "Valencia":  # each candidate is a link to its own page
        assert "(?city=gn:2509954)" in at.markdown[-1].value


def test_rankings_use_the_current_score_run_only(tmp_path, monkeypatch):
    synthetic = build_warehouse(tmp_path / "w.duckdb")
    at = _app(synthetic.path, monkeypatch)
    current = synthetic.scores[synthetic.scores["node_id"] == "prominence"].sort_values("rank")
    table = at.dataframe[0].value
    assert table["name"].tolist() == current["name"].tolist()
    assert table.iloc[0]["name"] != synthetic.stale_top_city


def test_sources_page_shows_a_failed_load_and_its_reason(tmp_path, monkeypatch):
    synthetic = build_warehouse(tmp_path / "w.duckdb")
    at = _app(synthetic.path, monkeypatch, "views/sources.py")
    errors = [e.value for e in at.error]
    # the source that never loaded is listed too, with its reason
    assert sorted(errors) == sorted(
        [f"Last run failed: {FAILED_LOAD_ERROR}", f"Last run failed: {NEVER_LOADED[1]}"]
    )
    assert "last run failed for worldbank" in _texts(at)
    assert f"`{NEVER_LOADED[0]}`" in _texts(at)
    datasets = at.dataframe[0].value
    assert sorted(datasets["source_id"]) == ["geonames", "worldbank"]
    held = query(synthetic.path, "SELECT source_id, count(*) FROM observation GROUP BY ALL")
    assert dict(zip(datasets["source_id"], datasets["rows_held"], strict=True)) == dict(held)


def test_population_figures_each_say_their_definition_and_frozen_data_says_since_when(
        tmp_path, monkeypatch):
    """München: GeoNames' figure beside the UN's urban agglomeration (a projection), each
    labelled; a source its publisher no longer updates says since when, and the unresolved
    share of its last load."""
    synthetic = build_warehouse(tmp_path / "w.duckdb")
    con = duckdb.connect(str(synthetic.path))
    con.execute("INSERT INTO indicator (indicator_id, name, unit, direction, domain, "
                "description, source_id) VALUES ('agglomeration_population', 'Urban "
                "agglomeration population', 'persons', 1, 'demography', 'UN WUP', 'geonames')")
    con.execute("INSERT INTO observation VALUES ('gn:2867714', 'agglomeration_population', "
                "2025, 'geonames', 2000000, 'f', 3, 'geonames')")
    con.execute("INSERT INTO observation VALUES ('gn:2867714', 'agglomeration_population', "
                "2035, 'geonames', 2100000, 'f', 3, 'geonames')")  # beyond this year: not shown
    con.execute("UPDATE source SET frozen_since = '2014-06' WHERE source_id = 'geonames'")
    con.execute("UPDATE \"load\" SET records_unresolved = 12, records_to_resolve = 48 "
                "WHERE load_id = 3")
    con.close()
    listed = query(synthetic.path, "SELECT population FROM city WHERE city_id = 'gn:2867714'")
    at = _app(synthetic.path, monkeypatch, "views/city.py", city="gn:2867714")
    caption = _texts(at)
    assert (f"population {listed[0][0]:,} (GeoNames: the place as GeoNames lists it, undated)"
            " · population 2,000,000 (UN WUP 2018: urban agglomeration, 2025, projection)"
            in caption)
    at = _app(synthetic.path, monkeypatch, "views/sources.py")
    assert any("Not updated by its publisher since 2014-06" in w.value for w in at.warning)
    assert "12 of 48 records not tied to a city (25.0%)" in _texts(at)


def test_a_newly_published_version_is_shown_on_the_next_run(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    build_warehouse(db)
    at = _app(db, monkeypatch, "views/sources.py")
    assert "Published version 2" in _texts(at)
    newer = tmp_path / "next.duckdb"
    shutil.copyfile(db, newer)
    con = duckdb.connect(str(newer))
    con.execute("INSERT INTO publication VALUES (3, now(), NULL, 'third')")
    con.close()
    os.replace(newer, db)  # exactly how a refresh publishes
    at.run()
    assert "Published version 3" in _texts(at)


@pytest.mark.parametrize("page", [None, "views/city.py", "views/sources.py"])
def test_without_a_warehouse_every_page_says_what_to_do(tmp_path, monkeypatch, page):
    at = _app(tmp_path / "missing.duckdb", monkeypatch, page)
    assert "Run `citybench refresh`" in at.info[0].value
