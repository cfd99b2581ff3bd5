"""The peer report card (indicators.peers.report) on the published offline default warehouse:
for Lyon and each peer group rule, the card agrees with the same comparison done in SQL on the
warehouse; then the strengths/weaknesses rule, a node only the city has, and the change since
the previous period."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from indicators.peers import groups
from indicators.peers import profile as profiles
from indicators.peers.groups import (
    CustomList,
    NearestProfile,
    PeerData,
    PeerGroup,
    SameContinent,
    SameCountry,
    SharedLinks,
    SizeClass,
)
from indicators.peers.report import COLUMNS, nodes_frame, report_card
from tests.conftest import query
from warehouse import peers as warehouse_peers
from warehouse.connect import open_read_only

LYON, PARIS, LONDON, MARSEILLE = "gn:2996944", "gn:2988507", "gn:2643743", "gn:2995469"
YEAR = datetime.date.today().year
GROWTH = profiles.GROWTH_YEARS
FRAMEWORKS = ["world_connectivity", "european_cities"]
RULES = [SameCountry(), SameContinent(), SizeClass(), SharedLinks(), NearestProfile(),
         CustomList([PARIS, LONDON, MARSEILLE], "test list")]
LATEST = """(SELECT score_run_id FROM score_run WHERE framework_id = ?
             ORDER BY created_at DESC, score_run_id DESC LIMIT 1)"""


def _read(db, read):
    con = open_read_only(db)
    try:
        return read(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def data(published) -> PeerData:
    return _read(published, lambda con: PeerData(warehouse_peers.context(con, YEAR, GROWTH),
                                                  warehouse_peers.shared_ties(con, LYON)))


def _card(db, framework: str, group: PeerGroup, **kwargs):
    def read(con):
        scores = warehouse_peers.run_scores(con, framework, [group.city_id, *group.ids])
        mine = (scores["city_id"] == group.city_id) & (scores["node_kind"] == "indicator")
        indicators = list(scores["node_id"][mine])
        previous = warehouse_peers.previous_observations(
            con, group.city_id, indicators, warehouse_peers.run_periods(con, framework))
        return scores, previous
    scores, previous = _read(db, read)
    return report_card(scores, group, previous, **kwargs)


def _sql_card(db, framework: str, city: str, peers: list[str]) -> pd.DataFrame:
    """The comparison, done in SQL on the score table: node_id, rank, compared, percentile,
    peer_q1, peer_median, peer_q3, best, value."""
    rows = query(db, f"""
        WITH s AS (
            SELECT city_id, node_id, value, normalised FROM score
            WHERE score_run_id = {LATEST}
        ),
        me AS (SELECT * FROM s WHERE city_id = ?),
        p AS (SELECT * FROM s WHERE list_contains(?, city_id) AND city_id <> ?
              AND normalised IS NOT NULL)
        SELECT me.node_id, me.value, me.normalised,
               1 + count(p.normalised) FILTER (WHERE p.normalised > me.normalised) AS rank,
               1 + count(p.normalised) AS compared,
               CASE WHEN count(p.normalised) = 0 THEN 100.0
                    ELSE 100.0 * count(p.normalised) FILTER (WHERE p.normalised < me.normalised)
                         / count(p.normalised) END AS percentile,
               quantile_cont(p.normalised, 0.25) AS peer_q1,
               quantile_cont(p.normalised, 0.5) AS peer_median,
               quantile_cont(p.normalised, 0.75) AS peer_q3,
               greatest(me.normalised, max(p.normalised)) AS best
        FROM me LEFT JOIN p USING (node_id)
        WHERE me.normalised IS NOT NULL
        GROUP BY me.node_id, me.value, me.normalised
        ORDER BY me.node_id
    """, [framework, city, peers, city])
    return pd.DataFrame(rows, columns=["node_id", "value", "normalised", "rank", "compared",
                                       "percentile", "peer_q1", "peer_median", "peer_q3",
                                       "best"]).set_index("node_id")


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_card_agrees_with_sql(rule, framework, published, data):
    group = rule.peers(LYON, data)
    assert group.applies, group.reason
    card = _card(published, framework, group)
    nodes = nodes_frame(card.nodes).set_index("node_id")
    assert all(list(row) == list(COLUMNS) for row in card.nodes)
    expected = _sql_card(published, framework, LYON, group.ids)
    assert set(nodes.index) == set(expected.index) and len(expected) > 0
    got = nodes.loc[expected.index]
    assert (got["rank"].astype(int) == expected["rank"]).all()
    assert (got["compared"].astype(int) == expected["compared"]).all()
    for column in ("value", "normalised", "percentile", "peer_q1", "peer_median", "peer_q3",
                   "best"):
        np.testing.assert_allclose(got[column].astype(float), expected[column].astype(float),
                                   rtol=1e-9, err_msg=column)
    np.testing.assert_allclose(got["gap_to_median"].astype(float),
                               (expected["normalised"] - expected["peer_median"]).astype(float),
                               rtol=1e-9)
    np.testing.assert_allclose(got["gap_to_best"].astype(float),
                               (expected["normalised"] - expected["best"]).astype(float),
                               rtol=1e-9, atol=1e-12)
    # the index first, then dimensions, then indicators
    kinds = [row["node_kind"] for row in card.nodes]
    assert kinds[0] == "index" and kinds == sorted(
        kinds, key={"index": 0, "dimension": 1, "indicator": 2}.get)
    # the rank interval is the stored one of the index, among all cities
    low, high = query(published, f"""SELECT rank_low, rank_high FROM score
        WHERE score_run_id = {LATEST} AND city_id = ? AND node_kind = 'index'""",
                      [framework, LYON])[0]
    assert card.rank_interval == (low, high)
    assert any("among all the cities" in note for note in card.notes)


def _group(city: str, peers: list[str]) -> PeerGroup:
    return PeerGroup("custom", "test", {}, city,
                     [{"city_id": peer, "name": peer, "evidence": "test"} for peer in peers])


def _scores(table: dict[str, dict[str, float]]) -> dict[str, np.ndarray]:
    """city -> node -> normalised, as run_scores columns (value = normalised * 10)."""
    rows = pd.DataFrame([{"city_id": city, "node_id": node,
                          "node_kind": "index" if node == "index" else "indicator",
                          "value": score * 10, "normalised": score, "rank_low": np.nan,
                          "rank_high": np.nan}
                         for city, nodes in table.items() for node, score in nodes.items()])
    return {column: rows[column].to_numpy() for column in rows}


def _ids(rows: list[dict]) -> list[str]:
    return [row["node_id"] for row in rows]


def test_strengths_and_weaknesses_rule():
    # the city "c" against four peers on six indicators: percentiles 100, 75, 75, 50, 25, 0
    peers = {f"p{i}": {"a": 0.1 * i, "b": 0.1 * i, "c": 0.1 * i, "d": 0.1 * i,
                       "e": 0.1 * i, "f": 0.1 * i, "index": 0.1 * i} for i in range(1, 5)}
    city = {"a": 0.9, "b": 0.35, "c": 0.38, "d": 0.25, "e": 0.15, "f": 0.0, "index": 0.5}
    card = report_card(_scores({"c": city, **peers}), _group("c", list(peers)), n=2)
    by_node = nodes_frame(card.nodes).set_index("node_id")["percentile"]
    assert by_node[["a", "b", "c", "d", "e", "f"]].tolist() == [100, 75, 75, 50, 25, 0]
    # top 2: a, then c before b (the tie on percentile broken by the larger gap to median)
    assert _ids(card.strengths) == ["a", "c"]
    assert _ids(card.weaknesses) == ["f", "e"]
    assert "index" not in set(_ids(card.strengths)) | set(_ids(card.weaknesses))
    # d sits on the peers' median: neither
    assert "d" not in set(_ids(card.strengths)) | set(_ids(card.weaknesses))
    # a city below every peer everywhere has weaknesses and no strengths
    low = {node: 0.0 for node in city}
    card = report_card(_scores({"c": low, **peers}), _group("c", list(peers)))
    assert card.strengths == [] and len(card.weaknesses) == 3


def test_a_tie_with_most_peers_is_no_weakness():
    # yes/no indicator: the city and three of four peers say yes; its "strictly below"
    # percentile is 25, yet it is level with the median peer, not weaker
    peers = {"p1": {"yes": 1.0, "index": 0.2}, "p2": {"yes": 1.0, "index": 0.3},
             "p3": {"yes": 1.0, "index": 0.4}, "p4": {"yes": 0.0, "index": 0.5}}
    card = report_card(_scores({"c": {"yes": 1.0, "index": 0.1}, **peers}),
                       _group("c", list(peers)))
    row = nodes_frame(card.nodes).set_index("node_id").loc["yes"]
    assert row["percentile"] == 25 and row["gap_to_median"] == 0
    assert card.weaknesses == [] and card.strengths == []
    # the one peer that says no has it as a weakness
    others = {"c": {"yes": 1.0, "index": 0.1}, **{k: v for k, v in peers.items() if k != "p4"}}
    card = report_card(_scores({"p4": peers["p4"], **others}), _group("p4", list(others)))
    assert _ids(card.weaknesses) == ["yes"]


def test_a_node_only_the_city_has_synthetic():
    scores = _scores({"c": {"index": 0.4, "a": 0.3}, "p1": {"index": 0.6, "a": np.nan}})
    card = report_card(scores, _group("c", ["p1", "p2"]))
    row = nodes_frame(card.nodes).set_index("node_id").loc["a"]
    assert (row["rank"], row["compared"], row["peers_scored"], row["percentile"]) == (1, 1, 0,
                                                                                    100.0)
    assert pd.isna(row["peer_median"]) and pd.isna(row["gap_to_median"])
    assert row["best_city_id"] == "c" and row["gap_to_best"] == 0
    # nothing to compare with: neither a strength nor a weakness
    assert card.strengths == [] and card.weaknesses == []
    assert any("p2" in note for note in card.notes)  # p2 is not in the run


def test_a_node_only_the_city_has_on_the_warehouse(published, data):
    """Lyon against cities the european_cities run scored with no value on a node Lyon has."""
    rows = query(published, f"""
        WITH s AS (SELECT * FROM score WHERE score_run_id = {LATEST})
        SELECT s.node_id, list(s.city_id ORDER BY s.city_id)[1:3]
        FROM s JOIN s AS lyon ON lyon.node_id = s.node_id AND lyon.city_id = ?
        WHERE s.normalised IS NULL AND lyon.normalised IS NOT NULL
        GROUP BY s.node_id ORDER BY s.node_id LIMIT 1
    """, ["european_cities", LYON])
    if not rows:
        pytest.skip("no city of the run lacks a value Lyon has")
    node, peers = rows[0]
    group = CustomList(peers, "no value").peers(LYON, data)
    row = nodes_frame(_card(published, "european_cities", group).nodes).set_index(
        "node_id").loc[node]
    assert (row["rank"], row["compared"], row["peers_scored"], row["percentile"]) == (1, 1, 0,
                                                                                    100.0)
    assert pd.isna(row["peer_median"]) and row["gap_to_best"] == 0


def test_change_since_the_previous_period(published, data):
    group = SameCountry().peers(LYON, data)
    # UN WUP, every fifth year: world_connectivity scores 2020 (its [refresh].period)
    nodes = nodes_frame(_card(published, "world_connectivity", group).nodes).set_index(
        "node_id")
    row = nodes.loc["agglomeration_population"]
    (now,), (before,) = (query(published, """SELECT max(value) FROM observation
        WHERE city_id = ? AND indicator_id = 'agglomeration_population' AND period = ?""",
                              [LYON, year])[0] for year in (2020, 2015))
    assert (row["period"], row["previous_period"]) == (2020, 2015)
    assert row["value"] == pytest.approx(now)
    assert row["change"] == pytest.approx(now - before)
    # a derived indicator (growth) is no observation: no change
    assert pd.isna(nodes.loc["agglomeration_growth", "change"])
    # the index and dimensions have none
    assert nodes.loc[nodes["node_kind"] != "indicator", "change"].isna().all()
    # Eurostat, yearly: the latest period and the one before it
    nodes = nodes_frame(_card(published, "european_cities", group).nodes).set_index("node_id")
    for indicator in ("eurostat_de1001v",):
        (latest, value), = query(published, """SELECT period, max(value) FROM observation
            WHERE city_id = ? AND indicator_id = ? GROUP BY period ORDER BY period DESC
            LIMIT 1""", [LYON, indicator])
        earlier = query(published, """SELECT period, max(value) FROM observation
            WHERE city_id = ? AND indicator_id = ? AND period < ? GROUP BY period
            ORDER BY period DESC LIMIT 1""", [LYON, indicator, latest])
        row = nodes.loc[indicator]
        assert row["period"] == latest and row["value"] == pytest.approx(value)
        if earlier:
            assert row["previous_period"] == earlier[0][0]
            assert row["change"] == pytest.approx(value - earlier[0][1])
        else:
            assert pd.isna(row["previous_period"]) and pd.isna(row["change"])


def test_without_previous_values_there_is_no_change(published, data):
    group = NearestProfile().peers(LYON, data)
    scores = _read(published, lambda con: warehouse_peers.run_scores(
        con, "european_cities", [LYON, *group.ids]))
    card = report_card(scores, group)
    assert card.nodes and all(row["change"] is None and row["period"] is None
                              for row in card.nodes)


def test_a_rule_that_does_not_apply_says_so(published, data):
    group = groups.IncomeGroup().peers(LYON, data)
    assert not group.applies
    card = _card(published, "european_cities", group)
    assert card.nodes and all(row["compared"] == 1 for row in card.nodes)
    assert any(group.reason in note for note in card.notes)
