"""The index recomputed from its stored dimensions with other weights
(indicators/composite/reweight.py), against the engine run end to end on the same data."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from indicators.composite.build import build_frame
from indicators.composite.reweight import ranks, recompute, top_level
from indicators.composite.spec import load_framework, load_method

FRAMEWORK = load_framework(textwrap.dedent("""
    id = "idx"
    [[aggregate]]
    id = "a"
    weight = 2
    [[aggregate]]
    id = "b"
    weight = 0.5
    [[indicator]]
    id = "x"
    parent = "a"
    [[indicator]]
    id = "y"
    parent = "a"
    [[indicator]]
    id = "z"
    parent = "b"
"""), "f.toml")
DATA = pd.DataFrame({"city": list("pqrstu"), "x": [1.0, 5, 3, 8, 2, np.nan],
                     "y": [4.0, 1, 9, 2, 2, 3], "z": [7.0, 2, 2, 9, 1, 4]})


def _run(method_text: str):
    method = load_method(textwrap.dedent(method_text), "m.toml")
    aggregated = build_frame(FRAMEWORK, method, DATA, unit="city").frame("Aggregated")
    return method, aggregated


@pytest.mark.parametrize("method_text", [
    "[aggregate]\nmethod = 'arithmetic'\nmin_availability = 1.0",
    "[normalise]\nmethod = 'minmax'\nrange = [1, 100]\n[aggregate]\nmethod = 'geometric'",
    "[weights.level.2]\nvalues = { a = 1, b = 3 }",
])
def test_the_runs_own_weights_give_back_the_runs_index(method_text):
    method, aggregated = _run(method_text)
    top = top_level(FRAMEWORK, method, ["a", "b"])
    index = recompute(top, aggregated[["a", "b"]].to_numpy(),
                      [top.weights[c] for c in top.components])
    assert_allclose(index, aggregated["idx"].to_numpy(), rtol=0, atol=1e-12)


def test_the_method_files_weights_override_the_frameworks():
    method, _ = _run("[weights.level.2]\nvalues = { a = 1, b = 3 }")
    assert top_level(FRAMEWORK, method, ["a", "b"]).weights == {"a": 1.0, "b": 3.0}


def test_weight_on_one_dimension_ranks_by_that_dimension():
    method, aggregated = _run("[aggregate]\nmethod = 'arithmetic'")
    top = top_level(FRAMEWORK, method, ["a", "b"])
    index = recompute(top, aggregated[["a", "b"]].to_numpy(), [0.0, 1.0])
    assert_allclose(index, aggregated["b"].to_numpy())
    # z = 7, 2, 2, 9, 1, 4: 9 first, 7 second, 4 third, the two 2s share 4th, 1 is 6th
    assert ranks(index)[0].tolist() == [2.0, 4.0, 4.0, 1.0, 6.0, 3.0]


def test_min_availability_leaves_a_unit_missing_a_dimension_unscored():
    method, _ = _run("[aggregate]\nmethod = 'arithmetic'\nmin_availability = 1.0")
    top = top_level(FRAMEWORK, method, ["a", "b"])
    index = recompute(top, np.array([[0.5, np.nan], [0.2, 0.4]]), [1.0, 1.0])
    assert np.isnan(index[0]) and index[1] == pytest.approx(0.3)


def test_a_dimension_left_out_of_the_run_is_not_a_component():
    method, _ = _run("")
    assert top_level(FRAMEWORK, method, ["b"]).components == ("b",)
