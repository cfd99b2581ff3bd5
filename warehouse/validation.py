"""Validate a frame against its contract and split it into the rows that pass and the rejects.

Every failure case pandera finds becomes a row of `rejected` with the check that failed and a
reason people can act on ("line 7: value = 'n/a': expected a number"). Only a frame that breaks
its contract as a whole (a column missing) is refused outright.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
from pandas.arrays import ArrowStringArray
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaError, SchemaErrors

from warehouse.screen import Unscreenable, screen

REJECTED_COLUMNS = ["row_number", "column_name", "check_name", "value", "reason"]
# A frame-wide check named "<column>: <expectation>" is reported against that column alone.
_FOCUS = re.compile(r"^(?P<column>[a-z_]+): (?P<expected>.+)$")
# Rows that fail only once others are gone (a first unit that was itself rejected) need
# another pass; the passes are few because each one removes every row it finds.
_MAX_PASSES = 4
# Smaller frames are validated whole: the screen has a fixed cost (~20 ms: polars, threads).
# Measured on slices of the validation benchmark's frames: valid rows break even near 50,000,
# 1%-bad ones near 120,000 (100,000 rows: 45 vs 50 ms valid, 179 vs 161 ms 1% bad).
SCREEN_FROM_ROWS = 100_000


class FrameRejected(ValueError):
    """The frame as a whole breaks its contract (a missing column, a wrong type): no row is
    usable."""


@dataclass(frozen=True)
class Outcome:
    valid: pd.DataFrame
    rejected: pd.DataFrame  # one row per failed check and row, REJECTED_COLUMNS
    rows_read: int

    @property
    def rejected_rows(self) -> int:
        return int(self.rejected["row_number"].nunique())

    @property
    def rejected_share(self) -> float:
        return self.rejected_rows / self.rows_read if self.rows_read else 0.0


def no_rejects() -> pd.DataFrame:
    return pd.DataFrame(columns=REJECTED_COLUMNS)


def split_valid(
    frame: pd.DataFrame,
    contract: type[pa.DataFrameModel] | pa.DataFrameSchema,
    identify: Sequence[str] = (),
) -> Outcome:
    """Validate lazily; rows that fail any check go to `rejected` with the check and a reason.

    `identify` names the columns that tell a user which row it is (a file's line, a city and
    year); their values start each reason. A frame of SCREEN_FROM_ROWS rows or more is first
    screened (warehouse.screen): pandera validates only the rows the screen suspects, with the
    same outcome as validating them all.
    """
    schema = contract if isinstance(contract, pa.DataFrameSchema) else contract.to_schema()
    current = frame.reset_index(drop=True)
    if len(current) >= SCREEN_FROM_ROWS:
        screened = _screened(current, schema, identify)
        if screened is not None:
            return screened
    return _validate(current, schema, identify)


def _screened(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, identify: Sequence[str]
) -> Outcome | None:
    """split_valid's outcome, with pandera run on the rows the screen suspects alone (every
    row of a repeated key among them); None where the screen steps aside."""
    plan = screen(schema)
    typed = None if plan.blockers else _typed(frame, schema)
    if typed is None:
        return None
    try:
        suspects = plan.suspects(typed)
    except Unscreenable:
        return None
    if not len(suspects):
        return Outcome(typed, no_rejects(), len(frame))
    try:
        checked = _validate(frame.iloc[suspects], schema, identify)
    except FrameRejected:  # whatever refused the suspects, the whole frame shows it
        return None
    if checked.rejected.empty:
        return Outcome(typed, no_rejects(), len(frame))
    rows = suspects[checked.rejected["row_number"].to_numpy(dtype=np.int64) - 1]
    keep = np.ones(len(frame), dtype=bool)
    keep[rows] = False
    return Outcome(_kept(typed, keep), checked.rejected.assign(row_number=rows + 1), len(frame))


def _kept(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """frame[keep], the same frame, made faster: its Arrow text filtered by Arrow (a sequential
    copy, ~3x faster than the take pandas makes of a mask), side by side in threads."""
    text = [name for name in frame.columns if isinstance(frame[name].array, ArrowStringArray)]
    if not text or frame.columns.has_duplicates or not all(isinstance(n, str) for n in text):
        return frame[keep]
    mask = pyarrow.array(keep)
    with ThreadPoolExecutor(2) as pool:
        filtered = pool.map(lambda name: pd.array(pyarrow.array(frame[name].array).filter(
            mask), dtype=frame[name].dtype), text)
        rest = frame[[name for name in frame.columns if name not in text]][keep]
        kept = rest.assign(**dict(zip(text, filtered, strict=True)))
    return kept[list(frame.columns)]


def _typed(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame | None:
    """The frame as pandera checks its rows: its columns coerced to the contract's types (and
    filtered, if the contract says so). None if that fails: a column missing, a cell that cannot
    take its type, an integer cut by casting."""
    try:
        with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
            empty = schema.validate(frame.head(0))
            columns = list(empty.columns)
            if frame[columns].dtypes.equals(empty.dtypes):  # nothing to coerce
                return frame[columns] if schema.strict == "filter" else frame
            if not _lossy_integers(frame, schema).empty:
                return None
            return schema.validate(frame)
    except (SchemaError, SchemaErrors):
        return None


def _validate(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, identify: Sequence[str]
) -> Outcome:
    """pandera on every row: valid data costs one pass."""
    current = frame.reset_index(drop=True)
    found = []
    lossy = _lossy_integers(current, schema)
    if not lossy.empty:
        found.append(_describe(lossy, current, schema, identify))
        current = current[~current.index.isin(lossy["index"])]
    for _ in range(_MAX_PASSES):
        try:
            valid = schema.validate(current, lazy=True)
            break
        except SchemaErrors as errors:
            cases = _row_cases(errors.failure_cases, schema)
        found.append(_describe(cases, current, schema, identify))
        current = current[~current.index.isin(cases["index"])]  # a mask: drop() is 4x slower
    else:
        raise FrameRejected(f"{schema.name}: rows kept failing after {_MAX_PASSES} passes")
    rejected = (
        pd.concat(found).sort_values(["row_number", "check_name"], ignore_index=True)
        if found else no_rejects()
    )
    return Outcome(valid, rejected, len(frame))


def _lossy_integers(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Cells an integer column would take only by losing something: 2020.5 cut to 2020, 3e9
    wrapped round in 32 bits. Casting does both silently, so they are found before it."""
    cases = []
    for name, column in schema.columns.items():
        kind = str(column.dtype).lower()
        if name not in frame or not (column.coerce or schema.coerce) or not re.fullmatch(
                r"u?int(8|16|32|64)", kind):
            continue
        values = frame[name]
        if pd.api.types.is_integer_dtype(values.dtype) and (
                np.dtype(values.dtype.numpy_dtype if hasattr(values.dtype, "numpy_dtype")
                         else values.dtype).itemsize <= np.dtype(kind).itemsize):
            continue  # already an integer that fits
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        limits = np.iinfo(kind)
        lossy = numbers.notna() & ((numbers % 1 != 0) | (numbers < limits.min)
                                   | (numbers > limits.max))
        cases.append(pd.DataFrame({
            "index": frame.index[lossy], "column": name,
            "check": f"coerce_dtype('{kind}')", "failure_case": frame.loc[lossy, name],
        }))
    return pd.concat(cases, ignore_index=True) if cases else pd.DataFrame(
        columns=["index", "column", "check", "failure_case"])


