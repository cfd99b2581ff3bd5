"""indicators.composite (min-max, weighted mean, ranks) and indicators.index.score_index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from indicators.composite import arithmetic_mean, minmax, rank, ranks_in_scopes
from indicators.index import score_index

# minmax -----------------------------------------------------------------------------------


def test_minmax_by_hand():
    data = pd.DataFrame({"a": [2.0, 4.0, 10.0], "b": [5, 1, 3]}, index=["x", "y", "z"])
    out = minmax(data, {"a": 1, "b": -1}, low=0.0, high=100.0)
    assert out.index.tolist() == ["x", "y", "z"]
    assert out.columns.tolist() == ["a", "b"]
    # a: (v - 2) / 8 * 100. b reversed: the lowest (1) is best -> 100, the highest (5) -> 0.
    np.testing.assert_allclose(out["a"], [0.0, 25.0, 100.0])
    np.testing.assert_allclose(out["b"], [0.0, 100.0, 50.0])


@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (0.0, 100.0), (-1.0, 1.0), (10.0, 20.0)])
def test_minmax_spans_low_to_high_and_direction_flips(low, high):
    rng = np.random.default_rng(11)
    data = pd.DataFrame(rng.normal(size=(40, 3)) * [1.0, 50.0, 1e-3], columns=["p", "q", "r"])
    up = minmax(data, {"p": 1, "q": 1, "r": 1}, low=low, high=high)
    down = minmax(data, {"p": -1, "q": -1, "r": -1}, low=low, high=high)
    for column in data:
        assert up[column].min() == pytest.approx(low)
        assert up[column].max() == pytest.approx(high)
        # The best raw value sits at `high` in its direction.
        assert up[column].idxmax() == data[column].idxmax()
        assert down[column].idxmax() == data[column].idxmin()
        # Reversing the direction mirrors the scale: up + down = low + high.
        np.testing.assert_allclose(up[column] + down[column], low + high, atol=1e-12)
        # Linear in the raw value.
        expected = low + (data[column] - data[column].min()) / np.ptp(data[column]) * (high - low)
        np.testing.assert_allclose(up[column], expected, atol=1e-12)


def test_minmax_constant_column_goes_to_the_middle_and_nan_stays():
    data = pd.DataFrame({"c": [7.0, np.nan, 7.0, 7.0], "v": [1.0, 3.0, np.nan, 2.0]})
    out = minmax(data, {"c": 1, "v": -1}, low=0.0, high=10.0)
    assert out["c"].iloc[[0, 2, 3]].tolist() == [5.0, 5.0, 5.0]
    assert np.isnan(out["c"].iloc[1])
    # NaN does not disturb the range of the others: 1 -> 10 (best, low wins), 3 -> 0, 2 -> 5.
    assert out["v"].iloc[[0, 1, 3]].tolist() == [10.0, 0.0, 5.0]
    assert np.isnan(out["v"].iloc[2])


def test_minmax_all_nan_column_stays_nan():
    data = pd.DataFrame({"n": [np.nan, np.nan], "v": [1.0, 2.0]})
    out = minmax(data, {"n": 1, "v": 1})
    assert out["n"].isna().all()
    assert out["v"].tolist() == [0.0, 1.0]


# arithmetic_mean ----------------------------------------------------------------------------

NORMALISED = pd.DataFrame(
    {"a": [0.2, 1.0, 0.3], "b": [0.4, 0.0, 0.6], "c": [0.9, 0.5, 0.0]}, index=["x", "y", "z"]
)


def test_arithmetic_mean_equal_weights():
    # Row means: (0.2+0.4+0.9)/3, (1+0+0.5)/3, (0.3+0.6+0)/3
    out = arithmetic_mean(NORMALISED)
    assert out.index.tolist() == ["x", "y", "z"]
    np.testing.assert_allclose(out, [0.5, 0.5, 0.3])
    np.testing.assert_allclose(arithmetic_mean(NORMALISED, {"a": 1, "b": 1, "c": 1}), out)


def test_arithmetic_mean_explicit_weights():
    # Weights 1, 2, 1 over 4: (0.2+0.8+0.9)/4, (1+0+0.5)/4, (0.3+1.2+0)/4
    expected = [0.475, 0.375, 0.375]
    np.testing.assert_allclose(arithmetic_mean(NORMALISED, {"a": 1, "b": 2, "c": 1}), expected)
    # Only the ratios matter.
    np.testing.assert_allclose(arithmetic_mean(NORMALISED, {"a": 5, "b": 10, "c": 5}), expected)
    # A zero weight drops the column: (0.2+0.4)/2, (1+0)/2, (0.3+0.6)/2
    np.testing.assert_allclose(
        arithmetic_mean(NORMALISED, {"a": 1, "b": 1, "c": 0}), [0.3, 0.5, 0.45]
    )


def test_arithmetic_mean_any_nan_gives_nan():
    data = NORMALISED.copy()
    data.loc["y", "c"] = np.nan
    out = arithmetic_mean(data, {"a": 1, "b": 2, "c": 1})
    assert np.isnan(out["y"])
    np.testing.assert_allclose(out[["x", "z"]], [0.475, 0.375])
    data.loc["z"] = np.nan
    assert arithmetic_mean(data).isna().tolist() == [False, True, True]


@pytest.mark.parametrize(
    "weights",
    [{"a": 1, "b": -1, "c": 1}, {"a": -0.5, "b": 0, "c": 0}, {"a": 0, "b": 0, "c": 0}],
)
def test_arithmetic_mean_rejects_bad_weights(weights):
    with pytest.raises(ValueError, match="non-negative"):
        arithmetic_mean(NORMALISED, weights)


# rank ---------------------------------------------------------------------------------------


def test_rank_ties_share_the_better_rank():
    values = pd.Series([10.0, 20.0, 20.0, 5.0, np.nan], index=list("abcde"))
    out = rank(values)
    assert out.columns.tolist() == ["rank", "percentile"]
    assert out.index.tolist() == list("abcde")
    assert str(out["rank"].dtype) == "Int64"
    assert str(out["percentile"].dtype) == "Float64"
    assert out["rank"].iloc[:4].tolist() == [3, 1, 1, 4]
    # Share of the three other scored cities strictly below: 10 -> {5}, 20 -> {5, 10}, 5 -> none.
    np.testing.assert_allclose(out["percentile"].iloc[:4].astype(float), [100 / 3, 200 / 3,
                                                                        200 / 3, 0.0])
    assert out.loc["e", "rank"] is pd.NA
    assert out.loc["e", "percentile"] is pd.NA


def test_rank_groups_are_independent():
    values = pd.Series([1.0, 2.0, 3.0, 100.0, 50.0, np.nan], index=[10, 11, 12, 13, 14, 15])
    groups = pd.Series(["A", "A", "B", "B", "A", "B"], index=[10, 11, 12, 13, 14, 15])
    out = rank(values, groups)
    # A: 50 > 2 > 1; B: 100 > 3 (and a missing value, which takes no share of the group).
    assert out["rank"].tolist()[:5] == [3, 2, 2, 1, 1]
    np.testing.assert_allclose(
        out["percentile"].iloc[:5].astype(float), [0.0, 50.0, 0.0, 100.0, 100.0]
    )
    assert out["rank"].isna().tolist() == [False] * 5 + [True]


def test_rank_aligns_groups_by_index():
    values = pd.Series([1.0, 2.0, 3.0, 4.0], index=["p", "q", "r", "s"])
    groups = pd.Series(["B", "A", "B", "A"], index=["s", "r", "q", "p"])  # p=A q=B r=A s=B
    out = rank(values, groups)
    assert out["rank"].tolist() == [2, 2, 1, 1]


def test_rank_missing_group_label_is_a_group_of_its_own():
    values = pd.Series([1.0, 2.0, 3.0, 4.0])
    groups = pd.Series(["A", None, "A", None])
    out = rank(values, groups)
    assert out["rank"].tolist() == [2, 2, 1, 1]
    assert out["percentile"].astype(float).tolist() == [0.0, 0.0, 100.0, 100.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rank_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 120
    raw = rng.integers(0, 12, n).astype(float)  # many ties
    raw[rng.random(n) < 0.1] = np.nan
    values = pd.Series(raw, index=rng.permutation(n) * 7)
    groups = pd.Series(rng.choice(["A", "B", "C", "D"], n), index=values.index)
    for by in (None, groups):
        out = rank(values, by)
        labels = np.zeros(n) if by is None else by.to_numpy()
        for k in range(n):
            v = raw[k]
            if np.isnan(v):
                assert out["rank"].iloc[k] is pd.NA
                assert out["percentile"].iloc[k] is pd.NA
                continue
            peers = raw[(labels == labels[k]) & ~np.isnan(raw)]
            assert out["rank"].iloc[k] == 1 + (peers > v).sum()
            expected = 100.0 * (peers < v).sum() / (len(peers) - 1) if len(peers) > 1 else 100.0
            assert out["percentile"].iloc[k] == pytest.approx(expected)
        # The best in every group is at rank 1, the worst at percentile 0.
        scored = out[values.notna()]
        by_group = scored.groupby(labels[values.notna().to_numpy()])
        assert (by_group["rank"].min() == 1).all()
        assert (by_group["percentile"].min() == 0.0).all()


def test_ranks_in_scopes_columns_and_values():
    values = pd.Series([3.0, 1.0, 2.0, np.nan], index=["a", "b", "c", "d"])
    country = pd.Series(["X", "X", "Y", "Y"], index=values.index)
    region = pd.Series(["r1", "r2", "r2", "r1"], index=values.index)
    out = ranks_in_scopes(values, {"": None, "_country": country, "_region": region})
    assert out.columns.tolist() == [
        "rank", "percentile", "rank_country", "percentile_country", "rank_region",
        "percentile_region",
    ]
    assert out.index.tolist() == ["a", "b", "c", "d"]
    assert out["rank"].tolist()[:3] == [1, 3, 2]
    assert out["rank_country"].tolist()[:3] == [1, 2, 1]
    assert out["rank_region"].tolist()[:3] == [1, 2, 1]
    pd.testing.assert_frame_equal(
        out[["rank_country", "percentile_country"]],
        rank(values, country).add_suffix("_country"),
    )


# score_index ------------------------------------------------------------------------------


@pytest.fixture
def cities():
    data = pd.DataFrame(
        {
            # higher is better
            "income": [30_000.0, 50_000.0, 40_000.0, 20_000.0],
            # lower is better
            "commute": [40.0, 25.0, 30.0, 55.0],
            "green": [10.0, 10.0, 30.0, 20.0],
        },
        index=pd.Index(["gn:1", "gn:2", "gn:3", "gn:4"], name="city_id"),
    )
    groups = {"country": pd.Series(["FR", "FR", "DE", "DE"], index=data.index)}
    directions = {"income": 1, "commute": -1, "green": 1}
    return data, directions, groups


def test_score_index_long_shape(cities):
    data, directions, groups = cities
    weights = {"income": 1, "commute": 1, "green": 1}
    long = score_index(data, index_id="liv", directions=directions, weights=weights, groups=groups)
    assert len(long) == 4 * 4
    assert not long.duplicated(["city_id", "node_id"]).any()
    assert set(long["city_id"]) == set(data.index)
    assert long.groupby("node_id").size().to_dict() == {
        "income": 4, "commute": 4, "green": 4, "liv": 4
    }
    kinds = long.drop_duplicates("node_id").set_index("node_id")["node_kind"].to_dict()
    assert kinds == {"income": "indicator", "commute": "indicator", "green": "indicator",
                     "liv": "index"}
    for column in [
        "city_id", "node_id", "node_kind", "value", "normalised", "rank", "percentile",
        "rank_country", "percentile_country",
    ]:
        assert column in long.columns
    # Raw values are carried through unchanged.
    raw = long[long["node_kind"] == "indicator"].set_index(["city_id", "node_id"])["value"]
    for column in data:
        for city in data.index:
            assert raw[(city, column)] == data.loc[city, column]


def test_score_index_values(cities):
    data, directions, groups = cities
    long = score_index(
        data, index_id="liv", directions=directions, weights=dict.fromkeys(data, 1.0),
        groups=groups,
    )
    norm = long.pivot(index="city_id", columns="node_id", values="normalised")
    # By hand: income (v - 20k) / 30k; commute (55 - v) / 30; green (v - 10) / 20.
    expected = pd.DataFrame(
        {
            "income": [1 / 3, 1.0, 2 / 3, 0.0],
            "commute": [0.5, 1.0, 5 / 6, 0.0],
            "green": [0.0, 0.0, 1.0, 0.5],
        },
        index=data.index,
    )
    for column in expected:
        np.testing.assert_allclose(norm.loc[data.index, column], expected[column])
    index_value = expected.mean(axis=1)  # 0.278, 0.667, 0.833, 0.167
    np.testing.assert_allclose(norm.loc[data.index, "liv"], index_value)
    liv = long[long["node_id"] == "liv"].set_index("city_id").loc[data.index]
    np.testing.assert_allclose(liv["value"], index_value)
    assert liv["rank"].tolist() == [3, 2, 1, 4]
    assert liv["rank_country"].tolist() == [2, 1, 1, 2]
    # two cities per country: the better above the one other (100), the worse above none (0)
    np.testing.assert_allclose(liv["percentile_country"].astype(float), [0, 100, 100, 0])


def test_score_index_weights(cities):
    data, directions, groups = cities
    weights = {"income": 2, "commute": 1, "green": 1}
    long = score_index(data, index_id="liv", directions=directions, weights=weights, groups=groups)
    liv = long[long["node_id"] == "liv"].set_index("city_id").loc[data.index, "value"]
    np.testing.assert_allclose(
        liv,
        [
            (2 / 3 + 0.5 + 0.0) / 4,
            (2.0 + 1.0 + 0.0) / 4,
            (4 / 3 + 5 / 6 + 1.0) / 4,
            (0.0 + 0.0 + 0.5) / 4,
        ],
    )


def test_score_index_only_weighted_indicators(cities):
    data, directions, groups = cities
    long = score_index(
        data, index_id="liv", directions=directions, weights={"income": 1, "green": 1},
        groups=groups,
    )
    assert set(long["node_id"]) == {"income", "green", "liv"}
    liv = long[long["node_id"] == "liv"].set_index("city_id").loc[data.index, "value"]
    np.testing.assert_allclose(liv, [1 / 6, 0.5, 5 / 6, 0.25])


def test_score_index_direction_minus_one_ranks_lowest_first(cities):
    data, directions, groups = cities
    long = score_index(
        data, index_id="liv", directions=directions, weights=dict.fromkeys(data, 1.0),
        groups=groups,
    )
    commute = long[long["node_id"] == "commute"]
    top = commute.loc[commute["rank"] == 1, "city_id"].tolist()
    assert top == [data["commute"].idxmin()] == ["gn:2"]
    assert commute.loc[commute["rank"] == 4, "city_id"].tolist() == [data["commute"].idxmax()]
    # Within Germany (gn:3 at 30 min, gn:4 at 55 min) the shorter commute is first.
    de = commute.set_index("city_id").loc[["gn:3", "gn:4"], "rank_country"].tolist()
    assert de == [1, 2]
    # Direction +1 for contrast: rank 1 is the highest raw value.
    income = long[long["node_id"] == "income"]
    assert income.loc[income["rank"] == 1, "city_id"].tolist() == [data["income"].idxmax()]


def test_score_index_missing_value_gets_no_index(cities):
    data, directions, groups = cities
    data = data.copy()
    data.loc["gn:3", "green"] = np.nan
    long = score_index(
        data, index_id="liv", directions=directions, weights=dict.fromkeys(data, 1.0),
        groups=groups,
    )
    liv = long[long["node_id"] == "liv"].set_index("city_id")
    assert np.isnan(liv.loc["gn:3", "value"])
    assert liv.loc["gn:3", "rank"] is pd.NA
    assert liv["rank"].drop("gn:3").notna().all()
    green = long[long["node_id"] == "green"].set_index("city_id")
    assert green.loc["gn:3", "rank"] is pd.NA
    # 20 is best; 10 and 10 tie for second.
    assert green["rank"].drop("gn:3").tolist() == [2, 2, 1]


def test_score_index_unnamed_index_becomes_city_id(cities):
    data, directions, _ = cities
    data = data.rename_axis(None)
    long = score_index(
        data, index_id="liv", directions=directions, weights={"income": 1}, groups={}
    )
    assert long.columns[0] == "city_id"
    assert "rank_country" not in long.columns
    assert set(long["city_id"]) == set(data.index)


@pytest.mark.parametrize(
    ("option", "name"), [("normalise", "zscore"), ("aggregate", "geometric")]
)
def test_score_index_unknown_method(cities, option, name):
    data, directions, groups = cities
    with pytest.raises(ValueError, match=name):
        score_index(
            data, index_id="liv", directions=directions, weights={"income": 1}, groups=groups,
            **{option: name},
        )


def test_arithmetic_mean_refuses_a_column_without_weight():
    with pytest.raises(ValueError, match="no weight for c"):
        arithmetic_mean(NORMALISED, {"a": 1.0, "b": 1.0})
