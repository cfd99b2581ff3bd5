"""Find the rows of a frame that might fail its pandera contract, fast, in polars.

pandera's pandas backend spends nearly all its time on rows that pass. The screen reads the
contract itself (the pandera schema: columns, dtypes, nullability, checks, unique keys), finds
the rows that might fail it, in polars, and leaves pandera to validate those rows alone
(warehouse.validation.split_valid), so every reason and check name stays pandera's.

The screen may suspect a row that passes (pandera keeps it); it never passes a row that fails.
Where it cannot promise that, it says so, and the whole frame is validated by pandera:
- `Screen.blockers` names what of a contract it cannot express: a custom check not declared
  `row_wise` (it may look at other rows), a grouped check, parsers, index checks, ...;
- `Unscreenable` is raised for a frame it cannot screen (a column polars cannot hold, a check
  whose output is not one verdict per row, a polars error).

How each part of the contract is screened:
- a value required: pandas' own `isna` (exact, and nearly free on Arrow text and floats);
- built-in comparisons, in_range, isin/notin, str_length, str_startswith/endswith: polars
  expressions, for integers, float64 and text (for other dtypes, as below);
- every other check of a text column (regular expressions, our str_fullmatch, custom checks
  declared `row_wise`) is run by pandera itself, on the column's distinct values: first those
  of a sample of SAMPLE rows, then those of the rows whose value is not among the sample's good
  ones (few, in a column of ids or codes); polars then finds the rows holding a failing value.
  Exact for any pattern or function, at a fraction of a regex over every row;
- the other checks declared `row_wise`, of a column or the whole frame: pandera, on all rows;
- uniqueness (a column's, or a key of several): a 64-bit hash of each row's key, sorted; every
  row whose hash repeats is a suspect, so every row of a repeated key is (a hash collision only
  adds a suspect), and pandera sees the whole group.
The polars work runs in one batch of queries, side by side, while pandas does its part.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.api.base.model_components import BaseCheckInfo
from pandera.api.function_dispatch import Dispatcher

if TYPE_CHECKING:
    import polars as pl

# Rows sampled (evenly) from a text column to learn its usual values, judged by pandera first.
SAMPLE = 100_000

_ROW_WISE = "__screen_row_wise__"
ROW_WISE = "row_wise"  # the kind of a custom check declared row_wise (or element-wise)
# pandera's built-in checks that judge each value alone; the comparisons as polars Expr methods
_COMPARISONS = {"equal_to": "eq", "not_equal_to": "ne", "greater_than": "gt",
                "greater_than_or_equal_to": "ge", "less_than": "lt",
                "less_than_or_equal_to": "le"}
_BUILT_IN = {*_COMPARISONS, "in_range", "isin", "notin", "str_matches", "str_contains",
             "str_startswith", "str_endswith", "str_length"}


class Unscreenable(Exception):
    """This frame cannot be screened against its contract: validate it whole."""


def row_wise(check_fn):
    """Declare that a custom check judges each row by that row alone, never by other rows.

    The screen then runs it (pandera's pandas backend) on the whole frame, or on a text
    column's distinct values, and pandera on the suspect rows alone; a custom check not
    declared so makes the screen step aside."""
    setattr(check_fn, _ROW_WISE, True)
    return check_fn


@dataclass(frozen=True)
class Screen:
    """What the screen makes of one contract."""

    columns: dict[str, tuple[tuple[str, pa.Check], ...]]  # column -> (kind, check) per check
    not_null: tuple[str, ...]
    frame_checks: tuple[pa.Check, ...]  # custom checks of the frame, declared row_wise
    keys: tuple[tuple[str, ...], ...]  # column sets whose values no two rows may share
    blockers: tuple[str, ...]  # what it cannot express; not empty: validate the whole frame

    def suspects(self, frame: pd.DataFrame) -> np.ndarray:
        """The positions of the rows of `frame` that might fail the contract, sorted.

        `frame` is as pandera validates it: typed (coerced), with the index 0..n-1."""
        if self.blockers:
            raise Unscreenable("; ".join(self.blockers))
        if not frame.index.equals(pd.RangeIndex(len(frame))):
            raise Unscreenable("rows are told by their positions: the index must be 0..n-1")
        import polars as pl

        keys = [key for key in ([c for c in key if c in frame] for key in self.keys) if key]
        checked = [name for name, checks in self.columns.items() if checks and name in frame]
        table = _to_polars(frame, list(dict.fromkeys([*checked, *(c for k in keys for c in k)])))
        passes: list[pl.Expr] = []  # polars: true where a row passes
        by_value: dict[str, list[pa.Check]] = {}  # pandera, on a text column's distinct values
        whole: list[tuple[pa.Check, str | None]] = []  # pandera, on every row (None: the frame)
        for name in checked:
            dtype = table.schema[name]
            for kind, check in self.columns[name]:
                form = _polars_form(kind, check, name, dtype)
                if form is not None:
                    passes.append(_with_nulls(form, check, name))
                elif dtype == pl.String:
                    by_value.setdefault(name, []).append(check)
                else:
                    whole.append((check, name))
        whole += [(check, None) for check in self.frame_checks]
        failing = _failing(frame, table, passes, by_value, whole, keys,
                           [name for name in self.not_null if name in frame])
        return np.flatnonzero(failing)


def _failing(frame: pd.DataFrame, table: pl.DataFrame, passes: list[pl.Expr],
             by_value: dict[str, list[pa.Check]], whole: list[tuple[pa.Check, str | None]],
             keys: list[list[str]], not_null: list[str]) -> np.ndarray:
    """Every row that fails a check, lacks a required value, or shares its key's hash.

    pandera first judges the distinct values of an even sample (SAMPLE rows) of each column of
    `by_value`. Then two rounds of polars queries: the first runs the polars checks, finds the
    repeated key hashes and the distinct values the samples do not vouch for (pandera judges
    them next), side by side in a thread, while pandas checks nulls and runs `whole`; the
    second finds the rows that hold a failing value or a repeated hash."""
    import polars as pl

    lazy = table.lazy()
    wrong: dict[str, pl.Series] = {}  # a text column's values that fail one of its checks
    rest = {}  # the distinct values of a column its sample does not vouch for, to judge after
    for name, checks in by_value.items():
        sample = _sampled(table[name])
        fails = pl.Series(_judged(sample, checks, frame[name].dtype), dtype=pl.Boolean)
        if table.height <= SAMPLE:  # the sample is the column: every value is judged
            wrong[name] = sample.filter(fails)
        else:
            rest[name] = _unvouched(lazy, name, sample.filter(~fails))
    queries = [*rest.values(), *(_repeated_hashes(lazy, key) for key in keys)]
    if passes:
        queries.append(lazy.select(pl.arg_where(~pl.all_horizontal(passes))))
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_collected, queries)
        failing = np.zeros(len(frame), dtype=bool)
        for name in not_null:
            failing |= frame[name].isna().to_numpy(dtype=bool)
        for check, name in whole:
            failing |= ~_pandas_verdict(check, frame if name is None else frame[name])
        results = first.result()
    for name, values in zip(rest, results, strict=False):
        values = values.to_series()
        wrong[name] = values.filter(pl.Series(_judged(values, by_value[name], frame[name].dtype),
                                              dtype=pl.Boolean))
    found = []  # polars: true where a row holds a failing value or a repeated hash
    for name, checks in by_value.items():
        if len(wrong[name]):
            found.append(pl.col(name).is_in(wrong[name].implode()))
        if not all(check.ignore_na for check in checks):
            found.append(pl.col(name).is_null())
    for key, repeated in zip(keys, results[len(rest):], strict=False):
        if repeated.height:
            found.append(_key_hash(key).is_in(repeated.to_series().implode()))
    if passes:
        failing[results[-1].to_series().to_numpy()] = True
    if found:
        (rows,) = _collected([lazy.select(pl.arg_where(pl.any_horizontal(found)))])
        failing[rows.to_series().to_numpy()] = True
    return failing


def _sampled(column: pl.Series) -> pl.Series:
    """The distinct values (not null) of an even sample of SAMPLE rows of `column`."""
    sample = column.gather_every(max(1, len(column) // SAMPLE)) if SAMPLE > 0 else column[:0]
    return sample.drop_nulls().unique()


def _unvouched(lazy: pl.LazyFrame, name: str, good: pl.Series) -> pl.LazyFrame:
    """The distinct values (not null) of the column `name` other than `good`."""
    import polars as pl

    column = pl.col(name)
    return lazy.filter(column.is_not_null() & ~column.is_in(good.implode())).select(
        column.unique())


def _judged(values: pl.Series, checks: list[pa.Check], dtype) -> np.ndarray:
    """Whether each of `values` (distinct, not null) fails one of `checks`: pandera runs them on
    the values as the frame holds them (`dtype`)."""
    shown = pd.Series(values.to_arrow(), dtype=dtype) if len(values) else pd.Series(
        [], dtype=dtype)
    fails = np.zeros(len(values), dtype=bool)
    for check in checks:
        fails |= ~_pandas_verdict(check, shown)
    return fails


def _key_hash(key: list[str]) -> pl.Expr:
    """A 64-bit hash of each row's `key`: the columns' own hashes, each with its own seed,
    combined by xor (2x cheaper than hashing a struct of them). Equal keys hash equal (nulls
    alike, -0.0 as 0.0, as pandas' duplicated sees them); other keys rarely do, and then only
    add suspects."""
    import polars as pl

    combined = pl.col(key[0]).hash(seed=1)
    for seed, name in enumerate(key[1:], start=2):
        combined = combined ^ pl.col(name).hash(seed=seed)
    return combined


def _repeated_hashes(lazy: pl.LazyFrame, key: list[str]) -> pl.LazyFrame:
    """The hashes of `key` that more than one row has: all hashes sorted, each equal to the one
    before it (a sort of 64-bit integers is several times cheaper than a hash table of keys)."""
    import polars as pl

    ordered = lazy.select(_key_hash(key).sort().alias("hash"))
    return ordered.filter(pl.col("hash") == pl.col("hash").shift(1)).unique()


def _collected(queries: list) -> list:
    import polars as pl

    try:
        return pl.collect_all(queries) if queries else []
    except pl.exceptions.PolarsError as error:
        raise Unscreenable(f"polars: {error}") from error


def _to_polars(frame: pd.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The columns as polars holds them. Arrow text is cast to Arrow's string view, polars' own
    layout (in threads: the casts run side by side), which polars then takes without a copy."""
    import polars as pl
    import pyarrow

    text = [c for c in columns if isinstance(frame[c].dtype, pd.StringDtype)
            and frame[c].dtype.storage == "pyarrow"]
    others = [c for c in columns if c not in text]
    try:
        with ThreadPoolExecutor(max(1, pl.thread_pool_size())) as pool:
            views = pool.map(lambda c: pl.from_arrow(
                pyarrow.array(frame[c].array).cast(pyarrow.string_view())), text)
            table = pl.DataFrame([
                *(pl.from_pandas(frame[others], nan_to_null=True).get_columns() if others
                  else []),
                *(view.alias(c) for c, view in zip(text, views, strict=True)),
            ])
    except Exception as error:  # pyarrow's and polars' errors alike: the frame is not for us
        raise Unscreenable(f"polars cannot hold the frame: {error}") from error
    if any(dtype == pl.Object for dtype in table.schema.values()):
        raise Unscreenable("a column polars holds only as Python objects")
    return table


def screen(schema: pa.DataFrameSchema) -> Screen:
    """Read `schema` (pandera, pandas backend) as a screen, and what of it a screen cannot
    express (`Screen.blockers`)."""
    blockers = []
    for what, present in (("index checks", schema.index is not None),
                          ("parsers", bool(schema.parsers)),
                          ("one dtype for every column", schema.dtype is not None),
                          ("added missing columns", schema.add_missing_columns),
                          ("dropped invalid rows", schema.drop_invalid_rows)):
        if present:
            blockers.append(what)
    columns, not_null, keys = {}, [], []
    for name, column in schema.columns.items():
        if not isinstance(name, str) or column.regex:
            blockers.append(f"columns named by a pattern ({name!r})")
            continue
        for what, present in (("parsers", bool(column.parsers)),
                              ("a default", column.default is not None),
                              ("dropped invalid rows", column.drop_invalid_rows)):
            if present:
                blockers.append(f"{name}: {what}")
        kinds = [(_kind(check), check) for check in column.checks]
        blockers += [f"{name}: check {check.name!r} ({_why_not(check)})"
                     for kind, check in kinds if kind is None]
        columns[name] = tuple((kind, check) for kind, check in kinds if kind is not None)
        if not column.nullable:
            not_null.append(name)
        if column.unique:
            keys.append((name,))
    frame_checks = []
    for check in schema.checks:
        if _kind(check) == ROW_WISE:
            frame_checks.append(check)
        else:
            blockers.append(f"frame check {check.name!r} ({_why_not(check)})")
    if schema.unique:
        unique = schema.unique
        sets = [unique] if all(isinstance(u, str) for u in unique) else unique
        keys += [tuple(s) for s in sets]
    return Screen(columns, tuple(not_null), tuple(frame_checks), tuple(keys), tuple(blockers))


# --- what a check is ------------------------------------------------------------------------

def _kind(check: pa.Check) -> str | None:
    """A built-in's name, ROW_WISE for a custom check declared row_wise (or applied element
    by element); None for a check the screen cannot vouch for."""
    if check.groupby is not None or check.groups is not None:
        return None
    function = check._check_fn
    if isinstance(function, Dispatcher):
        return function.__name__ if function.__name__ in _BUILT_IN else None
    if check.element_wise or getattr(_origin(function), _ROW_WISE, False):
        return ROW_WISE
    return None


def _why_not(check: pa.Check) -> str:
    if check.groupby is not None or check.groups is not None:
        return "grouped"
    if isinstance(check._check_fn, Dispatcher):
        return "a built-in that looks at the whole column"
    return "custom, not declared row_wise"


def _origin(function):
    """The function a check was made from: a registered check's, or a DataFrameModel method
    (pandera keeps its check info in the closure of the adapter it makes)."""
    if isinstance(function, partial):
        function = function.func
    function = inspect.unwrap(function)  # register_check_method wraps what it registers
    for cell in getattr(function, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(content, BaseCheckInfo):
            return inspect.unwrap(content.check_fn)
    return function


# --- checks in polars ---------------------------------------------------------------------

def _polars_form(kind: str, check: pa.Check, name: str, dtype) -> pl.Expr | None:
    """The check as a polars expression, true where a row passes (nulls aside); None where
    polars might judge a value more leniently than pandas does (pandas judges it then)."""
    import polars as pl

    if kind == ROW_WISE:
        return None
    column = pl.col(name)
    # a built-in's arguments; a registered check's are bound in a partial
    args = {**getattr(check._check_fn, "keywords", {}), **check._check_kwargs}
    text = dtype == pl.String
    # integers and float64: numpy compares a float32 column in float32, polars in float64
    numeric = dtype.is_integer() or dtype == pl.Float64

    def fits(value: Any) -> bool:
        if text:
            return isinstance(value, str)
        return numeric and isinstance(value, int | float | np.integer | np.floating) and not (
            isinstance(value, bool | np.bool_) or (isinstance(value, float | np.floating)
                                                   and math.isnan(value)))

    if kind in _COMPARISONS and len(args) == 1:
        (value,) = args.values()
        return getattr(column, _COMPARISONS[kind])(value) if fits(value) else None
    if kind == "in_range":
        low, high = args["min_value"], args["max_value"]
        if not (fits(low) and fits(high)):
            return None
        closed = {(True, True): "both", (True, False): "left", (False, True): "right",
                  (False, False): "none"}[bool(args.get("include_min", True)),
                                          bool(args.get("include_max", True))]
        return column.is_between(low, high, closed=closed)
    if kind in ("isin", "notin"):
        (values,) = args.values()
        listed = _listed(values, dtype, fits)
        if listed is None:
            return None
        found = column.is_in(listed.implode()) if text else column.cast(listed.dtype).is_in(
            listed.implode())
        return found if kind == "isin" else ~found
    if not text:
        return None
    if kind == "str_length":
        exact, low, high = args.get("exact_value"), args.get("min_value"), args.get("max_value")
        length = column.str.len_chars()
        if exact is not None:
            return length == exact
        if low is None and high is None:
            return None  # pandera raises: let it
        if high is None:
            return length >= low
        return length <= high if low is None else length.is_between(low, high)
    if kind in ("str_startswith", "str_endswith") and isinstance(args.get("string"), str):
        return (column.str.starts_with(args["string"]) if kind == "str_startswith"
                else column.str.ends_with(args["string"]))
    return None  # regular expressions among them: pandera judges the distinct values


def _listed(values: Any, dtype, fits) -> pl.Series | None:
    """The values of isin/notin as a polars Series to look a column up in; None where the
    lookup might differ from pandas' (text against numbers, fractions against integers)."""
    import polars as pl

    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        return None
    values = list(values)
    if not all(fits(v) for v in values):
        return None
    if dtype == pl.String:
        return pl.Series(values, dtype=pl.String)
    if dtype.is_integer():
        if any(isinstance(v, float | np.floating) and not float(v).is_integer() for v in values):
            return None
        values = [int(v) for v in values]
        if any(not -(2**63) <= v < 2**63 for v in values):
            return None
        return pl.Series(values, dtype=pl.Int64)
    if any(isinstance(v, int | np.integer) and abs(v) > 2**53 for v in values):
        return None  # not exact as a float
    return pl.Series([float(v) for v in values], dtype=pl.Float64)


def _with_nulls(form: pl.Expr, check: pa.Check, name: str) -> pl.Expr:
    """pandera leaves a check's nulls out when it ignores them (the default); else a null is
    suspect."""
    import polars as pl

    if check.ignore_na:
        return form.fill_null(True)
    return (form & pl.col(name).is_not_null()).fill_null(False)


def _pandas_verdict(check: pa.Check, data: pd.Series | pd.DataFrame) -> np.ndarray:
    """pandera's own verdict (pandas backend) on each row of `data`, whose index is 0..n-1:
    True where the row passes. A check that ignores nulls (the default) judges the others."""
    try:
        output = check(data).check_output
    except Exception as error:  # pandera reports it for the whole frame: let it
        raise Unscreenable(f"check {check.name!r} raised {error!r}") from error
    judged = (np.flatnonzero(data.notna().to_numpy(dtype=bool))
              if isinstance(data, pd.Series) and check.ignore_na and data.hasnans else None)
    if not (isinstance(output, pd.Series) and pd.api.types.is_bool_dtype(output.dtype)
            and not output.hasnans and (
                output.index.equals(data.index) if judged is None
                else np.array_equal(output.index.to_numpy(), judged))):
        raise Unscreenable(f"check {check.name!r} does not give one verdict per row")
    if judged is None:
        return output.to_numpy(dtype=bool)
    verdict = np.ones(len(data), dtype=bool)
    verdict[judged] = output.to_numpy(dtype=bool)
    return verdict
