"""The screen (warehouse.screen) in front of split_valid: the outcome is the same with it as
without it, whatever the frame; what it cannot express, it says so and steps aside.

Every property compares split_valid with the screen forced on (SCREEN_FROM_ROWS = 0) against
split_valid with it off: the same valid frame, the same rejected rows with the same checks and
reasons, or the same FrameRejected.
"""

from __future__ import annotations

import contextlib
import math
import re
from unittest import mock

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.test_validation_properties import (
    CITIES,
    CONTRACT,
    DATASETS,
    FAST,
    MALFORMED_CITY,
    MALFORMED_INDICATOR,
    PLAIN,
    SOURCES,
    observation_frames,
)
from warehouse import schemas, screen, validation
from warehouse.contracts import contracts
from warehouse.screen import Unscreenable, row_wise
from warehouse.tables import WRITTEN
from warehouse.validation import FrameRejected, split_valid

# rows sampled to learn a text column's values: none (every value judged after), a few, all
SAMPLES = st.sampled_from([0, 3, 10**9])
INDICATOR_IDS = ["population", "country_population", "unemployment_rate", "green_share",
                 "has_metro", "area_km2", "mean_temperature"]


def _outcome(frame, contract, identify, *, screened: bool, sample: int = 100_000):
    """split_valid with the screen on or off: its Outcome, or the FrameRejected message; and
    whether the screen judged the frame (rather than stepping aside)."""
    used = []
    original = screen.Screen.suspects

    def spy(self, typed):
        found = original(self, typed)
        used.append(len(found))
        return found

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(
            validation, "SCREEN_FROM_ROWS", 0 if screened else 10**12))
        stack.enter_context(mock.patch.object(screen, "SAMPLE", sample))
        stack.enter_context(mock.patch.object(screen.Screen, "suspects", spy))
        try:
            result = split_valid(frame, contract, identify)
        except FrameRejected as refused:
            result = f"FrameRejected: {refused}"
    return result, bool(used)


def _assert_same(frame, contract, identify=(), sample: int = 100_000) -> bool:
    theirs, _ = _outcome(frame, contract, identify, screened=False)
    ours, used = _outcome(frame, contract, identify, screened=True, sample=sample)
    if isinstance(theirs, str) or isinstance(ours, str):
        assert ours == theirs
    else:
        pd.testing.assert_frame_equal(ours.valid, theirs.valid)
        pd.testing.assert_frame_equal(ours.rejected, theirs.rejected)
        assert ours.rows_read == theirs.rows_read
        assert ours.valid.index.equals(theirs.valid.index)
    return used


def _typed(frame: pd.DataFrame, draw) -> pd.DataFrame:
    """The frame with the contract's dtypes where its cells allow (else a drawn stand-in), so
    that the screen, not only coercion, meets the broken rows."""
    out = frame.copy()
    for name in ("city_id", "indicator_id", "source_id", "dataset_id", "flag"):
        if name in out:
            out[name] = out[name].map(lambda v: v if isinstance(v, str) or v is None
                                      else str(v)).astype("str")
    if "value" in out:
        out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    if "period" in out:
        numbers = pd.to_numeric(out["period"], errors="coerce")
        fits = numbers.notna() & (numbers % 1 == 0) & numbers.between(-(2**31), 2**31 - 1)
        stand_in = draw(st.sampled_from([1799, 2000, 2101, -(2**31)]))
        out["period"] = numbers.where(fits, stand_in).astype("int32")
    return out


# --- the canonical observations: generated broken frames, raw and typed ----------------------

@settings(FAST, max_examples=15)
@given(st.booleans().flatmap(lambda c: st.tuples(st.just(c), observation_frames(c))),
       st.sampled_from([(), ("city_id", "indicator_id", "period")]),
       SAMPLES, st.booleans(), st.data())
def test_screened_and_full_validation_agree_on_broken_observations(case, identify, sample,
                                                                   typed, data):
    with_contracts, case = case
    frame = _typed(case.frame, data.draw) if typed else case.frame
    used = _assert_same(frame, CONTRACT if with_contracts else PLAIN, identify, sample)
    event(f"screen used: {used}")
    if typed:
        assert used, "a typed frame of a screenable contract is screened"


