"""The composite engine (indicators/composite) step by step, on small hand-made data.

Every expected value is worked out by hand (the arithmetic is in the comment beside it) or by
an independent brute-force formulation in the test; none is made by the code under test.
The file and method errors are in test_composite_spec.py; COINr's ASEM example end to end in
test_composite_asem.py."""

from __future__ import annotations

import json
import statistics
import textwrap
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from indicators.composite import diagnostics, moments
from indicators.composite.aggregate import AggregationError, aggregate, copeland
from indicators.composite.build import build_frame
from indicators.composite.data import long_to_wide
from indicators.composite.impute import impute_column
from indicators.composite.normalise import NormalisationError, normalise
from indicators.composite.ranking import rank
from indicators.composite.results import node_ranks, scores_long
from indicators.composite.screen import availability, included
from indicators.composite.spec import SpecError, load_framework, load_method
from indicators.composite.treat import treat_column
from indicators.composite.weights import effective_weights, pca_weights

NAN = np.nan


def framework(text: str):
    return load_framework(textwrap.dedent(text), "f.toml")


def method(text: str = ""):
    return load_method(textwrap.dedent(text), "m.toml")


def flat(
    *indicators: str,
    directions: dict[str, int] | None = None,
    groups: list[str] | None = None,
    **extra: str,
):
    """An index straight over the indicators, each of weight 1; `extra` gives more keys as
    <indicator>_<key> = TOML value."""
    lines = ['id = "idx"', f"groups = {json.dumps(groups or [])}"]
    for name in indicators:
        lines += ["[[indicator]]", f'id = "{name}"',
                  f"direction = {(directions or {}).get(name, 1)}"]
        lines += [
            f"{key.removeprefix(name + '_')} = {value}"
            for key, value in extra.items()
            if key.startswith(name + "_")
        ]
    return framework("\n".join(lines))


def norm(values, direction: float = 1.0, target: float | None = None, **params) -> np.ndarray:
    """One indicator through normalise(): a list is one period of units, a list of lists is
    periods x units. Returns periods x units."""
    x = np.asarray(values, dtype=float)
    x = x[None, :, None] if x.ndim == 1 else x[..., None]
    targets = None if target is None else np.array([target], dtype=float)
    return normalise(x, np.array([direction]), params, targets)[..., 0]


def one(values, **kwargs) -> np.ndarray:
    return norm(values, **kwargs)[0]


# normalise -------------------------------------------------------------------------------


def test_minmax_by_hand_in_any_range():
    values = [2.0, 4.0, 10.0]  # (v - 2) / 8 of the range
    assert_allclose(one(values, method="minmax"), [0, 25, 100])  # the default range
    assert_allclose(one(values, method="minmax", range=[0, 100]), [0, 25, 100])
    assert_allclose(one(values, method="minmax", range=[0, 1]), [0, 0.25, 1])
    assert_allclose(one(values, method="minmax", range=[-1, 1]), [-1, -0.5, 1])
    assert_allclose(one(values, method="minmax", range=[10, 20]), [10, 12.5, 20])
    # direction -1: (10 - v) / 8
    assert_allclose(one(values, direction=-1, method="minmax"), [100, 75, 0])


def test_zscore_with_mean_and_sd():
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    mean, sd = statistics.mean(values), statistics.stdev(values)  # 5 and sqrt(32 / 7)
    assert (mean, sd) == (5.0, pytest.approx((32 / 7) ** 0.5))
    want = [10 + 2 * (v - mean) / sd for v in values]
    assert_allclose(one(values, method="zscore", mean=10, sd=2), want)
    assert_allclose(one(values, method="zscore"), [(v - 5) / sd for v in values])


def test_rank_ties_take_the_lowest_rank_and_percentile_rank():
    values = [3.0, 1.0, 3.0, NAN, 2.0]
    # 1 -> 1, 2 -> 2, the two 3s share rank 3 (the lowest of 3 and 4)
    assert_array_equal(one(values, method="rank"), [3, 1, 3, NAN, 2])
    # direction -1 ranks -3, -3, -2, -1: 1, 1, 3, 4
    assert_array_equal(one(values, direction=-1, method="rank"), [1, 4, 1, NAN, 3])
    # (rank - 1) / (4 values - 1)
    assert_allclose(one(values, method="percentile_rank"), [2 / 3, 0, 2 / 3, NAN, 1 / 3])


def test_distance_to_max_and_fraction_of_max():
    values = [2.0, 4.0, 10.0]
    assert_allclose(one(values, method="distance_to_max"), [0, 0.25, 1])  # 1 - (10 - v) / 8
    assert_allclose(one(values, method="fraction_of_max"), [0.2, 0.4, 1])  # v / 10
    assert_allclose(one([0.0, 5.0, NAN], method="fraction_of_max"), [0, 1, NAN])


def test_distance_to_target_is_capped_at_one():
    values = [10.0, 20.0, 30.0, 40.0]
    # (v - 10) / (30 - 10), and 40 is past the target: 1.5 capped to 1
    assert_allclose(one(values, target=30, method="distance_to_target"), [0, 0.5, 1, 1])
    # lower is better, target 20: (40 - v) / (40 - 20); 10 is past it (1.5 -> 1)
    assert_allclose(
        one(values, direction=-1, target=20, method="distance_to_target"), [1, 1, 0.5, 0]
    )


def test_distance_to_target_without_a_target_is_refused():
    with pytest.raises(ValueError, match="needs a target"):
        one([1.0, 2.0], method="distance_to_target")


def test_goalposts_given_clip_to_the_range():
    values = [-10.0, 0.0, 25.0, 50.0, 80.0]
    # (v - 0) / 50, clipped to [0, 1], onto [0, 100]
    assert_allclose(one(values, method="goalposts", low=0, high=50), [0, 0, 50, 100, 100])
    assert_allclose(
        one(values, method="goalposts", low=0, high=50, range=[1, 11]), [1, 1, 6, 11, 11]
    )
    # lower is better with the same goalposts: 0 or less is the best, 50 or more the worst
    assert_allclose(
        one(values, direction=-1, method="goalposts", low=0, high=50), [100, 100, 50, 0, 0]
    )


# Three periods of three cities: A's value never moves, B's and C's do.
PANEL = [[50.0, 0.0, 100.0], [50.0, 20.0, 60.0], [50.0, 40.0, 150.0]]