def _row_cases(cases: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """The failure cases that name rows. Cells that cannot take the column's type come first:
    until they are gone, the column keeps its raw type and later checks fail on the type, not
    on the rows."""
    rows = cases[cases["index"].notna()]
    untypable = rows[rows["check"].astype(str).str.startswith("coerce_dtype")]
    if not untypable.empty:
        return untypable
    frame_level = cases[cases["index"].isna()]
    if not frame_level.empty:
        first = frame_level.iloc[0]
        raise FrameRejected(
            f"{schema.name}: expected {expectation(str(first['check']), schema)} "
            f"for column {first['column']!s} ({first['failure_case']})"
        )
    return rows


def _describe(
    cases: pd.DataFrame, frame: pd.DataFrame, schema: pa.DataFrameSchema, identify: Sequence[str]
) -> pd.DataFrame:
    """One rejected row per failing row and check; the columns a check spans are joined."""
    cases = cases.assign(
        index=cases["index"].astype("int64"),
        check=cases["check"].astype(str),
        column=cases["column"].astype(str),
        shown=cases["failure_case"].map(_quoted),
        failure_case=_as_read(cases, frame).map(_plain),
    )
    # Per distinct check and column, not per case: a frame with many bad rows has few of those.
    focused = {check: match["column"] if (match := _FOCUS.match(check)) else None
               for check in cases["check"].unique()}
    focus = cases["check"].map(focused)
    spanned = focus.notna() & (focus != cases["column"]) & focus.isin(cases["column"].unique())
    # a check that spans several columns shows them, less those the label already names
    labelled = cases["column"].isin(identify) & cases.duplicated(["index", "check"], keep=False)
    cases = cases[~spanned & ~labelled]
    # Most failures name one cell; only those spanning columns are joined (a groupby over
    # every case would cost seconds on a large frame).
    spans = cases.duplicated(["index", "check"], keep=False)
    renamed = {"column": "column_name", "failure_case": "value"}
    grouped = pd.concat([
        cases.loc[~spans, ["index", "check", "column", "failure_case", "shown"]].rename(
            columns=renamed),
        _joined(cases[spans]),
    ], ignore_index=True)
    expected = grouped["check"].map(
        {check: expectation(check, schema) for check in grouped["check"].unique()})
    label = _labels(frame.loc[grouped["index"], list(identify)]) if identify else None
    reason = grouped["column_name"] + " = " + grouped["shown"] + ": expected " + expected
    if label is not None:
        reason = label.to_numpy() + ": " + reason
    return pd.DataFrame(
        {
            "row_number": grouped["index"] + 1,
            "column_name": grouped["column_name"],
            "check_name": grouped["check"],
            "value": grouped["value"],
            "reason": reason,
        }
    )[REJECTED_COLUMNS]


def _joined(cases: pd.DataFrame) -> pd.DataFrame:
    """The cases of each row and check in one: their columns, values as read and as shown,
    each joined with ", " in the cases' order; rows and checks in order of first appearance.
    That is groupby(sort=False).agg(", ".join), without a Python call per group (seconds, on a
    frame with 100,000 repeated keys): a stable sort, then one reduction per column."""
    group, _ = pd.factorize(pd.MultiIndex.from_arrays([cases["index"], cases["check"]]))
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.diff(group[order], prepend=-1))
    later = np.ones(len(order), dtype=bool)
    later[starts] = False
    first = cases.iloc[order[starts]]
    joined = {"index": first["index"].to_numpy(), "check": first["check"].to_numpy()}
    for name, column in (("column_name", "column"), ("value", "failure_case"),
                         ("shown", "shown")):
        text = cases[column].to_numpy(dtype=object)[order]
        text[later] = ", " + text[later]
        joined[name] = np.add.reduceat(text, starts) if len(starts) else text
    return pd.DataFrame({name: pd.Series(values, dtype=cases[column].dtype)
                         for (name, values), column in zip(
                             joined.items(), ["index", "check", "column", "failure_case",
                                              "shown"], strict=True)})


