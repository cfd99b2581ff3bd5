"""The Explorer page (app/views/explorer.py), driven by streamlit.testing against the published
offline default: what it charts is checked against SQL on the warehouse."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, query

APP = str(ROOT / "app" / "streamlit_app.py")
PARIS = "gn:2988507"
WUP = "agglomeration_population"


def page(db, view: str, monkeypatch, **address) -> AppTest:
    """One page of the app, opened on this address (the page first: no other page runs)."""
    monkeypatch.setenv("CITYBENCH_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(address)
    at.switch_page(f"views/{view}.py").run()
    assert not at.exception, at.exception
    return at


def charts(at) -> dict[str, tuple[dict, dict[str, list[dict]]]]:
    """Each chart by its title (joined): its spec, and its datasets' rows by name (Streamlit
    ships tables beside the spec as Arrow; geometry stays in the spec)."""
    shown = {}
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        rows = {data.name: pa.ipc.open_stream(data.data.data).read_all().to_pylist()
                for data in chart.proto.datasets}
        title = spec["title"]["text"]
        shown[" ".join(title) if isinstance(title, list) else title] = (spec, rows)
    return shown


def layer_rows(chart, mark: str, **style) -> list[dict]:
    """The rows drawn by the layer of this mark type (and style) of a chart."""
    spec, rows = chart
    for layer in spec.get("layer", [spec]):
        drawn = layer["mark"]
        if drawn["type"] == mark and all(drawn.get(k) == v for k, v in style.items()):
            return rows[layer["data"]["name"]]
    raise AssertionError(f"no {mark} layer")


def titled(shown: dict, start: str):
    return next(chart for title, chart in shown.items() if title.startswith(start))


@pytest.fixture(scope="module")
def explorer(published):
    """One run of the page for the tests that only read it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield page(published, "explorer", monkeypatch, indicator=WUP, period="2015",
                   city=PARIS, versus="air_routes")


def test_distribution_is_every_citys_value_by_continent(explorer, published):
    boxes = layer_rows(titled(charts(explorer), "Urban agglomeration population: how"), "bar")
    expected = query(published, """
        SELECT co.continent, count(*), quantile_cont(o.value, 0.25), median(o.value),
               quantile_cont(o.value, 0.75), quantile_cont(o.value, 0.95)
        FROM observation o JOIN city c USING (city_id) JOIN country co ON co.iso2 = c.country_iso2
        WHERE o.indicator_id = ? AND o.period = 2015 AND o.source_id = 'un-wup'
        GROUP BY co.continent
    """, (WUP,))
    names = {"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America",
             "OC": "Oceania", "SA": "South America"}
    shown = {row["group"]: (row["cities"], row["p25"], row["median"], row["p75"], row["p95"])
             for row in boxes}
    assert shown == {names[continent]: tuple(rest) for continent, *rest in expected}


def test_scatter_highlights_the_chosen_city_at_its_values(explorer, published):
    scatter = titled(charts(explorer), "Air: airline routes, 2014 against")
    (paris,) = layer_rows(scatter, "point", shape="diamond")
    x, y = query(published, """
        SELECT w.value, a.value FROM observation w JOIN observation a USING (city_id)
        WHERE w.city_id = ? AND w.indicator_id = ? AND w.period = 2015
          AND a.indicator_id = 'air_routes'
    """, (PARIS, WUP))[0]
    assert (paris["city_id"], paris["x"], paris["y"]) == (PARIS, x, y)
    dots = layer_rows(scatter, "circle")
    assert PARIS in {row["city_id"] for row in dots} and len(dots) <= 4000


def test_time_series_marks_the_projections(explorer, published):
    series = layer_rows(titled(charts(explorer), "Paris: urban agglomeration"), "point")
    expected = query(published, "SELECT period, value, coalesce(contains(flag, 'f'), false) "
                                "FROM observation WHERE city_id = ? AND indicator_id = ? "
                                "ORDER BY period", (PARIS, WUP))
    assert [(r["period"], r["value"], r["kind"] == "Projection") for r in series] == [
        tuple(row) for row in expected]
    assert any(projected for *_, projected in expected)


def test_map_is_projected_with_inline_outlines_and_no_url(explorer):
    spec, rows = titled(charts(explorer), "Urban agglomeration population: where")
    assert spec["projection"]["type"] == "equalEarth"
    outlines = spec["datasets"]["countries-110m"]
    assert outlines["type"] == "Topology"
    assert len(outlines["objects"]["countries"]["geometries"]) == 177  # Natural Earth 110m
    for chart, _ in charts(explorer).values():
        assert '"url"' not in json.dumps(chart)
    mapped = layer_rows((spec, rows), "circle")
    assert all(-90 <= r["latitude"] <= 90 and -180 <= r["longitude"] <= 180 for r in mapped)


def test_the_address_keeps_the_view(explorer):
    assert dict(explorer.query_params) == {
        "indicator": WUP, "versus": "air_routes", "period": "2015", "city": PARIS}


def test_bad_parameters_give_one_line_each_and_the_defaults(published, monkeypatch):
    at = page(published, "explorer", monkeypatch, indicator="x' OR 1=1--", period="1e308",
              versus="-1", city="Valencia" + "x" * 10_000)
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 3, warnings  # indicator, versus, city; no period to pick from
    assert all("ignored" in w for w in warnings)
    assert at.selectbox(key="indicator").value == "population"
    assert at.selectbox(key="versus").value == "air_routes"
    biggest = query(published, "SELECT city_id FROM city ORDER BY population DESC NULLS LAST "
                               "LIMIT 1")[0][0]
    assert dict(at.query_params)["city"] == biggest
    assert len(at.get("vega_lite_chart")) == 3  # distribution, scatter, map