def test_each_period_is_normalised_on_its_own_by_default():
    got = norm(PANEL, method="minmax")
    # 2020: (50 - 0) / 100; 2021: (50 - 20) / 40; 2022: (50 - 40) / 110
    assert_allclose(got[:, 0], [50, 75, 1000 / 110])
    assert_allclose(got[1], [75, 0, 100])


@pytest.mark.parametrize("params", [{"method": "goalposts"}, {"method": "minmax", "pooled": True}])
def test_fixed_goalposts_keep_a_steady_city_where_it_was(params):
    got = norm(PANEL, **params)
    # one min (0) and one max (150) for all three periods: v / 150
    assert_allclose(got, np.array(PANEL) / 150 * 100)
    assert_allclose(got[:, 0], [100 / 3] * 3)


def test_pooled_rank_ranks_all_periods_together():
    got = norm(PANEL, method="rank", pooled=True)
    # 0 20 40 50 50 50 60 100 150 -> 1 2 3 4 4 4 7 8 9
    assert_array_equal(got, [[4, 1, 8], [4, 2, 7], [4, 3, 9]])


@pytest.mark.parametrize(
    ("params", "middle"),
    [
        ({"method": "minmax", "range": [0, 10]}, 5.0),
        ({"method": "minmax", "range": [1, 100]}, 50.5),
        ({"method": "goalposts", "range": [0, 10]}, 5.0),
        ({"method": "distance_to_max"}, 0.5),
        ({"method": "zscore", "mean": 10, "sd": 2}, 10.0),
    ],
)
def test_a_constant_column_goes_to_the_middle(params, middle):
    # 0.1 three times: its mean rounds to 0.10000000000000002, its sd to about 1e-17
    for value in (7.0, 0.1):
        assert_array_equal(one([value, value, NAN, value], **params), [middle] * 2 + [NAN, middle])


# an all-missing column is allowed; numpy warns about its empty min and max
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "params",
    [
        {"method": "minmax"}, {"method": "zscore"}, {"method": "rank"},
        {"method": "distance_to_max"}, {"method": "fraction_of_max"}, {"method": "none"},
        {"method": "distance_to_target"}, {"method": "goalposts", "low": 0, "high": 5},
    ],
)
def test_a_missing_value_stays_missing_and_leaves_the_others_alone(params):
    with_gap = one([1.0, 3.0, NAN, 2.0, 4.0], target=3.5, **params)
    without = one([1.0, 3.0, 2.0, 4.0], target=3.5, **params)
    assert np.isnan(with_gap[2])
    assert_allclose(with_gap[[0, 1, 3, 4]], without)
    assert np.isnan(one([NAN, NAN], target=1.0, **params)).all()


def test_a_missing_value_by_hand():
    # lower is better: 1 is the best (10), 3 the worst (0), 2 between (5)
    assert_allclose(one([1.0, 3.0, NAN, 2.0], direction=-1, range=[0, 10]), [10, 0, NAN, 5])


@pytest.mark.parametrize(
    ("params", "total"),
    [
        ({"method": "minmax", "range": [0, 100]}, 100),
        ({"method": "minmax", "range": [-1, 1]}, 0),
        ({"method": "minmax", "range": [10, 20]}, 30),
        ({"method": "distance_to_max"}, 1),
        ({"method": "zscore", "mean": 10, "sd": 2}, 20),
        ({"method": "percentile_rank"}, 1),
        ({"method": "rank"}, 41),  # n + 1 without ties
        ({"method": "goalposts", "low": -4, "high": 4, "range": [0, 10]}, 10),
    ],
)
def test_direction_minus_one_mirrors_the_scale(params, total):
    x = np.random.default_rng(7).normal(size=40)
    up, down = one(x, **params), one(x, direction=-1, **params)
    assert_allclose(up + down, total, atol=1e-12)
    assert up.argmax() == x.argmax() and down.argmax() == x.argmin()


def test_fraction_of_max_needs_a_maximum_above_zero():
    # x / 0 is not defined; x / -2 would put -8 (the worst) above -2 (the best)
    for values, direction, maximum in (([0.0, -3.0], 1, "0"), ([2.0, 8.0], -1, "-2")):
        with pytest.raises(NormalisationError) as refused:
            one(values, direction=direction, method="fraction_of_max")
        assert refused.value.reason.startswith(
            f"its maximum after the direction is {maximum}, and x / max "
        )
    # a maximum above 0 takes negative values: -5 / 10
    assert_allclose(one([-5.0, 10.0], method="fraction_of_max"), [-0.5, 1])


def test_a_target_every_unit_has_reached_gives_one_to_all():
    # target 10 is the lowest value: (v - 10) / 0; target 5 is below it: (v - 10) / -5
    for target in (10, 5):
        assert_array_equal(one([10.0, 20.0, NAN], target=target, method="distance_to_target"),
                           [1, 1, NAN])


def test_percentile_rank_of_a_single_value_is_zero_as_a_constant_column():
    assert_array_equal(one([NAN, 4.0, NAN], method="percentile_rank"), [NAN, 0, NAN])
    assert_array_equal(one([4.0, 4.0], method="percentile_rank"), [0, 0])
    assert_array_equal(one([4.0, 4.0], method="rank"), [1, 1])


@pytest.mark.parametrize(
    "params",
    [{"method": "minmax"}, {"method": "zscore"}, {"method": "distance_to_max"},
     {"method": "goalposts"}, {"method": "fraction_of_max"}, {"method": "rank"}],
)
def test_normalising_values_near_the_ends_of_floating_point(params):
    # scaled by a power of 2 first: 1.7e308 - (-1.7e308) would overflow, and the squares of
    # 1e-320 (for the sd) vanish; the results are those of the same values near 1
    for scale in (1e308, 1e-320):
        values = np.array([0.5, 1.0, 0.25, 0.75]) * (1.7 if scale > 1 else 1) * scale
        if params["method"] != "fraction_of_max":
            values[2] = -values[2]
        got = one(values, **params)
        want = one(values / values.max(), **params)
        assert np.isfinite(got).all()
        assert_allclose(got, want, rtol=1e-12 if scale > 1 else 1e-3, atol=1e-12)


# aggregate -------------------------------------------------------------------------------


