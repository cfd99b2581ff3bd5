"""Property tests of the composite engine and `citybench score` on random frameworks, methods
and data: constant, missing, zero, negative, tiny and huge values, every normalisation and
aggregation. Whatever comes in, a run either scores every unit it ranks with a finite number
(and writes its files), or exits 1 with one line that names a file, a key or an indicator
(and writes nothing). No numpy warning escapes either: the command would print it."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import warnings
from argparse import Namespace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.score_cli import run
from indicators.composite.normalise import NormalisationError, normalise

# derandomize: the same examples on every run, so that the suite's time and verdict are
# reproducible; database=None: no .hypothesis folder in the tree
FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

# the kinds of column that broke formulas: no spread, no values, zeros, signs, magnitudes
COLUMNS = {
    "ordinary": st.lists(st.floats(-100, 100, allow_nan=False), min_size=1, max_size=1),
    "constant": st.sampled_from([[0.0], [7.0], [-3.0], [0.1]]),
    "missing": st.just([np.nan]),
    "zeros": st.just([0.0]),
    "negative": st.lists(st.floats(-1e6, -1e-3), min_size=1, max_size=1),
    "huge": st.sampled_from([[1e300], [-1e300], [1.7e308], [-1.7e308]]),
    "tiny": st.sampled_from([[1e-300], [5e-324], [-1e-300]]),
}


@st.composite
def columns(draw, units: int) -> list[float]:
    """One indicator's values: mostly of one kind, with some of another and some gaps."""
    kind = draw(st.sampled_from(sorted(COLUMNS)))
    event(f"column: {kind}")
    values = []
    for _ in range(units):
        roll = draw(st.integers(0, 9))
        other = kind if roll < 6 else draw(st.sampled_from(sorted(COLUMNS)))
        value = draw(COLUMNS[other])[0] if roll < 9 else np.nan
        if kind in ("ordinary", "negative", "huge") and roll < 6:
            value = value * draw(st.sampled_from([1.0, 0.5, 0.25]))  # some spread
        values.append(value)
    return values


@st.composite
def frameworks(draw) -> tuple[str, list[str], list[str]]:
    """A tree of one or two levels of aggregates over 1-5 indicators, some hung directly
    under the index; weights include 0. Returns the TOML, the indicators, the aggregates."""
    indicators = [f"i{k}" for k in range(draw(st.integers(1, 5)))]
    aggregates = [f"a{k}" for k in range(draw(st.integers(0, min(2, len(indicators)))))]
    parents = ["idx", *aggregates]
    lines = ['id = "idx"']
    for node in aggregates:
        lines += ["[[aggregate]]", f'id = "{node}"',
                  f"weight = {draw(st.sampled_from([0, 1, 1, 1, 2]))}"]
    for k, node in enumerate(indicators):
        # each aggregate has a child; the others hang anywhere
        parent = aggregates[k] if k < len(aggregates) else draw(st.sampled_from(parents))
        lines += ["[[indicator]]", f'id = "{node}"', f'parent = "{parent}"',
                  f"weight = {draw(st.sampled_from([0, 0.5, 1, 1, 1, 3]))}",
                  f"direction = {draw(st.sampled_from([1, -1]))}"]
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"target = {draw(st.sampled_from([0, 5, 50, -1e300]))}")
        if draw(st.integers(0, 5)) == 0:
            lines.append('denominator = "size"')
    return "\n".join(lines) + "\n", indicators, aggregates


NORMALISE = st.sampled_from([
    {"method": "minmax"}, {"method": "minmax", "range": [1, 100]},
    {"method": "minmax", "pooled": True}, {"method": "zscore", "mean": 10, "sd": 2},
    {"method": "rank"}, {"method": "percentile_rank"}, {"method": "distance_to_max"},
    {"method": "fraction_of_max"}, {"method": "distance_to_target"},
    {"method": "goalposts"}, {"method": "goalposts", "low": 0, "high": 0},
    {"method": "goalposts", "low": -5, "high": 5}, {"method": "none"},
])
AGGREGATE = st.sampled_from([
    {"method": "arithmetic"}, {"method": "geometric"}, {"method": "harmonic"},
    {"method": "generalised", "power": 2}, {"method": "generalised", "power": 3},
    {"method": "generalised", "power": 0.5}, {"method": "generalised", "power": -1},
    {"method": "copeland"}, {"method": "copeland", "copeland_ties": "coinr"},
    {"method": "arithmetic", "min_availability": 1.0},
])
IMPUTE = st.sampled_from([{}, {"method": "mean"}, {"method": "median"}, {"method": "locf"}])
TREAT = st.sampled_from([{}, {"method": "winsorise", "max_points": 2}, {"method": "log"},
                         {"method": "winsorise", "skew": 0.1, "kurtosis": -5}])
WEIGHTS = st.sampled_from([{}, {"method": "equal"}, {"method": "pca"}])