@st.composite
def typed_observations(draw) -> pd.DataFrame:
    """Frames of the canonical dtypes with every kind of breakage the screen must find."""
    size = draw(st.integers(0, 40))
    text = st.one_of(st.none(), st.just(""), st.text(max_size=4))

    def column(good, bad):
        return draw(st.lists(st.one_of(good, good, good, bad), min_size=size, max_size=size))

    frame = pd.DataFrame({
        "city_id": pd.Series(column(st.sampled_from(CITIES[:3]), st.one_of(
            text, MALFORMED_CITY.map(str), st.sampled_from(["gn:12\n", "gn:\u0661", "gn:7"]))),
            dtype="str"),
        "indicator_id": pd.Series(column(st.sampled_from(INDICATOR_IDS[:3]), st.one_of(
            text, MALFORMED_INDICATOR, st.sampled_from(["undefined_one", "Population"]))),
            dtype="str"),
        "period": np.array(column(st.integers(2018, 2020), st.sampled_from(
            [1799, 1800, 2100, 2101, -(2**31), 2**31 - 1])), dtype="int32"),
        "source_id": pd.Series(column(st.sampled_from(SOURCES), st.one_of(text)), dtype="str"),
        "dataset_id": pd.Series(column(st.sampled_from(DATASETS), text), dtype="str"),
        "value": np.array(column(st.floats(0, 1, allow_nan=False), st.sampled_from(
            [math.nan, math.inf, -math.inf, -0.0, -1.0, 1e308, 5e7, 5e7 + 1, 100.5])),
            dtype="float64"),
        "flag": pd.Series(column(st.none(), st.sampled_from(["e", "b", ""])), dtype="str"),
    })
    return frame


@settings(FAST, max_examples=12)
@given(typed_observations(), st.booleans(), SAMPLES)
def test_screened_and_full_validation_agree_on_typed_observations(frame, with_contracts, sample):
    assert _assert_same(frame, CONTRACT if with_contracts else PLAIN, ("city_id",), sample)


# --- every warehouse contract: typed frames of pooled values, tricky ones included -----------

_TEXT_POOL = ["gn:1", "gn:12", "gn:12\n", "gn:\u0661", "a_1", "b", "B", "", " ", "x y", "EU",
              "DE", "DEU", "Q64", "Q", "firm", "city-network", "air-route", "twinning",
              "indicator", "index", "AS", "NA", "s:x", "-", "https://a", "file://b", "ftp://c",
              "0123456789abcdef", "f" * 64, "\u00e9", "persons", None]
_FLOAT_POOL = [0.0, -0.0, 0.5, 1.0, 5.0, 5.5, -1.0, 90.0, 90.5, -180.0, 181.0, 100.0, 101.0,
               1e308, math.nan, math.inf, -math.inf]
_INT_POOL = [0, 1, -1, 2, 999, 1000, 1799, 1800, 2100, 2101, 50_000_000, 50_000_001]


