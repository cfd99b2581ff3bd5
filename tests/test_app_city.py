"""The "My city" page against its peers, driven by streamlit.testing on the published offline
default: the report card is compare()'s (the CLI's functions), the peers and framework live
in the address, and every chart says what it draws."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from app.compare_cli import compare
from indicators.peers.report import nodes_frame
from tests.conftest import query
from tests.test_app_pages import _app, _chart_data, _chart_specs
from warehouse.connect import reading

LYON = "gn:2996944"
PAGE = "views/city.py"


def _comparison(db, peers=None, k=10, framework=None):
    with reading(db) as con:
        return compare(con, LYON, peers, framework, k, {})


def _card(at) -> pd.DataFrame:
    (card,) = [d.value for d in at.dataframe if "peer_median" in d.value.columns]
    return card


def _chart(at, title: str) -> int:
    titles = [spec["title"]["text"] for spec in _chart_specs(at)]
    return titles.index(title)


@pytest.fixture(scope="module")
def lyon(published):
    """One run of the page for Lyon with the default peers, and compare()'s answer."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        at = _app(published, monkeypatch, PAGE, city=LYON)
    return at, _comparison(published)


def test_the_report_card_is_compares_and_its_median_is_the_peers(lyon, published):
    at, comparison = lyon
    card = _card(at)
    # in the framework's nesting: the index, then each dimension and its indicators
    assert card["level"].iloc[0] == "index"
    expected = nodes_frame(comparison.card.nodes).set_index("node_id").loc[
        card["node_id"]].reset_index()
    assert sorted(card["node_id"]) == sorted(row["node_id"] for row in comparison.card.nodes)
    for shown, computed in (("score", "normalised"), ("rank", "rank"),
                            ("percentile", "percentile"), ("peer_q1", "peer_q1"),
                            ("peer_median", "peer_median"), ("peer_q3", "peer_q3"),
                            ("gap_to_median", "gap_to_median"), ("gap_to_best", "gap_to_best"),
                            ("value", "value"), ("rank_low", "rank_low")):
        assert np.allclose(card[shown].astype(float), expected[computed].astype(float),
                           equal_nan=True), shown
    # numbers stay numbers (the CSV has them raw)
    assert pd.api.types.is_float_dtype(card["peer_median"])
    # the index's median, straight from the warehouse: the peers' normalised index scores
    peers = comparison.group.ids
    framework = comparison.framework
    scores = [row[0] for row in query(published, f"""
        SELECT s.normalised FROM score s WHERE s.node_kind = 'index' AND s.node_id = ?
          AND s.score_run_id = (SELECT score_run_id FROM score_run WHERE framework_id = ?
                                ORDER BY created_at DESC, score_run_id DESC LIMIT 1)
          AND s.city_id IN ({', '.join('?' * len(peers))})""", (framework, framework, *peers))]
    index = card[card["level"] == "index"].iloc[0]
    assert index["peer_median"] == pytest.approx(float(pd.Series(scores).median()))
    # the peers are listed with their distance on the profile
    listed = next(d.value for d in at.dataframe if "distance" in d.value.columns)
    assert list(listed["city_id"]) == peers
    assert np.allclose(listed["distance"], [row["distance"] for row in comparison.group.peers])


def test_the_bullet_chart_has_a_row_per_node_with_the_citys_score(lyon):
    at, comparison = lyon
    rows = pd.DataFrame(_chart_data(at, _chart(at, "Where Lyon stands among its peers")))
    nodes = nodes_frame(comparison.card.nodes)
    assert sorted(rows["node_id"]) == sorted(nodes["node_id"])
    by_node = nodes.set_index("node_id")
    for row in rows.itertuples():
        assert row.city == pytest.approx(by_node.at[row.node_id, "normalised"])
        assert row.median == pytest.approx(by_node.at[row.node_id, "peer_median"])
        assert row.low <= row.q1 <= row.median <= row.q3 <= row.high


def test_learn_from_shows_each_suggestion_with_its_evidence(lyon):
    at, comparison = lyon
    found = pd.DataFrame(comparison.learn_from)
    assert len(found), "the offline default has cities to learn from for Lyon"
    text = "\n".join(m.value for m in at.markdown)
    for row in found.itertuples():
        line = next(line for line in text.splitlines() if f"[{row.name}](?city={row.city_id})"
                    in line)
        assert f"ahead by {row.ahead_by:.3f}" in line
        assert all(tie in line for tie in row.shared)