def table(name: str, values: dict) -> list[str]:
    return [f"[{name}]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()] if values else []


@st.composite
def methods(draw) -> str:
    lines = table("normalise", draw(NORMALISE))
    lines += table("aggregate", draw(AGGREGATE))
    lines += table("aggregate.level.2", draw(AGGREGATE)) if draw(st.booleans()) else []
    lines += table("impute", draw(IMPUTE)) + table("treat", draw(TREAT))
    lines += table("weights", draw(WEIGHTS))
    if draw(st.booleans()):
        lines += table("screen", {"min_availability": 0.5})
    if draw(st.integers(0, 3)) == 0:
        lines += table("uncertainty", {"replications": 4, "weights_noise": 0.2})
        lines.append('normalise = [{ method = "minmax" }, { method = "rank" }]')
    return "\n".join(lines) + "\n"


@st.composite
def runs(draw):
    framework, indicators, _ = draw(frameworks())
    units = draw(st.integers(1, 6))
    periods = draw(st.sampled_from([1, 1, 2]))
    data = {"unit": [f"u{k}" for k in range(units)] * periods,
            "year": np.repeat(np.arange(2020, 2020 + periods), units)}
    for node in [*indicators, "size"]:
        data[node] = draw(columns(units * periods))
    return framework, draw(methods()), pd.DataFrame(data), draw(st.booleans())


def score(framework: str, method: str, data: pd.DataFrame, steps: bool, folder: Path):
    (folder / "f.toml").write_text(framework)
    (folder / "m.toml").write_text(method)
    data.to_csv(folder / "data.csv", index=False)
    args = Namespace(framework=folder / "f.toml", method=folder / "m.toml",
                     data=folder / "data.csv", out=folder / "out.csv", unit="unit", period=None,
                     steps=folder / "steps" if steps else None)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = run(args)
    return code, stderr.getvalue(), [str(w.message) for w in caught]


@FAST
@given(runs())
def test_a_run_scores_every_ranked_unit_finitely_or_fails_in_one_line(example):
    framework, method, data, steps = example
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        code, stderr, warned = score(framework, method, data, steps, folder)
        assert warned == [], warned
        if code == 1:
            event("refused")
            assert stderr.count("\n") == 1, stderr
            # the message names the file (and within it the key or the indicator) concerned
            assert stderr.startswith(("citybench score: f.toml: ", "citybench score: m.toml: ",
                                      "citybench score: data.csv: ")), stderr
            assert not (folder / "out.csv").exists() and not (folder / "steps").exists()
            return
        event("scored")
        # the one thing a scored run may say: a zero denominator, whose ratio is left missing
        said = [line for line in stderr.splitlines() if " is 0 for " not in line]
        assert code == 0 and said == [], stderr
        out = pd.read_csv(folder / "out.csv")
        numbers = out.select_dtypes("number")
        assert not np.isinf(numbers.to_numpy(float)).any()
        ranked = out["rank"].notna()
        assert np.isfinite(out.loc[ranked, "score"].astype(float)).all()
        assert (out["score"].notna() == ranked).all()
        if steps:
            written = pd.read_csv(folder / "steps" / "Aggregated.csv").select_dtypes("number")
            assert not np.isinf(written.to_numpy(float)).any()
            assert (folder / "steps" / "run.json").is_file()


@settings(max_examples=150, deadline=None, database=None, derandomize=True)
@given(
    st.integers(1, 3).flatmap(lambda periods: st.tuples(
        st.just(periods), st.integers(1, 6).flatmap(
            lambda units: st.lists(columns(units * periods), min_size=1, max_size=3)))),
    NORMALISE, st.lists(st.sampled_from([1.0, -1.0]), min_size=3, max_size=3),
    st.sampled_from([None, 0.0, 50.0, -1e300]),
)
def test_a_normalisation_is_finite_where_there_is_a_value_or_refused(
    shape, params, directions, target
):
    periods, values = shape
    x = np.array(values).T.reshape(periods, -1, len(values))
    k = x.shape[-1]
    targets = None if target is None else np.full(k, target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and silently: the command would print a warning
        try:
            out = normalise(x, np.array(directions[:k]), params, targets)
        except NormalisationError as error:
            assert params["method"] == "fraction_of_max", error
            event("refused")
            return
        except ValueError as error:  # the one other refusal, named by the caller
            assert params["method"] == "distance_to_target" and target is None, error
            return
    present = ~np.isnan(x)
    assert np.isnan(out[~present]).all()
    if params["method"] == "none":
        return
    infinite = present & ~np.isfinite(out)
    if params["method"] == "fraction_of_max" and infinite.any():
        # x / max is the one unbounded result: infinite only where the true ratio is beyond
        # the largest float (-1.7e308 / 0.1), which the build then refuses by name
        p, _, i = np.argwhere(infinite)[0]
        signed = x[p, :, i] * directions[i]
        ratio = Fraction(float(signed[np.argwhere(infinite[p, :, i])[0][0]])) / Fraction(
            float(np.nanmax(signed)))
        assert abs(ratio) > Fraction(sys.float_info.max)
        return
    assert not infinite.any()