def test_arithmetic_mean_renormalises_the_weights_of_missing_children():
    children = np.array([[[0.2, 0.4, 0.9], [1.0, NAN, 0.5], [NAN, NAN, NAN]]])
    got = aggregate(children, np.array([1.0, 2.0, 1.0]), "arithmetic")
    # (0.2 + 0.8 + 0.9) / 4; (1 + 0.5) / (1 + 1): b's weight is dropped; nothing -> missing
    assert_allclose(got, [[0.475, 0.75, NAN]])


def test_geometric_harmonic_and_generalised_by_hand():
    x = np.array([[[2.0, 8.0], [1.0, 4.0]]])
    w = np.array([1.0, 2.0])
    # (2 * 8^2)^(1/3) = 2^(7/3); (1 * 4^2)^(1/3) = 16^(1/3)
    assert_allclose(aggregate(x, w, "geometric"), [[2 ** (7 / 3), 16 ** (1 / 3)]])
    # 3 / (1/2 + 2/8) = 4; 3 / (1 + 2/4) = 2
    assert_allclose(aggregate(x, w, "harmonic"), [[4.0, 2.0]])
    # sqrt((4 + 2 * 64) / 3); sqrt((1 + 2 * 16) / 3)
    assert_allclose(aggregate(x, w, "generalised", 2.0), [[(132 / 3) ** 0.5, (33 / 3) ** 0.5]])
    # a missing child is dropped: only 4 is left, with its weight 2: 2 / (2 / 4)
    assert_allclose(aggregate(np.array([[[NAN, 4.0]]]), w, "harmonic"), [[4.0]])


def test_generalised_mean_of_power_one_zero_and_minus_one():
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 100, size=(2, 25, 4))
    x[0, 3, 1] = NAN
    w = rng.uniform(0.5, 2, size=4)
    present = ~np.isnan(x)
    share = np.where(present, w, 0) / (present * w).sum(axis=-1, keepdims=True)
    values = np.where(present, x, 1.0)
    arithmetic = (share * np.where(present, x, 0)).sum(axis=-1)
    geometric = np.exp((share * np.log(values)).sum(axis=-1))
    harmonic = 1 / (share / values).sum(axis=-1)
    assert_allclose(aggregate(x, w, "generalised", 1.0), arithmetic)
    assert_allclose(aggregate(x, w, "arithmetic"), arithmetic)
    assert_allclose(aggregate(x, w, "generalised", 0.0), geometric)
    assert_allclose(aggregate(x, w, "geometric"), geometric)
    assert_allclose(aggregate(x, w, "generalised", -1.0), harmonic)
    assert_allclose(aggregate(x, w, "harmonic"), harmonic)
    # the power means order: harmonic <= geometric <= arithmetic <= quadratic
    quadratic = aggregate(x, w, "generalised", 2.0)
    assert (harmonic <= geometric + 1e-12).all() and (geometric <= arithmetic + 1e-12).all()
    assert (arithmetic <= quadratic + 1e-12).all()
    assert (arithmetic - harmonic > 1e-3).all()  # random data is not constant


@pytest.mark.parametrize(
    ("how", "power", "values"),
    [
        ("geometric", 1.0, [1.0, 0.0]),
        ("harmonic", 1.0, [1.0, -2.0]),
        ("generalised", 0.0, [0.0, 1.0]),
        ("generalised", -1.0, [3.0, 0.0]),
    ],
)
def test_means_that_need_positive_values_refuse_others(how, power, values):
    with pytest.raises(AggregationError, match=f"^{how} mean needs values above 0: "):
        aggregate(np.array([[values]]), np.array([1.0, 1.0]), how, power)


def test_arithmetic_and_quadratic_means_take_zero_and_negative_values():
    x = np.array([[[0.0, -2.0]]])
    assert_allclose(aggregate(x, np.array([1.0, 1.0]), "arithmetic"), [[-1.0]])
    assert_allclose(aggregate(x, np.array([1.0, 1.0]), "generalised", 2.0), [[2**0.5]])


def test_copeland_by_hand():
    children = np.array([[[3.0, 3.0], [2.0, 4.0], [1.0, 1.0], [NAN, NAN], [NAN, 5.0]]])
    # A-B: one child each, a tie. A and B beat C on both. E has only the second child: it
    # beats A, B, C there and nobody beats it. D has no data: no score, and counts for no one.
    # A: +C -E = 0; B: +C -E = 0; C: -A -B -E = -3; E: +A +B +C = 3
    assert_array_equal(copeland(children, np.array([1.0, 1.0])), [[0, 0, -3, NAN, 3]])


def copeland_brute_force(x: np.ndarray, weights: list[str]) -> list[float]:
    """Pair by pair, with the weights as exact decimal fractions, so that 0.1 + 0.2 = 0.3."""
    w = [Fraction(v) for v in weights]
    scored = [not np.isnan(row).all() for row in x]
    out = []
    for a in range(len(x)):
        if not scored[a]:
            out.append(NAN)
            continue
        score = 0
        for b in range(len(x)):
            if b == a or not scored[b]:
                continue
            margin = Fraction(0)
            for k, weight in enumerate(w):
                if np.isnan(x[a, k]) or np.isnan(x[b, k]):
                    continue
                margin += weight if x[a, k] > x[b, k] else -weight if x[a, k] < x[b, k] else 0
            score += (margin > 0) - (margin < 0)
        out.append(float(score))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_copeland_against_a_double_loop_with_exact_ties_and_gaps(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(30, 3)).astype(float)  # many ties
    x[rng.random(x.shape) < 0.15] = NAN
    x[5] = NAN  # a unit without data
    weights = ["0.1", "0.2", "0.3"]  # ahead on the first two and behind on the third: a tie
    got = copeland(x[None], np.array([float(v) for v in weights]))[0]
    want = copeland_brute_force(x, weights)
    assert_array_equal(got, want)
    assert np.nansum(got) == 0  # every win is someone's loss


def test_copeland_decimal_tie_is_a_tie():
    x = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # 0.1 + 0.2 against 0.3
    assert_array_equal(copeland(x[None], np.array([0.1, 0.2, 0.3]))[0], [0, 0])
    assert_array_equal(copeland(x[None], np.array([0.1, 0.2, 0.29]))[0], [1, -1])