@st.composite
def pooled_frames(draw, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """A frame of the schema's columns and dtypes, its cells drawn from small pools (so that
    keys repeat), with the schema's own coercion applied to the empty frame for the dtypes."""
    size = draw(st.integers(0, 30))
    columns = {}
    for name, column in schema.columns.items():
        kind = str(column.dtype).lower()
        if "string" in kind or kind == "str":
            values = draw(st.lists(st.sampled_from(_TEXT_POOL), min_size=size, max_size=size))
            columns[name] = pd.Series(values, dtype="str")
        elif kind.startswith("float"):
            values = draw(st.lists(st.sampled_from(_FLOAT_POOL), min_size=size, max_size=size))
            columns[name] = pd.Series(values, dtype="float64")
        elif kind == "bool":
            columns[name] = pd.Series(draw(st.lists(st.booleans(), min_size=size,
                                                    max_size=size)), dtype="bool")
        else:
            info = np.iinfo(re.sub(r"[^a-z0-9]", "", kind))
            pool = [v for v in _INT_POOL if info.min <= v <= info.max]
            nullable = kind[0] == "i" and str(column.dtype)[0] == "I"  # Int64, Int32: nullable
            values = draw(st.lists(st.sampled_from(pool + [None] * nullable), min_size=size,
                                   max_size=size))
            columns[name] = pd.Series(values, dtype=str(column.dtype) if nullable else kind)
    return pd.DataFrame(columns)


LOAD = contracts(
    pd.DataFrame([("population", "persons", "demography"), ("share", "%", "x")],
                 columns=["indicator_id", "unit", "domain"]),
    pd.Index(["gn:1", "gn:12"]), pd.Index(["s:x", "firm"]), pd.Index(["b", "a_1"]))
EVERY_CONTRACT = {
    **{f"model {name}": table.model.to_schema() for name, table in WRITTEN.items()},
    **{f"load {name}": schema for name, schema in LOAD.items()},
}


# 5 a contract: there are 25 contracts, and each example validates twice (about 0.25 s)
@settings(FAST, max_examples=5)
@pytest.mark.parametrize("name", sorted(EVERY_CONTRACT))
@given(data=st.data(), sample=SAMPLES)
def test_screened_and_full_validation_agree_on_every_contract(name, data, sample):
    schema = EVERY_CONTRACT[name]
    assert not screen.screen(schema).blockers, "every warehouse contract can be screened"
    frame = data.draw(pooled_frames(schema))
    event(f"screen used: {_assert_same(frame, schema, list(schema.columns)[:1], sample)}")


# --- what the screen cannot express: it says so, and steps aside ----------------------------

def _frame(values) -> pd.DataFrame:
    return pd.DataFrame({"id": pd.Series([f"k{i}" for i in range(len(values))], dtype="str"),
                         "value": np.array(values, dtype="float64")})


def test_a_frame_wide_custom_check_makes_the_screen_step_aside():
    above_mean = pa.Check(lambda frame: frame["value"] >= frame["value"].mean(),
                          error="value: at least the mean")
    schema = pa.DataFrameSchema({"id": pa.Column(str), "value": pa.Column(float)},
                                checks=[above_mean], unique=["id"])
    assert screen.screen(schema).blockers == (
        "frame check '<lambda>' (custom, not declared row_wise)",)
    frame = _frame([1.0, 2.0, 3.0, 10.0] * 5)
    # on the suspects alone the mean would differ: the screen must not be used
    assert not _assert_same(frame, schema)
    outcome = split_valid(frame, schema)
    assert len(outcome.valid) == 5 and outcome.rejected_rows == 15


@pytest.mark.parametrize("check, why", [
    (pa.Check(lambda values: values > values.median()), "custom, not declared row_wise"),
    (pa.Check.unique_values_eq([1.0, 2.0]), "a built-in that looks at the whole column"),
    (pa.Check(lambda values: values > 0, groupby="id"), "grouped"),
])
def test_a_column_check_the_screen_cannot_vouch_for_is_named(check, why):
    schema = pa.DataFrameSchema({"id": pa.Column(str), "value": pa.Column(float, checks=check)})
    (blocker,) = screen.screen(schema).blockers
    assert blocker.startswith("value: check") and blocker.endswith(f"({why})")
    assert not _assert_same(_frame([1.0, 2.0, 3.0]), schema)


def test_a_row_wise_check_without_a_verdict_per_row_makes_the_screen_step_aside():
    @row_wise
    def positive_overall(values):  # wrongly declared: one verdict for the column
        return bool((values > 0).all())

    schema = pa.DataFrameSchema({"value": pa.Column(float, checks=pa.Check(positive_overall))})
    plan = screen.screen(schema)
    assert not plan.blockers
    frame = _frame([1.0, -2.0]).reset_index(drop=True)
    with pytest.raises(Unscreenable, match="one verdict per row"):
        plan.suspects(frame)
    assert not _assert_same(frame, schema)


def test_the_screen_validates_only_the_suspects_and_every_row_of_a_repeated_key():
    frame = pd.DataFrame({
        "city_id": pd.Series(["gn:1", "gn:2", "gn:3", "gn:x", "gn:2", "gn:5"], dtype="str"),
        "indicator_id": pd.Series(["a"] * 6, dtype="str"),
        "period": np.array([2020, 2020, 2020, 2020, 2020, 1700], dtype="int32"),
        "source_id": pd.Series(["s"] * 6, dtype="str"),
        "dataset_id": pd.Series(["d"] * 6, dtype="str"),
        "value": np.array([1.0, 2.0, np.inf, 4.0, 5.0, 6.0]),
        "flag": pd.Series([None] * 6, dtype="str"),
    })
    plan = screen.screen(PLAIN)
    assert plan.suspects(frame).tolist() == [1, 2, 3, 4, 5]
    seen = []
    original = validation._validate

    def spy(rows, *args):
        seen.append(len(rows))
        return original(rows, *args)

    with mock.patch.object(validation, "SCREEN_FROM_ROWS", 0), \
            mock.patch.object(validation, "_validate", spy):
        outcome = split_valid(frame, schemas.ObservationTable)
    assert seen == [5]
    assert outcome.valid["city_id"].tolist() == ["gn:1"]
    assert outcome.rejected["check_name"].tolist() == [
        "multiple_fields_uniqueness", "a finite number", "str_fullmatch(pattern=gn:[0-9]+)",
        "multiple_fields_uniqueness", "greater_than_or_equal_to(1800)"]


@settings(FAST, max_examples=30)
@given(st.lists(st.one_of(st.none(), st.sampled_from(
    ["ab", "a\u0661", "x1", "a\n", "\u00e9t\u00e9", "", " a", "a_b", "Ab", "a-b", "a\u00a0"]),
    st.text(max_size=3)), max_size=30), SAMPLES)
def test_text_checks_are_judged_by_pandera_whatever_the_pattern(texts, sample):
    # look-ahead, Unicode \w, a trailing-newline-tolerant $: pandera judges each distinct value
    schema = pa.DataFrameSchema({
        "code": pa.Column(str, nullable=True, checks=[
            pa.Check.str_matches(r"(?!x)\w+$"), pa.Check.str_contains("[a-z]"),
            pa.Check.str_length(1, 2)]),
        "id": pa.Column(str, unique=True),
    })
    frame = pd.DataFrame({"code": pd.Series(texts, dtype="str"),
                          "id": pd.Series([f"k{i % 25}" for i in range(len(texts))],
                                          dtype="str")})
    assert _assert_same(frame, schema, ("id",), sample)


# --- the faster bookkeeping around pandera: the same frames as the plain pandas idioms -------

_CELL = st.one_of(st.none(), st.sampled_from(["a", "b", "", "x\ny", "1"]), st.text(max_size=3))


@settings(FAST, max_examples=50)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["c1", "c2"]),
                          st.sampled_from(["x", "y", "z"]), _CELL, _CELL), max_size=25))
