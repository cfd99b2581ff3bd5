"""World City Network measures on small matrices and graphs worked out by hand, and against
dense computations and networkx on random ones."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.stats import binom

from indicators.network import backbone, interlocking, tiers
from indicators.network.graph import betweenness, eigenvector
from indicators.network.links import (
    air_network,
    link_reach,
    membership_interlocks,
)

# Three cities, two firms. r_AB = 5*3 + 2*0 = 15, r_AC = 5*1 + 2*4 = 13, r_BC = 3*1 + 0*4 = 3.
SMALL = pd.DataFrame({"law": [5, 3, 1], "bank": [2, 0, 4]}, index=["A", "B", "C"])


def _random_matrix(rng, n=120, m=30, density=0.15):
    values = rng.integers(1, 6, size=(n, m)) * (rng.random((n, m)) < density)
    return values.astype(float)


def _dense_interlocks(values):
    dyads = values @ values.T
    np.fill_diagonal(dyads, 0)
    return dyads


# --- the interlocking network model ---------------------------------------------------------

def test_connectivity_by_hand():
    assert interlocking.connectivity(SMALL).tolist() == [28, 18, 16]
    assert interlocking.proportional([28, 18, 16]).tolist() == [1, 18 / 28, 16 / 28]


def test_dyads_partners_and_shares_by_hand():
    dyads = interlocking.strongest_dyads(SMALL, 2)
    assert list(zip(dyads.a, dyads.b, dyads.connectivity, strict=True)) == [(0, 1, 15),
                                                                           (0, 2, 13)]
    assert interlocking.dyad_share(dyads.connectivity, organisations=2).tolist() == [
        15 / 50, 13 / 50]
    best = interlocking.strongest_partners(SMALL, 1)
    assert list(zip(best.a, best.b, best.connectivity, strict=True)) == [(0, 1, 15), (1, 0, 15),
                                                                        (2, 0, 13)]
    assert interlocking.partner_counts(SMALL).tolist() == [2, 2, 2]


def test_sector_connectivity_by_hand():
    # law: total 9, v (9 - v): 20, 18, 8; bank: total 6: 8, 0, 8
    by_sector = interlocking.sector_connectivity(SMALL, ["law", "bank"])
    assert by_sector.to_dict("list") == {"bank": [8, 0, 8], "law": [20, 18, 8]}
    unsectored = interlocking.sector_connectivity(SMALL, ["law", None])
    assert unsectored.to_dict("list") == {"law": [20, 18, 8]}


def test_connectivity_equals_the_dense_computation():
    rng = np.random.default_rng(11)
    for _ in range(5):
        values = _random_matrix(rng)
        values = np.vstack([values, values[:10], np.zeros((2, values.shape[1]))])  # repeats
        dense = _dense_interlocks(values)
        assert np.array_equal(interlocking.connectivity(values), dense.sum(axis=1))
        assert np.array_equal(interlocking.connectivity(sparse.csc_array(values)),
                              dense.sum(axis=1))
        assert np.array_equal(interlocking.partner_counts(values, budget=50),
                              (dense > 0).sum(axis=1))


@pytest.mark.parametrize("budget", [1, 200, interlocking.PRODUCTS_PER_BLOCK])
def test_strongest_dyads_equal_the_dense_ranking(budget):
    rng = np.random.default_rng(budget)
    values = _random_matrix(rng, n=80, m=12, density=0.3)  # few firms: many tied dyads
    dense = _dense_interlocks(values)
    a, b = np.triu_indices(len(values), 1)
    order = np.lexsort((b, a, -dense[a, b]))[:25]
    dyads = interlocking.strongest_dyads(values, 25, budget=budget)
    assert dyads.a.tolist() == a[order].tolist()
    assert dyads.b.tolist() == b[order].tolist()
    assert dyads.connectivity.tolist() == dense[a, b][order].tolist()
    partners = interlocking.strongest_partners(values, 3, budget=budget)
    for city in range(len(values)):
        row = np.where(np.arange(len(values)) == city, 0, dense[city])
        expected = [p for p in np.lexsort((np.arange(len(row)), -row)) if row[p] > 0][:3]
        assert partners.b[partners.a == city].tolist() == expected


def test_more_dyads_asked_than_exist():
    dyads = interlocking.strongest_dyads(SMALL, 10)
    assert len(dyads) == 3  # B-C is the third; no pair of a city with itself


def test_the_model_refuses_negative_or_non_finite_values():
    with pytest.raises(ValueError, match="negative"):
        interlocking.connectivity(np.array([[1.0, -1.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match="finite"):
        interlocking.connectivity(np.array([[1.0, np.inf]]))


# --- tiers ----------------------------------------------------------------------------------

def test_share_tiers_at_their_bounds():
    shares = [1.0, 0.75, 0.7499, 0.56, 0.3, 0.05, 0.0499, 0.0]
    assert tiers.tiers_by_share(shares).tolist() == [
        "Alpha++", "Alpha++", "Alpha+", "Alpha+", "Beta", "Sufficiency", None, None]


def test_tiers_relative_to_the_top_and_configurable():
    assert tiers.classify([200, 150, 100, 0]).tolist() == ["Alpha++", "Alpha++", "Alpha", None]
    custom = tiers.classify([200, 150, 100, 10], names=["top", "middle"], bounds=[0.9, 0.5])
    assert custom.tolist() == ["top", "middle", "middle", None]
    with pytest.raises(ValueError, match="fall strictly"):
        tiers.tiers_by_share([0.5], bounds=[0.2, 0.5], names=["a", "b"])
    with pytest.raises(ValueError, match="unknown tier method"):
        tiers.classify([1.0], "quantiles")


def test_natural_breaks_by_hand():
    values = [1, 2, 3, 10, 11, 12, 100, 0]
    named = tiers.classify(values, "jenks", names=["high", "middle", "low"])
    assert named.tolist() == ["low"] * 3 + ["middle"] * 3 + ["high", None]


def _ssd(x, w, lower):
    cuts = [*np.searchsorted(x, lower), len(x)]
    total = 0.0
    for start, stop in itertools.pairwise(cuts):
        xs, ws = x[start:stop], w[start:stop]
        total += (ws * (xs - (ws * xs).sum() / ws.sum()) ** 2).sum()
    return total


def test_natural_breaks_are_optimal():
    rng = np.random.default_rng(3)
    for _ in range(200):
        x = np.unique(rng.integers(0, 50, rng.integers(1, 10)).astype(float))
        w = rng.integers(1, 4, len(x)).astype(float)
        k = int(rng.integers(1, 5))
        found = tiers.natural_breaks(x, k, w)
        best = min(_ssd(x, w, x[[0, *cut]])
                   for size in range(min(k, len(x)))
                   for cut in itertools.combinations(range(1, len(x)), size))
        assert len(found) <= k
        assert _ssd(x, w, found) == pytest.approx(best, abs=1e-9)


# --- the SDSM backbone ----------------------------------------------------------------------

def _blocks(cities_per_block=8, firms_per_block=8, blocks=2):
    """Each block of cities has an office of every firm of its own block and of no other."""
    block = np.ones((cities_per_block, firms_per_block))
    return sparse.block_diag([block] * blocks).toarray()


def test_bicm_keeps_degrees_in_expectation():
    rng = np.random.default_rng(5)
    presence = (rng.random((60, 25)) < rng.random((60, 1)) * 0.6).astype(float)
    presence[0] = 1.0  # a city with every firm: probabilities 1
    presence[1] = 0.0  # a city with none: probabilities 0
    null = backbone.bicm(sparse.csr_array(presence))
    cols = np.unique(presence.sum(axis=0), return_inverse=True)[1]
    probabilities = null.probability[null.row_class][:, cols]
    assert np.allclose(probabilities.sum(axis=1), presence.sum(axis=1), atol=1e-6)
    assert np.allclose(probabilities.sum(axis=0), presence.sum(axis=0), atol=1e-6)
    assert (probabilities[0] == 1).all() and (probabilities[1] == 0).all()


def test_bicm_settles_what_full_rows_and_columns_leave_no_room_for():
    # A and C have both firms, law is in every city: B's bank cell is then 0 (B has law only)
    null = backbone.bicm(sparse.csr_array(SMALL.to_numpy() > 0, dtype=float))
    probabilities = null.probability[null.row_class]
    assert probabilities.tolist() == [[1, 1], [0, 1], [1, 1]]  # columns: bank (2), law (3)


def test_exact_poisson_binomial_tails_by_enumeration():
    probabilities = np.array([[0.1, 0.5, 0.8]])
    weights = np.array([1.0, 2.0, 1.0])  # four trials: 0.1, 0.5, 0.5, 0.8
    trials = [0.1, 0.5, 0.5, 0.8]
    for observed in range(5):
        expected = sum(
            np.prod([p if hit else 1 - p for p, hit in zip(trials, outcome, strict=True)])
            for outcome in itertools.product([0, 1], repeat=4) if sum(outcome) >= observed)
        tail, method = backbone._tails(np.array([observed]), probabilities, weights)
        assert method == "exact"
        assert tail[0] == pytest.approx(expected, abs=1e-12)


def test_backbone_of_two_blocks_by_hand():
    # 16 cities and 16 firms, every degree 8: P = 1/2 everywhere, so co-occurrence is
    # Binomial(16, 1/4); two cities of one block share 8 firms: P(X >= 8) = 0.027 < 0.05.
    model = backbone.sdsm_backbone(_blocks())
    assert model.method == "exact"
    assert model.p_value == pytest.approx(binom.sf(7, 16, 0.25))
    assert model.significant.all() and len(model.tested) == 2 * 28
    assert model.degree().tolist() == [7] * 16
    p_value, significant = model.lookup(np.array([1, 0]), np.array([0, 15]))
    assert p_value[1] == 1.0 and significant.tolist() == [True, False]
    assert not backbone.sdsm_backbone(_blocks(), correction="holm").significant.any()


def test_backbone_is_not_driven_by_size():
    # A hub with an office of every firm has the highest GNC but shares with each city exactly
    # what that city's size predicts: it is in no backbone pair; the block pairs still are.
    values = np.vstack([np.ones(16), _blocks()])
    gnc = interlocking.connectivity(values)
    assert gnc.argmax() == 0
    assert backbone.sdsm_backbone(values).degree()[0] == 0


def test_the_refined_normal_approximation_agrees_on_clear_cases(monkeypatch):
    exact = backbone.sdsm_backbone(_blocks(10, 12))
    monkeypatch.setattr(backbone, "EXACT_LIMIT", 0)
    approximate = backbone.sdsm_backbone(_blocks(10, 12))
    assert approximate.method == "refined normal approximation"
    assert np.array_equal(exact.significant, approximate.significant)
    assert approximate.p_value == pytest.approx(exact.p_value, abs=2e-3)


def test_multiple_testing_corrections_by_hand():
    p = np.array([0.01, 0.04, 0.03])
    assert backbone._reject(p, 0.05, "none", tests=3).tolist() == [True, True, True]
    assert backbone._reject(p, 0.05, "bonferroni", tests=3).tolist() == [True, False, False]
    # Holm: 0.01 <= 0.05/3, then 0.03 > 0.05/2 stops
    assert backbone._reject(p, 0.05, "holm", tests=3).tolist() == [True, False, False]
    assert backbone._reject(np.array([0.01, 0.02]), 0.05, "holm", tests=2).tolist() == [
        True, True]


# --- graphs: betweenness and eigenvector centrality ---------------------------------------

def _matrix_of(graph: nx.Graph, weight=None):
    return nx.to_scipy_sparse_array(graph, nodelist=sorted(graph), weight=weight)


def test_betweenness_by_hand():
    path = _matrix_of(nx.path_graph(4))  # 0-1-2-3: node 1 is on 0-2 and 0-3 of 3 pairs
    assert betweenness(path).tolist() == pytest.approx([0, 2 / 3, 2 / 3, 0])
    star = _matrix_of(nx.star_graph(4))
    assert betweenness(star).tolist() == pytest.approx([1, 0, 0, 0, 0])
    # a square: two shortest paths between opposite corners, each through one other corner
    assert betweenness(_matrix_of(nx.cycle_graph(4))).tolist() == pytest.approx([1 / 6] * 4)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_betweenness_equals_networkx(seed, monkeypatch):
    graph = nx.union(nx.gnm_random_graph(60, 150, seed=seed),
                     nx.gnm_random_graph(15, 20, seed=seed + 10), rename=("a", "b"))
    graph = nx.convert_node_labels_to_integers(graph)
    monkeypatch.setattr("indicators.network.graph.BATCH_CELLS", 75 * 7)  # several batches
    expected = nx.betweenness_centrality(graph)
    assert betweenness(_matrix_of(graph)) == pytest.approx([expected[v] for v in sorted(graph)])


def test_eigenvector_equals_networkx():
    rng = np.random.default_rng(4)
    for size in (20, 150):  # dense and sparse solvers
        graph = nx.connected_watts_strogatz_graph(size, 6, 0.3, seed=size)
        for u, v in graph.edges:
            graph[u][v]["weight"] = float(rng.integers(1, 9))
        expected = nx.eigenvector_centrality_numpy(graph, weight="weight")
        top = max(expected.values())
        found = eigenvector(_matrix_of(graph, "weight"))
        assert found == pytest.approx([expected[v] / top for v in sorted(graph)], abs=1e-8)


# --- air, twinning and membership networks --------------------------------------------------

PLACES = pd.DataFrame({
    "country": ["GB", "GB", "FR", "US", "JP"],
    "continent": ["EU", "EU", "EU", "NA", "AS"],
}, index=["london", "leeds", "paris", "nyc", "tokyo"])
ROUTES = pd.DataFrame({  # london is the hub; tokyo hangs off nyc
    "city_a": ["leeds", "london", "london", "london", "nyc"],
    "city_b": ["london", "paris", "nyc", "tokyo", "tokyo"],
    "weight": [2.0, 10.0, 6.0, 2.0, 4.0],
})


def test_link_reach_by_hand():
    reach = link_reach(ROUTES, PLACES)
    london = reach.loc["london"]
    assert london.to_dict() == {"partners": 4, "weighted_degree": 20.0, "countries": 4,
                                "continents": 3, "international_share": 18 / 20}
    assert reach.loc["leeds"].to_dict() == {"partners": 1, "weighted_degree": 2.0,
                                            "countries": 1, "continents": 1,
                                            "international_share": 0.0}
    assert reach.loc["tokyo", "partners"] == 2


def test_air_network_centralities_by_hand():
    air = air_network(ROUTES, PLACES)
    # london lies on every shortest path of leeds and paris to the rest: 5 of 6 other pairs
    # (nyc-tokyo are direct; leeds/paris-tokyo also run through london; leeds-paris too)
    assert air.loc["london", "betweenness"] == pytest.approx(5 / 6)
    assert air.loc["nyc", "betweenness"] == 0
    assert air["eigenvector"].idxmax() == "london"
    assert air["eigenvector"].max() == 1


MEMBERS = pd.DataFrame({
    "network_id": ["c40"] * 3 + ["iclei"] * 2 + ["eurocities"] * 2,
    "city_id": ["london", "paris", "nyc", "london", "tokyo", "london", "paris"],
})


def test_membership_interlocks_and_reach_by_hand():
    interlocks = membership_interlocks(MEMBERS)
    assert interlocks.loc["london"].to_dict() == {"memberships": 3, "partners": 3,
                                                  "interlocks": 4}  # paris twice, nyc, tokyo
    assert interlocks.loc["tokyo"].to_dict() == {"memberships": 1, "partners": 1,
                                                 "interlocks": 1}