def test_min_availability_leaves_a_unit_with_too_few_children_unscored():
    fw = flat("a", "b", "c", "d")
    data = pd.DataFrame(
        {"city": ["X", "Y", "Z"], "a": [1.0, 2.0, 3.0], "b": [1.0, NAN, 3.0],
         "c": [1.0, 2.0, 3.0], "d": [1.0, 2.0, NAN]}
    )
    # Y has 3 of 4 (0.75), Z has 3 of 4, X has all four
    for threshold, scored in ((0.75, [True, True, True]), (0.8, [True, False, False])):
        m = method(f"[normalise]\nmethod = 'none'\n[aggregate]\nmin_availability = {threshold}")
        index = build_frame(fw, m, data, unit="city").frame("Aggregated")["idx"]
        assert index.notna().tolist() == scored
    # without a threshold Y is the mean of what it has: (2 + 2 + 2) / 3
    index = build_frame(fw, method("[normalise]\nmethod = 'none'"), data, unit="city")
    assert index.frame("Aggregated")["idx"].tolist() == [1.0, 2.0, 3.0]


# impute ----------------------------------------------------------------------------------


def test_impute_mean_median_and_none_per_period():
    column = np.array([[1.0, NAN, 3.0, 8.0], [NAN, 10.0, 20.0, 60.0]])
    assert_allclose(impute_column(column, "mean", None, 1), [[1, 4, 3, 8], [30, 10, 20, 60]])
    assert_allclose(impute_column(column, "median", None, 1), [[1, 3, 3, 8], [20, 10, 20, 60]])
    assert_array_equal(impute_column(column, "none", None, 1), column)
    assert np.isnan(column[0, 1])  # the input is left as it was
    # the mean of 1.7e308 and 1.5e308 is taken on them scaled near 1: their sum overflows
    huge = np.array([[1.7e308, NAN, 1.5e308, 1e-300]])
    assert_allclose(impute_column(huge, "mean", None, 1)[0, 1], (1.7e308 + 1e-300) / 3
                    + 1.5e308 / 3)
    assert impute_column(huge, "mean", None, 1)[0, 3] == 1e-300  # the others as they were


def test_impute_by_group_leaves_a_group_without_data_missing():
    column = np.array([[1.0, 2.0, 6.0, NAN, 10.0, NAN, NAN, 5.0]])
    groups = np.array(["a", "a", "a", "a", "b", "b", "c", None], dtype=object)
    # a: mean 3, median 2; b: 10; c has no value; the unit without a group stays as it is
    assert_allclose(
        impute_column(column, "group_mean", groups, 1), [[1, 2, 6, 3, 10, 10, NAN, 5]]
    )
    assert_allclose(
        impute_column(column, "group_median", groups, 1), [[1, 2, 6, 2, 10, 10, NAN, 5]]
    )
    with pytest.raises(ValueError, match="group_mean imputation needs a group column"):
        impute_column(column, "group_mean", None, 1)


def test_locf_carries_a_value_forward_within_the_window_only():
    column = np.array(
        [
            [5.0, NAN, 1.0, NAN],
            [NAN, 3.0, NAN, NAN],
            [NAN, NAN, 2.0, NAN],
            [NAN, 7.0, NAN, NAN],
        ]
    )
    # window 1: one period at most; a value carried is not carried again
    assert_allclose(
        impute_column(column, "locf", None, 1),
        [[5, NAN, 1, NAN], [5, 3, 1, NAN], [NAN, 3, 2, NAN], [NAN, 7, 2, NAN]],
    )
    # window 2: unit 0's 5 reaches two periods on, not three
    assert_allclose(
        impute_column(column, "locf", None, 2),
        [[5, NAN, 1, NAN], [5, 3, 1, NAN], [5, 3, 2, NAN], [NAN, 7, 2, NAN]],
    )
    assert_array_equal(impute_column(column, "locf", None, 0), column)


def test_impute_in_a_build_uses_the_data_group_and_counts_what_it_filled():
    fw = flat("a", "b")
    data = pd.DataFrame(
        {"city": list("PQRST"), "region": ["n", "n", "n", "s", "s"],
         "a": [1.0, 3.0, NAN, NAN, NAN], "b": [1.0, 2.0, 3.0, 4.0, NAN]}
    )
    m = method(
        """
        [impute]
        method = "group_mean"
        group = "region"
        [impute.indicator.b]
        method = "median"
        [normalise]
        method = "none"
        """
    )
    coin = build_frame(fw, m, data, unit="city")
    imputed = coin.frame("Imputed")
    # a: north's mean (1 + 3) / 2 = 2; the south has no a at all; b: the median of 1..4
    assert_allclose(imputed["a"], [1, 3, 2, NAN, NAN])
    assert_allclose(imputed["b"], [1, 2, 3, 4, 2.5])
    record = next(r for r in coin.log if r.step == "impute")
    assert record.details["imputed"] == {"a": 1, "b": 1}
    assert coin.frame("Raw").isna().sum().sum() == 4  # the raw set is kept as it came


def test_locf_in_a_panel_build():
    fw = flat("a")
    data = pd.DataFrame(
        {"city": ["P", "Q"] * 3, "year": [2020, 2020, 2021, 2021, 2022, 2022],
         "a": [1.0, 2.0, NAN, 4.0, NAN, 6.0]}
    )
    m = method("[impute]\nmethod = 'locf'\nwindow = 1\n[normalise]\nmethod = 'none'")
    coin = build_frame(fw, m, data, unit="city", period="year")
    # P's 2020 value fills 2021 (one period on), not 2022 (two)
    assert_allclose(coin.sets["Imputed"][:, 0, 0], [1, 1, NAN])


# screen ----------------------------------------------------------------------------------


def test_screen_rules_by_hand():
    values = np.array(
        [[[1.0, 2.0, 3.0, 4.0], [1.0, NAN, 0.0, 4.0], [NAN, NAN, 0.0, 0.0], [0.0, 0.0, 0.0, 5.0]]]
    )
    available, nonzero = availability(values)
    # present 4, 3, 2, 4 of 4; non-zero (of all four) 4, 2, 0, 1
    assert_allclose(available, [[1, 0.75, 0.5, 1]])
    assert_allclose(nonzero, [[1, 0.5, 0, 0.25]])
    assert included(values, "availability", 0.75, 0.0).tolist() == [[True, True, False, True]]
    assert included(values, "zeros", 0.0, 0.5).tolist() == [[True, True, False, False]]
    assert included(values, "availability_and_zeros", 0.75, 0.25).tolist() == [
        [True, True, False, True]
    ]
    assert included(values, "availability_and_zeros", 0.75, 0.5).tolist() == [
        [True, True, False, False]
    ]


