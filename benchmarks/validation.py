"""Validation throughput on 10 M canonical observations (warehouse.schemas.ObservationTable).

The pipeline validates with warehouse.validation.split_valid: the polars screen
(warehouse.screen: the contract's own checks in one polars query, uniqueness on a sorted 64-bit
hash of each row's key) finds the rows that might fail, and pandera's pandas backend validates
those alone, so rejected rows, checks and reasons are pandera's. Side by side: pandera's pandas
backend on every row (ObservationTable.validate, the baseline, and split_valid without the
screen, as the pipeline was), the same contract under pandera.polars (built from
`ObservationTable.to_schema()`, and paying for pl.from_pandas, as the pipeline would), and
pandera.ibis on a DuckDB table.

Every case runs in fresh processes, once on the first rows (imports, first calls: as many rows
as split_valid screens from, so that the screen's first calls are made too) and then timed;
medians and ratios are against the pandas baseline measured in the same run. A 1%-bad variant
checks that every case rejects exactly the injected rows (the run stops if one does not).

    python -m benchmarks validation
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.timing import (
    fresh_peak,
    machine_clock,
    memory_gb,
    report_machine_use,
    report_throughput,
    reported,
)

CITIES, INDICATORS, YEARS = 50_000, 40, 5
ROWS = CITIES * INDICATORS * YEARS
BAD_SHARE = 0.01
RUNS = 3
SOURCES = ["eurostat", "oecd", "worldbank", "un-habitat"]
TOPICS = ["population", "gdp_per_capita", "pm25", "rent_index", "green_area_share"]
KINDS_OF_BAD = [
    "bad city id", "bad indicator id", "period out of range", "infinite value",
    "missing value", "empty dataset id", "missing source id", "duplicated key",
]


# --- the data: generated once, in the parent, with numpy and Arrow --------------------------

def _generate(bad_share: float, seed: int = 7):
    """ROWS observations, every (city, indicator, year) once, in random order; string columns
    are built by `take` from small dictionaries, so no 10 M Python strings. Returns the Arrow
    table and the sorted row positions that break the contract (both rows of a duplicated key)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    geonames = np.sort(rng.choice(13_000_000, CITIES, replace=False) + 1)
    cities = np.char.add("gn:", geonames.astype("U8")).tolist()
    indicators = [f"{TOPICS[k % len(TOPICS)]}_{k:02d}" for k in range(INDICATORS)]
    datasets = [f"{SOURCES[k % len(SOURCES)]}-{k:02d}" for k in range(INDICATORS)]
    sources: list[str | None] = list(SOURCES)
    order = rng.permutation(ROWS)
    city = order // (INDICATORS * YEARS)
    indicator = (order // YEARS) % INDICATORS
    period = (2019 + order % YEARS).astype(np.int32)
    source = indicator % len(SOURCES)
    dataset = indicator.copy()
    value = rng.random(ROWS) * 1000
    flag = (rng.random(ROWS) < 0.02).astype(np.int8)  # 2% estimates ('e'), the rest null
    injected = np.empty(0, dtype=np.int64)
    if bad_share:
        count = int(ROWS * bad_share)
        picked = rng.choice(ROWS, 2 * count, replace=False)
        bad, partners = picked[:count], picked[count:]
        kinds = dict(zip(KINDS_OF_BAD, np.array_split(bad, len(KINDS_OF_BAD)), strict=True))
        rows = kinds["bad city id"]
        city[rows] = len(cities) + np.arange(len(rows))
        cities += [f"gn:{k}a" if k % 2 else f"GN:{k}" for k in range(len(rows))]
        rows = kinds["bad indicator id"]
        indicator[rows] = len(indicators) + np.arange(len(rows))
        indicators += [f"Population {k}" for k in range(len(rows))]
        rows = kinds["period out of range"]
        period[rows] = np.where(np.arange(len(rows)) % 2, 1799, 2101)
        rows = kinds["infinite value"]
        value[rows] = np.where(np.arange(len(rows)) % 2, np.inf, -np.inf)
        value[kinds["missing value"]] = np.nan
        dataset[kinds["empty dataset id"]] = len(datasets)
        datasets.append("")
        source[kinds["missing source id"]] = len(sources)
        sources.append(None)
        rows = kinds["duplicated key"]
        twins = partners[: len(rows)]  # rows that are otherwise fine, and now share a key
        for column in (city, indicator, period, source):
            column[rows] = column[twins]
        injected = np.sort(np.concatenate([bad, twins]))

    def strings(values, codes):
        return pc.take(pa.array(values, type=pa.large_string()), pa.array(codes))

    table = pa.table({
        "city_id": strings(cities, city),
        "indicator_id": strings(indicators, indicator),
        "period": period,
        "source_id": strings(sources, source),
        "dataset_id": strings(datasets, dataset),
        "value": value,
        "flag": strings([None, "e"], flag),
    })
    return table, injected


def _write(folder: Path) -> dict[str, float]:
    import pyarrow as pa

    seconds = {}
    for name, share in (("valid", 0.0), ("bad", BAD_SHARE)):
        start = time.perf_counter()
        table, injected = _generate(share)
        seconds[name] = time.perf_counter() - start
        with (pa.OSFile(str(folder / f"{name}.arrow"), "wb") as sink,
              pa.ipc.new_file(sink, table.schema) as writer):
            writer.write_table(table)
        np.save(folder / f"{name}.npy", injected)
    return seconds


def _read(folder: Path, name: str):
    """The frame as the pipeline hands it over: pandas 3 `str` columns, int32, float64. Its
    buffers map the Arrow file (in the page cache, just written), faulted in here rather than
    in the timed part; a fresh copy into process memory would cost each run ~1 s more."""
    import pyarrow as pa

    table = pa.ipc.open_file(pa.memory_map(str(folder / f"{name}.arrow"))).read_all()
    for column in table.columns:
        for chunk in column.chunks:
            for buffer in chunk.buffers():
                if buffer is not None:
                    int(np.frombuffer(buffer, dtype=np.uint8)[::4096].sum())
    return table.to_pandas(), np.load(folder / f"{name}.npy")


# --- the contract under polars, built from the pandas schema --------------------------------

def _fullmatch(check) -> str:
    # Rust's and RE2's `$` (no multi-line flag) is the end of the text: this is re.fullmatch.
    return f"^(?:{check.statistics['pattern']})$"


def _polars_twin(check):
    """The polars version of one of the contract's own checks (pandas functions), by name."""
    import polars as pl

    twins = {
        "finite": lambda data: data.lazyframe.select(pl.col(data.key).abs() != float("inf")),
        "str_fullmatch": lambda data: data.lazyframe.select(
            pl.col(data.key).str.contains(_fullmatch(check))),
    }
    return twins.get(check.name)


def _polars_check(check):
    import pandera.polars as pap
    from pandera.api.checks import Check
    from pandera.api.function_dispatch import Dispatcher
    from pandera.backends.polars.register import register_polars_backends

    register_polars_backends()  # the polars built-ins register on first polars validation
    if isinstance(check._check_fn, Dispatcher):
        # A schema's Check holds a copy of the dispatcher made before polars registered; take
        # the registry's, as Check.__call__ does.
        check = copy.copy(check)
        check._check_fn = Check.get_builtin_check_fn(check._check_fn.__name__)
        return check
    twin = _polars_twin(check)
    if twin is None:
        sys.exit(f"no polars version of the custom check {check.name!r}")
    return pap.Check(twin, name=check.name, error=check.error)


def _coerced_empty(schema, frame):
    """The dtypes the contract coerces `frame`'s columns to (on zero rows, so nearly free)."""
    from pandera.config import ValidationDepth, config_context

    with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
        return schema.validate(frame.head(0))


def _unique_sets(schema) -> list[list[str]]:
    sets = [[name] for name, column in schema.columns.items() if column.unique]
    if schema.unique:
        unique = schema.unique
        sets += [list(unique)] if all(isinstance(u, str) for u in unique) else [*map(list, unique)]
    return sets


def _polars_schema(schema, frame, uniqueness: str = "pandera"):
    """A pandera.polars schema of the pandas contract; dtypes from converting its coerced empty
    frame. uniqueness "none": left out (for the breakdown)."""
    import pandera.polars as pap
    import polars as pl

    dtypes = pl.from_pandas(_coerced_empty(schema, frame)).schema
    columns = {
        name: pap.Column(dtypes[name], checks=[_polars_check(c) for c in column.checks],
                         nullable=column.nullable, unique=column.unique, coerce=column.coerce,
                         required=column.required)
        for name, column in schema.columns.items()
    }
    checks = [_polars_check(c) for c in schema.checks]
    unique = schema.unique if uniqueness == "pandera" else None
    return pap.DataFrameSchema(columns, checks=checks, unique=unique, strict=schema.strict,
                               coerce=schema.coerce, name=schema.name)


def _polars_split(frame, polars_schema):
    """split_valid's algorithm on pandera.polars: validate lazily, drop the failing rows,
    validate the rest again; back to pandas for the loader. Returns (valid, rejected rows)."""
    import polars as pl
    from pandera.errors import SchemaErrors

    current = pl.from_pandas(frame).with_row_index("_row")
    rejected = []
    for _ in range(4):
        try:
            valid = polars_schema.validate(current.drop("_row"), lazy=True)
            break
        except SchemaErrors as errors:
            index = errors.failure_cases["index"]
            if index.null_count():
                sys.exit("polars: a failure case without a row index (frame-level)")
            positions = index.unique().cast(pl.UInt32)
            rows = current["_row"].gather(positions)
            rejected.append(rows.to_numpy())
            current = current.filter(~pl.col("_row").is_in(rows.implode()))
    else:
        sys.exit("polars: rows kept failing")
    found = np.concatenate(rejected) if rejected else np.empty(0, dtype=np.int64)
    return valid.to_pandas(), found


# --- the cases ----------------------------------------------------------------------------------

def _rows_of_outcome(outcome):
    return len(outcome.valid), np.unique(outcome.rejected["row_number"].to_numpy(np.int64) - 1)


def _no_rejects(valid):
    return len(valid), np.empty(0, dtype=np.int64)


def _contract():
    from warehouse.schemas import ObservationTable

    return ObservationTable


@dataclass(frozen=True)
class Case:
    """`make()` gives (prepare, run, rows): prepare turns the frame into what run takes (not
    timed), run is the timed part, rows turns its result into (valid row count, rejected row
    positions) for the check (not timed). Made in the worker, so the parent imports little."""

    label: str
    data: str  # "valid" or "bad"
    make: Callable[[], tuple[Callable, Callable, Callable]]
    touch_gb: float = 3.0


def _pandas_validate():
    return lambda frame: frame, lambda frame: _contract().validate(frame), _no_rejects


def _split(screened: bool):
    """The pipeline's split_valid; without the screen (in this worker process only), as it was
    before: pandera on every row."""
    from warehouse import validation

    if not screened:
        validation.SCREEN_FROM_ROWS = 2**62
    return (lambda frame: frame, lambda frame: validation.split_valid(frame, _contract()),
            _rows_of_outcome)


def _polars_frame_validate():
    import polars as pl

    def prepare(frame):
        return _polars_schema(_contract().to_schema(), frame), pl.from_pandas(frame)

    return prepare, lambda p: p[0].validate(p[1], lazy=True), _no_rejects


def _polars_pandas_validate():
    import polars as pl

    def prepare(frame):
        return _polars_schema(_contract().to_schema(), frame), frame

    return (prepare, lambda p: p[0].validate(pl.from_pandas(p[1]), lazy=True), _no_rejects)


def _polars_pandas_split():
    def prepare(frame):
        return _polars_schema(_contract().to_schema(), frame), frame

    def rows(result):
        return len(result[0]), np.unique(result[1])

    return prepare, lambda p: _polars_split(p[1], p[0]), rows


def _ibis_schema(schema):
    import ibis.expr.datatypes as dt
    import pandera.ibis as pai
    from pandera.api.function_dispatch import Dispatcher

    def twin(check):
        if isinstance(check._check_fn, Dispatcher):
            return check
        twins = {
            "finite": lambda data: data.table.select(~data.table[data.key].isinf()),
            "str_fullmatch": lambda data: data.table.select(
                data.table[data.key].re_search(_fullmatch(check))),
        }
        if check.name not in twins:
            sys.exit(f"no ibis version of the custom check {check.name!r}")
        return pai.Check(twins[check.name], name=check.name, error=check.error)

    types = {"int32": dt.Int32(), "int64": dt.Int64(), "float64": dt.Float64()}
    columns = {
        name: pai.Column(types.get(str(column.dtype), dt.String()),
                         checks=[twin(c) for c in column.checks], nullable=column.nullable)
        for name, column in schema.columns.items()
    }
    return pai.DataFrameSchema(columns, unique=schema.unique, strict=schema.strict,
                               name=schema.name)


def _duckdb_table(frame):
    """The frame as a DuckDB table seen through ibis. (ibis 12's create_table(name, pandas
    frame) fails on DuckDB 2.0 with sqlglot 30: 'DROP VIEW IF EXISTS' parser error.)"""
    import ibis

    con = ibis.duckdb.connect()
    con.con.register("frame_view", frame)
    con.con.execute("CREATE TABLE observation AS SELECT * FROM frame_view")
    con.con.unregister("frame_view")
    return con.table("observation")


def _ibis_validate():
    def prepare(frame):
        start = time.perf_counter()
        table = _duckdb_table(frame)
        _extra["load_seconds"] = time.perf_counter() - start
        return _ibis_schema(_contract().to_schema()), table

    def rows(table):
        return int(table.count().execute()), np.empty(0, dtype=np.int64)

    return prepare, lambda p: p[0].validate(p[1], lazy=True), rows


PANDAS_BASELINE = "pandas: ObservationTable.validate, valid (baseline)"
# The last number: GB to touch before the timed part, ~1.15x what the case grew by when measured
# (reported as "grew" in the notes; a case that outgrows its touch is flagged there).
CASES = {
    "pandas-validate": Case(PANDAS_BASELINE, "valid", _pandas_validate, 1.0),
    "screened": Case("split_valid: screen, then pandera on suspects, valid", "valid",
                     partial(_split, screened=True), 1.0),
    "screened-bad": Case("split_valid: screen, then pandera on suspects, 1% bad", "bad",
                         partial(_split, screened=True), 1.5),
    "pandas-split": Case("split_valid, no screen (pandera on every row), valid", "valid",
                         partial(_split, screened=False), 1.0),
    "pandas-split-bad": Case("split_valid, no screen (pandera on every row), 1% bad", "bad",
                             partial(_split, screened=False), 2.2),
    "polars-frame": Case("polars: validate a polars frame (no conversion), valid", "valid",
                         _polars_frame_validate, 2.7),
    "polars-pandas": Case("polars: pl.from_pandas + validate, valid", "valid",
                          _polars_pandas_validate, 3.4),
    "polars-split-bad": Case("polars: split (from_pandas, 2 passes, to_pandas), 1% bad", "bad",
                             _polars_pandas_split, 3.2),
    "ibis-duckdb": Case("ibis: validate a DuckDB table (load not timed), valid", "valid",
                        _ibis_validate, 1.8),
}
_extra: dict[str, float] = {}


def run_case(name: str, folder: Path) -> None:
    """In a fresh process: read the frame, prepare, touch memory, time the case, verify.
    VALIDATION_TOUCH_GB=0 in the environment skips the touch (to see what a case grows by)."""
    from warehouse.validation import SCREEN_FROM_ROWS as warm_rows  # before a case sets it

    case = CASES[name]
    prepare, run, rows = case.make()
    frame, injected = _read(folder, case.data)
    # imports, registrations, first calls (the screen's too): not timed
    run(prepare(frame.head(max(1_000, warm_rows))))
    prepared = prepare(frame)
    before = fresh_peak(float(os.environ.get("VALIDATION_TOUCH_GB", case.touch_gb)))
    start = time.perf_counter()
    result = run(prepared)
    seconds = time.perf_counter() - start
    grew = memory_gb() - before
    valid_rows, rejected = rows(result)
    if not np.array_equal(np.sort(rejected), injected):
        missed, extra = np.setdiff1d(injected, rejected), np.setdiff1d(rejected, injected)
        sys.exit(f"{case.label}: rejected {len(rejected):,} rows, injected {len(injected):,}: "
                 f"{len(missed):,} injected rows kept (e.g. {missed[:5]}), {len(extra):,} good "
                 f"rows rejected (e.g. {extra[:5]})")
    if valid_rows != ROWS - len(injected):
        sys.exit(f"{case.label}: {valid_rows:,} valid rows, expected {ROWS - len(injected):,}")
    print(json.dumps({"seconds": seconds, "grew_gb": grew, **_extra}))


# --- the breakdown, and the corner cases ------------------------------------------------------

def _median_time(fn, repeats: int = 3, slow: float = 1.0) -> float:
    """Median of `repeats` runs; a part slower than `slow` seconds runs once (time budget)."""
    times = []
    while len(times) < repeats and not (times and times[0] > slow):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_breakdown(folder: Path) -> None:
    """Where the time goes, polars and pandas, in one fresh process (median of 3, or one run
    for parts over 1 s), then the 1%-bad path and the corner cases."""
    import duckdb
    import polars as pl
    from pandera.api.polars.types import PolarsData

    frame, _ = _read(folder, "valid")
    schema = _contract().to_schema()
    pframe = pl.from_pandas(frame)
    lazy = pframe.lazy()
    fresh_peak(2.0)
    key = _unique_sets(schema)[0]
    parts: list[tuple[str, float]] = [
        (f"pl.from_pandas, all {frame.shape[1]} columns",
         _median_time(lambda: pl.from_pandas(frame))),
    ]
    no_unique = _polars_schema(schema, frame, uniqueness="none")
    parts.append(("pandera.polars validate without uniqueness",
                  _median_time(lambda: no_unique.validate(pframe, lazy=True))))
    for name, column in schema.columns.items():
        for check in [_polars_check(c) for c in column.checks]:
            parts.append((f"  {name}: {check.name} {check.statistics or ''}".rstrip(),
                          _median_time(lambda c=check, n=name: c._check_fn(
                              PolarsData(lazy, n), **c._check_kwargs).collect())))
    required = [pl.col(n).is_not_null() for n, c in schema.columns.items() if not c.nullable]
    parts.append((f"  not-null, all {len(required)} non-nullable columns",
                  _median_time(lambda: lazy.select(required).collect())))
    parts.append((f"uniqueness: polars is_duplicated on {len(key)} columns (pandera.polars)",
                  _median_time(lambda: pframe.select(key).is_duplicated())))
    parts.append((f"uniqueness: pandas duplicated on {len(key)} columns (pandera pandas)",
                  _median_time(lambda: frame.duplicated(key, keep=False))))
    con = duckdb.connect()
    con.register("observation", frame)
    group = f"SELECT count(*) FROM (SELECT 1 FROM observation GROUP BY {', '.join(key)} " \
            "HAVING count(*) > 1)"
    parts.append(("uniqueness: DuckDB GROUP BY key HAVING count(*) > 1 (pandas frame)",
                  _median_time(lambda: con.execute(group).fetchall())))
    parts += _screen_parts(frame, schema, key)
    bad, injected = _read(folder, "bad")
    parts += _bad_path(bad, injected, schema)
    print(json.dumps({"parts": parts, "corners": _corner_cases(bad.head(20_000))}))


def _screen_parts(frame, schema, key) -> list[tuple[str, float]]:
    """The screen's own parts (warehouse.screen), each timed alone: the pipeline runs the
    polars queries side by side, and the pandas parts meanwhile."""
    import polars as pl

    from warehouse import screen

    plan = screen.screen(schema)
    columns = list(dict.fromkeys([*key, *(n for n, c in plan.columns.items() if c)]))
    table = screen._to_polars(frame, columns)
    lazy = table.lazy()
    parts = [(f"screen: {len(columns)} columns to polars (Arrow text as string views)",
              _median_time(lambda: screen._to_polars(frame, columns)))]
    for name, checks in plan.columns.items():
        dtype = table.schema.get(name)
        for kind, check in checks:
            form = screen._polars_form(kind, check, name, dtype)
            if form is not None:
                parts.append((f"  screen, polars: {name} {check}",
                              _median_time(lambda f=form: lazy.select(f).collect())))
            elif dtype != pl.String:
                parts.append((f"  screen, pandera on every row: {name} {check}", _median_time(
                    lambda c=check, n=name: screen._pandas_verdict(c, frame[n]))))
        text = [check for kind, check in checks
                if dtype == pl.String and screen._polars_form(kind, check, name, dtype) is None]
        if text:
            sample = screen._sampled(table[name])
            good = sample.filter(~pl.Series(screen._judged(sample, text, frame[name].dtype)))
            parts.append((f"  screen, pandera on the {len(sample):,} distinct values of a "
                          f"{screen.SAMPLE:,}-row sample: {name} {', '.join(map(str, text))}",
                          _median_time(lambda s=sample, c=text, n=name: screen._judged(
                              s, c, frame[n].dtype))))
            rest = screen._unvouched(lazy, name, good)
            parts.append((f"  screen, polars: {name}'s other distinct values "
                          f"({rest.collect().height:,})",
                          _median_time(lambda r=rest: r.collect())))
    parts.append((f"  screen: not-null, {len(plan.not_null)} columns (pandas isna)",
                  _median_time(lambda: [frame[n].isna().to_numpy() for n in plan.not_null])))
    parts.append((f"  screen: uniqueness, repeated hashes of the {len(key)}-column key",
                  _median_time(lambda: screen._repeated_hashes(lazy, key).collect())))
    plan.suspects(frame.head(200_000))  # its first calls (thread pools), as in run_case
    parts.append(("screen: Screen.suspects, all of it", _median_time(
        lambda: plan.suspects(frame))))
    return parts


def _bad_path(frame, injected, schema) -> list[tuple[str, float]]:
    """What the 1%-bad path costs besides finding the rows (pandas, the pipeline's own code)."""
    from pandera.errors import SchemaErrors

    from warehouse import screen, validation

    found = screen.screen(schema).suspects(frame)
    suspects = frame.iloc[found]

    def validate():
        try:
            schema.validate(suspects, lazy=True)
        except SchemaErrors as errors:
            return errors.failure_cases

    keep = np.ones(len(frame), dtype=bool)
    keep[injected] = False
    return [
        (f"1% bad: the screen suspects {len(found):,} rows", _median_time(
            lambda: screen.screen(schema).suspects(frame))),
        (f"1% bad: pandera pandas validate on the {len(suspects):,} suspect rows",
         _median_time(validate)),
        ("1% bad: pandera on the suspect rows, as split_valid does (2 passes + reasons)",
         _median_time(lambda: validation._validate(suspects, schema, ()))),
        ("1% bad: keeping the valid rows, frame[mask]", _median_time(lambda: frame[keep])),
        ("1% bad: keeping the valid rows as split_valid does (Arrow's filter, in threads)",
         _median_time(lambda: validation._kept(frame, keep))),
    ]


def _corner_cases(sample) -> list[str]:
    """Values where the backends could disagree: the pandas contract is the reference. And
    split_valid's whole outcome (valid rows, every rejected row's check and reason) with the
    screen and without it, on `sample` and these values."""
    import pandas as pd

    from warehouse import screen, validation

    cities = ["gn:12", "gn:12\n", "gn:\u0661\u0662", "gn:007", "gn:7", "gn:", "gn:1 "]
    values = [1.0, -0.0, 1e308, float("nan"), float("inf"), 2.0, 3.0]
    frame = pd.DataFrame({
        "city_id": pd.Series(cities, dtype="str"),
        "indicator_id": pd.Series(["a_1"] * 7, dtype="str"),
        "period": np.array([1800, 2100, 2000, 2000, 2000, 2000, 2000], dtype=np.int32),
        "source_id": pd.Series(["s"] * 7, dtype="str"),
        "dataset_id": pd.Series([" ", "d", "d", "d", "d", "d", "d"], dtype="str"),
        "value": values,
        "flag": pd.Series([None] * 7, dtype="str"),
    })
    contract = _contract()
    reference = _rows_of_outcome(validation._validate(frame, contract.to_schema(), ()))[1]
    notes = []
    both = pd.concat([sample, frame], ignore_index=True)
    theirs = validation._validate(both, contract.to_schema(), ())
    ours = validation._screened(both, contract.to_schema(), ())
    if ours is None:
        sys.exit("the screen stepped aside on the corner cases + sample")
    if not (ours.valid.equals(theirs.valid) and ours.rejected.equals(theirs.rejected)):
        sys.exit("split_valid's outcome with the screen differs from pandera's on every row "
                 "on corner cases + sample")
    notes.append(f"split_valid with the screen == pandera on every row (the valid frame and all "
                 f"{len(theirs.rejected):,} rejection records) on {len(both):,} rows: the first "
                 "20,000 of the 1%-bad data and the corner cases")
    _, polars = _polars_split(frame, _polars_schema(contract.to_schema(), frame))
    for name, rows, verbs in (
            ("pandera.polars", np.unique(polars), ("rejects", "accepts")),
            ("the screen", screen.screen(contract.to_schema()).suspects(frame),
             ("suspects", "passes"))):
        for row in np.setxor1d(rows, reference):
            ours = verbs[0] if row in rows else verbs[1]
            theirs = "accepts" if row in rows else "rejects"
            notes.append(f"{name} {ours} city_id={cities[row]!r} value={values[row]!r}, "
                         f"which the pandas contract {theirs}")
    if len(notes) == 1:
        notes.append(f"pandera.polars and the screen agree with the pandas contract on "
                     f"city_id {cities} / value {values}")
    return notes


# --- the parent -------------------------------------------------------------------------------

def _fingerprint() -> str:
    """The contract and pipeline code measured (they change): a short hash of each file."""
    import hashlib

    root = Path(__file__).resolve().parents[1] / "warehouse"
    return ", ".join(f"{name} {hashlib.sha1((root / name).read_bytes()).hexdigest()[:8]}"
                     for name in ("schemas.py", "checks.py", "validation.py")
                     if (root / name).exists())


def main(runs: int = RUNS) -> None:
    from importlib.util import find_spec

    start = machine_clock()
    worker = [sys.executable, "-m", "benchmarks.validation"]
    cases = {key: case for key, case in CASES.items() if key != "ibis-duckdb" or find_spec("ibis")}
    print(f"\nMeasuring warehouse/{_fingerprint()}")
    if len(cases) < len(CASES):
        print("ibis not installed: its case is left out (pip install 'ibis-framework[duckdb]')")
    with tempfile.TemporaryDirectory(prefix="citybench-validation-") as name:
        folder = Path(name)
        generated = _write(folder)
        print(f"\nGenerated {ROWS:,} observations ({CITIES:,} cities x {INDICATORS} indicators x "
              f"{YEARS} years, random order): valid {generated['valid']:.1f} s, "
              f"{BAD_SHARE:.0%} bad {generated['bad']:.1f} s (not timed below)")
        # Round robin, so that a burst of other work on the machine hits one run of several
        # cases rather than every run of one case.
        runs_of: dict[str, list[dict]] = {key: [] for key in cases}
        for _ in range(runs):
            for key in cases:
                runs_of[key].append(reported([*worker, "case", key, str(folder)]))
        rows, notes = [], []
        for key, case in cases.items():
            got = {field: statistics.median(r[field] for r in runs_of[key])
                   for field in runs_of[key][0]}
            rows.append((case.label, got["seconds"]))
            if got["grew_gb"] > case.touch_gb:
                notes.append(f"{case.label}: grew by {got['grew_gb']:.1f} GB, more than the "
                             f"{case.touch_gb} GB touched before it: raise its touch")
            if "load_seconds" in got:
                notes.append(f"{case.label}: loading the frame into DuckDB took "
                             f"{got['load_seconds']:.2f} s more")
        report_throughput(f"Validating {ROWS:,} observations, median of {runs} fresh processes "
                          "each\n(1%-bad cases verified: exactly the injected rows rejected)",
                          rows, PANDAS_BASELINE, ROWS)
        for note in notes:
            print(f"  {note}")
        done = subprocess.run([*worker, "breakdown", str(folder)], capture_output=True,
                              text=True)
        if done.returncode:
            sys.exit(f"breakdown failed:\n{done.stderr.strip()}")
        got = json.loads(done.stdout.strip().splitlines()[-1])
    print("\nWhere the time goes (one fresh process; median of 3, one run for parts over 1 s)")
    for part, seconds in got["parts"]:
        print(f"  {part:<70} {seconds:>7.3f} s")
    print("\nCorner cases against the pandas contract")
    for note in got["corners"]:
        print(f"  {note}")
    report_machine_use(start)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "case":
        run_case(arguments[0], Path(arguments[1]))
    elif command == "breakdown":
        run_breakdown(Path(arguments[0]))