def _as_read(cases: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """Each failing cell as the frame held it before coercion (a publisher's '2017', not
    2017.0), where the case names a column of the frame; else as pandera reports it."""
    cells = cases["failure_case"].astype(object)
    for column, rows in cases.groupby("column").groups.items():
        if column in frame.columns:
            cells.loc[rows] = frame[column].reindex(cases.loc[rows, "index"]).to_numpy()
    return cells


def _labels(rows: pd.DataFrame) -> pd.Series:
    text = rows.astype(object).where(rows.notna(), "").astype(str)
    # a reason is one line, whatever the cells hold
    text = text.apply(lambda column: column.str.replace("\r", "\\r").str.replace("\n", "\\n"))
    # " ".join of each row's cells, a column at a time (a row at a time takes seconds)
    joined = text.iloc[:, 0]
    for column in text.columns[1:]:
        joined = joined + " " + text[column]
    return joined.str.strip()


def _plain(value: object) -> str:
    """A failing cell as the rejected table stores it: its text, empty when it was empty."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _quoted(value: object) -> str:
    """A failing cell as a reason shows it: text quoted, so '' and ' 5' can be told apart."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "(empty)"
    return repr(value) if isinstance(value, str) else str(value)


# --- what a check expects, in words --------------------------------------------------------
_PATTERNS = {
    r"gn:[0-9]+": "a city id such as gn:2950159",
    r"[a-z0-9_]+": "lower-case letters, digits and _",
    r"[A-Z]{2}": "a two-letter code such as DE",
    r"[A-Z]{3}": "a three-letter code such as DEU",
    r"Q[0-9]+": "a Wikidata id such as Q64",
    r"[a-z0-9][a-z0-9-]*": "lower-case letters, digits and -",
    r"[a-z0-9-]+:.+": "an id of the form <source>:<name>",
    r"^(https?|file|package)://": "a URL",
}
_TYPES = {"float": "a number", "int": "a whole number", "bool": "true or false",
          "datetime": "a date and time", "str": "text", "string": "text"}
_BOUNDS = {
    "greater_than_or_equal_to": "at least {}",
    "greater_than": "more than {}",
    "less_than_or_equal_to": "at most {}",
    "less_than": "less than {}",
    "equal_to": "{}",
    "not_equal_to": "anything but {}",
}
_CALL = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\)$", re.S)