def test_screened_units_are_left_out_of_normalisation_ranks_and_scores():
    fw = flat("a", "b", groups=["region"])
    data = pd.DataFrame(
        {"city": ["P", "Q", "R", "S"], "region": ["n", "n", "s", "s"],
         "a": [0.0, 5.0, 10.0, 1000.0], "b": [0.0, 5.0, 10.0, NAN]}
    )
    m = method("[screen]\nmin_availability = 0.75\n[normalise]\nrange = [0, 10]")
    coin = build_frame(fw, m, data, unit="city")
    assert coin.included.tolist() == [[True, True, True, False]]
    # S's 1000 is gone before min-max: a is (v - 0) / 10 over P, Q, R
    assert_allclose(coin.frame("Normalised")["a"], [0, 5, 10])
    assert coin.frame("Normalised").index.tolist() == ["P", "Q", "R"]
    assert coin.frame("Raw").index.tolist() == ["P", "Q", "R", "S"]
    ranks = node_ranks(coin)[0]
    assert_array_equal(ranks[:, coin.columns["Aggregated"].index("idx")], [3, 2, 1, NAN])
    long = scores_long(coin, ["region"])
    assert "S" not in set(long["unit"])
    assert len(long) == 3 * 3
    index = long[long["node"] == "idx"].set_index("unit")
    assert index["rank_region"].tolist() == [2, 1, 1]  # R is alone in the south
    assert index["percentile_region"].tolist() == [0.0, 100.0, 100.0]


def test_screen_by_zeros_in_a_build():
    fw = flat("a", "b", "c")
    data = pd.DataFrame(
        {"city": ["P", "Q", "R"], "a": [1.0, 0.0, 2.0], "b": [1.0, 0.0, 0.0],
         "c": [1.0, 3.0, 2.0]}
    )
    m = method("[screen]\nrule = 'zeros'\nmin_nonzero = 0.5")
    coin = build_frame(fw, m, data, unit="city")
    # non-zero shares 1, 1/3, 2/3: Q goes
    assert coin.included.tolist() == [[True, False, True]]
    assert np.isnan(node_ranks(coin)[0, 1]).all()
    assert not np.isnan(node_ranks(coin)[0, [0, 2]]).any()


# treat -----------------------------------------------------------------------------------


def skew_kurt(x):
    """Type 2 (sample) skewness and excess kurtosis, as e1071 and Excel give them."""
    x = x[~np.isnan(x)]
    return stats.skew(x, bias=False), stats.kurtosis(x, bias=False)


ONE_OUTLIER = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 100])
TWO_OUTLIERS = np.r_[np.arange(1.0, 20.0), 60.0, 80.0, 100.0]


def test_winsorise_one_outlier():
    skew, kurt = skew_kurt(ONE_OUTLIER)
    assert skew > 2 and kurt > 3.5  # the test fails: both thresholds exceeded
    out, t = treat_column(ONE_OUTLIER, "winsorise", 2.0, 3.5, 5, "log")
    # 100 takes the next highest value, 9, and the test then passes
    assert_array_equal(out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 9])
    assert (t.winsorised, t.points, t.logged) == (1, {9: "winhi"}, False)
    assert not t.passed_before and t.passed_after
    assert (t.skew_before, t.kurt_before) == pytest.approx((skew, kurt))
    assert (t.skew_after, t.kurt_after) == pytest.approx(skew_kurt(out))
    assert abs(t.skew_after) < 2


def test_winsorise_a_negative_skew_from_below():
    out, t = treat_column(-ONE_OUTLIER, "winsorise", 2.0, 3.5, 5, "log")
    assert t.skew_before < -2
    assert_array_equal(out, -np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 9.0]))
    assert t.points == {9: "winlo"}


def test_winsorise_point_by_point_until_it_passes():
    skew, kurt = skew_kurt(np.r_[np.arange(1.0, 20.0), 60.0, 80.0, 80.0])
    assert skew > 2 and kurt > 3.5  # one point is not enough ...
    out, t = treat_column(TWO_OUTLIERS, "winsorise", 2.0, 3.5, 5, "log")
    # ... so 100 goes to 80, then both 80s to 60
    assert_array_equal(out, np.r_[np.arange(1.0, 20.0), 60.0, 60.0, 60.0])
    assert t.points == {21: "winhi", 20: "winhi"} and t.winsorised == 2 and t.passed_after


def test_max_points_reached_then_the_log_of_the_original_values():
    out, t = treat_column(TWO_OUTLIERS, "winsorise", 2.0, 3.5, 1, "log")
    x = TWO_OUTLIERS  # not the winsorised values: log(x - 1 + 0.01 * (100 - 1))
    assert_allclose(out, np.log(x - 1 + 0.99))
    assert t.logged and t.winsorised == 1 and t.points == {}
    skew, kurt = skew_kurt(out)
    assert (t.skew_after, t.kurt_after) == pytest.approx((skew, kurt))
    assert t.passed_after == (not (abs(skew) >= 2 and kurt >= 3.5))
    # without the fallback the one point stays winsorised and the test still fails
    out, t = treat_column(TWO_OUTLIERS, "winsorise", 2.0, 3.5, 1, "none")
    assert out[-1] == 80 and t.points == {21: "winhi"} and not t.passed_after and not t.logged


def test_max_points_zero_winsorises_nothing():
    out, t = treat_column(ONE_OUTLIER, "winsorise", 2.0, 3.5, 0, "none")
    assert_array_equal(out, ONE_OUTLIER)
    assert (t.winsorised, t.points, t.passed_after) == (0, {}, False)
    out, t = treat_column(ONE_OUTLIER, "winsorise", 2.0, 3.5, 0, "log")
    assert t.logged and t.winsorised == 0
    assert_allclose(out, np.log(ONE_OUTLIER - 1 + 0.99))


def test_the_log_fallback_reports_a_test_that_still_fails():
    # a long left tail: the log makes the skew worse, and the record must say so
    x = np.r_[np.full(20, 100.0), 99.0, 1.0]
    out, t = treat_column(x, "winsorise", 2.0, 3.5, 0, "log")
    skew, kurt = skew_kurt(out)
    assert skew <= -2 and kurt >= 3.5
    assert t.logged and not t.passed_after


