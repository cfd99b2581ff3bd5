"""The Rankings page (app/views/rankings.py) against the offline default's published warehouse:
every rank, interval, filter and reweighted score checked against SQL on the warehouse and
against the engine's aggregation computed here on its own."""

from __future__ import annotations

import io
import json
import tomllib
from datetime import date

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from app import weights
from app.ui import HEADLINE
from indicators.composite.reweight import top_level
from indicators.composite.spec import load_framework, load_method
from tests.conftest import ROOT, query
from warehouse import rankings

APP = str(ROOT / "app" / "streamlit_app.py")
INTERVAL = "how far a city's rank moves when the weights and the normalisation are varied"


def _app(db, monkeypatch, **address) -> AppTest:
    monkeypatch.setenv("CITYBENCH_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(address)
    at.run()
    assert not at.exception, at.exception
    return at


def _downloads(monkeypatch) -> dict:
    """The deferred downloads the next runs offer, by file name (the callable, not yet run)."""
    offered = {}
    add = MediaFileManager.add_deferred

    def spy(self, data, mimetype, coordinates, file_name=None, element_id=""):
        offered[file_name] = data
        return add(self, data, mimetype, coordinates, file_name=file_name,
                   element_id=element_id)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return offered


def _stored(db) -> pd.DataFrame:
    """The headline's current run, one row per city: its index and dimension scores and ranks."""
    rows = query(db, """
        WITH run AS (SELECT score_run_id FROM score_run WHERE framework_id = ?
                     ORDER BY created_at DESC, score_run_id DESC LIMIT 1)
        SELECT s.city_id, c.name, s.node_id, s.value, s.rank, s.rank_low, s.rank_high
        FROM score s JOIN run USING (score_run_id) JOIN city c USING (city_id)
        WHERE s.node_kind IN ('index', 'dimension')""", (HEADLINE,))
    long = pd.DataFrame(rows, columns=["city_id", "name", "node", "value", "rank", "low", "high"])
    wide = long.pivot(index=["city_id", "name"], columns="node")
    wide.columns = [f"{measure}:{node}" for measure, node in wide.columns]
    return wide.reset_index()


def _framework_weights(db) -> dict[str, float]:
    """The dimension weights as the stored framework file states them (parsed here alone)."""
    text = query(db, "SELECT framework FROM score_run WHERE framework_id = ? "
                     "ORDER BY created_at DESC LIMIT 1", (HEADLINE,))[0][0]
    return {node["id"]: node["weight"] for node in tomllib.loads(text)["aggregate"]}


def _engine_ranks(scores: np.ndarray) -> np.ndarray:
    """1 + the number of cities scoring strictly higher (ties share the better rank)."""
    return np.array([1 + np.sum(scores > s) for s in scores])


@pytest.fixture(scope="module")
def default_view(published):
    with pytest.MonkeyPatch.context() as patch:
        yield _app(published, patch)


def test_the_index_ranks_cities_with_each_rank_interval_explained(default_view, published):
    at = default_view
    assert at.selectbox(key="framework").value == HEADLINE
    assert at.selectbox(key="rank_by").value == "index"
    stored = _stored(published).sort_values([f"rank:{HEADLINE}", "name"]).head(25)
    table = at.dataframe[0].value
    assert table["name"].tolist() == stored["name"].tolist()
    assert table["rank"].tolist() == stored[f"rank:{HEADLINE}"].tolist()
    assert table["rank_range"].tolist() == [
        f"{low:,.0f} to {high:,.0f}"
        for low, high in zip(stored[f"low:{HEADLINE}"], stored[f"high:{HEADLINE}"], strict=True)]
    captions = " ".join(c.value for c in at.caption)
    assert INTERVAL in captions and "should not be read precisely" in captions
    bars, intervals = (json.loads(c.proto.spec) for c in at.get("vega_lite_chart"))
    assert "World Urbanization Prospects" in " ".join(bars["title"]["subtitle"])
    subtitle = " ".join(intervals["title"]["subtitle"])
    assert "5-95% interval" in subtitle and "100 replications" in subtitle
    assert "World Urbanization Prospects" in subtitle
    # side by side, the two charts' rows start at the same height
    assert len(bars["title"]["subtitle"]) == len(intervals["title"]["subtitle"])
    assert {"x", "x2"} <= set(intervals["layer"][0]["encoding"])


def test_the_methodology_is_written_from_the_framework_and_method_files(default_view):
    methodology = next(e for e in default_view.expander if e.label.startswith("How this"))
    text = "\n".join(m.value for m in methodology.markdown)
    # the run scored air, twinning and demography: weights 2, 0.5, 1 of 3.5
    assert "| Air connectivity [2, 57%] | Cities served by direct flights [1]" in text
    assert "Diplomatic reach (twinning) [0.5, 14%]" in text
    assert "Firm connectivity [2, left out of this run]" in text
    assert "Betweenness (air) [0.5]" in text
    assert "method = minmax" in text and "method = winsorise" in text
    assert "the index: arithmetic mean of its dimensions, a city needing 100%" in text


def test_the_runs_own_weights_give_back_the_stored_index(published):
    """Recomputed by the page's code from the stored dimensions, and by hand from the framework
    file's weights: both are the index the refresh stored."""
    files = rankings.run_files(published, HEADLINE)
    framework = load_framework(files["framework"])
    nodes = (HEADLINE, *framework.children(HEADLINE))
    frame = rankings.scores(published, HEADLINE, nodes)
    scored = [c for c in framework.children(HEADLINE) if frame[f"value:{c}"].notna().any()]
    top = top_level(framework, load_method(files["method"]), scored)
    balanced = weights.offered(HEADLINE, top)[weights.BALANCED][0]
    mine = weights.reranked(frame, top, balanced)
    stored = frame[f"value:{HEADLINE}"]
    assert np.abs(mine["score"] - stored).max() < 1e-9
    assert (mine["rank"] == frame[f"rank:{HEADLINE}"]).all()
    by_file = _framework_weights(published)
    by_hand = sum(by_file[c] * frame[f"value:{c}"] for c in scored) / sum(
        by_file[c] for c in scored)
    assert np.abs(by_hand - stored).max() < 1e-9


def test_a_perspective_sets_the_sliders_and_reranks_with_the_change_shown(published,
                                                                         monkeypatch):
    at = _app(published, monkeypatch)
    at.selectbox(key=f"perspective-{HEADLINE}").set_value("Air hub").run()
    wanted = weights.PERSPECTIVES[HEADLINE]["Air hub"][0]
    sliders = {s.key.rsplit("-", 1)[1]: s.value for s in at.slider}
    assert sliders == {c: wanted[c] for c in sliders}  # air's 1 is already the largest
    assert at.query_params["weights"] == "air:1,twinning:0.1,demography:0.25"

    stored = _stored(published)
    score = sum(wanted[c] * stored[f"value:{c}"] for c in sliders) / sum(
        wanted[c] for c in sliders)
    stored = stored.assign(mine=score, my_rank=_engine_ranks(score.to_numpy()))
    expected = stored.sort_values(["my_rank", "name"]).head(25)
    table = at.dataframe[0].value
    assert table["name"].tolist() == expected["name"].tolist()
    assert table["rank"].tolist() == expected["my_rank"].tolist()
    assert np.allclose(table["score"], expected["mine"], atol=1e-12)
    assert table["official_rank"].tolist() == expected[f"rank:{HEADLINE}"].tolist()
    for change, official, mine in zip(table["change"], table["official_rank"], table["rank"],
                                      strict=True):
        gained = official - mine
        assert change == ("=" if gained == 0 else f"▲ {gained:.0f}" if gained > 0
                          else f"▼ {-gained:.0f}")

    # a slider moved by hand is no perspective, and the address follows it
    at.slider(key=f"weight-{HEADLINE}-twinning").set_value(0.5).run()
    assert at.selectbox(key=f"perspective-{HEADLINE}").value == weights.CUSTOM
    assert at.query_params["weights"] == "air:1,twinning:0.5,demography:0.25"


def test_all_the_weight_on_one_dimension_ranks_by_that_dimension(published, monkeypatch):
    at = _app(published, monkeypatch, weights="air:0,twinning:1,demography:0")
    assert not at.warning
    table = at.dataframe[0].value
    stored = _stored(published).sort_values(["rank:twinning", "name", "city_id"]).head(25)
    assert table["name"].tolist() == stored["name"].tolist()
    assert table["rank"].tolist() == stored["rank:twinning"].tolist()
    assert table["official_rank"].tolist() == stored[f"rank:{HEADLINE}"].tolist()
    assert np.allclose(table["score"], stored["value:twinning"], atol=1e-12)
    assert at.selectbox(key=f"perspective-{HEADLINE}").value == weights.CUSTOM


def test_a_dimension_ranking_among_a_peer_group_and_its_whole_download(published,
                                                                      monkeypatch):
    offered = _downloads(monkeypatch)
    at = _app(published, monkeypatch, rank_by="demography", continent="EU", size="1M-5M",
              top="5")
    # the size class: UN WUP's agglomeration (latest year up to this one), else GeoNames'
    expected = query(published, """
        WITH run AS (SELECT score_run_id FROM score_run WHERE framework_id = ?
                     ORDER BY created_at DESC LIMIT 1),
        wup AS (SELECT city_id, arg_max(value, period) AS people FROM observation
                WHERE indicator_id = 'agglomeration_population' AND period <= ?
                GROUP BY city_id)
        SELECT c.name, s.rank, s.value FROM score s JOIN run USING (score_run_id)
        JOIN city c USING (city_id) JOIN country k ON k.iso2 = c.country_iso2
        LEFT JOIN wup USING (city_id)
        WHERE s.node_id = 'demography' AND k.continent = 'EU'
          AND coalesce(wup.people, c.population) >= 1e6
          AND coalesce(wup.people, c.population) < 5e6
        ORDER BY s.rank, c.name""", (HEADLINE, date.today().year))
    table = at.dataframe[0].value
    assert [(r.name, r.rank) for r in table.itertuples()] == [e[:2] for e in expected[:5]]
    assert table["rank_in_group"].tolist() == [1, 2, 3, 4, 5]
    assert "rank_range" not in table  # intervals are the index's only, and the page says so
    assert "computed for the index only" in " ".join(c.value for c in at.caption)

    csv = pd.read_csv(io.StringIO(offered[f"ranking-{HEADLINE}-demography.csv"]()))
    assert len(csv) == len(expected) > 5
    assert csv["name"].tolist() == [e[0] for e in expected]
    assert np.allclose(csv["score"], [e[2] for e in expected], atol=1e-12)
    assert csv["rank"].dtype.kind in "if" and set(csv["size_class"]) == {"1M-5M"}
    assert {"city_id", "rank_low", "rank_high", "air_score", "twinning_score"} <= set(csv)
    assert dict(at.query_params) == {"rank_by": "demography", "continent": "EU",
                                     "size": "1M-5M", "top": "5"}


@pytest.mark.parametrize(("text", "why"), [
    ("air:1e308", "not a number from 0 to 1"),
    ("air:-1", "not a number from 0 to 1"),
    ("air:nan", "not a number from 0 to 1"),
    ("air:inf", "not a number from 0 to 1"),
    ("air", "not a number from 0 to 1"),
    ("sky:1", "no dimension 'sky'"),
    ("x' OR 1=1--", "no dimension"),
    ("air:1,air:0.5", "given twice"),
    ("air:0,twinning:0", "every weight is 0"),
])
def test_bad_weights_are_refused_with_the_reason(text, why):
    with pytest.raises(ValueError, match=why):
        weights.parse(text, ("air", "twinning", "demography"))


def test_good_weights_round_trip_through_the_address():
    parsed = weights.parse("twinning:0.25, air:1", ("air", "twinning", "demography"))
    assert parsed == {"air": 1.0, "twinning": 0.25, "demography": 0.0}
    assert weights.as_text(parsed) == "air:1,twinning:0.25,demography:0"


def test_a_bad_address_gives_one_line_each_and_the_default_view(published, monkeypatch):
    at = _app(published, monkeypatch, weights="air:1e308", rank_by="x' OR 1=1--",
              continent="E" * 10_000, top="-1", framework="nope")
    said = [w.value for w in at.warning]
    assert len(said) == 5 and all("\n" not in line for line in said), said
    assert any("weights=" in line and "from 0 to 1" in line for line in said)
    assert at.selectbox(key="framework").value == HEADLINE
    assert at.selectbox(key="rank_by").value == "index"
    assert [s.value for s in at.slider] == [1.0, 0.25, 0.5]  # the framework's 2 / 0.5 / 1
    top = query(published, "SELECT c.name FROM score s JOIN city c USING (city_id) "
                           "WHERE s.node_id = ? AND s.rank = 1", (HEADLINE,))[0][0]
    assert at.dataframe[0].value.iloc[0]["name"] == top
    assert len(at.dataframe[0].value) == 25