def test_charts_and_footer_credit_only_the_sources_they_show(lyon, published):
    at, _ = lyon
    spec = _chart_specs(at)[_chart(at, "Lyon: strongest links by airline routes")]
    subtitle = " ".join(spec["title"]["subtitle"])
    assert "OpenFlights" in subtitle and "Eurostat" not in subtitle and "GeoNames" not in subtitle
    assert spec["height"] == {"step": 22}
    footer = at.caption[-1].value
    assert footer.startswith("Sources: ")
    for shown in ("GeoNames", "OpenFlights", "Wikipedia", "World Urbanization Prospects",
                  "Eurostat"):
        assert shown in footer
    held = [row[0] for row in query(published, "SELECT attribution FROM source")]
    assert all(text in held for text in footer.removeprefix("Sources: ").split(" · "))


def test_the_address_chooses_the_peers_and_bad_values_fall_back(published, monkeypatch):
    at = _app(published, monkeypatch, PAGE, city=LYON, peers="same-country")
    same_country = _comparison(published, "same-country")
    card = _card(at).set_index("node_id")
    assert at.selectbox(key="peers").value == "same-country"
    expected = nodes_frame(same_country.card.nodes).set_index("node_id").loc[card.index]
    assert list(card["compared"]) == list(expected["compared"])
    assert card["compared"].iloc[0] > 11  # more French cities than the 10 nearest
    assert at.query_params["peers"] == "same-country"

    at = _app(published, monkeypatch, PAGE, city=LYON, peers="x' OR 1=1--", k="1e308")
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 2, warnings
    assert any("peers=" in w for w in warnings) and any("k=" in w for w in warnings)
    assert at.selectbox(key="peers").value == "nearest-profile"
    default = nodes_frame(_comparison(published).card.nodes).set_index("node_id")
    card = _card(at).set_index("node_id")
    assert np.allclose(card["peer_median"], default.loc[card.index, "peer_median"],
                       equal_nan=True)
    assert "peers" not in at.query_params and "k" not in at.query_params


def test_a_practice_of_a_city_to_learn_from_shows_failures_with_their_source(
        published, tmp_path, monkeypatch):
    comparison = _comparison(published)
    first = comparison.learn_from[0]
    db = tmp_path / "w.duckdb"
    shutil.copyfile(published, db)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO practice VALUES (?, 'Congestion charge', 2012, ?, NULL, 'failed', "
                "'Dropped after two years', 'https://example.org/charge', 'CC BY 4.0', "
                "'user-files', 'practices.csv')", (first["city_id"], first["node_id"]))
    con.close()
    at = _app(db, monkeypatch, PAGE, city=LYON)
    text = "\n".join(m.value for m in at.markdown)
    assert (":red-badge[failed] **Congestion charge** (2012) · on this dimension: Dropped "
            "after two years · [source](https://example.org/charge) · licence CC BY 4.0") in text


def test_a_yes_no_indicator_has_no_rank(published, monkeypatch):
    """A city that is not a capital reads "no", not "rank 243 of 29,362 (p0)"."""
    town = query(published, """
        SELECT city_id FROM city WHERE NOT is_capital AND population < 100000 AND city_id NOT IN (
            SELECT city_id FROM observation WHERE indicator_id = 'agglomeration_population')
        ORDER BY population DESC LIMIT 1""")[0][0]
    at = _app(published, monkeypatch, PAGE, city=town)
    ranks = at.dataframe[0].value.set_index("Measure")
    capital = ranks.loc["National capital"]
    assert capital["Value"] == "no"
    assert capital["Among all cities"] == capital["In its country"] == ""
    card = _card(at)
    assert card.loc[card["node_id"] == "capital", "rank"].isna().all()


def test_a_list_saved_in_the_config_is_a_choice_of_peers(published, tmp_path, monkeypatch):
    from app import ui

    config = tmp_path / "citybench.toml"
    config.write_text('[peers.lists]\nrivals = ["Marseille, FR", "gn:3169070"]\n')
    monkeypatch.setenv("CITYBENCH_CONFIG", str(config))
    ui.peer_lists.clear()  # read once per process: this one reads the file above
    try:
        at = _app(published, monkeypatch, PAGE, city=LYON, peers="rivals")
    finally:
        ui.peer_lists.clear()
    assert "Saved list: rivals" in at.selectbox(key="peers").options
    listed = next(d.value for d in at.dataframe if "evidence" in d.value.columns)
    marseille = query(published, "SELECT city_id FROM city WHERE name = 'Marseille' "
                                 "AND country_iso2 = 'FR'")[0][0]
    assert list(listed["city_id"]) == [marseille, "gn:3169070"]