def test_method_log_and_method_none():
    out, t = treat_column(ONE_OUTLIER, "log", 2.0, 3.5, 5, "log")
    assert_allclose(out, np.log(ONE_OUTLIER - 1 + 0.99))  # min 1, max 100
    assert t.logged and t.winsorised == 0
    # a column with negative values: log(x + 5 + 0.01 * 10)
    assert_allclose(treat_column(np.array([-5.0, 0, 5]), "log", 2, 3.5, 5, "none")[0],
                    np.log([0.1, 5.1, 10.1]))
    out, t = treat_column(ONE_OUTLIER, "none", 2.0, 3.5, 5, "log")
    assert_array_equal(out, ONE_OUTLIER)
    assert not t.passed_before and not t.passed_after and not t.logged


def test_the_log_of_a_column_without_spread_leaves_it_as_it_is():
    # log(x - min + 0.01 (max - min)) would be log(0) at the minimum
    for column in ([3.0, 3.0, 3.0], [NAN, 2.0, NAN], [NAN, NAN, NAN]):
        x = np.array(column)
        assert_array_equal(treat_column(x, "log", 2, 3.5, 5, "none")[0], x)


def test_outlier_test_of_values_near_1e300():
    # the fourth powers overflow unless the column is scaled first: the moments do not change
    base = np.array([1.0, 1.0, 1.2, 0.9, 1.1, 1.0, 1.05, 0.95, 9.0])
    for scale in (1e300, 1e-300):
        got = moments.skew_kurt((base * scale)[:, None])
        assert_allclose(np.ravel(got), np.ravel(moments.skew_kurt(base[:, None])), rtol=1e-12)


def test_treatment_in_a_build_with_overrides_per_indicator():
    fw = flat("x", "y", "z", "w")
    n = len(TWO_OUTLIERS)
    data = pd.DataFrame({"city": [f"c{k:02d}" for k in range(n)], "x": TWO_OUTLIERS,
                         "y": TWO_OUTLIERS, "z": TWO_OUTLIERS, "w": np.arange(n, dtype=float)})
    m = method(
        """
        [treat]
        method = "winsorise"
        [treat.indicator.y]
        method = "none"
        [treat.indicator.z]
        max_points = 1
        [normalise]
        method = "none"
        """
    )
    coin = build_frame(fw, m, data, unit="city")
    treated = coin.frame("Treated")
    assert_array_equal(treated["x"], np.r_[np.arange(1.0, 20.0), 60.0, 60.0, 60.0])
    assert_array_equal(treated["y"], TWO_OUTLIERS)
    assert_allclose(treated["z"], np.log(TWO_OUTLIERS - 1 + 0.99))
    assert_array_equal(treated["w"], np.arange(n))  # passes: left alone
    assert coin.treatments[(0, "x")].points == {21: "winhi", 20: "winhi"}
    assert coin.treatments[(0, "z")].logged
    assert not coin.treatments[(0, "y")].passed_after
    assert coin.treatments[(0, "w")].passed_before and coin.treatments[(0, "w")].winsorised == 0


# weights ---------------------------------------------------------------------------------


def test_manual_weights_with_overrides_and_equal_weights():
    fw = framework(
        """
        id = "idx"
        [[indicator]]
        id = "a"
        weight = 1
        [[indicator]]
        id = "b"
        weight = 2
        [[indicator]]
        id = "c"
        weight = 3
        """
    )
    data = pd.DataFrame({"city": ["P", "Q"], "a": [1.0, 4.0], "b": [2.0, 8.0], "c": [6.0, 0.0]})
    none = "[normalise]\nmethod = 'none'\n"
    # the framework's weights: (1 + 4 + 18) / 6, (4 + 16 + 0) / 6
    index = build_frame(fw, method(none), data, unit="city").frame("Aggregated")["idx"]
    assert_allclose(index, [23 / 6, 20 / 6])
    # b's weight overridden to 0.5: (1 + 1 + 18) / 4.5, (4 + 4 + 0) / 4.5
    coin = build_frame(fw, method(none + "[weights]\nvalues = { b = 0.5 }"), data, unit="city")
    assert_allclose(coin.frame("Aggregated")["idx"], [20 / 4.5, 8 / 4.5])
    assert coin.weights == {"idx": 1.0, "a": 1.0, "b": 0.5, "c": 3.0}
    # equal: (1 + 2 + 6) / 3, (4 + 8 + 0) / 3
    coin = build_frame(fw, method(none + "[weights]\nmethod = 'equal'"), data, unit="city")
    assert_allclose(coin.frame("Aggregated")["idx"], [3.0, 4.0])


def test_pca_weights_are_squared_loadings_of_the_first_component():
    rng = np.random.default_rng(5)
    common = rng.normal(size=60)
    raw = np.column_stack(
        [common + rng.normal(scale=s, size=60) for s in (0.3, 0.8, 2.0)]
    )
    raw[:, 1] *= -1  # lower is better: the direction flips it back
    raw[7, 2] = NAN  # a unit with a gap is left out of the correlation
    complete = raw[~np.isnan(raw).any(axis=1)]
    eigenvalues, eigenvectors = np.linalg.eigh(np.corrcoef(complete, rowvar=False))
    want = eigenvectors[:, np.argmax(eigenvalues)] ** 2  # unit length: they sum to 1
    assert_allclose(pca_weights(complete[None]), want, atol=1e-12)

    fw = flat("a", "b", "c", directions={"b": -1})
    data = pd.DataFrame({"city": [f"c{k}" for k in range(60)], "a": raw[:, 0],
                         "b": raw[:, 1], "c": raw[:, 2]})
    coin = build_frame(fw, method("[weights]\nmethod = 'pca'"), data, unit="city")
    # min-max is affine, so the normalised data have the raw data's correlations
    got = [coin.weights[n] for n in "abc"]
    assert_allclose(got, want, atol=1e-10)
    assert sum(got) == pytest.approx(1.0)
    assert got[0] > got[1] > got[2]  # the less noise, the more weight


def test_pca_weights_need_two_complete_units_and_some_variation():
    with pytest.raises(ValueError, match=r"^needs 2 units or more with every child, has 1$"):
        pca_weights(np.array([[[1.0, 2.0], [3.0, NAN]]]))
    with pytest.raises(ValueError, match=r"^no child varies across the units$"):
        pca_weights(np.array([[[1.0, 2.0], [1.0, 2.0]]]))
    fw = flat("a", "b")
    data = pd.DataFrame({"city": ["X", "Y"], "a": [1.0, NAN], "b": [3.0, 4.0]})
    with pytest.raises(SpecError) as refused:
        build_frame(fw, method("[weights]\nmethod = 'pca'"), data, unit="city")
    assert str(refused.value) == (
        'm.toml: weights.method = "pca" at "idx": needs 2 units or more with every child, '
        "has 1"
    )