def expectation(check: str, schema: pa.DataFrameSchema | None = None) -> str:
    """A pandera check, as the words a reader of a rejected row needs."""
    focused = _FOCUS.match(check)
    if focused:
        return focused["expected"]
    if check == "not_nullable":
        return "a value, not an empty cell"
    if check == "field_uniqueness":
        return "a value no other row has"
    if check == "multiple_fields_uniqueness":
        columns = ", ".join(schema.unique) if schema is not None and schema.unique else "key"
        return f"one row per {columns}"
    if check == "column_in_dataframe":
        return "the column to be present"
    call = _CALL.match(check)
    if not call:
        return check  # our own checks are named by what they expect
    name, args = call["name"], call["args"]
    if name in ("coerce_dtype", "dtype"):
        kind = re.sub(r"[\d'\[\]]|\(.*", "", args).strip().lower()
        return next((text for key, text in _TYPES.items() if kind.startswith(key)), args)
    if name in _BOUNDS:
        return _BOUNDS[name].format(args)
    if name == "in_range":
        low, high = (a.strip() for a in args.split(",", 1))
        return f"from {low} to {high}"
    if name == "isin":
        values = re.findall(r"'([^']*)'|(-?\d+(?:\.\d+)?)", args)
        shown = [a or b for a, b in values]
        more = f" (and {len(shown) - 8} more)" if len(shown) > 8 else ""
        return "one of " + ", ".join(shown[:8]) + more
    if name in ("str_matches", "str_fullmatch"):
        pattern = args.removeprefix("pattern=").strip("'\"").replace("\\\\", "\\")
        return _PATTERNS.get(pattern, f"text matching {pattern}")
    if name == "str_length":
        low, _, high = args.partition(",")
        if high.strip() in ("None", ""):
            return "non-empty text" if low.strip() == "1" else f"at least {low} characters"
        return f"text of {low.strip()} to {high.strip()} characters"
    return check