def test_joined_cases_are_the_groupby_join(rows):
    cases = pd.DataFrame(rows, columns=["index", "check", "column", "failure_case", "shown"])
    cases = cases.astype({"index": "int64"}).assign(
        **{c: cases[c].map(str).astype(str) for c in ["check", "column", "failure_case",
                                                      "shown"]})
    expected = cases.groupby(["index", "check"], sort=False).agg(
        column_name=("column", ", ".join), value=("failure_case", ", ".join),
        shown=("shown", ", ".join)).reset_index()
    pd.testing.assert_frame_equal(validation._joined(cases), expected)


@settings(FAST, max_examples=50)
@given(st.lists(st.tuples(_CELL, st.integers(-5, 5), _CELL, st.booleans()), max_size=25),
       st.sampled_from(["str", object]))
def test_kept_rows_and_labels_are_the_pandas_idioms(rows, text):
    frame = pd.DataFrame([r[:3] for r in rows], columns=["a", "n", "b"]).astype(
        {"a": text, "n": "int64", "b": "str"})
    keep = np.array([r[3] for r in rows], dtype=bool)
    pd.testing.assert_frame_equal(validation._kept(frame, keep), frame[keep])
    if len(frame):
        cells = frame.astype(object).where(frame.notna(), "").astype(str).apply(
            lambda c: c.str.replace("\r", "\\r").str.replace("\n", "\\n"))
        expected = cells.agg(" ".join, axis=1).str.strip()
        assert validation._labels(frame).tolist() == expected.tolist()