UNEVEN = """
id = "idx"
[[aggregate]]
id = "A"
weight = 2
[[indicator]]
id = "x1"
parent = "A"
weight = 1
[[indicator]]
id = "x2"
parent = "A"
weight = 3
[[indicator]]
id = "x3"
weight = 1
"""


def test_effective_weights_of_an_uneven_tree():
    fw = framework(UNEVEN)
    assert fw.levels == {"idx": 3, "A": 2, "x1": 1, "x2": 1, "x3": 1}
    parents = {n.id: n.parent for n in fw.nodes.values()}
    weights = {n.id: n.weight for n in fw.nodes.values()}
    # A has 2 of 3 at the top, x3 1 of 3; x1 is 1 of 4 within A: 2/3 * 1/4
    want = {"idx": 1.0, "A": 2 / 3, "x3": 1 / 3, "x1": 1 / 6, "x2": 1 / 2}
    assert effective_weights(parents, weights) == pytest.approx(want)

    rng = np.random.default_rng(2)
    data = pd.DataFrame({"city": list("PQRSTU"), **{x: rng.uniform(0, 9, 6) for x in
                                                    ("x1", "x2", "x3")}})
    coin = build_frame(fw, method(), data, unit="city")
    assert diagnostics.effective_weights(coin).to_dict() == pytest.approx(want)
    # with arithmetic means all the way, the index is the effective-weight sum
    normalised = coin.frame("Normalised")
    by_weight = sum(want[x] * normalised[x] for x in ("x1", "x2", "x3"))
    assert_allclose(coin.frame("Aggregated")["idx"], by_weight)


TWO_LEVELS = """
id = "idx"
[[aggregate]]
id = "P"
[[aggregate]]
id = "Q"
[[indicator]]
id = "a"
parent = "P"
weight = 1
[[indicator]]
id = "b"
parent = "P"
weight = 3
[[indicator]]
id = "c"
parent = "Q"
[[indicator]]
id = "d"
parent = "Q"
"""


def test_weights_and_aggregation_per_level():
    fw = framework(TWO_LEVELS)
    data = pd.DataFrame({"city": ["M", "N"], "a": [1.0, 2.0], "b": [4.0, 8.0],
                         "c": [9.0, 1.0], "d": [1.0, 1.0]})
    m = method(
        """
        [normalise]
        method = "none"
        [weights.level.1]
        method = "equal"
        [weights.level.2]
        values = { P = 3 }
        [aggregate.level.2]
        method = "geometric"
        """
    )
    coin = build_frame(fw, m, data, unit="city")
    got = coin.frame("Aggregated")
    # level 1 equal (b's 3 ignored): P = sqrt(a b), Q = sqrt(c d)
    assert_allclose(got["P"], [2.0, 4.0])
    assert_allclose(got["Q"], [3.0, 1.0])
    # level 3 is arithmetic (the default) with P weighing 3: (3 * 2 + 3) / 4, (3 * 4 + 1) / 4
    assert_allclose(got["idx"], [9 / 4, 13 / 4])
    assert coin.weights == {"idx": 1.0, "P": 3.0, "Q": 1.0, "a": 1.0, "b": 1.0, "c": 1.0,
                            "d": 1.0}
    aggregate_log = coin.log[-1]
    assert aggregate_log.parameters["P"]["method"] == "geometric"
    assert aggregate_log.parameters["idx"]["method"] == "arithmetic"


# ranks -----------------------------------------------------------------------------------


def test_ranks_ties_share_the_better_rank_and_percentiles():
    values = np.array([[[10.0], [20.0], [20.0], [5.0], [NAN]]])
    ranks, percentiles = rank(values)
    assert_array_equal(ranks[0, :, 0], [3, 1, 1, 4, NAN])
    # the share of the 3 other scored units strictly below, in percent
    assert_allclose(percentiles[0, :, 0], [100 / 3, 200 / 3, 200 / 3, 0, NAN])


def test_ranks_within_groups_a_group_of_one_and_units_without_a_group():
    values = np.array([[[1.0], [2.0], [3.0], [100.0], [50.0], [NAN], [7.0], [4.0], [6.0]]])
    groups = np.array(["A", "A", "B", "B", "A", "B", "C", None, NAN], dtype=object)
    ranks, percentiles = rank(values, groups)
    # A: 50 > 2 > 1; B: 100 > 3 (and a gap); C alone; no group: 6 > 4, ranked together
    assert_array_equal(ranks[0, :, 0], [3, 2, 2, 1, 1, NAN, 1, 2, 1])
    assert_allclose(percentiles[0, :, 0], [0, 50, 0, 100, 100, NAN, 100, 0, 100])


def test_a_large_tie_at_the_bottom_is_at_percentile_zero():
    values = np.array([[[1.0]] + [[0.0]] * 9])  # one capital, nine other cities
    ranks, percentiles = rank(values)
    assert_array_equal(ranks[0, :, 0], [1] + [2] * 9)
    assert_array_equal(percentiles[0, :, 0], [100] + [0] * 9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranks_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    periods, units, nodes = 2, 60, 3
    values = rng.integers(0, 10, size=(periods, units, nodes)).astype(float)  # ties
    values[rng.random(values.shape) < 0.1] = NAN
    labels = rng.choice(np.array(["A", "B", "C", "D", "E"], dtype=object), units)
    labels[rng.random(units) < 0.05] = "lone"
    labels[0] = "only me"
    for groups in (None, labels):
        ranks, percentiles = rank(values, groups)
        same = np.zeros(units) if groups is None else labels
        for p in range(periods):
            for k in range(nodes):
                for u in range(units):
                    v = values[p, u, k]
                    if np.isnan(v):
                        assert np.isnan(ranks[p, u, k]) and np.isnan(percentiles[p, u, k])
                        continue
                    peers = values[p, same == same[u], k]
                    peers = peers[~np.isnan(peers)]
                    assert ranks[p, u, k] == 1 + np.sum(peers > v)
                    want = 100 * np.sum(peers < v) / (len(peers) - 1) if len(peers) > 1 else 100
                    assert percentiles[p, u, k] == pytest.approx(want)


def test_node_ranks_and_scores_long_by_group():
    fw = flat("a", "b", directions={"b": -1}, groups=["country"])
    data = pd.DataFrame(
        {"city": ["P", "Q", "R", "S"], "country": ["FR", "FR", "DE", "DE"],
         "a": [30.0, 50.0, 40.0, 20.0], "b": [40.0, 25.0, 30.0, 55.0]}
    )
    coin = build_frame(fw, method("[normalise]\nrange = [0, 1]"), data, unit="city")
    # a: (v - 20) / 30; b (lower is better): (55 - v) / 30
    a = np.array([1 / 3, 1, 2 / 3, 0])
    b = np.array([0.5, 1, 5 / 6, 0])
    assert_allclose(coin.frame("Aggregated")["idx"], (a + b) / 2)  # 0.42 1 0.75 0
    assert_array_equal(node_ranks(coin)[0, :, 2], [3, 1, 2, 4])
    assert_array_equal(node_ranks(coin, "country")[0, :, 2], [2, 1, 1, 2])
    long = scores_long(coin, ["country"])
    assert long.columns.tolist() == [
        "unit", "node", "kind", "value", "normalised", "rank", "percentile", "rank_country",
        "percentile_country",
    ]
    assert long.groupby("node")["kind"].first().to_dict() == {
        "a": "indicator", "b": "indicator", "idx": "index"
    }
    b_rows = long[long["node"] == "b"].set_index("unit")
    assert b_rows["value"].tolist() == [40.0, 25.0, 30.0, 55.0]  # raw values, as they came
    assert_allclose(b_rows["normalised"], b)
    assert b_rows["rank"].tolist() == [3, 1, 2, 4]  # the shortest, 25, first
    assert str(b_rows["rank"].dtype) == "Int64"
    assert b_rows["percentile_country"].tolist() == [0.0, 100.0, 100.0, 0.0]


# panels ----------------------------------------------------------------------------------


def panel_frame() -> pd.DataFrame:
    years = [2020, 2021, 2022]
    return pd.DataFrame(
        {"city": [c for _ in years for c in "ABC"], "year": [y for y in years for _ in "ABC"],
         "x": [v for row in PANEL for v in row], "region": ["n", "s", "s"] * 3}
    )


def test_a_panel_is_normalised_period_by_period_unless_pooled():
    fw = flat("x")
    coin = build_frame(fw, method(), panel_frame(), unit="city", period="year")
    assert coin.periods == [2020, 2021, 2022] and coin.units == ["A", "B", "C"]
    index = coin.sets["Aggregated"][..., coin.columns["Aggregated"].index("idx")]
    assert_allclose(index[:, 0], [50, 75, 1000 / 110])  # A moves although its value does not
    assert_allclose(coin.frame("Aggregated", 2021)["idx"], [75, 0, 100])
    assert_allclose(coin.frame("Aggregated")["idx"], [1000 / 110, 0, 100])  # the latest
    for pooled in ("[normalise]\npooled = true", "[normalise]\nmethod = 'goalposts'"):
        coin = build_frame(fw, method(pooled), panel_frame(), unit="city", period="year")
        index = coin.sets["Aggregated"][..., coin.columns["Aggregated"].index("idx")]
        assert_allclose(index, np.array(PANEL) / 150 * 100)  # A stays at 100 / 3
    long = scores_long(coin)
    assert long["period"].tolist()[:3] == [2020, 2020, 2020]
    assert len(long) == 3 * 3 * 2
    with pytest.raises(KeyError, match="no period 2019"):
        coin.frame("Aggregated", 2019)


def test_long_to_wide_then_build_gives_the_same_panel():
    wide = panel_frame()
    long = wide.melt(id_vars=["city", "year", "region"], var_name="indicator")
    long = long.sample(frac=1, random_state=1)  # any order
    got = long_to_wide(long, "city", "year")
    assert sorted(got.columns) == ["city", "region", "x", "year"]
    assert len(got) == 9
    row = got[(got["city"] == "C") & (got["year"] == 2022)].iloc[0]
    assert (row["x"], row["region"]) == (150.0, "s")
    coin = build_frame(flat("x"), method(), got, unit="city", period="year")
    assert_allclose(coin.sets["Aggregated"][..., 1][:, 0], [50, 75, 1000 / 110])
    # a unit-level frame without periods
    single = long_to_wide(long[long["year"] == 2021].drop(columns="year"), "city", None)
    assert single.set_index("city")["x"].to_dict() == {"A": 50.0, "B": 20.0, "C": 60.0}


def test_a_panel_with_a_unit_missing_from_one_period():
    data = panel_frame().drop(index=4)  # B in 2021
    coin = build_frame(flat("x"), method(), data, unit="city", period="year")
    raw = coin.sets["Raw"][..., 0]
    assert np.isnan(raw[1, 1]) and raw[1, 0] == 50
    # 2021 without B: min 50, max 60
    assert_allclose(coin.frame("Normalised", 2021)["x"], [0, NAN, 100])


# denominate ------------------------------------------------------------------------------


def test_denominate_divides_by_the_denominator_times_the_scale():
    fw = flat("jobs", "area", jobs_denominator='"population"', jobs_scale="1000")
    data = pd.DataFrame({"city": ["P", "Q", "R"], "jobs": [50.0, 30.0, 8.0],
                         "area": [1.0, 2.0, 3.0], "population": [100.0, 0.0, 40.0]})
    coin = build_frame(fw, method("[normalise]\nmethod = 'none'"), data, unit="city")
    # 50 / 100 * 1000, 30 / 0 is no value (never an infinity), 8 / 40 * 1000
    assert_allclose(coin.frame("Denominated")["jobs"], [500, NAN, 200])
    assert_allclose(coin.frame("Denominated")["area"], [1, 2, 3])  # no denominator
    off = method("[denominate]\nenabled = false\n[normalise]\nmethod = 'none'")
    assert "Denominated" not in build_frame(fw, off, data, unit="city").sets
    # a ratio beyond floating point is no missing value: refused, naming the denominator
    data["population"] = [100.0, 1e-310, 40.0]
    with pytest.raises(SpecError) as refused:
        build_frame(fw, method(), data, unit="city")
    assert str(refused.value) == (
        'f.toml: indicator "jobs".denominator = "population": unit \'Q\': gives an infinite value'
    )
